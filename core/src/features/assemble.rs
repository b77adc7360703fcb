//! Candidates → feature matrix (row-major, one row per candidate, one column per feature).

use super::registry::*;
use super::view::ProfileView;
use crate::catalog::CatalogSnapshot;
use crate::profile::signals::{decay_factor, RECENT_PURCHASE_HALF_LIFE_SECS};

const DAY: f64 = 86_400.0;

fn recency(now: i64, then: i64, half_life_days: f64) -> f32 {
    if then <= 0 {
        0.0
    } else {
        decay_factor(now - then, half_life_days * DAY) as f32
    }
}

fn cosine(a: Option<&[f32]>, b: Option<&[f32]>) -> f32 {
    match (a, b) {
        (Some(a), Some(b)) => a.iter().zip(b).map(|(x, y)| x * y).sum(),
        _ => 0.0,
    }
}

/// One feature of one candidate.
pub fn value(f: Feature, idx: u32, catalog: &CatalogSnapshot, view: &ProfileView) -> f32 {
    let item = catalog.item(idx);
    let stats = view.items.get(&idx);
    let now = view.now;
    match f {
        Feature::AffinityCategory => view.category.get(item.category),
        Feature::AffinityBrand => view.brand.get(item.brand),
        Feature::AffinityTags => view.tag.mean(&item.tags),
        Feature::AffinityPriceBand => view
            .price_band
            .get(&item.price_band)
            .copied()
            .unwrap_or(0.0),
        Feature::SessionAffinityCategory => view.session_category.get(item.category),
        Feature::SessionAffinityBrand => view.session_brand.get(item.brand),
        Feature::SessionAffinityTags => view.session_tag.mean(&item.tags),
        Feature::BoughtCount => stats.map(|s| (s.purchases as f32).ln_1p()).unwrap_or(0.0),
        Feature::RecencyBought => stats
            .map(|s| recency(now, s.last_purchase, BOUGHT_HALF_LIFE_DAYS))
            .unwrap_or(0.0),
        Feature::BoughtRecent => stats
            .map(|s| (s.recent_purchases.at(now, RECENT_PURCHASE_HALF_LIFE_SECS) as f32).ln_1p())
            .unwrap_or(0.0),
        Feature::BoughtShare => match stats {
            Some(s) if view.total_purchases > 0 => s.purchases as f32 / view.total_purchases as f32,
            _ => 0.0,
        },
        Feature::RepurchaseDue => match stats {
            Some(s) if s.purchases >= 2 && s.last_purchase > s.first_purchase => {
                let interval =
                    (s.last_purchase - s.first_purchase) as f32 / (s.purchases - 1) as f32;
                ((now - s.last_purchase).max(0) as f32 / interval).min(5.0)
            }
            _ => 0.0,
        },
        Feature::ViewedCount => stats
            .map(|s| ((s.views + s.clicks) as f32).ln_1p())
            .unwrap_or(0.0),
        Feature::RecencyViewed => stats
            .map(|s| recency(now, s.last_view, VIEWED_HALF_LIFE_DAYS))
            .unwrap_or(0.0),
        Feature::CartedNotBought => stats
            .filter(|s| s.last_cart > s.last_purchase)
            .map(|s| recency(now, s.last_cart, CART_HALF_LIFE_DAYS))
            .unwrap_or(0.0),
        Feature::Dismissed => stats
            .map(|s| recency(now, s.last_dismiss, DISMISS_HALF_LIFE_DAYS))
            .unwrap_or(0.0),
        Feature::PriceVsUsual => match view.usual_ln_price {
            Some(usual) if item.price > 0.0 => (item.price.ln() - usual).clamp(-5.0, 5.0),
            _ => 0.0,
        },
        Feature::ItemPopularity => item.popularity.max(0.0).ln_1p(),
        Feature::PopularityPercentile => catalog.popularity_percentile[idx as usize],
        Feature::CopurchaseScore => view
            .copurchase
            .get(&idx)
            .map(|c| c.score.ln_1p())
            .unwrap_or(0.0),
        Feature::EmbeddingSimilarity => {
            cosine(item.embedding.as_deref(), view.profile_embedding.as_deref())
        }
        Feature::SessionEmbeddingSimilarity => {
            cosine(item.embedding.as_deref(), view.session_embedding.as_deref())
        }
        Feature::ExplicitPreference => {
            let hit = view.preferred_categories.contains(&item.category)
                || view.preferred_brands.contains(&item.brand)
                || item.tags.iter().any(|t| view.preferred_tags.contains(t));
            hit as u8 as f32
        }
        Feature::InStock => item.in_stock as u8 as f32,
        Feature::PriceLog => item.price.max(0.0).ln_1p(),
        Feature::ProfileEventCount => (view.event_count as f32).ln_1p(),
        Feature::ItemEmbedding(i) => item
            .embedding
            .as_ref()
            .and_then(|e| e.get(i as usize))
            .copied()
            .unwrap_or(0.0),
        Feature::ProfileEmbedding(i) => view
            .profile_embedding
            .as_ref()
            .and_then(|e| e.get(i as usize))
            .copied()
            .unwrap_or(0.0),
    }
}

/// Fill `out` with `candidates.len() x features.len()` values, row-major.
pub fn assemble(
    features: &[Feature],
    candidates: &[u32],
    catalog: &CatalogSnapshot,
    view: &ProfileView,
    out: &mut Vec<f32>,
) {
    let width = features.len();
    out.clear();
    out.resize(candidates.len() * width, 0.0);
    // Column by column: one `match` per feature rather than per cell.
    for (col, &f) in features.iter().enumerate() {
        for (row, &idx) in candidates.iter().enumerate() {
            out[row * width + col] = value(f, idx, catalog, view);
        }
    }
}
