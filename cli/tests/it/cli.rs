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
        tailor::engine::model::Manifest::parse(&std::fs::read_to_string(&manifest).unwrap())
            .unwrap();
    let keys = tailor::engine::model::signature::parse_keys(&[public]).unwrap();
    tailor::engine::model::signature::verify(&signed, &keys).unwrap();
}

#[test]
fn features_list_prints_the_registry() {
    let (ok, out, _) = tailor(&["features", "--list"]);
    assert!(ok);
    for name in [
        "bought_count",
        "copurchase_score",
        "session_affinity_tags",
        "item_embedding_0 ",
        "item_embedding_15 ",
        "profile_embedding_7 ",
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
fn replay_takes_a_date_and_reports_outcomes_and_fails_when_the_model_fails_on_most_users() {
    let args = |model: &str| {
        vec![
            "replay".to_string(),
            "--catalog".into(),
            "cli/data/catalog.csv.gz".into(),
            "--events".into(),
            "cli/data/events.csv.gz".into(),
            "--cutoff".into(),
            "2011-10-01".into(),
            "--json".into(),
            "--model".into(),
            model.into(),
        ]
    };
    let run = |model: &str| {
        let a = args(model);
        tailor(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (ok, out, err) = run("tests/fixtures/models/valid_linear/manifest.json");
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let users = v["users"].as_u64().unwrap();
    assert_eq!(v["outcomes"]["tailor"]["errors"], 0);
    assert!(v["outcomes"]["tailor"]["personalized"].as_u64().unwrap() > users / 2);
    // NaN for every popular item: every rank falls back, and replay says so and fails.
    let (ok, out, err) = run("tests/fixtures/models/nan_on_real_items/manifest.json");
    assert!(!ok, "must fail: {out}");
    assert!(err.contains("failed on"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["outcomes"]["tailor"]["fallbacks"]["model_failed"], users);
}

#[test]
fn validate_model_prints_the_budget_and_refuses_over_it() {
    let (ok, out, err) = tailor(&["validate-model", "models/gbt-ranker/manifest.json"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("multiply-adds") || out.contains("FMA"),
        "{out}"
    );
    let (ok, _, err) = tailor(&[
        "validate-model",
        "models/gbt-ranker/manifest.json",
        "--max-fma-per-row",
        "10",
    ]);
    assert!(!ok);
    assert!(err.contains("OverBudget"), "{err}");
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

#[test]
fn catalog_signals_fill_the_columns_a_shop_computes_from_its_orders() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.csv");
    let events = dir.path().join("events.csv");
    let out = dir.path().join("signals.csv");
    std::fs::write(
        &catalog,
        "item_id,title,price\nmilk,\"Milk, 1 l\",1.2\nsofa,Sofa,900\nlamp,Lamp,40\n",
    )
    .unwrap();
    // Every milk buyer buys it again days later; sofa and lamp are bought together, once.
    let mut csv = String::from("user_id,item_id,ts\n");
    for u in 0..6 {
        let t = 1_600_000_000 + u * 1_000_000;
        csv.push_str(&format!("u{u},milk,{t}\nu{u},milk,{}\n", t + 5 * 86_400));
        if u % 2 == 0 {
            csv.push_str(&format!("u{u},sofa,{t}\nu{u},lamp,{t}\n"));
        }
    }
    std::fs::write(&events, csv).unwrap();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let (ok, _, err) = tailor(&[
        "catalog-signals",
        "--catalog",
        &path(&catalog),
        "--events",
        &path(&events),
        "--out",
        &path(&out),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("3 with a repeat rate"), "{err}");
    let items = tailor::engine::catalog::read_csv_path(&out).unwrap();
    let get = |id: &str| items.iter().find(|it| it.id == id).unwrap();
    assert_eq!(get("milk").title, "Milk, 1 l", "fields with commas survive");
    let (milk, sofa) = (
        get("milk").repeat_rate.unwrap(),
        get("sofa").repeat_rate.unwrap(),
    );
    assert!(milk > 0.5 && sofa < 0.5, "milk {milk}, sofa {sofa}");
    assert_eq!(get("sofa").related[0].item_id, "lamp");
    assert!(get("milk").popularity > 0.0);
    // Bad input changes nothing: no output file for an events file that is not there.
    let missing = dir.path().join("none.csv");
    let out2 = dir.path().join("other.csv");
    let (ok, _, err) = tailor(&[
        "catalog-signals",
        "--catalog",
        &path(&catalog),
        "--events",
        &path(&missing),
        "--out",
        &path(&out2),
    ]);
    assert!(!ok && !out2.exists(), "{err}");
}
