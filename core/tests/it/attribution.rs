//! Attribution per placement (issue 18, part 4): every response has its own id; impressions
//! and events cite it; `metrics().placements` counts conversions per response, surface and
//! variant within the attribution window.

use crate::common::*;
use tailor::*;

/// A page of one category's items (pages of different categories share no item).
fn page(t: &Tailor, surface: &str, experiment: Option<&str>) -> RankResponse {
    let category = match surface {
        "home" => "shoes",
        "pdp" => "books",
        _ => "toys",
    };
    t.rank(RankRequest {
        candidate_ids: Some((0..4).map(|i| format!("{category}-{i}")).collect()),
        limit: 4,
        surface: Some(surface.into()),
        now: Some(NOW),
        experiment: experiment.map(String::from),
        ..Default::default()
    })
    .unwrap()
}

fn cite(kind: EventKind, id: &str, ts: i64, response: Option<&RankResponse>) -> Event {
    Event {
        response_id: response.map(|r| r.response_id.clone()),
        ..event(kind, id, ts)
    }
}

fn placement<'a>(m: &'a LocalMetrics, r: &RankResponse) -> &'a PlacementCounters {
    m.placements
        .iter()
        .find(|p| p.response_id == r.response_id)
        .unwrap()
}

#[test]
fn every_response_gets_its_own_random_id() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    let ids: std::collections::HashSet<String> = (0..50)
        .map(|_| page(&t, "home", None).response_id)
        .collect();
    assert_eq!(ids.len(), 50);
    assert!(ids
        .iter()
        .all(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())));
    // Another install with the very same state gets other ids: nothing ties them to a shopper.
    let dir2 = tempfile::tempdir().unwrap();
    let t2 = open(&dir2);
    t2.upsert_items(catalog()).unwrap();
    assert!(!ids.contains(&page(&t2, "home", None).response_id));
}

#[test]
fn conversions_are_credited_to_the_placement_that_earned_them() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.define_experiment(Experiment {
        key: "layout".into(),
        variants: vec![Variant {
            name: "only".into(),
            weight: 1.0,
            model_name: None,
            exploration_rate: None,
            boosts: vec![],
        }],
    })
    .unwrap();
    let home = page(&t, "home", None);
    let pdp = page(&t, "pdp", Some("layout"));
    let unseen = page(&t, "search", None);
    t.record_impressions(Impressions::of(&home, 4, Some(NOW)))
        .unwrap();
    t.record_impressions(Impressions::of(&pdp, 3, Some(NOW)))
        .unwrap();
    let (h0, h1) = (&home.items[0].item_id, &home.items[1].item_id);
    let p0 = &pdp.items[0].item_id;
    t.track_batch(vec![
        // Cited: a click and a cart on home, a purchase on the pdp.
        cite(EventKind::Click, h0, NOW + 60, Some(&home)),
        cite(EventKind::AddToCart, h0, NOW + 90, Some(&home)),
        cite(EventKind::Purchase, p0, NOW + 120, Some(&pdp)),
        // Not cited: credited through the latest impression of the item (home shows h1).
        cite(EventKind::Purchase, h1, NOW + 180, None),
        // Cited but after the 24-hour window, or citing a page never reported: no credit.
        cite(EventKind::Purchase, h0, NOW + 25 * 3_600, Some(&home)),
        cite(EventKind::Purchase, h0, NOW + 200, Some(&unseen)),
    ])
    .unwrap();
    let m = t.metrics().unwrap();
    assert_eq!(
        m.placements.len(),
        2,
        "only pages the app reported as shown"
    );
    let h = placement(&m, &home);
    assert_eq!(
        (h.surface.as_str(), h.variant.as_str(), h.shown_at),
        ("home", "", NOW)
    );
    assert_eq!(
        (h.impressions, h.clicks, h.add_to_carts, h.purchases),
        (4, 1, 1, 1)
    );
    let price = |id: &str| catalog().into_iter().find(|i| i.id == id).unwrap().price;
    assert_eq!(h.revenue, price(h1));
    let p = placement(&m, &pdp);
    assert_eq!(
        (
            p.surface.as_str(),
            p.experiment.as_str(),
            p.variant.as_str()
        ),
        ("pdp", "layout", "only")
    );
    assert_eq!((p.impressions, p.clicks, p.purchases), (3, 0, 1));
    assert_eq!(p.revenue, price(p0));
    // The same page reported again (the shopper scrolled back) adds impressions to it.
    t.record_impressions(Impressions::of(&home, 2, Some(NOW + 30)))
        .unwrap();
    assert_eq!(placement(&t.metrics().unwrap(), &home).impressions, 6);
    let doc: serde_json::Value = serde_json::from_str(&t.export_json().unwrap()).unwrap();
    assert_eq!(doc["placements"].as_array().unwrap().len(), 2);
    assert_eq!(
        doc["impressions"][0]["response_id"],
        home.response_id.as_str()
    );
}

#[test]
fn placements_go_with_reset_metrics_and_erase() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    let home = page(&t, "home", None);
    t.record_impressions(Impressions::of(&home, 2, Some(NOW)))
        .unwrap();
    assert_eq!(t.metrics().unwrap().placements.len(), 1);
    t.reset_metrics().unwrap();
    assert!(t.metrics().unwrap().placements.is_empty());
    t.record_impressions(Impressions::of(&home, 2, Some(NOW)))
        .unwrap();
    t.erase().unwrap();
    assert!(t.metrics().unwrap().placements.is_empty());
    assert!(!t.export_json().unwrap().contains(&home.response_id));
}

#[test]
fn a_bad_response_id_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    let home = page(&t, "home", None);
    let mut shown = Impressions::of(&home, 2, Some(NOW));
    shown.response_id = Some(String::new());
    assert!(matches!(
        t.record_impressions(shown),
        Err(TailorError::InvalidInput { .. })
    ));
    let mut e = event(EventKind::Click, "shoes-0", NOW);
    e.response_id = Some("x".repeat(10_000));
    assert!(matches!(t.track(e), Err(TailorError::InvalidInput { .. })));
    assert!(t.metrics().unwrap().placements.is_empty());
    assert_eq!(t.status().unwrap().profile_events, 0);
}
