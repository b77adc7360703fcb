//! The sequence model (manifest format 2): a second ONNX graph that reads the shopper's most
//! recent purchases and returns a user vector. A candidate's `sequence_score` is that vector
//! · the candidate's row of the graph's own item table, so the table ships once, inside the
//! graph. The graph runs once per profile state (the result is cached), never per candidate.
//!
//! The shopper's sequence, as models/train builds it for training: the distinct purchased items
//! ordered by their latest purchase (ties by id), the last `max_len` of them, mapped through the
//! vocabulary (unknown ids to row 1) and left-padded with row 0.

use super::batch_plans::Plan;
use super::manifest::{sha256_hex, SequenceSpec};
use super::onnx::proto as pb;
use super::runtime::chain;
use crate::error::{Error, ModelProblem, Result};
use crate::features::sequence::{FIRST_ITEM, PADDING, UNKNOWN};
use crate::features::{ItemTable, SequenceInput};
use crate::profile::ProfileState;
use arc_swap::ArcSwapOption;
use std::sync::Arc;
use tract_core::prelude::*;

/// `vocab.txt` larger than this is refused before it is read.
pub const MAX_VOCABULARY_BYTES: u64 = 32 * 1024 * 1024;
/// Items a vocabulary may hold (the catalog's own limit is of the same order).
pub const MAX_VOCABULARY_ITEMS: usize = 1_000_000;
/// Widest user vector / item row.
pub const MAX_DIM: usize = 1024;

/// The sequence graph and vocabulary files, as read (bounded) beside a manifest.
#[derive(Debug, Clone)]
pub struct SequenceFiles {
    pub graph: Vec<u8>,
    pub vocabulary: Vec<u8>,
}

/// The user vector of one profile state (the state is kept so a new one is told apart).
struct CachedUser {
    profile: Arc<ProfileState>,
    user: Option<Arc<[f32]>>,
}

pub struct SequenceModel {
    max_len: usize,
    plan: Plan,
    table: Arc<ItemTable>,
    cache: ArcSwapOption<CachedUser>,
}

fn refused(problem: ModelProblem, msg: impl Into<String>) -> Error {
    Error::model(problem, format!("sequence model: {}", msg.into()))
}

/// One item id per line (a final newline is allowed); no empty line, no duplicate, ids within
/// the app's id limit.
fn parse_vocabulary(bytes: &[u8]) -> Result<Vec<Box<str>>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| refused(ModelProblem::InvalidManifest, "the vocabulary is not UTF-8"))?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return Err(refused(
            ModelProblem::InvalidManifest,
            "the vocabulary is empty; it lists the item ids the graph knows, one per line",
        ));
    }
    let mut seen = rustc_hash::FxHashSet::default();
    let mut ids = Vec::new();
    for (k, line) in text.split('\n').enumerate() {
        let bad = |what: &str| {
            refused(
                ModelProblem::InvalidManifest,
                format!("vocabulary line {}: {what}", k + 1),
            )
        };
        if line.trim().is_empty() || line.ends_with('\r') {
            return Err(bad(
                "empty, blank or ending in \\r; one item id per \\n-ended line",
            ));
        }
        if line.len() > crate::validate::MAX_ID_BYTES {
            return Err(bad("longer than an item id may be"));
        }
        if !seen.insert(line) {
            return Err(bad("repeats an item id"));
        }
        if ids.len() == MAX_VOCABULARY_ITEMS {
            return Err(bad(&format!("more than {MAX_VOCABULARY_ITEMS} items")));
        }
        ids.push(Box::from(line));
    }
    Ok(ids)
}

/// The item table initializer's values, row-major; refuses data stored outside the file and
/// non-finite values (a NaN row would poison every score of that item).
fn read_table(
    graph: &pb::GraphProto,
    spec: &SequenceSpec,
    rows: usize,
) -> Result<(usize, Vec<f32>)> {
    let shape_err = |msg: String| refused(ModelProblem::ShapeMismatch, msg);
    let t = graph
        .initializer
        .iter()
        .find(|t| t.name == spec.item_table)
        .ok_or_else(|| shape_err("the item table is missing".into()))?;
    let [r, d] = t.dims.as_slice() else {
        return Err(shape_err("the item table is not 2-D".into()));
    };
    if *r != rows as i64 {
        return Err(shape_err(format!(
            "the item table has {r} rows but the vocabulary needs {rows} ({} items + padding \
             and unknown rows)",
            rows as i64 - FIRST_ITEM as i64
        )));
    }
    if !(1..=MAX_DIM as i64).contains(d) {
        return Err(shape_err(format!(
            "the item table is {d} wide; 1..={MAX_DIM} is allowed"
        )));
    }
    let dim = *d as usize;
    if t.data_location == 1 {
        return Err(refused(
            ModelProblem::NotOnnx,
            "the item table is stored outside the graph file; save the model with its weights inside",
        ));
    }
    let values: Vec<f32> = if !t.raw_data.is_empty() {
        t.raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        t.float_data.clone()
    };
    if values.len() != rows * dim {
        return Err(shape_err(format!(
            "the item table holds {} values, not {rows} x {dim}",
            values.len()
        )));
    }
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err(refused(
            ModelProblem::NonFiniteOutput,
            format!("the item table has a non-finite value in row {}", k / dim),
        ));
    }
    Ok((dim, values))
}

impl SequenceModel {
    /// Check hashes, contract, vocabulary and table, and build the plan. Does not run it (see
    /// `probe`).
    pub fn load(spec: &SequenceSpec, files: &SequenceFiles) -> Result<SequenceModel> {
        for (what, bytes, want) in [
            ("graph", &files.graph, &spec.sha256),
            ("vocabulary", &files.vocabulary, &spec.vocabulary_sha256),
        ] {
            let actual = sha256_hex(bytes);
            if !actual.eq_ignore_ascii_case(want) {
                return Err(Error::model(
                    ModelProblem::HashMismatch,
                    format!(
                        "the sequence {what} hashes to {actual} but the manifest says {want}; \
                         re-export the manifest with the files it ships with"
                    ),
                ));
            }
        }
        let vocabulary = parse_vocabulary(&files.vocabulary)?;
        super::runtime::guarded(ModelProblem::NotOnnx, || {
            let proto = super::onnx::decode(&files.graph).map_err(|e| {
                refused(
                    ModelProblem::NotOnnx,
                    format!("the graph is not a readable ONNX file ({})", chain(&e)),
                )
            })?;
            super::runtime::check_produced(&proto)?;
            super::contract::check_sequence(&proto, spec)?;
            let graph = proto
                .graph
                .as_ref()
                .ok_or_else(|| refused(ModelProblem::NotOnnx, "no graph"))?;
            let (dim, values) = read_table(graph, spec, vocabulary.len() + FIRST_ITEM as usize)?;
            let len = spec.max_len as usize;
            let plan = (|| -> TractResult<Plan> {
                let mut importer = super::onnx::Importer::new(graph, super::onnx::opset(&proto))?;
                importer.input(&spec.input, i64::fact([1, len]))?;
                let typed = importer.finish(&[spec.output.as_str()])?.into_optimized()?;
                typed.into_runnable()
            })()
            .map_err(|e| {
                let msg = chain(&e);
                refused(
                    super::runtime::import_problem(&e, ModelProblem::ShapeMismatch),
                    format!(
                        "the graph cannot be built for an int64 [1, {len}] input: {}",
                        super::contract::short_long(&msg)
                    ),
                )
            })?;
            Ok(SequenceModel {
                max_len: len,
                plan,
                table: Arc::new(ItemTable::new(dim, values, vocabulary)),
                cache: ArcSwapOption::empty(),
            })
        })
    }

    pub fn dim(&self) -> usize {
        self.table.dim()
    }

    pub fn vocabulary_len(&self) -> usize {
        self.table.len()
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Run the graph on a few sequences that reach every row kind (padding only but one item,
    /// a full sequence, unknown items, the last vocabulary row) and demand a finite `[1, d]`
    /// vector each time. Returns the slowest run in milliseconds.
    pub fn probe(&self) -> Result<f64> {
        let last = self.table.len() as i64 + FIRST_ITEM as i64 - 1;
        let len = self.max_len;
        let mut one = vec![PADDING as i64; len];
        one[len - 1] = FIRST_ITEM as i64;
        let full: Vec<i64> = (0..len as i64)
            .map(|k| FIRST_ITEM as i64 + k % (last - FIRST_ITEM as i64 + 1))
            .collect();
        let mut unknown = vec![UNKNOWN as i64; len];
        unknown[0] = last;
        let mut slowest = 0.0f64;
        for probe in [one, full, unknown] {
            let started = std::time::Instant::now();
            let user = self.run(&probe)?;
            slowest = slowest.max(started.elapsed().as_secs_f64() * 1e3);
            if let Some(v) = user.iter().find(|v| !v.is_finite()) {
                return Err(refused(
                    ModelProblem::NonFiniteOutput,
                    format!("a probe sequence gave the user vector a value {v}"),
                ));
            }
        }
        Ok(slowest)
    }

    /// The user vector for `rows` (table rows, `max_len` of them, left-padded).
    pub fn run(&self, rows: &[i64]) -> Result<Vec<f32>> {
        let input = Tensor::from_shape(&[1, self.max_len], rows)
            .map_err(|e| refused(ModelProblem::ShapeMismatch, chain(&e)))?;
        let outputs = super::runtime::guarded(ModelProblem::RuntimeError, || {
            self.plan
                .run(tvec!(input.into_tvalue()))
                .map_err(|e| refused(ModelProblem::RuntimeError, chain(&e)))
        })?;
        let out = outputs
            .first()
            .ok_or_else(|| refused(ModelProblem::ShapeMismatch, "no output"))?;
        let values = out
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>().map(|s| s.to_vec()))
            .map_err(|e| {
                refused(
                    ModelProblem::ShapeMismatch,
                    format!("the output is not float32 ({})", chain(&e)),
                )
            })?;
        if values.len() != self.dim() {
            return Err(refused(
                ModelProblem::ShapeMismatch,
                format!(
                    "the output has {} values; it must be [1, {}] like the item table's rows",
                    values.len(),
                    self.dim()
                ),
            ));
        }
        Ok(values)
    }

    /// The shopper's sequence as table rows: see the module comment.
    pub fn rows_of(&self, profile: &ProfileState) -> Vec<i64> {
        let mut bought: Vec<(i64, &str)> = profile
            .items
            .iter()
            .filter(|(_, s)| s.purchases > 0)
            .map(|(id, s)| (s.last_purchase, id.as_ref()))
            .collect();
        bought.sort_unstable();
        let recent = &bought[bought.len().saturating_sub(self.max_len)..];
        let mut rows = vec![PADDING as i64; self.max_len - recent.len()];
        rows.extend(recent.iter().map(|(_, id)| self.table.row_of(id) as i64));
        rows
    }

    /// What `sequence_score` reads for this profile: `None` without purchases or when the graph
    /// fails (the feature is then 0, as for a shopper without history). Cached per profile state.
    pub fn input_for(&self, profile: &Arc<ProfileState>) -> Option<SequenceInput> {
        if let Some(c) = self.cache.load().as_ref() {
            if Arc::ptr_eq(&c.profile, profile) {
                return c.user.clone().map(|user| SequenceInput {
                    user,
                    table: self.table.clone(),
                });
            }
        }
        let rows = self.rows_of(profile);
        let user: Option<Arc<[f32]>> = if rows.iter().all(|&r| r == PADDING as i64) {
            None
        } else {
            self.run(&rows)
                .ok()
                .filter(|u| u.iter().all(|v| v.is_finite()))
                .map(Arc::from)
        };
        self.cache.store(Some(Arc::new(CachedUser {
            profile: profile.clone(),
            user: user.clone(),
        })));
        user.map(|user| SequenceInput {
            user,
            table: self.table.clone(),
        })
    }

    /// Drop the cached user vector (erase: nothing about the shopper stays in memory).
    pub fn forget(&self) {
        self.cache.store(None);
    }
}
