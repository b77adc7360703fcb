//! The active model and its predecessors. Loading validates everything before the swap; the swap
//! is one atomic pointer store, so a rank call never waits for a model load. The active choice is
//! persisted under `<directory>/models/` and restored at open.

use super::manifest::{sha256_hex, Manifest};
use super::runtime::Runtime;
use super::signature;
use crate::error::{Error, ModelProblem, Result};
use crate::features::Feature;
use crate::types::ModelInfo;
use arc_swap::ArcSwap;
use ed25519_dalek::VerifyingKey;
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The model compiled into the library, so ranking works with no files at all.
pub const BUILTIN_ONNX: &[u8] = include_bytes!("../../../models/default-ranker/model.onnx");
pub const BUILTIN_MANIFEST: &str = include_str!("../../../models/default-ranker/manifest.json");

/// Models larger than this are refused before parsing (the bundled ones are a few kB).
pub const MAX_MODEL_BYTES: usize = 64 * 1024 * 1024;
/// Previous models kept for rollback.
const HISTORY: usize = 4;

pub struct LoadedModel {
    pub manifest: Manifest,
    pub features: Vec<Feature>,
    pub runtime: Runtime,
    pub builtin: bool,
    /// Where the installed copy lives (None for the built-in model).
    pub stored_at: Option<PathBuf>,
}

impl LoadedModel {
    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            name: self.manifest.name.clone(),
            version: self.manifest.version.clone(),
            sha256: self.manifest.sha256.clone(),
            features: self.manifest.features.clone(),
            builtin: self.builtin,
        }
    }
}

/// Validate a model completely: manifest, hash, signature, features, graph, shapes, probe.
pub fn validate(
    model_bytes: &[u8],
    manifest_json: &str,
    keys: &[VerifyingKey],
) -> Result<(Manifest, Vec<Feature>, Runtime)> {
    if model_bytes.len() > MAX_MODEL_BYTES {
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
    let runtime = Runtime::load(model_bytes, &manifest)?;
    runtime.probe()?;
    Ok((manifest, features, runtime))
}

/// The model compiled into the library.
pub fn builtin() -> Result<LoadedModel> {
    serving(BUILTIN_ONNX, BUILTIN_MANIFEST, &[], None, true)
}

/// Validate a model for serving: on success its fixed-batch plans start building.
fn serving(
    bytes: &[u8],
    manifest_json: &str,
    keys: &[VerifyingKey],
    stored_at: Option<PathBuf>,
    builtin: bool,
) -> Result<LoadedModel> {
    let (manifest, features, runtime) = validate(bytes, manifest_json, keys)?;
    runtime.prepare_batch_plans();
    Ok(LoadedModel {
        manifest,
        features,
        runtime,
        builtin,
        stored_at,
    })
}

/// Load and validate a model from its `manifest.json` path (`model.onnx` beside it).
pub fn load_from_manifest(manifest_path: &Path, keys: &[VerifyingKey]) -> Result<LoadedModel> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| Error::NotFound(format!("cannot read {}: {e}", p.display())))
    };
    let json = String::from_utf8(read(manifest_path)?)
        .map_err(|_| Error::model(ModelProblem::InvalidManifest, "manifest.json is not UTF-8"))?;
    let onnx = manifest_path.with_file_name("model.onnx");
    let bytes = read(&onnx)?;
    serving(&bytes, &json, keys, Some(onnx), false)
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct ActiveFile {
    /// Folder names under `models/`, newest last; empty means the built-in model.
    stack: Vec<String>,
}

pub struct ModelRegistry {
    active: ArcSwap<LoadedModel>,
    /// Previous models, most recent last; guarded by a lock that only loaders take.
    history: Mutex<Vec<Arc<LoadedModel>>>,
    dir: Option<PathBuf>,
    keys: Vec<VerifyingKey>,
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

impl ModelRegistry {
    /// Start with the built-in model, then restore the persisted stack under `dir/models`.
    /// Returns notices about installed models that no longer load.
    pub fn open(
        dir: Option<&Path>,
        keys: Vec<VerifyingKey>,
    ) -> Result<(ModelRegistry, Vec<String>)> {
        let base = Arc::new(builtin()?);
        let registry = ModelRegistry {
            active: ArcSwap::new(base.clone()),
            history: Mutex::new(Vec::new()),
            dir: dir.map(|d| d.join("models")),
            keys,
        };
        let mut notices = Vec::new();
        if let Some(models_dir) = &registry.dir {
            let active_file = models_dir.join("active.json");
            if let Ok(text) = std::fs::read_to_string(&active_file) {
                let stack = serde_json::from_str::<ActiveFile>(&text)
                    .unwrap_or_default()
                    .stack;
                let mut loaded = vec![base];
                for name in stack {
                    match registry.load_installed(&models_dir.join(&name)) {
                        Ok(m) => loaded.push(Arc::new(m)),
                        Err(e) => notices.push(format!(
                            "installed model {name} no longer loads ({e}); skipped"
                        )),
                    }
                }
                if let Some(top) = loaded.pop() {
                    registry.active.store(top);
                }
                *registry.history.lock() = loaded;
            }
        }
        Ok((registry, notices))
    }

    fn load_installed(&self, folder: &Path) -> Result<LoadedModel> {
        let bytes = std::fs::read(folder.join("model.onnx"))?;
        let manifest = std::fs::read_to_string(folder.join("manifest.json"))?;
        serving(
            &bytes,
            &manifest,
            &self.keys,
            Some(folder.to_path_buf()),
            false,
        )
    }

    pub fn active(&self) -> Arc<LoadedModel> {
        self.active.load_full()
    }

    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// Validate without installing.
    pub fn validate(&self, model_bytes: &[u8], manifest_json: &str) -> Result<ModelInfo> {
        let (manifest, features, runtime) = validate(model_bytes, manifest_json, &self.keys)?;
        Ok(LoadedModel {
            manifest,
            features,
            runtime,
            builtin: false,
            stored_at: None,
        }
        .info())
    }

    /// Validate, persist and swap in a model. On any error nothing changes.
    pub fn install(&self, model_bytes: &[u8], manifest_json: &str) -> Result<ModelInfo> {
        let (manifest, features, runtime) = validate(model_bytes, manifest_json, &self.keys)?;
        runtime.prepare_batch_plans();
        let mut history = self.history.lock();
        let stored_at = match &self.dir {
            Some(dir) => {
                let folder = dir.join(format!(
                    "{}-{}",
                    sanitize(&manifest.name),
                    &sha256_hex(model_bytes)[..16]
                ));
                std::fs::create_dir_all(&folder)?;
                write_atomic(&folder.join("model.onnx"), model_bytes)?;
                write_atomic(&folder.join("manifest.json"), manifest_json.as_bytes())?;
                Some(folder)
            }
            None => None,
        };
        let model = Arc::new(LoadedModel {
            manifest,
            features,
            runtime,
            builtin: false,
            stored_at,
        });
        let previous = self.active.load_full();
        let mut next_history = history.clone();
        next_history.push(previous);
        if next_history.len() > HISTORY {
            next_history.remove(0);
        }
        self.persist(&next_history, &model)?;
        *history = next_history;
        let info = model.info();
        self.active.store(model);
        Ok(info)
    }

    /// Go back to the previous model. Fails with NotFound when there is none.
    pub fn rollback(&self) -> Result<ModelInfo> {
        let mut history = self.history.lock();
        let Some(previous) = history.last().cloned() else {
            return Err(Error::NotFound("no previous model to roll back to".into()));
        };
        let remaining = history[..history.len() - 1].to_vec();
        self.persist(&remaining, &previous)?;
        *history = remaining;
        let info = previous.info();
        self.active.store(previous);
        Ok(info)
    }

    /// Write the stack (history + active) so the same model is active after a restart.
    fn persist(&self, history: &[Arc<LoadedModel>], active: &Arc<LoadedModel>) -> Result<()> {
        let Some(dir) = &self.dir else { return Ok(()) };
        std::fs::create_dir_all(dir)?;
        let stack: Vec<String> = history
            .iter()
            .chain(std::iter::once(active))
            .filter_map(|m| {
                m.stored_at
                    .as_ref()?
                    .file_name()?
                    .to_str()
                    .map(String::from)
            })
            .collect();
        let json = serde_json::to_vec_pretty(&ActiveFile { stack }).unwrap_or_default();
        write_atomic(&dir.join("active.json"), &json)
    }

    pub fn history(&self) -> Vec<ModelInfo> {
        self.history.lock().iter().map(|m| m.info()).collect()
    }

    /// The active model or one kept for rollback, by manifest name (experiments pick models so).
    pub fn by_name(&self, name: &str) -> Option<Arc<LoadedModel>> {
        let active = self.active();
        if active.manifest.name == name {
            return Some(active);
        }
        self.history
            .lock()
            .iter()
            .rev()
            .find(|m| m.manifest.name == name)
            .cloned()
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
