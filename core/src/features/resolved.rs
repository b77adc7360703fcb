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
