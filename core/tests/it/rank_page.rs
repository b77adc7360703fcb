//! The packed page (`rank_packed`, what the Kotlin and Swift SDKs receive): read back with the
//! reference reader it is the response `rank` gives for the same request, for every kind of
//! page; only the per-call response id and timing differ.

use super::common::*;
use tailor::engine::rank::packed;
use tailor::{
    Attribute, AttributeKind, Boost, BusinessRules, EventKind, ExplorationOptions, Fallback, Item,
    Pin, RankRequest, RankResponse, Reason, SurfaceKind, TailorError,
};

fn comparable(r: RankResponse) -> RankResponse {
    RankResponse {
        response_id: String::new(),
        took_micros: 0,
        ..r
    }
}

#[test]
fn every_kind_of_page_reads_back_as_rank_gives_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    let cold = request(5);
    let page = packed::decode(&t.rank_packed(cold.clone()).unwrap()).unwrap();
    assert_eq!(page.fallback, Some(Fallback::ColdStart));
    assert_eq!(comparable(page), comparable(t.rank(cold).unwrap()));

    let mut in_session = event(EventKind::View, "books-1", NOW - DAY);
    in_session.session_id = Some("s1".into());
    t.track_batch(vec![
        event(EventKind::Purchase, "toys-2", NOW - 3 * DAY),
        in_session,
        event(EventKind::AddToCart, "toys-3", NOW - 3_600),
    ])
    .unwrap();
    t.set_preferences(vec![Attribute {
        kind: AttributeKind::Category,
        value: "shoes".into(),
    }])
    .unwrap();
    let set: Vec<String> = ["shoes-0", "toys-3", "ghost", "books-1", "toys-2", "books-2"]
        .map(String::from)
        .to_vec();
    t.define_candidate_set("mixed".into(), set).unwrap();
    let requests = [
        RankRequest {
            session_id: Some("s1".into()),
            ..request(12)
        },
        RankRequest {
            candidate_set: Some("mixed".into()),
            ..request(4)
        },
        RankRequest {
            exploration: Some(ExplorationOptions {
                rate: 0.5,
                seed: Some(7),
            }),
            rules: BusinessRules {
                pinned: vec![Pin {
                    item_id: "books-3".into(),
                    position: 0,
                }],
                boosts: vec![Boost {
                    attribute: Attribute {
                        kind: AttributeKind::Brand,
                        value: "zeta".into(),
                    },
                    weight: 2.0,
                }],
                ..Default::default()
            },
            ..request(6)
        },
        RankRequest {
            kind: Some(SurfaceKind::Similar),
            context_item_ids: vec!["toys-1".into()],
            ..request(3)
        },
        RankRequest {
            kind: Some(SurfaceKind::Trending),
            ..request(3)
        },
        RankRequest {
            deadline_ms: Some(0),
            ..request(5)
        },
    ];
    let mut kinds = std::collections::HashSet::new();
    for r in &requests {
        let full = t.rank(r.clone()).unwrap();
        let page = packed::decode(&t.rank_packed(r.clone()).unwrap()).unwrap();
        assert_ne!(page.response_id, full.response_id, "a fresh id per call");
        kinds.extend(
            page.items
                .iter()
                .flat_map(|i| &i.reasons)
                .map(std::mem::discriminant),
        );
        assert_eq!(comparable(page), comparable(full), "{r:?}");
    }
    assert!(
        kinds.len() >= 5,
        "several kinds of reasons: {}",
        kinds.len()
    );
    let deadline = packed::decode(&t.rank_packed(requests[5].clone()).unwrap()).unwrap();
    assert!(matches!(
        deadline.fallback,
        Some(Fallback::DeadlineExceeded { .. })
    ));
    let similar = packed::decode(&t.rank_packed(requests[3].clone()).unwrap()).unwrap();
    assert!(matches!(
        similar.items[0].reasons[0],
        Reason::LooksLike { .. }
    ));
}

#[test]
fn a_failing_request_fails_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    let unknown_set = RankRequest {
        candidate_set: Some("nope".into()),
        ..request(3)
    };
    let packed = t.rank_packed(unknown_set.clone()).unwrap_err();
    assert!(matches!(packed, TailorError::NotFound { .. }), "{packed:?}");
    assert_eq!(
        packed.to_string(),
        t.rank(unknown_set).unwrap_err().to_string()
    );
}

/// Only the part of the order a page can reach is sorted: every page must be the start of the
/// fully sorted order (the longest page), with pins, boosts and "not interested" tiers.
#[test]
fn a_short_page_is_the_start_of_the_full_order() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    let items: Vec<Item> = (0..400)
        .map(|i| {
            item(
                &format!("p{i:03}"),
                ["shoes", "books", "toys", "games"][i % 4],
                ["acme", "zeta", "omni"][i % 3],
                1.0 + (i % 37) as f64,
                ((i * 53) % 101) as f64,
            )
        })
        .collect();
    t.upsert_items(items).unwrap();
    for k in 0..30 {
        let id = format!("p{:03}", (k * 13) % 400);
        t.track(event(EventKind::View, &id, NOW - 3_600 + k))
            .unwrap();
    }
    let ranked = |limit: u32, pinned: Vec<Pin>| -> Vec<String> {
        ids(&t
            .rank(RankRequest {
                rules: BusinessRules {
                    pinned,
                    ..Default::default()
                },
                ..request(limit)
            })
            .unwrap())
    };
    let pins = || {
        vec![Pin {
            item_id: "p399".into(),
            position: 2,
        }]
    };
    for marked in [false, true] {
        if marked {
            t.mark_not_interested(Attribute {
                kind: AttributeKind::Category,
                value: "books".into(),
            })
            .unwrap();
        }
        let full = ranked(1_000, vec![]);
        assert_eq!(full.len(), 400);
        let full_pinned = ranked(1_000, pins());
        for limit in [1, 3, 20, 150, 399] {
            let n = limit as usize;
            assert_eq!(
                ranked(limit, vec![]),
                full[..n],
                "limit {limit}, marked {marked}"
            );
            if limit > 2 {
                let pinned = ranked(limit, pins());
                assert_eq!(pinned, full_pinned[..n], "pinned, limit {limit}");
            }
        }
        if marked {
            // The marked category comes last, after every other item.
            let first_book = full.iter().position(|id| {
                let i: usize = id[1..].parse().unwrap();
                i % 4 == 1
            });
            assert_eq!(first_book, Some(300));
        }
    }
}
