//! Fixed-batch plans. tract runs a plan whose batch size is known up front several times faster
//! than the symbolic-batch plan (measured for the default MLP: 80 µs vs 307 µs for 1,000 rows),
//! because it can pick matmul kernels and tiling for the exact shape. So after a model is
//! validated, a background thread builds one plan per batch-size bucket; a rank call pads its
//! candidates up to the nearest ready bucket and otherwise uses the symbolic plan. Rank never
//! waits for a build, and a bucket plan is used only after it scored a probe batch like the
//! symbolic plan did.

use crate::error::Result;
use arc_swap::ArcSwap;
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;

pub type Plan = Arc<TypedSimplePlan>;

/// Batch sizes with plans: powers of two and the halfway points between them, so padding adds
/// at most a third (plus a few rows below 16). Each plan costs memory and build time, so no more.
pub const BUCKETS: &[usize] = &[
    16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
];

/// Larger batches run as chunks of this many rows (the largest bucket): per row, a 2,048-row run
/// is as fast as a bigger one (its activations still fit in L2), and padding 10,000 rows up to
/// the next power of two would waste 64% of the work.
pub const CHUNK: usize = 2048;

/// The smallest bucket that holds `rows`.
pub fn bucket_for(rows: usize) -> Option<usize> {
    BUCKETS.iter().copied().find(|&b| b >= rows)
}

/// How `rows` rows are run on fixed plans: `(rows in this run, bucket)` per run, in order.
pub fn runs_for(rows: usize) -> Vec<(usize, usize)> {
    let mut runs = vec![(CHUNK, CHUNK); rows / CHUNK];
    let rest = rows % CHUNK;
    if let Some(bucket) = bucket_for(rest).filter(|_| rest > 0) {
        runs.push((rest, bucket));
    }
    runs
}

#[derive(Default)]
pub struct BatchPlans {
    plans: ArcSwap<FxHashMap<usize, Plan>>,
    done: AtomicBool,
    /// Set by the first build request: a model that becomes active again is not rebuilt.
    started: AtomicBool,
}

impl BatchPlans {
    /// The plan for `bucket`, if it is built.
    pub fn get(&self, bucket: usize) -> Option<Plan> {
        self.plans.load().get(&bucket).cloned()
    }

    /// Whether a build was ever requested (only the active model's are).
    pub fn requested(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// Whether the background build has finished (every bucket built or given up).
    pub fn ready(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Build every bucket on a background thread. `check(plan, rows)` must accept a plan before
    /// it is used.
    pub fn build_in_background(
        self: &Arc<Self>,
        proto: Arc<ModelProto>,
        width: usize,
        output: String,
        check: impl Fn(&Plan, usize) -> bool + Send + 'static,
    ) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        // The thread holds only a weak reference: when the model is replaced and dropped before
        // its plans are built, the remaining builds are skipped.
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("tailor-batch-plans".into())
            .spawn(move || {
                for &bucket in BUCKETS {
                    let Some(me) = weak.upgrade() else { return };
                    // A model that validated cannot be made to panic by a fixed batch size, but a
                    // panic here must never escape the thread's job of making ranking faster.
                    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        build(&proto, width, &output, bucket)
                            .ok()
                            .filter(|p| check(p, bucket))
                    }));
                    if let Ok(Some(plan)) = built {
                        let mut next = (**me.plans.load()).clone();
                        next.insert(bucket, plan);
                        me.plans.store(Arc::new(next));
                    }
                }
                if let Some(me) = weak.upgrade() {
                    me.done.store(true, Ordering::Release);
                }
            });
        if spawned.is_err() {
            // No thread available: ranking keeps using the symbolic plan.
            self.done.store(true, Ordering::Release);
        }
    }
}

fn build(proto: &ModelProto, width: usize, output: &str, rows: usize) -> Result<Plan> {
    let plan = (|| -> TractResult<Plan> {
        let model = tract_onnx::onnx().model_for_proto_model(proto)?;
        let mut model = model.with_input_fact(0, f32::fact([rows, width]).into())?;
        model.select_outputs_by_name([output])?;
        model.into_optimized()?.into_runnable()
    })()
    .map_err(|e| crate::error::Error::invalid(e.to_string()))?;
    Ok(plan)
}

/// Run a fixed plan of `bucket` rows on `rows` rows of features, padding with zeros.
pub fn run_padded(
    plan: &Plan,
    features: &[f32],
    rows: usize,
    width: usize,
    bucket: usize,
) -> TractResult<Vec<f32>> {
    let input = if rows == bucket {
        Tensor::from_shape(&[bucket, width], &features[..rows * width])?
    } else {
        let mut input = Tensor::zero::<f32>(&[bucket, width])?;
        input.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?[..rows * width]
            .copy_from_slice(&features[..rows * width]);
        input
    };
    let out = plan.run(tvec!(input.into_tvalue()))?;
    let first = out
        .first()
        .ok_or_else(|| TractError::msg("the model produced no output"))?;
    let view = first.try_as_plain_ram()?;
    let scores = view.as_slice::<f32>()?;
    if scores.len() != bucket {
        return Err(TractError::msg(format!(
            "output has {} values for {bucket} rows",
            scores.len()
        )));
    }
    Ok(scores[..rows].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_every_row_once_with_little_padding() {
        for rows in [1, 15, 16, 17, 100, 1000, 2048, 2049, 10_000, 100_000] {
            let runs = runs_for(rows);
            assert_eq!(runs.iter().map(|r| r.0).sum::<usize>(), rows, "{rows}");
            assert!(runs.iter().all(|&(n, b)| n <= b && BUCKETS.contains(&b)));
            let padded: usize = runs.iter().map(|r| r.1).sum();
            assert!(
                padded <= rows + rows / 3 + 16,
                "{rows} rows padded to {padded}"
            );
        }
        assert_eq!(runs_for(10_000).len(), 5);
        assert!(runs_for(0).is_empty());
    }
}
