//! The editable profile (issue 18, part 1): "not interested in" an item, category, brand or tag,
//! its undo, and "forget this item" — honoured by every rank call, listed, exported, carried
//! in snapshots, erased.

use crate::common::*;
use tailor::*;

fn attr(kind: AttributeKind, value: &str) -> Attribute {
    Attribute {
        kind,
        value: value.into(),
    }
}

fn rank_at(t: &Tailor, surface: &str, candidates: Option<Vec<String>>) -> RankResponse {
    t.rank(RankRequest {
        candidate_ids: candidates,
        limit: 12,
        surface: Some(surface.into()),
        now: Some(NOW),
        ..Default::default()
    })
    .unwrap()
}

/// A shopper who bought shoes-0 twice and keeps looking at shoes.
fn shoe_lover(dir: &tempfile::TempDir) -> std::sync::Arc<Tailor> {
    let t = open(dir);
    t.upsert_items(catalog()).unwrap();
    let mut events = vec![
        event(EventKind::Purchase, "shoes-0", NOW - 20 * DAY),
        event(EventKind::Purchase, "shoes-0", NOW - 10 * DAY),
    ];
    for i in 1..4 {
        events.push(event(EventKind::View, &format!("shoes-{i}"), NOW - DAY));
    }
    t.track_batch(events).unwrap();
    t
}

#[test]
fn a_not_interested_item_is_left_out_everywhere_until_undone() {
    let dir = tempfile::tempdir().unwrap();
    let t = shoe_lover(&dir);
    let everything: Vec<String> = catalog().into_iter().map(|i| i.id).collect();
    assert!(ids(&rank_at(&t, "home", None)).contains(&"shoes-0".to_string()));
    let shoe = attr(AttributeKind::Item, "shoes-0");
    t.mark_not_interested(shoe.clone()).unwrap();
    for surface in ["home", "pdp", "cart"] {
        assert!(!ids(&rank_at(&t, surface, None)).contains(&"shoes-0".to_string()));
        let asked = rank_at(&t, surface, Some(everything.clone()));
        assert!(!ids(&asked).contains(&"shoes-0".to_string()));
        assert!(asked.unknown_ids.is_empty(), "left out, not unknown");
    }
    // Not even a merchant pin brings it back.
    let pinned = t
        .rank(RankRequest {
            limit: 5,
            now: Some(NOW),
            rules: BusinessRules {
                pinned: vec![Pin {
                    item_id: "shoes-0".into(),
                    position: 0,
                }],
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap();
    assert!(!ids(&pinned).contains(&"shoes-0".to_string()));
    let summary = t.explain_profile(Some(NOW)).unwrap();
    assert_eq!(summary.not_interested.len(), 1);
    assert_eq!(summary.not_interested[0].attribute, shoe);
    assert!(summary
        .sentences
        .iter()
        .any(|s| s.contains("not interested in shoes-0")));
    let doc: serde_json::Value = serde_json::from_str(&t.export_json().unwrap()).unwrap();
    assert_eq!(doc["not_interested"][0]["attribute"]["value"], "shoes-0");
    assert_eq!(doc["not_interested"][0]["attribute"]["kind"], "item");

    assert!(t.undo_not_interested(shoe.clone()).unwrap());
    assert!(
        !t.undo_not_interested(shoe).unwrap(),
        "nothing left to undo"
    );
    let back = rank_at(&t, "home", None);
    assert!(ids(&back).contains(&"shoes-0".to_string()));
    assert!(t
        .explain_profile(Some(NOW))
        .unwrap()
        .not_interested
        .is_empty());
}

#[test]
fn a_not_interested_category_brand_or_tag_goes_to_the_end_whatever_its_score() {
    let dir = tempfile::tempdir().unwrap();
    let t = shoe_lover(&dir);
    let top = ids(&rank_at(&t, "home", None));
    assert!(top[0].starts_with("shoes"), "{top:?}");
    t.mark_not_interested(attr(AttributeKind::Category, "shoes"))
        .unwrap();
    // Even boosted, with exploration and diversity, shoes come after every other item.
    let r = t
        .rank(RankRequest {
            limit: 12,
            now: Some(NOW),
            rules: BusinessRules {
                boosts: vec![Boost {
                    attribute: attr(AttributeKind::Category, "shoes"),
                    weight: 50.0,
                }],
                ..Default::default()
            },
            diversity: Some(DiversityOptions {
                max_per_category: Some(1),
                max_per_brand: None,
                window: 10,
            }),
            exploration: Some(ExplorationOptions {
                rate: 0.5,
                seed: Some(7),
            }),
            ..Default::default()
        })
        .unwrap();
    let order = ids(&r);
    assert_eq!(order.len(), 12);
    let pinned = t
        .rank(RankRequest {
            limit: 12,
            now: Some(NOW),
            rules: BusinessRules {
                pinned: vec![Pin {
                    item_id: "shoes-1".into(),
                    position: 0,
                }],
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap();
    assert!(
        ids(&pinned)[8..].contains(&"shoes-1".to_string()),
        "the shopper wins over a pin: {:?}",
        ids(&pinned)
    );
    assert!(
        order[8..].iter().all(|id| id.starts_with("shoes")),
        "{order:?}"
    );
    let summary = t.explain_profile(Some(NOW)).unwrap();
    assert!(
        summary
            .top_categories
            .iter()
            .all(|a| a.attribute.value != "shoes"),
        "not presented as the shopper's taste"
    );
    // Brands and tags work the same way: every acme item after every zeta item.
    t.mark_not_interested(attr(AttributeKind::Brand, "acme"))
        .unwrap();
    t.mark_not_interested(attr(AttributeKind::Tag, "toys"))
        .unwrap();
    let order = ids(&rank_at(&t, "pdp", None));
    let brand = |id: &str| {
        catalog()
            .into_iter()
            .find(|i| i.id == id)
            .map(|i| i.brand)
            .unwrap()
    };
    let first_down = order
        .iter()
        .position(|id| brand(id) == "acme" || id.starts_with("shoes") || id.starts_with("toys"))
        .unwrap();
    assert!(
        order[first_down..]
            .iter()
            .all(|id| brand(id) == "acme" || id.starts_with("shoes") || id.starts_with("toys")),
        "{order:?}"
    );
    assert_eq!(order[..first_down], ["books-1", "books-3"]);
}

#[test]
fn forgetting_an_item_takes_back_everything_its_events_taught() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    let mut items = catalog();
    // books-1 is bought with toys-0: viewing toys-0 explains books-1 ("because you viewed").
    items[8].related = vec![RelatedItem {
        item_id: "books-1".into(),
        weight: 1.0,
    }];
    t.upsert_items(items).unwrap();
    t.track_batch(vec![
        event(EventKind::Purchase, "toys-0", NOW - 3 * DAY),
        event(EventKind::View, "toys-0", NOW - DAY),
        event(EventKind::View, "books-2", NOW - DAY),
    ])
    .unwrap();
    let reasons = |t: &Tailor, id: &str| {
        rank_at(t, "home", None)
            .items
            .into_iter()
            .find(|i| i.item_id == id)
            .map(|i| i.reasons)
            .unwrap_or_default()
    };
    assert!(reasons(&t, "books-1")
        .iter()
        .any(|r| matches!(r, Reason::SimilarTo { item_id, .. } if item_id == "toys-0")));
    assert!(reasons(&t, "toys-0").contains(&Reason::BoughtBefore { times: 1 }));

    assert_eq!(t.forget_item("toys-0".into()).unwrap(), 2);
    assert_eq!(
        t.forget_item("toys-0".into()).unwrap(),
        0,
        "already forgotten"
    );
    let check = |t: &Tailor| {
        assert!(!reasons(t, "books-1")
            .iter()
            .any(|r| matches!(r, Reason::SimilarTo { .. })));
        let own = reasons(t, "toys-0");
        assert!(
            !own.iter().any(
                |r| matches!(r, Reason::BoughtBefore { .. } | Reason::ViewedRecently)
                    || matches!(r, Reason::Likes { attribute } if attribute.value == "toys")
            ),
            "no buy-again, no taste: {own:?}"
        );
        let summary = t.explain_profile(Some(NOW)).unwrap();
        assert!(summary.recent_items.iter().all(|i| i.item_id != "toys-0"));
        assert!(summary
            .top_categories
            .iter()
            .all(|a| a.attribute.value != "toys"));
        assert_eq!(summary.events_total, 1);
        assert_eq!(t.status().unwrap().profile_events, 1);
        let doc = t.export_json().unwrap();
        assert!(!doc.contains("toys-0"), "{doc}");
        assert!(!doc.contains("\"toys\""), "the toys affinity went with it");
    };
    check(&t);
    t.close();
    drop(t);
    check(&open(&dir));
}

#[test]
fn corrections_survive_reopen_travel_in_snapshots_and_go_with_erase() {
    let dir = tempfile::tempdir().unwrap();
    let t = shoe_lover(&dir);
    t.mark_not_interested(attr(AttributeKind::Item, "books-0"))
        .unwrap();
    t.mark_not_interested(attr(AttributeKind::Brand, "zeta"))
        .unwrap();
    t.close();
    drop(t);
    let t = open(&dir);
    assert!(!ids(&rank_at(&t, "home", None)).contains(&"books-0".to_string()));
    let key = vec![7u8; 32];
    let blob = t.export_profile_snapshot(key.clone()).unwrap();

    let other_dir = tempfile::tempdir().unwrap();
    let other = open(&other_dir);
    other.upsert_items(catalog()).unwrap();
    other
        .import_profile_snapshot(blob.clone(), key.clone())
        .unwrap();
    other.import_profile_snapshot(blob, key).unwrap();
    let marks = other.explain_profile(Some(NOW)).unwrap().not_interested;
    assert_eq!(marks.len(), 2, "imported once, however often: {marks:?}");
    assert!(!ids(&rank_at(&other, "home", None)).contains(&"books-0".to_string()));

    t.erase().unwrap();
    assert!(t
        .explain_profile(Some(NOW))
        .unwrap()
        .not_interested
        .is_empty());
    assert!(ids(&rank_at(&t, "home", None)).contains(&"books-0".to_string()));
    assert!(!t.export_json().unwrap().contains("zeta"));
}

#[test]
fn bad_corrections_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = shoe_lover(&dir);
    for bad in ["", "   ", &"x".repeat(10_000)] {
        let e = t.mark_not_interested(attr(AttributeKind::Category, bad));
        assert!(matches!(e, Err(TailorError::InvalidInput { .. })), "{e:?}");
        let e = t.forget_item(bad.to_string());
        assert!(matches!(e, Err(TailorError::InvalidInput { .. })), "{e:?}");
    }
    assert!(t
        .explain_profile(Some(NOW))
        .unwrap()
        .not_interested
        .is_empty());
    assert_eq!(t.status().unwrap().profile_events, 5);
    // Without consent nothing new is stored, like every profile write.
    t.set_consent(false).unwrap();
    t.mark_not_interested(attr(AttributeKind::Brand, "acme"))
        .unwrap();
    assert!(t
        .explain_profile(Some(NOW))
        .unwrap()
        .not_interested
        .is_empty());
}
