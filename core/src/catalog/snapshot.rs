//! The immutable in-memory catalog that ranking reads. Writers build a new one and swap it in.
//!
//! Strings are interned into small integer ids once here, so per-candidate feature code works on
//! integers and dense arrays instead of hashing strings.

use super::neighbours::{Given, NeighbourLists, Previous, Ranked, Resolved, Resolver};
use super::store::StoredItem;
use crate::types::Item;
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Interned strings; id 0 is the empty string ("no value").
#[derive(Debug, Default, Clone)]
pub struct Vocab {
    names: Vec<Arc<str>>,
    ids: FxHashMap<Arc<str>, u32>,
}

impl Vocab {
    fn new() -> Self {
        let mut v = Vocab::default();
        v.intern("");
        v
    }
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        let name: Arc<str> = Arc::from(s);
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }
    pub fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }
    /// Every name, by id (id 0 is the empty string).
    pub(super) fn names(&self) -> &[Arc<str>] {
        &self.names
    }
    /// The vocabulary with these names by id; `None` unless the first is "" and all differ.
    pub(super) fn from_names(names: Vec<Arc<str>>) -> Option<Vocab> {
        if names.first().map(|n| &**n) != Some("") {
            return None;
        }
        let mut ids = FxHashMap::with_capacity_and_hasher(names.len(), Default::default());
        for (i, n) in names.iter().enumerate() {
            if ids.insert(n.clone(), i as u32).is_some() {
                return None;
            }
        }
        Some(Vocab { names, ids })
    }
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map(|s| &**s).unwrap_or("")
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.len() <= 1
    }
}

/// Price band of a price: octaves (powers of two), so "usual price" works in any currency.
pub fn price_band(price: f64) -> i32 {
    if price <= 0.0 {
        return -20;
    }
    price.log2().round().clamp(-20.0, 40.0) as i32
}

fn log_price(price: f32) -> f32 {
    if price > 0.0 {
        price.ln()
    } else {
        0.0
    }
}

/// One item in ranking-ready form.
#[derive(Debug, Clone)]
pub struct CatalogItem {
    pub id: Arc<str>,
    pub category: u32,
    pub brand: u32,
    pub tags: Box<[u32]>,
    pub price: f32,
    pub price_band: i32,
    pub in_stock: bool,
    pub margin: Option<f32>,
    /// Share of buyers who bought it again (merchant data), when known.
    pub repeat_rate: Option<f32>,
    /// L2-normalized, so a dot product is a cosine similarity.
    pub embedding: Option<Box<[f32]>>,
    pub popularity: f32,
    /// `ln(1 + popularity)` and `ln(1 + price)` (negatives as 0): features of every candidate,
    /// computed once per catalog change instead of once per rank call.
    pub ln_popularity: f32,
    pub ln_price: f32,
    /// `ln(price)` for a positive price (else 0): what the price comparisons with the shopper's
    /// usual price and the context read. A `logf` per candidate and call was 5% of a rank.
    pub log_price: f32,
    /// Resolved co-purchase neighbours (catalog index, weight normalized to the item's max).
    pub related: Box<[(u32, f32)]>,
}

#[derive(Debug, Default)]
pub struct CatalogSnapshot {
    /// The records as stored, in the same order as `items`, their `related` lists empty (they
    /// are in `neighbours`; [`CatalogSnapshot::full_record`] puts them back). Shared, so that a
    /// catalog change rebuilds the snapshot without copying every unchanged item.
    pub records: Vec<Arc<Item>>,
    /// Every item's co-purchase list as given, ids as catalog indices; shared by attribute patches.
    neighbours: Arc<NeighbourLists>,
    pub items: Vec<CatalogItem>,
    pub index: FxHashMap<Arc<str>, u32>,
    pub categories: Vocab,
    pub brands: Vocab,
    pub tags: Vocab,
    /// Popularity percentile in [0, 1] per item (1 = most popular).
    pub popularity_percentile: Vec<f32>,
    /// Indices of in-stock items, most popular first (the non-personalized order).
    pub in_stock_by_popularity: Vec<u32>,
    pub embedding_dim: Option<usize>,
    /// Who lists each item as a co-purchase neighbour: built on first use (a context rank), since
    /// only surfaces with context items read it, and kept by attribute patches (which never
    /// change neighbours).
    listed_by: OnceLock<Arc<ListedBy>>,
    /// The `catalog.db` write this snapshot shows (`CatalogStore::stamp`); `None` when it was not
    /// read from or written to a store (tools, tests). Says whether `catalog.image` is current.
    pub stamp: Option<String>,
}

/// The co-purchase neighbour lists turned around: for each item, the items whose `related`
/// list names it, with the position in that list and the weight. A context rank reads the
/// context items' entries instead of scanning every candidate's neighbour list.
#[derive(Debug, Default)]
pub struct ListedBy {
    /// `entries[starts[i]..starts[i + 1]]` list item `i`; one more start than items.
    starts: Vec<u32>,
    entries: Vec<Listing>,
}

/// One place where an item is named as a neighbour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Listing {
    /// The item whose neighbour list names it.
    pub by: u32,
    /// Position in that item's `related` list.
    pub position: u32,
    pub weight: f32,
}

impl ListedBy {
    fn build(items: &[CatalogItem]) -> ListedBy {
        let mut starts = vec![0u32; items.len() + 1];
        for item in items {
            for &(j, _) in item.related.iter() {
                if let Some(s) = starts.get_mut(j as usize + 1) {
                    *s += 1;
                }
            }
        }
        for k in 1..starts.len() {
            starts[k] += starts[k - 1];
        }
        let mut next = starts.clone();
        let total = starts.last().copied().unwrap_or(0) as usize;
        let mut entries = vec![
            Listing {
                by: 0,
                position: 0,
                weight: 0.0
            };
            total
        ];
        for (by, item) in items.iter().enumerate() {
            for (position, &(j, weight)) in item.related.iter().enumerate() {
                if let Some(at) = next.get_mut(j as usize) {
                    entries[*at as usize] = Listing {
                        by: by as u32,
                        position: position as u32,
                        weight,
                    };
                    *at += 1;
                }
            }
        }
        ListedBy { starts, entries }
    }

    /// The items that list `idx` as a neighbour, by ascending index.
    pub fn of(&self, idx: u32) -> &[Listing] {
        let i = idx as usize;
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&a), Some(&b)) => self.entries.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// Catalogs at least this large resolve their neighbours on several threads.
const PARALLEL_RESOLVE_MIN_ITEMS: usize = 4096;

/// Popularity percentile per item (1 = most popular; ties share the best rank) and the in-stock
/// items, most popular first (the non-personalized order).
fn popularity_order(items: &[CatalogItem]) -> (Vec<f32>, Vec<u32>) {
    let mut order: Vec<u32> = (0..items.len() as u32).collect();
    order.sort_by(|&a, &b| {
        let (ia, ib) = (&items[a as usize], &items[b as usize]);
        ib.popularity
            .total_cmp(&ia.popularity)
            .then_with(|| ia.id.cmp(&ib.id))
    });
    let mut percentile = vec![0.0f32; items.len()];
    let n = items.len().max(2) as f32 - 1.0;
    let mut rank_of_value = 0usize;
    for (rank, &i) in order.iter().enumerate() {
        if rank > 0 && items[i as usize].popularity < items[order[rank - 1] as usize].popularity {
            rank_of_value = rank;
        }
        percentile[i as usize] = 1.0 - rank_of_value as f32 / n;
    }
    let in_stock = order
        .into_iter()
        .filter(|&i| items[i as usize].in_stock)
        .collect();
    (percentile, in_stock)
}

fn normalized(v: &[f32]) -> Option<Box<[f32]>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > 0.0 && norm.is_finite()).then(|| v.iter().map(|x| x / norm).collect())
}

/// Item `r` in ranking-ready form: its strings interned already (`tags` as given), its
/// neighbours still to be resolved.
pub(super) fn catalog_item(
    r: &Item,
    id: Arc<str>,
    category: u32,
    brand: u32,
    mut tags: Vec<u32>,
    embedding_dim: Option<usize>,
) -> CatalogItem {
    tags.sort_unstable();
    tags.dedup();
    tags.retain(|&t| t != 0);
    CatalogItem {
        id,
        category,
        brand,
        tags: tags.into(),
        price: r.price as f32,
        price_band: price_band(r.price),
        in_stock: r.in_stock,
        margin: r.margin.map(|m| m as f32),
        repeat_rate: r.repeat_rate.map(|v| v as f32),
        embedding: r
            .embedding
            .as_deref()
            .filter(|e| Some(e.len()) == embedding_dim)
            .and_then(normalized),
        popularity: r.popularity as f32,
        ln_popularity: (r.popularity as f32).max(0.0).ln_1p(),
        ln_price: (r.price as f32).max(0.0).ln_1p(),
        log_price: log_price(r.price as f32),
        related: Box::new([]),
    }
}

impl CatalogSnapshot {
    /// Build from records (validated already). Order is kept; ids are unique.
    pub fn build(mut records: Vec<Item>) -> CatalogSnapshot {
        let lists: Vec<Vec<crate::types::RelatedItem>> = records
            .iter_mut()
            .map(|r| std::mem::take(&mut r.related))
            .collect();
        let given = lists.iter().map(|l| Given::Named(l)).collect();
        Self::assemble(records.into_iter().map(Arc::new).collect(), given, None)
    }

    /// Build from `catalog.db`'s rows, resolving the stored neighbour lists in place.
    pub fn from_stored(rows: Vec<StoredItem>) -> CatalogSnapshot {
        let (records, texts): (Vec<Arc<Item>>, Vec<Box<[u8]>>) = rows
            .into_iter()
            .map(|r| (Arc::new(r.item), r.related))
            .unzip();
        let given = texts.iter().map(|t| Given::Stored(t)).collect();
        Self::assemble(records, given, None)
    }

    /// `records` (their `related` empty) with each one's neighbour list from `given`; `previous`
    /// is the snapshot that `Given::Previous` indices point into.
    fn assemble(
        records: Vec<Arc<Item>>,
        given: Vec<Given>,
        previous: Option<&CatalogSnapshot>,
    ) -> CatalogSnapshot {
        let mut categories = Vocab::new();
        let mut brands = Vocab::new();
        let mut tags = Vocab::new();
        let mut index = FxHashMap::with_capacity_and_hasher(records.len(), Default::default());
        // The most common embedding dimension wins; validation keeps them equal anyway.
        let mut dims: HashMap<usize, usize> = HashMap::new();
        for r in &records {
            if let Some(e) = &r.embedding {
                *dims.entry(e.len()).or_default() += 1;
            }
        }
        let embedding_dim = dims
            .into_iter()
            .max_by_key(|&(d, n)| (n, d))
            .map(|(d, _)| d);
        let mut items = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let id: Arc<str> = Arc::from(r.id.as_str());
            index.insert(id.clone(), i as u32);
            let tag_ids: Vec<u32> = r.tags.iter().map(|t| tags.intern(t)).collect();
            let (category, brand) = (categories.intern(&r.category), brands.intern(&r.brand));
            items.push(catalog_item(r, id, category, brand, tag_ids, embedding_dim));
        }
        // Resolve neighbours now that every id has an index; unknown ids are kept by name until
        // the item arrives (the snapshot is rebuilt on every catalog change). Hundreds of
        // thousands of id lookups in a large catalog, so they are shared among a few threads.
        let resolver = Resolver {
            index: &index,
            previous: previous.map(|p| Previous {
                lists: &p.neighbours,
                ids: p.items.iter().map(|it| &*it.id).collect(),
                moved_to: p
                    .items
                    .iter()
                    .map(|it| index.get(&it.id).copied().unwrap_or(u32::MAX))
                    .collect(),
            }),
        };
        let threads = if records.len() >= PARALLEL_RESOLVE_MIN_ITEMS {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        } else {
            1
        };
        let chunk = records.len().div_ceil(threads).max(1);
        let ranges: Vec<std::ops::Range<usize>> = (0..records.len())
            .step_by(chunk)
            .map(|start| start..(start + chunk).min(records.len()))
            .collect();
        let resolve = |range: std::ops::Range<usize>| -> Vec<Resolved> {
            range
                .map(|i| resolver.resolve(i as u32, &given[i]))
                .collect()
        };
        let resolved: Vec<Resolved> = std::thread::scope(|scope| {
            let others: Vec<_> = ranges
                .iter()
                .skip(1)
                .map(|range| {
                    let range = range.clone();
                    std::thread::Builder::new()
                        .name("tailor-catalog".into())
                        .spawn_scoped(scope, move || resolve(range))
                })
                .collect();
            let mut all = ranges.first().cloned().map(resolve).unwrap_or_default();
            for (handle, range) in others.into_iter().zip(ranges.iter().skip(1)) {
                // A thread that could not start (or failed) is done here instead.
                match handle.ok().and_then(|h| h.join().ok()) {
                    Some(part) => all.extend(part),
                    None => all.extend(resolve(range.clone())),
                }
            }
            all
        });
        CatalogSnapshot::finish(
            records,
            NeighbourLists::collect(resolved),
            items,
            index,
            [categories, brands, tags],
            embedding_dim,
        )
    }

    /// The snapshot of these parts (the items' ranked neighbours beside the lists), with what
    /// is derived from them.
    pub(super) fn finish(
        records: Vec<Arc<Item>>,
        (neighbours, related): (NeighbourLists, Vec<Ranked>),
        mut items: Vec<CatalogItem>,
        index: FxHashMap<Arc<str>, u32>,
        [categories, brands, tags]: [Vocab; 3],
        embedding_dim: Option<usize>,
    ) -> CatalogSnapshot {
        for (item, related) in items.iter_mut().zip(related) {
            item.related = related;
        }
        let (popularity_percentile, in_stock_by_popularity) = popularity_order(&items);
        CatalogSnapshot {
            records,
            neighbours: Arc::new(neighbours),
            items,
            index,
            categories,
            brands,
            tags,
            popularity_percentile,
            in_stock_by_popularity,
            embedding_dim,
            listed_by: OnceLock::new(),
            stamp: None,
        }
    }

    /// This snapshot, showing the `catalog.db` write `stamp`.
    pub fn with_stamp(self, stamp: Option<String>) -> CatalogSnapshot {
        CatalogSnapshot { stamp, ..self }
    }

    /// Every item's neighbour list as given (what `catalog.image` stores).
    pub(super) fn neighbours(&self) -> &NeighbourLists {
        &self.neighbours
    }

    /// Who lists each item as a neighbour (built on the first call for this snapshot).
    pub fn listed_by(&self) -> &ListedBy {
        self.listed_by
            .get_or_init(|| Arc::new(ListedBy::build(&self.items)))
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    pub fn record(&self, idx: u32) -> &Item {
        &self.records[idx as usize]
    }

    pub fn item(&self, idx: u32) -> &CatalogItem {
        &self.items[idx as usize]
    }

    /// The record at `idx` as the app gave it, neighbour list included (`record` leaves it out).
    pub fn full_record(&self, idx: u32) -> Item {
        Item {
            related: self.neighbours.named(idx, |j| self.id_at(j)),
            ..self.record(idx).clone()
        }
    }

    fn id_at(&self, idx: u32) -> &str {
        self.items.get(idx as usize).map_or("", |it| &it.id)
    }

    /// A new snapshot with `upserts` applied (replacing by id) and `removals` dropped.
    pub fn with_changes(&self, upserts: &[Item], removals: &[String]) -> CatalogSnapshot {
        if removals.is_empty() {
            if let Some(next) = self.with_attribute_changes(upserts) {
                return next;
            }
        }
        // Each record with where its neighbour list comes from: unchanged items keep theirs
        // (re-resolved through this snapshot's indices), written ones bring their own.
        let stripped = |item: &Item| {
            Arc::new(Item {
                related: Vec::new(),
                ..item.clone()
            })
        };
        let mut records: Vec<(Arc<Item>, Given)> = self
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.clone(), Given::Previous(i as u32)))
            .collect();
        let mut appended = Vec::new();
        for item in upserts {
            // `index` holds each record's position.
            let entry = (stripped(item), Given::Named(&item.related));
            match self.get(&item.id) {
                Some(p) => records[p as usize] = entry,
                None => appended.push(entry),
            }
        }
        if !removals.is_empty() {
            let gone: std::collections::HashSet<&str> =
                removals.iter().map(|s| s.as_str()).collect();
            records.retain(|(r, _)| !gone.contains(r.id.as_str()));
        }
        records.extend(appended);
        let (records, given) = records.into_iter().unzip();
        CatalogSnapshot::assemble(records, given, Some(self))
    }

    /// The common update — price, stock, margin, popularity or title of items the catalog has —
    /// patches a copy of this snapshot instead of rebuilding it (no interning, no neighbour
    /// resolution). `None` when an item is new or changes its category, brand, tags, embedding
    /// or neighbours.
    fn with_attribute_changes(&self, upserts: &[Item]) -> Option<CatalogSnapshot> {
        let mut positions = Vec::with_capacity(upserts.len());
        for new in upserts {
            let i = self.get(&new.id)? as usize;
            let old = &self.records[i];
            let same_shape = old.category == new.category
                && old.brand == new.brand
                && old.tags == new.tags
                && old.embedding == new.embedding
                && self
                    .neighbours
                    .same(i as u32, |j| self.id_at(j), &new.related);
            if !same_shape {
                return None;
            }
            positions.push(i);
        }
        let mut records = self.records.clone();
        let mut items = self.items.clone();
        for (new, &i) in upserts.iter().zip(&positions) {
            // The neighbour list is unchanged (checked above) and stays in `neighbours`.
            records[i] = Arc::new(Item {
                related: Vec::new(),
                ..new.clone()
            });
            let item = &mut items[i];
            item.price = new.price as f32;
            item.price_band = price_band(new.price);
            item.in_stock = new.in_stock;
            item.margin = new.margin.map(|m| m as f32);
            item.repeat_rate = new.repeat_rate.map(|v| v as f32);
            item.popularity = new.popularity as f32;
            item.ln_popularity = item.popularity.max(0.0).ln_1p();
            item.ln_price = item.price.max(0.0).ln_1p();
            item.log_price = log_price(item.price);
        }
        let (popularity_percentile, in_stock_by_popularity) = popularity_order(&items);
        Some(CatalogSnapshot {
            records,
            neighbours: self.neighbours.clone(),
            items,
            index: self.index.clone(),
            categories: self.categories.clone(),
            brands: self.brands.clone(),
            tags: self.tags.clone(),
            popularity_percentile,
            in_stock_by_popularity,
            embedding_dim: self.embedding_dim,
            listed_by: self.listed_by.clone(),
            stamp: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::RelatedItem;

    pub fn item(id: &str, cat: &str, pop: f64) -> Item {
        Item {
            id: id.into(),
            title: format!("Item {id}"),
            category: cat.into(),
            brand: String::new(),
            price: 10.0,
            tags: vec!["a".into(), "b".into()],
            in_stock: true,
            margin: None,
            embedding: None,
            popularity: pop,
            repeat_rate: None,
            related: vec![],
        }
    }

    /// A catalog read back from `catalog.db` has its weights through JSON: the app sending the
    /// same items again with a new price must still take the attribute patch.
    #[test]
    fn neighbour_lists_read_back_from_sqlite_count_as_unchanged() {
        let items: Vec<Item> = (0..3)
            .map(|i| {
                let mut it = item(&format!("i{i}"), "c", 1.0);
                it.related = vec![RelatedItem {
                    item_id: format!("i{}", (i + 1) % 3),
                    weight: 0.1 + 0.2 * i as f64,
                }];
                it
            })
            .collect();
        let mut store = super::super::CatalogStore::open_in_memory().unwrap();
        store
            .upsert(&items, 1, &crate::cancel::Cancel::default())
            .unwrap();
        let s = CatalogSnapshot::from_stored(store.load_stored().unwrap());
        assert_eq!(s.full_record(1), items[1]);
        let mut repriced = items[1].clone();
        repriced.price = 99.0;
        let patched = s.with_changes(&[repriced.clone()], &[]);
        assert!(Arc::ptr_eq(&s.neighbours, &patched.neighbours), "patched");
        assert_eq!(patched.full_record(1), repriced);
        repriced.related[0].weight = 0.31;
        let rebuilt = s.with_changes(&[repriced.clone()], &[]);
        assert!(!Arc::ptr_eq(&s.neighbours, &rebuilt.neighbours), "rebuilt");
        assert_eq!(rebuilt.full_record(1), repriced);
    }

    /// Removing and adding items re-resolves the other items' lists: a removed neighbour is
    /// skipped but kept by name, and comes back when the item does.
    #[test]
    fn rebuilds_keep_every_list_as_given() {
        let with = |id: &str, related: &[&str]| {
            let mut it = item(id, "c", 1.0);
            it.related = related
                .iter()
                .map(|r| RelatedItem {
                    item_id: r.to_string(),
                    weight: 2.0,
                })
                .collect();
            it
        };
        let items = vec![
            with("a", &["b", "c", "later"]),
            with("b", &["a"]),
            with("c", &[]),
        ];
        let s = CatalogSnapshot::build(items.clone());
        let s2 = s.with_changes(&[with("later", &["c"])], &["b".into()]);
        let ids: Vec<&str> = s2.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "c", "later"]);
        assert_eq!(&*s2.item(0).related, &[(1, 1.0), (2, 1.0)]);
        assert_eq!(&*s2.item(2).related, &[(1, 1.0)]);
        assert_eq!(s2.full_record(0), items[0]);
        let s3 = s2.with_changes(&[with("b", &[])], &[]);
        assert_eq!(&*s3.item(0).related, &[(3, 1.0), (1, 1.0), (2, 1.0)]);
        assert_eq!(s3.full_record(0), items[0]);
    }

    /// A price/stock/popularity update patches the snapshot; the result must equal a full rebuild.
    #[test]
    fn attribute_updates_equal_a_full_rebuild() {
        let items: Vec<Item> = (0..300)
            .map(|i| {
                let mut it = item(&format!("i{i}"), &format!("c{}", i % 7), (i % 13) as f64);
                it.in_stock = i % 5 != 0;
                it.related = vec![RelatedItem {
                    item_id: format!("i{}", (i + 3) % 300),
                    weight: 1.0,
                }];
                it
            })
            .collect();
        let mut s = CatalogSnapshot::build(items);
        for round in 0..20usize {
            let changes: Vec<Item> = (0..5)
                .map(|k| {
                    let i = (round * 37 + k * 61) % 300;
                    let mut it = s.full_record(i as u32);
                    it.price = 1.0 + (round * k) as f64;
                    it.in_stock = (round + k) % 2 == 0;
                    it.popularity = ((round * 7 + k) % 17) as f64;
                    it.margin = Some(0.1 * k as f64);
                    it.title = format!("renamed {round}");
                    it
                })
                .collect();
            let patched = s.with_changes(&changes, &[]);
            let records: Vec<Item> = (0..patched.len() as u32)
                .map(|i| patched.full_record(i))
                .collect();
            let rebuilt = CatalogSnapshot::build(records);
            assert_eq!(patched.popularity_percentile, rebuilt.popularity_percentile);
            assert_eq!(
                patched.in_stock_by_popularity,
                rebuilt.in_stock_by_popularity
            );
            for (a, b) in patched.items.iter().zip(&rebuilt.items) {
                assert_eq!(
                    (a.price, a.price_band, a.in_stock, a.margin, a.popularity),
                    (b.price, b.price_band, b.in_stock, b.margin, b.popularity)
                );
                assert_eq!(
                    (
                        a.ln_popularity.to_bits(),
                        a.ln_price.to_bits(),
                        a.log_price.to_bits()
                    ),
                    (
                        b.ln_popularity.to_bits(),
                        b.ln_price.to_bits(),
                        b.log_price.to_bits()
                    )
                );
                assert_eq!(
                    (&a.id, a.category, &a.tags, &a.related),
                    (&b.id, b.category, &b.tags, &b.related)
                );
            }
            assert_eq!(patched.record(0).title, rebuilt.record(0).title);
            s = patched;
        }
        // A new item or a new category takes the full rebuild, and still lands.
        let mut moved = s.full_record(0);
        moved.category = "elsewhere".into();
        let s2 = s.with_changes(&[moved, item("new", "c1", 2.0)], &[]);
        assert_eq!(s2.len(), 301);
        assert_eq!(s2.item(0).category, s2.categories.get("elsewhere").unwrap());
    }

    /// Large catalogs resolve neighbours on several threads: every item must still get exactly
    /// its own neighbours, in order, self-references and unknown ids dropped.
    #[test]
    fn neighbours_of_a_large_catalog_resolve_like_a_small_one() {
        let n = PARALLEL_RESOLVE_MIN_ITEMS + 1001;
        let id = |i: usize| format!("p{:06}", i % n);
        let items: Vec<Item> = (0..n)
            .map(|i| {
                let mut it = item(&id(i), "c", 1.0);
                it.related = [(i + 1, 1.0), (i, 5.0), (i + 7, 4.0), (usize::MAX, 3.0)]
                    .iter()
                    .map(|&(j, w)| RelatedItem {
                        item_id: if j == usize::MAX {
                            "missing".into()
                        } else {
                            id(j)
                        },
                        weight: w,
                    })
                    .collect();
                it
            })
            .collect();
        let s = CatalogSnapshot::build(items);
        for i in 0..n {
            let want = vec![((i + 1) % n) as u32, ((i + 7) % n) as u32];
            let got: Vec<u32> = s.item(i as u32).related.iter().map(|r| r.0).collect();
            assert_eq!(got, want, "item {i}");
            // Weights relative to the strongest (5.0, the self-reference that was dropped).
            assert_eq!(s.item(i as u32).related[0].1, 0.2);
        }
    }

    /// The turned-around lists hold exactly the neighbour lists' entries, by lister.
    #[test]
    fn listed_by_turns_every_neighbour_list_around() {
        let n = 50;
        let id = |i: usize| format!("p{:03}", i % n);
        let items: Vec<Item> = (0..n)
            .map(|i| {
                let mut it = item(&id(i), "c", 1.0);
                it.related = [(i * 7 + 3, 2.0), (i * 3 + 1, 1.0), (i * 7 + 3, 0.5)]
                    .iter()
                    .map(|&(j, w)| RelatedItem {
                        item_id: id(j),
                        weight: w,
                    })
                    .collect();
                it
            })
            .collect();
        let s = CatalogSnapshot::build(items);
        let listed = s.listed_by();
        for target in 0..n as u32 {
            let want: Vec<Listing> = (0..n as u32)
                .flat_map(|by| {
                    s.item(by)
                        .related
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.0 == target)
                        .map(move |(position, r)| Listing {
                            by,
                            position: position as u32,
                            weight: r.1,
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            assert_eq!(listed.of(target), &want[..], "item {target}");
        }
        assert!(listed.of(n as u32).is_empty(), "beyond the catalog");
        // A new neighbour list (item 3 lists nothing now) rebuilds the snapshot and its lists.
        let emptied = s.with_changes(&[item(&id(3), "c", 9.0)], &[]);
        assert!(emptied.listed_by().of(24).iter().all(|l| l.by != 3));
        assert!(listed.of(24).iter().any(|l| l.by == 3));
        // A price change patches the snapshot and keeps the lists.
        let mut repriced = s.full_record(5);
        repriced.price = 99.0;
        let patched = s.with_changes(&[repriced], &[]);
        assert_eq!(patched.listed_by().of(24), listed.of(24));
    }

    #[test]
    fn interns_and_orders_by_popularity() {
        let mut b = item("b", "toys", 5.0);
        b.related = vec![
            RelatedItem {
                item_id: "a".into(),
                weight: 2.0,
            },
            RelatedItem {
                item_id: "zz".into(),
                weight: 4.0,
            },
        ];
        let mut c = item("c", "toys", 1.0);
        c.in_stock = false;
        let s = CatalogSnapshot::build(vec![item("a", "home", 3.0), b, c]);
        assert_eq!(s.len(), 3);
        assert_eq!(s.item(0).category, s.categories.get("home").unwrap());
        assert_eq!(s.item(1).category, s.item(2).category);
        assert_eq!(s.in_stock_by_popularity, vec![1, 0]);
        assert_eq!(s.popularity_percentile, vec![0.5, 1.0, 0.0]);
        // The unknown neighbour is skipped; weights are relative to the strongest listed.
        assert_eq!(&*s.item(1).related, &[(0, 0.5)]);
    }

    #[test]
    fn changes_replace_append_and_remove() {
        let s = CatalogSnapshot::build(vec![item("a", "x", 1.0), item("b", "x", 2.0)]);
        let s2 = s.with_changes(&[item("b", "y", 2.0), item("c", "x", 0.0)], &["a".into()]);
        let ids: Vec<&str> = s2.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["b", "c"]);
        assert_eq!(s2.categories.name(s2.item(0).category), "y");
    }

    #[test]
    fn price_bands_are_octaves() {
        assert_eq!(price_band(1.0), 0);
        assert_eq!(price_band(8.0), 3);
        assert_eq!(price_band(0.0), -20);
        assert_eq!(price_band(1e300), 40);
    }
}
