//! The feature registry and the code that turns (profile, catalog, candidates) into a matrix.
//! Serving and `tailor features` both go through [`assemble`], so they cannot disagree.

pub mod assemble;
pub mod definitions;
pub mod view;

pub use assemble::assemble;
pub use definitions::Feature;
pub use view::ProfileView;
