//! The part of a profile view that does not change with time: the shopper's affinity keys and
//! item history resolved against one catalog snapshot (vocabulary ids, catalog indices) and the
//! time-free weights of each history item. Built once per (profile, catalog) pair and shared by
//! every view built from that pair, so a rank at a new time (the clock moves on every second)
//! only decays values, and a candidate's history is an array lookup instead of hashing its id.

use crate::catalog::CatalogSnapshot;
use crate::profile::signals::{Decayed, Dim, ItemStats, ProfileState};
use rustc_hash::FxHashSet;
use std::sync::Arc;

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
    /// Catalog index (`None`: the catalog does not hold it).
    pub idx: Option<u32>,
    /// `ItemStats::strength`, before decay.
    pub strength: f64,
    pub last_seen: i64,
}

#[derive(Debug, Default)]
pub struct ResolvedProfile {
    /// The profile's affinities the catalog can use, in the profile's iteration order.
    pub affinity: Vec<(AffinityTarget, Decayed)>,
    /// History items with any activity, not marked "not interested".
    pub sources: Vec<Source>,
    /// Purchases over all items in the history (items marked "not interested" left out).
    pub total_purchases: u64,
    /// Purchases of an item bought before (each item's purchases beyond its first).
    pub repeat_purchases: u64,
    /// Per catalog item, its slot in `stats` (`NO_HISTORY` if the shopper has none).
    slot: Vec<u32>,
    stats: Vec<ItemStats>,
}

impl ResolvedProfile {
    pub fn build(profile: &ProfileState, catalog: &CatalogSnapshot) -> ResolvedProfile {
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
            slot: vec![NO_HISTORY; catalog.len()],
            ..Default::default()
        };
        for (id, stats) in &profile.items {
            let idx = catalog.get(id);
            if let Some(i) = idx {
                if let Some(s) = out.slot.get_mut(i as usize) {
                    *s = out.stats.len() as u32;
                    out.stats.push(*stats);
                }
            }
            if unwanted.contains(&**id) {
                continue;
            }
            out.total_purchases += stats.purchases as u64;
            out.repeat_purchases += stats.purchases.saturating_sub(1) as u64;
            if stats.purchases + stats.carts + stats.clicks + stats.views > 0 {
                out.sources.push(Source {
                    id: id.clone(),
                    idx,
                    strength: stats.strength(),
                    last_seen: stats.last_seen,
                });
            }
        }
        out
    }

    /// The shopper's history of catalog item `idx`, if any.
    pub fn stats(&self, idx: u32) -> Option<&ItemStats> {
        let slot = *self.slot.get(idx as usize)?;
        self.stats.get(slot as usize)
    }
}
