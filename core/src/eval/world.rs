//! A catalog and per-user event streams loaded from the interchange files, split at a cutoff.

use crate::catalog::derive::{derive, DeriveOptions};
use crate::catalog::CatalogSnapshot;
use crate::profile::import::UserEvent;
use crate::profile::signals::{Params, ProfileEvent, Touched};
use crate::profile::ProfileState;
use crate::types::{EventKind, Item};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

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
