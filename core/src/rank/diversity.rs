//! Caps per category and brand within the first results, so the page is not one taste repeated.

use crate::catalog::CatalogSnapshot;
use crate::types::DiversityOptions;
use std::collections::HashMap;

/// Reorder `order` (best first) so that within the first `window` items no category/brand
/// exceeds its cap. Items pushed out keep their relative order right after the window. When too
/// few items satisfy the caps, the window is filled with the best of the rest.
pub fn apply(order: &mut Vec<u32>, catalog: &CatalogSnapshot, opts: &DiversityOptions) {
    let window = opts.window as usize;
    if window == 0 || (opts.max_per_category.is_none() && opts.max_per_brand.is_none()) {
        return;
    }
    let mut cats: HashMap<u32, u32> = HashMap::new();
    let mut brands: HashMap<u32, u32> = HashMap::new();
    let mut head = Vec::with_capacity(window);
    let mut deferred = Vec::new();
    let mut rest = order.iter().copied();
    for idx in rest.by_ref() {
        let item = catalog.item(idx);
        let over = |counts: &HashMap<u32, u32>, key: u32, cap: Option<u32>| {
            key != 0 && cap.is_some_and(|c| counts.get(&key).copied().unwrap_or(0) >= c)
        };
        if over(&cats, item.category, opts.max_per_category)
            || over(&brands, item.brand, opts.max_per_brand)
        {
            deferred.push(idx);
        } else {
            *cats.entry(item.category).or_default() += 1;
            *brands.entry(item.brand).or_default() += 1;
            head.push(idx);
        }
        if head.len() == window {
            break;
        }
    }
    let tail: Vec<u32> = rest.collect();
    let fill = window.saturating_sub(head.len()).min(deferred.len());
    head.extend(deferred.drain(..fill));
    head.extend(deferred);
    head.extend(tail);
    *order = head;
}
