//! The `Tailor` object. It owns the two stores behind one writer lock, the immutable snapshots
//! that `rank` reads, the model registry and the engine counters.
//!
//! - `open.rs`: opening the stores and the model, and what open reports.
//! - `api.rs`: every exported method, each through [`Tailor::call`] (one error path, counted).
//! - `native.rs`: the one hand-written C entry point, `rank_packed` with plain-integer arguments
//!   for the Kotlin and Swift SDKs (one native call per rank instead of four).
//! - here: the few helpers every method uses — `write` (the writer lock), `write_profile` (edit a
//!   copy of the profile state, commit it with its batch, publish it), `read` (the read-only
//!   connection, so status and metrics never queue behind a long write) and the rank path.

mod api;
mod edits;
mod feedback;
pub(crate) mod impressions;
pub(crate) mod native;
mod open;
pub(crate) mod track;
mod writes;

use crate::cancel::Interrupts;
use crate::catalog::{CatalogSnapshot, CatalogStore};
use crate::error::{Error, Result, TailorError};
use crate::features::resolved::ResolvedProfile;
use crate::features::ProfileView;
use crate::model::{LoadedModel, ModelRegistry};
use crate::profile::signals::Params;
use crate::profile::store::{keyed_hash, WriteBatch};
use crate::profile::{ProfileState, ProfileStore};
use crate::rank::{self, RankContext};
use crate::tailor::impressions::ImpressionBuffer;
use crate::types::*;
use arc_swap::{ArcSwap, ArcSwapOption};
use parking_lot::{Mutex, RwLock};
use rusqlite::Connection;
use rustc_hash::FxHashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Largest `track_batch` / `upsert_items` call.
pub const MAX_BATCH: usize = 100_000;

/// A profile view and the inputs it was built from.
struct CachedView {
    catalog: Arc<CatalogSnapshot>,
    profile: Arc<ProfileState>,
    now: i64,
    session_key: Option<String>,
    view: Arc<ProfileView>,
    /// Views built from this (catalog, profile) pair so far.
    views: u32,
}

/// Keying the item history by catalog index costs a catalog lookup per history item (about one
/// rank call for a long history) and then saves most of the view in every later call: worth it
/// from the third view of the same shopper state, not the second (an app often ranks a page or
/// two between events).
const INDEX_FROM_VIEW: u32 = 3;

/// The stores, behind the single writer lock. `None` once closed.
pub(crate) struct Writer {
    pub catalog: CatalogStore,
    pub profile: ProfileStore,
}

#[derive(uniffi::Object)]
pub struct Tailor {
    config: TailorConfig,
    params: Params,
    /// The model guard's thresholds (`None`: the guard is off).
    guard: Option<crate::model::guard::Thresholds>,
    dir: PathBuf,
    salt: [u8; 32],
    catalog: ArcSwap<CatalogSnapshot>,
    /// Writes `catalog.image` (what the next open reads instead of the rows).
    image: Arc<crate::catalog::image::Saver>,
    profile: ArcSwap<ProfileState>,
    consent: AtomicBool,
    models: ModelRegistry,
    writer: Mutex<Option<Writer>>,
    /// A read-only connection to `profile.db` for `status`, `metrics` and `export_json`: WAL lets
    /// it read the last commit while the writer is in the middle of a long transaction.
    reader: Mutex<Option<Connection>>,
    /// Stops long writes (`interrupt`, `close`).
    interrupts: Interrupts,
    /// Experiments defined since open, by key.
    experiments: RwLock<FxHashMap<String, Experiment>>,
    /// Variants forced by `force_variant` (QA builds), by experiment key.
    forced: RwLock<FxHashMap<String, String>>,
    /// Events removed by retention since open (reported in `status().notices`).
    retention_pruned: std::sync::atomic::AtomicU64,
    /// Pages recently shown, with their features, for learning from feedback.
    shown: Mutex<ImpressionBuffer>,
    counters: crate::metrics::EngineCounters,
    /// The last profile view built by `rank` (see `view_for`).
    view_cache: ArcSwapOption<CachedView>,
    /// Candidate sets defined since open (`define_candidate_set`), by name.
    candidate_sets: rank::candidate_sets::CandidateSets,
    /// Set by `close`, so readers can check it without waiting for the writer lock.
    closed: AtomicBool,
    notices: Mutex<Vec<StoreNotice>>,
}

impl Tailor {
    /// Every exported method runs through here: one place maps internal errors to the public
    /// `TailorError` and counts them by kind for `metrics()`.
    fn call<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T, TailorError> {
        f().map_err(|e| {
            // An operation stopped because the object closed reports that, not the interrupt.
            let e = match e {
                Error::Interrupted if self.closed.load(Ordering::SeqCst) => Error::Closed,
                e => e,
            };
            let e = TailorError::from(e);
            self.counters.error(&e);
            e
        })
    }

    /// For readers (`rank`, model loads): never waits on the writer lock, which a commit holds
    /// while it writes to disk.
    fn ensure_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Run `f` with the stores under the writer lock.
    fn write<T>(&self, f: impl FnOnce(&mut Writer) -> Result<T>) -> Result<T> {
        let mut guard = self.writer.lock();
        let w = guard.as_mut().ok_or(Error::Closed)?;
        f(w)
    }

    /// A write that changes the shopper's profile: `f` edits a copy of the current state and
    /// fills the batch; both commit in one transaction, and only then is the new state published
    /// to `rank`. An error anywhere leaves disk and memory as they were.
    fn write_profile<T>(
        &self,
        f: impl FnOnce(&mut Writer, &mut ProfileState, &mut WriteBatch) -> Result<T>,
    ) -> Result<T> {
        self.write(|w| {
            let mut state = (**self.profile.load()).clone();
            let mut batch = WriteBatch::default();
            batch.cancel = self.interrupts.token();
            let out = f(w, &mut state, &mut batch)?;
            w.profile.commit(&mut batch, &state)?;
            self.profile.store(Arc::new(state));
            Ok(out)
        })
    }

    /// Run `f` on the read-only connection to `profile.db`.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.ensure_open()?;
        let guard = self.reader.lock();
        let conn = guard.as_ref().ok_or(Error::Closed)?;
        f(conn)
    }

    fn consented(&self) -> bool {
        self.consent.load(Ordering::SeqCst)
    }

    fn rank_inner(&self, mut request: RankRequest) -> Result<RankResponse> {
        let started = std::time::Instant::now();
        self.ensure_open()?;
        rank::pipeline::validate(&request)?;
        let (variant, model) = self.variant_of(request.experiment.as_deref())?;
        if let Some(v) = &variant {
            crate::experiments::apply_variant(&mut request, v);
        }
        let catalog = self.catalog.load_full();
        let profile = self.profile.load_full();
        let session_key = request
            .session_id
            .as_deref()
            .map(|s| keyed_hash(&self.salt, s));
        let now = request.now.unwrap_or_else(crate::clock::now);
        let candidate_set = match &request.candidate_set {
            Some(name) => Some(self.candidate_sets.get(name)?.resolve(&catalog)),
            None => None,
        };
        let view = self.view_for(&catalog, &profile, now, session_key.as_deref());
        let ctx = RankContext {
            catalog: &catalog,
            profile: &profile,
            model: &model,
            params: &self.params,
            consent: self.consented(),
            session_key,
            default_exploration_rate: self.config.exploration_rate,
            personal_learning: self.config.personal_learning,
            variant: variant.map(|v| v.name),
            default_deadline_ms: self.config.rank_deadline_ms,
            candidate_set: candidate_set.as_deref(),
        };
        let (response, outcome) = rank::pipeline::rank_with_view(&ctx, &request, &view, started)?;
        let micros = response.took_micros.unsigned_abs();
        self.counters.rank(micros, response.fallback.as_ref());
        if outcome.model_ran {
            self.watch(&model, &outcome, micros);
        }
        Ok(response)
    }

    fn bundle_inner(&self, request: BundleRequest) -> Result<ItemBundle> {
        use crate::rank::bundle;
        bundle::validate(&request)?;
        let probe = RankRequest {
            context_item_ids: request.context_item_ids.clone(),
            now: request.now,
            limit: 1,
            kind: Some(SurfaceKind::GoesWith),
            ..Default::default()
        };
        rank::pipeline::validate(&probe)?;
        let catalog = self.catalog.load_full();
        let profile = self.profile.load_full();
        let context = rank::surface::resolve(&catalog, &probe)?;
        let excluded: rustc_hash::FxHashSet<u32> = profile
            .not_interested_items()
            .filter_map(|id| catalog.get(id))
            .collect();
        let candidates = bundle::candidates(&catalog, &context, &excluded, &request);
        let ranked = if candidates.is_empty() {
            None
        } else {
            let ids: Vec<String> = candidates
                .iter()
                .map(|&i| catalog.item(i).id.to_string())
                .collect();
            Some(self.rank_inner(RankRequest {
                limit: (ids.len() as u32).min(rank::pipeline::MAX_LIMIT),
                candidate_ids: Some(ids),
                // Deterministic: no discovery slots, whatever the configured rate.
                exploration: Some(ExplorationOptions {
                    rate: 0.0,
                    seed: Some(0),
                }),
                rules: BusinessRules {
                    min_margin: request.min_margin,
                    ..Default::default()
                },
                ..probe
            })?)
        };
        let empty = RankResponse {
            items: Vec::new(),
            unknown_ids: Vec::new(),
            personalized: false,
            fallback: None,
            model_name: String::new(),
            model_version: String::new(),
            took_micros: 0,
            variant: None,
            experiment: None,
            surface: None,
            response_id: String::new(),
        };
        bundle::select(
            &catalog,
            ranked.as_ref().unwrap_or(&empty),
            &request,
            candidates.len(),
        )
    }

    /// The model guard: count this call on the model that scored it and, when a threshold
    /// trips on the active model, roll back to the previous one (see `model::guard`). The
    /// response already computed stands; the next call ranks with the previous model.
    fn watch(
        &self,
        model: &Arc<LoadedModel>,
        outcome: &rank::pipeline::ScoringOutcome,
        micros: u64,
    ) {
        let Some(thresholds) = &self.guard else {
            return;
        };
        let per_1000 = crate::model::guard::latency_per_1000(micros, outcome.raw.len());
        let observation = crate::model::guard::Observation {
            failed: outcome.failed,
            non_finite: outcome.non_finite,
            micros: per_1000,
            scores: &outcome.raw,
        };
        let Some(reason) = model.guard.observe(&observation, thresholds) else {
            return;
        };
        // Only the active model is rolled back (an experiment may rank with an older one), and
        // only once: after a failed attempt the model keeps serving without further tries.
        if !Arc::ptr_eq(model, &self.models.active()) || model.guard.tripped() {
            return;
        }
        let ranks = model.guard.report().ranks;
        let message = match self.models.guard_rollback(model, &reason, ranks) {
            None => return,
            Some(Ok(r)) => format!(
                "model guard rolled back {} {} after {} rank calls: {}; {} serves instead and {} \
                 stays refused until a new version is loaded",
                r.name, r.version, r.ranks, r.reason, r.replaced_by, r.name
            ),
            Some(Err(e)) => format!("model guard could not roll back: {e}"),
        };
        model.guard.set_tripped();
        self.notices.lock().push(open::notice("model", message));
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
        let v = e.variants[self.assigned(e)].clone();
        let model = v
            .model_name
            .as_deref()
            .and_then(|n| self.models.by_name(n))
            .unwrap_or_else(|| self.models.active());
        Ok((Some(v), model))
    }

    /// This install's variant of `e`: the forced one (QA) if any, else the deterministic one.
    fn assigned(&self, e: &Experiment) -> usize {
        self.forced
            .read()
            .get(&e.key)
            .and_then(|name| e.variants.iter().position(|v| &v.name == name))
            .unwrap_or_else(|| crate::experiments::assign(&self.salt, e))
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
        let mut resolved = None;
        let mut views = 1;
        if let Some(c) = self.view_cache.load().as_ref() {
            if Arc::ptr_eq(&c.catalog, catalog) && Arc::ptr_eq(&c.profile, profile) {
                if c.now == now && c.session_key.as_deref() == session_key {
                    return c.view.clone();
                }
                // Same shopper state, another time: only the decays are redone, and from the
                // third view on the item history is keyed by catalog index.
                views = c.views.saturating_add(1);
                resolved = Some(if c.view.resolved.indexed() || views < INDEX_FROM_VIEW {
                    c.view.resolved.clone()
                } else {
                    Arc::new(ResolvedProfile::build(profile, catalog, true))
                });
            }
        }
        let resolved =
            resolved.unwrap_or_else(|| Arc::new(ResolvedProfile::build(profile, catalog, false)));
        let view = Arc::new(ProfileView::build_with(
            profile,
            resolved,
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
            views,
        })));
        view
    }

    /// Forget everything held in memory about the shopper: the published profile state, the
    /// pages shown (item ids with their feature rows), the cached profile view and the sequence
    /// models' cached user vectors.
    fn forget_in_memory(&self) {
        self.profile.store(Arc::new(ProfileState::default()));
        self.shown.lock().clear();
        self.view_cache.store(None);
        self.models.forget_shopper();
    }
}
