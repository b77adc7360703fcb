//! A catalog and per-user event streams loaded from the interchange files, split at a cutoff.

use crate::derive::{derive, DeriveOptions};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use tailor::engine::catalog::CatalogSnapshot;
use tailor::engine::profile::ProfileState;
use tailor::engine::profile::UserEvent;
use tailor::engine::profile::{Params, ProfileEvent, Touched};
use tailor::{EventKind, Item};

pub struct World {
    /// Catalog with popularity, neighbours and embeddings derived from events before the cutoff.
    pub catalog: CatalogSnapshot,
    /// Each user's events in time order.
    pub users: BTreeMap<String, Vec<UserEvent>>,
    pub cutoff: i64,
}

impl World {
    pub fn build(
        mut items: Vec<Item>,
        events: Vec<UserEvent>,
        cutoff: i64,
        opts: &DeriveOptions,
    ) -> World {
        derive(&mut items, &events, cutoff, opts);
        let mut users: BTreeMap<String, Vec<UserEvent>> = BTreeMap::new();
        for e in events {
            users.entry(e.user_id.clone()).or_default().push(e);
        }
        for list in users.values_mut() {
            list.sort_by_key(|e| e.event.timestamp.unwrap_or(0));
        }
        World {
            catalog: CatalogSnapshot::build(items),
            users,
            cutoff,
        }
    }

    /// A fresh profile fed with the user's events before `until`, in time order.
    pub fn profile_before(
        &self,
        events: &[UserEvent],
        until: i64,
        params: &Params,
    ) -> ProfileState {
        let mut state = ProfileState::default();
        let mut touched = Touched::default();
        for ue in events {
            let e = &ue.event;
            let ts = e.timestamp.unwrap_or(0);
            if ts >= until {
                break;
            }
            let ev = ProfileEvent {
                kind: e.kind,
                item_id: Arc::from(e.item_id.as_str()),
                ts,
                session: e.session_id.clone(),
                quantity: e.quantity.unwrap_or(1),
            };
            state.apply_history(&ev, params, &mut touched);
            if let Some(idx) = self.catalog.get(&e.item_id) {
                state.apply_attributes(&ev, self.catalog.record(idx), params, &mut touched);
            }
        }
        state.prune_items();
        state
    }
}

/// Distinct items purchased in [from, to).
pub fn purchased_between(events: &[UserEvent], from: i64, to: i64) -> HashSet<&str> {
    events
        .iter()
        .filter(|e| e.event.kind == EventKind::Purchase)
        .filter(|e| (from..to).contains(&e.event.timestamp.unwrap_or(0)))
        .map(|e| e.event.item_id.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tailor::engine::features::{value, Feature, ProfileView};

    const NOW: i64 = 1_704_067_200;

    /// Issue 15, point 1: a catalog of ids (half with tags) and purchases without sessions.
    #[test]
    fn unknown_price_and_attributes_read_zero() {
        let mut catalog = String::from("item_id,title,category,brand,price,tags\n");
        for i in 0..10 {
            let tags = if i % 2 == 0 { "a1;a9" } else { "" };
            catalog.push_str(&format!("{i},,,,,{tags}\n"));
        }
        let mut events = String::from("user_id,item_id,ts\n");
        for u in 0..6 {
            for k in 0..6 {
                events.push_str(&format!("u{u},{},{}\n", (u + k) % 10, NOW - 600 + k / 3));
            }
        }
        let items = tailor::engine::catalog::read_csv(catalog.as_bytes()).unwrap();
        let events = tailor::engine::profile::read_csv(events.as_bytes()).unwrap();
        let world = World::build(items, events, NOW, &crate::DeriveOptions::default());
        let profile = Arc::new(world.profile_before(&world.users["u0"], NOW, &Params::default()));
        let view = ProfileView::build(&profile, &world.catalog, NOW, None, &Params::default());
        for idx in 0..world.catalog.len() as u32 {
            for f in [
                Feature::PriceLog,
                Feature::PriceVsUsual,
                Feature::AffinityPriceBand,
                Feature::AffinityCategory,
                Feature::AffinityBrand,
            ] {
                assert_eq!(value(f, idx, &world.catalog, &view), 0.0, "{f:?}");
            }
        }
        // What is known still counts: tags and the shopper's own purchases.
        let bought = world.catalog.get("0").unwrap();
        assert!(value(Feature::BoughtCount, bought, &world.catalog, &view) > 0.0);
        assert!(value(Feature::AffinityTags, bought, &world.catalog, &view) > 0.0);
    }
}
