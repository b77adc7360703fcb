//! Local measurement: the engine's own counters (in memory, since open) and the funnel counters
//! (in `profile.db`, see `funnel` and, per rank response, `placements`). Nothing here is ever sent anywhere.

pub mod funnel;
pub mod placements;

use crate::error::TailorError;
use crate::types::{Fallback, LatencySummary, NamedCount};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Log-spaced latency buckets: bucket i holds values up to 1.1^i µs (up to ~20 minutes).
const BUCKETS: usize = 220;
const GROWTH: f64 = 1.1;

#[derive(Debug)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: vec![0; BUCKETS],
            total: 0,
        }
    }
}

fn bucket_of(micros: u64) -> usize {
    if micros <= 1 {
        return 0;
    }
    ((micros as f64).ln() / GROWTH.ln())
        .ceil()
        .clamp(0.0, (BUCKETS - 1) as f64) as usize
}

fn bucket_upper(i: usize) -> u64 {
    GROWTH.powi(i as i32).ceil() as u64
}

impl LatencyHistogram {
    pub fn record(&mut self, micros: u64) {
        self.counts[bucket_of(micros)] += 1;
        self.total += 1;
    }

    /// The upper bound of the bucket holding the p-th quantile (within 10% of the true value).
    pub fn quantile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let target = (p * self.total as f64).ceil().max(1.0) as u64;
        let mut acc = 0;
        for (i, c) in self.counts.iter().enumerate() {
            acc += c;
            if acc >= target {
                return bucket_upper(i);
            }
        }
        bucket_upper(BUCKETS - 1)
    }

    /// Halve every bucket (the model guard weighs recent calls more).
    pub fn halve(&mut self) {
        for c in &mut self.counts {
            *c /= 2;
        }
        self.total = self.counts.iter().sum();
    }

    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.total,
            p50_micros: self.quantile(0.50),
            p95_micros: self.quantile(0.95),
            p99_micros: self.quantile(0.99),
        }
    }
}

const FALLBACKS: [&str; 4] = [
    "cold_start",
    "opted_out",
    "model_failed",
    "deadline_exceeded",
];
const ERRORS: [&str; 6] = [
    "invalid_input",
    "not_found",
    "model_rejected",
    "storage",
    "closed",
    "interrupted",
];

/// Engine counters since the `Tailor` object was opened.
#[derive(Debug, Default)]
pub struct EngineCounters {
    latency: Mutex<LatencyHistogram>,
    fallbacks: [AtomicU64; 4],
    errors: [AtomicU64; 6],
}

impl EngineCounters {
    pub fn rank(&self, micros: u64, fallback: Option<&Fallback>) {
        self.latency.lock().record(micros);
        if let Some(f) = fallback {
            let i = match f {
                Fallback::ColdStart => 0,
                Fallback::OptedOut => 1,
                Fallback::ModelFailed { .. } => 2,
                Fallback::DeadlineExceeded { .. } => 3,
            };
            self.fallbacks[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn error(&self, e: &TailorError) {
        let i = match e {
            TailorError::InvalidInput { .. } => 0,
            TailorError::NotFound { .. } => 1,
            TailorError::ModelRejected { .. } => 2,
            TailorError::Storage { .. } => 3,
            TailorError::Closed { .. } => 4,
            TailorError::Interrupted { .. } => 5,
        };
        self.errors[i].fetch_add(1, Ordering::Relaxed);
    }

    pub fn latency(&self) -> LatencySummary {
        self.latency.lock().summary()
    }

    fn named(names: &[&str], counts: &[AtomicU64]) -> Vec<NamedCount> {
        names
            .iter()
            .zip(counts)
            .map(|(n, c)| NamedCount {
                name: n.to_string(),
                count: c.load(Ordering::Relaxed),
            })
            .collect()
    }

    pub fn fallbacks(&self) -> Vec<NamedCount> {
        Self::named(&FALLBACKS, &self.fallbacks)
    }

    pub fn errors(&self) -> Vec<NamedCount> {
        Self::named(&ERRORS, &self.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_ten_percent() {
        let mut h = LatencyHistogram::default();
        for v in 1..=1000u64 {
            h.record(v * 10);
        }
        let s = h.summary();
        assert_eq!(s.count, 1000);
        for (got, want) in [
            (s.p50_micros, 5000.0),
            (s.p95_micros, 9500.0),
            (s.p99_micros, 9900.0),
        ] {
            assert!((got as f64 - want).abs() / want <= 0.1, "{got} vs {want}");
        }
        assert_eq!(LatencyHistogram::default().summary().p99_micros, 0);
    }
}
