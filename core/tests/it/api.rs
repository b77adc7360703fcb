//! The public Rust API end to end: the behaviour an app developer relies on.

use crate::common::*;
use tailor::*;

#[test]
fn cold_start_then_personalized_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    assert_eq!(t.upsert_items(catalog()).unwrap(), 12);
    let cold = t.rank(request(5)).unwrap();
    assert!(!cold.personalized);
    assert_eq!(cold.fallback, Some(Fallback::ColdStart));
    assert_eq!(
        ids(&cold),
        vec!["shoes-0", "shoes-1", "shoes-2", "shoes-3", "books-0"],
        "popularity order"
    );

    for i in 0..3 {
        t.track(event(EventKind::Purchase, "toys-3", NOW - (10 - i) * DAY))
            .unwrap();
    }
    t.track(event(EventKind::View, "toys-2", NOW - DAY))
        .unwrap();
    let warm = t.rank(request(5)).unwrap();
    assert!(warm.personalized, "{:?}", warm.fallback);
    assert_eq!(warm.fallback, None);
    assert_eq!(warm.model_name, t.model_info().name);
    let top = &warm.items[0];
    assert!(
        top.item_id.starts_with("toys"),
        "toys first after buying toys: {:?}",
        ids(&warm)
    );
    let bought = warm
        .items
        .iter()
        .find(|i| i.item_id == "toys-3")
        .expect("bought item is ranked");
    assert!(
        bought.reasons.contains(&Reason::BoughtBefore { times: 3 }),
        "{:?}",
        bought.reasons
    );
    assert!(warm.items.iter().any(|i| i
        .reasons
        .iter()
        .any(|r| matches!(r, Reason::Likes { attribute } if attribute.value == "toys"))));
}

#[test]
fn data_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let t = open(&dir);
        t.upsert_items(catalog()).unwrap();
        t.track_batch(vec![
            event(EventKind::AddToCart, "books-2", NOW - 3600),
            event(EventKind::Purchase, "books-1", NOW - 7200),
        ])
        .unwrap();
        let r = t.rank(request(12)).unwrap();
        t.close();
        assert!(matches!(
            t.rank(request(1)),
            Err(TailorError::Closed { .. })
        ));
        r
    };
    let t = open(&dir);
    let s = t.status().unwrap();
    assert_eq!((s.catalog_items, s.profile_events), (12, 2));
    let after = t.rank(request(12)).unwrap();
    assert_eq!(ids(&before), ids(&after));
    let cart = after.items.iter().find(|i| i.item_id == "books-2").unwrap();
    assert!(cart.reasons.contains(&Reason::LeftInCart));
}

#[test]
fn events_for_unknown_items_count_once_the_item_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    let s = t
        .track_batch(vec![event(EventKind::Purchase, "later-1", NOW - DAY)])
        .unwrap();
    assert_eq!((s.stored, s.pending_items), (1, 1));
    assert_eq!(t.status().unwrap().pending_events, 1);
    let mut items = catalog();
    items.push(item("later-1", "garden", "acme", 5.0, 0.0));
    items.push(item("later-2", "garden", "acme", 5.0, 0.0));
    items.push(item("other-1", "misc", "other", 5.0, 0.0));
    t.upsert_items(items).unwrap();
    assert_eq!(t.status().unwrap().pending_events, 0);
    let r = t.rank(request(15)).unwrap();
    let pos = |id: &str| ids(&r).iter().position(|i| i == id).unwrap();
    assert!(
        pos("later-2") < pos("other-1"),
        "the purchase now counts for its category: {:?}",
        ids(&r)
    );
    let later2 = &r.items[pos("later-2")];
    assert!(
        later2
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::Likes { attribute } if attribute.value == "garden")),
        "{:?}",
        later2.reasons
    );
}

/// A crash between writing an item to catalog.db and resolving the events waiting for it: the
/// next open resolves them.
#[test]
fn pending_events_resolve_at_open_when_their_item_is_already_stored() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.track(event(EventKind::Purchase, "later-1", NOW - DAY))
        .unwrap();
    assert_eq!(t.status().unwrap().pending_events, 1);
    t.close();
    drop(t);
    let (mut store, _) =
        tailor::engine::catalog::CatalogStore::open(&dir.path().join("catalog.db"), false).unwrap();
    store
        .upsert(
            &[item("later-1", "garden", "acme", 5.0, 0.0)],
            NOW,
            &Default::default(),
        )
        .unwrap();
    drop(store);
    let t = open(&dir);
    let s = t.status().unwrap();
    assert_eq!((s.pending_events, s.profile_events), (0, 1));
}

#[test]
fn opt_out_stops_collection_and_personalization() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.track(event(EventKind::Purchase, "toys-3", NOW - DAY))
        .unwrap();
    t.set_consent(false).unwrap();
    let s = t
        .track_batch(vec![event(EventKind::Purchase, "books-3", NOW)])
        .unwrap();
    assert_eq!((s.stored, s.dropped_no_consent), (0, 1));
    let r = t.rank(request(5)).unwrap();
    assert_eq!(r.fallback, Some(Fallback::OptedOut));
    assert!(r.items.iter().all(|i| !i
        .reasons
        .iter()
        .any(|r| matches!(r, Reason::BoughtBefore { .. }))));
    drop(t);
    let t = open(&dir);
    assert!(!t.consent(), "consent persists");
    assert_eq!(t.status().unwrap().profile_events, 1);
    t.set_consent(true).unwrap();
    assert!(t.rank(request(5)).unwrap().personalized);
}

#[test]
fn business_rules_filter_boost_and_pin() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    let mut items = catalog();
    items[0].in_stock = false; // shoes-0, the most popular
    items[1].margin = Some(0.05); // shoes-1
    items[2].margin = Some(0.40); // shoes-2
    t.upsert_items(items).unwrap();
    let rules = BusinessRules {
        min_margin: Some(0.1),
        exclude_ids: vec!["shoes-3".into()],
        boosts: vec![Boost {
            attribute: Attribute {
                kind: AttributeKind::Category,
                value: "toys".into(),
            },
            weight: 10.0,
        }],
        pinned: vec![Pin {
            item_id: "books-3".into(),
            position: 0,
        }],
        ..Default::default()
    };
    let r = t
        .rank(RankRequest {
            rules,
            ..request(6)
        })
        .unwrap();
    let got = ids(&r);
    assert_eq!(got[0], "books-3", "pinned first");
    assert_eq!(r.items[0].reasons[0], Reason::Pinned);
    assert_eq!(
        &got[1..5],
        ["toys-0", "toys-1", "toys-2", "toys-3"],
        "boosted category next"
    );
    assert!(matches!(r.items[1].reasons[0], Reason::Boosted { .. }));
    assert_eq!(got[5], "shoes-2", "kept: margin above the floor");
    for gone in ["shoes-0", "shoes-1", "shoes-3"] {
        assert!(
            !got.contains(&gone.to_string()),
            "{gone} must be filtered: {got:?}"
        );
    }
    let with_oos = t
        .rank(RankRequest {
            rules: BusinessRules {
                include_out_of_stock: true,
                ..Default::default()
            },
            ..request(1)
        })
        .unwrap();
    assert_eq!(ids(&with_oos), vec!["shoes-0"]);
}

#[test]
fn diversity_caps_categories_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    let div = DiversityOptions {
        max_per_category: Some(1),
        max_per_brand: None,
        window: 3,
    };
    let r = t
        .rank(RankRequest {
            diversity: Some(div),
            ..request(5)
        })
        .unwrap();
    assert_eq!(
        ids(&r),
        vec!["shoes-0", "books-0", "toys-0", "shoes-1", "shoes-2"]
    );
}

#[test]
fn exploration_is_seeded_marked_and_never_first() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    let req = RankRequest {
        exploration: Some(ExplorationOptions {
            rate: 0.5,
            seed: Some(42),
        }),
        ..request(4)
    };
    let a = t.rank(req.clone()).unwrap();
    let b = t.rank(req).unwrap();
    assert_eq!(ids(&a), ids(&b), "same seed, same page");
    let explored: Vec<usize> = a
        .items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.reasons.contains(&Reason::Exploration))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(explored.len(), 2);
    assert!(!explored.contains(&0));
    let none = t
        .rank(RankRequest {
            exploration: Some(ExplorationOptions {
                rate: 0.0,
                seed: None,
            }),
            ..request(4)
        })
        .unwrap();
    assert!(none
        .items
        .iter()
        .all(|i| !i.reasons.contains(&Reason::Exploration)));
}

#[test]
fn candidate_lists_dedupe_and_report_unknown_ids() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    let ids_in = vec![
        "toys-1".to_string(),
        "nope".into(),
        "toys-1".into(),
        "books-0".into(),
    ];
    let r = t
        .rank(RankRequest {
            candidate_ids: Some(ids_in),
            ..request(10)
        })
        .unwrap();
    assert_eq!(ids(&r), vec!["books-0", "toys-1"]);
    assert_eq!(r.unknown_ids, vec!["nope"]);
    let empty = t
        .rank(RankRequest {
            candidate_ids: Some(vec![]),
            ..request(10)
        })
        .unwrap();
    assert!(empty.items.is_empty());
    let big: Vec<String> = (0..100_000).map(|i| format!("x{i}")).collect();
    let r = t
        .rank(RankRequest {
            candidate_ids: Some(big),
            ..request(10)
        })
        .unwrap();
    assert_eq!(r.unknown_ids.len(), 100_000);
    let too_big: Vec<String> = (0..100_001).map(|i| format!("x{i}")).collect();
    let e = t
        .rank(RankRequest {
            candidate_ids: Some(too_big),
            ..request(10)
        })
        .unwrap_err();
    assert!(matches!(e, TailorError::InvalidInput { .. }));
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    let before = t.rank(request(12)).unwrap();
    let mut bad_items = Vec::new();
    for price in [f64::NAN, f64::INFINITY, -1.0] {
        bad_items.push(vec![
            item("new", "x", "y", 1.0, 0.0),
            item("bad", "x", "y", price, 0.0),
        ]);
    }
    bad_items.push(vec![item("", "x", "y", 1.0, 0.0)]);
    bad_items.push(vec![item(&"z".repeat(300), "x", "y", 1.0, 0.0)]);
    bad_items.push(vec![
        item("dup", "x", "y", 1.0, 0.0),
        item("dup", "x", "y", 1.0, 0.0),
    ]);
    let mut nan_pop = item("p", "x", "y", 1.0, 0.0);
    nan_pop.popularity = f64::NAN;
    bad_items.push(vec![nan_pop]);
    let mut bad_emb = item("e", "x", "y", 1.0, 0.0);
    bad_emb.embedding = Some(vec![1.0, f32::NAN]);
    bad_items.push(vec![bad_emb]);
    for batch in bad_items {
        let e = t.upsert_items(batch).unwrap_err();
        assert!(matches!(e, TailorError::InvalidInput { .. }), "{e}");
    }
    let bad_events = vec![
        vec![event(EventKind::View, "", NOW)],
        vec![
            event(EventKind::View, "toys-1", NOW),
            event(EventKind::View, "toys-1", -5),
        ],
        vec![event(EventKind::View, "toys-1", NOW * 1000)],
        vec![Event {
            quantity: Some(0),
            ..event(EventKind::Purchase, "toys-1", NOW)
        }],
        vec![Event {
            session_id: Some(String::new()),
            ..event(EventKind::View, "toys-1", NOW)
        }],
    ];
    for batch in bad_events {
        let e = t.track_batch(batch).unwrap_err();
        assert!(matches!(e, TailorError::InvalidInput { .. }), "{e}");
    }
    for req in [
        RankRequest {
            limit: 0,
            ..request(1)
        },
        RankRequest {
            limit: 5000,
            ..request(1)
        },
        RankRequest {
            candidate_ids: Some(vec![String::new()]),
            ..request(1)
        },
        RankRequest {
            rules: BusinessRules {
                boosts: vec![Boost {
                    attribute: Attribute {
                        kind: AttributeKind::Tag,
                        value: "x".into(),
                    },
                    weight: f64::NAN,
                }],
                ..Default::default()
            },
            ..request(3)
        },
        RankRequest {
            rules: BusinessRules {
                min_margin: Some(f64::INFINITY),
                ..Default::default()
            },
            ..request(3)
        },
        RankRequest {
            exploration: Some(ExplorationOptions {
                rate: f64::NAN,
                seed: None,
            }),
            ..request(3)
        },
        RankRequest {
            rules: BusinessRules {
                pinned: vec![Pin {
                    item_id: "toys-1".into(),
                    position: 7,
                }],
                ..Default::default()
            },
            ..request(3)
        },
    ] {
        let e = t.rank(req).unwrap_err();
        assert!(matches!(e, TailorError::InvalidInput { .. }), "{e}");
    }
    let s = t.status().unwrap();
    assert_eq!((s.catalog_items, s.profile_events), (12, 0));
    assert_eq!(ids(&t.rank(request(12)).unwrap()), ids(&before));
    let e = Tailor::open(TailorConfig {
        half_life_days: f64::NAN,
        ..TailorConfig::new(dir.path().display().to_string())
    })
    .err()
    .unwrap();
    assert!(matches!(e, TailorError::InvalidInput { .. }));
}

#[test]
fn session_intent_lifts_the_session_category() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    // Long-term: books. This session: toys.
    for i in 0..4 {
        t.track(event(
            EventKind::Purchase,
            &format!("books-{i}"),
            NOW - 20 * DAY,
        ))
        .unwrap();
    }
    let toys = |i: i64| Event {
        session_id: Some("s-9".into()),
        ..event(EventKind::View, &format!("toys-{i}"), NOW - 300 + i)
    };
    t.track_batch((0..3).map(toys).collect()).unwrap();
    let in_session = t
        .rank(RankRequest {
            session_id: Some("s-9".into()),
            ..request(12)
        })
        .unwrap();
    let toy = in_session
        .items
        .iter()
        .find(|i| i.item_id == "toys-3")
        .unwrap();
    assert!(
        toy.reasons
            .iter()
            .any(|r| matches!(r, Reason::SessionIntent { .. })),
        "{:?}",
        toy.reasons
    );
    let other_session = t
        .rank(RankRequest {
            session_id: Some("s-10".into()),
            ..request(12)
        })
        .unwrap();
    let toy3 = |r: &RankResponse| {
        r.items
            .iter()
            .find(|i| i.item_id == "toys-3")
            .unwrap()
            .clone()
    };
    assert!(
        toy3(&in_session).score > toy3(&other_session).score,
        "the session's category scores higher within the session only"
    );
    assert!(!toy3(&other_session)
        .reasons
        .iter()
        .any(|r| matches!(r, Reason::SessionIntent { .. })));
}

#[test]
fn erase_removes_personal_data_and_export_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.set_preferences(vec![Attribute {
        kind: AttributeKind::Brand,
        value: "zeta".into(),
    }])
    .unwrap();
    t.track(Event {
        session_id: Some("sess-raw-id".into()),
        ..event(EventKind::Purchase, "toys-2", NOW)
    })
    .unwrap();
    let export: serde_json::Value = serde_json::from_str(&t.export_json().unwrap()).unwrap();
    assert_eq!(export["events"][0]["item_id"], "toys-2");
    assert_ne!(
        export["events"][0]["session"], "sess-raw-id",
        "session ids are stored hashed"
    );
    assert_eq!(export["preferences"][0]["value"], "zeta");
    t.erase().unwrap();
    let r = t.rank(request(3)).unwrap();
    assert_eq!(r.fallback, Some(Fallback::ColdStart));
    let export: serde_json::Value = serde_json::from_str(&t.export_json().unwrap()).unwrap();
    assert_eq!(export["events"].as_array().unwrap().len(), 0);
    assert_eq!(export["items"].as_array().unwrap().len(), 0);
}

#[test]
fn explain_profile_speaks_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    let empty = t.explain_profile(Some(NOW)).unwrap();
    assert!(empty.top_categories.is_empty());
    assert!(
        empty.sentences[0].contains("don't know"),
        "{:?}",
        empty.sentences
    );
    for i in 0..3 {
        t.track(event(EventKind::Purchase, &format!("toys-{i}"), NOW - DAY))
            .unwrap();
    }
    t.track(event(EventKind::View, "books-1", NOW - 2 * DAY))
        .unwrap();
    t.track(Event {
        session_id: Some("s".into()),
        ..event(EventKind::AddToCart, "shoes-2", NOW - 60)
    })
    .unwrap();
    let s = t.explain_profile(Some(NOW)).unwrap();
    assert_eq!(s.top_categories[0].attribute.value, "toys");
    assert_eq!(s.top_categories[0].strength, 1.0);
    assert!(s
        .top_categories
        .iter()
        .any(|a| a.attribute.value == "books"));
    assert_eq!(s.session_intent[0].attribute.value, "shoes");
    assert_eq!(s.recent_items[0].item_id, "shoes-2");
    assert!(s.recent_items[0].in_cart);
    assert_eq!(s.events_total, 5);
    assert!(s.usual_price.is_some());
    assert!(
        s.sentences.iter().any(|l| l.contains("toys")),
        "{:?}",
        s.sentences
    );
    t.set_consent(false).unwrap();
    assert!(!t.explain_profile(Some(NOW)).unwrap().personalized);
}
