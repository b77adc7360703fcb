//! Exploration slots: a few items from beyond the page, placed at fixed spread-out positions and
//! marked, so a shopper's results keep room for discovery. Seeded, so tests are reproducible.

use crate::catalog::CatalogSnapshot;
use crate::error::{Error, Result};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;

pub const MAX_RATE: f64 = 0.5;
/// Exploration draws from this many pages beyond the current one.
const POOL_PAGES: usize = 10;

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

/// Choose exploration items and insert them into `order` (best first) within the first `limit`.
/// Prefers categories absent from the page. Returns the chosen catalog indices.
pub fn apply(
    order: &mut Vec<u32>,
    limit: usize,
    rate: f64,
    seed: u64,
    catalog: &CatalogSnapshot,
) -> Vec<u32> {
    let n = slots(rate, limit);
    if n == 0 || order.len() <= limit {
        return Vec::new();
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let page_categories: HashSet<u32> = order[..limit]
        .iter()
        .map(|&i| catalog.item(i).category)
        .collect();
    let pool_end = order.len().min(limit + POOL_PAGES * limit);
    let mut pool: Vec<u32> = order[limit..pool_end].to_vec();
    // Fresh categories first, then the rest; random order within each group.
    let mut fresh: Vec<u32> = pool
        .iter()
        .copied()
        .filter(|&i| !page_categories.contains(&catalog.item(i).category))
        .collect();
    pool.retain(|i| !fresh.contains(i));
    let mut picks = Vec::with_capacity(n);
    for group in [&mut fresh, &mut pool] {
        while picks.len() < n && !group.is_empty() {
            let at = rng.random_range(0..group.len());
            picks.push(group.swap_remove(at));
        }
    }
    let chosen: HashSet<u32> = picks.iter().copied().collect();
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
}
