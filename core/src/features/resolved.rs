//! The part of a profile view that does not change with time: the shopper's affinity keys and
//! item history resolved against one catalog snapshot (vocabulary ids, catalog indices) and the
//! time-free weights of each history item. Built once per (profile, catalog) pair and shared by
//! every view built from that pair, so a rank at a new time (the clock moves on every second)
//! only decays values.
//!
//! The history by catalog index costs a catalog lookup per history item (thousands for an
//! active shopper, more than the candidates of one rank), so it is built only for a pair
//! ranked a second time: the first view after a profile change reads a candidate's history by
//! its id, the later ones (the same profile at other times) by index.

use crate::catalog::CatalogSnapshot;
use crate::profile::signals::{Decayed, Dim, ItemStats, ProfileState};
use rustc_hash::FxHashSet;
use std::sync::{Arc, OnceLock};

/// Slot of a catalog item without history.
const NO_HISTORY: u32 = u32::MAX;

/// Where one long-term affinity goes in a view.
#[derive(Debug, Clone, Copy)]
pub enum AffinityTarget {
    /// A category, brand or tag the catalog knows (its vocabulary id).
    Vocab(Dim, u32),
    PriceBand(i32),
}

/// A history item that can be a source of co-purchase scores and the profile embedding.
#[derive(Debug)]
pub struct Source {
    pub id: Arc<str>,
    /// `ItemStats::strength`, before decay.
    pub strength: f64,
    pub last_seen: i64,
}

#[derive(Debug, Default)]
pub struct ResolvedProfile {
    /// The profile's affinities the catalog can use, in the profile's iteration order.
    pub affinity: Vec<(AffinityTarget, Decayed)>,
    /// History items with any activity, not marked "not interested" (when `indexed`: holding
    /// each id is a cache miss per history item, which a first view does without).
    pub sources: Vec<Source>,
    /// The sources in their time-free weight order (see `strongest_sources`), built on first use.
    ranked: OnceLock<Ranked>,
    /// Purchases over all items in the history (items marked "not interested" left out).
    pub total_purchases: u64,
    /// Purchases of an item bought before (each item's purchases beyond its first).
    pub repeat_purchases: u64,
    /// Per catalog item, its slot in `stats` (`NO_HISTORY` if the shopper has none); empty when
    /// not built (see the module's note).
    slot: Vec<u32>,
    stats: Vec<ItemStats>,
}

impl ResolvedProfile {
    /// `indexed`: also key the item history by catalog index.
    pub fn build(
        profile: &ProfileState,
        catalog: &CatalogSnapshot,
        indexed: bool,
    ) -> ResolvedProfile {
        let mut affinity = Vec::with_capacity(profile.affinity.len());
        for ((dim, key), d) in &profile.affinity {
            let target = match dim {
                Dim::PriceBand => key.parse::<i32>().ok().map(AffinityTarget::PriceBand),
                Dim::Category => catalog
                    .categories
                    .get(key)
                    .map(|id| AffinityTarget::Vocab(*dim, id)),
                Dim::Brand => catalog
                    .brands
                    .get(key)
                    .map(|id| AffinityTarget::Vocab(*dim, id)),
                Dim::Tag => catalog
                    .tags
                    .get(key)
                    .map(|id| AffinityTarget::Vocab(*dim, id)),
            };
            if let Some(t) = target {
                affinity.push((t, *d));
            }
        }
        let unwanted: FxHashSet<&str> = profile.not_interested_items().collect();
        let mut out = ResolvedProfile {
            affinity,
            slot: if indexed {
                vec![NO_HISTORY; catalog.len()]
            } else {
                Vec::new()
            },
            ..Default::default()
        };
        for (id, stats) in &profile.items {
            if indexed {
                if let Some(s) = catalog.get(id).and_then(|i| out.slot.get_mut(i as usize)) {
                    *s = out.stats.len() as u32;
                    out.stats.push(*stats);
                }
            }
            if unwanted.contains(&**id) {
                continue;
            }
            out.total_purchases += stats.purchases as u64;
            out.repeat_purchases += stats.purchases.saturating_sub(1) as u64;
            if indexed && stats.purchases + stats.carts + stats.clicks + stats.views > 0 {
                out.sources.push(Source {
                    id: id.clone(),
                    strength: stats.strength(),
                    last_seen: stats.last_seen,
                });
            }
        }
        out
    }

    /// Indices into `sources` that contain the `k` strongest at time `now` — a source's weight
    /// is `strength × 0.5^((now − last_seen) / half_life)` — for the view to weigh exactly.
    ///
    /// A weight's logarithm is `log2(strength) + last_seen / half_life` minus a term every source
    /// shares, so the order by that key does not change with `now`: sorted once per profile
    /// state, each view weighs the first `k` and the sources within a rounding margin of the
    /// `k`-th instead of all of them (thousands of `powf` per rank call for a long history).
    /// `None` — weigh every source — when a source was seen after `now` (its weight is capped
    /// at its strength, which breaks the shared term), a strength is not a number, or the
    /// half-life differs from the cached one.
    pub fn strongest_sources(&self, k: usize, now: i64, half_life_secs: f64) -> Option<&[u32]> {
        let ranked = self
            .ranked
            .get_or_init(|| Ranked::build(&self.sources, half_life_secs));
        if ranked.half_life_secs != half_life_secs || now < ranked.latest_seen || ranked.has_nan {
            return None;
        }
        let Some(kth) = ranked.keys.get(k.checked_sub(1)?) else {
            return Some(&ranked.order);
        };
        // 1e-4 in log2 units (a factor 0.99993) is far above the rounding of the keys and of the
        // weights (f64, then f32), so no source outside the margin can enter the top `k`.
        let cut = kth - 1e-4;
        let n = ranked.keys.partition_point(|&key| key >= cut);
        ranked.order.get(..n)
    }

    /// Whether the item history is keyed by catalog index (`stats` answers).
    pub fn indexed(&self) -> bool {
        !self.slot.is_empty()
    }

    /// The shopper's history of catalog item `idx`, if any (when `indexed`).
    pub fn stats(&self, idx: u32) -> Option<&ItemStats> {
        let slot = *self.slot.get(idx as usize)?;
        self.stats.get(slot as usize)
    }
}

/// The sources ordered by their time-free key, strongest first.
#[derive(Debug, Default)]
struct Ranked {
    half_life_secs: f64,
    /// The latest `last_seen` of any source: a view before it takes the full path.
    latest_seen: i64,
    has_nan: bool,
    keys: Vec<f64>,
    order: Vec<u32>,
}

impl Ranked {
    fn build(sources: &[Source], half_life_secs: f64) -> Ranked {
        let key = |s: &Source| s.strength.log2() + s.last_seen as f64 / half_life_secs;
        let mut order: Vec<u32> = (0..sources.len() as u32).collect();
        let mut keys: Vec<f64> = sources.iter().map(key).collect();
        order.sort_unstable_by(|&a, &b| keys[b as usize].total_cmp(&keys[a as usize]));
        keys = order.iter().map(|&i| keys[i as usize]).collect();
        Ranked {
            half_life_secs,
            latest_seen: sources
                .iter()
                .map(|s| s.last_seen)
                .max()
                .unwrap_or(i64::MIN),
            has_nan: keys.iter().any(|k| k.is_nan()),
            keys,
            order,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::signals::decay_factor;

    /// The shortcut must give a view exactly the top `k` that weighing every source gives,
    /// ties included (two sources whose keys are equal: twice the strength, one half-life
    /// earlier), at any time after the history.
    #[test]
    fn the_strongest_sources_are_the_top_k_at_any_later_time() {
        let hl = 7.0 * 86_400.0;
        let mut sources = Vec::new();
        let mut x: u64 = 12345;
        for i in 0..3000i64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let strength = 1.0 + (x >> 40) as f64 % 50.0;
            let last_seen = 1_000_000 + (x >> 20) as i64 % 5_000_000;
            sources.push(Source {
                id: Arc::from(format!("i{i}")),
                strength,
                last_seen,
            });
        }
        // Exact ties in weight at any time.
        sources.push(Source {
            id: Arc::from("tie-a"),
            strength: 40.0,
            last_seen: 5_000_000,
        });
        sources.push(Source {
            id: Arc::from("tie-b"),
            strength: 80.0,
            last_seen: 5_000_000 - hl as i64,
        });
        let latest = sources.iter().map(|s| s.last_seen).max().unwrap_or(0);
        let r = ResolvedProfile {
            sources,
            ..Default::default()
        };
        let top = |set: Vec<&Source>, now: i64| -> Vec<String> {
            let mut w: Vec<(f32, &str)> = set
                .into_iter()
                .map(|s| {
                    let w = s.strength * decay_factor(now - s.last_seen, hl);
                    (w as f32, &*s.id)
                })
                .collect();
            w.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
            w.into_iter()
                .take(50)
                .map(|(_, id)| id.to_string())
                .collect()
        };
        for now in [latest, latest + 1, latest + 86_400, latest + 400 * 86_400] {
            let ids = r.strongest_sources(50, now, hl);
            let shortcut: Vec<&Source> = ids
                .unwrap_or_default()
                .iter()
                .map(|&i| &r.sources[i as usize])
                .collect();
            assert!(shortcut.len() >= 50 && shortcut.len() < 200);
            assert_eq!(top(shortcut, now), top(r.sources.iter().collect(), now));
        }
        // Before the latest activity (a clock moved back) every source is weighed.
        assert!(r.strongest_sources(50, latest - 1, hl).is_none());
        // Fewer sources than asked for: all of them.
        assert_eq!(
            r.strongest_sources(5000, latest, hl).map(|s| s.len()),
            Some(3002)
        );
    }
}
