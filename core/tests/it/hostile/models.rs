//! Manifest JSON and model files: byte-level mutations, then structure-aware mutations of a valid graph.

use super::*;

// ---------------------------------------------------------------------------------------------
// Manifest JSON and model bytes
// ---------------------------------------------------------------------------------------------

fn feature_names() -> Vec<String> {
    tailor::engine::features::Feature::all()
        .into_iter()
        .map(|f| f.name())
        .collect()
}

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        weird_f64().prop_map(|f| json!(f)),
        weird_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn manifest_json() -> BoxedStrategy<String> {
    let names = feature_names();
    let feature = mostly(prop::sample::select(names), weird_string());
    let features = prop_oneof![
        12 => prop::collection::vec(feature, 1..10).prop_map(|v| json!(v)),
        1 => Just(json!([])),
        1 => prop::collection::vec(Just("bought_count".to_string()), 257..260).prop_map(|v| json!(v)),
        1 => json_value(),
    ];
    let sha = mostly(
        "[0-9a-fA-F]{64}",
        prop_oneof!["[0-9a-f]{0,70}", Just("g".repeat(64)), Just("é".repeat(32)),],
    );
    let text = || mostly("[a-z0-9.-]{1,10}", weird_string());
    let field = |v: BoxedStrategy<Value>| prop_oneof![12 => v.prop_map(Some), 1 => Just(None)];
    (
        field(text().prop_map(Value::String).boxed()),
        field(text().prop_map(Value::String).boxed()),
        field(features.boxed()),
        field(sha.prop_map(Value::String).boxed()),
        prop_oneof![
            6 => Just(None),
            3 => Just(Some(json!({"features": "features"}))),
            1 => text().prop_map(|s| Some(json!({ "features": s }))),
            1 => json_value().prop_map(Some),
        ],
        prop_oneof![6 => Just(None), 3 => Just(Some(json!("score"))), 1 => json_value().prop_map(Some)],
        prop_oneof![8 => Just(None), 1 => "[0-9a-f]{128}".prop_map(|s| Some(json!(s))), 1 => json_value().prop_map(Some)],
        prop_oneof![8 => Just(None), 1 => ("[a-z]{1,6}", json_value()).prop_map(Some)],
    )
        .prop_map(
            |(name, version, features, sha256, inputs, output, signature, extra)| {
                let mut m = serde_json::Map::new();
                for (k, v) in [
                    ("name", name),
                    ("version", version),
                    ("features", features),
                    ("sha256", sha256),
                    ("inputs", inputs),
                    ("output", output),
                    ("signature", signature),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                }
                if let Some((k, v)) = extra {
                    m.insert(k, v);
                }
                Value::Object(m).to_string()
            },
        )
        .boxed()
}

fn check_manifest(text: &str) -> TestCaseResult {
    match Manifest::parse(text) {
        Ok(m) => {
            prop_assert!((1..=256).contains(&m.features.len()));
            prop_assert!(m.sha256.len() == 64 && m.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
            for s in [&m.name, &m.version, &m.output, &m.inputs.features] {
                prop_assert!(!s.trim().is_empty() && s.len() <= 128);
            }
            let _ = m.signing_message();
            accepted();
            match m.resolve_features() {
                Ok(f) => prop_assert_eq!(f.len(), m.features.len()),
                Err(Error::Model(
                    ModelProblem::UnknownFeature | ModelProblem::InvalidManifest,
                    msg,
                )) => {
                    prop_assert!(!msg.is_empty())
                }
                Err(other) => prop_assert!(false, "resolve_features: {other:?}"),
            }
            Ok(())
        }
        Err(Error::Model(ModelProblem::InvalidManifest, msg)) => {
            prop_assert!(!msg.is_empty());
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!("parse: {other:?}"))),
    }
}

use tailor::engine::model::Manifest;

#[test]
fn manifest_json_never_panics() {
    fuzz(
        "manifest JSON, arbitrary text",
        256,
        "(?s).{0,300}",
        |text| check_manifest(&text),
    );
    fuzz("manifest JSON, structured", 256, manifest_json(), |text| {
        check_manifest(&text)
    });
}

thread_local! {
    /// Accepted models that then failed (typed) on a batch size other than the probe's.
    static BATCH_FRAGILE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Panics inside tract that the runtime turned into typed rejections.
    static TRACT_PANICS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A model validated from these bytes, with a manifest whose hash matches them: only typed model
/// errors. An accepted model scores another batch size with a result or a typed error (ranking
/// then falls back to popularity, flagged ModelFailed).
fn check_model(bytes: &[u8], manifest: &Value) -> TestCaseResult {
    let mut manifest = manifest.clone();
    manifest["sha256"] = json!(sha256_hex(bytes));
    match tailor::engine::model::validate(bytes, &manifest.to_string(), &[]) {
        Ok(tailor::engine::model::Validated {
            manifest: m,
            features,
            runtime,
            ..
        }) => {
            prop_assert_eq!(features.len(), m.features.len());
            let rows = 7;
            match runtime.score(&vec![0.5; rows * runtime.width()], rows) {
                Ok(scores) => prop_assert_eq!(scores.len(), rows),
                Err(Error::Model(_, msg)) => {
                    prop_assert!(!msg.is_empty());
                    BATCH_FRAGILE.with(|c| c.set(c.get() + 1));
                }
                Err(other) => prop_assert!(false, "score: {other:?}"),
            }
            accepted();
            Ok(())
        }
        Err(Error::Model(_, msg)) => {
            prop_assert!(!msg.is_empty());
            if msg.contains("the ONNX runtime failed on this graph") {
                TRACT_PANICS.with(|c| c.set(c.get() + 1));
            }
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!("validate: {other:?}"))),
    }
}

fn read_model(folder: &std::path::Path) -> (Vec<u8>, Value) {
    let bytes = std::fs::read(folder.join("model.onnx")).unwrap();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("manifest.json")).unwrap())
            .unwrap();
    (bytes, manifest)
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    prop_oneof![
        4 => (pos, 0..8u8).prop_map(|(p, b)| Mutation::Flip(p, b)),
        3 => (pos, prop::sample::select(vec![0u8, 1, 0x7f, 0x80, 0xff, 0x08, 0x12, 0x1a]))
            .prop_map(|(p, b)| Mutation::Set(p, b)),
        2 => (pos, any::<u8>()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        2 => pos.prop_map(Mutation::Delete),
        1 => pos.prop_map(Mutation::Truncate),
        1 => (pos, 1..16usize).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
    ]
}

fn mutate(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for m in mutations {
        if b.is_empty() {
            break;
        }
        let at = |p: usize| p % b.len();
        match *m {
            Mutation::Flip(p, bit) => {
                let i = at(p);
                b[i] ^= 1 << bit;
            }
            Mutation::Set(p, v) => {
                let i = at(p);
                b[i] = v;
            }
            Mutation::Insert(p, v) => {
                let i = at(p);
                b.insert(i, v);
            }
            Mutation::Delete(p) => {
                let i = at(p);
                b.remove(i);
            }
            Mutation::Truncate(p) => {
                let i = at(p);
                b.truncate(i);
            }
            Mutation::Duplicate(p, n) => {
                let i = at(p);
                let chunk: Vec<u8> = b[i..(i + n).min(b.len())].to_vec();
                b.splice(i..i, chunk);
            }
        }
    }
    b
}

#[test]
fn model_bytes_never_panic() {
    let (valid, manifest) = read_model(&repo().join("tests/fixtures/models/valid_linear"));
    // The unmutated model is accepted: the harness itself is sound.
    check_model(&valid, &manifest).unwrap();
    assert!(tailor::engine::model::validate(&valid, &manifest.to_string(), &[]).is_ok());
    fuzz(
        "model bytes, arbitrary",
        256,
        prop::collection::vec(any::<u8>(), 0..4096),
        |bytes| check_model(&bytes, &manifest),
    );
    // Bytes that start like an ONNX ModelProto (ir_version, producer, graph) and then go wrong.
    fuzz(
        "model bytes, valid prefix + garbage",
        128,
        (0..valid.len(), prop::collection::vec(any::<u8>(), 0..256)),
        |(cut, tail)| {
            let mut bytes = valid[..cut].to_vec();
            bytes.extend(tail);
            check_model(&bytes, &manifest)
        },
    );
}

#[test]
fn mutated_models_never_panic() {
    for (folder, cases) in [
        (repo().join("tests/fixtures/models/valid_linear"), 64),
        (repo().join("models/linear-ranker"), 32),
    ] {
        let (valid, manifest) = read_model(&folder);
        let name = format!(
            "model bytes, mutated {}",
            folder.file_name().unwrap().to_string_lossy()
        );
        fuzz(
            &name,
            cases,
            prop::collection::vec(mutation(), 1..6),
            |mutations| check_model(&mutate(&valid, &mutations), &manifest),
        );
    }
}

// Structure-aware mutations: decode a valid model, change one thing in its graph (an operator, an
// attribute, a tensor's shape or type, a wiring), encode it again. The bytes are a well-formed
// protobuf, so they get past the decoder into tract's graph translation, type inference and
// optimizer: the parts a byte flip rarely reaches.

use prost::Message;
use tract_onnx::pb;

const OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Add",
    "Mul",
    "Sub",
    "Div",
    "Relu",
    "Sigmoid",
    "Tanh",
    "Exp",
    "Log",
    "Sqrt",
    "Neg",
    "Abs",
    "Reshape",
    "Transpose",
    "Concat",
    "Slice",
    "Gather",
    "Squeeze",
    "Unsqueeze",
    "ReduceSum",
    "ReduceMean",
    "Softmax",
    "Cast",
    "Identity",
    "Flatten",
    "Conv",
    "MaxPool",
    "Loop",
    "If",
    "Scan",
    "Where",
    "Greater",
    "TopK",
    "Expand",
    "Tile",
    "Pad",
    "Resize",
    "Einsum",
    "Range",
    "ConstantOfShape",
    "Constant",
    "TreeEnsembleRegressor",
    "LinearRegressor",
    "NoSuchOp",
    "",
];

const ATTRS: &[&str] = &[
    "transA",
    "transB",
    "alpha",
    "beta",
    "axis",
    "axes",
    "perm",
    "keepdims",
    "to",
    "shape",
    "value",
    "k",
    "mode",
    "allowzero",
    "kernel_shape",
    "pads",
    "strides",
    "group",
];

#[derive(Debug, Clone)]
enum GraphMutation {
    OpType(usize, &'static str),
    Domain(usize, &'static str),
    NodeInput(usize, usize, String),
    DropNodeInput(usize),
    NodeOutput(usize, String),
    DropNode(usize),
    DuplicateNode(usize),
    SwapNodes(usize, usize),
    AttrInt(usize, &'static str, i64),
    AttrFloat(usize, &'static str, f32),
    AttrInts(usize, &'static str, Vec<i64>),
    AttrTensor(usize, &'static str, Vec<i64>, i32, Vec<u8>),
    DropAttrs(usize),
    InitDims(usize, Vec<i64>),
    InitType(usize, i32),
    InitRaw(usize, Vec<u8>),
    InitFloats(usize, Vec<f32>),
    DropInit(usize),
    InputDim(usize, usize, Option<Result<i64, String>>),
    InputElemType(usize, i32),
    InputRank(usize, usize),
    OutputName(usize, String),
    Opset(i64),
    IrVersion(i64),
}

fn dim() -> BoxedStrategy<i64> {
    prop_oneof![
        6 => -2..6i64,
        1 => Just(1 << 20),
        1 => Just(1 << 40),
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
    ]
    .boxed()
}

fn graph_mutation() -> BoxedStrategy<GraphMutation> {
    use GraphMutation as M;
    let sel = any::<usize>;
    let name = || {
        prop_oneof![
            3 => prop::sample::select(vec!["features", "score", "W", "B", "x", "missing", ""])
                .prop_map(String::from),
            1 => "[a-z_0-9]{1,12}",
        ]
    };
    let op = || prop::sample::select(OPS.to_vec());
    let attr = || prop::sample::select(ATTRS.to_vec());
    let dtype = || prop_oneof![4 => 0..17i32, 1 => any::<i32>()];
    prop_oneof![
        4 => (sel(), op()).prop_map(|(n, o)| M::OpType(n, o)),
        1 => (sel(), prop::sample::select(vec!["", "ai.onnx.ml", "com.microsoft", "x"]))
            .prop_map(|(n, d)| M::Domain(n, d)),
        2 => (sel(), sel(), name()).prop_map(|(n, i, s)| M::NodeInput(n, i, s)),
        1 => sel().prop_map(M::DropNodeInput),
        1 => (sel(), name()).prop_map(|(n, s)| M::NodeOutput(n, s)),
        1 => sel().prop_map(M::DropNode),
        1 => sel().prop_map(M::DuplicateNode),
        1 => (sel(), sel()).prop_map(|(a, b)| M::SwapNodes(a, b)),
        3 => (sel(), attr(), prop_oneof![-3..4i64, any::<i64>()])
            .prop_map(|(n, a, v)| M::AttrInt(n, a, v)),
        2 => (sel(), attr(), prop_oneof![-2.0..2.0f32, proptest::num::f32::ANY])
            .prop_map(|(n, a, v)| M::AttrFloat(n, a, v)),
        2 => (sel(), attr(), prop::collection::vec(dim(), 0..5))
            .prop_map(|(n, a, v)| M::AttrInts(n, a, v)),
        1 => (sel(), attr(), prop::collection::vec(dim(), 0..3), dtype(),
              prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(n, a, d, t, r)| M::AttrTensor(n, a, d, t, r)),
        1 => sel().prop_map(M::DropAttrs),
        3 => (sel(), prop::collection::vec(dim(), 0..4)).prop_map(|(i, d)| M::InitDims(i, d)),
        2 => (sel(), dtype()).prop_map(|(i, t)| M::InitType(i, t)),
        2 => (sel(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(i, r)| M::InitRaw(i, r)),
        1 => (sel(), prop::collection::vec(proptest::num::f32::ANY, 0..16))
            .prop_map(|(i, f)| M::InitFloats(i, f)),
        1 => sel().prop_map(M::DropInit),
        2 => (sel(), sel(), prop_oneof![
                1 => Just(None),
                3 => dim().prop_map(|d| Some(Ok(d))),
                1 => "[A-Za-z]{0,3}".prop_map(|p| Some(Err(p))),
            ])
            .prop_map(|(i, d, v)| M::InputDim(i, d, v)),
        1 => (sel(), dtype()).prop_map(|(i, t)| M::InputElemType(i, t)),
        1 => (sel(), 0..5usize).prop_map(|(i, r)| M::InputRank(i, r)),
        1 => (sel(), name()).prop_map(|(i, s)| M::OutputName(i, s)),
        1 => prop_oneof![0..25i64, any::<i64>()].prop_map(M::Opset),
        1 => prop_oneof![0..12i64, any::<i64>()].prop_map(M::IrVersion),
    ]
    .boxed()
}

fn pick<T>(v: &mut [T], i: usize) -> Option<&mut T> {
    if v.is_empty() {
        None
    } else {
        let n = v.len();
        v.get_mut(i % n)
    }
}

fn set_attr(node: &mut pb::NodeProto, name: &str, f: impl FnOnce(&mut pb::AttributeProto)) {
    if let Some(a) = node.attribute.iter_mut().find(|a| a.name == name) {
        f(a);
    } else {
        let mut a = pb::AttributeProto {
            name: name.into(),
            ..Default::default()
        };
        f(&mut a);
        node.attribute.push(a);
    }
}

fn apply(model: &mut pb::ModelProto, m: &GraphMutation) {
    use pb::tensor_shape_proto::{dimension::Value as Dim, Dimension};
    use pb::type_proto::Value as Type;
    use GraphMutation as M;
    if let M::Opset(v) = m {
        for o in &mut model.opset_import {
            o.version = *v;
        }
        return;
    }
    if let M::IrVersion(v) = m {
        model.ir_version = *v;
        return;
    }
    let Some(g) = model.graph.as_mut() else {
        return;
    };
    match m.clone() {
        M::OpType(n, op) => {
            if let Some(node) = pick(&mut g.node, n) {
                node.op_type = op.into();
            }
        }
        M::Domain(n, d) => {
            if let Some(node) = pick(&mut g.node, n) {
                node.domain = d.into();
            }
        }
        M::NodeInput(n, i, s) => {
            if let Some(node) = pick(&mut g.node, n) {
                match pick(&mut node.input, i) {
                    Some(input) if i % 2 == 0 => *input = s,
                    _ => node.input.push(s),
                }
            }
        }
        M::DropNodeInput(n) => {
            if let Some(node) = pick(&mut g.node, n) {
                node.input.pop();
            }
        }
        M::NodeOutput(n, s) => {
            if let Some(out) = pick(&mut g.node, n).and_then(|node| node.output.first_mut()) {
                *out = s;
            }
        }
        M::DropNode(n) => {
            if !g.node.is_empty() {
                let i = n % g.node.len();
                g.node.remove(i);
            }
        }
        M::DuplicateNode(n) => {
            if let Some(node) = pick(&mut g.node, n).cloned() {
                g.node.push(node);
            }
        }
        M::SwapNodes(a, b) => {
            if !g.node.is_empty() {
                let len = g.node.len();
                g.node.swap(a % len, b % len);
            }
        }
        M::AttrInt(n, name, v) => {
            if let Some(node) = pick(&mut g.node, n) {
                set_attr(node, name, |a| {
                    a.r#type = 2;
                    a.i = v;
                });
            }
        }
        M::AttrFloat(n, name, v) => {
            if let Some(node) = pick(&mut g.node, n) {
                set_attr(node, name, |a| {
                    a.r#type = 1;
                    a.f = v;
                });
            }
        }
        M::AttrInts(n, name, v) => {
            if let Some(node) = pick(&mut g.node, n) {
                set_attr(node, name, |a| {
                    a.r#type = 7;
                    a.ints = v;
                });
            }
        }
        M::AttrTensor(n, name, dims, data_type, raw_data) => {
            if let Some(node) = pick(&mut g.node, n) {
                set_attr(node, name, |a| {
                    a.r#type = 4;
                    a.t = Some(pb::TensorProto {
                        dims,
                        data_type,
                        raw_data,
                        ..Default::default()
                    });
                });
            }
        }
        M::DropAttrs(n) => {
            if let Some(node) = pick(&mut g.node, n) {
                node.attribute.clear();
            }
        }
        M::InitDims(i, d) => {
            if let Some(t) = pick(&mut g.initializer, i) {
                t.dims = d;
            }
        }
        M::InitType(i, ty) => {
            if let Some(t) = pick(&mut g.initializer, i) {
                t.data_type = ty;
            }
        }
        M::InitRaw(i, r) => {
            if let Some(t) = pick(&mut g.initializer, i) {
                t.raw_data = r;
                t.float_data.clear();
            }
        }
        M::InitFloats(i, f) => {
            if let Some(t) = pick(&mut g.initializer, i) {
                t.float_data = f;
                t.raw_data.clear();
            }
        }
        M::DropInit(i) => {
            if !g.initializer.is_empty() {
                let i = i % g.initializer.len();
                g.initializer.remove(i);
            }
        }
        M::InputDim(i, d, v) => {
            if let Some(Type::TensorType(t)) =
                pick(&mut g.input, i).and_then(|x| x.r#type.as_mut()?.value.as_mut())
            {
                if let Some(shape) = t.shape.as_mut() {
                    if let Some(dim) = pick(&mut shape.dim, d) {
                        dim.value = v.map(|v| match v {
                            Ok(n) => Dim::DimValue(n),
                            Err(p) => Dim::DimParam(p),
                        });
                    }
                }
            }
        }
        M::InputElemType(i, ty) => {
            if let Some(Type::TensorType(t)) =
                pick(&mut g.input, i).and_then(|x| x.r#type.as_mut()?.value.as_mut())
            {
                t.elem_type = ty;
            }
        }
        M::InputRank(i, rank) => {
            if let Some(Type::TensorType(t)) =
                pick(&mut g.input, i).and_then(|x| x.r#type.as_mut()?.value.as_mut())
            {
                if let Some(shape) = t.shape.as_mut() {
                    shape.dim.resize(
                        rank,
                        Dimension {
                            denotation: String::new(),
                            value: Some(Dim::DimValue(1)),
                        },
                    );
                }
            }
        }
        M::OutputName(i, s) => {
            if let Some(o) = pick(&mut g.output, i) {
                o.name = s;
            }
        }
        M::Opset(_) | M::IrVersion(_) => {}
    }
}

#[test]
fn structurally_mutated_models_never_panic() {
    for (folder, cases) in [
        (repo().join("tests/fixtures/models/valid_linear"), 128),
        (repo().join("models/mlp-ranker"), 64),
        (repo().join("models/gbt-ranker"), 64),
    ] {
        let (valid, manifest) = read_model(&folder);
        let proto = pb::ModelProto::decode(&valid[..]).unwrap();
        // Re-encoding an unchanged model gives a model that still loads.
        check_model(&proto.encode_to_vec(), &manifest).unwrap();
        let name = format!(
            "model graph, mutated {}",
            folder.file_name().unwrap().to_string_lossy()
        );
        fuzz(
            &name,
            cases,
            prop::collection::vec(graph_mutation(), 1..4),
            |mutations| {
                let mut model = proto.clone();
                for m in &mutations {
                    apply(&mut model, m);
                }
                check_model(&model.encode_to_vec(), &manifest)
            },
        );
    }
    eprintln!(
        "hostile_input: mutated graphs: {} tract panics turned into typed rejections; {} accepted \
         graphs that fail (typed) at a batch size other than the probe's",
        TRACT_PANICS.with(|c| c.get()),
        BATCH_FRAGILE.with(|c| c.get())
    );
}

/// Regressions found by the property above: graphs that made tract panic (an output that no node
/// produces; a raw tensor of a type tract cannot load) are refused with a typed error.
#[test]
fn graphs_that_made_tract_panic_are_rejected() {
    let (valid, manifest) = read_model(&repo().join("tests/fixtures/models/valid_linear"));
    let proto = pb::ModelProto::decode(&valid[..]).unwrap();
    let rejected_as_not_onnx = |model: &pb::ModelProto, what: &str| {
        let bytes = model.encode_to_vec();
        let mut m = manifest.clone();
        m["sha256"] = json!(sha256_hex(&bytes));
        match tailor::engine::model::validate(&bytes, &m.to_string(), &[]) {
            Err(Error::Model(ModelProblem::NotOnnx, msg)) => eprintln!("{what}: {msg}"),
            Err(other) => panic!("{what}: {other:?}"),
            Ok(_) => panic!("{what}: accepted"),
        }
    };
    let mut unwired = proto.clone();
    unwired
        .graph
        .as_mut()
        .unwrap()
        .output
        .push(pb::ValueInfoProto {
            name: "dangling".into(),
            ..Default::default()
        });
    rejected_as_not_onnx(&unwired, "output no node produces");
    let mut raw = proto.clone();
    for t in &mut raw.graph.as_mut().unwrap().initializer {
        t.data_type = 8; // STRING, from raw bytes
        t.raw_data = vec![1, 2, 3, 4];
        t.float_data.clear();
    }
    rejected_as_not_onnx(&raw, "raw string tensor");
}
