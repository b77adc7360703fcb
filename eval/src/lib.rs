//! Offline evaluation and training data for Tailor, on the interchange CSVs: `replay` measures
//! ranking quality against baselines, `matrix` writes training matrices with the serving feature
//! code, `derive` computes the catalog signals a merchant would (popularity, co-purchase
//! neighbours, embeddings) from purchases before a cutoff. Used by the `tailor` CLI; it reaches
//! the engine through `tailor::engine`, the same code paths an app's `Tailor` ranks with.

mod basket_rows;
pub mod complete_cart;
pub mod derive;
pub mod knn;
pub mod matrix;
pub mod replay;
pub mod simulated_learning;
#[cfg(test)]
mod test_support;
pub mod top_k;
pub mod world;

pub use complete_cart::replay_complete_cart;
pub use derive::{derive, DeriveOptions};
pub use replay::{replay, ReplayOptions, ReplayReport};
pub use top_k::Metrics;
