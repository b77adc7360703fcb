//! The ranking pipeline: candidates → features → model → rules → diversity → exploration →
//! explanations. Reads only immutable snapshots, never the disk.

pub mod bundle;
pub mod candidate_sets;
pub mod diversity;
pub mod explain;
pub mod fallback;
pub mod not_interested;
pub mod packed;
pub mod pipeline;
pub mod rules;
pub mod surface;

pub use pipeline::{rank, RankContext};
