//! The graph contract, checked on the ONNX protobuf before tract sees it: IR and opset range,
//! the operator allow-list, exactly one `[N, F]` float input with a symbolic batch dimension,
//! exactly one float output. Checking here (not by tract failing later) gives every refusal a
//! message that names the operator or the tensor first, and keeps tract from constant-folding a
//! hostile shape into gigabytes before any budget is checked.

use super::manifest::{Manifest, SequenceSpec};
use super::onnx::proto::{self as pb, ModelProto};
use crate::error::{Error, ModelProblem, Result};
use std::ops::RangeInclusive;

/// ONNX IR versions accepted (IR 7 = opsets 12–14, 8 = 15–18, 9 = 19–20).
pub const IR_VERSIONS: RangeInclusive<i64> = 7..=9;
/// Default-domain opsets accepted: what tract 0.23 runs and the exporters write.
pub const OPSETS: RangeInclusive<i64> = 13..=18;
/// The operators a ranking model may use (default domain only). Control flow (If, Loop, Scan),
/// recurrent cells, convolutions, string and random ops are not ranking operators; ai.onnx.ml
/// ops (Scaler, LinearClassifier, TreeEnsemble*) are refused with advice.
pub const OPERATORS: &[&str] = &[
    "Abs",
    "Add",
    "And",
    "ArgMax",
    "ArgMin",
    "BatchNormalization",
    "Cast",
    "Ceil",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Div",
    "Dropout",
    "Elu",
    "Equal",
    "Erf",
    "Exp",
    "Expand",
    "Flatten",
    "Floor",
    "Gather",
    "GatherElements",
    "Gelu",
    "Gemm",
    "Greater",
    "GreaterOrEqual",
    "HardSigmoid",
    "Identity",
    "LayerNormalization",
    "LeakyRelu",
    "Less",
    "LessOrEqual",
    "Log",
    "LogSoftmax",
    "MatMul",
    "Max",
    "Mean",
    "Min",
    "Mul",
    "Neg",
    "Not",
    "Or",
    "Pow",
    "PRelu",
    "Range",
    "Reciprocal",
    "ReduceL2",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "Relu",
    "Reshape",
    "Selu",
    "Shape",
    "Sigmoid",
    "Sign",
    "Slice",
    "Softmax",
    "Softplus",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tanh",
    "Tile",
    "Transpose",
    "Unsqueeze",
    "Where",
    "Xor",
];

/// ai.onnx.ml tree ensembles: tract 0.23 cannot run the regressor and runs the classifier slowly.
const TREE_OPS: &[&str] = &[
    "TreeEnsembleRegressor",
    "TreeEnsembleClassifier",
    "TreeEnsemble",
];

pub const TREE_ADVICE: &str = "convert the trees to dense tensor ops with \
    `models/train/.venv/bin/python models/train/tree2gemm.py IN.onnx OUT.onnx --features a,b,... \
    --name NAME --version V` (same scores, fast in tract; writes manifest.json), or export the \
    fitted model with models/train/export.py";

const EXPORT_ADVICE: &str = "export the fitted model with models/train/export.py, which folds \
    scalers into the first layer and writes plain ONNX";

/// Largest tensor a constant shape may ask for (elements), checked before tract folds it.
const MAX_CONST_ELEMENTS: f64 = 16.0 * 1024.0 * 1024.0;

/// Shorten user-controlled names in messages (a 10 kB node name must not flood a log).
pub fn short(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

/// Cap a runtime's message (it may quote a whole node).
pub fn short_long(s: &str) -> String {
    const MAX: usize = 400;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

fn refuse(problem: ModelProblem, msg: String) -> Error {
    Error::model(problem, msg)
}

/// What every graph Tailor runs must satisfy (versions, operators, constant sizes); returns the
/// graph for the checks specific to its role.
fn check_graph<'a>(proto: &'a ModelProto, what: &str) -> Result<&'a pb::GraphProto> {
    let Some(graph) = &proto.graph else {
        return Err(refuse(
            ModelProblem::NotOnnx,
            format!("{what} has no graph"),
        ));
    };
    check_versions(proto)?;
    for node in &graph.node {
        check_operator(node)?;
    }
    check_const_shapes(graph)?;
    Ok(graph)
}

/// Check the graph contract; `Ok` means tract may translate it.
pub fn check(proto: &ModelProto, manifest: &Manifest) -> Result<()> {
    let graph = check_graph(proto, "the ONNX file")?;
    check_input(graph, manifest)?;
    check_output(graph, manifest)
}

fn check_versions(proto: &ModelProto) -> Result<()> {
    if !IR_VERSIONS.contains(&proto.ir_version) {
        return Err(refuse(
            ModelProblem::UnsupportedOperator,
            format!(
                "ONNX IR version {} is outside the supported {}..={}; export with opset {}..={}",
                proto.ir_version,
                IR_VERSIONS.start(),
                IR_VERSIONS.end(),
                OPSETS.start(),
                OPSETS.end()
            ),
        ));
    }
    for o in &proto.opset_import {
        if (o.domain.is_empty() || o.domain == "ai.onnx") && !OPSETS.contains(&o.version) {
            return Err(refuse(
                ModelProblem::UnsupportedOperator,
                format!(
                    "opset {} is outside the supported {}..={}; re-export with one of those",
                    o.version,
                    OPSETS.start(),
                    OPSETS.end()
                ),
            ));
        }
    }
    Ok(())
}

fn check_operator(node: &pb::NodeProto) -> Result<()> {
    let op = short(&node.op_type);
    let default_domain = node.domain.is_empty() || node.domain == "ai.onnx";
    if default_domain && OPERATORS.contains(&node.op_type.as_str()) {
        return Ok(());
    }
    let advice = if TREE_OPS.contains(&node.op_type.as_str()) {
        format!("Tailor cannot run tree ensembles as such (tract ran them ~300x slower than dense ops); {TREE_ADVICE}")
    } else if !default_domain {
        format!("Tailor runs default-domain ONNX operators only; {EXPORT_ADVICE}")
    } else {
        "it is not in Tailor's operator list (README \"Bring your own model\")".to_string()
    };
    let domain = if default_domain {
        "ai.onnx"
    } else {
        &node.domain
    };
    Err(refuse(
        ModelProblem::UnsupportedOperator,
        format!(
            "{op} ({}, node {:?}) is not supported: {advice}",
            short(domain),
            short(&node.name)
        ),
    ))
}

/// ConstantOfShape / Expand / Tile with a constant shape are folded by tract at load: refuse a
/// huge one here, before anything is allocated.
fn check_const_shapes(graph: &pb::GraphProto) -> Result<()> {
    for node in &graph.node {
        let shape_input = match node.op_type.as_str() {
            "ConstantOfShape" => node.input.first(),
            "Expand" | "Tile" => node.input.get(1),
            _ => None,
        };
        let Some(name) = shape_input else { continue };
        let Some(t) = graph.initializer.iter().find(|t| &t.name == name) else {
            continue;
        };
        let volume: f64 = t
            .int64_data
            .iter()
            .map(|&d| d.max(0) as f64)
            .product::<f64>()
            * if t.raw_data.is_empty() {
                1.0
            } else {
                t.raw_data
                    .chunks_exact(8)
                    .map(|c| {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(c);
                        i64::from_le_bytes(b).max(0) as f64
                    })
                    .product::<f64>()
            };
        if volume > MAX_CONST_ELEMENTS {
            return Err(refuse(
                ModelProblem::OverBudget,
                format!(
                    "{} (node {:?}) asks for a constant of {volume:.0} elements; the limit is \
                     {MAX_CONST_ELEMENTS:.0}",
                    node.op_type,
                    short(&node.name)
                ),
            ));
        }
    }
    Ok(())
}

fn dims(t: &pb::ValueInfoProto) -> Option<(i32, Option<Vec<pb::tensor_shape_proto::Dimension>>)> {
    let pb::type_proto::Value::TensorType(tt) = t.r#type.as_ref()?.value.as_ref()?;
    Some((tt.elem_type, tt.shape.as_ref().map(|s| s.dim.clone())))
}

fn fixed(d: &pb::tensor_shape_proto::Dimension) -> Option<i64> {
    match &d.value {
        Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) => Some(*v),
        _ => None,
    }
}

fn symbolic(d: &pb::tensor_shape_proto::Dimension) -> bool {
    matches!(&d.value, Some(pb::tensor_shape_proto::dimension::Value::DimParam(p)) if !p.is_empty())
}

const FLOAT: i32 = 1;

fn check_input(graph: &pb::GraphProto, manifest: &Manifest) -> Result<()> {
    let width = manifest.features.len();
    let want = &manifest.inputs.features;
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !graph.initializer.iter().any(|t| t.name == i.name))
        .collect();
    let names: Vec<String> = inputs.iter().map(|i| short(&i.name)).collect();
    let [input] = inputs.as_slice() else {
        return Err(refuse(
            ModelProblem::ShapeMismatch,
            format!("the graph's inputs are {names:?}; Tailor feeds exactly one float32 [N, {width}] input named {:?} (manifest inputs.features)", short(want)),
        ));
    };
    if &input.name != want {
        return Err(refuse(
            ModelProblem::ShapeMismatch,
            format!(
                "the graph's input is {:?}, not {:?} (manifest inputs.features)",
                short(&input.name),
                short(want)
            ),
        ));
    }
    let mismatch = |what: String| {
        refuse(
            ModelProblem::ShapeMismatch,
            format!("input {:?} {what}; the contract is float32 [N, {width}] with a symbolic batch dimension N ({width} = manifest features)", short(want)),
        )
    };
    let Some((elem, shape)) = dims(input) else {
        return Err(mismatch("is not a tensor".into()));
    };
    if elem != FLOAT {
        return Err(mismatch(format!("has element type {elem}, not float32")));
    }
    let Some(shape) = shape else {
        return Err(mismatch("declares no shape".into()));
    };
    let [batch, cols] = shape.as_slice() else {
        return Err(mismatch(format!("has rank {}", shape.len())));
    };
    if !symbolic(batch) {
        return Err(mismatch(match fixed(batch) {
            Some(v) => format!("has its batch dimension fixed to {v}"),
            None => "has an unnamed batch dimension (give it a dim_param such as \"N\")".into(),
        }));
    }
    match fixed(cols) {
        Some(v) if v == width as i64 => Ok(()),
        Some(v) => Err(mismatch(format!("is {v} columns wide"))),
        None => Err(mismatch("has a symbolic feature dimension".into())),
    }
}

fn check_output(graph: &pb::GraphProto, manifest: &Manifest) -> Result<()> {
    let want = &manifest.output;
    let names: Vec<String> = graph.output.iter().map(|o| short(&o.name)).collect();
    let [output] = graph.output.as_slice() else {
        return Err(refuse(
            ModelProblem::ShapeMismatch,
            format!(
                "the graph has {} outputs {names:?}; Tailor reads exactly one float32 score \
                 output [N] or [N, 1] (extra outputs are refused: remove them, e.g. skl2onnx's \
                 `label`; models/train/export.py does)",
                names.len()
            ),
        ));
    };
    if &output.name != want {
        return Err(refuse(
            ModelProblem::ShapeMismatch,
            format!(
                "the graph has no output {:?} (it has {names:?}); fix manifest `output`",
                short(want)
            ),
        ));
    }
    let Some((elem, shape)) = dims(output) else {
        return Ok(());
    };
    if elem != FLOAT && elem != 0 {
        return Err(refuse(
            ModelProblem::ShapeMismatch,
            format!(
                "output {:?} has element type {elem}; it must be float32 scores",
                short(want)
            ),
        ));
    }
    let bad_shape = match shape.as_deref() {
        None | Some([]) => false,
        Some([n]) => fixed(n).is_some(),
        Some([n, one]) => fixed(n).is_some() || fixed(one).is_some_and(|v| v != 1),
        Some(_) => true,
    };
    if bad_shape {
        return Err(refuse(
            ModelProblem::ShapeMismatch,
            format!(
                "output {:?} must be [N] or [N, 1] with the input's symbolic N",
                short(want)
            ),
        ));
    }
    Ok(())
}

const INT64: i32 = 7;

/// The contract of a sequence graph (manifest format 2): the same versions and operators as a
/// ranker, one int64 `[1, max_len]` input, the named output, and the item table as a float32
/// `[rows, d]` initializer (its contents are checked when it is read, see `model/sequence`).
pub fn check_sequence(proto: &ModelProto, spec: &SequenceSpec) -> Result<()> {
    let graph = check_graph(proto, "the sequence graph")?;
    let len = spec.max_len;
    let mismatch = |what: String| {
        refuse(
            ModelProblem::ShapeMismatch,
            format!(
                "sequence graph: {what}; the contract is one int64 input {:?} [1, {len}] \
                 (manifest sequence.input, sequence.max_len) and one float32 output {:?} [1, d]",
                short(&spec.input),
                short(&spec.output)
            ),
        )
    };
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !graph.initializer.iter().any(|t| t.name == i.name))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(mismatch(format!("it has {} inputs", inputs.len())));
    };
    if input.name != spec.input {
        return Err(mismatch(format!("its input is {:?}", short(&input.name))));
    }
    let Some((elem, shape)) = dims(input) else {
        return Err(mismatch("its input is not a tensor".into()));
    };
    if elem != INT64 {
        return Err(mismatch(format!(
            "its input has element type {elem}, not int64"
        )));
    }
    if let Some(shape) = shape {
        let fits =
            |d: &pb::tensor_shape_proto::Dimension, want: i64| fixed(d).is_none_or(|v| v == want);
        let ok = matches!(shape.as_slice(), [b, l] if fits(b, 1) && fits(l, len as i64));
        if !ok {
            return Err(mismatch("its input has another shape".into()));
        }
    }
    let [output] = graph.output.as_slice() else {
        return Err(mismatch(format!("it has {} outputs", graph.output.len())));
    };
    if output.name != spec.output {
        return Err(mismatch(format!("its output is {:?}", short(&output.name))));
    }
    let table = graph
        .initializer
        .iter()
        .find(|t| t.name == spec.item_table)
        .ok_or_else(|| {
            mismatch(format!(
                "it has no initializer {:?} (manifest sequence.item_table) to score items with",
                short(&spec.item_table)
            ))
        })?;
    if table.data_type != FLOAT || table.dims.len() != 2 {
        return Err(mismatch(format!(
            "its item table {:?} is not a float32 [rows, d] matrix",
            short(&spec.item_table)
        )));
    }
    Ok(())
}
