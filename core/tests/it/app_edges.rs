//! What an app developer meets first (issue 16): model-loading errors as documented, cold start
//! from imported events, forcing an experiment variant for QA, and retention reported in status.
use crate::common::*;
use tailor::*;

fn write_events_csv(dir: &tempfile::TempDir, rows: &[(&str, &str, &str)]) -> String {
    let path = dir.path().join("events.csv");
    let mut csv = String::from("user_id,item_id,event,ts\n");
    for (user, item, kind) in rows {
        csv.push_str(&format!("{user},{item},{kind},{NOW}\n"));
    }
    std::fs::write(&path, csv).unwrap();
    path.display().to_string()
}

#[test]
fn load_model_on_a_missing_directory_is_model_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    let missing = dir.path().join("no-such-model").display().to_string();
    for result in [
        t.load_model(missing.clone(), None),
        t.validate_model(missing, None),
    ] {
        assert!(
            matches!(result, Err(TailorError::ModelRejected { .. })),
            "{result:?}"
        );
    }
}

#[test]
fn imported_purchases_become_the_cold_start_order_with_popular_now() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    let mut items = catalog();
    for i in &mut items {
        i.popularity = 0.0;
    }
    t.upsert_items(items).unwrap();
    let mut rows = Vec::new();
    for user in ["u1", "u2", "u3"] {
        rows.push((user, "toys-3", "purchase"));
    }
    rows.push(("u1", "books-2", "purchase"));
    rows.push(("u2", "shoes-0", "view"));
    let csv = write_events_csv(&dir, &rows);
    // Only u9's rows (none) go into this profile, but every row counts for popularity.
    t.import_events_csv(csv, Some("u9".into())).unwrap();
    let page = t.rank(request(3)).unwrap();
    assert_eq!(page.fallback, Some(Fallback::ColdStart));
    assert_eq!(ids(&page)[..2], ["toys-3", "books-2"]);
    assert!(page.items[0].reasons.contains(&Reason::PopularNow));
}

#[test]
fn a_catalog_with_popularity_keeps_it_when_events_are_imported() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    let csv = write_events_csv(&dir, &[("u1", "toys-3", "purchase")]);
    t.import_events_csv(csv, Some("u9".into())).unwrap();
    let page = t.rank(request(1)).unwrap();
    assert_eq!(ids(&page), ["shoes-0"]);
}

fn experiment() -> Experiment {
    let variant = |name: &str| Variant {
        name: name.into(),
        weight: 1.0,
        model_name: None,
        exploration_rate: None,
        boosts: vec![],
    };
    Experiment {
        key: "qa".into(),
        variants: vec![variant("a"), variant("b")],
    }
}

#[test]
fn a_forced_variant_wins_until_it_is_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    let natural = t.define_experiment(experiment()).unwrap();
    let other = if natural == "a" { "b" } else { "a" };
    t.force_variant("qa".into(), Some(other.into())).unwrap();
    assert_eq!(t.define_experiment(experiment()).unwrap(), other);
    let page = t
        .rank(RankRequest {
            limit: 2,
            experiment: Some("qa".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.variant.as_deref(), Some(other));
    assert!(matches!(
        t.force_variant("qa".into(), Some("c".into())),
        Err(TailorError::InvalidInput { .. })
    ));
    t.force_variant("qa".into(), None).unwrap();
    assert_eq!(t.define_experiment(experiment()).unwrap(), natural);
    // Forced before the experiment exists: checked when it is defined.
    t.force_variant("later".into(), Some("z".into())).unwrap();
    let later = Experiment {
        key: "later".into(),
        ..experiment()
    };
    assert!(matches!(
        t.define_experiment(later),
        Err(TailorError::InvalidInput { .. })
    ));
}

#[test]
fn retention_pruning_leaves_a_notice_in_status() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tailor::open(TailorConfig {
        max_events: 2,
        ..config(&dir)
    })
    .unwrap();
    t.upsert_items(catalog()).unwrap();
    assert!(t.status().unwrap().notices.is_empty());
    for (n, id) in ["shoes-0", "shoes-1", "books-0", "books-1"]
        .iter()
        .enumerate()
    {
        t.track(event(EventKind::View, id, NOW + n as i64)).unwrap();
    }
    let status = t.status().unwrap();
    assert_eq!(status.profile_events, 2);
    let retention: Vec<_> = status
        .notices
        .iter()
        .filter(|n| n.message.contains("retention"))
        .collect();
    assert_eq!(retention.len(), 1, "{:?}", status.notices);
    assert!(
        retention[0].message.contains("removed 2 events"),
        "{}",
        retention[0].message
    );
}
