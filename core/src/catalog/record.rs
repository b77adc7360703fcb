//! A catalog item as the snapshot keeps it: its attributes, and its co-purchase neighbour list
//! packed — the ids back to back in one string.
//!
//! Opening a 10,000-item catalog with 20 neighbours each decodes 200,000 neighbour entries; an
//! id string of their own (`RelatedItem`) was most of the time of opening. Packed, an item's
//! list is two allocations, whatever its length. `Record::to_item` gives the `Item` back whole.

use crate::types::{Item, RelatedItem};

/// An item's attributes (`related` always empty) and its packed neighbour list.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    attributes: Item,
    neighbours: Neighbours,
}

impl Record {
    pub fn new(mut item: Item) -> Record {
        let neighbours = Neighbours::from_items(&item.related);
        item.related = Vec::new();
        Record {
            attributes: item,
            neighbours,
        }
    }

    /// An item read without its neighbour list, and the list read packed (`CatalogStore`).
    pub fn from_parts(mut attributes: Item, neighbours: Neighbours) -> Record {
        attributes.related.clear();
        Record {
            attributes,
            neighbours,
        }
    }

    /// Everything but the neighbour list (its `related` is empty: see `neighbours`).
    pub fn attributes(&self) -> &Item {
        &self.attributes
    }

    pub fn neighbours(&self) -> &Neighbours {
        &self.neighbours
    }

    /// The item as the app sent it, neighbours included.
    pub fn to_item(&self) -> Item {
        Item {
            related: self.neighbours.to_items(),
            ..self.attributes.clone()
        }
    }
}

/// Co-purchase neighbours: `ids[start..end]` of each entry, with its weight.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Neighbours {
    ids: Box<str>,
    /// The end of each id in `ids` (the start is the previous entry's end) and its weight.
    entries: Box<[(u32, f64)]>,
}

impl Neighbours {
    pub fn from_items(items: &[RelatedItem]) -> Neighbours {
        let mut b = NeighboursBuilder::with_capacity(items.len());
        for r in items {
            b.push(&r.item_id, r.weight);
        }
        b.finish()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `(id, weight)` in the stored order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        let mut start = 0usize;
        self.entries.iter().map(move |&(end, weight)| {
            let end = end as usize;
            let id = self.ids.get(start..end).unwrap_or("");
            start = end;
            (id, weight)
        })
    }

    pub fn to_items(&self) -> Vec<RelatedItem> {
        self.iter()
            .map(|(id, weight)| RelatedItem {
                item_id: id.to_owned(),
                weight,
            })
            .collect()
    }

    /// Equal to `other`, weights compared to 1e-9: a catalog read back from SQLite has its
    /// weights through JSON, which may differ from the app's in the last bit.
    pub fn same_as(&self, other: &[RelatedItem]) -> bool {
        self.len() == other.len()
            && self.iter().zip(other).all(|((id, w), y)| {
                id == y.item_id
                    && (w - y.weight).abs() <= 1e-9 * w.abs().max(y.weight.abs()).max(1.0)
            })
    }
}

/// Appends entries, then `finish` packs them.
pub struct NeighboursBuilder {
    ids: String,
    entries: Vec<(u32, f64)>,
}

impl NeighboursBuilder {
    pub fn with_capacity(entries: usize) -> NeighboursBuilder {
        NeighboursBuilder {
            ids: String::with_capacity(entries * 12),
            entries: Vec::with_capacity(entries),
        }
    }

    pub fn push(&mut self, id: &str, weight: f64) {
        self.ids.push_str(id);
        // Validated catalogs hold at most a few hundred neighbours of bounded ids per item.
        let end = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        self.entries.push((end, weight));
    }

    pub fn finish(self) -> Neighbours {
        Neighbours {
            ids: self.ids.into_boxed_str(),
            entries: self.entries.into_boxed_slice(),
        }
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

    #[test]
    fn a_record_gives_back_the_item_it_was_made_of() {
        let item = Item {
            id: "a".into(),
            title: "A".into(),
            category: "c".into(),
            brand: String::new(),
            price: 1.0,
            tags: vec!["t".into()],
            in_stock: true,
            margin: None,
            embedding: None,
            popularity: 2.0,
            repeat_rate: None,
            related: vec![n("b", 0.5), n("", 1.0), n("ccc", 2.0)],
        };
        let r = Record::new(item.clone());
        assert!(r.attributes().related.is_empty());
        assert_eq!(r.neighbours().len(), 3);
        assert_eq!(r.to_item(), item);
        assert!(r.neighbours().same_as(&item.related));
        assert!(!r.neighbours().same_as(&item.related[..2]));
        assert!(!r
            .neighbours()
            .same_as(&[n("b", 0.5), n("", 1.0), n("ccd", 2.0)]));
        let w = 0.1 + 0.2;
        assert!(Neighbours::from_items(&[n("a", w)])
            .same_as(&[n("a", f64::from_bits(w.to_bits() + 1))]));
        assert!(!Neighbours::from_items(&[n("a", 0.3)]).same_as(&[n("a", 0.31)]));
        assert!(Neighbours::default().is_empty());
    }
}
