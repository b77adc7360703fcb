//! Model files that could hurt the app get a typed error, and model installs never block rank
//! (issues 11.3, 11.5, 12). Graphs are built here with the ONNX protobuf types, so each hostile
//! case is exactly one property away from a valid model.

use crate::common::*;
use prost::Message;
use std::path::Path;
use tailor::engine::model::ModelBudget;
use tailor::engine::model::{validate, ModelFiles, ModelRegistry};
use tailor::*;
use tract_onnx::pb;

pub(crate) fn f32_init(name: &str, dims: &[i64], values: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 1,
        float_data: values.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn i64_init(name: &str, values: &[i64]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: vec![values.len() as i64],
        data_type: 7,
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn node(op: &str, inputs: &[&str], outputs: &[&str]) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: format!("{op}_{}", outputs[0]),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

pub(crate) fn int_attr(mut n: pb::NodeProto, name: &str, i: i64) -> pb::NodeProto {
    n.attribute.push(pb::AttributeProto {
        name: name.into(),
        r#type: 2,
        i,
        ..Default::default()
    });
    n
}

fn dim(d: Option<i64>, param: Option<&str>) -> pb::tensor_shape_proto::Dimension {
    use pb::tensor_shape_proto::dimension::Value;
    pb::tensor_shape_proto::Dimension {
        value: match (d, param) {
            (Some(v), _) => Some(Value::DimValue(v)),
            (None, Some(p)) => Some(Value::DimParam(p.into())),
            _ => None,
        },
        ..Default::default()
    }
}

fn value(name: &str, dims: Vec<pb::tensor_shape_proto::Dimension>) -> pb::ValueInfoProto {
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: 1,
                shape: Some(pb::TensorShapeProto { dim: dims }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn n_dim() -> pb::tensor_shape_proto::Dimension {
    dim(None, Some("N"))
}

/// A graph `features [N, 3] -> ... -> score [N]`; `linear` nodes computing "lin" [N, 1] from
/// the features come first.
pub(crate) struct Graph {
    nodes: Vec<pb::NodeProto>,
    inits: Vec<pb::TensorProto>,
    input: pb::ValueInfoProto,
    outputs: Vec<pb::ValueInfoProto>,
    opset: i64,
    ir: i64,
}

impl Graph {
    /// score = Reshape(features @ w + b, [-1])
    pub(crate) fn linear() -> Graph {
        Graph::linear_with([0.5, 1.0, 0.8])
    }

    /// `linear` with the weights `w` of the three features.
    pub(crate) fn linear_with(w: [f32; 3]) -> Graph {
        Graph {
            nodes: vec![
                node("MatMul", &["features", "w"], &["mm"]),
                node("Add", &["mm", "b"], &["lin"]),
                node("Reshape", &["lin", "shape_n"], &["score"]),
            ],
            inits: vec![
                f32_init("w", &[3, 1], &w),
                f32_init("b", &[1], &[-0.1]),
                i64_init("shape_n", &[-1]),
            ],
            input: value("features", vec![n_dim(), dim(Some(3), None)]),
            outputs: vec![value("score", vec![n_dim()])],
            opset: 13,
            ir: 8,
        }
    }

    /// Replace the final Reshape: `score = Reshape(<last>, [-1])` where `last` is [N, 1].
    pub(crate) fn ending_with(mut self, nodes: Vec<pb::NodeProto>, last: &str) -> Graph {
        self.nodes.pop();
        self.nodes.extend(nodes);
        self.nodes
            .push(node("Reshape", &[last, "shape_n"], &["score"]));
        self
    }

    /// More initializers for the nodes added by `ending_with`.
    pub(crate) fn with_inits(mut self, inits: Vec<pb::TensorProto>) -> Graph {
        self.inits.extend(inits);
        self
    }

    /// The default-domain opset the graph imports.
    pub(crate) fn with_opset(mut self, opset: i64) -> Graph {
        self.opset = opset;
        self
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        let mut opsets = vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: self.opset,
        }];
        if self.nodes.iter().any(|n| n.domain == "ai.onnx.ml") {
            opsets.push(pb::OperatorSetIdProto {
                domain: "ai.onnx.ml".into(),
                version: 3,
            });
        }
        pb::ModelProto {
            ir_version: self.ir,
            opset_import: opsets,
            graph: Some(pb::GraphProto {
                name: "g".into(),
                node: self.nodes.clone(),
                initializer: self.inits.clone(),
                input: vec![self.input.clone()],
                output: self.outputs.clone(),
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec()
    }
}

pub(crate) fn manifest(bytes: &[u8], extra: &str) -> String {
    format!(
        r#"{{"name":"hostile","version":"1","features":["bought_count","affinity_category","item_popularity"],
            "sha256":"{}"{extra}}}"#,
        tailor::engine::model::sha256_hex(bytes)
    )
}

fn problem_of(bytes: &[u8], extra: &str) -> (ModelProblem, String) {
    match validate(bytes, &manifest(bytes, extra), &[]) {
        Ok(_) => panic!("accepted"),
        Err(e) => match TailorError::from(e) {
            TailorError::ModelRejected { problem, message } => (problem, message),
            other => panic!("{other:?}"),
        },
    }
}

#[test]
fn the_linear_base_graph_is_valid() {
    let bytes = Graph::linear().bytes();
    let v = validate(&bytes, &manifest(&bytes, ""), &[]).unwrap();
    assert!(v.cost.fma_per_row > 0.0 && v.cost.fma_per_row < 100.0);
}

#[test]
fn a_huge_intermediate_tensor_is_over_budget_before_it_is_allocated() {
    // ConstantOfShape [N, 1e8]: 800 GB at 2,048 rows.
    let g = Graph::linear()
        .ending_with(
            vec![
                node("Shape", &["features"], &["shape"]),
                int_attr(node("Gather", &["shape", "first"], &["n"]), "axis", 0),
                int_attr(node("Concat", &["n", "wide"], &["big_shape"]), "axis", 0),
                node("ConstantOfShape", &["big_shape"], &["big"]),
                int_attr(
                    node("ReduceSum", &["big", "axes"], &["summed"]),
                    "keepdims",
                    1,
                ),
                node("Add", &["lin", "summed"], &["out"]),
            ],
            "out",
        )
        .with_inits(vec![
            i64_init("first", &[0]),
            i64_init("wide", &[100_000_000]),
            i64_init("axes", &[1]),
        ]);
    let (problem, message) = problem_of(&g.bytes(), "");
    assert_eq!(problem, ModelProblem::OverBudget, "{message}");
    assert!(message.contains("MB"), "{message}");
}

#[test]
fn a_constant_shape_that_would_be_folded_into_gigabytes_is_refused() {
    let g = Graph::linear()
        .ending_with(
            vec![
                node("ConstantOfShape", &["big_shape"], &["big"]),
                node("ReduceSum", &["big"], &["s"]),
                node("Add", &["lin", "s"], &["out"]),
            ],
            "out",
        )
        .with_inits(vec![i64_init("big_shape", &[1_000_000, 1_000])]);
    let (problem, message) = problem_of(&g.bytes(), "");
    assert_eq!(problem, ModelProblem::OverBudget, "{message}");
    assert!(message.starts_with("ConstantOfShape"), "{message}");
}

#[test]
fn a_slow_matmul_chain_is_over_the_compute_budget() {
    // features @ [3, 2048] @ [2048, 2048] x3 @ [2048, 1]: 12.6 M multiply-adds per row. The
    // weights are made by ConstantOfShape so the file stays tiny.
    let filled = |shape: &str, out: &str| {
        let mut n = node("ConstantOfShape", &[shape], &[out]);
        n.attribute.push(pb::AttributeProto {
            name: "value".into(),
            r#type: 4,
            t: Some(f32_init("v", &[1], &[0.001])),
            ..Default::default()
        });
        n
    };
    let mut nodes = vec![
        filled("s1", "w1"),
        filled("s2", "w2"),
        filled("s3", "w3"),
        node("MatMul", &["features", "w1"], &["h0"]),
    ];
    for i in 0..3 {
        nodes.push(node(
            "MatMul",
            &[&format!("h{i}"), "w2"],
            &[&format!("h{}", i + 1)],
        ));
    }
    nodes.push(node("MatMul", &["h3", "w3"], &["out"]));
    let mut g = Graph::linear().ending_with(nodes, "out");
    g.inits.extend([
        i64_init("s1", &[3, 2048]),
        i64_init("s2", &[2048, 2048]),
        i64_init("s3", &[2048, 1]),
    ]);
    let (problem, message) = problem_of(&g.bytes(), "");
    assert_eq!(problem, ModelProblem::OverBudget, "{message}");
    assert!(message.contains("multiply-adds"), "{message}");
    // The budget is configurable: a strict one refuses even the linear graph.
    let bytes = Graph::linear().bytes();
    let strict = ModelBudget {
        max_fma_per_row: 1.0,
        ..Default::default()
    };
    let e = tailor::engine::model::validate_with(&bytes, &manifest(&bytes, ""), &[], &strict);
    assert!(matches!(
        e,
        Err(tailor::engine::Error::Model(ModelProblem::OverBudget, _))
    ));
}

/// score = sqrt(|bought_count - 2.35| - 0.05): NaN only for bought_count in (2.30, 2.40).
fn nan_in_a_narrow_range() -> Vec<u8> {
    Graph::linear()
        .ending_with(
            vec![
                int_attr(node("Gather", &["features", "col0"], &["bc"]), "axis", 1),
                node("Sub", &["bc", "centre"], &["d"]),
                node("Abs", &["d"], &["ad"]),
                node("Sub", &["ad", "half_width"], &["room"]),
                node("Sqrt", &["room"], &["root"]),
                node("Add", &["lin", "root"], &["out"]),
            ],
            "out",
        )
        .with_inits(vec![
            i64_init("col0", &[0]),
            f32_init("centre", &[1], &[2.35]),
            f32_init("half_width", &[1], &[0.05]),
        ])
        .bytes()
}

#[test]
fn nan_in_a_narrow_feature_range_is_found_by_the_probe() {
    let bytes = nan_in_a_narrow_range();
    let (problem, message) = problem_of(&bytes, "");
    assert_eq!(problem, ModelProblem::NonFiniteOutput, "{message}");
    // With training ranges recorded, those ranges are probed (finely).
    let (problem, _) = problem_of(&bytes, r#","ranges":{"bought_count":[0.0,5.0]}"#);
    assert_eq!(problem, ModelProblem::NonFiniteOutput);
    let ok = manifest(&bytes, r#","ranges":{"bought_count":[0.0,2.0]}"#);
    assert!(
        validate(&bytes, &ok, &[]).is_ok(),
        "finite over the recorded range"
    );
    // Ranges must name listed features.
    let bad = manifest(&bytes, r#","ranges":{"price_log":[0.0,2.0]}"#);
    assert!(validate(&bytes, &bad, &[]).is_err());
}

#[test]
fn the_graph_contract_is_enforced_with_the_operator_or_tensor_named_first() {
    let mut two_outputs = Graph::linear();
    two_outputs
        .outputs
        .push(value("lin", vec![n_dim(), dim(Some(1), None)]));
    let mut unnamed = Graph::linear();
    unnamed.input = value("features", vec![dim(None, None), dim(Some(3), None)]);
    let mut fixed = Graph::linear();
    fixed.input = value("features", vec![dim(Some(1), None), dim(Some(3), None)]);
    let mut wide = Graph::linear();
    wide.input = value("features", vec![n_dim(), dim(Some(1_000_000_000), None)]);
    let mut opset21 = Graph::linear();
    opset21.opset = 21;
    let mut ir10 = Graph::linear();
    ir10.ir = 10;
    let ml = |op: &str| {
        let mut n = node(op, &["features"], &["lin"]);
        n.domain = "ai.onnx.ml".into();
        Graph::linear().ending_with(vec![n], "lin")
    };
    let cases = [
        (
            "second output",
            two_outputs,
            ModelProblem::ShapeMismatch,
            "2 outputs",
        ),
        (
            "unnamed batch",
            unnamed,
            ModelProblem::ShapeMismatch,
            "unnamed batch",
        ),
        (
            "fixed batch",
            fixed,
            ModelProblem::ShapeMismatch,
            "fixed to 1",
        ),
        (
            "width 1e9",
            wide,
            ModelProblem::ShapeMismatch,
            "1000000000 columns",
        ),
        (
            "opset 21",
            opset21,
            ModelProblem::UnsupportedOperator,
            "opset 21",
        ),
        (
            "IR 10",
            ir10,
            ModelProblem::UnsupportedOperator,
            "IR version 10",
        ),
        (
            "LinearClassifier",
            ml("LinearClassifier"),
            ModelProblem::UnsupportedOperator,
            "LinearClassifier (ai.onnx.ml",
        ),
        (
            "Scaler",
            ml("Scaler"),
            ModelProblem::UnsupportedOperator,
            "Scaler (ai.onnx.ml",
        ),
    ];
    for (case, g, want, text) in cases {
        let (problem, message) = problem_of(&g.bytes(), "");
        assert_eq!(problem, want, "{case}: {message}");
        assert!(message.contains(text), "{case}: {message}");
        assert!(!message.contains("TDim"), "{case}: {message}");
    }
    let (_, message) = problem_of(&ml("Scaler").bytes(), "");
    assert!(message.starts_with("Scaler"), "operator first: {message}");
    assert!(message.contains("export.py"), "{message}");
    // An operator outside the list, and a 10 kB name cut short.
    let mut lp = node("Loop", &["features"], &["lin"]);
    lp.name = "x".repeat(10_000);
    let (problem, message) = problem_of(&Graph::linear().ending_with(vec![lp], "lin").bytes(), "");
    assert_eq!(problem, ModelProblem::UnsupportedOperator);
    assert!(
        message.starts_with("Loop") && message.len() < 1_000,
        "{message}"
    );
}

fn model_dir(bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manifest.json"), manifest(bytes, "")).unwrap();
    dir
}

fn load_problem(t: &Tailor, dir: &Path) -> (ModelProblem, String) {
    match t.load_model(dir.display().to_string(), None) {
        Err(TailorError::ModelRejected { problem, message }) => (problem, message),
        other => panic!("{other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn model_files_that_are_not_small_regular_files_are_refused_unread() {
    let store = tempfile::tempdir().unwrap();
    let t = open(&store);
    let bytes = Graph::linear().bytes();
    // FIFO: reading it would block forever.
    let fifo = model_dir(&bytes);
    let status = std::process::Command::new("mkfifo")
        .arg(fifo.path().join("model.onnx"))
        .status()
        .unwrap();
    assert!(status.success());
    let (problem, message) = load_problem(&t, fifo.path());
    assert_eq!(problem, ModelProblem::NotOnnx);
    assert!(
        message.contains("FIFO") && message.contains("model.onnx"),
        "{message}"
    );
    // Links to a FIFO and to endless devices.
    for target in [
        fifo.path().join("model.onnx"),
        "/dev/zero".into(),
        "/dev/urandom".into(),
    ] {
        let dir = model_dir(&bytes);
        std::os::unix::fs::symlink(&target, dir.path().join("model.onnx")).unwrap();
        let (problem, message) = load_problem(&t, dir.path());
        assert_eq!(problem, ModelProblem::NotOnnx, "{target:?}: {message}");
        assert!(message.contains("regular file"), "{message}");
    }
    // A 1 GB (sparse) file: refused by its size, never read.
    let huge = model_dir(&bytes);
    std::fs::File::create(huge.path().join("model.onnx"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let (problem, message) = load_problem(&t, huge.path());
    assert_eq!(problem, ModelProblem::TooLarge);
    assert!(message.contains("limit is 67108864"), "{message}");
    // The manifest too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.onnx"), &bytes).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("manifest.json")).unwrap();
    let (problem, _) = load_problem(&t, dir.path());
    assert_eq!(problem, ModelProblem::InvalidManifest);
    // And the good graph beside a good manifest loads.
    std::fs::write(dir.path().join("model.onnx"), &bytes).unwrap();
    std::fs::remove_file(dir.path().join("manifest.json")).unwrap();
    std::fs::write(dir.path().join("manifest.json"), manifest(&bytes, "")).unwrap();
    t.load_model(dir.path().display().to_string(), None)
        .unwrap();
}

fn bundled(name: &str) -> String {
    repo().join("models").join(name).display().to_string()
}

fn read_bundled(name: &str) -> (Vec<u8>, String) {
    let dir = repo().join("models").join(name);
    (
        std::fs::read(dir.join("model.onnx")).unwrap(),
        std::fs::read_to_string(dir.join("manifest.json")).unwrap(),
    )
}

/// Issue 11.3: the lock installs take is not one rank takes. Deterministic: the lock is held
/// for the whole time the rank runs on another thread.
#[test]
fn rank_on_a_history_model_completes_while_an_install_holds_the_registry_lock() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, _) = ModelRegistry::open(Some(dir.path()), vec![], Default::default()).unwrap();
    let (b, m) = read_bundled("linear-ranker");
    registry
        .install(&ModelFiles::of(b.clone(), m.clone()))
        .unwrap();
    let (b, m) = read_bundled("mlp-ranker");
    registry
        .install(&ModelFiles::of(b.clone(), m.clone()))
        .unwrap();
    let registry = std::sync::Arc::new(registry);
    let held = registry.hold_writer_lock();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = registry.clone();
    std::thread::spawn(move || {
        let found = reader
            .by_name("linear-ranker")
            .map(|m| m.manifest.name.clone());
        let active = reader
            .by_name("mlp-ranker")
            .map(|m| m.manifest.name.clone());
        let _ = tx.send((found, active));
    });
    // The generous timeout only turns a hang (the old behaviour) into a failure.
    let (found, active) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("by_name waited for the install lock");
    assert_eq!(found.as_deref(), Some("linear-ranker"));
    assert_eq!(active.as_deref(), Some("mlp-ranker"));
    drop(held);
}

/// The same through the API: rank under an experiment naming a rollback model while installs
/// run on another thread never fails.
#[test]
fn experiment_ranks_on_a_history_model_while_models_install() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.track(event(EventKind::Purchase, "toys-1", NOW - DAY))
        .unwrap();
    t.load_model(bundled("linear-ranker"), None).unwrap();
    t.load_model(bundled("mlp-ranker"), None).unwrap();
    t.define_experiment(Experiment {
        key: "e".into(),
        variants: vec![Variant {
            name: "v".into(),
            weight: 1.0,
            model_name: Some("linear-ranker".into()),
            exploration_rate: None,
            boosts: vec![],
        }],
    })
    .unwrap();
    let installer = {
        let t = t.clone();
        std::thread::spawn(move || {
            for _ in 0..3 {
                t.load_model(bundled("gbt-ranker"), None).unwrap();
                t.rollback_model().unwrap();
            }
        })
    };
    for _ in 0..20 {
        let r = t
            .rank(RankRequest {
                limit: 3,
                now: Some(NOW),
                experiment: Some("e".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(r.model_name, "linear-ranker");
    }
    installer.join().unwrap();
}

fn folders(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("models"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn stack(dir: &Path) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("models/active.json")).unwrap())
            .unwrap();
    let mut s: Vec<String> = v["stack"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    s.sort();
    s
}

/// Issue 11.5: open builds fixed-batch plans for the active model only; folders of models that
/// leave the history are deleted.
#[test]
fn only_the_active_model_gets_plans_and_dropped_models_leave_no_folder() {
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "linear-ranker",
        "mlp-ranker",
        "gbt-ranker",
        "embedding-ranker",
        "bootstrap-ranker",
    ];
    {
        let (registry, _) =
            ModelRegistry::open(Some(dir.path()), vec![], Default::default()).unwrap();
        for name in names {
            let (b, m) = read_bundled(name);
            registry
                .install(&ModelFiles::of(b.clone(), m.clone()))
                .unwrap();
        }
        let fixture = repo().join("tests/fixtures/models/valid_linear");
        let b = std::fs::read(fixture.join("model.onnx")).unwrap();
        let m = std::fs::read_to_string(fixture.join("manifest.json")).unwrap();
        registry
            .install(&ModelFiles::of(b.clone(), m.clone()))
            .unwrap();
        // 6 installs, 4 kept for rollback + the active one; the built-in has no folder.
        assert_eq!(folders(dir.path()), stack(dir.path()));
        assert_eq!(folders(dir.path()).len(), 5);
        registry.rollback().unwrap();
        assert_eq!(
            folders(dir.path()),
            stack(dir.path()),
            "rolled-back-from model deleted"
        );
        assert_eq!(folders(dir.path()).len(), 4);
    }
    std::fs::create_dir_all(dir.path().join("models/leftover-0123456789abcdef")).unwrap();
    let (registry, notices) =
        ModelRegistry::open(Some(dir.path()), vec![], Default::default()).unwrap();
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!(
        folders(dir.path()),
        stack(dir.path()),
        "leftover removed at open"
    );
    let active = registry.active();
    assert_eq!(active.manifest.name, "bootstrap-ranker");
    assert!(
        !active.runtime.batch_plans_requested(),
        "open leaves the build to prepare_active, so it does not compete with the rest of open"
    );
    registry.prepare_active();
    assert!(active.runtime.batch_plans_requested());
    for name in ["mlp-ranker", "gbt-ranker", "embedding-ranker"] {
        let m = registry.by_name(name).unwrap();
        assert!(
            !m.runtime.batch_plans_requested(),
            "{name}: plans built at open"
        );
    }
    // Rolling back makes the previous model active, and it gets its plans then.
    registry.rollback().unwrap();
    assert!(registry.active().runtime.batch_plans_requested());
}
