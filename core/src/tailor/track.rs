//! What one `track` call does to the profile: each event updates the item history, the decayed
//! affinities of its item's attributes (or waits for the item to arrive in the catalog), teaches
//! the personal layer and the bandit when it is feedback on a shown page, and counts in the
//! funnel. Pure: it edits a copy of the state and a write batch that the caller commits.

use crate::catalog::CatalogSnapshot;
use crate::error::{Error, Result};
use crate::profile::signals::{Params, ProfileEvent, ProfileState};
use crate::profile::store::{keyed_hash, NewEvent, WriteBatch};
use crate::tailor::impressions::ImpressionBuffer;
use crate::types::{Event, TrackSummary};
use std::sync::Arc;

/// Everything besides the events that decides what they do.
pub struct TrackContext<'a> {
    pub catalog: &'a CatalogSnapshot,
    pub params: &'a Params,
    pub salt: &'a [u8; 32],
    /// Pages recently shown, for learning from feedback on them.
    pub shown: &'a ImpressionBuffer,
    pub attribution_window_secs: i64,
    pub personal_learning: bool,
    pub now: i64,
    /// Count clicks, carts and purchases in this device's funnel (not for imported history).
    pub count_in_funnel: bool,
}

/// Apply validated events to `state`, recording every change in `batch`.
pub fn apply_events(
    ctx: &TrackContext<'_>,
    events: &[Event],
    state: &mut ProfileState,
    batch: &mut WriteBatch,
) -> Result<TrackSummary> {
    let catalog = ctx.catalog;
    let window = ctx.attribution_window_secs;
    let mut summary = TrackSummary::default();
    for (row, e) in events.iter().enumerate() {
        batch.cancel.check_row(row)?;
        let ev = ProfileEvent {
            kind: e.kind,
            item_id: Arc::from(e.item_id.as_str()),
            ts: e.timestamp.unwrap_or(ctx.now),
            session: e.session_id.as_deref().map(|s| keyed_hash(ctx.salt, s)),
            quantity: e.quantity.unwrap_or(1),
        };
        state.apply_history(&ev, ctx.params, &mut batch.touched);
        let resolved = match catalog.get(&e.item_id) {
            Some(idx) => {
                state.apply_attributes(&ev, catalog.record(idx), ctx.params, &mut batch.touched);
                true
            }
            None => {
                summary.pending_items += 1;
                false
            }
        };
        if ctx.count_in_funnel && crate::learn::feedback_strength(e.kind).is_some() {
            crate::tailor::feedback::learn_from_event(
                state,
                &mut batch.touched,
                ctx.shown,
                catalog,
                e.kind,
                &e.item_id,
                ev.ts,
                window,
                ctx.personal_learning,
            );
            let price = catalog
                .get(&e.item_id)
                .map(|i| catalog.record(i).price)
                .unwrap_or(0.0);
            let (item, kind, ts) = (ev.item_id.clone(), e.kind, ev.ts);
            let value = price * ev.quantity as f64;
            let surface = e.surface.clone().unwrap_or_default();
            let response_id = e.response_id.clone();
            batch.also(move |tx| {
                let feedback = crate::metrics::funnel::Feedback {
                    item_id: &item,
                    kind,
                    ts,
                    value,
                    surface: &surface,
                    response_id: response_id.as_deref(),
                };
                crate::metrics::funnel::count_feedback(tx, &feedback, window)
            });
        }
        batch.events.push(NewEvent {
            event: ev,
            surface: e.surface.clone(),
            resolved,
        });
    }
    batch.dropped_items = state.prune_items();
    summary.stored =
        u32::try_from(events.len()).map_err(|_| Error::invalid("too many events in one call"))?;
    Ok(summary)
}
