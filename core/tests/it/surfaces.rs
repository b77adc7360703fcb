//! Surfaces beyond "for you": product page (similar, goes with), cart, buy again, trending and
//! search re-ranking, through the public API.

use crate::common::*;
use tailor::{
    Attribute, AttributeKind, Boost, BusinessRules, EventKind, Item, RankRequest, Reason,
    RelatedItem, SurfaceKind, Tailor, TailorError,
};

fn related(pairs: &[(&str, f64)]) -> Vec<RelatedItem> {
    pairs
        .iter()
        .map(|(id, w)| RelatedItem {
            item_id: (*id).into(),
            weight: *w,
        })
        .collect()
}

/// The common catalog plus: a tent bought with pegs (strongly) and a mat, pegs and mat listing
/// the tent back; embeddings put the two tents together and the book apart.
fn shop() -> Vec<Item> {
    let mut items = catalog();
    let mut tent = item("tent", "camping", "acme", 120.0, 5.0);
    tent.related = related(&[("pegs", 1.0), ("mat", 0.6), ("books-3", 0.1)]);
    tent.embedding = Some(vec![1.0, 0.0, 0.0]);
    let mut tent2 = item("tent2", "camping", "zeta", 150.0, 4.0);
    tent2.embedding = Some(vec![0.95, 0.1, 0.0]);
    let mut pegs = item("pegs", "hardware", "acme", 8.0, 3.0);
    pegs.related = related(&[("tent", 1.0)]);
    pegs.embedding = Some(vec![0.0, 1.0, 0.0]);
    pegs.margin = Some(0.4);
    let mut mat = item("mat", "camping", "zeta", 25.0, 2.0);
    mat.related = related(&[("tent", 1.0)]);
    mat.embedding = Some(vec![0.3, 0.7, 0.0]);
    mat.margin = Some(0.1);
    items.extend([tent, tent2, pegs, mat]);
    for it in items.iter_mut().filter(|i| i.embedding.is_none()) {
        it.embedding = Some(vec![0.0, 0.0, 1.0]);
    }
    items
}

fn store() -> (tempfile::TempDir, std::sync::Arc<Tailor>) {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(shop()).unwrap();
    (dir, t)
}

fn request(kind: SurfaceKind, context: &[&str]) -> RankRequest {
    RankRequest {
        limit: 5,
        now: Some(NOW),
        kind: Some(kind),
        context_item_ids: context.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn shopper(t: &Tailor) {
    t.track(event(EventKind::Purchase, "books-1", NOW - 3 * DAY))
        .unwrap();
    t.track(event(EventKind::View, "books-2", NOW - DAY))
        .unwrap();
}

#[test]
fn goes_with_puts_co_purchases_first_and_leaves_the_viewed_item_out() {
    let (_d, t) = store();
    shopper(&t);
    let r = t.rank(request(SurfaceKind::GoesWith, &["tent"])).unwrap();
    assert_eq!(ids(&r)[..2], ["pegs", "mat"], "{:?}", ids(&r));
    assert!(
        !ids(&r).contains(&"tent".to_string()),
        "the viewed item is left out"
    );
    assert_eq!(
        r.items[0].reasons[0],
        Reason::GoesWith {
            item_id: "tent".into(),
            title: "camping tent".into()
        }
    );
    // The same for a shopper without history (not personalized, still about the tent).
    let (_d2, cold) = store();
    let r = cold
        .rank(request(SurfaceKind::GoesWith, &["tent"]))
        .unwrap();
    assert!(!r.personalized);
    assert_eq!(ids(&r)[..2], ["pegs", "mat"]);
    // Asked for, the context item may appear.
    let mut with = request(SurfaceKind::Similar, &["tent"]);
    with.include_context = true;
    assert!(ids(&t.rank(with).unwrap()).contains(&"tent".to_string()));
}

#[test]
fn complete_cart_sums_over_the_cart() {
    let (_d, t) = store();
    shopper(&t);
    let r = t
        .rank(request(SurfaceKind::CompleteCart, &["pegs", "mat"]))
        .unwrap();
    // The bundled model learned from real baskets that a shopper's own recent purchases are
    // often added next (books-1 here); of everything else the tent, bought with both cart
    // items, comes first.
    let not_bought: Vec<String> = ids(&r).into_iter().filter(|i| i != "books-1").collect();
    assert_eq!(not_bought[0], "tent", "{:?}", ids(&r));
    for id in ["pegs", "mat"] {
        assert!(!ids(&r).contains(&id.to_string()));
    }
}

/// A model trained with carts as its context (it reads `context_copurchase`: the bundled
/// default, or a shop's model trained with `tailor features --baskets`) orders "complete the
/// cart" by its own score; the hand-set blend is for models that never saw a context.
#[test]
fn a_model_that_reads_the_context_orders_the_cart_by_its_own_score() {
    let (_d, t) = store();
    shopper(&t);
    // A model that learned the opposite of the blend: bought with the cart = added less often.
    let bytes = crate::model_safety::Graph::linear_with([-1.0, 0.0, 0.01]).bytes();
    let manifest = format!(
        r#"{{"name":"cart-aware","version":"1","sha256":"{}",
            "features":["context_copurchase","affinity_category","item_popularity"]}}"#,
        tailor::engine::model::sha256_hex(&bytes)
    );
    t.load_model_bytes(bytes, manifest).unwrap();
    let all = |kind| {
        let req = RankRequest {
            limit: 100,
            ..request(kind, &["tent"])
        };
        ids(&t.rank(req).unwrap())
    };
    let got = all(SurfaceKind::CompleteCart);
    // Last: the weakest link (books-3), then mat, then pegs, bought with the tent most.
    assert_eq!(got[got.len() - 3..], ["books-3", "mat", "pegs"], "{got:?}");
    // The product page keeps its blends over the model's context-free score: bought with the
    // tent first on "goes with", look-alikes on "similar", whatever the model learned of carts.
    assert_eq!(all(SurfaceKind::GoesWith)[..2], ["pegs", "mat"]);
    assert_eq!(all(SurfaceKind::Similar)[0], "tent2");
    // A model without context features gets the blend: bought with the tent comes first.
    let bytes = crate::model_safety::Graph::linear_with([0.0, 0.0, 0.01]).bytes();
    let manifest = format!(
        r#"{{"name":"cart-blind","version":"1","sha256":"{}",
            "features":["bought_count","affinity_category","item_popularity"]}}"#,
        tailor::engine::model::sha256_hex(&bytes)
    );
    t.load_model_bytes(bytes, manifest).unwrap();
    assert_eq!(all(SurfaceKind::CompleteCart)[..2], ["pegs", "mat"]);
}

#[test]
fn similar_ranks_look_alikes_with_a_reason() {
    let (_d, t) = store();
    shopper(&t);
    let r = t.rank(request(SurfaceKind::Similar, &["tent"])).unwrap();
    assert_eq!(ids(&r)[0], "tent2");
    assert_eq!(
        r.items[0].reasons[0],
        Reason::LooksLike {
            item_id: "tent".into(),
            title: "camping tent".into()
        }
    );
}

#[test]
fn buy_again_lists_only_what_was_bought() {
    let (_d, t) = store();
    shopper(&t);
    t.track(event(EventKind::Purchase, "toys-2", NOW - 2 * DAY))
        .unwrap();
    let r = t.rank(request(SurfaceKind::BuyAgain, &[])).unwrap();
    let mut got = ids(&r);
    got.sort();
    assert_eq!(got, ["books-1", "toys-2"]);
}

#[test]
fn trending_follows_popularity_and_names_the_category() {
    let (_d, t) = store();
    let r = t.rank(request(SurfaceKind::Trending, &[])).unwrap();
    assert_eq!(ids(&r)[..3], ["shoes-0", "shoes-1", "shoes-2"]);
    assert_eq!(
        r.items[0].reasons[0],
        Reason::TrendingInCategory {
            category: "shoes".into()
        }
    );
}

#[test]
fn search_keeps_the_apps_order_for_a_new_shopper_and_personalizes_with_history() {
    let (_d, t) = store();
    let results = ["toys-3", "books-3", "shoes-3", "books-2"];
    let search = |scores: Option<Vec<f64>>| RankRequest {
        candidate_ids: Some(results.iter().map(|s| s.to_string()).collect()),
        retrieval_scores: scores,
        ..request(SurfaceKind::Search, &[])
    };
    let r = t.rank(search(Some(vec![0.9, 0.5, 0.4, 0.1]))).unwrap();
    assert!(!r.personalized);
    assert_eq!(ids(&r), results, "no history: the app's order, unchanged");
    // A shopper into books: the close book results move up; the app's best stays on top of the
    // equally unknown toys and shoes.
    for k in 0..3 {
        t.track(event(EventKind::Purchase, &format!("books-{k}"), NOW - DAY))
            .unwrap();
    }
    let r = t.rank(search(Some(vec![0.9, 0.85, 0.4, 0.3]))).unwrap();
    assert!(r.personalized);
    let got = ids(&r);
    let pos = |id: &str| got.iter().position(|g| g == id).unwrap();
    assert!(pos("books-3") < pos("toys-3"), "{got:?}");
    assert!(pos("toys-3") < pos("shoes-3"), "{got:?}");
}

#[test]
fn rules_still_apply_on_a_surface() {
    let (_d, t) = store();
    shopper(&t);
    let mut req = request(SurfaceKind::GoesWith, &["tent"]);
    req.rules = BusinessRules {
        exclude_ids: vec!["pegs".into()],
        boosts: vec![Boost {
            attribute: Attribute {
                kind: AttributeKind::Item,
                value: "toys-0".into(),
            },
            weight: 50.0,
        }],
        ..Default::default()
    };
    let r = t.rank(req).unwrap();
    assert_eq!(ids(&r)[0], "toys-0");
    assert!(!ids(&r).contains(&"pegs".to_string()));
}

#[test]
fn bad_surface_requests_get_typed_errors_and_change_nothing() {
    let (_d, t) = store();
    shopper(&t);
    let before = t.export_json().unwrap();
    let invalid = |req: RankRequest| match t.rank(req) {
        Err(TailorError::InvalidInput { message }) => message,
        other => panic!("expected invalid input, got {other:?}"),
    };
    assert!(invalid(request(SurfaceKind::CompleteCart, &[])).contains("needs context_item_ids"));
    let many: Vec<String> = (0..501).map(|i| format!("x{i}")).collect();
    let mut req = request(SurfaceKind::GoesWith, &[]);
    req.context_item_ids = many;
    assert!(invalid(req).contains("at most 500"));
    let mut nan = request(SurfaceKind::Search, &[]);
    nan.candidate_ids = Some(vec!["toys-1".into(), "toys-2".into()]);
    nan.retrieval_scores = Some(vec![1.0, f64::NAN]);
    assert!(invalid(nan.clone()).contains("not a finite number"));
    nan.retrieval_scores = Some(vec![1.0]);
    assert!(invalid(nan).contains("one per candidate"));
    assert!(invalid(request(SurfaceKind::Search, &[])).contains("candidate_ids"));
    match t.rank(request(SurfaceKind::GoesWith, &["nope"])) {
        Err(TailorError::NotFound { message }) => assert!(message.contains("\"nope\"")),
        other => panic!("expected not found, got {other:?}"),
    }
    assert_eq!(t.export_json().unwrap(), before);
}

fn bundle_request(context: &[&str]) -> tailor::BundleRequest {
    tailor::BundleRequest {
        context_item_ids: context.iter().map(|s| s.to_string()).collect(),
        size: 3,
        now: Some(NOW),
        ..Default::default()
    }
}

#[test]
fn bundle_completes_the_viewed_item_within_the_constraints() {
    let (_d, t) = store();
    shopper(&t);
    let b = t.bundle(bundle_request(&["tent"])).unwrap();
    let got: Vec<&str> = b.items.iter().map(|i| i.item_id.as_str()).collect();
    assert_eq!(got, ["pegs", "mat", "books-3"]);
    assert!((b.total_price - (8.0 + 25.0 + 17.0)).abs() < 1e-9);
    assert_eq!(
        b.items[0].reasons[0],
        Reason::GoesWith {
            item_id: "tent".into(),
            title: "camping tent".into()
        }
    );
    // The same state gives the same bundle.
    assert_eq!(t.bundle(bundle_request(&["tent"])).unwrap(), b);
    // A price cap leaves out what does not fit (mat at 25 would pass 30 with pegs).
    let capped = t
        .bundle(tailor::BundleRequest {
            max_total_price: Some(30.0),
            ..bundle_request(&["tent"])
        })
        .unwrap();
    let got: Vec<&str> = capped.items.iter().map(|i| i.item_id.as_str()).collect();
    assert_eq!(got, ["pegs", "books-3"]);
    assert!(capped.total_price <= 30.0);
    // Out of stock items never join.
    let mut pegs = shop().into_iter().find(|i| i.id == "pegs").unwrap();
    pegs.in_stock = false;
    t.upsert_items(vec![pegs]).unwrap();
    let b = t.bundle(bundle_request(&["tent"])).unwrap();
    assert!(b.items.iter().all(|i| i.item_id != "pegs"));
}

#[test]
fn impossible_bundles_get_typed_errors_and_change_nothing() {
    let (_d, t) = store();
    shopper(&t);
    let before = t.export_json().unwrap();
    let invalid = |req: tailor::BundleRequest| match t.bundle(req) {
        Err(TailorError::InvalidInput { message }) => message,
        other => panic!("expected invalid input, got {other:?}"),
    };
    // Only pegs (0.4) has a margin of at least 0.3: one item is no bundle.
    let msg = invalid(tailor::BundleRequest {
        min_margin: Some(0.3),
        ..bundle_request(&["tent"])
    });
    assert!(msg.contains("lower min_margin"), "{msg}");
    let msg = invalid(tailor::BundleRequest {
        max_total_price: Some(9.0),
        ..bundle_request(&["tent"])
    });
    assert!(msg.contains("no bundle meets"), "{msg}");
    for size in [1, 6] {
        assert!(invalid(tailor::BundleRequest {
            size,
            ..bundle_request(&["tent"])
        })
        .contains("between 2 and 5"));
    }
    assert!(invalid(tailor::BundleRequest {
        max_total_price: Some(f64::NAN),
        ..bundle_request(&["tent"])
    })
    .contains("positive number"));
    assert!(invalid(bundle_request(&[])).contains("needs context_item_ids"));
    assert!(matches!(
        t.bundle(bundle_request(&["nope"])),
        Err(TailorError::NotFound { .. })
    ));
    assert_eq!(t.export_json().unwrap(), before);
}
