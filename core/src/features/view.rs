//! A per-request view of the profile in catalog coordinates: affinities as dense arrays over the
//! catalog's interned attributes, item history by catalog index, co-purchase scores and profile
//! embeddings. Built once per rank call in O(profile + vocabulary), so per-candidate work is
//! array lookups and its cost does not grow with the shopper's history.

use super::resolved::{AffinityTarget, ResolvedProfile, Source};
use crate::catalog::CatalogSnapshot;
use crate::profile::signals::{
    decay_factor, Dim, ItemStats, Params, ProfileState, PREFERENCE_SCORE,
};
use crate::types::AttributeKind;
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::sync::Arc;

/// History items that feed co-purchase scores and the profile embedding (strongest first).
pub const MAX_SOURCE_ITEMS: usize = 50;

/// Affinities of one dimension, normalized to -1..1 by the strongest absolute score.
#[derive(Debug, Default, Clone)]
pub struct DimAffinity {
    pub by_id: Vec<f32>,
}

impl DimAffinity {
    pub fn get(&self, id: u32) -> f32 {
        self.by_id.get(id as usize).copied().unwrap_or(0.0)
    }
    pub fn mean(&self, ids: &[u32]) -> f32 {
        if ids.is_empty() {
            return 0.0;
        }
        ids.iter().map(|&i| self.get(i)).sum::<f32>() / ids.len() as f32
    }
}

/// Co-purchase score of a candidate and the history item that contributed most.
#[derive(Debug, Clone, Copy)]
pub struct Copurchase {
    pub score: f32,
    pub best_source: u32,
    pub best_contribution: f32,
}

#[derive(Debug, Default)]
pub struct ProfileView {
    pub now: i64,
    pub cold: bool,
    pub category: DimAffinity,
    pub brand: DimAffinity,
    pub tag: DimAffinity,
    pub price_band: FxHashMap<i32, f32>,
    pub session_active: bool,
    pub session_category: DimAffinity,
    pub session_brand: DimAffinity,
    pub session_tag: DimAffinity,
    pub preferred_categories: Vec<u32>,
    pub preferred_brands: Vec<u32>,
    pub preferred_tags: Vec<u32>,
    /// The profile this view was built from.
    pub profile: Arc<ProfileState>,
    /// Its time-free part, resolved against the catalog (shared by views of the same pair).
    pub resolved: Arc<ResolvedProfile>,
    pub copurchase: FxHashMap<u32, Copurchase>,
    pub profile_embedding: Option<Vec<f32>>,
    pub session_embedding: Option<Vec<f32>>,
    pub usual_ln_price: Option<f32>,
    pub event_count: u64,
    /// `ln(1 + event_count)`, the `profile_event_count` feature: the same for every candidate.
    pub ln_event_count: f32,
    /// Purchases over all items in the history.
    pub total_purchases: u64,
    /// Purchases of an item bought before (each item's purchases beyond its first).
    pub repeat_purchases: u64,
}

impl ProfileView {
    /// The shopper's history of catalog item `idx`, if any.
    pub fn stats(&self, catalog: &CatalogSnapshot, idx: u32) -> Option<&ItemStats> {
        if self.resolved.indexed() {
            self.resolved.stats(idx)
        } else {
            self.profile.items.get(&catalog.item(idx).id)
        }
    }
}

fn vocab_of(catalog: &CatalogSnapshot, dim: Dim) -> Option<&crate::catalog::snapshot::Vocab> {
    match dim {
        Dim::Category => Some(&catalog.categories),
        Dim::Brand => Some(&catalog.brands),
        Dim::Tag => Some(&catalog.tags),
        Dim::PriceBand => None,
    }
}

fn normalize(raw: Vec<f64>) -> DimAffinity {
    let max = raw.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if max <= 0.0 {
        return DimAffinity { by_id: Vec::new() };
    }
    DimAffinity {
        by_id: raw.into_iter().map(|v| (v / max) as f32).collect(),
    }
}

/// The co-purchase neighbours of weighted source items: for each neighbour the sum of source
/// weight × neighbour weight, and the source that gave the most (the "because" item). Shared by
/// the shopper's history (the view) and a request's context items.
pub fn copurchase_of(
    catalog: &CatalogSnapshot,
    sources: &[(f32, u32)],
) -> FxHashMap<u32, Copurchase> {
    let mut out: FxHashMap<u32, Copurchase> = FxHashMap::default();
    for &(w, src) in sources {
        for &(j, nw) in catalog.item(src).related.iter() {
            let c = w * nw;
            let e = out.entry(j).or_insert(Copurchase {
                score: 0.0,
                best_source: src,
                best_contribution: 0.0,
            });
            e.score += c;
            if c > e.best_contribution {
                e.best_contribution = c;
                e.best_source = src;
            }
        }
    }
    out
}

pub fn normalized_mean(
    vectors: impl Iterator<Item = (f32, Vec<f32>)>,
    dim: usize,
) -> Option<Vec<f32>> {
    let mut acc = vec![0.0f32; dim];
    let mut any = false;
    for (w, v) in vectors {
        for (a, x) in acc.iter_mut().zip(v) {
            *a += w * x;
        }
        any = true;
    }
    let norm = acc.iter().map(|x| x * x).sum::<f32>().sqrt();
    (any && norm > 0.0).then(|| acc.into_iter().map(|x| x / norm).collect())
}

impl ProfileView {
    pub fn build(
        profile: &Arc<ProfileState>,
        catalog: &CatalogSnapshot,
        now: i64,
        session_key: Option<&str>,
        params: &Params,
    ) -> ProfileView {
        let resolved = Arc::new(ResolvedProfile::build(profile, catalog, false));
        Self::build_with(profile, resolved, catalog, now, session_key, params)
    }

    /// `build` with the time-free part already resolved for this profile and catalog (a view
    /// at another time of the same pair: see `ResolvedProfile`).
    pub fn build_with(
        profile: &Arc<ProfileState>,
        resolved: Arc<ResolvedProfile>,
        catalog: &CatalogSnapshot,
        now: i64,
        session_key: Option<&str>,
        params: &Params,
    ) -> ProfileView {
        let hl = params.half_life_secs;
        let session_active = profile.session_active(now, session_key, params);
        let mut raw: HashMap<Dim, Vec<f64>> = HashMap::new();
        let mut raw_session: HashMap<Dim, Vec<f64>> = HashMap::new();
        let mut bands: HashMap<i32, f64> = HashMap::new();
        for dim in [Dim::Category, Dim::Brand, Dim::Tag] {
            let n = vocab_of(catalog, dim).map(|v| v.len()).unwrap_or(0);
            raw.insert(dim, vec![0.0; n]);
            raw_session.insert(dim, vec![0.0; n]);
        }
        for (target, d) in &resolved.affinity {
            let value = d.at(now, hl);
            match *target {
                AffinityTarget::PriceBand(b) => {
                    bands.insert(b, value);
                }
                AffinityTarget::Vocab(dim, id) => {
                    if let Some(a) = raw.get_mut(&dim).and_then(|arr| arr.get_mut(id as usize)) {
                        *a += value;
                    }
                }
            }
        }
        if session_active {
            for ((dim, key), value) in &profile.session.affinity {
                if let (Some(vocab), Some(arr)) =
                    (vocab_of(catalog, *dim), raw_session.get_mut(dim))
                {
                    if let Some(id) = vocab.get(key) {
                        arr[id as usize] += value;
                    }
                }
            }
        }
        let mut view = ProfileView {
            profile: profile.clone(),
            resolved: resolved.clone(),
            now,
            session_active,
            event_count: profile.event_count,
            ln_event_count: (profile.event_count as f32).ln_1p(),
            total_purchases: resolved.total_purchases,
            repeat_purchases: resolved.repeat_purchases,
            ..Default::default()
        };
        for pref in &profile.preferences {
            let (dim, list) = match pref.kind {
                AttributeKind::Category => (Dim::Category, &mut view.preferred_categories),
                AttributeKind::Brand => (Dim::Brand, &mut view.preferred_brands),
                AttributeKind::Tag => (Dim::Tag, &mut view.preferred_tags),
                AttributeKind::Item => continue,
            };
            if let (Some(id), Some(arr)) = (
                vocab_of(catalog, dim).and_then(|v| v.get(&pref.value)),
                raw.get_mut(&dim),
            ) {
                arr[id as usize] += PREFERENCE_SCORE;
                list.push(id);
            }
        }
        let max_band = bands.values().fold(0.0f64, |m, v| m.max(v.abs()));
        if max_band > 0.0 {
            view.price_band = bands
                .into_iter()
                .map(|(b, v)| (b, (v / max_band) as f32))
                .collect();
        }
        let take = |m: &mut HashMap<Dim, Vec<f64>>, d| normalize(m.remove(&d).unwrap_or_default());
        view.category = take(&mut raw, Dim::Category);
        view.brand = take(&mut raw, Dim::Brand);
        view.tag = take(&mut raw, Dim::Tag);
        view.session_category = take(&mut raw_session, Dim::Category);
        view.session_brand = take(&mut raw_session, Dim::Brand);
        view.session_tag = take(&mut raw_session, Dim::Tag);

        // The strongest recent items are the sources of co-purchase scores and the profile
        // embedding. Selecting the top ones is linear; only they are sorted and resolved.
        // An item the shopper is not interested in explains nothing ("because you viewed").
        let mut weighted: Vec<(f32, &Arc<str>)> = if resolved.indexed() {
            fn weigh(s: &Source, now: i64, hl: f64) -> (f32, &Arc<str>) {
                (
                    (s.strength * decay_factor(now - s.last_seen, hl)) as f32,
                    &s.id,
                )
            }
            match resolved.strongest_sources(MAX_SOURCE_ITEMS, now, hl) {
                Some(ids) => ids
                    .iter()
                    .filter_map(|&i| resolved.sources.get(i as usize))
                    .map(|s| weigh(s, now, hl))
                    .collect(),
                None => resolved.sources.iter().map(|s| weigh(s, now, hl)).collect(),
            }
        } else {
            // A first view of this profile: read the history directly (see `ResolvedProfile`).
            let unwanted: rustc_hash::FxHashSet<&str> = profile.not_interested_items().collect();
            profile
                .items
                .iter()
                .filter(|(id, s)| {
                    !unwanted.contains(&***id) && s.purchases + s.carts + s.clicks + s.views > 0
                })
                .map(|(id, s)| {
                    let w = s.strength() * decay_factor(now - s.last_seen, hl);
                    (w as f32, id)
                })
                .collect()
        };
        let by_weight = |a: &(f32, &Arc<str>), b: &(f32, &Arc<str>)| {
            // Ids are compared only on equal weights (`then` would compare them every time).
            b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1))
        };
        if weighted.len() > MAX_SOURCE_ITEMS {
            weighted.select_nth_unstable_by(MAX_SOURCE_ITEMS, by_weight);
            weighted.truncate(MAX_SOURCE_ITEMS);
        }
        weighted.sort_unstable_by(by_weight);
        let sources: Vec<(f32, u32)> = weighted
            .iter()
            .filter_map(|&(w, id)| Some((w, catalog.get(id)?)))
            .collect();
        view.copurchase = copurchase_of(catalog, &sources);
        if let Some(dim) = catalog.embedding_dim {
            view.profile_embedding = normalized_mean(
                sources
                    .iter()
                    .filter_map(|&(w, i)| Some((w, catalog.item(i).embedding.as_ref()?.to_vec()))),
                dim,
            );
            if session_active {
                view.session_embedding = normalized_mean(
                    profile.session.items.iter().filter_map(|id| {
                        Some((
                            1.0,
                            catalog.item(catalog.get(id)?).embedding.as_ref()?.to_vec(),
                        ))
                    }),
                    dim,
                );
            }
        }
        view.usual_ln_price = profile.usual_ln_price(now, params).map(|v| v as f32);
        view.cold = profile.is_cold();
        view
    }
}
