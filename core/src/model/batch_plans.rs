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

/// Batch sizes with plans: powers of two. Padding up to the next one at most doubles the work,
/// which still beats the symbolic plan (about 4x slower); each plan costs memory, so no more.
pub const BUCKETS: &[usize] = &[64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

/// The smallest bucket that holds `rows`.
pub fn bucket_for(rows: usize) -> Option<usize> {
    BUCKETS.iter().copied().find(|&b| b >= rows)
}

#[derive(Default)]
pub struct BatchPlans {
    plans: ArcSwap<FxHashMap<usize, Plan>>,
    done: AtomicBool,
}

impl BatchPlans {
    /// The plan for `bucket`, if it is built.
    pub fn get(&self, bucket: usize) -> Option<Plan> {
        self.plans.load().get(&bucket).cloned()
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
    let mut input = Tensor::zero::<f32>(&[bucket, width])?;
    input.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?[..rows * width]
        .copy_from_slice(&features[..rows * width]);
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
