//! Offline evaluation and training data, on the interchange CSVs: `replay` measures ranking
//! quality against baselines, `matrix` writes training matrices with the serving feature code.

pub mod knn;
pub mod matrix;
pub mod replay;
pub mod simulated_learning;
pub mod top_k;
pub mod world;

pub use replay::{replay, ReplayOptions, ReplayReport};
pub use top_k::Metrics;
