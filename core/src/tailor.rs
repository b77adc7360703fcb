//! The `Tailor` object: the public API. Thin: it validates, takes the writer lock where needed
//! and delegates to the stores, the model registry and the rank pipeline.

use crate::catalog::{self, CatalogSnapshot, CatalogStore};
use crate::error::{Error, Result, TailorError};
use crate::features::ProfileView;
use crate::model::{signature, LoadedModel, ModelRegistry};
use crate::profile::signals::{Params, ProfileEvent};
use crate::profile::store::{keyed_hash, NewEvent, WriteBatch};
use crate::profile::{ProfileState, ProfileStore};
use crate::rank::{self, RankContext};
use crate::types::*;
use arc_swap::{ArcSwap, ArcSwapOption};
use parking_lot::{Mutex, MutexGuard};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Largest `track_batch` / `upsert_items` call.
pub const MAX_BATCH: usize = 100_000;
/// Timestamps must fall before 2100-01-01 (catches milliseconds passed as seconds).
pub const MAX_TIMESTAMP: i64 = 4_102_444_800;
pub const MAX_QUANTITY: u32 = 1_000_000;

/// Change the request as a variant does: its boosts are added, and its exploration rate applies
/// unless the request set one. In place: the request may carry thousands of candidate ids.
fn apply_variant(request: &mut RankRequest, v: &Variant) {
    request.rules.boosts.extend(v.boosts.iter().cloned());
    if request.exploration.is_none() {
        if let Some(rate) = v.exploration_rate {
            request.exploration = Some(ExplorationOptions { rate, seed: None });
        }
    }
}

/// A profile view and the inputs it was built from.
struct CachedView {
    catalog: Arc<CatalogSnapshot>,
    profile: Arc<ProfileState>,
    now: i64,
    session_key: Option<String>,
    view: Arc<ProfileView>,
}

/// The stores, behind the single writer lock. `None` once closed.
struct Writer {
    catalog: CatalogStore,
    profile: ProfileStore,
}

#[derive(uniffi::Object)]
pub struct Tailor {
    config: TailorConfig,
    params: Params,
    dir: PathBuf,
    salt: [u8; 32],
    catalog: ArcSwap<CatalogSnapshot>,
    profile: ArcSwap<ProfileState>,
    consent: AtomicBool,
    models: ModelRegistry,
    writer: Mutex<Option<Writer>>,
    /// Experiments defined since open, by key.
    experiments: parking_lot::RwLock<rustc_hash::FxHashMap<String, Experiment>>,
    /// Pages recently shown, with their features, for learning from feedback.
    shown: Mutex<crate::learn::impressions::ImpressionBuffer>,
    counters: crate::metrics::EngineCounters,
    /// The last profile view built by `rank` (see `view_for`).
    view_cache: ArcSwapOption<CachedView>,
    /// Set by `close`, so readers can check it without waiting for the writer lock.
    closed: AtomicBool,
    notices: Mutex<Vec<StoreNotice>>,
}

fn notice(store: &str, message: impl Into<String>) -> StoreNotice {
    StoreNotice {
        store: store.into(),
        message: message.into(),
    }
}

fn validate_config(c: &TailorConfig) -> Result<Params> {
    if c.directory.trim().is_empty() {
        return Err(Error::invalid(
            "config.directory is empty; pass the app's private files directory",
        ));
    }
    if !c.half_life_days.is_finite() || !(0.01..=3650.0).contains(&c.half_life_days) {
        return Err(Error::invalid(
            "half_life_days must be between 0.01 and 3650",
        ));
    }
    if c.session_gap_minutes == 0 || c.session_gap_minutes > 24 * 60 {
        return Err(Error::invalid(
            "session_gap_minutes must be between 1 and 1440",
        ));
    }
    if c.max_events == 0 || c.max_event_age_days == 0 {
        return Err(Error::invalid(
            "max_events and max_event_age_days must be at least 1",
        ));
    }
    rank::explore::validate(c.exploration_rate)?;
    Ok(Params {
        half_life_secs: c.half_life_days * 86_400.0,
        session_gap_secs: c.session_gap_minutes as i64 * 60,
    })
}

/// Timestamps are Unix seconds; a value in milliseconds is the usual mistake.
fn validate_timestamp(what: &str, ts: Option<i64>) -> Result<()> {
    match ts {
        Some(ts) if !(0..MAX_TIMESTAMP).contains(&ts) => Err(Error::invalid(format!(
            "{what} timestamp {ts} is not Unix seconds before 2100 (milliseconds passed by mistake?)"
        ))),
        _ => Ok(()),
    }
}

fn validate_surface(surface: &Option<String>) -> Result<()> {
    if surface.as_ref().is_some_and(|s| s.len() > 64) {
        return Err(Error::invalid("surface names are limited to 64 bytes"));
    }
    Ok(())
}

fn validate_event(e: &Event) -> Result<()> {
    catalog::validate::id("event item id", &e.item_id)?;
    validate_timestamp("event", e.timestamp)?;
    if let Some(s) = &e.session_id {
        catalog::validate::id("session id", s)?;
    }
    if e.quantity.is_some_and(|q| q == 0 || q > MAX_QUANTITY) {
        return Err(Error::invalid(format!(
            "quantity must be between 1 and {MAX_QUANTITY}"
        )));
    }
    validate_surface(&e.surface)
}

impl Tailor {
    fn writer(&self) -> Result<MutexGuard<'_, Option<Writer>>> {
        let guard = self.writer.lock();
        if guard.is_none() {
            return Err(Error::Closed);
        }
        Ok(guard)
    }

    /// For readers (`rank`, model loads): never waits on the writer lock, which a commit holds
    /// while it writes to disk.
    fn ensure_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn open_inner(config: TailorConfig) -> Result<Arc<Tailor>> {
        let params = validate_config(&config)?;
        let keys = signature::parse_keys(&config.trusted_model_keys)?;
        let dir = PathBuf::from(&config.directory);
        std::fs::create_dir_all(&dir)?;
        let mut notices = Vec::new();
        let durable = config.durable_sync;
        // Decoding the catalog is the slowest part of opening (about 45 of 60 ms for 10,000 items
        // with neighbours and embeddings), so this thread does only that. A second thread opens
        // the profile store and the model, which do not depend on the catalog, and then runs the
        // catalog's integrity check on its own read-only connection while this one decodes.
        let catalog_path = dir.join("catalog.db");
        let profile_path = dir.join("profile.db");
        let models_dir = dir.clone();
        let (opened_tx, opened_rx) = std::sync::mpsc::channel::<()>();
        let (catalog, rest) = std::thread::scope(|scope| {
            let check_path = catalog_path.clone();
            let rest = std::thread::Builder::new()
                .name("tailor-open".into())
                .spawn_scoped(scope, move || {
                    let profile = ProfileStore::open(&profile_path, durable)?;
                    let models = ModelRegistry::open(Some(&models_dir), keys)?;
                    // Nothing arrives when the catalog failed to open or was just recreated.
                    let check = match opened_rx.recv() {
                        Ok(()) => crate::sql::check_integrity(&check_path),
                        Err(_) => Ok(()),
                    };
                    Ok::<_, Error>((profile, models, check))
                });
            let catalog = (|| {
                let (store, moved) = CatalogStore::open_unchecked(&catalog_path, durable)?;
                if moved.is_none() && rest.is_ok() {
                    let _ = opened_tx.send(());
                }
                // The snapshot is built while the check may still run; it is dropped if the
                // check fails.
                let snapshot = store.load_all().map(CatalogSnapshot::build);
                Ok::<_, Error>((store, moved, snapshot))
            })();
            drop(opened_tx);
            let rest = match rest {
                Ok(handle) => handle.join().unwrap_or_else(|_| {
                    Err(Error::Io(std::io::Error::other(
                        "opening profile.db or the model failed unexpectedly; retry",
                    )))
                }),
                Err(e) => Err(Error::from(e)),
            };
            (catalog, rest)
        });
        let (catalog_store, mut moved, snapshot) = catalog?;
        let ((mut profile_store, profile_moved), (models, model_notices), check) = rest?;
        // A damaged catalog (found by the check or while decoding) is moved aside, as at any open.
        let (catalog_store, snapshot) = match (check, snapshot) {
            (Ok(()), Ok(snapshot)) => (catalog_store, snapshot),
            (Err(e), _) | (Ok(()), Err(e)) if crate::sql::is_corruption(&e) => {
                let (store, aside) = catalog_store.recreate(&catalog_path, durable)?;
                moved = Some(aside);
                (store, CatalogSnapshot::build(Vec::new()))
            }
            (Err(e), _) | (Ok(()), Err(e)) => return Err(e),
        };
        if let Some(p) = moved {
            notices.push(notice(
                "catalog",
                format!(
                    "catalog.db was damaged; moved to {} and started empty",
                    p.display()
                ),
            ));
        }
        if let Some(p) = profile_moved {
            notices.push(notice(
                "profile",
                format!(
                    "profile.db was damaged; moved to {} and started empty",
                    p.display()
                ),
            ));
        }
        let now = crate::clock::now();
        profile_store.enforce_retention(
            now,
            config.max_event_age_days as i64 * 86_400,
            config.max_events as u64,
        )?;
        let mut state = profile_store.load_state(&snapshot, &params)?;
        // Relative to the shopper's last activity: affinities are compared with each other, so
        // one that decayed to nothing next to the newest signals is dropped, whatever the clock.
        let dropped = state.prune_affinities(state.last_event, &params);
        if !dropped.is_empty() {
            profile_store.commit(
                &WriteBatch {
                    dropped_affinities: dropped,
                    ..Default::default()
                },
                &state,
            )?;
        }
        let consent = profile_store.consent()?;
        let salt = *profile_store.salt();
        notices.extend(model_notices.into_iter().map(|m| notice("model", m)));
        let tailor = Arc::new(Tailor {
            config,
            params,
            dir,
            salt,
            catalog: ArcSwap::from_pointee(snapshot),
            profile: ArcSwap::from_pointee(state),
            consent: AtomicBool::new(consent),
            models,
            writer: Mutex::new(Some(Writer {
                catalog: catalog_store,
                profile: profile_store,
            })),
            closed: AtomicBool::new(false),
            view_cache: ArcSwapOption::empty(),
            experiments: Default::default(),
            shown: Default::default(),
            counters: Default::default(),
            notices: Mutex::new(notices),
        });
        // Events whose item arrived just before a crash are resolved now.
        tailor.resolve_pending(None)?;
        Ok(tailor)
    }

    /// Apply attributes of pending events whose items are now in the catalog: those of
    /// `item_ids`, or (`None`) every pending event.
    fn resolve_pending(&self, item_ids: Option<&[String]>) -> Result<u32> {
        let mut guard = self.writer()?;
        let Some(w) = guard.as_mut() else {
            return Err(Error::Closed);
        };
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
        if pending.is_empty() {
            return Ok(0);
        }
        let catalog = self.catalog.load();
        let mut state = (**self.profile.load()).clone();
        let mut batch = WriteBatch::default();
        for (row, ev) in &pending {
            if let Some(idx) = catalog.get(&ev.item_id) {
                state.apply_attributes(ev, catalog.record(idx), &self.params, &mut batch.touched);
                batch.resolved_rows.push(*row);
            }
        }
        w.profile.commit(&batch, &state)?;
        self.profile.store(Arc::new(state));
        Ok(batch.resolved_rows.len() as u32)
    }

    fn upsert_inner(&self, items: Vec<Item>) -> Result<u32> {
        if items.len() > MAX_BATCH {
            return Err(Error::invalid(format!(
                "{} items in one call; send at most {MAX_BATCH} per call",
                items.len()
            )));
        }
        let current = self.catalog.load();
        let existing_dim = if current.len() > items.len() {
            current.embedding_dim
        } else {
            None
        };
        catalog::validate::batch(&items, existing_dim)?;
        if current.len() + items.len() > catalog::validate::MAX_ITEMS
            && current.len()
                + items
                    .iter()
                    .filter(|i| current.get(&i.id).is_none())
                    .count()
                > catalog::validate::MAX_ITEMS
        {
            return Err(Error::invalid(format!(
                "the catalog holds at most {} items",
                catalog::validate::MAX_ITEMS
            )));
        }
        {
            let mut guard = self.writer()?;
            let Some(w) = guard.as_mut() else {
                return Err(Error::Closed);
            };
            w.catalog.upsert(&items, crate::clock::now())?;
            let next = self.catalog.load().with_changes(&items, &[]);
            self.catalog.store(Arc::new(next));
        }
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        self.resolve_pending(Some(&ids))?;
        Ok(items.len() as u32)
    }

    fn track_inner(&self, events: &[Event]) -> Result<TrackSummary> {
        if events.len() > MAX_BATCH {
            return Err(Error::invalid(format!(
                "{} events in one call; send at most {MAX_BATCH}",
                events.len()
            )));
        }
        for e in events {
            validate_event(e)?;
        }
        let mut guard = self.writer()?;
        let Some(w) = guard.as_mut() else {
            return Err(Error::Closed);
        };
        if !self.consent.load(Ordering::SeqCst) {
            return Ok(TrackSummary {
                dropped_no_consent: events.len() as u32,
                ..Default::default()
            });
        }
        let now = crate::clock::now();
        let catalog = self.catalog.load();
        let mut state = (**self.profile.load()).clone();
        let mut batch = WriteBatch::default();
        let mut summary = TrackSummary::default();
        let window = self.config.attribution_window_hours as i64 * 3_600;
        let shown = self.shown.lock();
        let mut feedback: Vec<(Arc<str>, EventKind, i64, f64, String)> = Vec::new();
        for e in events {
            let ev = ProfileEvent {
                kind: e.kind,
                item_id: Arc::from(e.item_id.as_str()),
                ts: e.timestamp.unwrap_or(now),
                session: e.session_id.as_deref().map(|s| keyed_hash(&self.salt, s)),
                quantity: e.quantity.unwrap_or(1),
            };
            state.apply_history(&ev, &self.params, &mut batch.touched);
            let resolved = match catalog.get(&e.item_id) {
                Some(idx) => {
                    state.apply_attributes(
                        &ev,
                        catalog.record(idx),
                        &self.params,
                        &mut batch.touched,
                    );
                    true
                }
                None => {
                    summary.pending_items += 1;
                    false
                }
            };
            if crate::learn::feedback_strength(e.kind).is_some() {
                crate::learn::feedback::learn_from_event(
                    &mut state,
                    &mut batch.touched,
                    &shown,
                    &catalog,
                    e.kind,
                    &e.item_id,
                    ev.ts,
                    window,
                    self.config.personal_learning,
                );
                let price = catalog
                    .get(&e.item_id)
                    .map(|i| catalog.record(i).price)
                    .unwrap_or(0.0);
                let surface = e.surface.clone().unwrap_or_default();
                feedback.push((
                    ev.item_id.clone(),
                    e.kind,
                    ev.ts,
                    price * ev.quantity as f64,
                    surface,
                ));
            }
            batch.events.push(NewEvent {
                event: ev,
                surface: e.surface.clone(),
                resolved,
            });
        }
        drop(shown);
        batch.dropped_items = state.prune_items();
        w.profile.commit_with(&batch, &state, |tx| {
            for (item, kind, ts, value, surface) in &feedback {
                crate::metrics::funnel::count_feedback(
                    tx, item, *kind, *ts, *value, surface, window,
                )?;
            }
            Ok(())
        })?;
        w.profile.enforce_retention(
            now,
            self.config.max_event_age_days as i64 * 86_400,
            self.config.max_events as u64,
        )?;
        self.profile.store(Arc::new(state));
        summary.stored = events.len() as u32;
        Ok(summary)
    }

    fn read_model_files(
        model_path: &str,
        manifest_path: Option<&str>,
    ) -> Result<(Vec<u8>, String)> {
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
        let read_err = |p: &Path, e: std::io::Error| {
            Error::NotFound(format!("cannot read {}: {e}", p.display()))
        };
        let bytes = std::fs::read(&onnx).map_err(|e| read_err(&onnx, e))?;
        let json = std::fs::read_to_string(&manifest).map_err(|e| read_err(&manifest, e))?;
        Ok((bytes, json))
    }

    /// A rank context over the current snapshots (used by `rank` and by tools).
    fn rank_inner(&self, mut request: RankRequest) -> Result<RankResponse> {
        let started = std::time::Instant::now();
        self.ensure_open()?;
        rank::pipeline::validate(&request)?;
        let (variant, model) = self.variant_of(request.experiment.as_deref())?;
        if let Some(v) = &variant {
            apply_variant(&mut request, v);
        }
        let catalog = self.catalog.load_full();
        let profile = self.profile.load_full();
        let session_key = request
            .session_id
            .as_deref()
            .map(|s| keyed_hash(&self.salt, s));
        let now = request.now.unwrap_or_else(crate::clock::now);
        let view = self.view_for(&catalog, &profile, now, session_key.as_deref());
        let ctx = RankContext {
            catalog: &catalog,
            profile: &profile,
            model: &model,
            params: &self.params,
            consent: self.consent.load(Ordering::SeqCst),
            session_key,
            default_exploration_rate: self.config.exploration_rate,
            personal_learning: self.config.personal_learning,
            variant: variant.map(|v| v.name),
        };
        let response = rank::pipeline::rank_with_view(&ctx, &request, &view, started)?;
        self.counters
            .rank(response.took_micros, response.fallback.as_ref());
        Ok(response)
    }

    /// This install's variant of an experiment (if one is named) and the model it ranks with:
    /// the variant's model when it names one that is loaded, else the active model.
    fn variant_of(&self, experiment: Option<&str>) -> Result<(Option<Variant>, Arc<LoadedModel>)> {
        let Some(key) = experiment else {
            return Ok((None, self.models.active()));
        };
        let experiments = self.experiments.read();
        let e = experiments.get(key).ok_or_else(|| {
            Error::invalid(format!(
                "experiment {key:?} is not defined; call define_experiment first"
            ))
        })?;
        let v = e.variants[crate::experiments::assign(&self.salt, e)].clone();
        let model = v
            .model_name
            .as_deref()
            .and_then(|n| self.models.by_name(n))
            .unwrap_or_else(|| self.models.active());
        Ok((Some(v), model))
    }

    /// Count a failed call by kind, and pass the result on.
    fn observe<T>(&self, result: Result<T>) -> Result<T, TailorError> {
        result.map_err(|e| {
            let e = TailorError::from(e);
            self.counters.error(&e);
            e
        })
    }

    fn record_impressions_inner(&self, impressions: Impressions) -> Result<()> {
        if impressions.item_ids.len() > rank::pipeline::MAX_LIMIT as usize {
            return Err(Error::invalid(format!(
                "{} impressions in one call; report at most {} (one page)",
                impressions.item_ids.len(),
                rank::pipeline::MAX_LIMIT
            )));
        }
        for id in &impressions.item_ids {
            catalog::validate::id("impression item id", id)?;
        }
        validate_surface(&impressions.surface)?;
        validate_timestamp("impression", impressions.timestamp)?;
        let (variant, model) = self.variant_of(impressions.experiment.as_deref())?;
        let mut guard = self.writer()?;
        let Some(w) = guard.as_mut() else {
            return Err(Error::Closed);
        };
        if !self.consent.load(Ordering::SeqCst) {
            return Ok(());
        }
        let now = crate::clock::now();
        let ts = impressions.timestamp.unwrap_or(now);
        let catalog = self.catalog.load_full();
        let profile = self.profile.load_full();
        // What the ranking saw for these items: features and model scores, for learning.
        let known: Vec<u32> = impressions
            .item_ids
            .iter()
            .filter_map(|id| catalog.get(id))
            .collect();
        if self.config.personal_learning && !known.is_empty() && !profile.is_cold() {
            let view = ProfileView::build(&profile, &catalog, ts, None, &self.params);
            let mut matrix = Vec::new();
            crate::features::assemble(&model.features, &known, &catalog, &view, &mut matrix);
            if let Ok(base) = model.runtime.score(&matrix, known.len()) {
                let width = model.features.len();
                let items = known
                    .iter()
                    .zip(matrix.chunks_exact(width))
                    .zip(base)
                    .map(|((&idx, row), base)| crate::learn::impressions::ShownItem {
                        item_id: catalog.item(idx).id.clone(),
                        features: row.to_vec(),
                        base,
                    })
                    .collect();
                self.shown
                    .lock()
                    .push(crate::learn::impressions::ShownPage {
                        ts,
                        model_key: crate::learn::model_key(&model),
                        items,
                    });
            }
        }
        let mut state = (*profile).clone();
        let mut batch = WriteBatch::default();
        for &idx in &known {
            let arm = rank::explore::arm(&catalog, idx);
            state.bandit.entry(arm.clone()).or_default().beta += 1.0;
            batch.touched.bandit.insert(arm);
        }
        let key = crate::metrics::funnel::FunnelKey {
            experiment: impressions.experiment.clone().unwrap_or_default(),
            variant: variant.map(|v| v.name).unwrap_or_default(),
            surface: impressions.surface.clone().unwrap_or_default(),
        };
        let ids: Vec<&str> = impressions.item_ids.iter().map(|s| s.as_str()).collect();
        w.profile.commit_with(&batch, &state, |tx| {
            use crate::metrics::funnel;
            funnel::insert_impressions(tx, ts, &ids, &key)?;
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
        })?;
        self.profile.store(Arc::new(state));
        Ok(())
    }

    /// The profile view for these snapshots, time and session, reused while they are unchanged:
    /// an app typically ranks several surfaces at once, and building the view is most of the
    /// fixed cost of a rank call.
    fn view_for(
        &self,
        catalog: &Arc<CatalogSnapshot>,
        profile: &Arc<ProfileState>,
        now: i64,
        session_key: Option<&str>,
    ) -> Arc<ProfileView> {
        if let Some(c) = self.view_cache.load().as_ref() {
            if Arc::ptr_eq(&c.catalog, catalog)
                && Arc::ptr_eq(&c.profile, profile)
                && c.now == now
                && c.session_key.as_deref() == session_key
            {
                return c.view.clone();
            }
        }
        let view = Arc::new(ProfileView::build(
            profile,
            catalog,
            now,
            session_key,
            &self.params,
        ));
        self.view_cache.store(Some(Arc::new(CachedView {
            catalog: catalog.clone(),
            profile: profile.clone(),
            now,
            session_key: session_key.map(String::from),
            view: view.clone(),
        })));
        view
    }
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
        self.observe(self.upsert_inner(items))
    }

    /// Remove items by id; returns how many existed. Unknown ids are ignored.
    pub fn remove_items(&self, ids: Vec<String>) -> Result<u32, TailorError> {
        let mut guard = self.writer()?;
        let Some(w) = guard.as_mut() else {
            return Err(Error::Closed.into());
        };
        let removed = w.catalog.remove(&ids)?;
        let next = self.catalog.load().with_changes(&[], &ids);
        self.catalog.store(Arc::new(next));
        Ok(removed)
    }

    /// Load a catalog CSV (`item_id,title,category,brand,price,tags,in_stock`, optionally gzip).
    pub fn import_catalog_csv(&self, path: String) -> Result<u32, TailorError> {
        let items = catalog::import::read_path(Path::new(&path))?;
        self.observe(self.upsert_inner(items))
    }

    /// Load an events CSV (`user_id,item_id,event,ts,session_id,quantity`) into this profile.
    /// With `user_id`, only that user's rows are imported.
    #[uniffi::method(default(user_id = None))]
    pub fn import_events_csv(
        &self,
        path: String,
        user_id: Option<String>,
    ) -> Result<TrackSummary, TailorError> {
        let rows = crate::profile::import::read_path(Path::new(&path))?;
        let events: Vec<Event> = rows
            .into_iter()
            .filter(|r| user_id.as_ref().is_none_or(|u| &r.user_id == u))
            .map(|r| r.event)
            .collect();
        let mut total = TrackSummary::default();
        for chunk in events.chunks(MAX_BATCH) {
            let s = self.track_inner(chunk)?;
            total.stored += s.stored;
            total.pending_items += s.pending_items;
            total.dropped_no_consent += s.dropped_no_consent;
        }
        Ok(total)
    }

    /// Record one shopper event. Dropped silently when the shopper has not consented.
    pub fn track(&self, event: Event) -> Result<(), TailorError> {
        self.observe(self.track_inner(std::slice::from_ref(&event)).map(|_| ()))
    }

    /// Record many events in one transaction (all or nothing).
    pub fn track_batch(&self, events: Vec<Event>) -> Result<TrackSummary, TailorError> {
        self.observe(self.track_inner(&events))
    }

    /// Order candidates for this shopper. Never fails because of the shopper's state: cold start,
    /// opt-out or a failing model give a popularity order flagged in `fallback`.
    pub fn rank(&self, request: RankRequest) -> Result<RankResponse, TailorError> {
        self.observe(self.rank_inner(request))
    }

    /// Replace the shopper's explicit preferences (e.g. from an onboarding quiz).
    pub fn set_preferences(&self, preferences: Vec<Attribute>) -> Result<(), TailorError> {
        if preferences.len() > 200 {
            return Err(Error::invalid("at most 200 preferences").into());
        }
        for p in &preferences {
            catalog::validate::id("preference value", &p.value)?;
        }
        let mut guard = self.writer()?;
        let Some(w) = guard.as_mut() else {
            return Err(Error::Closed.into());
        };
        if !self.consent.load(Ordering::SeqCst) {
            return Ok(());
        }
        w.profile.set_preferences(&preferences)?;
        let mut state = (**self.profile.load()).clone();
        state.preferences = preferences;
        self.profile.store(Arc::new(state));
        Ok(())
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
        self.ensure_open()?;
        let (bytes, json) = Self::read_model_files(&model_path, manifest_path.as_deref())?;
        self.observe(self.models.install(&bytes, &json))
    }

    /// Like `load_model`, from bytes (e.g. an app asset or a downloaded file the app verified).
    pub fn load_model_bytes(
        &self,
        model: Vec<u8>,
        manifest_json: String,
    ) -> Result<ModelInfo, TailorError> {
        self.ensure_open()?;
        self.observe(self.models.install(&model, &manifest_json))
    }

    /// Check a model without activating it.
    #[uniffi::method(default(manifest_path = None))]
    pub fn validate_model(
        &self,
        model_path: String,
        manifest_path: Option<String>,
    ) -> Result<ModelInfo, TailorError> {
        let (bytes, json) = Self::read_model_files(&model_path, manifest_path.as_deref())?;
        self.observe(self.models.validate(&bytes, &json))
    }

    /// Reactivate the previous model. `NotFound` when there is none.
    pub fn rollback_model(&self) -> Result<ModelInfo, TailorError> {
        self.ensure_open()?;
        self.observe(self.models.rollback())
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
        let guard = self.writer()?;
        let Some(w) = guard.as_ref() else {
            return Err(Error::Closed.into());
        };
        w.profile.set_consent(granted)?;
        self.consent.store(granted, Ordering::SeqCst);
        Ok(())
    }

    pub fn consent(&self) -> bool {
        self.consent.load(Ordering::SeqCst)
    }

    /// Sizes, consent, active model and what happened at open.
    pub fn status(&self) -> Result<Status, TailorError> {
        let guard = self.writer()?;
        let Some(w) = guard.as_ref() else {
            return Err(Error::Closed.into());
        };
        let (events, pending) = w.profile.counts()?;
        Ok(Status {
            catalog_items: self.catalog.load().len() as u64,
            profile_events: events,
            pending_events: pending,
            consent: self.consent(),
            model: self.model_info(),
            notices: self.notices.lock().clone(),
        })
    }

    /// Delete every piece of personal data (events, signals, preferences) and compact the file so
    /// no personal bytes remain on disk. The catalog and installed models stay.
    pub fn erase(&self) -> Result<(), TailorError> {
        let mut guard = self.writer()?;
        let Some(w) = guard.as_mut() else {
            return Err(Error::Closed.into());
        };
        crate::privacy::erase::erase(&mut w.profile)?;
        self.profile.store(Arc::new(ProfileState::default()));
        Ok(())
    }

    /// Report what the app actually showed (in display order). Tailor learns from what the
    /// shopper then clicks, carts or buys among these items (`personal_learning`), updates the
    /// exploration posteriors, and counts impressions and conversions in the local funnel. Pass
    /// the rank request's `experiment` key when the page came from an experiment.
    pub fn record_impressions(&self, impressions: Impressions) -> Result<(), TailorError> {
        self.observe(self.record_impressions_inner(impressions))
    }

    /// Define (or redefine) an experiment and return this install's variant. The assignment is
    /// deterministic: the same install gets the same variant on every launch. Rank requests and
    /// impressions that name the key run under the variant.
    pub fn define_experiment(&self, experiment: Experiment) -> Result<String, TailorError> {
        self.observe((|| {
            crate::experiments::validate(&experiment)?;
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
            let variant = experiment.variants[crate::experiments::assign(&self.salt, &experiment)]
                .name
                .clone();
            let mut guard = self.writer()?;
            let Some(w) = guard.as_mut() else {
                return Err(Error::Closed);
            };
            if self.consent.load(Ordering::SeqCst) {
                crate::metrics::funnel::expose(
                    w.profile.connection(),
                    &experiment.key,
                    &variant,
                    crate::clock::now(),
                    0,
                )?;
            }
            self.experiments
                .write()
                .insert(experiment.key.clone(), experiment);
            Ok(variant)
        })())
    }

    /// Funnel counters per experiment variant and surface, and engine statistics — for the app
    /// to report through its own analytics. Tailor never sends them anywhere.
    pub fn metrics(&self) -> Result<LocalMetrics, TailorError> {
        self.observe((|| {
            let guard = self.writer()?;
            let Some(w) = guard.as_ref() else {
                return Err(Error::Closed);
            };
            let funnels = crate::metrics::funnel::load(w.profile.connection())?;
            let (events, _) = w.profile.counts()?;
            let size = |name: &str| -> u64 {
                ["", "-wal"]
                    .iter()
                    .filter_map(|s| std::fs::metadata(self.dir.join(format!("{name}{s}"))).ok())
                    .map(|m| m.len())
                    .sum()
            };
            Ok(LocalMetrics {
                funnels,
                engine: EngineStats {
                    rank_latency: self.counters.latency(),
                    model: self.model_info(),
                    fallbacks: self.counters.fallbacks(),
                    errors: self.counters.errors(),
                    catalog_items: self.catalog.load().len() as u64,
                    profile_events: events,
                    profile_db_bytes: size("profile.db"),
                    catalog_db_bytes: size("catalog.db"),
                    personal_updates: self
                        .profile
                        .load()
                        .personal
                        .as_ref()
                        .map(|l| l.updates)
                        .unwrap_or(0),
                },
            })
        })())
    }

    /// Zero the funnel counters (e.g. after the app reported them).
    pub fn reset_metrics(&self) -> Result<(), TailorError> {
        self.observe((|| {
            let guard = self.writer()?;
            let Some(w) = guard.as_ref() else {
                return Err(Error::Closed);
            };
            w.profile.connection().execute("DELETE FROM funnel", [])?;
            Ok(())
        })())
    }

    /// Forget the personal adjustment layer (ranking goes back to the plain model).
    pub fn reset_personal_layer(&self) -> Result<(), TailorError> {
        self.observe((|| {
            let mut guard = self.writer()?;
            let Some(w) = guard.as_mut() else {
                return Err(Error::Closed);
            };
            let mut state = (**self.profile.load()).clone();
            state.personal = None;
            let mut batch = WriteBatch::default();
            batch.touched.personal = true;
            w.profile.commit(&batch, &state)?;
            self.shown.lock().clear();
            self.profile.store(Arc::new(state));
            Ok(())
        })())
    }

    /// The shopper's profile in plain terms, for a "why am I seeing this" screen. `now` defaults
    /// to the current time.
    #[uniffi::method(default(now = None))]
    pub fn explain_profile(&self, now: Option<i64>) -> Result<ProfileSummary, TailorError> {
        self.ensure_open()?;
        Ok(crate::privacy::explain::summarize(
            &self.profile.load(),
            &self.catalog.load(),
            now.unwrap_or_else(crate::clock::now),
            &self.params,
            self.consent(),
        ))
    }

    /// The shopper's data as one JSON document (see README "Data export").
    pub fn export_json(&self) -> Result<String, TailorError> {
        let guard = self.writer()?;
        let Some(w) = guard.as_ref() else {
            return Err(Error::Closed.into());
        };
        Ok(crate::privacy::export::export(
            &w.profile,
            &self.profile.load(),
            self.consent(),
        )?)
    }

    /// Flush and close the stores. Later calls fail with `Closed`.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
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
