//! The sequence model (manifest format 2): a second graph reads the shopper's recent purchases
//! and the ranker reads `sequence_score`. Loading, ranking, persistence, and every way its files
//! can be wrong.

use crate::common::*;
use std::path::{Path, PathBuf};
use tailor::engine::model::{load_from_manifest, sha256_hex};
use tailor::{EventKind, Item, ModelProblem, TailorError};

fn fixture() -> PathBuf {
    repo().join("tests/fixtures/sequence-model")
}

fn vocabulary(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("vocab.txt"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// Every vocabulary item in the catalog, plus one the model has never seen.
fn catalog_of(dir: &Path) -> Vec<Item> {
    let mut ids = vocabulary(dir);
    ids.push("new-arrival".into());
    ids.iter()
        .enumerate()
        .map(|(k, id)| item(id, "all", "acme", 10.0, 100.0 - k as f64 * 0.1))
        .collect()
}

/// A copy of the fixture with `edit` applied to its manifest (as JSON) and files; the
/// manifest's hashes are recomputed afterwards unless `rehash` is false, so each case reaches
/// the check it is about.
fn variant(
    edit: impl FnOnce(&Path, &mut serde_json::Value),
    rehash: bool,
) -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(fixture()).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, tmp.path().join(f.file_name().unwrap())).unwrap();
    }
    let path = tmp.path().join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(tmp.path(), &mut m);
    if rehash {
        let hash = |name: &serde_json::Value| {
            let file = tmp.path().join(name.as_str().unwrap());
            std::fs::read(file)
                .map(|b| sha256_hex(&b))
                .unwrap_or_default()
        };
        let seq = m["sequence"].clone();
        if seq.is_object() {
            m["sequence"]["sha256"] = hash(&seq["graph"]).into();
            m["sequence"]["vocabulary_sha256"] = hash(&seq["vocabulary"]).into();
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let dir = tmp.path().display().to_string();
    (tmp, dir)
}

fn rejected(result: Result<tailor::ModelInfo, TailorError>) -> (ModelProblem, String) {
    match result {
        Err(TailorError::ModelRejected { problem, message }) => (problem, message),
        other => panic!("expected a rejected model, got {other:?}"),
    }
}

#[test]
fn the_shoppers_last_purchases_decide_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog_of(&fixture())).unwrap();
    let info = t.load_model(fixture().display().to_string(), None).unwrap();
    assert_eq!(info.features, vec!["sequence_score".to_string()]);
    let vocab = vocabulary(&fixture());
    let all = vocab.len() as u32 + 1;
    // Two shoppers with different last purchases get different pages.
    t.track(event(EventKind::Purchase, &vocab[3], NOW - 3 * DAY))
        .unwrap();
    t.track(event(EventKind::Purchase, &vocab[7], NOW - 2 * DAY))
        .unwrap();
    let first = t.rank(request(all)).unwrap();
    assert!(first.personalized, "{:?}", first.fallback);
    t.track(event(EventKind::Purchase, &vocab[11], NOW - DAY))
        .unwrap();
    let second = t.rank(request(all)).unwrap();
    assert_ne!(ids(&first), ids(&second), "a new purchase changes the page");
    // The same state gives the same page (the user vector is cached per profile state).
    assert_eq!(ids(&second), ids(&t.rank(request(all)).unwrap()));
    // Scores follow the ranker (weight 1 on sequence_score): descending.
    let scores: Vec<f64> = second.items.iter().map(|i| i.score).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

#[test]
fn tract_matches_onnxruntime_on_the_parity_rows() {
    let model = load_from_manifest(&fixture().join("manifest.json"), &[]).unwrap();
    let sequence = model.sequence.as_ref().expect("a sequence model");
    let parity: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture().join("sequence_parity.json")).unwrap(),
    )
    .unwrap();
    let tolerance = parity["tolerance"].as_f64().unwrap();
    let rows = parity["items"].as_array().unwrap();
    assert!(rows.len() >= 5);
    for (row, want) in rows.iter().zip(parity["user"].as_array().unwrap()) {
        let row: Vec<i64> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let got = sequence.run(&row).unwrap();
        let want: Vec<f64> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((*g as f64 - w).abs() <= tolerance, "{row:?}: {g} vs {w}");
        }
    }
}

#[test]
fn the_next_item_of_the_walk_comes_first() {
    // The fixture was trained on shoppers who buy p01, p02, ... in order.
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.import_catalog_csv(fixture().join("catalog.csv").display().to_string())
        .unwrap();
    t.load_model(fixture().display().to_string(), None).unwrap();
    t.track(event(EventKind::Purchase, "p07", NOW - 2 * DAY))
        .unwrap();
    t.track(event(EventKind::Purchase, "p08", NOW - DAY))
        .unwrap();
    let page = t.rank(request(3)).unwrap();
    assert!(page.personalized, "{:?}", page.fallback);
    assert_eq!(ids(&page)[0], "p09", "{:?}", ids(&page));
    // Items the model never saw (p29, p30: outside its vocabulary) are still ranked.
    let all = t.rank(request(30)).unwrap();
    assert!(ids(&all).contains(&"p30".to_string()));
}

#[test]
fn it_survives_a_restart_and_erase_forgets_the_shopper() {
    let dir = tempfile::tempdir().unwrap();
    let vocab = vocabulary(&fixture());
    let page = {
        let t = open(&dir);
        t.upsert_items(catalog_of(&fixture())).unwrap();
        t.load_model(fixture().display().to_string(), None).unwrap();
        t.track(event(EventKind::Purchase, &vocab[5], NOW - DAY))
            .unwrap();
        ids(&t.rank(request(10)).unwrap())
    };
    let t = open(&dir);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(t.model_info().name, manifest["name"].as_str().unwrap());
    assert!(
        !t.model_info().builtin,
        "the installed sequence model is active again"
    );
    assert_eq!(ids(&t.rank(request(10)).unwrap()), page);
    t.erase().unwrap();
    let cold = t.rank(request(10)).unwrap();
    assert!(!cold.personalized, "after erase the shopper is new");
}

#[test]
fn a_sequence_model_is_installed_from_its_folder_not_from_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    let bytes = std::fs::read(fixture().join("model.onnx")).unwrap();
    let json = std::fs::read_to_string(fixture().join("manifest.json")).unwrap();
    let (problem, message) = rejected(t.load_model_bytes(bytes, json));
    assert_eq!(problem, ModelProblem::InvalidManifest);
    assert!(message.contains("load_model"), "{message}");
    assert!(t.model_info().builtin);
}

#[test]
fn every_bad_sequence_part_is_refused_with_its_problem_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog_of(&fixture())).unwrap();
    type Edit = Box<dyn FnOnce(&Path, &mut serde_json::Value)>;
    let append = |file: &'static str, text: &'static str| -> Edit {
        Box::new(move |d: &Path, _: &mut serde_json::Value| {
            let mut v = std::fs::read(d.join(file)).unwrap();
            if file.ends_with(".txt") && !v.ends_with(b"\n") {
                v.push(b'\n');
            }
            v.extend_from_slice(text.as_bytes());
            std::fs::write(d.join(file), v).unwrap();
        })
    };
    let set = |key: &'static str, value: serde_json::Value| -> Edit {
        Box::new(move |_: &Path, m: &mut serde_json::Value| m["sequence"][key] = value)
    };
    let cases: Vec<(&str, Edit, bool, ModelProblem, &str)> = vec![
        (
            "graph changed after export",
            append("sequence.onnx", " "),
            false,
            ModelProblem::HashMismatch,
            "sequence graph",
        ),
        (
            "vocabulary changed after export",
            append("vocab.txt", "x\n"),
            false,
            ModelProblem::HashMismatch,
            "vocabulary",
        ),
        (
            "a repeated vocabulary id",
            append("vocab.txt", "p01\n"),
            true,
            ModelProblem::InvalidManifest,
            "repeats",
        ),
        (
            "an empty vocabulary line",
            append("vocab.txt", "\n"),
            true,
            ModelProblem::InvalidManifest,
            "empty",
        ),
        (
            "a vocabulary longer than the table",
            append("vocab.txt", "extra\n"),
            true,
            ModelProblem::ShapeMismatch,
            "rows",
        ),
        (
            "a path out of the folder",
            set("graph", "../model.onnx".into()),
            true,
            ModelProblem::InvalidManifest,
            "plain file name",
        ),
        (
            "a missing graph file",
            set("graph", "gone.onnx".into()),
            false,
            ModelProblem::NotOnnx,
            "gone.onnx",
        ),
        (
            "max_len 0",
            set("max_len", 0.into()),
            true,
            ModelProblem::InvalidManifest,
            "max_len",
        ),
        (
            "another max_len than the graph's",
            set("max_len", 7.into()),
            true,
            ModelProblem::ShapeMismatch,
            "[1, 7]",
        ),
        (
            "a table name the graph lacks",
            set("item_table", "nope".into()),
            true,
            ModelProblem::ShapeMismatch,
            "nope",
        ),
        (
            "an input name the graph lacks",
            set("input", "tokens".into()),
            true,
            ModelProblem::ShapeMismatch,
            "tokens",
        ),
        (
            "a sequence block in a format-1 manifest",
            Box::new(|_: &Path, m: &mut serde_json::Value| m["format_version"] = 1.into()),
            true,
            ModelProblem::InvalidManifest,
            "format_version",
        ),
        (
            "a format this version does not read",
            Box::new(|_: &Path, m: &mut serde_json::Value| m["format_version"] = 3.into()),
            true,
            ModelProblem::InvalidManifest,
            "format_version",
        ),
        (
            "sequence_score without a sequence model",
            Box::new(|_: &Path, m: &mut serde_json::Value| {
                m.as_object_mut().unwrap().remove("sequence");
            }),
            false,
            ModelProblem::InvalidManifest,
            "sequence_score",
        ),
    ];
    for (case, edit, rehash, expected, needle) in cases {
        let (_keep, path) = variant(edit, rehash);
        let (problem, message) = rejected(t.load_model(path.clone(), None));
        assert_eq!(problem, expected, "{case}: {message}");
        assert!(
            message.contains(needle),
            "{case}: {message:?} lacks {needle:?}"
        );
        assert!(
            t.model_info().builtin,
            "{case}: the built-in model keeps serving"
        );
        assert!(t.validate_model(path, None).is_err(), "{case}");
    }
}
