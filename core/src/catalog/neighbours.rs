//! Co-purchase neighbour lists as the merchant gave them, kept in catalog terms.
//!
//! An item's `related` list names other items by id. The snapshot keeps every list with the ids
//! replaced by catalog indices; an id the catalog does not have (yet) keeps its name, to resolve
//! when that item arrives. Opening a catalog then resolves the stored text in place instead of
//! allocating a string per neighbour (200,000 of them for 10,000 items with 20 neighbours, about
//! half of the time open took), and a rebuild re-resolves through the previous snapshot.

use super::store::related_pairs;
use crate::types::RelatedItem;
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Flags an entry whose item is not in the catalog; the other bits index `NeighbourLists::unknown`.
/// At most 1,000,000 items of 200 neighbours each, so the count fits below it.
const UNKNOWN: u32 = 1 << 31;

/// One neighbour: a catalog index, or `UNKNOWN | k` for the k-th unknown id; the weight as given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    to: u32,
    weight: f64,
}

/// Every item's list, in catalog order, weights as given (ranking reads the resolved
/// `CatalogItem::related` instead; these are what a rebuild and a stored record need). One flat
/// array, not an allocation per item: open builds it from `catalog.image` in one copy.
#[derive(Debug, Default)]
pub struct NeighbourLists {
    /// Item `i`'s list is `entries[starts[i]..starts[i + 1]]`.
    entries: Vec<Entry>,
    starts: Vec<u32>,
    unknown: Vec<Box<str>>,
}

/// Neighbours as ranking reads them (`CatalogItem::related`): (catalog index, relative weight).
pub type Ranked = Box<[(u32, f32)]>;

/// Where an item's list comes from when a snapshot is built.
pub enum Given<'a> {
    /// A record from the app (or a tool).
    Named(&'a [RelatedItem]),
    /// The `related` column as `catalog.db` stores it.
    Stored(&'a [u8]),
    /// The list of item `.0` of the previous snapshot: the item is unchanged by this write.
    Previous(u32),
}

/// One item's list resolved against a new catalog.
pub struct Resolved {
    /// Unknown entries index `unknown` (renumbered when the lists are collected).
    entries: Vec<Entry>,
    unknown: Vec<Box<str>>,
    /// What ranking reads: the known neighbours other than the item itself with a positive
    /// weight, weights relative to the strongest in the list.
    pub related: Ranked,
}

/// The previous snapshot's lists, with where each of its items now is.
pub struct Previous<'a> {
    pub lists: &'a NeighbourLists,
    /// Item ids by previous index.
    pub ids: Vec<&'a str>,
    /// New index by previous index (`u32::MAX`: removed).
    pub moved_to: Vec<u32>,
}

/// Resolves lists against a new catalog's ids.
pub struct Resolver<'a> {
    pub index: &'a FxHashMap<Arc<str>, u32>,
    pub previous: Option<Previous<'a>>,
}

impl Resolver<'_> {
    pub fn resolve(&self, item: u32, given: &Given) -> Resolved {
        let mut entries = Vec::new();
        let mut unknown: Vec<Box<str>> = Vec::new();
        let mut add = |id: &str, known: Option<u32>, weight: f64| {
            let to = match known.or_else(|| self.index.get(id).copied()) {
                Some(j) => j,
                None => {
                    unknown.push(id.into());
                    UNKNOWN | (unknown.len() as u32 - 1)
                }
            };
            entries.push(Entry { to, weight });
        };
        match given {
            Given::Named(list) => {
                for n in *list {
                    add(&n.item_id, None, n.weight);
                }
            }
            Given::Stored(text) => {
                for (id, weight) in related_pairs(text) {
                    add(&id, None, weight);
                }
            }
            Given::Previous(old) => {
                if let Some(p) = &self.previous {
                    for e in p.lists.list(*old) {
                        if e.to & UNKNOWN != 0 {
                            let name = p.lists.unknown_name(e.to);
                            add(name, None, e.weight);
                        } else {
                            let at = e.to as usize;
                            let name = p.ids.get(at).copied().unwrap_or("");
                            let moved = p.moved_to.get(at).copied().filter(|&j| j != u32::MAX);
                            add(name, moved, e.weight);
                        }
                    }
                }
            }
        }
        let related = ranked(item, &entries);
        Resolved {
            entries,
            unknown,
            related,
        }
    }
}

/// What ranking reads of item `item`'s list: the known neighbours other than itself with a
/// positive weight, weights relative to the strongest in the list.
fn ranked(item: u32, entries: &[Entry]) -> Ranked {
    let max = entries.iter().map(|e| e.weight).fold(0.0, f64::max);
    if max <= 0.0 {
        return Ranked::default();
    }
    entries
        .iter()
        .filter(|e| e.to & UNKNOWN == 0 && e.to != item && e.weight > 0.0)
        .map(|e| (e.to, (e.weight / max) as f32))
        .collect()
}

impl Entry {
    /// The raw form `catalog.image` stores: the catalog index or flagged unknown-id number.
    pub fn raw(&self) -> (u32, f64) {
        (self.to, self.weight)
    }

    /// An entry of the raw form; `NeighbourLists::from_parts` checks where it points.
    pub fn from_raw(to: u32, weight: f64) -> Entry {
        Entry { to, weight }
    }
}

impl NeighbourLists {
    /// The ids of entries whose item is not in the catalog, as `catalog.image` stores them.
    pub fn unknown_ids(&self) -> &[Box<str>] {
        &self.unknown
    }

    /// The lists from raw entries (`Entry::from_raw`; item `i`'s end at `ends[i]`), with what
    /// ranking reads; `None` when the ends are not in order or an entry points outside `items`
    /// items or the unknown ids.
    pub fn from_parts(
        entries: Vec<Entry>,
        ends: &[u32],
        unknown: Vec<Box<str>>,
        items: usize,
    ) -> Option<(NeighbourLists, Vec<Ranked>)> {
        let valid = |e: &Entry| {
            if e.to & UNKNOWN != 0 {
                ((e.to & !UNKNOWN) as usize) < unknown.len()
            } else {
                (e.to as usize) < items
            }
        };
        let ordered = ends.windows(2).all(|w| w[0] <= w[1]);
        if ends.len() != items
            || !ordered
            || ends.last().map_or(0, |&e| e as usize) != entries.len()
            || !entries.iter().all(valid)
        {
            return None;
        }
        let mut starts = Vec::with_capacity(items + 1);
        starts.push(0);
        starts.extend_from_slice(ends);
        let lists = NeighbourLists {
            entries,
            starts,
            unknown,
        };
        let related = (0..items as u32)
            .map(|item| ranked(item, lists.list(item)))
            .collect();
        Some((lists, related))
    }

    /// Every item's list from its resolution (in catalog order), and what ranking reads.
    pub fn collect(resolved: Vec<Resolved>) -> (NeighbourLists, Vec<Ranked>) {
        let total = resolved.iter().map(|r| r.entries.len()).sum();
        let mut out = NeighbourLists {
            entries: Vec::with_capacity(total),
            starts: Vec::with_capacity(resolved.len() + 1),
            unknown: Vec::new(),
        };
        out.starts.push(0);
        let mut related = Vec::with_capacity(resolved.len());
        for mut r in resolved {
            if !r.unknown.is_empty() {
                let base = out.unknown.len() as u32;
                for e in r.entries.iter_mut().filter(|e| e.to & UNKNOWN != 0) {
                    e.to = UNKNOWN | (base + (e.to & !UNKNOWN));
                }
                out.unknown.append(&mut r.unknown);
            }
            out.entries.extend_from_slice(&r.entries);
            out.starts.push(out.entries.len() as u32);
            related.push(r.related);
        }
        (out, related)
    }

    /// Item `item`'s list (empty beyond the catalog).
    pub fn list(&self, item: u32) -> &[Entry] {
        let i = item as usize;
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&a), Some(&b)) => self.entries.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    fn unknown_name(&self, to: u32) -> &str {
        self.unknown.get((to & !UNKNOWN) as usize).map_or("", |s| s)
    }

    fn name<'s>(&'s self, e: &Entry, ids: &impl Fn(u32) -> &'s str) -> &'s str {
        if e.to & UNKNOWN != 0 {
            self.unknown_name(e.to)
        } else {
            ids(e.to)
        }
    }

    /// Item `item`'s list as the app gave it (`ids` names a catalog index).
    pub fn named<'s>(&'s self, item: u32, ids: impl Fn(u32) -> &'s str) -> Vec<RelatedItem> {
        self.list(item)
            .iter()
            .map(|e| RelatedItem {
                item_id: self.name(e, &ids).to_owned(),
                weight: e.weight,
            })
            .collect()
    }

    /// Whether `new` is item `item`'s list, weights compared to 1e-9: a catalog read back from
    /// SQLite has its weights through JSON, which may differ from the app's in the last bit.
    pub fn same<'s>(
        &'s self,
        item: u32,
        ids: impl Fn(u32) -> &'s str,
        new: &[RelatedItem],
    ) -> bool {
        let old = self.list(item);
        old.len() == new.len()
            && old.iter().zip(new).all(|(x, y)| {
                self.name(x, &ids) == y.item_id
                    && (x.weight - y.weight).abs()
                        <= 1e-9 * x.weight.abs().max(y.weight.abs()).max(1.0)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: &str, weight: f64) -> RelatedItem {
        RelatedItem {
            item_id: id.into(),
            weight,
        }
    }

    fn index(ids: &[&str]) -> FxHashMap<Arc<str>, u32> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| (Arc::from(*id), i as u32))
            .collect()
    }

    /// A resolver for a first build (no previous snapshot).
    fn first(index: &FxHashMap<Arc<str>, u32>) -> Resolver<'_> {
        Resolver {
            index,
            previous: None,
        }
    }

    #[test]
    fn stored_and_named_lists_resolve_alike_and_name_back() {
        let ids = ["a", "b", "c"];
        let index = index(&ids);
        let resolver = first(&index);
        let list = vec![
            n("c", 2.0),
            n("zz", 4.0),
            n("b", 1.0),
            n("b", 0.0),
            n("q\"x", 1.0),
        ];
        let text = serde_json::to_string(
            &list
                .iter()
                .map(|r| (r.item_id.as_str(), r.weight))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let named = resolver.resolve(1, &Given::Named(&list));
        let stored = resolver.resolve(1, &Given::Stored(text.as_bytes()));
        // Unknown ids and the item itself are skipped; weights relative to the strongest (zz).
        assert_eq!(&*named.related, &[(2, 0.5)]);
        assert_eq!(named.related, stored.related);
        let (lists, _) = NeighbourLists::collect(vec![named, stored]);
        let name = |i: u32| ids[i as usize];
        assert_eq!(lists.named(0, name), list);
        assert_eq!(lists.named(1, name), list);
        assert!(lists.same(1, name, &list));
        let mut nearly = list.clone();
        nearly[0].weight = 2.0 + 1e-12;
        assert!(lists.same(1, name, &nearly), "JSON's last bit");
        assert!(!lists.same(1, name, &list[1..]));
        let mut other = list.clone();
        other[0].weight = 2.1;
        assert!(!lists.same(1, name, &other));
    }

    #[test]
    fn a_rebuild_resolves_through_the_previous_lists() {
        let before = ["a", "b", "c"];
        let old_index = index(&before);
        let old = first(&old_index);
        let lists = [vec![n("c", 1.0), n("new", 3.0)], vec![n("a", 1.0)], vec![]];
        let (old_lists, _) = NeighbourLists::collect(
            lists
                .iter()
                .enumerate()
                .map(|(i, l)| old.resolve(i as u32, &Given::Named(l)))
                .collect(),
        );
        // "c" is removed and "new" arrives: a's list now resolves "new" and drops "c".
        let after = ["a", "b", "new"];
        let new_index = index(&after);
        let resolver = Resolver {
            index: &new_index,
            previous: Some(Previous {
                lists: &old_lists,
                ids: before.to_vec(),
                moved_to: vec![0, 1, u32::MAX],
            }),
        };
        let a = resolver.resolve(0, &Given::Previous(0));
        assert_eq!(&*a.related, &[(2, 1.0)]);
        let b = resolver.resolve(1, &Given::Previous(1));
        assert_eq!(&*b.related, &[(0, 1.0)]);
        let (new_lists, _) = NeighbourLists::collect(vec![a, b]);
        let name = |i: u32| after[i as usize];
        assert_eq!(
            new_lists.named(0, name),
            lists[0],
            "the removed id is kept by name"
        );
        assert_eq!(new_lists.named(1, name), lists[1]);
    }
}
