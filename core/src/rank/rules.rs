//! Merchant business rules: filters before scoring, boosts on scores, pins after ordering.

use crate::catalog::CatalogSnapshot;
use crate::error::{Error, Result};
use crate::types::{AttributeKind, Boost, BusinessRules, Pin};

/// The largest absolute boost weight (a logit nudge of 100 is already absolute).
pub const MAX_BOOST: f64 = 100.0;
/// Pins are positions within a page; more than this many is a mistake.
pub const MAX_PINS: usize = 100;

pub fn validate(rules: &BusinessRules, limit: u32) -> Result<()> {
    for b in &rules.boosts {
        if !b.weight.is_finite() || b.weight.abs() > MAX_BOOST {
            return Err(Error::invalid(format!(
                "boost on {:?} {:?} has weight {}; use a finite number within ±{MAX_BOOST}",
                b.attribute.kind, b.attribute.value, b.weight
            )));
        }
    }
    if let Some(m) = rules.min_margin {
        if !m.is_finite() {
            return Err(Error::invalid(
                "min_margin must be a finite fraction (e.g. 0.2)",
            ));
        }
    }
    if rules.pinned.len() > MAX_PINS {
        return Err(Error::invalid(format!(
            "{} pins; at most {MAX_PINS}",
            rules.pinned.len()
        )));
    }
    let mut positions = std::collections::HashSet::new();
    let mut items = std::collections::HashSet::new();
    for p in &rules.pinned {
        crate::validate::id("pinned item id", &p.item_id)?;
        // Pinned twice would be placed twice: the same item shown at two positions.
        if !items.insert(p.item_id.as_str()) {
            return Err(Error::invalid(format!(
                "item {} is pinned twice; pin each item once",
                p.item_id
            )));
        }
        if p.position >= limit {
            return Err(Error::invalid(format!(
                "pin of {} at position {} is outside the {limit} results requested",
                p.item_id, p.position
            )));
        }
        if !positions.insert(p.position) {
            return Err(Error::invalid(format!(
                "two pins at position {}",
                p.position
            )));
        }
    }
    Ok(())
}

/// Whether an item may be shown at all under the rules.
pub fn admits(
    catalog: &CatalogSnapshot,
    idx: u32,
    rules: &BusinessRules,
    excluded: &rustc_hash::FxHashSet<u32>,
) -> bool {
    let item = catalog.item(idx);
    if !item.in_stock && !rules.include_out_of_stock {
        return false;
    }
    if excluded.contains(&idx) {
        return false;
    }
    match (rules.min_margin, item.margin) {
        (Some(floor), Some(m)) => m as f64 >= floor,
        _ => true,
    }
}

/// Whether `boost` applies to the item.
pub fn matches(catalog: &CatalogSnapshot, idx: u32, boost: &Boost) -> bool {
    let item = catalog.item(idx);
    let v = boost.attribute.value.as_str();
    match boost.attribute.kind {
        AttributeKind::Category => {
            catalog.categories.get(v) == Some(item.category) && item.category != 0
        }
        AttributeKind::Brand => catalog.brands.get(v) == Some(item.brand) && item.brand != 0,
        AttributeKind::Tag => catalog.tags.get(v).is_some_and(|t| item.tags.contains(&t)),
        AttributeKind::Item => &*item.id == v,
    }
}

/// Sum of the boosts that apply, and the strongest positive one (for the explanation).
pub fn boost(catalog: &CatalogSnapshot, idx: u32, boosts: &[Boost]) -> (f64, Option<usize>) {
    let mut total = 0.0;
    let mut best: Option<(f64, usize)> = None;
    for (i, b) in boosts.iter().enumerate() {
        if matches(catalog, idx, b) {
            total += b.weight;
            if b.weight > 0.0 && best.is_none_or(|(w, _)| b.weight > w) {
                best = Some((b.weight, i));
            }
        }
    }
    (total, best.map(|(_, i)| i))
}

/// Move pinned items to their positions. `order` holds the rest, best first.
pub fn apply_pins(order: &mut Vec<u32>, pins: &[(u32, u32)]) {
    let pinned: std::collections::HashSet<u32> = pins.iter().map(|&(idx, _)| idx).collect();
    order.retain(|i| !pinned.contains(i));
    let mut sorted: Vec<(u32, u32)> = pins.to_vec();
    sorted.sort_by_key(|&(_, pos)| pos);
    for (idx, pos) in sorted {
        let at = (pos as usize).min(order.len());
        order.insert(at, idx);
    }
}

pub fn resolve_pins(catalog: &CatalogSnapshot, pins: &[Pin]) -> (Vec<(u32, u32)>, Vec<String>) {
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for p in pins {
        match catalog.get(&p.item_id) {
            Some(idx) => found.push((idx, p.position)),
            None => unknown.push(p.item_id.clone()),
        }
    }
    (found, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_land_on_their_positions() {
        let mut order = vec![1, 2, 3, 4, 5];
        apply_pins(&mut order, &[(5, 0), (9, 2)]);
        assert_eq!(order, vec![5, 1, 9, 2, 3, 4]);
        let mut short = vec![1];
        apply_pins(&mut short, &[(7, 5)]);
        assert_eq!(short, vec![1, 7]);
    }
}
