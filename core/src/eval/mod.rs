//! Offline evaluation and training data, on the interchange CSVs: `replay` measures ranking
//! quality against baselines, `matrix` writes training matrices with the serving feature code.

pub mod feedback;
pub mod knn;
pub mod matrix;
pub mod metrics;
pub mod replay;
pub mod world;

pub use metrics::Metrics;
pub use replay::{replay, ReplayOptions, ReplayReport};
