//! What a rank request says about the page it is for: the items the shopper is looking at or has
//! in the cart (the context) and the app's own retrieval scores. Built once per request, read by
//! the `context_*` and `retrieval_score` features and by the surface blends.

use super::view::{copurchase_of, normalized_mean, Copurchase};
use crate::catalog::CatalogSnapshot;
use rustc_hash::{FxHashMap, FxHashSet};

#[derive(Debug, Default)]
pub struct RequestContext {
    /// Context items (catalog indices), in request order, without duplicates.
    pub items: Vec<u32>,
    set: FxHashSet<u32>,
    /// Candidates that are neighbours of a context item: the sum over context items of context
    /// weight × neighbour weight, and the context item that gave most.
    pub links: FxHashMap<u32, Copurchase>,
    /// Co-purchase strength with the context, both directions averaged, of every item linked
    /// to a context item either way (see `copurchase`): worked out once per request from the
    /// context items' own lists and the catalog's `listed_by`, so a candidate costs one lookup
    /// instead of a scan of its neighbour list.
    both_ways: FxHashMap<u32, f32>,
    /// Context items per category and per brand (interned ids; 0, "none", is never matched).
    categories: FxHashMap<u32, u32>,
    brands: FxHashMap<u32, u32>,
    /// Normalized mean embedding of the context items.
    pub embedding: Option<Vec<f32>>,
    pub mean_ln_price: Option<f32>,
    /// Retrieval scores by candidate, min-max normalized to 0..1 within the request.
    pub retrieval: FxHashMap<u32, f32>,
    /// The shopper's user vector from the model's sequence graph, when the model reads
    /// `sequence_score` and the shopper has purchases.
    pub sequence: Option<super::SequenceInput>,
}

impl RequestContext {
    /// The context of `items` (resolved, in order); `retrieval` pairs candidates with the app's
    /// raw scores (finite, checked by the caller).
    pub fn build(catalog: &CatalogSnapshot, items: &[u32], retrieval: &[(u32, f64)]) -> Self {
        let mut seen = FxHashSet::default();
        let items: Vec<u32> = items.iter().copied().filter(|i| seen.insert(*i)).collect();
        let earlier = EARLIER;
        // Weight of each context item in the co-purchase sums: the latest added weighs 1, each
        // earlier one `EARLIER` times the next (a cart's last additions say most about what
        // comes next).
        let weight: FxHashMap<u32, f32> = items
            .iter()
            .rev()
            .scan(1.0f32, |w, &i| {
                let this = *w;
                *w *= earlier;
                Some((i, this.max(1e-3)))
            })
            .collect();
        let sources: Vec<(f32, u32)> = items
            .iter()
            .map(|&c| (weight.get(&c).copied().unwrap_or(1.0), c))
            .collect();
        let links = copurchase_of(catalog, &sources);
        let both_ways = both_ways(catalog, &items, &weight, &links);
        let mut categories: FxHashMap<u32, u32> = FxHashMap::default();
        let mut brands: FxHashMap<u32, u32> = FxHashMap::default();
        for &i in &items {
            let item = catalog.item(i);
            *categories.entry(item.category).or_default() += 1;
            *brands.entry(item.brand).or_default() += 1;
        }
        let embedding = catalog.embedding_dim.and_then(|dim| {
            normalized_mean(
                items
                    .iter()
                    .filter_map(|&i| Some((1.0, catalog.item(i).embedding.as_ref()?.to_vec()))),
                dim,
            )
        });
        let prices: Vec<f32> = items
            .iter()
            .map(|&i| catalog.item(i).price)
            .filter(|p| *p > 0.0)
            .map(f32::ln)
            .collect();
        let mean_ln_price =
            (!prices.is_empty()).then(|| prices.iter().sum::<f32>() / prices.len() as f32);
        let retrieval = normalize(retrieval);
        RequestContext {
            items,
            set: seen,
            links,
            both_ways,
            categories,
            brands,
            embedding,
            mean_ln_price,
            retrieval,
            sequence: None,
        }
    }

    /// No context items or retrieval scores, only what `sequence_score` reads (training rows,
    /// pages kept for learning).
    pub fn of_sequence(sequence: Option<super::SequenceInput>) -> Self {
        RequestContext {
            sequence,
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn contains(&self, idx: u32) -> bool {
        self.set.contains(&idx)
    }

    /// Co-purchase strength between the candidate and the context, both directions averaged
    /// (a neighbour list is one-sided: the candidate may list a context item it was not listed by).
    pub fn copurchase(&self, idx: u32) -> f32 {
        self.both_ways.get(&idx).copied().unwrap_or(0.0)
    }

    /// The context item this candidate is most strongly bought with (either direction).
    pub fn goes_with(&self, catalog: &CatalogSnapshot, idx: u32) -> Option<(u32, f32)> {
        let forward = self
            .links
            .get(&idx)
            .map(|l| (l.best_source, l.best_contribution));
        let backward = catalog
            .item(idx)
            .related
            .iter()
            .filter(|(j, _)| self.set.contains(j))
            .map(|&(j, w)| (j, w))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        match (forward, backward) {
            (Some(f), Some(b)) => Some(if b.1 > f.1 { b } else { f }),
            (f, b) => f.or(b),
        }
    }

    pub fn embedding_similarity(&self, catalog: &CatalogSnapshot, idx: u32) -> f32 {
        match (&self.embedding, &catalog.item(idx).embedding) {
            (Some(a), Some(b)) => a.iter().zip(b.iter()).map(|(x, y)| x * y).sum(),
            _ => 0.0,
        }
    }

    pub fn same_category(&self, catalog: &CatalogSnapshot, idx: u32) -> f32 {
        self.share(&self.categories, catalog.item(idx).category)
    }

    pub fn same_brand(&self, catalog: &CatalogSnapshot, idx: u32) -> f32 {
        self.share(&self.brands, catalog.item(idx).brand)
    }

    /// Share of the context items with attribute `id` (0 for "none" or without a context).
    fn share(&self, counts: &FxHashMap<u32, u32>, id: u32) -> f32 {
        if self.items.is_empty() || id == 0 {
            return 0.0;
        }
        counts.get(&id).copied().unwrap_or(0) as f32 / self.items.len() as f32
    }

    pub fn price_vs(&self, catalog: &CatalogSnapshot, idx: u32) -> f32 {
        let item = catalog.item(idx);
        match self.mean_ln_price {
            Some(m) if item.price > 0.0 => (item.log_price - m).clamp(-5.0, 5.0),
            _ => 0.0,
        }
    }

    /// The context item this candidate looks most like: the best embedding match, else the
    /// first context item of the same category.
    pub fn looks_like(&self, catalog: &CatalogSnapshot, idx: u32) -> Option<(u32, f32)> {
        let item = catalog.item(idx);
        let by_embedding = item.embedding.as_ref().and_then(|e| {
            self.items
                .iter()
                .filter_map(|&c| {
                    let ce = catalog.item(c).embedding.as_ref()?;
                    Some((c, e.iter().zip(ce.iter()).map(|(x, y)| x * y).sum::<f32>()))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        });
        by_embedding.filter(|(_, s)| *s >= 0.8).or_else(|| {
            self.items
                .iter()
                .find(|&&c| item.category != 0 && catalog.item(c).category == item.category)
                .map(|&c| (c, 0.8))
        })
    }
}

/// Each earlier context item weighs this much of the next one.
/// Chosen on the validation cutoff of `tailor replay --task complete-cart` (2011-09-01, 30
/// days): 1.0 (order ignored) scores NDCG@10 0.143, 0.9 0.188, 0.7 0.235, 0.5 0.257.
pub const EARLIER: f32 = 0.5;

/// Weight of the context item at position `k` of `n` (the last weighs 1).
fn position_weight(k: usize, n: usize) -> f32 {
    EARLIER.powi((n - 1 - k) as i32).max(1e-3)
}

/// Co-purchase strength of every item linked to a context item, either way: the context
/// items' neighbours (`links`, forward) and the items whose own list names a context item
/// (backward: the sum, in the order of that item's list, of neighbour weight × context weight),
/// averaged. Items linked neither way are left out (strength 0).
fn both_ways(
    catalog: &CatalogSnapshot,
    items: &[u32],
    weight: &FxHashMap<u32, f32>,
    links: &FxHashMap<u32, Copurchase>,
) -> FxHashMap<u32, f32> {
    if items.is_empty() {
        return FxHashMap::default();
    }
    let listed = catalog.listed_by();
    // A product page or a small cart weighs by position; a large cart by the weight map (the
    // same values; kept as the per-candidate sums were defined).
    let small = items.len() <= 8;
    let mut backward: Vec<(u32, u32, f32)> = Vec::new();
    for (k, &c) in items.iter().enumerate() {
        let cw = if small {
            position_weight(k, items.len())
        } else {
            weight.get(&c).copied().unwrap_or(1.0)
        };
        backward.extend(
            listed
                .of(c)
                .iter()
                .map(|l| (l.by, l.position, l.weight * cw)),
        );
    }
    // In the order of each lister's own list, so the sums add up exactly as a scan of it would.
    backward.sort_unstable_by_key(|&(by, position, _)| (by, position));
    let forward = |j: u32| links.get(&j).map(|l| l.score).unwrap_or(0.0);
    let mut out: FxHashMap<u32, f32> =
        FxHashMap::with_capacity_and_hasher(links.len() + backward.len(), Default::default());
    for group in backward.chunk_by(|a, b| a.0 == b.0) {
        let j = group[0].0;
        let back: f32 = group.iter().map(|e| e.2).sum();
        out.insert(j, (forward(j) + back) / 2.0);
    }
    let nothing_back: f32 = std::iter::empty::<f32>().sum();
    for (&j, l) in links {
        out.entry(j).or_insert((l.score + nothing_back) / 2.0);
    }
    out
}

/// Min-max normalize to 0..1 (all equal: 1 each, so a flat list means "all relevant").
fn normalize(scores: &[(u32, f64)]) -> FxHashMap<u32, f32> {
    let lo = scores.iter().map(|s| s.1).fold(f64::INFINITY, f64::min);
    let hi = scores.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
    let span = hi - lo;
    scores
        .iter()
        .map(|&(i, s)| {
            let v = if span > 0.0 { (s - lo) / span } else { 1.0 };
            (i, v as f32)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Item, RelatedItem};

    fn item(id: &str, cat: &str, price: f64, emb: Vec<f32>, related: &[(&str, f64)]) -> Item {
        Item {
            id: id.into(),
            title: id.into(),
            category: cat.into(),
            brand: String::new(),
            price,
            tags: vec![],
            in_stock: true,
            margin: None,
            embedding: Some(emb),
            popularity: 1.0,
            repeat_rate: None,
            related: related
                .iter()
                .map(|(i, w)| RelatedItem {
                    item_id: (*i).into(),
                    weight: *w,
                })
                .collect(),
        }
    }

    #[test]
    fn context_signals() {
        let catalog = CatalogSnapshot::build(vec![
            item(
                "tent",
                "camp",
                100.0,
                vec![1.0, 0.0],
                &[("pegs", 1.0), ("mat", 0.5)],
            ),
            item("pegs", "camp", 10.0, vec![0.0, 1.0], &[]),
            item("mat", "camp", 20.0, vec![1.0, 0.1], &[("tent", 1.0)]),
            item("book", "read", 10.0, vec![-1.0, 0.0], &[]),
        ]);
        let tent = catalog.get("tent").unwrap();
        let book = catalog.get("book").unwrap();
        let ctx = RequestContext::build(&catalog, &[tent, tent], &[(book, 3.0), (tent, 1.0)]);
        assert_eq!(ctx.items, vec![tent], "duplicates are dropped");
        let (pegs, mat) = (catalog.get("pegs").unwrap(), catalog.get("mat").unwrap());
        assert!((ctx.copurchase(pegs) - 0.5).abs() < 1e-6);
        assert!((ctx.copurchase(mat) - 0.75).abs() < 1e-6, "both directions");
        assert_eq!(ctx.copurchase(book), 0.0);
        assert!(ctx.embedding_similarity(&catalog, mat) > 0.99);
        assert_eq!(ctx.same_category(&catalog, pegs), 1.0);
        assert_eq!(ctx.same_category(&catalog, book), 0.0);
        assert!((ctx.price_vs(&catalog, pegs) - (0.1f32).ln()).abs() < 1e-5);
        assert_eq!(ctx.retrieval[&book], 1.0);
        assert_eq!(ctx.retrieval[&tent], 0.0);
        assert_eq!(ctx.looks_like(&catalog, mat).map(|l| l.0), Some(tent));
        assert_eq!(ctx.looks_like(&catalog, book), None);
        assert_eq!(
            ctx.goes_with(&catalog, mat),
            Some((tent, 1.0)),
            "mat lists tent"
        );
        assert_eq!(ctx.goes_with(&catalog, book), None);
        let empty = RequestContext::default();
        assert_eq!(empty.copurchase(pegs), 0.0);
        assert_eq!(empty.same_category(&catalog, pegs), 0.0);
    }

    /// The strength worked out once per request equals, bit for bit, the sum over the
    /// candidate's own neighbour list (how it was defined), for a product page, a cart and a
    /// wholesaler's cart.
    #[test]
    fn copurchase_matches_a_scan_of_each_candidates_list() {
        let n = 300usize;
        let mut seed = 7u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let items: Vec<Item> = (0..n)
            .map(|i| {
                let related: Vec<(String, f64)> = (0..12)
                    .map(|_| {
                        (
                            format!("i{}", next() % n as u64),
                            (next() % 1000) as f64 / 997.0 + 0.01,
                        )
                    })
                    .collect();
                let related: Vec<(&str, f64)> =
                    related.iter().map(|(id, w)| (id.as_str(), *w)).collect();
                item(&format!("i{i}"), "c", 1.0, vec![1.0, 0.0], &related)
            })
            .collect();
        let catalog = CatalogSnapshot::build(items);
        for size in [1usize, 3, 8, 9, 40] {
            let context: Vec<u32> = (0..size).map(|_| (next() % n as u64) as u32).collect();
            let ctx = RequestContext::build(&catalog, &context, &[]);
            let weight_at = |k: usize| {
                if ctx.items.len() <= 8 {
                    position_weight(k, ctx.items.len())
                } else {
                    // The weight map: 1 for the last, EARLIER times the next for each earlier.
                    let mut w = 1.0f32;
                    for _ in 0..ctx.items.len() - 1 - k {
                        w *= EARLIER;
                    }
                    w.max(1e-3)
                }
            };
            for idx in 0..n as u32 {
                let forward = ctx.links.get(&idx).map(|l| l.score).unwrap_or(0.0);
                let backward: f32 = catalog
                    .item(idx)
                    .related
                    .iter()
                    .filter_map(|&(j, w)| {
                        ctx.items
                            .iter()
                            .position(|&c| c == j)
                            .map(|k| w * weight_at(k))
                    })
                    .sum();
                let want = (forward + backward) / 2.0;
                assert_eq!(
                    ctx.copurchase(idx).to_bits(),
                    want.to_bits(),
                    "candidate {idx}, {size} context items"
                );
            }
        }
    }
}
