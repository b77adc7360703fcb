//! Training rows with a context: what the shopper adds to a cart that already holds items.
//!
//! The cart surfaces (`complete_cart`, `goes_with`) rank with the request's context items, and a
//! model can only learn to read the `context_*` features from rows where they are set. Real
//! baskets give those rows: for a basket of the complete-cart protocol (one shopper, one session
//! id, at least 2 distinct items, in the horizon after the cutoff, a shopper with purchases
//! before it) the first `m` distinct items (m uniform in 1..n-1, seeded) are the cart, tracked as
//! add-to-cart at the basket's time on top of the history before the cutoff, exactly as
//! `tailor replay --task complete-cart` does; the item that came next is the positive. The
//! basket's later items are left out of the candidates: they were bought too, but not next, so
//! they are neither right nor wrong answers (as positives they taught a model to weigh the
//! shopper's history far above the cart: the last items put in a basket say most about the
//! next one). Candidates are found as for the "for you" rows plus the context's own
//! co-purchase neighbours, without the cart's items. Each basket is one group (`user#cartK`).

use crate::complete_cart::{baskets, profile_with_cart};
use crate::matrix::{candidates, MatrixOptions, MatrixSummary, Rows};
use crate::world::World;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use tailor::engine::features::{Feature, ProfileView, RequestContext};
use tailor::engine::Result;

/// Carts longer than this are cut to their first items: a wholesaler's basket of hundreds of
/// lines says little more about the next item than its first 50 do, and costs a lot to build.
const MAX_CART: usize = 50;

/// Append the basket row sets of `world` to `out` (after the "for you" rows).
pub(crate) fn write(
    world: &World,
    features: &[Feature],
    opts: &MatrixOptions,
    rng: &mut SmallRng,
    out: &mut dyn Write,
    summary: &mut MatrixSummary,
) -> Result<()> {
    let catalog = &world.catalog;
    let until = opts.cutoff + opts.horizon_secs.unwrap_or(opts.horizon_days * 86_400);
    let known = |id: &str| catalog.get(id).is_some();
    // Users in id order, each user's baskets in time order: reproducible for a seed.
    let mut all = Vec::new();
    for (user, events) in &world.users {
        for (k, b) in baskets(events, &known, opts.cutoff, until)
            .into_iter()
            .enumerate()
        {
            all.push((format!("{user}#cart{k}"), events, b));
        }
    }
    if opts.baskets < all.len() {
        let mut pick = SmallRng::seed_from_u64(opts.seed ^ 0xCA27);
        let mut keep = rand::seq::index::sample(&mut pick, all.len(), opts.baskets).into_vec();
        keep.sort_unstable();
        let mut k = 0;
        all.retain(|_| {
            k += 1;
            keep.binary_search(&(k - 1)).is_ok()
        });
    }
    let mut matrix = Vec::new();
    for (group, events, basket) in all {
        let mut items = basket.cart;
        items.push(basket.held_out);
        let m = rng.random_range(1..items.len()).min(MAX_CART);
        let (cart, rest) = items.split_at(m);
        let profile = profile_with_cart(world, events, opts.cutoff, basket.at, cart, &opts.params);
        let profile = Arc::new(profile);
        let view = ProfileView::build(&profile, catalog, basket.at, None, &opts.params);
        let cart_idx: Vec<u32> = cart.iter().filter_map(|id| catalog.get(id)).collect();
        let ctx = RequestContext::build(catalog, &cart_idx, &[]);
        let Some((next, later)) = rest.split_first() else {
            continue;
        };
        let next = catalog.get(next);
        let seen: HashSet<u32> = cart
            .iter()
            .chain(later)
            .filter_map(|id| catalog.get(id))
            .collect();
        let cands = candidates(world, &profile, &view, &ctx, seen, opts, rng);
        let labels: Vec<bool> = cands.iter().map(|&i| Some(i) == next).collect();
        let rows = Rows {
            group: &group,
            cands: &cands,
            labels: &labels,
        };
        rows.write(features, catalog, &view, &ctx, &mut matrix, out, summary)?;
        summary.baskets += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::matrix::{write_matrix, MatrixOptions};
    use crate::test_support::{item, line};
    use crate::world::World;
    use tailor::engine::features::Feature;
    use tailor::Item;

    /// Rows of a matrix by group: (item, label, context_size, context_copurchase).
    fn rows(csv: &str, group: &str) -> Vec<(String, u8, f32, f32)> {
        csv.lines()
            .skip(1)
            .filter(|l| l.split(',').next() == Some(group))
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let num = |k: usize| f[k].parse::<f32>().unwrap();
                (f[1].to_string(), num(2) as u8, num(3), num(4))
            })
            .collect()
    }

    #[test]
    fn a_cart_is_the_context_and_the_rest_of_its_basket_the_positives() {
        let items: Vec<Item> = ["a", "b", "c", "d", "x"]
            .iter()
            .map(|i| Item {
                category: "c".into(),
                ..item(i)
            })
            .collect();
        let events = vec![
            // Before the cutoff: a and b go together, u1 and u2 are known shoppers.
            line("u1", "a", 10, "o1"),
            line("u1", "b", 10, "o1"),
            line("u2", "a", 11, "o2"),
            line("u2", "b", 11, "o2"),
            line("u2", "x", 12, "o3"),
            // After it: u1 fills a basket with a then b; u2's basket has one item only.
            line("u1", "a", 100, "s1"),
            line("u1", "b", 100, "s1"),
            line("u2", "c", 101, "s2"),
        ];
        let world = World::build(items, events, 50, &crate::DeriveOptions::default());
        let features = [Feature::ContextSize, Feature::ContextCopurchase];
        let mut out = Vec::new();
        let opts = MatrixOptions {
            cutoff: 50,
            random: 0,
            baskets: 10,
            session_share: 0.0,
            ..Default::default()
        };
        let summary = write_matrix(&world, &features, &opts, &mut out).unwrap();
        let csv = String::from_utf8(out).unwrap();
        assert_eq!(summary.baskets, 1, "{csv}");
        let cart = rows(&csv, "u1#cart0");
        // The cart (a) is left out; b, the item added next, is the one positive.
        assert!(cart.iter().all(|r| r.0 != "a"), "{cart:?}");
        let b = cart.iter().find(|r| r.0 == "b").expect("b is a candidate");
        assert_eq!(b.1, 1);
        assert!(b.2 > 0.0 && b.3 > 0.0, "context features are set: {b:?}");
        assert_eq!(cart.iter().filter(|r| r.1 == 1).count(), 1);
        // c and d were never bought by a shopper of a: no co-purchase with the cart.
        assert!(cart.iter().any(|r| r.0 == "c"));
        assert!(cart
            .iter()
            .filter(|r| r.0 == "c" || r.0 == "d")
            .all(|r| r.3 == 0.0));
        // "For you" rows of the same matrix carry no context.
        assert!(rows(&csv, "u1").iter().all(|r| r.2 == 0.0));
        // Without --baskets: no cart rows, and the "for you" rows are unchanged.
        let mut plain = Vec::new();
        let opts = MatrixOptions { baskets: 0, ..opts };
        write_matrix(&world, &features, &opts, &mut plain).unwrap();
        let plain = String::from_utf8(plain).unwrap();
        assert!(!plain.contains("#cart"));
        assert!(csv.starts_with(&plain));
    }
}
