//! How rank honours the shopper's "not interested" marks: a marked item is left out (like a
//! merchant exclusion); an item of a marked category, brand or tag is pushed down, after every
//! item without a mark.

use crate::catalog::CatalogSnapshot;
use crate::profile::ProfileState;
use crate::types::AttributeKind;
use rustc_hash::FxHashSet;

/// The shopper's category, brand and tag marks, collected once per rank call.
pub struct PushedDown<'a> {
    categories: FxHashSet<&'a str>,
    brands: FxHashSet<&'a str>,
    tags: FxHashSet<&'a str>,
}

impl<'a> PushedDown<'a> {
    pub fn of(profile: &'a ProfileState) -> Self {
        let marks = |kind| {
            profile
                .not_interested
                .iter()
                .filter(move |n| n.attribute.kind == kind)
                .map(|n| n.attribute.value.as_str())
                .collect::<FxHashSet<&str>>()
        };
        PushedDown {
            categories: marks(AttributeKind::Category),
            brands: marks(AttributeKind::Brand),
            tags: marks(AttributeKind::Tag),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.categories.is_empty() && self.brands.is_empty() && self.tags.is_empty()
    }

    /// Whether the item's category, brand or one of its tags is marked.
    pub fn contains(&self, catalog: &CatalogSnapshot, idx: u32) -> bool {
        if self.is_empty() {
            return false;
        }
        let item = catalog.record(idx);
        self.categories.contains(item.category.as_str())
            || self.brands.contains(item.brand.as_str())
            || item.tags.iter().any(|t| self.tags.contains(t.as_str()))
    }

    /// The candidates that are pushed down.
    pub fn among(&self, catalog: &CatalogSnapshot, candidates: &[u32]) -> FxHashSet<u32> {
        if self.is_empty() {
            return FxHashSet::default();
        }
        candidates
            .iter()
            .copied()
            .filter(|&idx| self.contains(catalog, idx))
            .collect()
    }
}
