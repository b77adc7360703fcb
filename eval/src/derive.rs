//! Catalog-level signals a merchant computes from aggregate purchase data (on its server, or here
//! for replays): popularity, co-purchase neighbours, item embeddings and repeat rates. Only
//! events strictly
//! before `cutoff` are used, so an evaluation never sees the future.

use std::collections::HashMap;
use tailor::engine::profile::UserEvent;
use tailor::{EventKind, Item, RelatedItem};

#[derive(Debug, Clone, Copy)]
pub struct DeriveOptions {
    /// Popularity = purchases in this many days before the cutoff.
    pub popularity_days: i64,
    /// Neighbours kept per item.
    pub neighbours: usize,
    /// Embedding dimension (0 = no embeddings).
    pub embedding_dim: usize,
    /// A shopper's most recent distinct items used for co-occurrence (caps wholesalers' weight).
    pub max_items_per_user: usize,
    /// Fill `repeat_rate` (false leaves it unknown, as for a merchant that does not share it).
    pub repeat_rate: bool,
}

/// A purchase at least this long after the shopper's first purchase of the item is a later order.
const LATER_ORDER_SECS: i64 = 3_600;
/// Pseudo-buyers at the shop's overall rate added to every item's count, so an item with few
/// buyers gets a rate near the shop's own rather than 0 or 1.
const REPEAT_PRIOR_BUYERS: f64 = 5.0;

impl Default for DeriveOptions {
    fn default() -> Self {
        DeriveOptions {
            popularity_days: 30,
            neighbours: 50,
            embedding_dim: 16,
            max_items_per_user: 300,
            repeat_rate: true,
        }
    }
}

/// Fill `popularity`, `related` and `embedding` of `items` from events before `cutoff`.
pub fn derive(items: &mut [Item], events: &[UserEvent], cutoff: i64, opts: &DeriveOptions) {
    let index: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.id.as_str(), i))
        .collect();
    let n = items.len();
    let mut popularity = vec![0.0f64; n];
    // Per user: item -> last time (purchases and carts, the strongest co-interest evidence).
    let mut baskets: HashMap<&str, HashMap<usize, i64>> = HashMap::new();
    // Per (user, item) purchased: first and last purchase time.
    let mut bought: HashMap<(&str, usize), (i64, i64)> = HashMap::new();
    let pop_from = cutoff - opts.popularity_days * 86_400;
    for ue in events {
        let e = &ue.event;
        let ts = e.timestamp.unwrap_or(0);
        if ts >= cutoff {
            continue;
        }
        let Some(&i) = index.get(e.item_id.as_str()) else {
            continue;
        };
        if e.kind == EventKind::Purchase && ts >= pop_from {
            popularity[i] += 1.0;
        }
        if e.kind == EventKind::Purchase {
            let span = bought.entry((ue.user_id.as_str(), i)).or_insert((ts, ts));
            span.0 = span.0.min(ts);
            span.1 = span.1.max(ts);
        }
        if matches!(e.kind, EventKind::Purchase | EventKind::AddToCart) {
            let last = baskets
                .entry(ue.user_id.as_str())
                .or_default()
                .entry(i)
                .or_insert(ts);
            *last = (*last).max(ts);
        }
    }
    // Co-occurrence within a shopper's recent items, each shopper's pairs weighted by
    // 1/ln(2 + items) so that wholesalers with thousands of items do not dominate.
    let mut buyers = vec![0.0f64; n];
    let mut co: Vec<HashMap<u32, f32>> = vec![HashMap::new(); n];
    // In user order: float sums depend on the order of their terms, and a HashMap's order changes
    // from run to run, so the same files would give slightly different catalogs (and matrices).
    let mut users: Vec<&&str> = baskets.keys().collect();
    users.sort_unstable();
    for basket in users.iter().filter_map(|u| baskets.get(**u)) {
        let mut list: Vec<(i64, usize)> = basket.iter().map(|(&i, &t)| (t, i)).collect();
        list.sort_unstable_by(|a, b| b.cmp(a));
        list.truncate(opts.max_items_per_user);
        let w = 1.0 / (2.0 + list.len() as f64).ln();
        for &(_, a) in &list {
            buyers[a] += w;
            for &(_, b) in &list {
                if a != b {
                    *co[a].entry(b as u32).or_default() += w as f32;
                }
            }
        }
    }
    // Cosine-normalized neighbours: co(a, b) / sqrt(buyers(a) * buyers(b)).
    let mut sims: Vec<Vec<(u32, f32)>> = Vec::with_capacity(n);
    for (a, row) in co.iter().enumerate() {
        let mut list: Vec<(u32, f32)> = row
            .iter()
            .map(|(&b, &c)| {
                (
                    b,
                    c / ((buyers[a] * buyers[b as usize]).sqrt() as f32).max(1e-9),
                )
            })
            .collect();
        list.sort_unstable_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        list.truncate(opts.neighbours.max(64));
        sims.push(list);
    }
    let names: Vec<String> = items.iter().map(|it| it.id.clone()).collect();
    let embeddings = if opts.embedding_dim > 0 {
        spectral_embedding(&sims, opts.embedding_dim)
    } else {
        Vec::new()
    };
    let repeat_rates = (opts.repeat_rate && !bought.is_empty()).then(|| repeat_rates(&bought, n));
    for (i, item) in items.iter_mut().enumerate() {
        item.popularity = popularity[i];
        item.repeat_rate = repeat_rates.as_ref().map(|r| r[i]);
        item.related = sims[i]
            .iter()
            .take(opts.neighbours)
            .map(|&(j, w)| RelatedItem {
                item_id: names[j as usize].clone(),
                weight: (w as f64 * 1e4).round() / 1e4,
            })
            .filter(|r| r.weight > 0.0)
            .collect();
        item.embedding = embeddings.get(i).cloned().flatten();
    }
}

/// Top eigenvectors of the symmetric similarity graph by subspace iteration, scaled by the
/// square root of their eigenvalues. Items without neighbours get no embedding.
fn spectral_embedding(sims: &[Vec<(u32, f32)>], dim: usize) -> Vec<Option<Vec<f32>>> {
    let n = sims.len();
    if n == 0 {
        return Vec::new();
    }
    let k = dim.min(n);
    // Deterministic pseudo-random start.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut q: Vec<Vec<f64>> = (0..k)
        .map(|_| {
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
                })
                .collect()
        })
        .collect();
    let multiply = |v: &[f64]| -> Vec<f64> {
        // (I + (S + S^T) / 2) applied to v: the identity shift keeps the spectrum positive, so
        // iteration converges to the strongest clusters rather than to oscillating eigenvectors.
        let mut out = v.to_vec();
        for (a, row) in sims.iter().enumerate() {
            for &(b, w) in row {
                let w = w as f64 * 0.5;
                out[a] += w * v[b as usize];
                out[b as usize] += w * v[a];
            }
        }
        out
    };
    for _ in 0..25 {
        q = q.iter().map(|v| multiply(v)).collect();
        orthonormalize(&mut q);
    }
    let eig: Vec<f64> = q.iter().map(|v| dot(v, &multiply(v)).max(0.0)).collect();
    (0..n)
        .map(|i| {
            if sims[i].is_empty() {
                return None;
            }
            let e: Vec<f32> = (0..k).map(|c| (q[c][i] * eig[c].sqrt()) as f32).collect();
            let norm = e.iter().map(|x| x * x).sum::<f32>().sqrt();
            (norm > 0.0).then(|| e.iter().map(|x| (x / norm * 1e4).round() / 1e4).collect())
        })
        .collect()
}

/// Per item: the share of its buyers who bought it again on a later order, smoothed towards the
/// shop's overall share (rounded to 4 digits, like a CSV a merchant would ship).
fn repeat_rates(bought: &HashMap<(&str, usize), (i64, i64)>, n: usize) -> Vec<f64> {
    let mut buyers = vec![0.0f64; n];
    let mut again = vec![0.0f64; n];
    for (&(_, i), &(first, last)) in bought {
        buyers[i] += 1.0;
        if last - first >= LATER_ORDER_SECS {
            again[i] += 1.0;
        }
    }
    let shop = again.iter().sum::<f64>() / buyers.iter().sum::<f64>().max(1.0);
    (0..n)
        .map(|i| {
            let rate = (again[i] + REPEAT_PRIOR_BUYERS * shop) / (buyers[i] + REPEAT_PRIOR_BUYERS);
            (rate * 1e4).round() / 1e4
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn orthonormalize(q: &mut [Vec<f64>]) {
    for c in 0..q.len() {
        for p in 0..c {
            let d = dot(&q[c], &q[p]);
            let prev = q[p].clone();
            for (x, y) in q[c].iter_mut().zip(&prev) {
                *x -= d * y;
            }
        }
        let norm = dot(&q[c], &q[c]).sqrt();
        if norm > 0.0 {
            q[c].iter_mut().for_each(|x| *x /= norm);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::item;

    fn buy(user: &str, id: &str, ts: i64) -> UserEvent {
        UserEvent::purchase(user, id, ts)
    }

    #[test]
    fn neighbours_and_popularity_come_from_before_the_cutoff_only() {
        let mut items: Vec<Item> = ["a", "b", "c", "d"].iter().map(|i| item(i)).collect();
        let events = vec![
            buy("u1", "a", 10),
            buy("u1", "b", 11),
            buy("u2", "a", 12),
            buy("u2", "b", 13),
            buy("u3", "c", 14),
            buy("u3", "d", 15),
            // After the cutoff: must not count.
            buy("u4", "a", 100),
            buy("u4", "c", 100),
        ];
        derive(
            &mut items,
            &events,
            50,
            &DeriveOptions {
                embedding_dim: 2,
                ..Default::default()
            },
        );
        assert_eq!(items[0].popularity, 2.0);
        assert_eq!(items[0].related.len(), 1);
        assert_eq!(items[0].related[0].item_id, "b");
        assert!(items[2].related.iter().all(|r| r.item_id != "a"));
        let (ea, eb, ec) = (
            items[0].embedding.clone().unwrap(),
            items[1].embedding.clone().unwrap(),
            items[2].embedding.clone().unwrap(),
        );
        let cos = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
        assert!(
            cos(&ea, &eb) > cos(&ea, &ec),
            "co-bought items embed closer"
        );
    }

    #[test]
    fn repeat_rates_tell_staples_from_one_offs() {
        let mut items: Vec<Item> = ["milk", "sofa", "new"].iter().map(|i| item(i)).collect();
        let day = 86_400;
        let mut events = Vec::new();
        for u in 0..20 {
            let user = format!("u{u}");
            events.push(buy(&user, "milk", day));
            events.push(buy(&user, "milk", 8 * day));
            events.push(buy(&user, "sofa", day));
            // Twice in one order is not a later order.
            events.push(buy(&user, "sofa", day));
        }
        derive(&mut items, &events, 30 * day, &DeriveOptions::default());
        let rate = |i: usize| items[i].repeat_rate.unwrap();
        assert!(rate(0) > 0.8, "milk {}", rate(0));
        assert!(rate(1) < 0.2, "sofa {}", rate(1));
        // No buyers: the shop's own rate (half of all buyers bought again).
        assert_eq!(rate(2), 0.5);
        let mut unknown: Vec<Item> = ["milk"].iter().map(|i| item(i)).collect();
        let opts = DeriveOptions {
            repeat_rate: false,
            ..Default::default()
        };
        derive(&mut unknown, &events, 30 * day, &opts);
        assert_eq!(unknown[0].repeat_rate, None);
    }
}
