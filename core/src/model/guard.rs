//! The model guard: what the active model does on this device, judged against thresholds.
//!
//! A model can pass every load check (the probe sweeps the features' recorded ranges) and still
//! misbehave on real profiles: NaN for feature values the probe never tried, runtime errors,
//! slowness on this phone, or scores that drift far from what it produced in training. Each
//! loaded model carries a [`GuardStats`]; every rank call it scores adds one observation, and
//! once `min_ranks` calls are counted, [`GuardStats::judge`] says which threshold (if any)
//! tripped. The registry then rolls back and quarantines the model (`registry.rs`).
//!
//! Counts are halved when they reach `HALVE_AT` × `min_ranks`, so a model that degrades after
//! thousands of good calls is judged on its recent behaviour, not diluted by its past.

use super::manifest::ScoreReference;
use crate::metrics::LatencyHistogram;
use crate::types::ModelGuardStats;
use parking_lot::Mutex;

use crate::defaults::{
    GUARD_DRIFT_PSI, GUARD_FALLBACK_SHARE, GUARD_MIN_RANKS, GUARD_NON_FINITE_SHARE, GUARD_P95_MS,
};
/// Counts are halved at this multiple of `min_ranks`.
const HALVE_AT: u64 = 10;
/// The drift check waits for this many scores as well, so a few tiny pages are not judged.
const MIN_DRIFT_SCORES: u64 = 200;

/// When the guard rolls a model back. Built from `TailorConfig` (`guard_thresholds`).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub min_ranks: u64,
    pub max_fallback_share: f64,
    pub max_non_finite_share: f64,
    pub max_p95_micros: u64,
    pub max_drift_psi: f64,
}

impl Thresholds {
    /// The thresholds `config` describes (`None` when the guard is off).
    pub fn from_config(config: &crate::types::TailorConfig) -> Option<Thresholds> {
        config.model_guard.then(|| Thresholds {
            min_ranks: config.guard_min_ranks as u64,
            max_fallback_share: config.guard_max_fallback_share,
            max_non_finite_share: config.guard_max_non_finite_share,
            max_p95_micros: config.guard_max_p95_ms as u64 * 1000,
            max_drift_psi: config.guard_max_drift_psi,
        })
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_ranks: GUARD_MIN_RANKS as u64,
            max_fallback_share: GUARD_FALLBACK_SHARE,
            max_non_finite_share: GUARD_NON_FINITE_SHARE,
            max_p95_micros: GUARD_P95_MS as u64 * 1000,
            max_drift_psi: GUARD_DRIFT_PSI,
        }
    }
}

impl Thresholds {
    /// Refuse settings that would make the guard meaningless or trip on everything.
    pub fn validate(&self) -> crate::error::Result<()> {
        let share = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        if !(1..=1_000_000).contains(&self.min_ranks) {
            return Err(crate::error::Error::invalid(
                "guard_min_ranks must be between 1 and 1000000",
            ));
        }
        if !share(self.max_fallback_share) || !share(self.max_non_finite_share) {
            return Err(crate::error::Error::invalid(
                "guard_max_fallback_share and guard_max_non_finite_share must be between 0 and 1",
            ));
        }
        if self.max_p95_micros == 0 {
            return Err(crate::error::Error::invalid(
                "guard_max_p95_ms must be at least 1",
            ));
        }
        if !(self.max_drift_psi.is_finite() && self.max_drift_psi > 0.0) {
            return Err(crate::error::Error::invalid(
                "guard_max_drift_psi must be a positive number",
            ));
        }
        Ok(())
    }
}

/// A call's latency per 1,000 candidates scored, a call with fewer counting whole: the unit of
/// `guard_max_p95_ms`, as of the load budget. Ranking a 50,000-item catalog whole may take 250 ms
/// on a good model; that is the catalog's size, not the model going bad.
pub fn latency_per_1000(micros: u64, scored: usize) -> u64 {
    micros.saturating_mul(1000) / scored.max(1000) as u64
}

/// What one rank call on a model produced, for the guard.
pub struct Observation<'a> {
    /// The call fell back because the model failed (error or unusable scores).
    pub failed: bool,
    pub non_finite: bool,
    pub micros: u64,
    /// The model's raw scores (before the personal layer) when it succeeded.
    pub scores: &'a [f32],
}

#[derive(Default)]
struct Counts {
    ranks: u64,
    fallbacks: u64,
    non_finite: u64,
    latency: LatencyHistogram,
    /// Scores per reference bin (empty without a reference).
    bins: Vec<u64>,
}

impl Counts {
    fn halve(&mut self) {
        self.ranks = self.ranks.div_ceil(2);
        self.fallbacks /= 2;
        self.non_finite /= 2;
        self.latency.halve();
        for b in &mut self.bins {
            *b /= 2;
        }
    }
}

/// The reference distribution as bins: distinct cut points and the expected share of each bin
/// (a tie between quantiles merges their bins, so a model with many equal scores is not flagged
/// for filling one bin).
#[derive(Debug, Clone, PartialEq)]
struct Bins {
    cuts: Vec<f64>,
    expected: Vec<f64>,
}

impl Bins {
    fn of(reference: &ScoreReference) -> Bins {
        let q = &reference.quantiles;
        let levels = (q.len() + 1) as f64;
        let mut cuts = Vec::new();
        let mut expected = Vec::new();
        let mut last_level = 0usize;
        for (i, &c) in q.iter().enumerate() {
            // The last occurrence of a repeated cut point closes its bin.
            if q.get(i + 1) == Some(&c) {
                continue;
            }
            cuts.push(c);
            expected.push((i + 1 - last_level) as f64 / levels);
            last_level = i + 1;
        }
        expected.push((q.len() + 1 - last_level) as f64 / levels);
        Bins { cuts, expected }
    }

    fn bin(&self, score: f32) -> usize {
        let s = score as f64;
        self.cuts.partition_point(|&c| c < s)
    }

    /// Population stability index of `counts` against the expected shares (smoothed by half a
    /// count per bin so an empty bin does not make it infinite).
    fn psi(&self, counts: &[u64]) -> f64 {
        let total: u64 = counts.iter().sum();
        let n = total as f64 + 0.5 * counts.len() as f64;
        counts
            .iter()
            .zip(&self.expected)
            .map(|(&c, &e)| {
                let a = (c as f64 + 0.5) / n;
                (a - e) * (a / e).ln()
            })
            .sum()
    }
}

/// One model's guard counters. Rank calls add to them under a short lock of their own (never
/// the registry's writer lock), so a rank call never waits on an install.
pub struct GuardStats {
    counts: Mutex<Counts>,
    bins: Option<Bins>,
    /// Set once the guard acted on this model (rolled it back, or found nothing to roll back to).
    tripped: std::sync::atomic::AtomicBool,
}

impl GuardStats {
    pub fn new(reference: Option<&ScoreReference>) -> GuardStats {
        let bins = reference.map(Bins::of);
        GuardStats {
            counts: Mutex::new(Counts {
                bins: vec![0; bins.as_ref().map(|b| b.expected.len()).unwrap_or(0)],
                ..Default::default()
            }),
            bins,
            tripped: Default::default(),
        }
    }

    pub fn tripped(&self) -> bool {
        self.tripped.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn set_tripped(&self) {
        self.tripped
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Count one rank call, then judge: `Some(reason)` when a threshold tripped.
    pub fn observe(&self, o: &Observation<'_>, t: &Thresholds) -> Option<String> {
        let mut c = self.counts.lock();
        if c.ranks >= HALVE_AT * t.min_ranks {
            c.halve();
        }
        c.ranks += 1;
        c.fallbacks += o.failed as u64;
        c.non_finite += o.non_finite as u64;
        c.latency.record(o.micros);
        if let Some(bins) = &self.bins {
            for &s in o.scores.iter().filter(|s| s.is_finite()) {
                let i = bins.bin(s);
                c.bins[i] += 1;
            }
        }
        self.judge(&c, t)
    }

    fn judge(&self, c: &Counts, t: &Thresholds) -> Option<String> {
        if c.ranks < t.min_ranks {
            return None;
        }
        let share = |n: u64| n as f64 / c.ranks as f64;
        if share(c.non_finite) > t.max_non_finite_share {
            return Some(format!(
                "{} of {} rank calls scored NaN or infinity (threshold {:.0}%)",
                c.non_finite,
                c.ranks,
                t.max_non_finite_share * 100.0
            ));
        }
        if share(c.fallbacks) > t.max_fallback_share {
            return Some(format!(
                "{} of {} rank calls fell back because the model failed (threshold {:.0}%)",
                c.fallbacks,
                c.ranks,
                t.max_fallback_share * 100.0
            ));
        }
        let p95 = c.latency.quantile(0.95);
        if p95 > t.max_p95_micros {
            return Some(format!(
                "rank latency p95 {:.1} ms over {} calls is above the {} ms budget",
                p95 as f64 / 1000.0,
                c.ranks,
                t.max_p95_micros / 1000
            ));
        }
        if let Some(bins) = &self.bins {
            let scores: u64 = c.bins.iter().sum();
            let psi = bins.psi(&c.bins);
            if scores >= MIN_DRIFT_SCORES && psi > t.max_drift_psi {
                return Some(format!(
                    "scores drifted from the manifest's reference: PSI {psi:.2} over {scores} \
                     scores (threshold {:.2})",
                    t.max_drift_psi
                ));
            }
        }
        None
    }

    /// The counters as `metrics()` reports them.
    pub fn report(&self) -> ModelGuardStats {
        let c = self.counts.lock();
        ModelGuardStats {
            enabled: true,
            ranks: c.ranks,
            fallbacks: c.fallbacks,
            non_finite: c.non_finite,
            p95_micros: c.latency.quantile(0.95),
            drift_psi: self.bins.as_ref().map(|b| b.psi(&c.bins)),
            rollbacks: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(q: &[f64]) -> ScoreReference {
        ScoreReference {
            rows: 1000,
            mean: 0.0,
            std: 1.0,
            quantiles: q.to_vec(),
        }
    }

    fn ok(scores: &[f32]) -> Observation<'_> {
        Observation {
            failed: false,
            non_finite: false,
            micros: 500,
            scores,
        }
    }

    #[test]
    fn ties_in_the_reference_merge_bins() {
        let b = Bins::of(&reference(&[0.0, 0.0, 0.0, 1.0]));
        assert_eq!(b.cuts, vec![0.0, 1.0]);
        assert_eq!(b.expected, vec![0.6, 0.2, 0.2]);
        assert_eq!(
            (b.bin(-1.0), b.bin(0.0), b.bin(0.5), b.bin(2.0)),
            (0, 0, 1, 2)
        );
    }

    #[test]
    fn scores_like_the_reference_pass_and_shifted_scores_trip() {
        let deciles: Vec<f64> = (1..10).map(|i| i as f64 / 10.0).collect();
        let t = Thresholds {
            min_ranks: 5,
            ..Default::default()
        };
        let uniform: Vec<f32> = (0..100).map(|i| i as f32 / 100.0 + 0.005).collect();
        let g = GuardStats::new(Some(&reference(&deciles)));
        for _ in 0..10 {
            assert_eq!(g.observe(&ok(&uniform), &t), None);
        }
        assert!(g.report().drift_psi.unwrap() < 0.01);
        let shifted: Vec<f32> = uniform.iter().map(|s| s + 5.0).collect();
        let g = GuardStats::new(Some(&reference(&deciles)));
        let tripped = (0..10).find_map(|_| g.observe(&ok(&shifted), &t)).unwrap();
        assert!(tripped.contains("PSI"), "{tripped}");
    }

    #[test]
    fn latency_is_judged_per_thousand_candidates() {
        // 20 candidates in 300 ms is slow; 50,000 in 300 ms is 6 ms per 1,000.
        assert_eq!(latency_per_1000(300_000, 20), 300_000);
        assert_eq!(latency_per_1000(300_000, 1000), 300_000);
        assert_eq!(latency_per_1000(300_000, 50_000), 6_000);
        assert_eq!(latency_per_1000(u64::MAX, 0), u64::MAX / 1000);
        let t = Thresholds {
            min_ranks: 4,
            ..Default::default()
        };
        let big = GuardStats::new(None);
        for _ in 0..8 {
            let whole_catalog = Observation {
                micros: latency_per_1000(400_000, 100_000),
                ..ok(&[])
            };
            assert_eq!(
                big.observe(&whole_catalog, &t),
                None,
                "a large catalog is not a bad model"
            );
        }
    }

    #[test]
    fn shares_and_latency_trip_only_after_min_ranks() {
        let t = Thresholds {
            min_ranks: 4,
            ..Default::default()
        };
        let g = GuardStats::new(None);
        let nan = Observation {
            failed: true,
            non_finite: true,
            micros: 500,
            scores: &[],
        };
        assert_eq!(g.observe(&nan, &t), None);
        assert_eq!(g.observe(&nan, &t), None);
        assert_eq!(g.observe(&nan, &t), None);
        let why = g.observe(&nan, &t).unwrap();
        assert!(why.starts_with("4 of 4 rank calls scored NaN"), "{why}");
        let slow = GuardStats::new(None);
        let why = (0..4)
            .find_map(|_| {
                slow.observe(
                    &Observation {
                        micros: 400_000,
                        ..ok(&[])
                    },
                    &t,
                )
            })
            .unwrap();
        assert!(why.contains("p95"), "{why}");
        assert_eq!(slow.report().ranks, 4);
    }

    #[test]
    fn counts_are_halved_so_recent_failures_are_not_diluted() {
        let t = Thresholds {
            min_ranks: 10,
            ..Default::default()
        };
        let g = GuardStats::new(None);
        for _ in 0..10_000 {
            assert_eq!(g.observe(&ok(&[]), &t), None);
        }
        let bad = Observation {
            failed: true,
            non_finite: false,
            micros: 500,
            scores: &[],
        };
        let took = (1..=1000).find(|_| g.observe(&bad, &t).is_some()).unwrap();
        assert!(took <= 30, "took {took} failing calls");
    }
}
