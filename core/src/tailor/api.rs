//! The exported API. Every method goes through `Tailor::call`, so every failure is mapped the
//! same way and counted in `metrics()`.

use super::Tailor;
use crate::catalog;
use crate::error::{Error, Result, TailorError};
use crate::model::registry::ModelFiles;
use crate::profile::store::WriteBatch;
use crate::types::*;
use crate::validate;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

const MAX_PREFERENCES: usize = 200;

fn read_model_files(model_path: &str, manifest_path: Option<&str>) -> Result<ModelFiles> {
    let model_path = Path::new(model_path);
    let (onnx, manifest) = if model_path.is_dir() {
        (
            model_path.join("model.onnx"),
            model_path.join("manifest.json"),
        )
    } else {
        let manifest = match manifest_path {
            Some(m) => PathBuf::from(m),
            None => model_path.with_file_name("manifest.json"),
        };
        (model_path.to_path_buf(), manifest)
    };
    // Bounded: a FIFO, device or oversized file is refused before it is read.
    crate::model::registry::read_model_files(&onnx, &manifest)
}

/// Sum of the sizes of a store file and its WAL.
fn store_bytes(dir: &Path, name: &str) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(dir.join(format!("{name}{s}"))).ok())
        .map(|m| m.len())
        .sum()
}

/// Rows in the events table, and those waiting for their item.
fn event_counts(conn: &rusqlite::Connection) -> Result<(u64, u64)> {
    let (all, pending): (i64, Option<i64>) =
        conn.query_row("SELECT count(*), sum(resolved = 0) FROM events", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok((all as u64, pending.unwrap_or(0) as u64))
}

#[uniffi::export]
impl Tailor {
    /// Open (or create) the stores in `config.directory`. A damaged store file is moved aside and
    /// replaced by an empty one (see `status().notices`) instead of failing.
    #[uniffi::constructor]
    pub fn open(config: TailorConfig) -> Result<Arc<Tailor>, TailorError> {
        Ok(Self::open_inner(config)?)
    }

    /// Insert or replace catalog items (all or nothing). Returns how many were written.
    pub fn upsert_items(&self, items: Vec<Item>) -> Result<u32, TailorError> {
        self.call(|| self.upsert_inner(items))
    }

    /// Remove items by id; returns how many existed. Unknown ids are ignored.
    pub fn remove_items(&self, ids: Vec<String>) -> Result<u32, TailorError> {
        self.call(|| self.remove_inner(ids))
    }

    /// Load a catalog CSV (`item_id,title,category,brand,price,tags,in_stock`, optionally gzip),
    /// all or nothing. `interrupt()` or `close()` stops it with nothing written.
    pub fn import_catalog_csv(&self, path: String) -> Result<u32, TailorError> {
        self.call(|| {
            let items = catalog::import::read_path(Path::new(&path))?;
            self.upsert_inner(items)
        })
    }

    /// Load an events CSV (`user_id,item_id,event,ts,session_id,quantity`) into this profile.
    /// With `user_id`, only that user's rows are imported. When no catalog item has a popularity,
    /// each item's purchases in the whole file become its popularity (the cold-start order).
    #[uniffi::method(default(user_id = None))]
    pub fn import_events_csv(
        &self,
        path: String,
        user_id: Option<String>,
    ) -> Result<TrackSummary, TailorError> {
        self.call(|| {
            let cancel = self.interrupts.token();
            let rows = crate::profile::import::read_path(Path::new(&path))?;
            cancel.check()?;
            let popular =
                crate::profile::import::popularity_from_events(&self.catalog.load(), &rows);
            let events: Vec<Event> = rows
                .into_iter()
                .filter(|r| user_id.as_ref().is_none_or(|u| &r.user_id == u))
                .map(|r| r.event)
                .collect();
            let mut total = TrackSummary::default();
            for chunk in events.chunks(super::MAX_BATCH) {
                let s = self.track_inner(chunk)?;
                total.stored += s.stored;
                total.pending_items += s.pending_items;
                total.dropped_no_consent += s.dropped_no_consent;
            }
            for chunk in popular.chunks(super::MAX_BATCH) {
                self.upsert_inner(chunk.to_vec())?;
            }
            Ok(total)
        })
    }

    /// Record one shopper event. Dropped silently when the shopper has not consented.
    pub fn track(&self, event: Event) -> Result<(), TailorError> {
        self.call(|| self.track_inner(std::slice::from_ref(&event)).map(|_| ()))
    }

    /// Record many events in one transaction (all or nothing).
    pub fn track_batch(&self, events: Vec<Event>) -> Result<TrackSummary, TailorError> {
        self.call(|| self.track_inner(&events))
    }

    /// Order candidates for this shopper. Never fails because of the shopper's state: cold start,
    /// opt-out or a failing model give a popularity order flagged in `fallback`.
    pub fn rank(&self, request: RankRequest) -> Result<RankResponse, TailorError> {
        self.call(|| self.rank_inner(request))
    }

    /// `rank`, with the response packed into one byte buffer (layout in `rank/packed.rs`,
    /// reader `engine::rank::packed::decode`). For the Kotlin and Swift SDKs, whose
    /// hand-written layers read it into the same `RankResponse` (`rankPage`) in one pass: uniffi's
    /// generic reader lifts a page field by field, which costs more than the ranking in Swift.
    /// Rust callers use `rank`. Fails exactly as `rank` does.
    pub fn rank_packed(&self, request: RankRequest) -> Result<Vec<u8>, TailorError> {
        self.call(|| self.rank_inner(request))
            .map(|response| crate::rank::packed::encode(&response))
    }

    /// Define (or replace) a named list of candidate ids, for `RankRequest::candidate_set`: rank
    /// calls then name the set instead of sending the ids each time. Kept in memory until
    /// `close` (define sets at start, like surfaces); ids the catalog does not have yet are
    /// reported in `unknown_ids` when ranked, and count once they arrive. Returns how many
    /// distinct ids the set holds. An empty list, more than 100,000 ids, a bad id or more than
    /// 64 sets is an `InvalidInput` error that changes nothing.
    pub fn define_candidate_set(
        &self,
        name: String,
        item_ids: Vec<String>,
    ) -> Result<u32, TailorError> {
        self.call(|| {
            self.ensure_open()?;
            self.candidate_sets.define(name, item_ids)
        })
    }

    /// Remove a candidate set; returns whether it was defined.
    pub fn remove_candidate_set(&self, name: String) -> Result<bool, TailorError> {
        self.call(|| {
            self.ensure_open()?;
            self.candidate_sets.remove(&name)
        })
    }

    /// The names of the candidate sets defined, sorted.
    pub fn candidate_sets(&self) -> Result<Vec<String>, TailorError> {
        self.call(|| {
            self.ensure_open()?;
            Ok(self.candidate_sets.names())
        })
    }

    /// A bundle of 2..=5 in-stock items that go with the context items (a product page's item,
    /// the cart), within the price cap and margin floor, best first, with reasons and the total
    /// price. The same state gives the same bundle. Constraints nothing can meet are an
    /// `InvalidInput` error that says which to relax; unknown context items are `NotFound`.
    pub fn bundle(&self, request: BundleRequest) -> Result<ItemBundle, TailorError> {
        self.call(|| self.bundle_inner(request))
    }

    /// Replace the shopper's explicit preferences (e.g. from an onboarding quiz).
    pub fn set_preferences(&self, preferences: Vec<Attribute>) -> Result<(), TailorError> {
        self.call(|| {
            validate::batch_len("preferences", preferences.len(), MAX_PREFERENCES)?;
            for p in &preferences {
                validate::id("preference value", &p.value)?;
            }
            if !self.consented() {
                return Ok(());
            }
            self.write_profile(|w, state, _| {
                w.profile.set_preferences(&preferences)?;
                state.preferences = preferences;
                Ok(())
            })
        })
    }

    /// The shopper is not interested in an item (left out of every ranking from now on) or in a
    /// category, brand or tag (its items go after all others on every surface). Listed by
    /// `explain_profile`, exported, erased by `erase`; `undo_not_interested` takes it back.
    /// Dropped without consent, like every profile write.
    pub fn mark_not_interested(&self, attribute: Attribute) -> Result<(), TailorError> {
        self.call(|| self.mark_not_interested_inner(attribute))
    }

    /// Take back a `mark_not_interested`. Returns whether the mark existed.
    pub fn undo_not_interested(&self, attribute: Attribute) -> Result<bool, TailorError> {
        self.call(|| self.undo_not_interested_inner(attribute))
    }

    /// "Forget this item": delete its events and its history and take back what they added to
    /// the shopper's affinities, so it no longer drives "because you viewed", buy-again or taste.
    /// Returns how many events were deleted (0 for an item the profile does not know). This is
    /// a deletion and cannot be undone; the item itself may still be ranked.
    pub fn forget_item(&self, item_id: String) -> Result<u32, TailorError> {
        self.call(|| self.forget_item_inner(item_id))
    }

    /// Validate and activate a model. `model_path` is a folder holding `model.onnx` and
    /// `manifest.json`, or the `.onnx` file (manifest beside it unless `manifest_path` is given).
    /// On any problem the current model keeps serving and a `ModelRejected` error says why.
    #[uniffi::method(default(manifest_path = None))]
    pub fn load_model(
        &self,
        model_path: String,
        manifest_path: Option<String>,
    ) -> Result<ModelInfo, TailorError> {
        self.call(|| {
            self.ensure_open()?;
            let files = read_model_files(&model_path, manifest_path.as_deref())?;
            self.models.install(&files)
        })
    }

    /// Like `load_model`, from bytes (e.g. an app asset or a downloaded file the app verified).
    /// A model with a sequence graph (manifest format 2) has more files: load it from its folder.
    pub fn load_model_bytes(
        &self,
        model: Vec<u8>,
        manifest_json: String,
    ) -> Result<ModelInfo, TailorError> {
        self.call(|| {
            self.ensure_open()?;
            self.models.install(&ModelFiles::of(model, manifest_json))
        })
    }

    /// Check a model without activating it.
    #[uniffi::method(default(manifest_path = None))]
    pub fn validate_model(
        &self,
        model_path: String,
        manifest_path: Option<String>,
    ) -> Result<ModelInfo, TailorError> {
        self.call(|| {
            let files = read_model_files(&model_path, manifest_path.as_deref())?;
            self.models.validate(&files)
        })
    }

    /// Reactivate the previous model. `NotFound` when there is none.
    pub fn rollback_model(&self) -> Result<ModelInfo, TailorError> {
        self.call(|| {
            self.ensure_open()?;
            self.models.rollback()
        })
    }

    /// Whether the active model's fixed-batch plans are built (they are built in the background
    /// after a model loads; until then ranking uses the slower symbolic-batch plan).
    pub fn model_batch_plans_ready(&self) -> bool {
        self.models.active().runtime.batch_plans_ready()
    }

    /// The active model.
    pub fn model_info(&self) -> ModelInfo {
        self.models.active().info()
    }

    /// Grant or withdraw consent. Withdrawn: nothing new is stored and ranking is not
    /// personalized. Existing data stays until `erase()`.
    pub fn set_consent(&self, granted: bool) -> Result<(), TailorError> {
        self.call(|| {
            self.write(|w| {
                w.profile.set_consent(granted)?;
                self.consent.store(granted, Ordering::SeqCst);
                Ok(())
            })
        })
    }

    pub fn consent(&self) -> bool {
        self.consented()
    }

    /// Sizes, consent, active model and what happened at open. Reads the last committed state,
    /// so it answers at once even while a long import is writing.
    pub fn status(&self) -> Result<Status, TailorError> {
        self.call(|| {
            let (events, pending) = self.read(event_counts)?;
            Ok(Status {
                catalog_items: self.catalog.load().len() as u64,
                profile_events: events,
                pending_events: pending,
                consent: self.consented(),
                model: self.model_info(),
                notices: self.notices.lock().clone(),
            })
        })
    }

    /// Delete every piece of personal data (events, signals, preferences, learning, shown pages)
    /// from disk and memory, and compact the file so no personal bytes remain. The catalog and
    /// installed models stay.
    pub fn erase(&self) -> Result<(), TailorError> {
        self.call(|| {
            self.write(|w| {
                // No read may hold a snapshot of the WAL while it is truncated.
                let _reads = self.reader.lock();
                crate::privacy::erase::erase(&mut w.profile)?;
                self.forget_in_memory();
                Ok(())
            })
        })
    }

    /// Stop the long operation in progress (a large import, upsert or event batch) from another
    /// thread: it fails with `Interrupted` and writes nothing. Calls that start afterwards run
    /// normally. `close()` does the same before closing.
    pub fn interrupt(&self) {
        self.interrupts.interrupt();
    }

    /// Report what the app actually showed (in display order). Tailor learns from what the
    /// shopper then clicks, carts or buys among these items (`personal_learning`), updates the
    /// exploration posteriors, and counts impressions and conversions in the local funnel. Pass
    /// the rank request's `experiment` key when the page came from an experiment.
    pub fn record_impressions(&self, impressions: Impressions) -> Result<(), TailorError> {
        self.call(|| self.record_impressions_inner(impressions))
    }

    /// Define (or redefine) an experiment and return this install's variant. The assignment is
    /// deterministic: the same install gets the same variant on every launch. Rank requests and
    /// impressions that name the key run under the variant.
    pub fn define_experiment(&self, experiment: Experiment) -> Result<String, TailorError> {
        self.call(|| {
            crate::experiments::validate(&experiment)?;
            if let Some(name) = self.forced.read().get(&experiment.key) {
                if !experiment.variants.iter().any(|v| &v.name == name) {
                    return Err(Error::invalid(format!(
                        "variant {name:?} is forced for experiment {:?}, which has no such \
                         variant; force another or None",
                        experiment.key
                    )));
                }
            }
            for v in &experiment.variants {
                if let Some(name) = &v.model_name {
                    if self.models.by_name(name).is_none() {
                        return Err(Error::NotFound(format!(
                            "variant {} names model {name:?}, which is neither active nor kept for \
                             rollback; load it first",
                            v.name
                        )));
                    }
                }
            }
            let variant = experiment.variants[self.assigned(&experiment)].name.clone();
            self.write(|w| {
                if self.consented() {
                    crate::metrics::funnel::expose(
                        w.profile.connection(),
                        &experiment.key,
                        &variant,
                        crate::clock::now(),
                        0,
                    )?;
                }
                Ok(())
            })?;
            self.experiments
                .write()
                .insert(experiment.key.clone(), experiment);
            Ok(variant)
        })
    }

    /// QA builds: make this install get `variant` of experiment `key` (from now on, in this
    /// process; `None` returns to the deterministic assignment). Takes effect for an experiment
    /// defined before or after this call; `define_experiment` then returns the forced variant.
    /// `InvalidInput` if the experiment is defined and has no such variant.
    #[uniffi::method(default(variant = None))]
    pub fn force_variant(&self, key: String, variant: Option<String>) -> Result<(), TailorError> {
        self.call(|| {
            self.ensure_open()?;
            let Some(name) = variant else {
                self.forced.write().remove(&key);
                return Ok(());
            };
            if let Some(e) = self.experiments.read().get(&key) {
                if !e.variants.iter().any(|v| v.name == name) {
                    return Err(Error::invalid(format!(
                        "experiment {key:?} has no variant {name:?}"
                    )));
                }
            }
            self.forced.write().insert(key, name);
            Ok(())
        })
    }

    /// Funnel counters per experiment variant and surface, conversions per placement (each
    /// response shown, with its surface and variant, within the attribution window), and engine
    /// statistics — for the app to report through its own analytics. Tailor never sends them
    /// anywhere.
    pub fn metrics(&self) -> Result<LocalMetrics, TailorError> {
        self.call(|| {
            let (funnels, placements, (events, _)) = self.read(|conn| {
                Ok((
                    crate::metrics::funnel::load(conn)?,
                    crate::metrics::placements::load(conn)?,
                    event_counts(conn)?,
                ))
            })?;
            Ok(LocalMetrics {
                funnels,
                placements,
                engine: EngineStats {
                    rank_latency: self.counters.latency(),
                    model: self.model_info(),
                    fallbacks: self.counters.fallbacks(),
                    errors: self.counters.errors(),
                    catalog_items: self.catalog.load().len() as u64,
                    profile_events: events,
                    profile_db_bytes: store_bytes(&self.dir, "profile.db"),
                    catalog_db_bytes: store_bytes(&self.dir, "catalog.db"),
                    personal_updates: self
                        .profile
                        .load()
                        .personal
                        .as_ref()
                        .map(|l| l.updates)
                        .unwrap_or(0),
                    model_guard: ModelGuardStats {
                        enabled: self.guard.is_some(),
                        rollbacks: self.models.guard_rollbacks(),
                        ..self.models.active().guard.report()
                    },
                },
            })
        })
    }

    /// Zero the funnel and placement counters (e.g. after the app reported them).
    pub fn reset_metrics(&self) -> Result<(), TailorError> {
        self.call(|| {
            self.write(|w| {
                w.profile
                    .connection()
                    .execute_batch("DELETE FROM funnel; DELETE FROM placements;")?;
                Ok(())
            })
        })
    }

    /// Forget the personal adjustment layer (ranking goes back to the plain model).
    pub fn reset_personal_layer(&self) -> Result<(), TailorError> {
        self.call(|| {
            self.write_profile(|_, state, batch: &mut WriteBatch| {
                state.personal = None;
                batch.touched.personal = true;
                self.shown.lock().clear();
                Ok(())
            })
        })
    }

    /// The shopper's profile in plain terms, for a "why am I seeing this" screen. `now` defaults
    /// to the current time.
    #[uniffi::method(default(now = None))]
    pub fn explain_profile(&self, now: Option<i64>) -> Result<ProfileSummary, TailorError> {
        self.call(|| {
            self.ensure_open()?;
            Ok(crate::privacy::summary::summarize(
                &self.profile.load(),
                &self.catalog.load(),
                now.unwrap_or_else(crate::clock::now),
                &self.params,
                self.consented(),
            ))
        })
    }

    /// The shopper's data as one JSON document (see README "Data export").
    pub fn export_json(&self) -> Result<String, TailorError> {
        self.call(|| {
            self.read(|conn| {
                crate::privacy::export::export(conn, &self.profile.load(), self.consented())
            })
        })
    }

    /// The shopper's profile (events, preferences, exploration) as an encrypted, authenticated
    /// blob (XChaCha20-Poly1305 under the app's 32-byte `key`) that the app may store or sync
    /// through its own backend, e.g. to carry the shopper's taste to a new phone. Tailor sends
    /// it nowhere.
    pub fn export_profile_snapshot(&self, key: Vec<u8>) -> Result<Vec<u8>, TailorError> {
        self.call(|| self.export_snapshot_inner(&key))
    }

    /// Merge a blob from `export_profile_snapshot` into this profile: its events are replayed
    /// as if tracked here (ones this profile already holds are skipped, so importing twice
    /// changes nothing), preferences are added, exploration evidence is summed. A wrong key, a
    /// changed or truncated blob, or one from a newer Tailor is `InvalidInput` and changes
    /// nothing. Dropped (and counted) without consent.
    pub fn import_profile_snapshot(
        &self,
        snapshot: Vec<u8>,
        key: Vec<u8>,
    ) -> Result<TrackSummary, TailorError> {
        self.call(|| self.import_snapshot_inner(&snapshot, &key))
    }

    /// Stop any long operation in progress (it writes nothing), flush and close the stores.
    /// Later calls fail with `Closed`.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.interrupts.interrupt();
        // The next open reads the catalog from its image if it shows the last catalog write.
        self.image.save(&self.catalog.load());
        self.reader.lock().take();
        if let Some(w) = self.writer.lock().take() {
            let _ = w
                .profile
                .connection()
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
        }
    }

    /// The directory this object stores its files in.
    pub fn directory(&self) -> String {
        self.dir.display().to_string()
    }
}
