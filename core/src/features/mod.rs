//! The feature registry and the code that turns (profile, catalog, candidates) into a matrix.
//! Serving and `tailor features` both go through [`assemble`], so they cannot disagree.

pub mod assemble;
pub mod context;
pub mod definitions;
pub mod resolved;
pub mod sequence;
pub mod view;

pub use assemble::{assemble, assemble_in};
pub use context::RequestContext;
pub use definitions::Feature;
pub use sequence::{ItemTable, SequenceInput};
pub use view::ProfileView;
