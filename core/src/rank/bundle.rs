//! Bundles: a few in-stock items that go with the context items, within a price cap and above a
//! margin floor. Candidates are the context items' co-purchase neighbours (so a bundle costs the
//! same on a catalog of 10,000 items as on one of 100); the `goes_with` surface orders them and
//! the bundle takes the best that fit, in that order. No randomness: the same state gives the
//! same bundle.

use crate::catalog::CatalogSnapshot;
use crate::error::{Error, Result};
use crate::types::{BundleItem, BundleRequest, ItemBundle, RankResponse};
use rustc_hash::FxHashSet;

pub const MIN_SIZE: u32 = 2;
pub const MAX_SIZE: u32 = 5;

pub fn validate(req: &BundleRequest) -> Result<()> {
    if req.context_item_ids.is_empty() {
        return Err(Error::invalid(
            "a bundle needs context_item_ids (the viewed item or the cart's items)",
        ));
    }
    if !(MIN_SIZE..=MAX_SIZE).contains(&req.size) {
        return Err(Error::invalid(format!(
            "bundle size {} must be between {MIN_SIZE} and {MAX_SIZE}",
            req.size
        )));
    }
    if let Some(cap) = req.max_total_price {
        if !cap.is_finite() || cap <= 0.0 {
            return Err(Error::invalid(format!(
                "max_total_price {cap} must be a positive number"
            )));
        }
    }
    if let Some(m) = req.min_margin {
        if !m.is_finite() || !(0.0..=1.0).contains(&m) {
            return Err(Error::invalid(format!(
                "min_margin {m} must be a fraction between 0 and 1"
            )));
        }
    }
    Ok(())
}

/// Whether an item may join a bundle on its own (stock, margin, price within the cap).
fn eligible(catalog: &CatalogSnapshot, idx: u32, req: &BundleRequest) -> bool {
    let r = catalog.record(idx);
    r.in_stock
        && r.price > 0.0
        && req.max_total_price.is_none_or(|cap| r.price <= cap)
        && req
            .min_margin
            .is_none_or(|m| r.margin.is_some_and(|have| have >= m))
}

/// The context items' neighbours that could join the bundle, strongest link first.
pub fn candidates(
    catalog: &CatalogSnapshot,
    context: &[u32],
    excluded: &FxHashSet<u32>,
    req: &BundleRequest,
) -> Vec<u32> {
    let mut seen: FxHashSet<u32> = context.iter().copied().collect();
    let mut out = Vec::new();
    for &c in context.iter().rev() {
        for &(j, _) in catalog.item(c).related.iter() {
            if !excluded.contains(&j) && eligible(catalog, j, req) && seen.insert(j) {
                out.push(j);
            }
        }
    }
    out
}

/// Take ranked items in order while they fit under the cap, up to `size`. Fewer than two: the
/// constraints cannot be met, an error that says which constraint to relax.
pub fn select(
    catalog: &CatalogSnapshot,
    ranked: &RankResponse,
    req: &BundleRequest,
    candidates: usize,
) -> Result<ItemBundle> {
    let mut items = Vec::new();
    let mut total = 0.0;
    for r in &ranked.items {
        let Some(idx) = catalog.get(&r.item_id) else {
            continue;
        };
        let rec = catalog.record(idx);
        if req
            .max_total_price
            .is_some_and(|cap| total + rec.price > cap + 1e-9)
        {
            continue;
        }
        total += rec.price;
        items.push(BundleItem {
            item_id: rec.id.clone(),
            title: rec.title.clone(),
            price: rec.price,
            reasons: r.reasons.clone(),
        });
        if items.len() == req.size as usize {
            break;
        }
    }
    if items.len() < MIN_SIZE as usize {
        let why = if candidates < MIN_SIZE as usize {
            format!(
                "only {candidates} in-stock item(s) go with the context items and meet the \
                 margin floor and price cap; lower min_margin, raise max_total_price, or add \
                 co-purchase neighbours (Item::related) to the catalog"
            )
        } else {
            format!(
                "{candidates} items go with the context items but no two fit together under \
                 max_total_price; raise it"
            )
        };
        return Err(Error::invalid(format!(
            "no bundle meets the constraints: {why}"
        )));
    }
    Ok(ItemBundle {
        items,
        total_price: (total * 100.0).round() / 100.0,
        personalized: ranked.personalized,
    })
}
