//! Fixed-batch plans. tract runs a plan whose batch size is known up front several times faster
//! than the symbolic-batch plan (measured for the default MLP: 80 µs vs 307 µs for 1,000 rows),
//! because it can pick matmul kernels and tiling for the exact shape. So there is one plan per
//! batch-size bucket; a rank call pads its candidates up to the nearest bucket.
//!
//! The two kinds of plan agree only to the last bits of a float (different kernels sum in a
//! different order), so which one scores a call must not depend on timing: the same request
//! gives the same scores, bit for bit, whether it is the first after open or the thousandth (an
//! app's snapshot tests and a logged response replayed rely on that). A bucket's plan is built
//! once, by a background thread after the model becomes active or by the first call that needs
//! it before the thread got there (that call waits for one build, ~1.2 ms alone, 2–3 ms right
//! after open; the thread waits for it). A plan that fails to build or scores a probe batch
//! unlike the symbolic plan leaves its bucket on the symbolic plan for good. Only a call under
//! a deadline takes whatever is built now (its result depends on the clock anyway).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tract_core::prelude::*;

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

/// Rows of the probe batch each fixed plan must score like the symbolic plan.
const PROBE: usize = 64;

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

/// Scores `rows` rows of features with the symbolic plan (the reference a fixed plan must match).
pub type Reference = Box<dyn Fn(&[f32], usize) -> Option<Vec<f32>> + Send + Sync>;

pub struct BatchPlans {
    /// The decluttered model with a symbolic batch: a plan sets the symbol and optimizes
    /// (3 times faster than parsing the ONNX graph again, and the same kernels).
    typed: TypedModel,
    batch: Symbol,
    width: usize,
    reference: Reference,
    /// The probe's symbolic scores, computed with the first plan checked.
    expected: OnceLock<Option<Vec<f32>>>,
    /// One per bucket: empty until built, then the plan or `None` (the symbolic plan serves).
    slots: Vec<OnceLock<Option<Plan>>>,
    /// Calls building a plan they need now: the background thread waits for them, so that on a
    /// phone's few cores the call is not slowed by builds nobody is waiting for.
    callers: AtomicUsize,
    /// Set by the first background request: a model that becomes active again is not rebuilt.
    started: AtomicBool,
    done: AtomicBool,
}

impl BatchPlans {
    pub fn new(typed: TypedModel, batch: Symbol, width: usize, reference: Reference) -> Self {
        BatchPlans {
            typed,
            batch,
            width,
            reference,
            expected: OnceLock::new(),
            slots: BUCKETS.iter().map(|_| OnceLock::new()).collect(),
            callers: AtomicUsize::new(0),
            started: AtomicBool::new(false),
            done: AtomicBool::new(false),
        }
    }

    fn slot(&self, bucket: usize) -> Option<&OnceLock<Option<Plan>>> {
        let at = BUCKETS.iter().position(|&b| b == bucket)?;
        self.slots.get(at)
    }

    /// The plan for `bucket` if it is built already; never builds.
    pub fn built(&self, bucket: usize) -> Option<Plan> {
        self.slot(bucket)?.get()?.clone()
    }

    /// The plan for `bucket`, built now if nobody has yet (a build under way on another thread
    /// is waited for, not repeated); `None` when the bucket stays on the symbolic plan.
    pub fn get_or_build(&self, bucket: usize) -> Option<Plan> {
        let slot = self.slot(bucket)?;
        if let Some(plan) = slot.get() {
            return plan.clone();
        }
        self.callers.fetch_add(1, Ordering::AcqRel);
        let plan = slot.get_or_init(|| self.build_checked(bucket)).clone();
        self.callers.fetch_sub(1, Ordering::AcqRel);
        plan
    }

    /// The background thread's build of `bucket`, after any call building what it needs now.
    fn build_when_no_call_is(&self, bucket: usize) {
        let Some(slot) = self.slot(bucket) else {
            return;
        };
        let started = std::time::Instant::now();
        while self.callers.load(Ordering::Acquire) > 0 && started.elapsed().as_secs() < 1 {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        slot.get_or_init(|| self.build_checked(bucket));
    }

    /// A fixed plan for `bucket` that scores the probe like the symbolic plan (within 1e-4), or
    /// `None`. A model that validated cannot be made to panic by a fixed batch size, but a panic
    /// here must never escape: the plans only make ranking faster.
    fn build_checked(&self, bucket: usize) -> Option<Plan> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let plan = self.build(bucket).ok()?;
            self.accepts(&plan, bucket).then_some(plan)
        }))
        .ok()
        .flatten()
    }

    fn accepts(&self, plan: &Plan, bucket: usize) -> bool {
        let probe = probe_batch(PROBE, self.width);
        let expected = self
            .expected
            .get_or_init(|| (self.reference)(&probe, PROBE));
        let Some(want) = expected else { return false };
        let rows = bucket.min(PROBE);
        match run_padded(plan, &probe[..rows * self.width], rows, self.width, bucket) {
            Ok(got) => got
                .iter()
                .zip(want)
                .all(|(g, w)| (g - w).abs() <= 1e-4 * w.abs().max(1.0)),
            Err(_) => false,
        }
    }

    fn build(&self, rows: usize) -> TractResult<Plan> {
        let mut subs = std::collections::HashMap::new();
        subs.insert(self.batch.clone(), TDim::Val(rows as i64));
        self.typed
            .set_symbols(&subs)?
            .into_optimized()?
            .into_runnable()
    }

    /// Whether a background build was ever requested (only the active model's are).
    pub fn requested(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// Whether the background build has finished (every bucket built or given up).
    pub fn ready(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Build every bucket not built yet on a background thread.
    pub fn build_in_background(self: &Arc<Self>) {
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
                    me.build_when_no_call_is(bucket);
                }
                if let Some(me) = weak.upgrade() {
                    me.done.store(true, Ordering::Release);
                }
            });
        if spawned.is_err() {
            // No thread available: each bucket is built by the first call that needs it.
            self.done.store(true, Ordering::Release);
        }
    }
}

/// Probe rows: zeros, ones, then a spread of values in [-1, 3].
fn probe_batch(rows: usize, width: usize) -> Vec<f32> {
    let mut batch = vec![0.0f32; rows * width];
    for (i, v) in batch.iter_mut().enumerate().skip(width) {
        let r = i / width;
        *v = if r == 1 {
            1.0
        } else {
            ((i * 7919) % 97) as f32 / 24.0 - 1.0
        };
    }
    batch
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
