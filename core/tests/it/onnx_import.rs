//! Tailor's ONNX importer (core/src/model/onnx) scores like tract-onnx, the reference it replaced,
//! on every operator of the model contract: each case is a small ranking graph
//! `features [N, 3] → the operator(s) → score [N]`, validated and scored through the public
//! model API, and run by tract-onnx (a test-only dependency) on the same bytes.

use crate::model_safety::{f32_init, i64_init, int_attr, manifest, node, Graph};
use tailor::engine::model::{validate, Validated};
use tract_onnx::pb;

const ROWS: usize = 7;

/// Seven rows of three features: negatives, zero, fractions, values above one.
fn features() -> Vec<f32> {
    (0..ROWS * 3)
        .map(|i| ((i * 37 % 19) as f32 - 9.0) / 4.0)
        .collect()
}

fn attr(n: pb::NodeProto, a: pb::AttributeProto) -> pb::NodeProto {
    let mut n = n;
    n.attribute.push(a);
    n
}

fn float_attr(n: pb::NodeProto, name: &str, f: f32) -> pb::NodeProto {
    attr(
        n,
        pb::AttributeProto {
            name: name.into(),
            r#type: 1,
            f,
            ..Default::default()
        },
    )
}

fn ints_attr(n: pb::NodeProto, name: &str, ints: &[i64]) -> pb::NodeProto {
    attr(
        n,
        pb::AttributeProto {
            name: name.into(),
            r#type: 7,
            ints: ints.to_vec(),
            ..Default::default()
        },
    )
}

fn tensor_attr(n: pb::NodeProto, name: &str, t: pb::TensorProto) -> pb::NodeProto {
    attr(
        n,
        pb::AttributeProto {
            name: name.into(),
            r#type: 4,
            t: Some(t),
            ..Default::default()
        },
    )
}

fn scalar(name: &str, v: f32) -> pb::TensorProto {
    f32_init(name, &[], &[v])
}

fn i64_scalar(name: &str, v: i64) -> pb::TensorProto {
    pb::TensorProto {
        dims: vec![],
        ..i64_init(name, &[v])
    }
}

/// Constants every case may use.
fn shared() -> Vec<pb::TensorProto> {
    vec![
        i64_init("axis1", &[1]),
        i64_init("axis0", &[0]),
        f32_init("c3", &[3], &[0.5, -1.5, 2.0]),
        f32_init("pos3", &[3], &[0.5, 4.0, 2.0]),
        f32_init("c13", &[1, 3], &[-0.25, 0.75, 1.25]),
        scalar("one", 1.0),
        scalar("two", 2.0),
        scalar("zero", 0.0),
    ]
}

/// `y` [N, k] summed over its columns into `out` [N, 1].
fn sum_rows(y: &str) -> pb::NodeProto {
    node("ReduceSum", &[y, "axis1"], &["out"])
}

/// Cast `y` to float, then sum its columns.
fn cast_sum(y: &str) -> Vec<pb::NodeProto> {
    vec![
        int_attr(node("Cast", &[y], &["yf"]), "to", 1),
        sum_rows("yf"),
    ]
}

struct Case {
    name: String,
    graph: Graph,
}

fn case(name: impl Into<String>, nodes: Vec<pb::NodeProto>) -> Case {
    case_with(name, nodes, vec![], 13)
}

fn case_with(
    name: impl Into<String>,
    nodes: Vec<pb::NodeProto>,
    inits: Vec<pb::TensorProto>,
    opset: i64,
) -> Case {
    let mut all = shared();
    all.extend(inits);
    Case {
        name: name.into(),
        graph: Graph::linear()
            .ending_with(nodes, "out")
            .with_inits(all)
            .with_opset(opset),
    }
}

fn elementwise() -> Vec<Case> {
    let mut cases = vec![];
    for op in [
        "Abs", "Ceil", "Floor", "Neg", "Sigmoid", "Tanh", "Erf", "Sign", "Relu", "Softplus",
        "Identity", "Dropout",
    ] {
        cases.push(case(
            op,
            vec![node(op, &["features"], &["y"]), sum_rows("y")],
        ));
    }
    for op in ["Sqrt", "Log", "Reciprocal"] {
        cases.push(case(
            op,
            vec![
                node("Abs", &["features"], &["a"]),
                node("Add", &["a", "one"], &["p"]),
                node(op, &["p"], &["y"]),
                sum_rows("y"),
            ],
        ));
    }
    cases.push(case(
        "Exp",
        vec![
            node("Tanh", &["features"], &["t"]),
            node("Exp", &["t"], &["y"]),
            sum_rows("y"),
        ],
    ));
    for op in ["Add", "Sub", "Mul", "Max", "Min"] {
        cases.push(case(
            format!("{op} [3]"),
            vec![node(op, &["features", "c3"], &["y"]), sum_rows("y")],
        ));
        cases.push(case(
            format!("{op} scalar"),
            vec![node(op, &["two", "features"], &["y"]), sum_rows("y")],
        ));
    }
    cases.push(case(
        "Div",
        vec![node("Div", &["features", "pos3"], &["y"]), sum_rows("y")],
    ));
    cases.push(case(
        "Sum of three",
        vec![
            node("Sum", &["features", "c3", "c13"], &["y"]),
            sum_rows("y"),
        ],
    ));
    cases.push(case(
        "Mean of two",
        vec![node("Mean", &["features", "c13"], &["y"]), sum_rows("y")],
    ));
    cases.push(case(
        "Max of three",
        vec![
            node("Max", &["features", "c3", "c13"], &["y"]),
            sum_rows("y"),
        ],
    ));
    cases.push(case_with(
        "Pow float and int exponents",
        vec![
            node("Abs", &["features"], &["a"]),
            node("Pow", &["a", "two"], &["p"]),
            node("Pow", &["a", "three"], &["q"]),
            node("Add", &["p", "q"], &["y"]),
            sum_rows("y"),
        ],
        vec![i64_scalar("three", 3)],
        13,
    ));
    for op in ["Less", "Greater", "Equal", "LessOrEqual", "GreaterOrEqual"] {
        let mut nodes = vec![node(op, &["features", "c3"], &["bo"])];
        nodes.extend(cast_sum("bo"));
        cases.push(case(op, nodes));
    }
    cases.push(case_with(
        "Equal on int64",
        {
            let mut n = vec![
                int_attr(node("Cast", &["features"], &["i"]), "to", 7),
                node("Equal", &["i", "minus2"], &["bo"]),
            ];
            n.extend(cast_sum("bo"));
            n
        },
        vec![i64_init("minus2", &[-2])],
        13,
    ));
    for op in ["And", "Or", "Xor"] {
        let mut nodes = vec![
            node("Less", &["features", "c3"], &["l"]),
            node("Greater", &["features", "zero"], &["g"]),
            node(op, &["l", "g"], &["bo"]),
        ];
        nodes.extend(cast_sum("bo"));
        cases.push(case(op, nodes));
    }
    let mut not = vec![
        node("Less", &["features", "c3"], &["l"]),
        node("Not", &["l"], &["bo"]),
    ];
    not.extend(cast_sum("bo"));
    cases.push(case("Not", not));
    cases.push(case(
        "Where",
        vec![
            node("Less", &["features", "c3"], &["l"]),
            node("Where", &["l", "features", "c13"], &["y"]),
            sum_rows("y"),
        ],
    ));
    cases
}

fn activations() -> Vec<Case> {
    vec![
        case(
            "LeakyRelu",
            vec![
                float_attr(node("LeakyRelu", &["features"], &["y"]), "alpha", 0.1),
                sum_rows("y"),
            ],
        ),
        case(
            "Elu",
            vec![
                float_attr(node("Elu", &["features"], &["y"]), "alpha", 0.7),
                sum_rows("y"),
            ],
        ),
        case(
            "Selu",
            vec![node("Selu", &["features"], &["y"]), sum_rows("y")],
        ),
        case(
            "HardSigmoid",
            vec![
                float_attr(
                    float_attr(node("HardSigmoid", &["features"], &["y"]), "alpha", 0.3),
                    "beta",
                    0.4,
                ),
                sum_rows("y"),
            ],
        ),
        case(
            "PRelu",
            vec![node("PRelu", &["features", "c3"], &["y"]), sum_rows("y")],
        ),
        case_with(
            "Clip both bounds",
            vec![
                node("Clip", &["features", "lo", "hi"], &["y"]),
                sum_rows("y"),
            ],
            vec![scalar("lo", -0.5), scalar("hi", 1.0)],
            13,
        ),
        case_with(
            "Clip upper bound only",
            vec![node("Clip", &["features", "", "hi"], &["y"]), sum_rows("y")],
            vec![scalar("hi", 1.0)],
            13,
        ),
        case(
            "Softmax",
            vec![
                int_attr(node("Softmax", &["features"], &["s"]), "axis", 1),
                node("Mul", &["s", "c3"], &["y"]),
                sum_rows("y"),
            ],
        ),
        case(
            "LogSoftmax",
            vec![
                node("LogSoftmax", &["features"], &["s"]),
                node("Mul", &["s", "c3"], &["y"]),
                sum_rows("y"),
            ],
        ),
    ]
}

fn layers() -> Vec<Case> {
    let mut cases = vec![case_with(
        "Gemm transB alpha beta",
        vec![
            float_attr(
                float_attr(
                    int_attr(
                        node("Gemm", &["features", "w23", "bias2"], &["y"]),
                        "transB",
                        1,
                    ),
                    "alpha",
                    0.5,
                ),
                "beta",
                2.0,
            ),
            sum_rows("y"),
        ],
        vec![
            f32_init("w23", &[2, 3], &[1.0, -2.0, 0.5, 0.25, 0.0, 3.0]),
            f32_init("bias2", &[2], &[0.1, -0.3]),
        ],
        13,
    )];
    cases.push(case_with(
        "MatMul batched and 1-D",
        vec![
            node("Unsqueeze", &["features", "axis1"], &["f3"]),
            node("MatMul", &["f3", "w32"], &["m"]),
            node("Squeeze", &["m", "axis1"], &["m2"]),
            node("MatMul", &["m2", "v2"], &["v"]),
            node("Unsqueeze", &["v", "axis1"], &["out"]),
        ],
        vec![
            f32_init("w32", &[3, 2], &[1.0, -2.0, 0.5, 0.25, 0.0, 3.0]),
            f32_init("v2", &[2], &[0.7, -0.2]),
        ],
        13,
    ));
    for op in [
        "ReduceMean",
        "ReduceMax",
        "ReduceMin",
        "ReduceProd",
        "ReduceL2",
    ] {
        cases.push(case(
            format!("{op} keepdims"),
            vec![ints_attr(node(op, &["features"], &["out"]), "axes", &[1])],
        ));
        cases.push(case(
            format!("{op} no keepdims"),
            vec![
                int_attr(
                    ints_attr(node(op, &["features"], &["r"]), "axes", &[-1]),
                    "keepdims",
                    0,
                ),
                node("Unsqueeze", &["r", "axis1"], &["out"]),
            ],
        ));
        cases.push(case_with(
            format!("{op} opset 18 axes input"),
            vec![node(op, &["features", "axis1"], &["out"])],
            vec![],
            18,
        ));
    }
    cases.push(case(
        "ReduceSum no keepdims",
        vec![
            int_attr(
                node("ReduceSum", &["features", "axis1"], &["r"]),
                "keepdims",
                0,
            ),
            node("Unsqueeze", &["r", "axis1"], &["out"]),
        ],
    ));
    let mut argmax = vec![int_attr(
        int_attr(node("ArgMax", &["features"], &["i"]), "axis", 1),
        "keepdims",
        1,
    )];
    argmax.extend(cast_sum("i"));
    cases.push(case("ArgMax", argmax));
    let mut argmin = vec![
        int_attr(
            int_attr(
                int_attr(node("ArgMin", &["features"], &["i"]), "axis", -1),
                "keepdims",
                0,
            ),
            "select_last_index",
            1,
        ),
        node("Unsqueeze", &["i", "axis1"], &["i1"]),
    ];
    argmin.extend(cast_sum("i1"));
    cases.push(case("ArgMin last index", argmin));
    cases.push(case(
        "BatchNormalization",
        vec![
            node(
                "BatchNormalization",
                &["features", "pos3", "c3", "c3", "pos3"],
                &["y"],
            ),
            sum_rows("y"),
        ],
    ));
    cases.push(case_with(
        "LayerNormalization",
        vec![
            node("LayerNormalization", &["features", "pos3", "c3"], &["n"]),
            node("Mul", &["n", "c13"], &["y"]),
            sum_rows("y"),
        ],
        vec![],
        17,
    ));
    cases
}

fn shapes() -> Vec<Case> {
    let mut cases = vec![case_with(
        "PyTorch flatten: Shape, Gather, Unsqueeze, Concat, Reshape",
        vec![
            node("Shape", &["features"], &["s"]),
            node("Gather", &["s", "idx0"], &["n"]),
            node("Unsqueeze", &["n", "axis0"], &["n1"]),
            int_attr(node("Concat", &["n1", "minus1"], &["shp"]), "axis", 0),
            node("Reshape", &["features", "shp"], &["y"]),
            sum_rows("y"),
        ],
        vec![i64_scalar("idx0", 0), i64_init("minus1", &[-1])],
        13,
    )];
    cases.push(case_with(
        "Reshape with 0 and Flatten",
        vec![
            node("Reshape", &["features", "shape031"], &["r"]),
            int_attr(node("Flatten", &["r"], &["y"]), "axis", 1),
            sum_rows("y"),
        ],
        vec![i64_init("shape031", &[0, 3, 1])],
        13,
    ));
    cases.push(case_with(
        "Transpose and Squeeze",
        vec![
            node("Unsqueeze", &["features", "axis2"], &["u"]),
            ints_attr(node("Transpose", &["u"], &["t"]), "perm", &[0, 2, 1]),
            node("Squeeze", &["t", "axis1"], &["s"]),
            node("Mul", &["s", "c3"], &["y"]),
            sum_rows("y"),
        ],
        vec![i64_init("axis2", &[2])],
        13,
    ));
    cases.push(case(
        "Concat",
        vec![
            int_attr(node("Concat", &["features", "lin"], &["c"]), "axis", 1),
            sum_rows("c"),
        ],
    ));
    cases.push(case_with(
        "Split",
        vec![
            int_attr(
                node("Split", &["features", "sizes"], &["sa", "sb"]),
                "axis",
                1,
            ),
            node("ReduceSum", &["sb", "axis1"], &["bs"]),
            node("Mul", &["sa", "two"], &["a2"]),
            node("Add", &["a2", "bs"], &["out"]),
        ],
        vec![i64_init("sizes", &[1, 2])],
        13,
    ));
    cases.push(case_with(
        "Slice",
        vec![
            node("Slice", &["features", "s0", "e_1", "axis1"], &["y"]),
            sum_rows("y"),
        ],
        vec![i64_init("s0", &[0]), i64_init("e_1", &[-1])],
        13,
    ));
    cases.push(case_with(
        "Slice reversed with a step",
        vec![
            node(
                "Slice",
                &["features", "s2", "e_big", "axis1", "step_1"],
                &["r"],
            ),
            node("Mul", &["r", "c3"], &["y"]),
            sum_rows("y"),
        ],
        vec![
            i64_init("s2", &[2]),
            i64_init("e_big", &[i64::MIN]),
            i64_init("step_1", &[-1]),
        ],
        13,
    ));
    cases.push(case_with(
        "Gather columns",
        vec![
            int_attr(node("Gather", &["features", "cols"], &["g"]), "axis", 1),
            node("Mul", &["g", "w2"], &["y"]),
            sum_rows("y"),
        ],
        vec![
            i64_init("cols", &[2, 0, -1]),
            f32_init("w2", &[3], &[1.0, -3.0, 0.5]),
        ],
        13,
    ));
    cases.push(case(
        "GatherElements of ArgMax",
        vec![
            int_attr(node("ArgMax", &["features"], &["i"]), "axis", 1),
            int_attr(
                node("GatherElements", &["features", "i"], &["out"]),
                "axis",
                1,
            ),
        ],
    ));
    cases.push(case_with(
        "Expand",
        vec![
            node("Expand", &["lin", "shape13"], &["e"]),
            node("Mul", &["e", "c3"], &["y"]),
            sum_rows("y"),
        ],
        vec![i64_init("shape13", &[1, 3])],
        13,
    ));
    cases.push(case(
        "Expand to the input's shape",
        vec![
            node("Shape", &["features"], &["s"]),
            node("Expand", &["lin", "s"], &["e"]),
            node("Mul", &["e", "c3"], &["y"]),
            sum_rows("y"),
        ],
    ));
    cases.push(case_with(
        "Tile",
        vec![
            node("Tile", &["lin", "reps"], &["t"]),
            node("Mul", &["t", "c3"], &["y"]),
            sum_rows("y"),
        ],
        vec![i64_init("reps", &[1, 3])],
        13,
    ));
    cases.push(case_with(
        "ConstantOfShape",
        vec![
            tensor_attr(
                node("ConstantOfShape", &["shape13"], &["k"]),
                "value",
                f32_init("", &[1], &[2.5]),
            ),
            node("Add", &["features", "k"], &["y"]),
            sum_rows("y"),
        ],
        vec![i64_init("shape13", &[1, 3])],
        13,
    ));
    cases.push(case_with(
        "Range",
        vec![
            node("Range", &["zero", "three", "one"], &["r"]),
            node("Mul", &["features", "r"], &["y"]),
            sum_rows("y"),
        ],
        vec![scalar("three", 3.0)],
        13,
    ));
    cases.push(case(
        "Constant",
        vec![
            tensor_attr(
                node("Constant", &[], &["k"]),
                "value",
                f32_init("", &[3], &[3.0, 0.5, -1.0]),
            ),
            node("Mul", &["features", "k"], &["y"]),
            sum_rows("y"),
        ],
    ));
    cases
}

/// tract-onnx's scores for `rows` feature rows.
fn reference(bytes: &[u8], features: &[f32], rows: usize) -> Vec<f32> {
    use tract_onnx::prelude::*;
    let plan = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .and_then(|m| m.with_input_fact(0, f32::fact([rows, 3]).into()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .unwrap();
    let input = Tensor::from_shape(&[rows, 3], features).unwrap();
    let out = plan.run(tvec!(input.into_tvalue())).unwrap();
    let view = out[0].try_as_plain_ram().unwrap();
    view.as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn every_contract_operator_scores_like_tract_onnx() {
    let cases: Vec<Case> = [elementwise(), activations(), layers(), shapes()]
        .into_iter()
        .flatten()
        .collect();
    let x = features();
    let mut failures = vec![];
    for c in &cases {
        let bytes = c.graph.bytes();
        let got = match validate(&bytes, &manifest(&bytes, ""), &[]) {
            Ok(Validated { runtime, .. }) => runtime.score(&x, ROWS),
            Err(e) => Err(e),
        };
        let Ok(want) = std::panic::catch_unwind(|| reference(&bytes, &x, ROWS)) else {
            failures.push(format!("{}: the reference failed", c.name));
            continue;
        };
        match got {
            Ok(got) => {
                let close = got.len() == want.len()
                    && got
                        .iter()
                        .zip(&want)
                        .all(|(a, b)| (a - b).abs() <= 1e-5 * (1.0 + b.abs()));
                if !close {
                    failures.push(format!("{}: {got:?} != {want:?}", c.name));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", c.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every operator of the contract has a case (Gelu is opset 20, beyond the contract's 18:
    // tract-onnx cannot run it, so it has its own test below).
    let used: std::collections::BTreeSet<String> = cases
        .iter()
        .flat_map(|c| c.name.split([' ', ':', ',']).map(str::to_string))
        .chain(cases.iter().flat_map(|c| c.graph_ops()))
        .collect();
    let missing: Vec<&&str> = tailor::engine::model::OPERATORS
        .iter()
        .filter(|op| **op != "Gelu" && !used.contains(**op))
        .collect();
    assert!(missing.is_empty(), "operators without a case: {missing:?}");
}

impl Case {
    fn graph_ops(&self) -> Vec<String> {
        use prost::Message;
        let proto = pb::ModelProto::decode(&self.graph.bytes()[..]).unwrap();
        proto
            .graph
            .unwrap()
            .node
            .iter()
            .map(|n| n.op_type.clone())
            .collect()
    }
}

/// erf to 1.5e-7 (Abramowitz and Stegun 7.1.26), enough for a 1e-5 comparison.
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x < 0.0 {
        -y
    } else {
        y
    }
}

fn string_attr(n: pb::NodeProto, name: &str, s: &str) -> pb::NodeProto {
    attr(
        n,
        pb::AttributeProto {
            name: name.into(),
            r#type: 3,
            s: s.as_bytes().to_vec(),
            ..Default::default()
        },
    )
}

fn scores(c: &Case) -> Result<Vec<f32>, tailor::engine::Error> {
    let bytes = c.graph.bytes();
    let Validated { runtime, .. } = validate(&bytes, &manifest(&bytes, ""), &[])?;
    runtime.score(&features(), ROWS)
}

/// Gelu is in the contract but only in ONNX opset 20 (tract-onnx 0.23 cannot run it): checked
/// against its formula, exact and tanh-approximated.
#[test]
fn gelu_scores_its_formula() {
    let exact = |x: f64| 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2));
    let tanh = |x: f64| {
        let k = (2.0 / std::f64::consts::PI).sqrt();
        0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())
    };
    for (approximate, f) in [("none", &exact as &dyn Fn(f64) -> f64), ("tanh", &tanh)] {
        let c = case_with(
            format!("Gelu {approximate}"),
            vec![
                string_attr(
                    node("Gelu", &["features"], &["y"]),
                    "approximate",
                    approximate,
                ),
                sum_rows("y"),
            ],
            vec![],
            18,
        );
        let got = scores(&c).unwrap();
        let want: Vec<f64> = features()
            .chunks(3)
            .map(|row| row.iter().map(|&x| f(x as f64)).sum())
            .collect();
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (*g as f64 - w).abs() < 1e-5,
                "{approximate}: {got:?} vs {want:?}"
            );
        }
    }
}

/// What the importer cannot take is refused with the kind of problem and a message that says
/// what to change, never with a panic or a wrong answer.
#[test]
fn what_the_importer_cannot_take_is_refused_with_the_reason() {
    use tailor::ModelProblem::*;
    let cases = [
        (
            case_with(
                "Gelu with an unknown approximation",
                vec![
                    string_attr(node("Gelu", &["features"], &["y"]), "approximate", "fast"),
                    sum_rows("y"),
                ],
                vec![],
                18,
            ),
            UnsupportedOperator,
            "approximate=\"fast\" is not supported",
        ),
        (
            case_with(
                "Dropout in training mode",
                vec![
                    node("Dropout", &["features", "", "training"], &["y"]),
                    sum_rows("y"),
                ],
                vec![pb::TensorProto {
                    name: "training".into(),
                    data_type: 9,
                    int32_data: vec![1],
                    ..Default::default()
                }],
                13,
            ),
            UnsupportedOperator,
            "training mode is not supported",
        ),
        (
            case(
                "BatchNormalization with statistics computed at run time",
                vec![
                    node("Gather", &["features", "row0"], &["mean"]),
                    node(
                        "BatchNormalization",
                        &["features", "pos3", "c3", "mean", "pos3"],
                        &["y"],
                    ),
                    sum_rows("y"),
                ],
            )
            .with_extra(vec![i64_scalar("row0", 0)]),
            UnsupportedOperator,
            "computed at run time",
        ),
        (
            case_with(
                "Slice with a step along the batch",
                vec![
                    node(
                        "Slice",
                        &["features", "s0", "e_big", "axis0", "two_i"],
                        &["y"],
                    ),
                    sum_rows("y"),
                ],
                vec![
                    i64_init("s0", &[0]),
                    i64_init("e_big", &[i64::MAX]),
                    i64_init("two_i", &[2]),
                ],
                13,
            ),
            UnsupportedOperator,
            "along the batch dimension is not supported",
        ),
        (
            case_with(
                "shapes that do not broadcast",
                vec![node("Add", &["features", "c4"], &["y"]), sum_rows("y")],
                vec![f32_init("c4", &[4], &[1.0, 2.0, 3.0, 4.0])],
                13,
            ),
            ShapeMismatch,
            "do not broadcast",
        ),
        (
            case(
                "a value produced twice",
                vec![
                    node("Abs", &["features"], &["y"]),
                    node("Neg", &["features"], &["y"]),
                    sum_rows("y"),
                ],
            ),
            NotOnnx,
            "\"y\" is produced twice",
        ),
        (
            case(
                "a value used before it is produced",
                vec![
                    node("Abs", &["later"], &["y"]),
                    node("Neg", &["features"], &["later"]),
                    sum_rows("y"),
                ],
            ),
            NotOnnx,
            "\"later\" is used before any node produces it",
        ),
        (
            case_with(
                "a Range of a billion elements",
                vec![
                    node("Range", &["zero", "billion", "one"], &["r"]),
                    node("ReduceSum", &["r"], &["s"]),
                    node("Add", &["lin", "s"], &["out"]),
                ],
                vec![scalar("billion", 1e9)],
                13,
            ),
            OverBudget,
            "over the limit",
        ),
        (
            case_with(
                "a Slice that selects nothing",
                vec![
                    node("Slice", &["features", "s2", "e1", "axis1"], &["none"]),
                    node("ReduceSum", &["none", "axis1"], &["zeros"]),
                    node("Add", &["lin", "zeros"], &["out"]),
                ],
                vec![i64_init("s2", &[2]), i64_init("e1", &[1])],
                13,
            ),
            UnsupportedOperator,
            "selects nothing",
        ),
        (
            case_with(
                "an Unsqueeze to rank 22",
                vec![
                    node("Unsqueeze", &["features", "many_axes"], &["u"]),
                    node("ReduceSum", &["u"], &["s"]),
                    node("Add", &["lin", "s"], &["out"]),
                ],
                vec![i64_init("many_axes", &(2..22).collect::<Vec<i64>>())],
                13,
            ),
            UnsupportedOperator,
            "rank 22 is not supported",
        ),
        (
            case_with(
                "a Gather index out of range",
                vec![
                    int_attr(node("Gather", &["features", "cols"], &["y"]), "axis", 1),
                    sum_rows("y"),
                ],
                vec![i64_init("cols", &[0, 3])],
                13,
            ),
            ShapeMismatch,
            "index 3 is out of range",
        ),
    ];
    for (c, problem, words) in cases {
        let bytes = c.graph.bytes();
        match validate(&bytes, &manifest(&bytes, ""), &[]).map(|_| ()) {
            Err(e) => match tailor::TailorError::from(e) {
                tailor::TailorError::ModelRejected {
                    problem: got,
                    message,
                } => {
                    assert_eq!(got, problem, "{}: {message}", c.name);
                    assert!(message.contains(words), "{}: {message}", c.name);
                }
                other => panic!("{}: {other:?}", c.name),
            },
            Ok(()) => panic!("{}: accepted", c.name),
        }
    }
}

impl Case {
    fn with_extra(mut self, inits: Vec<pb::TensorProto>) -> Case {
        self.graph = self.graph.with_inits(inits);
        self
    }
}
