//! Issue 18.2, the model guard: a model that passes every load check but misbehaves on real
//! profiles is rolled back on the device by itself, says why in `status()` and `metrics()`, and
//! stays refused (across reopen) until a new version is loaded. The degrading models are built
//! here with the ONNX graph helpers of `model_safety`.

use crate::common::*;
use crate::model_safety::{f32_init, i64_init, int_attr, manifest, node, Graph};
use tailor::*;

/// Features: bought_count, affinity_category, item_popularity (column 2).
/// score = lin + Log(1.5 - item_popularity): finite over the recorded range item_popularity in
/// [0, 1], which the load probe sweeps, but NaN for every catalog item (popularity ~100, so the
/// feature ln(1 + 100) = 4.6).
fn nan_on_popular_items() -> (Vec<u8>, String) {
    let bytes = Graph::linear()
        .ending_with(
            vec![
                int_attr(node("Gather", &["features", "col2"], &["pop"]), "axis", 1),
                node("Sub", &["limit", "pop"], &["room"]),
                node("Log", &["room"], &["logroom"]),
                node("Add", &["lin", "logroom"], &["out"]),
            ],
            "out",
        )
        .with_inits(vec![
            i64_init("col2", &[2]),
            f32_init("limit", &[1], &[1.5]),
        ])
        .bytes();
    let json = manifest(
        &bytes,
        r#","ranges":{"item_popularity":[0.0,1.0],"bought_count":[0.0,2.0],"affinity_category":[-1.0,1.0]}"#,
    );
    (bytes, json)
}

/// A finite model whose manifest claims scores in [-1, 1] (its training reference), while on
/// real items it scores around 100 x item_popularity: the distribution drifted.
fn drifting() -> (Vec<u8>, String) {
    let bytes = Graph::linear()
        .ending_with(
            vec![
                int_attr(node("Gather", &["features", "col2"], &["pop"]), "axis", 1),
                node("Mul", &["pop", "hundred"], &["big"]),
                node("Add", &["lin", "big"], &["out"]),
            ],
            "out",
        )
        .with_inits(vec![
            i64_init("col2", &[2]),
            f32_init("hundred", &[1], &[100.0]),
        ])
        .bytes();
    let json = manifest(
        &bytes,
        r#","score_reference":{"rows":5000,"mean":0.0,"std":0.5,
            "quantiles":[-0.8,-0.6,-0.4,-0.2,0.0,0.2,0.4,0.6,0.8]}"#,
    );
    (bytes, json)
}

fn linear_ranker() -> String {
    repo().join("models/linear-ranker").display().to_string()
}

fn shopper(t: &Tailor) {
    t.upsert_items(catalog()).unwrap();
    t.track(event(EventKind::Purchase, "toys-1", NOW - DAY))
        .unwrap();
}

fn rank(t: &Tailor) -> RankResponse {
    t.rank(request(5)).unwrap()
}

/// Rank until the active model is no longer `name`; the number of calls it took.
fn ranks_until_rolled_back(t: &Tailor, name: &str) -> u64 {
    for n in 1..=1_000 {
        let r = rank(t);
        assert!(!r.items.is_empty(), "every call still returns a page");
        if t.model_info().name != name {
            return n;
        }
    }
    panic!("{name} was never rolled back");
}

#[test]
fn a_model_that_scores_nan_on_real_items_is_rolled_back_and_stays_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    shopper(&t);
    t.load_model(linear_ranker(), None).unwrap();
    let (bad, bad_manifest) = nan_on_popular_items();
    t.load_model_bytes(bad.clone(), bad_manifest.clone())
        .unwrap();
    assert_eq!(t.model_info().name, "hostile");

    // Every call falls back (never an error) until the guard has seen the default 50 calls.
    let first = rank(&t);
    assert!(matches!(first.fallback, Some(Fallback::ModelFailed { .. })));
    let took = 1 + ranks_until_rolled_back(&t, "hostile");
    println!("guard rolled back the NaN model after {took} rank calls");
    assert_eq!(took, 50, "the default guard_min_ranks");
    assert_eq!(t.model_info().name, "linear-ranker");
    let r = rank(&t);
    assert!(r.personalized && r.fallback.is_none());
    assert_eq!(r.model_name, "linear-ranker");

    let status = t.status().unwrap();
    let notice = status
        .notices
        .iter()
        .find(|n| n.message.contains("model guard rolled back hostile 1"))
        .unwrap_or_else(|| panic!("{:?}", status.notices));
    assert!(
        notice.message.contains("after 50 rank calls")
            && notice.message.contains("scored NaN")
            && notice.message.contains("linear-ranker serves instead"),
        "{}",
        notice.message
    );
    let guard = t.metrics().unwrap().engine.model_guard;
    assert!(guard.enabled);
    assert_eq!(guard.rollbacks.len(), 1);
    assert_eq!(guard.rollbacks[0].name, "hostile");
    assert_eq!(guard.rollbacks[0].ranks, 50);
    assert_eq!(guard.rollbacks[0].replaced_by, "linear-ranker");
    assert_eq!(guard.ranks, 1, "the stats are the new active model's");

    // Loading the same bytes again is refused; the good model keeps serving.
    match t.load_model_bytes(bad.clone(), bad_manifest.clone()) {
        Err(TailorError::ModelRejected {
            problem: ModelProblem::Quarantined,
            message,
        }) => assert!(message.contains("load a new version"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(t.model_info().name, "linear-ranker");

    // Across reopen: still rolled back, still refused, still in status and metrics.
    t.close();
    drop(t);
    let t = open(&dir);
    assert_eq!(t.model_info().name, "linear-ranker");
    assert!(t
        .status()
        .unwrap()
        .notices
        .iter()
        .any(|n| n.message.contains("model guard rolled back hostile 1")));
    assert_eq!(t.metrics().unwrap().engine.model_guard.rollbacks.len(), 1);
    assert!(matches!(
        t.load_model_bytes(bad, bad_manifest),
        Err(TailorError::ModelRejected {
            problem: ModelProblem::Quarantined,
            ..
        })
    ));
    // A new version (other bytes) loads and serves.
    let fixed = Graph::linear().bytes();
    t.load_model_bytes(fixed.clone(), manifest(&fixed, ""))
        .unwrap();
    assert!(rank(&t).personalized);
    assert_eq!(rank(&t).model_name, "hostile");
}

#[test]
fn a_model_whose_scores_drift_from_its_reference_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tailor::open(TailorConfig {
        guard_min_ranks: 20,
        ..config(&dir)
    })
    .unwrap();
    shopper(&t);
    let (bytes, json) = drifting();
    t.load_model_bytes(bytes, json).unwrap();
    // Finite, personalized pages: only the score distribution gives it away.
    let r = rank(&t);
    assert!(r.personalized && r.fallback.is_none());
    let took = 1 + ranks_until_rolled_back(&t, "hostile");
    println!("guard rolled back the drifting model after {took} rank calls");
    assert_eq!(took, 20, "guard_min_ranks");
    assert_eq!(
        t.model_info().name,
        "default-ranker",
        "back to the built-in model"
    );
    let rollback = &t.metrics().unwrap().engine.model_guard.rollbacks[0];
    assert!(rollback.reason.contains("PSI"), "{}", rollback.reason);
}

#[test]
fn models_without_a_reference_skip_the_drift_check_and_the_guard_can_be_off() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    shopper(&t);
    t.load_model(linear_ranker(), None).unwrap();
    for _ in 0..60 {
        rank(&t);
    }
    let guard = t.metrics().unwrap().engine.model_guard;
    assert_eq!(guard.ranks, 60);
    assert_eq!((guard.fallbacks, guard.non_finite), (0, 0));
    assert_eq!(guard.drift_psi, None);
    assert_eq!(t.model_info().name, "linear-ranker");

    let dir = tempfile::tempdir().unwrap();
    let t = Tailor::open(TailorConfig {
        model_guard: false,
        ..config(&dir)
    })
    .unwrap();
    shopper(&t);
    let (bad, bad_manifest) = nan_on_popular_items();
    t.load_model_bytes(bad, bad_manifest).unwrap();
    for _ in 0..100 {
        assert!(!rank(&t).personalized);
    }
    assert_eq!(t.model_info().name, "hostile", "the guard is off");
    assert!(!t.metrics().unwrap().engine.model_guard.enabled);
}

#[test]
fn guard_thresholds_are_validated_at_open() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        TailorConfig {
            guard_min_ranks: 0,
            ..config(&dir)
        },
        TailorConfig {
            guard_max_fallback_share: 1.5,
            ..config(&dir)
        },
        TailorConfig {
            guard_max_non_finite_share: f64::NAN,
            ..config(&dir)
        },
        TailorConfig {
            guard_max_drift_psi: 0.0,
            ..config(&dir)
        },
        TailorConfig {
            guard_max_p95_ms: 0,
            ..config(&dir)
        },
    ] {
        assert!(
            matches!(Tailor::open(bad), Err(TailorError::InvalidInput { .. })),
            "accepted"
        );
    }
}

/// Deadlines (issue 18.3): an expired budget ranks by popularity and flags the response, never
/// an error; the model guard does not count such calls against the model.
#[test]
fn an_expired_deadline_ranks_by_popularity_and_flags_the_response() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    shopper(&t);
    t.load_model(linear_ranker(), None).unwrap();
    let request = |deadline_ms| RankRequest {
        limit: 12,
        now: Some(NOW),
        deadline_ms,
        ..Default::default()
    };
    let r = t.rank(request(Some(0))).unwrap();
    assert_eq!(
        r.fallback,
        Some(Fallback::DeadlineExceeded {
            scored: 0,
            candidates: 12
        })
    );
    assert!(!r.personalized);
    assert_eq!(r.model_name, "popularity");
    let popularity: Vec<String> = catalog().iter().map(|i| i.id.clone()).collect();
    assert_eq!(ids(&r), popularity, "the catalog's popularity order");
    // A generous budget scores everything.
    let r = t.rank(request(Some(60_000))).unwrap();
    assert!(r.personalized && r.fallback.is_none());
    assert_eq!(ids(&r)[0], "toys-1", "bought before: first by the model");
    let engine = t.metrics().unwrap().engine;
    let count = |name: &str| {
        engine
            .fallbacks
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .count
    };
    assert_eq!(count("deadline_exceeded"), 1);
    assert_eq!(
        engine.model_guard.ranks, 1,
        "the expired call never ran the model"
    );

    // The configured default applies to requests without their own budget.
    let dir = tempfile::tempdir().unwrap();
    let t = Tailor::open(TailorConfig {
        rank_deadline_ms: Some(0),
        ..config(&dir)
    })
    .unwrap();
    shopper(&t);
    assert!(matches!(
        t.rank(request(None)).unwrap().fallback,
        Some(Fallback::DeadlineExceeded { scored: 0, .. })
    ));
    assert!(t.rank(request(Some(60_000))).unwrap().personalized);
}
