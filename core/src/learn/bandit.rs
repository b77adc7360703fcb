//! The exploration bandit, all of it: arm state, the choice of exploration slots, sampling and
//! both updates. Exploration slots: a few items from beyond the page, placed at fixed spread-out positions and
//! marked, so results keep room for discovery. Which items: Thompson sampling over arms (an
//! item's category, else brand, else first tag) with this shopper's Beta posteriors — arms they
//! engaged with when shown come up more often, arms they ignore fade, unseen arms stay possible.
//! Seeded, so tests are reproducible. The posteriors' updates live here too: a shown item is a
//! trial for its arm (`record_shown`), engagement with it a success (`record_engaged`).

use crate::catalog::CatalogSnapshot;
use crate::error::{Error, Result};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::HashSet;
use std::sync::Arc;

/// Beta posterior of an exploration arm: engagement (alpha) versus impressions without (beta).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaArm {
    pub alpha: f32,
    pub beta: f32,
}

impl Default for BetaArm {
    /// The uniform prior Beta(1, 1).
    fn default() -> Self {
        BetaArm {
            alpha: 1.0,
            beta: 1.0,
        }
    }
}

pub const MAX_RATE: f64 = 0.5;
/// Exploration draws from this many pages beyond the current one.
pub const POOL_PAGES: usize = 10;
/// Arms already on the page are sampled at this discount, so slots favour something new.
const ON_PAGE_DISCOUNT: f64 = 0.5;

pub fn validate(rate: f64) -> Result<()> {
    if !rate.is_finite() || !(0.0..=MAX_RATE).contains(&rate) {
        return Err(Error::invalid(format!(
            "exploration rate {rate} must be between 0 and {MAX_RATE}"
        )));
    }
    Ok(())
}

/// Number of exploration slots for a page of `limit` results.
pub fn slots(rate: f64, limit: usize) -> usize {
    if rate <= 0.0 || limit < 2 {
        return 0;
    }
    ((rate * limit as f64).round() as usize).clamp(1, limit / 2)
}

/// The exploration arm of an item.
pub fn arm(catalog: &CatalogSnapshot, idx: u32) -> Arc<str> {
    let item = catalog.item(idx);
    let name = if item.category != 0 {
        format!("category:{}", catalog.categories.name(item.category))
    } else if item.brand != 0 {
        format!("brand:{}", catalog.brands.name(item.brand))
    } else if let Some(&t) = item.tags.first() {
        format!("tag:{}", catalog.tags.name(t))
    } else {
        String::from("any")
    };
    Arc::from(name)
}

/// The item was shown: one more trial for its arm.
pub fn record_shown(
    bandit: &mut FxHashMap<Arc<str>, BetaArm>,
    touched: &mut HashSet<Arc<str>>,
    catalog: &CatalogSnapshot,
    idx: u32,
) {
    let a = arm(catalog, idx);
    bandit.entry(a.clone()).or_default().beta += 1.0;
    touched.insert(a);
}

/// The shopper engaged with a shown item (`strength`: a click counts less than a purchase).
pub fn record_engaged(
    bandit: &mut FxHashMap<Arc<str>, BetaArm>,
    touched: &mut HashSet<Arc<str>>,
    catalog: &CatalogSnapshot,
    idx: u32,
    strength: f32,
) {
    let a = arm(catalog, idx);
    bandit.entry(a.clone()).or_default().alpha += strength;
    touched.insert(a);
}

/// Standard normal by Box-Muller.
fn normal(rng: &mut SmallRng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Gamma(shape, 1) by Marsaglia and Tsang; shapes below 1 use the u^(1/shape) boost.
fn gamma(rng: &mut SmallRng, shape: f64) -> f64 {
    if shape < 1.0 {
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// A draw from Beta(alpha, beta).
pub fn beta(rng: &mut SmallRng, arm: BetaArm) -> f64 {
    let x = gamma(rng, arm.alpha.max(0.01) as f64);
    let y = gamma(rng, arm.beta.max(0.01) as f64);
    if x + y > 0.0 {
        x / (x + y)
    } else {
        0.5
    }
}

/// Choose exploration items and insert them into `order` (best first) within the first `limit`.
/// Returns the chosen catalog indices.
pub fn apply(
    order: &mut Vec<u32>,
    limit: usize,
    rate: f64,
    seed: u64,
    catalog: &CatalogSnapshot,
    posteriors: &rustc_hash::FxHashMap<Arc<str>, BetaArm>,
) -> Vec<u32> {
    let n = slots(rate, limit);
    if n == 0 || order.len() <= limit {
        return Vec::new();
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let on_page: FxHashSet<Arc<str>> = order[..limit].iter().map(|&i| arm(catalog, i)).collect();
    let pool_end = order.len().min(limit + POOL_PAGES * limit);
    // Best remaining item per arm (the pool is in rank order); arms in first-seen order so a
    // seed always gives the same draws.
    let mut best: FxHashMap<Arc<str>, u32> = FxHashMap::default();
    let mut arms: Vec<Arc<str>> = Vec::new();
    for &i in &order[limit..pool_end] {
        let a = arm(catalog, i);
        if let std::collections::hash_map::Entry::Vacant(slot) = best.entry(a.clone()) {
            slot.insert(i);
            arms.push(a);
        }
    }
    let mut picks = Vec::with_capacity(n);
    while picks.len() < n && !arms.is_empty() {
        let draws: Vec<f64> = arms
            .iter()
            .map(|a| {
                let theta = beta(&mut rng, posteriors.get(a).copied().unwrap_or_default());
                if on_page.contains(a) {
                    theta * ON_PAGE_DISCOUNT
                } else {
                    theta
                }
            })
            .collect();
        let (k, _) =
            draws.iter().enumerate().fold(
                (0, f64::MIN),
                |(bk, bv), (k, &v)| if v > bv { (k, v) } else { (bk, bv) },
            );
        let chosen = arms.remove(k);
        if let Some(&i) = best.get(&chosen) {
            picks.push(i);
        }
    }
    let chosen: FxHashSet<u32> = picks.iter().copied().collect();
    order.retain(|i| !chosen.contains(i));
    // Spread over the page, never first: positions limit*(k+1)/(n+1).
    for (k, &idx) in picks.iter().enumerate() {
        let pos = (limit * (k + 1) / (n + 1)).max(1).min(order.len());
        order.insert(pos, idx);
    }
    picks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_counts() {
        assert_eq!(slots(0.0, 20), 0);
        assert_eq!(slots(0.1, 20), 2);
        assert_eq!(slots(0.01, 20), 1);
        assert_eq!(slots(0.5, 3), 1);
        assert_eq!(slots(0.3, 1), 0);
    }

    #[test]
    fn beta_draws_have_the_right_mean() {
        let mut rng = SmallRng::seed_from_u64(1);
        for (a, b) in [(1.0, 1.0), (9.0, 1.0), (2.0, 30.0), (0.5, 0.5)] {
            let n = 20_000;
            let mean = (0..n)
                .map(|_| beta(&mut rng, BetaArm { alpha: a, beta: b }))
                .sum::<f64>()
                / n as f64;
            let want = a as f64 / (a + b) as f64;
            assert!(
                (mean - want).abs() < 0.01,
                "Beta({a},{b}): {mean} vs {want}"
            );
        }
    }
}
