//! How rank honours the shopper's "not interested" marks: a marked item is left out (like a
//! merchant exclusion); an item of a marked category, brand or tag is pushed down, after every
//! item without a mark.

use crate::catalog::CatalogSnapshot;
use crate::profile::ProfileState;
use crate::types::AttributeKind;
use rustc_hash::FxHashSet;

/// Ids of the items the shopper is not interested in.
pub fn items(profile: &ProfileState) -> impl Iterator<Item = &str> {
    profile
        .not_interested
        .iter()
        .filter(|n| n.attribute.kind == AttributeKind::Item)
        .map(|n| n.attribute.value.as_str())
}

/// The candidates whose category, brand or one of whose tags the shopper is not interested in.
pub fn pushed_down(
    profile: &ProfileState,
    catalog: &CatalogSnapshot,
    candidates: &[u32],
) -> FxHashSet<u32> {
    let marks = |kind| {
        profile
            .not_interested
            .iter()
            .filter(move |n| n.attribute.kind == kind)
            .map(|n| n.attribute.value.as_str())
            .collect::<FxHashSet<&str>>()
    };
    let (categories, brands, tags) = (
        marks(AttributeKind::Category),
        marks(AttributeKind::Brand),
        marks(AttributeKind::Tag),
    );
    if categories.is_empty() && brands.is_empty() && tags.is_empty() {
        return FxHashSet::default();
    }
    candidates
        .iter()
        .copied()
        .filter(|&idx| {
            let item = catalog.record(idx);
            categories.contains(item.category.as_str())
                || brands.contains(item.brand.as_str())
                || item.tags.iter().any(|t| tags.contains(t.as_str()))
        })
        .collect()
}
