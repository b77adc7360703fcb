//! Default settings the `TailorConfig` record and the parts that read it share (the model guard,
//! the model budget), in one leaf module so neither depends on the other.

/// The guard judges a model after this many rank calls.
pub const GUARD_MIN_RANKS: u32 = 50;
pub const GUARD_FALLBACK_SHARE: f64 = 0.2;
pub const GUARD_NON_FINITE_SHARE: f64 = 0.05;
pub const GUARD_P95_MS: u32 = 250;
/// Lenient on purpose: one shopper's candidates are not the training population, so a PSI of
/// 0.25 ("a significant shift" between populations) is normal on a device. 1.0 means most of
/// the score mass moved to other deciles.
pub const GUARD_DRIFT_PSI: f64 = 1.0;

/// Model budget: scoring time per 1,000 candidates (ms).
pub const MODEL_MS_PER_1000: u32 = 250;
/// Model budget: peak tensor memory per 1,000 candidates (MB).
pub const MODEL_MB_PER_1000: u32 = 64;
/// Model budget: multiply-adds per candidate.
pub const MODEL_FMA_PER_ROW: u32 = 2_000_000;
