//! The active model and its predecessors. Loading validates everything before the swap; the swap
//! is one atomic pointer store, so a rank call never waits for a model load. The active choice is
//! persisted under `<directory>/models/` and restored at open.

use super::budget::{ModelBudget, ModelCost};
use super::files;
use super::guard::GuardStats;
use super::manifest::Manifest;
use super::runtime::Runtime;
use super::sequence::{SequenceFiles, SequenceModel};
use super::signature;
use crate::error::{Error, ModelProblem, Result};
use crate::features::Feature;
use crate::types::{GuardRollback, ModelInfo};
use arc_swap::ArcSwap;
use ed25519_dalek::VerifyingKey;
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The model compiled into the library, so ranking works with no files at all.
pub const BUILTIN_ONNX: &[u8] = include_bytes!("../../../models/default-ranker/model.onnx");
pub const BUILTIN_MANIFEST: &str = include_str!("../../../models/default-ranker/manifest.json");

pub use super::files::MAX_MODEL_BYTES;
/// Previous models kept for rollback.
const HISTORY: usize = 4;
/// Models the guard rolled back, remembered (and refused) on this device.
const QUARANTINE: usize = 16;

pub struct LoadedModel {
    pub manifest: Manifest,
    pub features: Vec<Feature>,
    pub runtime: Runtime,
    /// The sequence graph, for a format-2 manifest that has one.
    pub sequence: Option<SequenceModel>,
    pub builtin: bool,
    /// Where the installed copy lives (None for the built-in model).
    pub stored_at: Option<PathBuf>,
    /// What validation counted and measured.
    pub cost: ModelCost,
    /// What the model guard has seen of this model's rank calls.
    pub guard: GuardStats,
}

impl LoadedModel {
    /// Identifies the model a personal layer was trained against: features and scores are
    /// specific to it, so a new model starts a fresh layer.
    pub fn layer_key(&self) -> String {
        let m = &self.manifest;
        let id = m.identity_sha256();
        format!("{}@{}#{}", m.name, m.version, &id[..id.len().min(12)])
    }

    /// What `sequence_score` reads for this shopper: `None` when the model does not read it or
    /// the shopper has no purchases.
    pub fn sequence_input(
        &self,
        profile: &Arc<crate::profile::ProfileState>,
    ) -> Option<crate::features::SequenceInput> {
        if !self.features.contains(&Feature::SequenceScore) {
            return None;
        }
        self.sequence.as_ref()?.input_for(profile)
    }

    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            name: self.manifest.name.clone(),
            version: self.manifest.version.clone(),
            sha256: self.manifest.sha256.clone(),
            features: self.manifest.features.clone(),
            builtin: self.builtin,
        }
    }

    fn new(v: Validated, builtin: bool, stored_at: Option<PathBuf>) -> LoadedModel {
        LoadedModel {
            guard: GuardStats::new(v.manifest.score_reference.as_ref()),
            manifest: v.manifest,
            features: v.features,
            runtime: v.runtime,
            sequence: v.sequence,
            builtin,
            stored_at,
            cost: v.cost,
        }
    }
}

/// A model that passed validation.
pub struct Validated {
    pub manifest: Manifest,
    pub features: Vec<Feature>,
    pub runtime: Runtime,
    pub sequence: Option<SequenceModel>,
    pub cost: ModelCost,
}

/// A model's files as read: the ranker graph, its manifest and, when the manifest names a
/// sequence model, its graph and vocabulary.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub model: Vec<u8>,
    pub manifest: String,
    pub sequence: Option<SequenceFiles>,
}

impl ModelFiles {
    /// A model given as bytes, without sequence files.
    pub fn of(model: Vec<u8>, manifest: String) -> ModelFiles {
        ModelFiles {
            model,
            manifest,
            sequence: None,
        }
    }
}

/// Validate a model completely with the default budget (see [`validate_with`]).
pub fn validate(
    model_bytes: &[u8],
    manifest_json: &str,
    keys: &[VerifyingKey],
) -> Result<Validated> {
    validate_with(model_bytes, manifest_json, keys, &ModelBudget::default())
}

/// Validate a model given as bytes (no sequence files; see [`validate_files`]).
pub fn validate_with(
    model_bytes: &[u8],
    manifest_json: &str,
    keys: &[VerifyingKey],
    budget: &ModelBudget,
) -> Result<Validated> {
    validate_parts(model_bytes, manifest_json, None, keys, budget)
}

/// Validate a model completely: size, manifest, hash, signature, features, graph contract,
/// counted cost, probe (finite scores over the features' ranges, measured time), and the
/// sequence model when the manifest has one (hashes, vocabulary, contract, item table, probe).
pub fn validate_files(
    files: &ModelFiles,
    keys: &[VerifyingKey],
    budget: &ModelBudget,
) -> Result<Validated> {
    validate_parts(
        &files.model,
        &files.manifest,
        files.sequence.as_ref(),
        keys,
        budget,
    )
}

fn validate_parts(
    model_bytes: &[u8],
    manifest_json: &str,
    sequence_files: Option<&SequenceFiles>,
    keys: &[VerifyingKey],
    budget: &ModelBudget,
) -> Result<Validated> {
    if model_bytes.len() as u64 > MAX_MODEL_BYTES {
        return Err(Error::model(
            ModelProblem::TooLarge,
            format!(
                "model.onnx is {} bytes; the limit is {MAX_MODEL_BYTES}",
                model_bytes.len()
            ),
        ));
    }
    let manifest = Manifest::parse(manifest_json)?;
    manifest.check_hash(model_bytes)?;
    signature::verify(&manifest, keys)?;
    let features = manifest.resolve_features()?;
    let runtime = Runtime::load(model_bytes, &manifest, budget)?;
    let mut cost = runtime.probe(budget)?;
    let sequence = match (&manifest.sequence, sequence_files) {
        (None, _) => None,
        (Some(spec), None) => {
            return Err(Error::model(
                ModelProblem::InvalidManifest,
                format!(
                    "the manifest names a sequence model ({} and {}) but its files were not \
                     given; load the model from its folder (load_model) so they are read too",
                    super::contract::short(&spec.graph),
                    super::contract::short(&spec.vocabulary)
                ),
            ))
        }
        (Some(spec), Some(files)) => {
            let model = SequenceModel::load(spec, files)?;
            cost.sequence_ms = model.probe()?;
            budget.check_sequence_time(cost.sequence_ms)?;
            Some(model)
        }
    };
    Ok(Validated {
        manifest,
        features,
        runtime,
        sequence,
        cost,
    })
}

/// The model compiled into the library, building its fixed-batch plans in the background.
pub fn builtin() -> Result<LoadedModel> {
    let model = builtin_unprepared()?;
    model.runtime.prepare_batch_plans();
    Ok(model)
}

/// The model compiled into the library, no plans started (the registry starts the active
/// model's when asked: `ModelRegistry::prepare_active`).
fn builtin_unprepared() -> Result<LoadedModel> {
    let v = validate(BUILTIN_ONNX, BUILTIN_MANIFEST, &[])?;
    Ok(LoadedModel::new(v, true, None))
}

/// Read `model.onnx` and `manifest.json` from a model folder or explicit paths, bounded (see
/// `files`): a FIFO, device or oversized file is refused before it is read. When the manifest
/// names a sequence model, its graph and vocabulary are read from beside the manifest.
pub fn read_model_files(onnx: &Path, manifest: &Path) -> Result<ModelFiles> {
    // A model file that cannot be read at all is a rejected model too (the README promises
    // `ModelRejected` for every load failure), typed by the file: the graph first, so a missing
    // model folder reads as "no model here".
    let rejected = |problem| {
        move |e: Error| match e {
            Error::NotFound(m) => Error::model(problem, m),
            e => e,
        }
    };
    let bytes = files::read_bounded(onnx, MAX_MODEL_BYTES, ModelProblem::NotOnnx)
        .map_err(rejected(ModelProblem::NotOnnx))?;
    let json = files::read_text_bounded(
        manifest,
        files::MAX_MANIFEST_BYTES,
        ModelProblem::InvalidManifest,
    )
    .map_err(rejected(ModelProblem::InvalidManifest))?;
    // A manifest that does not parse is reported by validation, with its reason.
    let sequence = match Manifest::parse(&json).ok().and_then(|m| m.sequence) {
        None => None,
        Some(spec) => {
            let dir = manifest.parent().unwrap_or(Path::new("."));
            let graph = files::read_bounded(
                &dir.join(&spec.graph),
                MAX_MODEL_BYTES,
                ModelProblem::NotOnnx,
            )
            .map_err(rejected(ModelProblem::NotOnnx))?;
            let vocabulary = files::read_bounded(
                &dir.join(&spec.vocabulary),
                super::sequence::MAX_VOCABULARY_BYTES,
                ModelProblem::InvalidManifest,
            )
            .map_err(rejected(ModelProblem::InvalidManifest))?;
            Some(SequenceFiles { graph, vocabulary })
        }
    };
    Ok(ModelFiles {
        model: bytes,
        manifest: json,
        sequence,
    })
}

/// Load and validate a model from its `manifest.json` path (`model.onnx` beside it).
pub fn load_from_manifest(manifest_path: &Path, keys: &[VerifyingKey]) -> Result<LoadedModel> {
    load_from_manifest_with(manifest_path, keys, &ModelBudget::default())
}

/// [`load_from_manifest`] with an explicit budget; the fixed-batch plans start building.
pub fn load_from_manifest_with(
    manifest_path: &Path,
    keys: &[VerifyingKey],
    budget: &ModelBudget,
) -> Result<LoadedModel> {
    let onnx = manifest_path.with_file_name("model.onnx");
    let files = read_model_files(&onnx, manifest_path)?;
    let v = validate_files(&files, keys, budget)?;
    v.runtime.prepare_batch_plans();
    Ok(LoadedModel::new(v, false, Some(onnx)))
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct ActiveFile {
    /// Folder names under `models/`, newest last; empty means the built-in model.
    stack: Vec<String>,
    /// Models the guard rolled back: refused by `install` on this device.
    #[serde(default)]
    quarantined: Vec<GuardRollback>,
}

pub struct ModelRegistry {
    active: ArcSwap<LoadedModel>,
    /// Previous models, most recent last. Readers (rank, via `by_name`) load it without a lock;
    /// only installs and rollbacks replace it, one at a time under `writer`.
    history: ArcSwap<Vec<Arc<LoadedModel>>>,
    /// Serializes installs and rollbacks. Rank never takes it (the guard only tries it).
    writer: Mutex<()>,
    /// Models the guard rolled back (persisted in `active.json`), oldest first.
    quarantined: ArcSwap<Vec<GuardRollback>>,
    dir: Option<PathBuf>,
    keys: Vec<VerifyingKey>,
    budget: ModelBudget,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// The folder name of an installed model (None for the built-in one).
fn folder_of(m: &LoadedModel) -> Option<String> {
    m.stored_at
        .as_ref()?
        .file_name()?
        .to_str()
        .map(String::from)
}

impl ModelRegistry {
    /// Start with the built-in model, then restore the persisted stack under `dir/models`.
    /// Folders no longer on the stack are deleted. Returns notices about installed models that
    /// no longer load. No fixed-batch plans are started: the caller calls `prepare_active` when
    /// the build no longer competes with the rest of its own start (only the active model gets
    /// plans; history models get them if rolled back to).
    pub fn open(
        dir: Option<&Path>,
        keys: Vec<VerifyingKey>,
        budget: ModelBudget,
    ) -> Result<(ModelRegistry, Vec<String>)> {
        let base = Arc::new(builtin_unprepared()?);
        let registry = ModelRegistry {
            active: ArcSwap::new(base.clone()),
            history: ArcSwap::from_pointee(Vec::new()),
            writer: Mutex::new(()),
            quarantined: ArcSwap::from_pointee(Vec::new()),
            dir: dir.map(|d| d.join("models")),
            keys,
            budget,
        };
        let mut notices = Vec::new();
        let Some(models_dir) = &registry.dir else {
            return Ok((registry, notices));
        };
        let state = models_dir.join("active.json");
        let ActiveFile { stack, quarantined } = files::read_text_bounded(
            &state,
            files::MAX_STATE_BYTES,
            ModelProblem::InvalidManifest,
        )
        .ok()
        .and_then(|text| serde_json::from_str::<ActiveFile>(&text).ok())
        .unwrap_or_default();
        registry.quarantined.store(Arc::new(quarantined));
        let mut loaded = vec![base];
        for name in &stack {
            match registry.load_installed(&models_dir.join(name)) {
                Ok(m) => loaded.push(Arc::new(m)),
                Err(e) => notices.push(format!(
                    "installed model {} no longer loads ({e}); skipped",
                    super::contract::short(name)
                )),
            }
        }
        if let Some(top) = loaded.pop() {
            registry.active.store(top);
        }
        registry.history.store(Arc::new(loaded));
        // Leftovers of models that dropped off the stack (or of an install cut short).
        remove_folders_except(models_dir, &stack);
        Ok((registry, notices))
    }

    fn load_installed(&self, folder: &Path) -> Result<LoadedModel> {
        let files = read_model_files(&folder.join("model.onnx"), &folder.join("manifest.json"))?;
        let v = validate_files(&files, &self.keys, &self.budget)?;
        Ok(LoadedModel::new(v, false, Some(folder.to_path_buf())))
    }

    pub fn active(&self) -> Arc<LoadedModel> {
        self.active.load_full()
    }

    /// Start building the active model's fixed-batch plans in the background.
    pub fn prepare_active(&self) {
        self.active.load().runtime.prepare_batch_plans();
    }

    pub fn budget(&self) -> &ModelBudget {
        &self.budget
    }

    /// Validate without installing.
    pub fn validate(&self, files: &ModelFiles) -> Result<ModelInfo> {
        let v = validate_files(files, &self.keys, &self.budget)?;
        Ok(LoadedModel::new(v, false, None).info())
    }

    /// Validate, persist and swap in a model. On any error nothing changes. Validation and the
    /// model's files are written before the writer lock is taken; under it only `active.json`
    /// is written; rank takes no lock at all.
    pub fn install(&self, files: &ModelFiles) -> Result<ModelInfo> {
        let v = validate_files(files, &self.keys, &self.budget)?;
        if let Some(q) = self.quarantine_of(&v.manifest.identity_sha256()) {
            return Err(Error::model(
                ModelProblem::Quarantined,
                format!(
                    "{} {} was rolled back by the model guard on this device ({}); load a new \
                     version of the model",
                    q.name, q.version, q.reason
                ),
            ));
        }
        let stored_at = match &self.dir {
            Some(dir) => {
                let folder = dir.join(format!(
                    "{}-{}",
                    sanitize(&v.manifest.name),
                    &v.manifest.identity_sha256()[..16]
                ));
                std::fs::create_dir_all(&folder)?;
                write_atomic(&folder.join("model.onnx"), &files.model)?;
                if let (Some(spec), Some(seq)) = (&v.manifest.sequence, &files.sequence) {
                    write_atomic(&folder.join(&spec.graph), &seq.graph)?;
                    write_atomic(&folder.join(&spec.vocabulary), &seq.vocabulary)?;
                }
                // The manifest last: a folder cut short by a crash has no manifest and is
                // skipped (and deleted) at the next open.
                write_atomic(&folder.join("manifest.json"), files.manifest.as_bytes())?;
                Some(folder)
            }
            None => None,
        };
        let model = Arc::new(LoadedModel::new(v, false, stored_at));
        let _writer = self.writer.lock();
        let previous = self.active.load_full();
        let mut next_history = (**self.history.load()).clone();
        next_history.push(previous);
        let dropped = if next_history.len() > HISTORY {
            Some(next_history.remove(0))
        } else {
            None
        };
        self.persist(&next_history, &model)?;
        self.history.store(Arc::new(next_history.clone()));
        model.runtime.prepare_batch_plans();
        let info = model.info();
        self.active.store(model.clone());
        if let Some(d) = dropped {
            self.remove_unreferenced(&d, &next_history, &model);
        }
        Ok(info)
    }

    /// Go back to the previous model. Fails with NotFound when there is none.
    pub fn rollback(&self) -> Result<ModelInfo> {
        let _writer = self.writer.lock();
        let history = self.history.load_full();
        let Some(previous) = history.last().cloned() else {
            return Err(Error::NotFound("no previous model to roll back to".into()));
        };
        let remaining = history[..history.len() - 1].to_vec();
        self.persist(&remaining, &previous)?;
        self.history.store(Arc::new(remaining.clone()));
        previous.runtime.prepare_batch_plans();
        let info = previous.info();
        let replaced = self.active.swap(previous.clone());
        self.remove_unreferenced(&replaced, &remaining, &previous);
        Ok(info)
    }

    /// The guard's rollback of `bad` (which must still be the active model): back to the
    /// previous model, with `bad` quarantined and the reason persisted. Never waits for the
    /// writer lock (rank calls this): `None` when an install or rollback holds it or `bad` is no
    /// longer active, and the next rank call judges again. `Some(Err)` when there is nothing to
    /// roll back to or the state cannot be written.
    pub fn guard_rollback(
        &self,
        bad: &Arc<LoadedModel>,
        reason: &str,
        ranks: u64,
    ) -> Option<Result<GuardRollback>> {
        let _writer = self.writer.try_lock()?;
        if !Arc::ptr_eq(&self.active.load_full(), bad) {
            return None;
        }
        Some(self.guard_rollback_locked(bad, reason, ranks))
    }

    fn guard_rollback_locked(
        &self,
        bad: &Arc<LoadedModel>,
        reason: &str,
        ranks: u64,
    ) -> Result<GuardRollback> {
        let history = self.history.load_full();
        let Some(previous) = history.last().cloned() else {
            return Err(Error::NotFound(format!(
                "the model guard found {} {} failing ({reason}) but there is no previous model \
                 to roll back to",
                bad.manifest.name, bad.manifest.version
            )));
        };
        let record = GuardRollback {
            name: bad.manifest.name.clone(),
            version: bad.manifest.version.clone(),
            sha256: bad.manifest.identity_sha256(),
            reason: reason.to_string(),
            ranks,
            at: crate::clock::now(),
            replaced_by: previous.manifest.name.clone(),
        };
        let before = self.quarantined.load_full();
        let mut quarantined = (*before).clone();
        quarantined.retain(|q| q.sha256 != record.sha256);
        quarantined.push(record.clone());
        if quarantined.len() > QUARANTINE {
            quarantined.remove(0);
        }
        let remaining = history[..history.len() - 1].to_vec();
        self.quarantined.store(Arc::new(quarantined));
        if let Err(e) = self.persist(&remaining, &previous) {
            self.quarantined.store(before);
            return Err(e);
        }
        self.history.store(Arc::new(remaining.clone()));
        previous.runtime.prepare_batch_plans();
        let replaced = self.active.swap(previous.clone());
        self.remove_unreferenced(&replaced, &remaining, &previous);
        Ok(record)
    }

    /// The guard's record of a model with this hash, if it rolled one back.
    fn quarantine_of(&self, sha256: &str) -> Option<GuardRollback> {
        self.quarantined
            .load()
            .iter()
            .find(|q| q.sha256.eq_ignore_ascii_case(sha256))
            .cloned()
    }

    /// Every rollback the guard made on this device (persisted), oldest first.
    pub fn guard_rollbacks(&self) -> Vec<GuardRollback> {
        (**self.quarantined.load()).clone()
    }

    /// Delete the folder of a model that left the stack, unless the same folder (the same
    /// bytes installed again) is still on it. Best effort: a leftover is retried at next open.
    fn remove_unreferenced(
        &self,
        gone: &LoadedModel,
        history: &[Arc<LoadedModel>],
        active: &LoadedModel,
    ) {
        let (Some(dir), Some(name)) = (&self.dir, folder_of(gone)) else {
            return;
        };
        let still_used = history
            .iter()
            .map(|m| &**m)
            .chain(std::iter::once(active))
            .any(|m| folder_of(m).as_deref() == Some(name.as_str()));
        if !still_used {
            let _ = std::fs::remove_dir_all(dir.join(name));
        }
    }

    /// Write the stack (history + active) so the same model is active after a restart.
    fn persist(&self, history: &[Arc<LoadedModel>], active: &Arc<LoadedModel>) -> Result<()> {
        let Some(dir) = &self.dir else { return Ok(()) };
        std::fs::create_dir_all(dir)?;
        let stack: Vec<String> = history
            .iter()
            .chain(std::iter::once(active))
            .filter_map(|m| folder_of(m))
            .collect();
        let quarantined = (**self.quarantined.load()).clone();
        let json =
            serde_json::to_vec_pretty(&ActiveFile { stack, quarantined }).unwrap_or_default();
        write_atomic(&dir.join("active.json"), &json)
    }

    /// The active model or one kept for rollback, by manifest name (experiments pick models
    /// so). Lock-free: rank calls this and must never wait for an install.
    pub fn by_name(&self, name: &str) -> Option<Arc<LoadedModel>> {
        let active = self.active();
        if active.manifest.name == name {
            return Some(active);
        }
        self.history
            .load()
            .iter()
            .rev()
            .find(|m| m.manifest.name == name)
            .cloned()
    }

    /// Drop every loaded model's cached sequence user vector (erase).
    pub fn forget_shopper(&self) {
        let active = self.active();
        for m in self.history.load().iter().chain(std::iter::once(&active)) {
            if let Some(s) = &m.sequence {
                s.forget();
            }
        }
    }

    /// Hold the lock installs and rollbacks take, as a long install would (tests use it to show
    /// that rank does not wait for it).
    #[doc(hidden)]
    pub fn hold_writer_lock(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.writer.lock()
    }
}

/// Delete every model folder under `dir` whose name is not in `keep`.
fn remove_folders_except(dir: &Path, keep: &[String]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && !keep.iter().any(|k| k.as_str() == name) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect()
}
