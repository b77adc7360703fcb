//! The `tailor` command line as a user runs it.

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tailor(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tailor"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn validate_model_accepts_good_models_and_names_the_problem_otherwise() {
    let (ok, out, _) = tailor(&["validate-model", "models/linear-ranker/manifest.json"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("would load") && out.contains("features"),
        "{out}"
    );
    for (case, problem) in [
        ("tree_ensemble_regressor", "UnsupportedOperator"),
        ("hash_mismatch", "HashMismatch"),
        ("unknown_feature", "UnknownFeature"),
        ("nan_output", "NonFiniteOutput"),
        ("truncated", "NotOnnx"),
    ] {
        let path = format!("tests/fixtures/models/{case}/manifest.json");
        let (ok, _, err) = tailor(&["validate-model", &path]);
        assert!(!ok, "{case} must fail");
        assert!(err.contains(problem), "{case}: {err}");
    }
    let (_, _, err) = tailor(&[
        "validate-model",
        "tests/fixtures/models/tree_ensemble_regressor/manifest.json",
    ]);
    assert!(err.contains("tree2gemm"), "tree advice: {err}");
}

#[test]
fn keygen_and_sign_model_produce_a_verifiable_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m");
    std::fs::create_dir(&model).unwrap();
    for f in ["model.onnx", "manifest.json"] {
        std::fs::copy(repo().join("models/linear-ranker").join(f), model.join(f)).unwrap();
    }
    let key = dir.path().join("key.secret");
    let (ok, out, err) = tailor(&["keygen", "--out", key.to_str().unwrap()]);
    assert!(ok, "{err}");
    let public = out.split_whitespace().last().unwrap().to_string();
    assert_eq!(public.len(), 64);
    let (again, _, _) = tailor(&["keygen", "--out", key.to_str().unwrap()]);
    assert!(!again, "never overwrites a key");
    let manifest = model.join("manifest.json");
    let (ok, _, err) = tailor(&[
        "sign-model",
        manifest.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let signed =
        tailor::model::Manifest::parse(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let keys = tailor::model::signature::parse_keys(&[public]).unwrap();
    tailor::model::signature::verify(&signed, &keys).unwrap();
}

#[test]
fn features_list_prints_the_registry() {
    let (ok, out, _) = tailor(&["features", "--list"]);
    assert!(ok);
    for name in [
        "bought_count",
        "copurchase_score",
        "session_affinity_tags",
        "item_embedding_0..15",
    ] {
        assert!(out.contains(name), "{name} missing:\n{out}");
    }
}

#[test]
fn replay_reports_every_method_as_json() {
    let (ok, out, err) = tailor(&[
        "replay",
        "--catalog",
        "cli/data/catalog.csv.gz",
        "--events",
        "cli/data/events.csv.gz",
        "--cutoff",
        "1317427200",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["users"].as_u64().unwrap() > 10);
    assert_eq!(v["k"], 10);
    for m in ["tailor", "popularity", "buy_again", "item_knn"] {
        let ndcg = v["methods"][m]["ndcg"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&ndcg), "{m}: {ndcg}");
    }
}

#[test]
fn bad_csv_input_fails_with_the_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("c.csv");
    std::fs::write(&catalog, "item_id,title,price\na,A,1\nb,B,oops\n").unwrap();
    let (ok, _, err) = tailor(&[
        "replay",
        "--catalog",
        catalog.to_str().unwrap(),
        "--events",
        "cli/data/events.csv.gz",
        "--cutoff",
        "1317427200",
    ]);
    assert!(!ok);
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn demo_runs_offline_and_shows_reasons() {
    let (ok, out, err) = tailor(&["demo"]);
    assert!(ok, "{err}");
    assert!(out.contains("ColdStart"), "{out}");
    assert!(out.contains("personalized by"), "{out}");
    assert!(out.contains("bought") && out.contains("x before"), "{out}");
    assert!(
        out.contains("matches this session"),
        "session intent shows: {out}"
    );
}
