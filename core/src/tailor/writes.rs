//! The writes behind `upsert_items`, `track` and `record_impressions`. Each validates its input
//! against the live state under the writer lock, then commits in one transaction.

use super::{Tailor, MAX_BATCH};
use crate::catalog::{self, CatalogSnapshot};
use crate::error::{Error, Result};
use crate::features::ProfileView;
use crate::metrics::{funnel, placements};
use crate::rank;
use crate::tailor::impressions::ShownPage;
use crate::tailor::track::{apply_events, TrackContext};
use crate::types::*;
use crate::validate;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The embedding dimension new items must match: the catalog's, unless this batch replaces
/// every item that has an embedding (then the batch may change it).
fn required_dim(current: &CatalogSnapshot, items: &[Item]) -> Option<usize> {
    let dim = current.embedding_dim?;
    let all_match = items
        .iter()
        .filter_map(|i| i.embedding.as_ref())
        .all(|e| e.len() == dim);
    if all_match {
        return Some(dim);
    }
    let with_embedding = current
        .items
        .iter()
        .filter(|i| i.embedding.is_some())
        .count();
    let replaced = items
        .iter()
        .filter_map(|i| current.get(&i.id))
        .filter(|&idx| current.item(idx).embedding.is_some())
        .count();
    (replaced < with_embedding).then_some(dim)
}

impl Tailor {
    pub(super) fn upsert_inner(&self, items: Vec<Item>) -> Result<u32> {
        validate::batch_len("items", items.len(), MAX_BATCH)?;
        let cancel = self.interrupts.token();
        self.write(|w| {
            // Checked here, under the writer lock, against the catalog as it is now: a check
            // before the lock could pass two concurrent batches that together break a limit.
            let current = self.catalog.load_full();
            catalog::validate::batch(&items, required_dim(&current, &items))?;
            let new_ids = items
                .iter()
                .filter(|i| current.get(&i.id).is_none())
                .count();
            let max = self.config.max_catalog_items as usize;
            if current.len() + new_ids > max {
                return Err(Error::invalid(format!(
                    "the catalog holds at most {max} items (max_catalog_items); it has {} and \
                     this batch adds {new_ids}: remove items first or raise the limit",
                    current.len()
                )));
            }
            let stamp = w.catalog.upsert(&items, crate::clock::now(), &cancel)?;
            let mut next = current.with_changes(&items, &[]);
            next.stamp = Some(stamp);
            self.catalog.store(Arc::new(next));
            Ok(())
        })?;
        let ids: Vec<String> = items.into_iter().map(|i| i.id).collect();
        self.resolve_pending(Some(&ids))?;
        Ok(ids.len() as u32)
    }

    pub(super) fn remove_inner(&self, ids: Vec<String>) -> Result<u32> {
        validate::batch_len("ids", ids.len(), MAX_BATCH)?;
        let cancel = self.interrupts.token();
        self.write(|w| {
            let (removed, stamp) = w.catalog.remove(&ids, &cancel)?;
            let mut next = self.catalog.load().with_changes(&[], &ids);
            next.stamp = Some(stamp);
            self.catalog.store(Arc::new(next));
            Ok(removed)
        })
    }

    /// Apply attributes of pending events whose items are now in the catalog: those of
    /// `item_ids`, or (`None`) every pending event.
    pub(super) fn resolve_pending(&self, item_ids: Option<&[String]>) -> Result<u32> {
        self.write_profile(|w, state, batch| {
            if w.profile.counts()?.1 == 0 {
                return Ok(0);
            }
            let pending = match item_ids {
                Some(item_ids) => {
                    let ids: Vec<&str> = item_ids.iter().map(|s| s.as_str()).collect();
                    w.profile.pending_for(&ids)?
                }
                None => w.profile.pending_all()?,
            };
            let catalog = self.catalog.load();
            for (row, ev) in &pending {
                if let Some(idx) = catalog.get(&ev.item_id) {
                    state.apply_attributes(
                        ev,
                        catalog.record(idx),
                        &self.params,
                        &mut batch.touched,
                    );
                    batch.resolved_rows.push(*row);
                }
            }
            Ok(batch.resolved_rows.len() as u32)
        })
    }

    pub(super) fn track_inner(&self, events: &[Event]) -> Result<TrackSummary> {
        validate::batch_len("events", events.len(), MAX_BATCH)?;
        for e in events {
            validate::event(e)?;
        }
        if !self.consented() {
            return Ok(TrackSummary {
                dropped_no_consent: events.len() as u32,
                ..Default::default()
            });
        }
        let summary = self.write_profile(|_, state, batch| {
            let catalog = self.catalog.load();
            let shown = self.shown.lock();
            let ctx = TrackContext {
                catalog: &catalog,
                params: &self.params,
                salt: &self.salt,
                shown: &shown,
                attribution_window_secs: self.config.attribution_window_hours as i64 * 3_600,
                personal_learning: self.config.personal_learning,
                now: crate::clock::now(),
                count_in_funnel: true,
            };
            apply_events(&ctx, events, state, batch)
        })?;
        self.enforce_retention()?;
        Ok(summary)
    }

    /// Delete events beyond the configured age and count (after every write that adds events),
    /// and keep one `status()` notice with the running total.
    fn enforce_retention(&self) -> Result<()> {
        let pruned = self.write(|w| {
            w.profile.enforce_retention(
                crate::clock::now(),
                self.config.max_event_age_days as i64 * 86_400,
                self.config.max_events as u64,
            )
        })?;
        if pruned > 0 {
            // One notice with the running total, however many writes pruned.
            let total = self.retention_pruned.fetch_add(pruned, Ordering::SeqCst) + pruned;
            let mut notices = self.notices.lock();
            notices.retain(|n| !n.message.starts_with(super::open::RETENTION_NOTICE));
            notices.push(super::open::retention_notice(total, &self.config));
        }
        Ok(())
    }

    pub(super) fn record_impressions_inner(&self, impressions: Impressions) -> Result<()> {
        validate::batch_len(
            "impressions (one page)",
            impressions.item_ids.len(),
            rank::pipeline::MAX_LIMIT as usize,
        )?;
        for id in &impressions.item_ids {
            validate::id("impression item id", id)?;
        }
        validate::surface(&impressions.surface)?;
        validate::timestamp("impression", impressions.timestamp)?;
        validate::response_id(&impressions.response_id)?;
        let (variant, model) = self.variant_of(impressions.experiment.as_deref())?;
        if !self.consented() {
            return Ok(());
        }
        let now = crate::clock::now();
        let ts = impressions.timestamp.unwrap_or(now);
        self.write_profile(|_, state, batch| {
            let catalog = self.catalog.load_full();
            let known: Vec<u32> = impressions
                .item_ids
                .iter()
                .filter_map(|id| catalog.get(id))
                .collect();
            // What the ranking saw for these items: features and model scores, for learning.
            if self.config.personal_learning && !known.is_empty() && !state.is_cold() {
                let published = self.profile.load_full();
                let view = ProfileView::build(&published, &catalog, ts, None, &self.params);
                if let Some(page) = ShownPage::build(&model, &catalog, &view, &known, ts) {
                    self.shown.lock().push(page);
                }
            }
            for &idx in &known {
                crate::learn::bandit::record_shown(
                    &mut state.bandit,
                    &mut batch.touched.bandit,
                    &catalog,
                    idx,
                );
            }
            let key = funnel::FunnelKey {
                experiment: impressions.experiment.clone().unwrap_or_default(),
                variant: variant.map(|v| v.name).unwrap_or_default(),
                surface: impressions.surface.clone().unwrap_or_default(),
            };
            let ids = impressions.item_ids.clone();
            let response_id = impressions.response_id.clone();
            batch.also(move |tx| {
                let ids: Vec<&str> = ids.iter().map(|s| s.as_str()).collect();
                funnel::insert_impressions(tx, ts, &ids, &key, response_id.as_deref())?;
                if let Some(r) = &response_id {
                    placements::record_shown(tx, r, &key, ts, ids.len() as u64)?;
                    placements::prune(tx, ts)?;
                }
                let delta = funnel::Delta {
                    impressions: ids.len() as u64,
                    ..Default::default()
                };
                funnel::add(tx, &key, &delta)?;
                if !key.experiment.is_empty() {
                    funnel::expose(tx, &key.experiment, &key.variant, now, 1)?;
                }
                // Relative to the page's time, like the attribution window it serves.
                funnel::prune_impressions(tx, ts)
            });
            Ok(())
        })
    }

    pub(super) fn export_snapshot_inner(&self, key: &[u8]) -> Result<Vec<u8>> {
        use crate::privacy::snapshot::{seal, Snapshot, SnapshotArm, SnapshotEvent};
        use crate::profile::store::kind_from_code;
        let events = self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT ts, kind, item_id, quantity, surface FROM events ORDER BY ts, id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?;
            let mut events = Vec::new();
            for row in rows {
                let (ts, kind, item_id, quantity, surface) = row?;
                if let Some(kind) = kind_from_code(kind) {
                    events.push(SnapshotEvent {
                        ts,
                        kind,
                        item_id,
                        quantity: u32::try_from(quantity).unwrap_or(1),
                        surface,
                    });
                }
            }
            Ok(events)
        })?;
        let state = self.profile.load();
        let mut exploration: Vec<SnapshotArm> = state
            .bandit
            .iter()
            .map(|(arm, b)| SnapshotArm {
                arm: arm.to_string(),
                alpha: b.alpha,
                beta: b.beta,
            })
            .collect();
        exploration.sort_by(|a, b| a.arm.cmp(&b.arm));
        let snapshot = Snapshot {
            events,
            preferences: state.preferences.clone(),
            exploration,
            not_interested: state.not_interested.clone(),
        };
        seal(&snapshot, key)
    }

    pub(super) fn import_snapshot_inner(&self, blob: &[u8], key: &[u8]) -> Result<TrackSummary> {
        use crate::privacy::snapshot::{merge_arm, open};
        use crate::profile::store::{kind_code, write_preferences};
        let snapshot = open(blob, key)?;
        validate::batch_len("snapshot events", snapshot.events.len(), 10 * MAX_BATCH)?;
        validate::batch_len("snapshot preferences", snapshot.preferences.len(), 200)?;
        let events: Vec<Event> = snapshot
            .events
            .iter()
            .map(|e| Event {
                kind: e.kind,
                item_id: e.item_id.clone(),
                timestamp: Some(e.ts),
                session_id: None,
                quantity: Some(e.quantity),
                surface: e.surface.clone(),
                response_id: None,
            })
            .collect();
        for e in &events {
            validate::event(e)?;
        }
        for p in &snapshot.preferences {
            validate::id("snapshot preference", &p.value)?;
        }
        validate::batch_len(
            "snapshot not-interested marks",
            snapshot.not_interested.len(),
            super::edits::MAX_NOT_INTERESTED,
        )?;
        for n in &snapshot.not_interested {
            validate::id("snapshot not-interested value", &n.attribute.value)?;
            validate::timestamp("snapshot not-interested mark", Some(n.since))?;
        }
        for a in &snapshot.exploration {
            validate::id("snapshot exploration arm", &a.arm)?;
            merge_arm(Default::default(), a)?;
        }
        if !self.consented() {
            return Ok(TrackSummary {
                dropped_no_consent: events.len() as u32,
                ..Default::default()
            });
        }
        let summary = self.write_profile(|w, state, batch| {
            // Importing the same snapshot twice, or onto the device it came from, adds nothing.
            let existing = w.profile.event_keys()?;
            let fresh: Vec<Event> = events
                .into_iter()
                .filter(|e| {
                    let key = (
                        e.timestamp.unwrap_or(0),
                        kind_code(e.kind),
                        e.item_id.clone(),
                        e.quantity.unwrap_or(1) as i64,
                    );
                    !existing.contains(&key)
                })
                .collect();
            let catalog = self.catalog.load();
            let ctx = TrackContext {
                catalog: &catalog,
                params: &self.params,
                salt: &self.salt,
                // Imported history teaches neither the personal layer nor the funnel.
                shown: &Default::default(),
                attribution_window_secs: 0,
                personal_learning: false,
                now: crate::clock::now(),
                count_in_funnel: false,
            };
            let summary = apply_events(&ctx, &fresh, state, batch)?;
            let mut preferences = state.preferences.clone();
            for p in snapshot.preferences {
                if !preferences.contains(&p) {
                    preferences.push(p);
                }
            }
            if preferences.len() != state.preferences.len() {
                let rows = preferences.clone();
                batch.also(move |tx| write_preferences(tx, &rows));
                state.preferences = preferences;
            }
            // Marks are a union; the later date of a mark on both devices wins.
            let mut marks = state.not_interested.clone();
            for n in &snapshot.not_interested {
                match marks.iter_mut().find(|m| m.attribute == n.attribute) {
                    Some(m) => m.since = m.since.max(n.since),
                    None => marks.push(n.clone()),
                }
            }
            if marks.len() > super::edits::MAX_NOT_INTERESTED {
                return Err(Error::invalid(format!(
                    "the snapshot would bring the \"not interested\" marks to {}, above {}; \
                     undo some first",
                    marks.len(),
                    super::edits::MAX_NOT_INTERESTED
                )));
            }
            if marks != state.not_interested {
                marks.sort_by_key(|m| std::cmp::Reverse(m.since));
                let rows = marks.clone();
                batch.also(move |tx| {
                    rows.iter()
                        .try_for_each(|m| crate::profile::store::insert_not_interested(tx, m))
                });
                state.not_interested = marks;
            }
            for a in &snapshot.exploration {
                let arm: Arc<str> = Arc::from(a.arm.as_str());
                let local = state.bandit.get(&arm).copied().unwrap_or_default();
                state.bandit.insert(arm.clone(), merge_arm(local, a)?);
                batch.touched.bandit.insert(arm);
            }
            Ok(summary)
        })?;
        self.enforce_retention()?;
        Ok(summary)
    }
}
