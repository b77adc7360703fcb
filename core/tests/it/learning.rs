//! On-device learning, exploration, experiments and local metrics (issue 6), through the API.

use crate::common::*;
use tailor::*;

fn req(limit: u32, now: i64) -> RankRequest {
    RankRequest {
        limit,
        now: Some(now),
        ..Default::default()
    }
}

fn shown(page: &RankResponse, at: i64, experiment: Option<&str>) -> Impressions {
    Impressions {
        item_ids: ids(page),
        surface: Some("home".into()),
        experiment: experiment.map(String::from),
        timestamp: Some(at),
        response_id: None,
    }
}

/// A shopper who bought shoes long ago but now skips them and picks books further down the page.
fn train_books_lover(t: &Tailor, rounds: i64) {
    for i in 0..4 {
        t.track(event(
            EventKind::Purchase,
            &format!("shoes-{i}"),
            NOW - 60 * DAY,
        ))
        .unwrap();
    }
    for r in 0..rounds {
        let at = NOW - 10 * DAY + r * 3_600;
        let page = t.rank(req(12, at)).unwrap();
        t.record_impressions(shown(&page, at, None)).unwrap();
        // The best-placed book: everything above it is what the shopper skipped.
        let book = page
            .items
            .iter()
            .find(|i| i.item_id.starts_with("books"))
            .unwrap();
        t.track(event(EventKind::Click, &book.item_id, at + 60))
            .unwrap();
    }
}

fn position(page: &RankResponse, prefix: &str) -> usize {
    page.items
        .iter()
        .position(|i| i.item_id.starts_with(prefix))
        .unwrap()
}

#[test]
fn the_personal_layer_learns_from_clicks_persists_and_resets() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.load_model(
        repo().join("models/bootstrap-ranker").display().to_string(),
        None,
    )
    .unwrap();
    let untrained_dir = tempfile::tempdir().unwrap();
    let control = Tailor::open(TailorConfig {
        personal_learning: false,
        ..config(&untrained_dir)
    })
    .unwrap();
    control.upsert_items(catalog()).unwrap();
    control
        .load_model(
            repo().join("models/bootstrap-ranker").display().to_string(),
            None,
        )
        .unwrap();
    train_books_lover(&t, 30);
    train_books_lover(&control, 30);
    let learned = t.rank(req(12, NOW)).unwrap();
    let plain = control.rank(req(12, NOW)).unwrap();
    assert!(
        position(&learned, "books") < position(&plain, "books"),
        "books rise with learning: {:?} vs {:?}",
        ids(&learned),
        ids(&plain)
    );
    let updates = t.metrics().unwrap().engine.personal_updates;
    assert_eq!(updates, 30);
    assert_eq!(control.metrics().unwrap().engine.personal_updates, 0);
    drop(t);
    let t = open(&dir);
    assert_eq!(
        ids(&t.rank(req(12, NOW)).unwrap()),
        ids(&learned),
        "the layer persists"
    );
    t.reset_personal_layer().unwrap();
    assert_eq!(t.metrics().unwrap().engine.personal_updates, 0);
    let reset = t.rank(req(12, NOW)).unwrap();
    assert_eq!(
        position(&reset, "books"),
        position(&plain, "books"),
        "reset returns to the model"
    );
}

#[test]
fn exploration_follows_what_the_shopper_engages_with() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    let mut items = catalog();
    for i in 0..8 {
        items.push(item(&format!("garden-{i}"), "garden", "acme", 5.0, 1.0));
        items.push(item(&format!("music-{i}"), "music", "acme", 5.0, 1.0));
    }
    t.upsert_items(items).unwrap();
    // A fixed model, so the pool of candidates does not change when the default is retrained.
    let bootstrap = repo().join("models/bootstrap-ranker").display().to_string();
    t.load_model(bootstrap, None).unwrap();
    t.track(event(EventKind::Purchase, "shoes-0", NOW - DAY))
        .unwrap();
    let explore = |seed: u64, at: i64| {
        let r = RankRequest {
            exploration: Some(ExplorationOptions {
                rate: 0.25,
                seed: Some(seed),
            }),
            ..req(4, at)
        };
        t.rank(r).unwrap()
    };
    let share = |prefix: &str, at: i64| {
        let picks: Vec<String> = (0..200)
            .flat_map(|s| {
                explore(s, at)
                    .items
                    .into_iter()
                    .filter(|i| i.reasons.contains(&Reason::Exploration))
            })
            .map(|i| i.item_id)
            .collect();
        picks.iter().filter(|id| id.starts_with(prefix)).count() as f64 / picks.len() as f64
    };
    let before = share("garden", NOW);
    // Garden items get clicked whenever shown; music items never.
    for r in 0..20 {
        let at = NOW + r * 600;
        let page = explore(1_000 + r as u64, at);
        t.record_impressions(shown(&page, at, None)).unwrap();
        t.record_impressions(Impressions {
            item_ids: vec![format!("garden-{}", r % 8), format!("music-{}", r % 8)],
            surface: None,
            experiment: None,
            timestamp: Some(at),
            response_id: None,
        })
        .unwrap();
        t.track(event(
            EventKind::Click,
            &format!("garden-{}", r % 8),
            at + 30,
        ))
        .unwrap();
    }
    let after = share("garden", NOW + 20 * 600);
    assert!(
        after >= before * 1.5 && after - before >= 0.15,
        "garden explored more after engagement: {before:.2} -> {after:.2}"
    );
    assert!(share("music", NOW + 20 * 600) < 0.2);
}

#[test]
fn experiments_bucket_deterministically_and_choose_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let experiment = Experiment {
        key: "ranker-test".into(),
        variants: vec![
            Variant {
                name: "a".into(),
                weight: 1.0,
                model_name: Some("linear-ranker".into()),
                exploration_rate: None,
                boosts: vec![],
            },
            Variant {
                name: "b".into(),
                weight: 1.0,
                model_name: Some("linear-ranker".into()),
                exploration_rate: None,
                boosts: vec![],
            },
        ],
    };
    let first = {
        let t = open(&dir);
        t.upsert_items(catalog()).unwrap();
        t.track(event(EventKind::Purchase, "toys-1", NOW - DAY))
            .unwrap();
        let undefined = t.rank(RankRequest {
            experiment: Some("ranker-test".into()),
            ..req(3, NOW)
        });
        assert!(matches!(undefined, Err(TailorError::InvalidInput { .. })));
        let missing_model = t.define_experiment(experiment.clone());
        assert!(
            matches!(missing_model, Err(TailorError::NotFound { .. })),
            "{missing_model:?}"
        );
        t.load_model(
            repo().join("models/linear-ranker").display().to_string(),
            None,
        )
        .unwrap();
        // The active model becomes bootstrap; linear-ranker stays loaded for rollback.
        t.load_model(
            repo().join("models/bootstrap-ranker").display().to_string(),
            None,
        )
        .unwrap();
        let v = t.define_experiment(experiment.clone()).unwrap();
        let r = t
            .rank(RankRequest {
                experiment: Some("ranker-test".into()),
                ..req(3, NOW)
            })
            .unwrap();
        assert_eq!(r.variant.as_deref(), Some(v.as_str()));
        assert_eq!(r.model_name, "linear-ranker", "the variant's model ranks");
        assert_eq!(
            t.model_info().name,
            "bootstrap-ranker",
            "the active model is unchanged"
        );
        v
    };
    let t = open(&dir);
    assert_eq!(
        t.define_experiment(experiment).unwrap(),
        first,
        "same install, same variant"
    );
}

#[test]
fn the_funnel_counts_impressions_conversions_and_attribution() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.track(event(EventKind::Purchase, "toys-1", NOW - DAY))
        .unwrap();
    let variant = t
        .define_experiment(Experiment {
            key: "e".into(),
            variants: vec![Variant {
                name: "only".into(),
                weight: 1.0,
                model_name: None,
                exploration_rate: None,
                boosts: vec![],
            }],
        })
        .unwrap();
    let page = t
        .rank(RankRequest {
            experiment: Some("e".into()),
            ..req(5, NOW)
        })
        .unwrap();
    t.record_impressions(shown(&page, NOW, Some("e"))).unwrap();
    let shown_id = page.items[2].item_id.clone();
    let purchase = |id: &str, at: i64, qty: u32| Event {
        quantity: Some(qty),
        surface: Some("search".into()),
        ..event(EventKind::Purchase, id, at)
    };
    t.track(event(EventKind::Click, &shown_id, NOW + 60))
        .unwrap();
    t.track(purchase(&shown_id, NOW + 120, 2)).unwrap();
    let not_shown = catalog()
        .into_iter()
        .map(|i| i.id)
        .find(|id| !ids(&page).contains(id))
        .unwrap();
    t.track(purchase(&not_shown, NOW + 180, 1)).unwrap();
    t.track(purchase(&shown_id, NOW + 3 * DAY, 1)).unwrap(); // outside the 24 h window
    let m = t.metrics().unwrap();
    let f = m.funnels.iter().find(|f| f.experiment == "e").unwrap();
    assert_eq!(
        (f.variant.as_str(), f.surface.as_str()),
        (variant.as_str(), "home")
    );
    assert_eq!(
        (
            f.impressions,
            f.clicks,
            f.purchases,
            f.attributed_conversions
        ),
        (5, 1, 1, 1)
    );
    let price = catalog()
        .into_iter()
        .find(|i| i.id == shown_id)
        .unwrap()
        .price;
    assert!(
        (f.revenue - 2.0 * price).abs() < 1e-9 && (f.attributed_revenue - 2.0 * price).abs() < 1e-9
    );
    let other = m
        .funnels
        .iter()
        .find(|f| f.experiment.is_empty() && f.surface == "search")
        .unwrap();
    assert_eq!((other.purchases, other.attributed_conversions), (2, 0));
    assert!(m.engine.rank_latency.count >= 1);
    t.reset_metrics().unwrap();
    assert!(t.metrics().unwrap().funnels.is_empty());
}

#[test]
fn engine_stats_count_fallbacks_and_errors_and_erase_clears_learning() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.rank(req(3, NOW)).unwrap(); // cold start
    let _ = t.rank(req(0, NOW)); // invalid
    let _ = t.upsert_items(vec![item("", "x", "y", 1.0, 0.0)]); // invalid
    let e = t.metrics().unwrap().engine;
    let count = |v: &[NamedCount], n: &str| v.iter().find(|c| c.name == n).unwrap().count;
    assert_eq!(count(&e.fallbacks, "cold_start"), 1);
    assert_eq!(count(&e.errors, "invalid_input"), 2);
    assert!(e.profile_db_bytes > 0 && e.catalog_items == 12);
    train_books_lover(&t, 5);
    assert!(t.metrics().unwrap().engine.personal_updates > 0);
    t.erase().unwrap();
    let m = t.metrics().unwrap();
    assert_eq!(m.engine.personal_updates, 0);
    assert!(m.funnels.is_empty());
}

#[test]
fn erase_forgets_the_pages_shown_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.track(event(EventKind::Purchase, "shoes-0", NOW - DAY))
        .unwrap();
    let page = t.rank(req(12, NOW)).unwrap();
    t.record_impressions(shown(&page, NOW, None)).unwrap();
    t.erase().unwrap();
    // A click on the page shown before the erase must teach nothing: that page is gone.
    let clicked = page.items[4].item_id.clone();
    t.track(event(EventKind::Click, &clicked, NOW + 60))
        .unwrap();
    assert_eq!(t.metrics().unwrap().engine.personal_updates, 0);
    let export: serde_json::Value = serde_json::from_str(&t.export_json().unwrap()).unwrap();
    assert!(export["personal_layer"].is_null(), "{export}");
    assert_eq!(export["exploration"], serde_json::json!([]), "{export}");
    assert_eq!(export["impressions"], serde_json::json!([]), "{export}");
    assert_eq!(
        export["events"].as_array().unwrap().len(),
        1,
        "only the new click"
    );
    t.close();
    // Only the clicked item was seen after the erase; no other id of the old page is on disk.
    let mut raw = Vec::new();
    for name in ["profile.db", "profile.db-wal"] {
        raw.extend(std::fs::read(dir.path().join(name)).unwrap_or_default());
    }
    let raw = String::from_utf8_lossy(&raw);
    for id in ids(&page).iter().filter(|id| **id != clicked) {
        assert!(!raw.contains(id.as_str()), "{id} left in profile.db");
    }
}

#[test]
fn every_call_counts_its_errors() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    let bad_csv = dir.path().join("bad.csv");
    std::fs::write(&bad_csv, "user_id,item_id,event,ts\nu,a,teleport,1\n").unwrap();
    let too_many = vec![
        Attribute {
            kind: AttributeKind::Tag,
            value: "x".into()
        };
        201
    ];
    let failures: Vec<Result<(), TailorError>> = vec![
        t.set_preferences(too_many),
        t.remove_items(vec!["x".into(); 100_001]).map(|_| ()),
        t.import_events_csv(bad_csv.display().to_string(), None)
            .map(|_| ()),
        t.import_catalog_csv(dir.path().join("missing.csv").display().to_string())
            .map(|_| ()),
        t.validate_model("/no/such/model".into(), None).map(|_| ()),
    ];
    assert!(failures.iter().all(|r| r.is_err()), "{failures:?}");
    let errors = t.metrics().unwrap().engine.errors;
    let total: u64 = errors.iter().map(|c| c.count).sum();
    assert_eq!(total, failures.len() as u64, "{errors:?}");
}
