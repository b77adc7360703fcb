//! Event and rank records through the public API.

use super::*;

// ---------------------------------------------------------------------------------------------
// Event and rank records through the public API
// ---------------------------------------------------------------------------------------------

fn item_id() -> BoxedStrategy<String> {
    let known: Vec<String> = catalog().into_iter().map(|i| i.id).collect();
    prop_oneof![
        10 => prop::sample::select(known),
        2 => "[a-z0-9-]{1,10}",
        1 => weird_string(),
    ]
    .boxed()
}

fn plausible_text() -> BoxedStrategy<String> {
    mostly("[a-z0-9]{1,10}", weird_string())
}

fn kind() -> impl Strategy<Value = EventKind> {
    prop::sample::select(vec![
        EventKind::View,
        EventKind::Click,
        EventKind::AddToCart,
        EventKind::Purchase,
        EventKind::Dismiss,
    ])
}

fn event_record() -> BoxedStrategy<Event> {
    (
        kind(),
        item_id(),
        prop::option::of(mostly(NOW - 400 * DAY..NOW + DAY, weird_i64())),
        prop::option::of(plausible_text()),
        prop::option::of(mostly(1..20u32, weird_u32())),
        prop::option::of(plausible_text()),
    )
        .prop_map(
            |(kind, item_id, timestamp, session_id, quantity, surface)| Event {
                kind,
                item_id,
                timestamp,
                session_id,
                quantity,
                surface,
                response_id: None,
            },
        )
        .boxed()
}

#[test]
fn event_records_never_panic_and_batches_are_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = open_tailor(&dir);
    t.upsert_items(catalog()).unwrap();
    let stored = AtomicU64::new(0);
    fuzz(
        "Event batches through track_batch",
        256,
        prop::collection::vec(event_record(), 0..6),
        |events| {
            let n = events.len() as u32;
            let before = t.status().unwrap().profile_events;
            match t.track_batch(events) {
                Ok(s) => {
                    accepted();
                    prop_assert_eq!((s.stored, s.dropped_no_consent), (n, 0));
                    stored.fetch_add(n as u64, Ordering::Relaxed);
                    prop_assert_eq!(t.status().unwrap().profile_events, before + n as u64);
                }
                Err(e) => {
                    expect_input_error(&e, "track_batch")?;
                    prop_assert_eq!(t.status().unwrap().profile_events, before);
                }
            }
            // Whatever was stored, ranking still works.
            let r = t
                .rank(RankRequest {
                    limit: 5,
                    ..Default::default()
                })
                .map_err(|e| TestCaseError::fail(format!("rank after track: {e:?}")))?;
            prop_assert!(r.items.iter().all(|i| i.score.is_finite()));
            Ok(())
        },
    );
    // Too many events in one call is refused before anything is read.
    let huge = vec![event(EventKind::View, "toys-1", NOW); 100_001];
    expect_input_error(&t.track_batch(huge).unwrap_err(), "huge batch").unwrap();
    assert_eq!(
        t.status().unwrap().profile_events,
        stored.load(Ordering::Relaxed)
    );
    // The store reopens cleanly after all that.
    drop(t);
    let t = open_tailor(&dir);
    let s = t.status().unwrap();
    assert!(s.notices.is_empty(), "{:?}", s.notices);
    assert_eq!(s.profile_events, stored.load(Ordering::Relaxed));
}

fn attribute() -> BoxedStrategy<Attribute> {
    (
        prop::sample::select(vec![
            AttributeKind::Category,
            AttributeKind::Brand,
            AttributeKind::Tag,
            AttributeKind::Item,
        ]),
        prop_oneof![
            2 => prop::sample::select(vec!["shoes", "books", "toys", "acme", "zeta", "toys-1"])
                .prop_map(String::from),
            1 => weird_string(),
        ],
    )
        .prop_map(|(kind, value)| Attribute { kind, value })
        .boxed()
}

fn rank_request() -> BoxedStrategy<RankRequest> {
    let rules = (
        any::<bool>(),
        prop_oneof![
            3 => Just(vec![]),
            2 => prop::collection::vec(
                (item_id(), mostly(0..8u32, weird_u32()))
                    .prop_map(|(item_id, position)| Pin { item_id, position }),
                1..4,
            ),
        ],
        prop_oneof![
            2 => Just(vec![]),
            3 => prop::collection::vec(
                (attribute(), mostly(-10.0..10.0f64, weird_f64()))
                    .prop_map(|(attribute, weight)| Boost { attribute, weight }),
                1..4,
            ),
        ],
        prop::collection::vec(item_id(), 0..3),
        prop_oneof![4 => Just(None), 3 => (-1.0..1.0f64).prop_map(Some), 1 => weird_f64().prop_map(Some)],
    )
        .prop_map(
            |(include_out_of_stock, pinned, boosts, exclude_ids, min_margin)| BusinessRules {
                include_out_of_stock,
                pinned,
                boosts,
                exclude_ids,
                min_margin,
            },
        );
    let diversity = prop_oneof![
        3 => Just(None),
        3 => (prop::option::of(1..5u32), prop::option::of(1..5u32), 1..20u32).prop_map(
            |(max_per_category, max_per_brand, window)| Some(DiversityOptions {
                max_per_category,
                max_per_brand,
                window,
            })
        ),
        1 => (prop::option::of(weird_u32()), prop::option::of(weird_u32()), weird_u32()).prop_map(
            |(max_per_category, max_per_brand, window)| Some(DiversityOptions {
                max_per_category,
                max_per_brand,
                window,
            })
        ),
    ];
    let exploration = prop_oneof![
        3 => Just(None),
        3 => (0.0..=0.5f64, prop::option::of(any::<u64>()))
            .prop_map(|(rate, seed)| Some(ExplorationOptions { rate, seed })),
        1 => (weird_f64(), prop::option::of(any::<u64>()))
            .prop_map(|(rate, seed)| Some(ExplorationOptions { rate, seed })),
    ];
    (
        prop_oneof![3 => Just(None), 2 => prop::collection::vec(item_id(), 0..20).prop_map(Some)],
        mostly(1..30u32, weird_u32()),
        prop::option::of(plausible_text()),
        prop_oneof![4 => Just(None), 4 => Just(Some("s".to_string())), 1 => weird_string().prop_map(Some)],
        prop_oneof![
            3 => Just(None),
            5 => (NOW - 30 * DAY..NOW + 30 * DAY).prop_map(Some),
            1 => weird_i64().prop_map(Some),
        ],
        rules,
        diversity,
        exploration,
    )
        .prop_map(
            |(candidate_ids, limit, surface, session_id, now, rules, diversity, exploration)| {
                RankRequest {
                    candidate_ids,
                    limit,
                    surface,
                    session_id,
                    now,
                    rules,
                    diversity,
                    exploration,
                    ..Default::default()
                }
            },
        )
        .boxed()
}

#[test]
fn rank_requests_never_panic_and_results_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let t = open_tailor(&dir);
    let mut items = catalog();
    items[3].in_stock = false;
    items[5].margin = Some(0.1);
    t.upsert_items(items).unwrap();
    t.track_batch(vec![
        Event {
            session_id: Some("s".into()),
            ..event(EventKind::Purchase, "toys-1", NOW - DAY)
        },
        event(EventKind::View, "books-2", NOW - 3600),
    ])
    .unwrap();
    t.set_preferences(vec![Attribute {
        kind: AttributeKind::Brand,
        value: "zeta".into(),
    }])
    .unwrap();
    let known: HashSet<String> = catalog().into_iter().map(|i| i.id).collect();
    let check = |req: RankRequest| -> TestCaseResult {
        match t.rank(req.clone()) {
            Ok(r) => {
                prop_assert!(r.items.len() <= req.limit as usize);
                let mut seen = HashSet::new();
                for i in &r.items {
                    prop_assert!(known.contains(&i.item_id), "{}", i.item_id);
                    prop_assert!(seen.insert(i.item_id.clone()), "duplicate {}", i.item_id);
                    prop_assert!(i.score.is_finite(), "{i:?}");
                    prop_assert!(i.reasons.len() <= 3);
                }
                // Pinned items are placed even when they are not among the candidates.
                let pinned = |id: &String| req.rules.pinned.iter().any(|p| &p.item_id == id);
                if let Some(c) = &req.candidate_ids {
                    prop_assert!(r
                        .items
                        .iter()
                        .all(|i| c.contains(&i.item_id) || pinned(&i.item_id)));
                    prop_assert!(r.unknown_ids.iter().all(|u| c.contains(u) || pinned(u)));
                } else {
                    prop_assert!(r.unknown_ids.iter().all(pinned));
                }
                prop_assert!(r
                    .items
                    .iter()
                    .all(|i| !req.rules.exclude_ids.contains(&i.item_id)));
                prop_assert_eq!(r.personalized, r.fallback.is_none());
                accepted();
                Ok(())
            }
            Err(e) => expect_input_error(&e, "rank"),
        }
    };
    // Regression found by this property: one item pinned twice was shown twice.
    let twice = RankRequest {
        limit: 5,
        rules: BusinessRules {
            pinned: vec![
                Pin {
                    item_id: "shoes-3".into(),
                    position: 0,
                },
                Pin {
                    item_id: "shoes-3".into(),
                    position: 1,
                },
            ],
            ..Default::default()
        },
        ..Default::default()
    };
    expect_input_error(&t.rank(twice).unwrap_err(), "item pinned twice").unwrap();
    fuzz("RankRequest through rank", 256, rank_request(), check);
    t.set_consent(false).unwrap();
    fuzz(
        "RankRequest through rank, opted out",
        64,
        rank_request(),
        check,
    );
}
