//! What a model may cost. A graph that passes every shape check can still allocate gigabytes
//! (`ConstantOfShape [N, 1e8]`) or take seconds per rank (a chain of wide MatMuls), and the
//! first shopper to notice would be the app's users. So before a model is accepted, its tensor
//! memory and multiply-adds are counted from the graph at the largest batch rank runs (2,048
//! rows; larger requests run in chunks of that), without running it; then a 1,024-row probe
//! batch is run and timed. Each figure is compared with a [`ModelBudget`].

use crate::error::{Error, ModelProblem, Result};
use tract_core::prelude::*;

/// Rows at which memory and multiply-adds are counted: the largest fixed-batch plan, so the
/// figures are what rank pays.
pub const COUNT_ROWS: usize = super::batch_plans::CHUNK;
/// Rows in the probe batch that is run and timed: enough for a fine sweep of every range.
pub const PROBE_ROWS: usize = 1024;

/// Per-model limits, from `TailorConfig` (defaults in README "Bring your own model").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelBudget {
    /// Scoring time per 1,000 candidates, measured on the probe batch (best of two runs).
    pub max_ms_per_1000: f64,
    /// Peak tensor memory per 1,000 candidates, counted from the graph's shapes in run order.
    pub max_mb_per_1000: f64,
    /// Multiply-adds per candidate, counted from the graph's operators.
    pub max_fma_per_row: f64,
}

use crate::defaults::{MODEL_FMA_PER_ROW, MODEL_MB_PER_1000, MODEL_MS_PER_1000};

impl ModelBudget {
    /// The budget `config` describes.
    pub fn from_config(config: &crate::types::TailorConfig) -> ModelBudget {
        ModelBudget {
            max_ms_per_1000: config.model_max_ms_per_1000 as f64,
            max_mb_per_1000: config.model_max_mb_per_1000 as f64,
            max_fma_per_row: config.model_max_fma_per_row as f64,
        }
    }
}

impl Default for ModelBudget {
    fn default() -> Self {
        ModelBudget {
            max_ms_per_1000: MODEL_MS_PER_1000 as f64,
            max_mb_per_1000: MODEL_MB_PER_1000 as f64,
            max_fma_per_row: MODEL_FMA_PER_ROW as f64,
        }
    }
}

/// What a model costs, as validate-model prints it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ModelCost {
    pub fma_per_row: f64,
    pub mb_per_1000: f64,
    pub ms_per_1000: f64,
    /// One run of the sequence graph (the slowest probe run), 0 without one. It runs once per
    /// rank call, not per candidate.
    pub sequence_ms: f64,
}

impl ModelBudget {
    /// Debug builds run tract unoptimized, 50-1000x slower depending on the graph: there a
    /// measured time says nothing about the device, so only optimized builds check it (the
    /// counted figures are checked in every build).
    fn time_limit(&self) -> f64 {
        if cfg!(debug_assertions) {
            f64::INFINITY
        } else {
            self.max_ms_per_1000
        }
    }

    /// Refuse a graph whose counted memory or multiply-adds are over the budget.
    pub fn check_counted(&self, cost: &ModelCost) -> Result<()> {
        if cost.mb_per_1000 > self.max_mb_per_1000 {
            return Err(over(format!(
                "scoring needs about {:.0} MB of tensors per 1,000 candidates; the budget is {:.0} MB",
                cost.mb_per_1000, self.max_mb_per_1000
            )));
        }
        if cost.fma_per_row > self.max_fma_per_row {
            return Err(over(format!(
                "scoring costs {:.0} multiply-adds per candidate; the budget is {:.0}",
                cost.fma_per_row, self.max_fma_per_row
            )));
        }
        Ok(())
    }

    /// Refuse a model whose measured probe time is over the budget.
    pub fn check_time(&self, ms_per_1000: f64) -> Result<()> {
        if ms_per_1000 > self.time_limit() {
            return Err(over(format!(
                "scoring took {ms_per_1000:.1} ms per 1,000 candidates; the budget is {:.1} ms",
                self.time_limit()
            )));
        }
        Ok(())
    }
}

impl ModelBudget {
    /// Refuse a sequence graph whose one run takes longer than scoring 1,000 candidates may
    /// (it is paid once per rank call, so the same figure bounds it).
    pub fn check_sequence_time(&self, ms: f64) -> Result<()> {
        if ms > self.time_limit() {
            return Err(over(format!(
                "the sequence graph took {ms:.1} ms per run; the budget is {:.1} ms \
                 (model_max_ms_per_1000)",
                self.time_limit()
            )));
        }
        Ok(())
    }
}

fn over(msg: String) -> Error {
    Error::model(ModelProblem::OverBudget, msg)
}

/// Count tensor memory and multiply-adds of `model` with its batch symbol set to
/// [`COUNT_ROWS`]. A tensor whose size depends on feature values cannot be bounded: refused.
pub fn count(model: &TypedModel, batch: &Symbol) -> Result<ModelCost> {
    let values = SymbolValues::default().with(batch, COUNT_ROWS as i64);
    let order = model
        .eval_order()
        .map_err(|e| Error::model(ModelProblem::NotOnnx, e.to_string()))?;
    // Peak memory: walk the nodes in run order, adding each output when it is made and freeing
    // it after its last reader (constants and graph outputs stay), as tract's plan does.
    let mut last_read: std::collections::HashMap<OutletId, usize> = Default::default();
    for (pos, &n) in order.iter().enumerate() {
        for input in &model.node(n).inputs {
            last_read.insert(*input, pos);
        }
    }
    for o in model.output_outlets().unwrap_or(&[]) {
        last_read.insert(*o, usize::MAX);
    }
    let mut sizes: std::collections::HashMap<OutletId, f64> = Default::default();
    let (mut live, mut peak, mut fma) = (0f64, 0f64, 0f64);
    for (pos, &n) in order.iter().enumerate() {
        let node = model.node(n);
        for (slot, out) in node.outputs.iter().enumerate() {
            let volume: f64 = out
                .fact
                .shape
                .iter()
                .map(|d| d.eval_to_i64(&values).map(|v| v.max(0) as f64))
                .product::<TractResult<f64>>()
                .map_err(|_| {
                    over(format!(
                        "{} (node {:?}, output {slot}) has a size that depends on the feature \
                         values; Tailor cannot bound its memory",
                        node.op.name(),
                        super::contract::short(&node.name)
                    ))
                })?;
            let bytes = volume * out.fact.datum_type.size_of() as f64;
            live += bytes;
            if node.op_is::<tract_core::ops::konst::Const>() {
                continue; // weights stay for the plan's life
            }
            sizes.insert(OutletId::new(n, slot), bytes);
        }
        peak = peak.max(live);
        for input in &node.inputs {
            if last_read.get(input) == Some(&pos) {
                live -= sizes.remove(input).unwrap_or(0.0);
            }
        }
        let inputs: Vec<&TypedFact> = node
            .inputs
            .iter()
            .map(|o| model.outlet_fact(*o))
            .collect::<TractResult<_>>()
            .map_err(|e| Error::model(ModelProblem::NotOnnx, e.to_string()))?;
        // An op that cannot say its cost is counted as free: memory and time still bound it.
        for (cost, n) in node.op.cost(&inputs).unwrap_or_default() {
            if cost.is_compute() {
                fma += n
                    .eval_to_i64(&values)
                    .map(|v| v as f64)
                    .unwrap_or(f64::INFINITY);
            }
        }
    }
    let bytes = peak;
    let per_1000 = 1000.0 / COUNT_ROWS as f64;
    Ok(ModelCost {
        fma_per_row: fma / COUNT_ROWS as f64,
        mb_per_1000: bytes * per_1000 / (1024.0 * 1024.0),
        ms_per_1000: 0.0,
        sequence_ms: 0.0,
    })
}

/// The probe batch: `PROBE_ROWS` rows where column `c` sweeps its range `[lo, hi]` in
/// `PROBE_ROWS` even steps, each column in a different order (row `r` takes step
/// `r * (2c + 1) mod PROBE_ROWS`; an odd multiplier visits every step once), so one batch
/// covers every feature's whole range finely and mixes the columns. Without a recorded range a
/// column sweeps [`WIDE_GRID`].
pub fn probe_batch(ranges: &[(f32, f32)]) -> Vec<f32> {
    let width = ranges.len();
    let mut batch = vec![0f32; PROBE_ROWS * width];
    let last = (PROBE_ROWS - 1) as f32;
    for r in 0..PROBE_ROWS {
        for (c, &(lo, hi)) in ranges.iter().enumerate() {
            let step = (r * (2 * c + 1)) % PROBE_ROWS;
            batch[r * width + c] = lo + (hi - lo) * step as f32 / last;
        }
    }
    batch
}

/// The range probed for a feature without a recorded one: wider than any registry feature
/// takes on real data except `item_popularity` and `price_log` of extreme items.
pub const WIDE_GRID: (f32, f32) = (-10.0, 10.0);
