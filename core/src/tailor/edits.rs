//! The shopper's corrections: "not interested in" an item, category, brand or tag (and its
//! undo), and "forget this item". Each is one profile write, published to `rank` like an event.

use super::Tailor;
use crate::error::{Error, Result};
use crate::profile::store::{delete_not_interested, insert_not_interested};
use crate::types::{Attribute, NotInterested};
use crate::validate;
use std::sync::Arc;

/// A shopper's "not interested" marks are bounded so rank's per-candidate check stays cheap.
pub const MAX_NOT_INTERESTED: usize = 1_000;

impl Tailor {
    pub(super) fn mark_not_interested_inner(&self, attribute: Attribute) -> Result<()> {
        validate::id("not-interested value", &attribute.value)?;
        if !self.consented() {
            return Ok(());
        }
        let mark = NotInterested {
            attribute,
            since: crate::clock::now(),
        };
        self.write_profile(|_, state, batch| {
            state
                .not_interested
                .retain(|n| n.attribute != mark.attribute);
            if state.not_interested.len() >= MAX_NOT_INTERESTED {
                return Err(Error::invalid(format!(
                    "the shopper already has {MAX_NOT_INTERESTED} \"not interested\" marks; \
                     undo some (undo_not_interested) before adding more"
                )));
            }
            state.not_interested.insert(0, mark.clone());
            batch.also(move |tx| insert_not_interested(tx, &mark));
            Ok(())
        })
    }

    pub(super) fn undo_not_interested_inner(&self, attribute: Attribute) -> Result<bool> {
        validate::id("not-interested value", &attribute.value)?;
        if !self
            .profile
            .load()
            .is_not_interested(attribute.kind, &attribute.value)
        {
            return Ok(false);
        }
        self.write_profile(|_, state, batch| {
            let before = state.not_interested.len();
            state.not_interested.retain(|n| n.attribute != attribute);
            let removed = state.not_interested.len() < before;
            batch.also(move |tx| delete_not_interested(tx, &attribute).map(|_| ()));
            Ok(removed)
        })
    }

    pub(super) fn forget_item_inner(&self, item_id: String) -> Result<u32> {
        validate::id("item id", &item_id)?;
        self.write_profile(|w, state, batch| {
            let events = w.profile.item_events(&item_id)?;
            let catalog = self.catalog.load();
            let item = catalog.get(&item_id).map(|i| catalog.record(i));
            // Events still waiting for their item never reached the affinities.
            let applied: Vec<_> = match item {
                Some(_) => events.clone(),
                None => Vec::new(),
            };
            let dropped =
                state.forget_item(&item_id, &applied, item, &self.params, &mut batch.touched);
            // The event count drops by every forgotten event, applied or not.
            state.event_count = state
                .event_count
                .saturating_sub((events.len() - applied.len()) as u64);
            let id: Arc<str> = Arc::from(item_id.as_str());
            batch.dropped_items.push(id.clone());
            batch.touched.items.remove(&id);
            batch.dropped_affinities.extend(dropped);
            batch.forget_items.push(id);
            u32::try_from(events.len()).map_err(|_| Error::invalid("too many events"))
        })
    }
}
