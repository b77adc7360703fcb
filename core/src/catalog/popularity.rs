//! Popularity for a catalog that has none, from an imported order history.

use crate::catalog::CatalogSnapshot;
use crate::profile::import::UserEvent;
use crate::types::{EventKind, Item};

/// For a catalog that has no popularity at all (no `popularity` column, nothing set): each known
/// item's number of purchases in `events`, as changed copies to upsert. Without it the cold-start
/// page of a shop that imports its order history would be in id order, with no `PopularNow`.
/// Empty when any item already has a popularity: the merchant's own values win.
pub fn popularity_from_events(catalog: &CatalogSnapshot, events: &[UserEvent]) -> Vec<Item> {
    if catalog.records.iter().any(|r| r.popularity > 0.0) {
        return Vec::new();
    }
    let mut purchases = vec![0.0f64; catalog.len()];
    for ue in events {
        if ue.event.kind == EventKind::Purchase {
            if let Some(i) = catalog.get(&ue.event.item_id) {
                purchases[i as usize] += 1.0;
            }
        }
    }
    catalog
        .records
        .iter()
        .zip(purchases)
        .filter(|(_, n)| *n > 0.0)
        .map(|(r, popularity)| Item {
            popularity,
            ..(**r).clone()
        })
        .collect()
}
