//! The non-personalized order used for cold start, opt-out and model failure: catalog
//! popularity, so a shopper always gets a sensible page and never an error.

use crate::catalog::CatalogSnapshot;

pub const NAME: &str = "popularity";
pub const VERSION: &str = "1";

/// Scores on the same "higher is better" scale as a model: ln(1 + popularity).
pub fn scores(candidates: &[u32], catalog: &CatalogSnapshot) -> Vec<f32> {
    candidates
        .iter()
        .map(|&i| catalog.item(i).popularity.max(0.0).ln_1p())
        .collect()
}
