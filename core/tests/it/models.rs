//! Model loading: the drop-in contract, typed rejections, atomic swaps, rollback, persistence,
//! and parity of every bundled model with onnxruntime's reference scores.

use crate::common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tailor::*;

fn fixture(case: &str) -> String {
    repo()
        .join("tests/fixtures/models")
        .join(case)
        .display()
        .to_string()
}

fn bundled(name: &str) -> String {
    repo().join("models").join(name).display().to_string()
}

fn warm(t: &Tailor) {
    t.upsert_items(catalog()).unwrap();
    t.track(event(EventKind::Purchase, "toys-1", NOW - DAY))
        .unwrap();
}

#[test]
fn every_bad_model_gets_its_typed_error_and_the_previous_model_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    warm(&t);
    let good = t.load_model(fixture("valid_linear"), None).unwrap();
    assert_eq!(good.name, "fixture-valid-linear");
    let cases = [
        ("tree_ensemble_regressor", ModelProblem::UnsupportedOperator),
        (
            "tree_ensemble_classifier",
            ModelProblem::UnsupportedOperator,
        ),
        ("wrong_input_shape", ModelProblem::ShapeMismatch),
        ("nan_output", ModelProblem::NonFiniteOutput),
        ("unknown_feature", ModelProblem::UnknownFeature),
        ("truncated", ModelProblem::NotOnnx),
        ("hash_mismatch", ModelProblem::HashMismatch),
        ("not_onnx", ModelProblem::NotOnnx),
    ];
    for (case, expected) in cases {
        match t.load_model(fixture(case), None) {
            Err(TailorError::ModelRejected { problem, message }) => {
                assert_eq!(problem, expected, "{case}: {message}");
                assert!(!message.is_empty());
            }
            other => panic!("{case}: expected rejection, got {other:?}"),
        }
        assert_eq!(t.model_info(), good, "{case}: previous model still active");
        let r = t.rank(request(3)).unwrap();
        assert!(r.personalized);
        assert_eq!(r.model_name, "fixture-valid-linear");
    }
    // The tree advice points to the converter.
    let Err(TailorError::ModelRejected { message, .. }) =
        t.load_model(fixture("tree_ensemble_regressor"), None)
    else {
        panic!()
    };
    assert!(message.contains("tree2gemm"), "{message}");
    // Missing files are a rejected model (as the README says of every load failure), not a panic.
    assert!(matches!(
        t.load_model("/nonexistent/dir".into(), None),
        Err(TailorError::ModelRejected {
            problem: ModelProblem::NotOnnx,
            ..
        })
    ));
}

#[test]
fn swap_rollback_and_restart_keep_the_chosen_model() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = {
        let t = open(&dir);
        let builtin = t.model_info();
        assert!(builtin.builtin);
        assert!(matches!(
            t.rollback_model(),
            Err(TailorError::NotFound { .. })
        ));
        t.load_model(bundled("linear-ranker"), None).unwrap();
        let mlp = t.load_model(bundled("mlp-ranker"), None).unwrap();
        assert_eq!(t.model_info(), mlp);
        builtin
    };
    let t = open(&dir);
    assert_eq!(t.model_info().name, "mlp-ranker", "active model persists");
    assert_eq!(t.rollback_model().unwrap().name, "linear-ranker");
    drop(t);
    let t = open(&dir);
    assert_eq!(t.model_info().name, "linear-ranker", "rollback persists");
    assert_eq!(t.rollback_model().unwrap(), builtin);
}

#[test]
fn the_zoo_loads_and_ranks_without_code_changes() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    warm(&t);
    for name in [
        "linear-ranker",
        "mlp-ranker",
        "gbt-ranker",
        "embedding-ranker",
        "bootstrap-ranker",
    ] {
        let info = t.load_model(bundled(name), None).unwrap();
        assert_eq!(info.name, name);
        let r = t.rank(request(5)).unwrap();
        assert!(r.personalized, "{name}: {:?}", r.fallback);
        assert_eq!(r.model_name, name);
        assert_eq!(r.items.len(), 5);
    }
}

#[test]
fn rank_never_fails_while_models_swap() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    warm(&t);
    let stop = Arc::new(AtomicBool::new(false));
    let rankers: Vec<_> = (0..3)
        .map(|_| {
            let (t, stop) = (t.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = t.rank(request(5)).unwrap();
                    assert!(r.personalized, "{:?}", r.fallback);
                    n += 1;
                }
                n
            })
        })
        .collect();
    for i in 0..20 {
        let name = if i % 2 == 0 {
            "linear-ranker"
        } else {
            "gbt-ranker"
        };
        t.load_model(bundled(name), None).unwrap();
        let _ = t.load_model(fixture("nan_output"), None).unwrap_err();
    }
    stop.store(true, Ordering::Relaxed);
    let total: usize = rankers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(total > 0);
}

/// tract's scores equal onnxruntime's (recorded by models/train/parity.py) within 1e-5.
#[test]
fn bundled_models_match_onnxruntime() {
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("models")).unwrap() {
        let dir = entry.unwrap().path();
        let parity = dir.join("parity.json");
        if !parity.exists() {
            continue;
        }
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&parity).unwrap()).unwrap();
        let model =
            tailor::engine::model::load_from_manifest(&dir.join("manifest.json"), &[]).unwrap();
        let rows: Vec<Vec<f32>> = fixture["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect()
            })
            .collect();
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        let got = model.runtime.score(&flat, rows.len()).unwrap();
        let want: Vec<f32> = fixture["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5,
                "{}: row {i}: tract {g} vs onnxruntime {w}",
                dir.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 5, "parity fixtures found for {checked} models");
}

#[test]
fn signed_models_are_required_when_keys_are_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (secret, public) = tailor::engine::model::signature::generate_keypair().unwrap();
    let config = TailorConfig {
        trusted_model_keys: vec![public],
        ..TailorConfig::new(dir.path().display().to_string())
    };
    let t = Tailor::open(config).unwrap();
    let unsigned = t.load_model(bundled("linear-ranker"), None).unwrap_err();
    assert!(matches!(
        unsigned,
        TailorError::ModelRejected {
            problem: ModelProblem::BadSignature,
            ..
        }
    ));
    let json = std::fs::read_to_string(repo().join("models/linear-ranker/manifest.json")).unwrap();
    let mut manifest = tailor::engine::model::Manifest::parse(&json).unwrap();
    tailor::engine::model::signature::sign(&mut manifest, &secret).unwrap();
    let bytes = std::fs::read(repo().join("models/linear-ranker/model.onnx")).unwrap();
    let signed = serde_json::to_string(&manifest).unwrap();
    assert_eq!(
        t.load_model_bytes(bytes.clone(), signed.clone())
            .unwrap()
            .name,
        "linear-ranker"
    );
    let tampered = signed.replace("\"version\":\"1\"", "\"version\":\"2\"");
    assert!(matches!(
        t.load_model_bytes(bytes, tampered),
        Err(TailorError::ModelRejected {
            problem: ModelProblem::BadSignature,
            ..
        })
    ));
}

#[test]
fn a_model_failing_on_real_traffic_falls_back_to_popularity_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    warm(&t);
    t.load_model(fixture("nan_beyond_probe"), None).unwrap();
    let r = t.rank(request(3)).unwrap();
    assert!(r.personalized, "finite on ordinary items");
    let mut huge = item("viral", "toys", "acme", 1.0, 1e9);
    huge.tags.clear();
    t.upsert_items(vec![huge]).unwrap();
    let r = t.rank(request(3)).unwrap();
    assert!(!r.personalized);
    assert!(
        matches!(&r.fallback, Some(Fallback::ModelFailed { message }) if message.contains("non-finite")),
        "{:?}",
        r.fallback
    );
    assert_eq!(ids(&r)[0], "viral", "popularity order");
    assert_eq!(r.model_name, "popularity");
}

#[test]
fn a_fixed_batch_model_is_either_refused_or_serves_any_batch() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    warm(&t);
    match t.load_model(fixture("fixed_batch"), None) {
        Ok(_) => {
            let r = t.rank(request(12)).unwrap();
            assert!(r.personalized, "{:?}", r.fallback);
            assert_eq!(r.items.len(), 12);
        }
        Err(TailorError::ModelRejected { problem, .. }) => {
            assert_eq!(problem, ModelProblem::ShapeMismatch)
        }
        Err(e) => panic!("{e}"),
    }
}

/// The fixed-batch plans built in the background score exactly what the symbolic plan scores,
/// for sizes that pad up to a bucket and for sizes beyond the largest one.
#[test]
fn fixed_batch_plans_score_like_the_symbolic_plan() {
    for name in ["default-ranker", "gbt-ranker", "embedding-ranker"] {
        let model = tailor::engine::model::load_from_manifest(
            &repo().join("models").join(name).join("manifest.json"),
            &[],
        )
        .unwrap();
        wait_until(|| model.runtime.batch_plans_ready());
        assert!(
            !model.runtime.batch_plan_sizes().is_empty(),
            "{name}: no fixed plans were built"
        );
        let width = model.features.len();
        for rows in [1, 7, 64, 100, 1000, 20_000] {
            let x: Vec<f32> = (0..rows * width)
                .map(|i| ((i * 7919) % 101) as f32 / 25.0 - 1.0)
                .collect();
            let fixed = model.runtime.score(&x, rows).unwrap();
            assert_eq!(fixed.len(), rows, "{name}: one score per row");
            let symbolic = model.runtime.score_symbolic(&x, rows).unwrap();
            for (f, s) in fixed.iter().zip(&symbolic) {
                assert!(
                    (f - s).abs() <= 1e-4 * s.abs().max(1.0),
                    "{name} rows={rows}: {f} vs {s}"
                );
            }
        }
    }
}

/// The same rows get the same scores, bit for bit, whether the fixed-batch plans were built in
/// the background long ago or not at all yet (the first rank after open): a call never falls
/// back to the symbolic plan, whose last bits differ, because a build is still under way.
#[test]
fn scores_do_not_depend_on_how_far_the_plans_are_built() {
    let dir = repo().join("models").join("default-ranker");
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let warm = tailor::engine::model::validate(&onnx, &manifest, &[]).unwrap();
    warm.runtime.prepare_batch_plans();
    wait_until(|| warm.runtime.batch_plans_ready());
    let width = warm.features.len();
    for rows in [3, 12, 16, 100, 1000, 2500] {
        let x: Vec<f32> = (0..rows * width)
            .map(|i| ((i * 104_729) % 1_013) as f32 / 97.0 - 3.0)
            .collect();
        let want = warm.runtime.score(&x, rows).unwrap();
        // Nothing built, nothing started: the call builds what it needs.
        let cold = tailor::engine::model::validate(&onnx, &manifest, &[]).unwrap();
        assert!(cold.runtime.batch_plan_sizes().is_empty());
        let got = cold.runtime.score(&x, rows).unwrap();
        let bits = |v: &[f32]| v.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "{rows} rows");
        assert!(!cold.runtime.batch_plan_sizes().is_empty());
    }
}

/// The first personalized rank after open (the model's plans not built yet) and the same request
/// once they are give the same response, scores included: what an app's snapshot test of its
/// first screen sees.
#[test]
fn the_first_rank_after_open_scores_like_every_later_one() {
    let dir = tempfile::tempdir().unwrap();
    let setup = open(&dir);
    setup.upsert_items(catalog()).unwrap();
    setup
        .track(event(EventKind::Purchase, "toys-2", NOW - 3 * 86_400))
        .unwrap();
    setup.close();
    drop(setup);
    for _ in 0..3 {
        let t = open(&dir);
        let first = t.rank(request(12)).unwrap();
        wait_until(|| t.model_batch_plans_ready());
        let later = t.rank(request(12)).unwrap();
        assert!(first.personalized && first.items.len() == 12);
        let scores = |r: &RankResponse| {
            r.items
                .iter()
                .map(|i| (i.item_id.clone(), i.score.to_bits()))
                .collect::<Vec<_>>()
        };
        assert_eq!(scores(&first), scores(&later));
        t.close();
    }
}

/// Wait (at most two minutes) until the model's background plan build is done.
fn wait_until(done: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !done() && started.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
