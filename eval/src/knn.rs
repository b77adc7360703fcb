//! The `item_knn` baseline of `tailor replay`: item-to-item collaborative filtering.
//!
//! Each shopper's history before the cutoff is the set of distinct catalog items they interacted
//! with (every event but a dismissal; the most recent [`MAX_ITEMS_PER_USER`]). Two items are as
//! similar as the cosine between their shopper sets, `both / sqrt(a * b)`; each item keeps its
//! [`NEIGHBOURS`] most similar. A shopper's score for an item is the sum of its similarities to
//! their history items, counted over the *other* shoppers (the shopper's own history is taken
//! out of the counts, so their items do not look similar just because they bought them
//! together). Items they already have compete on the same score: a repeat ranks high where it
//! co-occurs with the rest of their history. Ties go to the more popular item; the list is padded
//! with the popularity order.

use crate::world::World;
use rustc_hash::{FxHashMap, FxHashSet};
use tailor::engine::profile::UserEvent;
use tailor::EventKind;

/// History items per shopper (the most recent), as the derived co-purchase signal does.
pub const MAX_ITEMS_PER_USER: usize = 300;
/// Neighbours kept per item.
pub const NEIGHBOURS: usize = 200;

pub struct ItemKnn {
    /// Per item: (neighbour, shoppers with both), the most similar first.
    neighbours: Vec<Vec<(u32, u32)>>,
    /// Shoppers with the item in their history.
    count: Vec<u32>,
    /// Position in the popularity order (0 = most popular), for ties.
    rank: Vec<u32>,
}

/// Distinct catalog items of the shopper's events before `cutoff`, most recent first.
fn history(world: &World, events: &[UserEvent], cutoff: i64) -> Vec<u32> {
    let mut seen = FxHashSet::default();
    let mut out = Vec::new();
    for e in events.iter().rev() {
        if e.event.timestamp.unwrap_or(0) >= cutoff || e.event.kind == EventKind::Dismiss {
            continue;
        }
        if let Some(i) = world.catalog.get(&e.event.item_id) {
            if seen.insert(i) {
                out.push(i);
                if out.len() == MAX_ITEMS_PER_USER {
                    break;
                }
            }
        }
    }
    out
}

impl ItemKnn {
    /// Similarities from every shopper's history before `cutoff`.
    pub fn build(world: &World, cutoff: i64) -> ItemKnn {
        let n = world.catalog.len();
        let mut count = vec![0u32; n];
        let mut co: Vec<FxHashMap<u32, u32>> = vec![FxHashMap::default(); n];
        for events in world.users.values() {
            let items = history(world, events, cutoff);
            for &a in &items {
                count[a as usize] += 1;
                let row = &mut co[a as usize];
                for &b in &items {
                    if a != b {
                        *row.entry(b).or_default() += 1;
                    }
                }
            }
        }
        let neighbours = co
            .into_iter()
            .enumerate()
            .map(|(a, row)| {
                let cosine = |b: u32, both: u32| {
                    both as f64 / (count[a] as f64 * count[b as usize] as f64).sqrt().max(1.0)
                };
                let mut list: Vec<(u32, u32)> = row.into_iter().collect();
                list.sort_unstable_by(|x, y| {
                    cosine(y.0, y.1)
                        .total_cmp(&cosine(x.0, x.1))
                        .then(x.0.cmp(&y.0))
                });
                list.truncate(NEIGHBOURS);
                list
            })
            .collect();
        let mut rank = vec![u32::MAX; n];
        for (r, &i) in world.catalog.in_stock_by_popularity.iter().enumerate() {
            rank[i as usize] = r as u32;
        }
        ItemKnn {
            neighbours,
            count,
            rank,
        }
    }

    /// The shopper's top `k` in-stock items, padded with `popular`.
    pub fn recommend<'a>(
        &self,
        world: &'a World,
        events: &[UserEvent],
        cutoff: i64,
        popular: &[&'a str],
        k: usize,
    ) -> Vec<&'a str> {
        let items = history(world, events, cutoff);
        let mine: FxHashSet<u32> = items.iter().copied().collect();
        let count = |i: u32| self.count.get(i as usize).copied().unwrap_or(0);
        let mut scores: FxHashMap<u32, f32> = FxHashMap::default();
        for &i in &items {
            // Counts without this shopper, who has i (and every j of theirs).
            let others_i = count(i).saturating_sub(1);
            for &(j, both) in self.neighbours.get(i as usize).into_iter().flatten() {
                let own = mine.contains(&j) as u32;
                let both = both.saturating_sub(own);
                let others_j = count(j).saturating_sub(own);
                if both > 0 && others_i > 0 && others_j > 0 {
                    let sim = both as f64 / (others_i as f64 * others_j as f64).sqrt();
                    *scores.entry(j).or_default() += sim as f32;
                }
            }
        }
        let mut list: Vec<(f32, u32, u32)> = scores
            .into_iter()
            .filter(|&(i, _)| world.catalog.item(i).in_stock)
            .map(|(i, s)| (s, self.rank.get(i as usize).copied().unwrap_or(u32::MAX), i))
            .collect();
        list.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let out: Vec<&str> = list
            .into_iter()
            .take(k)
            .map(|(_, _, i)| &*world.catalog.item(i).id)
            .collect();
        super::replay::fill_with_popular(out, popular, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::DeriveOptions;
    use crate::test_support::item;
    use tailor::Item;

    fn ev(user: &str, item: &str, ts: i64) -> UserEvent {
        UserEvent::purchase(user, item, ts)
    }

    #[test]
    fn co_occurring_items_by_similarity_without_the_shopper_then_popular() {
        let items: Vec<Item> = ["a", "b", "c", "d", "e"].iter().map(|i| item(i)).collect();
        // b always comes with a; c once; d is popular and unrelated; e only after the cutoff.
        let events = vec![
            ev("u1", "a", 1),
            ev("u1", "b", 2),
            ev("u2", "a", 1),
            ev("u2", "b", 2),
            ev("u3", "a", 1),
            ev("u3", "c", 2),
            ev("u4", "d", 1),
            ev("u5", "d", 1),
            ev("u6", "d", 1),
            ev("u6", "e", 100),
            ev("me", "a", 3),
        ];
        let world = World::build(items, events, 50, &DeriveOptions::default());
        let knn = ItemKnn::build(&world, 50);
        let popular = ["d", "a"];
        let me = &world.users["me"];
        let got = knn.recommend(&world, me, 50, &popular, 4);
        // Without "me": b (2/sqrt(3*2) = 0.82), c (1/sqrt(3*1) = 0.58), then padding; a co-occurs
        // with nothing else of mine, so it comes back only as padding.
        assert_eq!(got, ["b", "c", "d", "a"]);
        // A repeat ranks by its co-occurrence with the rest of the history: for u1 (a, b), a, b
        // and c all score 1/sqrt(3), and the tie goes to popularity (a 4, b 2, c 1 buyers).
        let them = &world.users["u1"];
        assert_eq!(
            knn.recommend(&world, them, 50, &popular, 3),
            ["a", "b", "c"]
        );
        // Nothing after the cutoff counts: e has no neighbours.
        assert!(knn.neighbours[world.catalog.get("e").unwrap() as usize].is_empty());
    }
}
