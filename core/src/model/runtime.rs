//! Running a validated ONNX model with tract: one optimized plan with a symbolic batch dimension,
//! built once and reused by every rank call.

use super::batch_plans::{run_padded, runs_for, BatchPlans, Reference, BUCKETS};
use super::budget::{self, ModelBudget, ModelCost, PROBE_ROWS};
use super::manifest::Manifest;
use super::onnx::proto::ModelProto;
use crate::error::{Error, ModelProblem, Result};
use tract_core::prelude::*;

use super::batch_plans::Plan;

pub struct Runtime {
    /// The symbolic-batch plan: serves any batch size, and validation runs on it.
    plan: Plan,
    width: usize,
    /// The fixed-batch plans, built from the parsed model.
    batches: Arc<BatchPlans>,
    /// Counted memory and multiply-adds (time is measured by `probe`).
    counted: ModelCost,
    /// The range each column is probed over (manifest `ranges`, else the wide grid).
    ranges: Vec<(f32, f32)>,
}

fn rejected(problem: ModelProblem, msg: impl Into<String>) -> Error {
    Error::model(problem, msg)
}

pub(super) fn chain(e: &TractError) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// Run tract code that may panic on a malformed graph (e.g. an output no node produces, found by
/// tests/it/hostile/): a model file must never take the app down, so a panic becomes a typed
/// rejection instead.
pub(super) fn guarded<T>(problem: ModelProblem, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        // Allocation failures surface as "capacity overflow" panics: a budget problem, not a
        // malformed file.
        if msg.contains("capacity overflow") || msg.contains("alloc") {
            return Err(rejected(
                ModelProblem::OverBudget,
                format!("the ONNX runtime ran out of memory on this graph ({msg})"),
            ));
        }
        let what = if problem == ModelProblem::NotOnnx {
            "; the model file is malformed"
        } else {
            ""
        };
        Err(rejected(
            problem,
            format!("the ONNX runtime failed on this graph ({msg}){what}"),
        ))
    })
}

/// A graph output that no node produces breaks ONNX's own rules: refused as `NotOnnx` before the
/// contract's output checks, which would otherwise report it as a shape problem.
pub(super) fn check_produced(proto: &ModelProto) -> Result<()> {
    let Some(graph) = &proto.graph else {
        return Err(rejected(
            ModelProblem::NotOnnx,
            "the ONNX file has no graph",
        ));
    };
    let produced: std::collections::HashSet<&str> = graph
        .node
        .iter()
        .flat_map(|n| &n.output)
        .chain(graph.input.iter().map(|i| &i.name))
        .chain(graph.initializer.iter().map(|t| &t.name))
        .map(String::as_str)
        .collect();
    if let Some(o) = graph
        .output
        .iter()
        .find(|o| !produced.contains(o.name.as_str()))
    {
        return Err(rejected(
            ModelProblem::NotOnnx,
            format!(
                "graph output {:?} is not produced by any node",
                super::contract::short(&o.name)
            ),
        ));
    }
    Ok(())
}

impl Runtime {
    /// Parse, check, count and optimize a model for `manifest`; refuses a graph whose counted
    /// cost is over `budget`. Does not run it (see `probe`).
    pub fn load(bytes: &[u8], manifest: &Manifest, budget: &ModelBudget) -> Result<Runtime> {
        guarded(ModelProblem::NotOnnx, || {
            Self::load_unguarded(bytes, manifest, budget)
        })
    }

    fn load_unguarded(bytes: &[u8], manifest: &Manifest, budget: &ModelBudget) -> Result<Runtime> {
        let width = manifest.features.len();
        let proto = super::onnx::decode(bytes).map_err(|e| {
            rejected(
                ModelProblem::NotOnnx,
                format!(
                    "model.onnx is not a readable ONNX file ({}); was it truncated?",
                    chain(&e)
                ),
            )
        })?;
        check_produced(&proto)?;
        super::contract::check(&proto, manifest)?;
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| rejected(ModelProblem::NotOnnx, "the ONNX file has no graph"))?;
        let mut importer =
            super::onnx::Importer::new(graph, super::onnx::opset(&proto)).map_err(|e| {
                let msg = chain(&e);
                rejected(
                    import_problem(&e, ModelProblem::NotOnnx),
                    format!(
                        "model.onnx holds a tensor Tailor cannot read: {}",
                        tidy(&msg)
                    ),
                )
            })?;
        let batch = importer.sym("N");
        let typed = (|| -> TractResult<TypedModel> {
            let fact = f32::fact([batch.to_dim(), width.to_dim()]);
            importer.input(&manifest.inputs.features, fact)?;
            importer
                .finish(&[manifest.output.as_str()])?
                .into_decluttered()
        })()
        .map_err(|e| {
            let msg = chain(&e);
            rejected(
                import_problem(&e, ModelProblem::ShapeMismatch),
                format!("the graph does not accept a float32 [N, {width}] feature matrix ({width} = manifest features): {}", tidy(&msg)),
            )
        })?;
        // Counted before optimizing: an over-budget graph is refused before any plan exists.
        let counted = budget::count(&typed, &batch)?;
        budget.check_counted(&counted)?;
        let symbolic_typed = typed.clone();
        let optimized = typed
            .into_optimized()
            .map_err(|e| rejected(ModelProblem::UnsupportedOperator, tidy(&chain(&e))))?;
        let out_fact = optimized
            .output_fact(0)
            .map_err(|e| rejected(ModelProblem::ShapeMismatch, tidy(&chain(&e))))?
            .clone();
        if out_fact.datum_type != f32::datum_type() {
            return Err(rejected(
                ModelProblem::ShapeMismatch,
                format!(
                    "output {:?} is {:?}; it must be float32 scores",
                    super::contract::short(&manifest.output),
                    out_fact.datum_type
                ),
            ));
        }
        let plan = optimized
            .into_runnable()
            .map_err(|e| rejected(ModelProblem::UnsupportedOperator, tidy(&chain(&e))))?;
        let symbolic = plan.clone();
        let reference: Reference =
            Box::new(move |probe, rows| run_symbolic(&symbolic, width, probe, rows).ok());
        Ok(Runtime {
            plan,
            width,
            batches: Arc::new(BatchPlans::new(symbolic_typed, batch, width, reference)),
            counted,
            ranges: manifest.probe_ranges(),
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Score `rows` candidates from a row-major `[rows, width]` matrix on the fixed plans,
    /// building a missing one now: the scores never depend on how far the background build got.
    pub fn score(&self, features: &[f32], rows: usize) -> Result<Vec<f32>> {
        self.score_on(features, rows, |b| self.batches.get_or_build(b))
    }

    /// [`score`](Self::score) on the plans built so far, else the symbolic plan, for a call
    /// under a deadline (a build would spend its time; its result depends on the clock anyway).
    pub fn score_without_building(&self, features: &[f32], rows: usize) -> Result<Vec<f32>> {
        self.score_on(features, rows, |b| self.batches.built(b))
    }

    fn score_on(
        &self,
        features: &[f32],
        rows: usize,
        plan_for: impl Fn(usize) -> Option<Plan>,
    ) -> Result<Vec<f32>> {
        if rows == 0 {
            return Ok(Vec::new());
        }
        if features.len() != rows * self.width {
            return Err(Error::invalid(format!(
                "feature matrix has {} values, expected {rows} x {}",
                features.len(),
                self.width
            )));
        }
        // Fixed plans for every run, or the symbolic plan for all of it.
        let runs = runs_for(rows);
        let plans: Option<Vec<Plan>> = runs.iter().map(|&(_, b)| plan_for(b)).collect();
        if let Some(plans) = plans {
            return guarded(ModelProblem::RuntimeError, || {
                let mut scores = Vec::with_capacity(rows);
                for (&(n, bucket), plan) in runs.iter().zip(&plans) {
                    let start = scores.len() * self.width;
                    let chunk = &features[start..start + n * self.width];
                    let got = run_padded(plan, chunk, n, self.width, bucket).map_err(|e| {
                        rejected(
                            ModelProblem::RuntimeError,
                            format!("model run failed: {}", chain(&e)),
                        )
                    })?;
                    scores.extend(got);
                }
                Ok(scores)
            });
        }
        self.score_symbolic(features, rows)
    }

    /// Score with the symbolic-batch plan (any number of rows).
    pub fn score_symbolic(&self, features: &[f32], rows: usize) -> Result<Vec<f32>> {
        run_symbolic(&self.plan, self.width, features, rows)
    }

    /// Start building the fixed-batch plans in the background (see `batch_plans`).
    pub fn prepare_batch_plans(&self) {
        self.batches.build_in_background();
    }

    /// Whether the background build of the fixed-batch plans has finished.
    pub fn batch_plans_ready(&self) -> bool {
        self.batches.ready()
    }

    /// Whether fixed-batch plans were requested for this model (open requests them for the
    /// active model only).
    pub fn batch_plans_requested(&self) -> bool {
        self.batches.requested()
    }

    /// The batch sizes that have a fixed plan.
    pub fn batch_plan_sizes(&self) -> Vec<usize> {
        BUCKETS
            .iter()
            .copied()
            .filter(|&b| self.batches.built(b).is_some())
            .collect()
    }

    /// Score the probe batch (every feature swept over its range, see `budget::probe_batch`)
    /// and a few odd sizes; demand finite scores and a measured time within `budget`.
    pub fn probe(&self, budget: &ModelBudget) -> Result<ModelCost> {
        let batch = budget::probe_batch(&self.ranges);
        let mut best = f64::INFINITY;
        let mut scores = Vec::new();
        // Best of two runs in optimized builds (the first pays one-off allocations); one run in
        // debug builds, where the time is not checked.
        let runs = if cfg!(debug_assertions) { 1 } else { 2 };
        for _ in 0..runs {
            let started = std::time::Instant::now();
            scores = self.score_symbolic(&batch, PROBE_ROWS)?;
            best = best.min(started.elapsed().as_secs_f64());
        }
        let ms_per_1000 = best * 1e3 * 1000.0 / PROBE_ROWS as f64;
        if let Some((row, s)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
            let at: Vec<String> = self
                .feature_row(&batch, row)
                .iter()
                .map(|v| format!("{v}"))
                .collect();
            return Err(rejected(
                ModelProblem::NonFiniteOutput,
                format!(
                    "probe row {row} scored {s} (features [{}]); the model must return finite \
                     scores for every input in the features' ranges",
                    super::contract::short(&at.join(", "))
                ),
            ));
        }
        budget.check_time(ms_per_1000)?;
        // Odd sizes: a graph that only works for one batch size is caught here, not by a
        // shopper's first rank call.
        for rows in [1, 5] {
            let got = self.score_symbolic(&batch[..rows * self.width], rows)?;
            if let Some(s) = got.iter().find(|s| !s.is_finite()) {
                return Err(rejected(
                    ModelProblem::NonFiniteOutput,
                    format!("a {rows}-row probe scored {s}"),
                ));
            }
        }
        Ok(ModelCost {
            ms_per_1000,
            ..self.counted
        })
    }

    fn feature_row<'a>(&self, batch: &'a [f32], row: usize) -> &'a [f32] {
        &batch[row * self.width..(row + 1) * self.width]
    }
}

/// What an import error says went wrong: the importer's own refusals, else as `tract_problem`.
pub(super) fn import_problem(e: &TractError, otherwise: ModelProblem) -> ModelProblem {
    match super::onnx::refusal(e) {
        Some(super::onnx::Refusal::Malformed(_)) => ModelProblem::NotOnnx,
        Some(super::onnx::Refusal::TooLarge(_)) => ModelProblem::OverBudget,
        None => tract_problem(&chain(e), otherwise),
    }
}

/// What tract's message says went wrong: an operator it cannot run, else `otherwise`.
pub(super) fn tract_problem(msg: &str, otherwise: ModelProblem) -> ModelProblem {
    if msg.contains("nimplemented") || msg.contains("not supported") {
        ModelProblem::UnsupportedOperator
    } else {
        otherwise
    }
}

/// tract's messages name its internal types; Tailor's users know ONNX, not tract.
fn tidy(msg: &str) -> String {
    super::contract::short_long(
        &msg.replace("TDim", "dimension")
            .replace("Symbol", "symbolic dimension"),
    )
}

/// Score with a symbolic-batch plan (any number of rows).
fn run_symbolic(plan: &Plan, width: usize, features: &[f32], rows: usize) -> Result<Vec<f32>> {
    let input = Tensor::from_shape(&[rows, width], features)
        .map_err(|e| rejected(ModelProblem::ShapeMismatch, chain(&e)))?;
    let outputs = guarded(ModelProblem::RuntimeError, || {
        plan.run(tvec!(input.into_tvalue())).map_err(|e| {
            rejected(
                ModelProblem::RuntimeError,
                format!("model run failed: {}", chain(&e)),
            )
        })
    })?;
    let out = outputs
        .first()
        .ok_or_else(|| rejected(ModelProblem::ShapeMismatch, "model produced no output"))?;
    let view = out
        .try_as_plain_ram()
        .map_err(|e| rejected(ModelProblem::ShapeMismatch, chain(&e)))?;
    let scores = view
        .as_slice::<f32>()
        .map_err(|e| rejected(ModelProblem::ShapeMismatch, chain(&e)))?;
    if scores.len() != rows {
        return Err(rejected(
            ModelProblem::ShapeMismatch,
            format!(
                "model returned {} scores for {rows} candidates; the output must be [N] or [N, 1]",
                scores.len()
            ),
        ));
    }
    Ok(scores.to_vec())
}
