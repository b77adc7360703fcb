//! Surfaces other than "for you": checking a request's context, and blending the model's (or
//! the popularity fallback's) score with what the page is about.
//!
//! The blends work with any model: the base score is standardized within the request (so a
//! model's scale does not matter) and added to the surface's own signal. A model that reads
//! `context_copurchase` was trained on carts as its context (`tailor features --baskets`, the
//! bundled default included): it has learned how much a cart says about the next item against
//! the shopper's taste, so "complete the cart" takes its score as it is. The product page's
//! surfaces ("similar", "goes with") keep their blends over the model's score *without* the
//! context: what is added to a cart next is not what looks like, or is bought with, one item,
//! and showing the model the context there would count it twice. Without a model score (cold
//! start, opted out) every surface blends over popularity.

use crate::catalog::CatalogSnapshot;
use crate::error::{Error, Result};
use crate::features::RequestContext;
use crate::types::{RankRequest, SurfaceKind};

/// Context items per request: a product page or a cart (a wholesaler's cart holds hundreds).
pub const MAX_CONTEXT_ITEMS: usize = 500;

/// Checks that need no catalog: counts, ids, NaN, and surfaces that need a context.
pub fn validate(req: &RankRequest) -> Result<()> {
    let kind = req.kind.unwrap_or(SurfaceKind::ForYou);
    if req.context_item_ids.len() > MAX_CONTEXT_ITEMS {
        return Err(Error::invalid(format!(
            "{} context items; at most {MAX_CONTEXT_ITEMS} (the viewed item or the cart)",
            req.context_item_ids.len()
        )));
    }
    for id in &req.context_item_ids {
        crate::validate::id("context item id", id)?;
    }
    if kind.needs_context() && req.context_item_ids.is_empty() {
        return Err(Error::invalid(format!(
            "surface {} needs context_item_ids (the viewed item or the cart's items)",
            kind.name()
        )));
    }
    if kind == SurfaceKind::Search && req.candidate_ids.is_none() {
        return Err(Error::invalid(
            "surface search re-ranks the app's results: pass them as candidate_ids",
        ));
    }
    if let Some(scores) = &req.retrieval_scores {
        let Some(ids) = &req.candidate_ids else {
            return Err(Error::invalid(
                "retrieval_scores need candidate_ids (one score per candidate, same order)",
            ));
        };
        if scores.len() != ids.len() {
            return Err(Error::invalid(format!(
                "{} retrieval_scores for {} candidate_ids; pass one per candidate",
                scores.len(),
                ids.len()
            )));
        }
        if let Some(k) = scores.iter().position(|s| !s.is_finite()) {
            return Err(Error::invalid(format!(
                "retrieval score {} (of candidate {:?}) is not a finite number",
                scores[k], ids[k]
            )));
        }
    }
    Ok(())
}

/// Resolve the context items; an unknown one is an error (a product page for an item the
/// catalog does not hold is a bug in the app, not something to rank around silently).
pub fn resolve(catalog: &CatalogSnapshot, req: &RankRequest) -> Result<Vec<u32>> {
    req.context_item_ids
        .iter()
        .map(|id| {
            catalog.get(id).ok_or_else(|| {
                Error::NotFound(format!(
                    "context item {id:?} is not in the catalog; upsert it first or leave it out"
                ))
            })
        })
        .collect()
}

/// The request's context: its items and the retrieval scores of known candidates.
pub fn context(catalog: &CatalogSnapshot, req: &RankRequest, items: &[u32]) -> RequestContext {
    let retrieval: Vec<(u32, f64)> = match (&req.candidate_ids, &req.retrieval_scores) {
        (Some(ids), Some(scores)) => ids
            .iter()
            .zip(scores)
            .filter_map(|(id, &s)| catalog.get(id).map(|i| (i, s)))
            .collect(),
        _ => Vec::new(),
    };
    RequestContext::build(catalog, items, &retrieval)
}

/// Standardize within the request (mean 0, deviation 1; all equal → all 0).
fn standardize(values: &[f32]) -> Vec<f32> {
    let n = values.len().max(1) as f32;
    let mean = values.iter().sum::<f32>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let sd = var.sqrt();
    if sd <= 1e-9 {
        return vec![0.0; values.len()];
    }
    values.iter().map(|v| (v - mean) / sd).collect()
}

/// Weights of a context blend: co-purchase (ln 1 + strength), context-embedding cosine, same
/// category share, and the standardized base score. Chosen on the validation cutoff
/// (2011-09-01) of `tailor replay --task complete-cart`, never on the test cutoff.
pub struct Blend {
    pub copurchase: f32,
    pub embedding: f32,
    pub category: f32,
    pub base: f32,
}

pub const GOES_WITH: Blend = Blend {
    copurchase: 4.0,
    embedding: 0.5,
    category: 0.1,
    base: 0.5,
};
/// "Similar" wants substitutes: being bought together says complement, so it counts for nothing.
pub const SIMILAR: Blend = Blend {
    copurchase: 0.0,
    embedding: 2.0,
    category: 1.0,
    base: 0.3,
};
/// Search: the standardized retrieval relevance (or the app's order) against the shopper's taste.
const SEARCH_RELEVANCE: f32 = 1.0;
const SEARCH_TASTE: f32 = 0.5;
/// Trending: standardized popularity against the shopper's taste.
const TRENDING_TASTE: f32 = 0.3;

/// What the base scores of a request are.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Base {
    /// The popularity fallback (cold start, opted out, no model time): search keeps the app's
    /// order.
    Popularity,
    /// A model's scores.
    Model,
    /// A model's scores, from a model that reads the request's context itself.
    ContextModel,
}

/// Whether the model is shown the request's context items (else only the shopper's taste).
pub fn model_sees_context(kind: SurfaceKind) -> bool {
    !matches!(kind, SurfaceKind::Similar | SurfaceKind::GoesWith)
}

/// Turn `base` (the model's or the fallback's scores of `cands`) into the surface's scores.
pub fn blend(
    kind: SurfaceKind,
    catalog: &CatalogSnapshot,
    ctx: &RequestContext,
    cands: &[u32],
    base: &mut [f32],
    of: Base,
) {
    let personalized = of != Base::Popularity;
    match kind {
        SurfaceKind::ForYou | SurfaceKind::BuyAgain => {}
        SurfaceKind::CompleteCart if of == Base::ContextModel => {}
        SurfaceKind::Similar | SurfaceKind::GoesWith | SurfaceKind::CompleteCart => {
            let w = if kind == SurfaceKind::Similar {
                &SIMILAR
            } else {
                &GOES_WITH
            };
            let z = standardize(base);
            for ((s, &i), z) in base.iter_mut().zip(cands).zip(z) {
                *s = w.copurchase * ctx.copurchase(i).ln_1p()
                    + w.embedding * ctx.embedding_similarity(catalog, i)
                    + w.category * ctx.same_category(catalog, i)
                    + w.base * z;
            }
        }
        SurfaceKind::Trending => {
            let pop: Vec<f32> = cands
                .iter()
                .map(|&i| catalog.item(i).popularity.max(0.0).ln_1p())
                .collect();
            let pop = standardize(&pop);
            let taste = if personalized {
                standardize(base)
            } else {
                vec![0.0; base.len()]
            };
            for ((s, p), t) in base.iter_mut().zip(pop).zip(taste) {
                *s = p + TRENDING_TASTE * t;
            }
        }
        SurfaceKind::Search => {
            // Relevance: the app's retrieval score when given, else its order.
            let n = cands.len().max(1) as f32;
            let relevance: Vec<f32> = cands
                .iter()
                .enumerate()
                .map(|(k, i)| ctx.retrieval.get(i).copied().unwrap_or(1.0 - k as f32 / n))
                .collect();
            if !personalized {
                // The app's order, unchanged: position only (stable for equal scores).
                for (k, s) in base.iter_mut().enumerate() {
                    *s = 1.0 - k as f32 / n;
                }
                return;
            }
            let rel = standardize(&relevance);
            let taste = standardize(base);
            for ((s, r), t) in base.iter_mut().zip(rel).zip(taste) {
                *s = SEARCH_RELEVANCE * r + SEARCH_TASTE * t;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardize_handles_flat_lists() {
        assert_eq!(standardize(&[2.0, 2.0]), vec![0.0, 0.0]);
        let z = standardize(&[1.0, 3.0]);
        assert!((z[0] + 1.0).abs() < 1e-6 && (z[1] - 1.0).abs() < 1e-6);
    }
}
