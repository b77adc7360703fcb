//! `tailor bench-deadline`: rank the whole catalog with a deliberately slow model, first with no
//! deadline, then with one, in the same run, and print the latency percentiles side by side with
//! how much of each page the model still scored (issue 18.3).

use crate::bench::{catalog, events};
use crate::CliResult;
use prost::Message;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::time::Instant;
use tailor::{Fallback, RankRequest, Tailor, TailorConfig};
use tract_onnx::pb;

#[derive(clap::Args)]
pub struct Args {
    /// Catalog size; every call ranks the whole in-stock catalog.
    #[arg(long, default_value_t = 4_000)]
    items: usize,
    /// Rank calls per column.
    #[arg(long, default_value_t = 300)]
    ranks: usize,
    /// The deadline of the second column, in milliseconds.
    #[arg(long, default_value_t = 20)]
    deadline_ms: u32,
    /// Width of the slow model's hidden layer: about width^2 multiply-adds per candidate.
    #[arg(long, default_value_t = 1024)]
    hidden: i64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

fn tensor_value(name: &str, dims: &[Option<i64>]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: 1,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            value: Some(match d {
                                Some(v) => Value::DimValue(*v),
                                None => Value::DimParam("N".into()),
                            }),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

/// A weight tensor of `shape` filled with `value`, made by ConstantOfShape so the file stays
/// a few hundred bytes however wide the model is.
fn filled(shape: &str, out: &str, value: f32) -> pb::NodeProto {
    let mut n = node("ConstantOfShape", &[shape], out);
    n.attribute.push(pb::AttributeProto {
        name: "value".into(),
        r#type: 4,
        t: Some(pb::TensorProto {
            name: "v".into(),
            dims: vec![1],
            data_type: 1,
            float_data: vec![value],
            ..Default::default()
        }),
        ..Default::default()
    });
    n
}

fn shape(name: &str, dims: &[i64]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: vec![dims.len() as i64],
        data_type: 7,
        int64_data: dims.to_vec(),
        ..Default::default()
    }
}

/// score = Reshape(Relu(Relu(features @ W1) @ W2) @ W3, [-1]) with W2 [hidden, hidden]: a
/// valid model whose cost is all in one wide matmul (hidden^2 multiply-adds per candidate).
fn slow_model(hidden: i64) -> (Vec<u8>, String) {
    let nodes = vec![
        filled("s1", "w1", 0.01),
        filled("s2", "w2", 0.001),
        filled("s3", "w3", 0.01),
        node("MatMul", &["features", "w1"], "h1"),
        node("Relu", &["h1"], "r1"),
        node("MatMul", &["r1", "w2"], "h2"),
        node("Relu", &["h2"], "r2"),
        node("MatMul", &["r2", "w3"], "lin"),
        node("Reshape", &["lin", "shape_n"], "score"),
    ];
    let bytes = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(pb::GraphProto {
            name: "slow".into(),
            node: nodes,
            initializer: vec![
                shape("s1", &[3, hidden]),
                shape("s2", &[hidden, hidden]),
                shape("s3", &[hidden, 1]),
                shape("shape_n", &[-1]),
            ],
            input: vec![tensor_value("features", &[None, Some(3)])],
            output: vec![tensor_value("score", &[None])],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec();
    let manifest = serde_json::json!({
        "name": "slow-ranker",
        "version": "1",
        "features": ["bought_count", "affinity_category", "item_popularity"],
        "sha256": tailor::engine::model::sha256_hex(&bytes),
    });
    (bytes, manifest.to_string())
}

#[derive(serde::Serialize, Default)]
struct Column {
    deadline_ms: Option<u32>,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Calls flagged DeadlineExceeded.
    cut_short: usize,
    /// Mean share of candidates the model scored.
    scored_share: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn column(t: &Tailor, ranks: usize, deadline_ms: Option<u32>) -> CliResult<Column> {
    let mut times = Vec::with_capacity(ranks);
    let (mut cut_short, mut scored) = (0, 0.0);
    for _ in 0..ranks {
        let started = Instant::now();
        let r = t.rank(RankRequest {
            limit: 20,
            deadline_ms,
            ..Default::default()
        })?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        match r.fallback {
            Some(Fallback::DeadlineExceeded {
                scored: s,
                candidates,
            }) => {
                cut_short += 1;
                scored += s as f64 / candidates.max(1) as f64;
            }
            None => scored += 1.0,
            Some(other) => return Err(format!("unexpected fallback {other:?}").into()),
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(Column {
        deadline_ms,
        p50_ms: percentile(&times, 0.50),
        p95_ms: percentile(&times, 0.95),
        p99_ms: percentile(&times, 0.99),
        max_ms: percentile(&times, 1.0),
        cut_short,
        scored_share: scored / ranks as f64,
    })
}

pub fn run(args: Args) -> CliResult {
    let dir = std::env::temp_dir().join(format!("tailor-bench-deadline-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let t = Tailor::open(TailorConfig {
        // The slow model is the point; the guard's latency check would roll it back.
        model_guard: false,
        model_max_ms_per_1000: 10_000,
        ..TailorConfig::new(dir.display().to_string())
    })?;
    let mut rng = SmallRng::seed_from_u64(7);
    t.upsert_items(catalog(&mut rng, args.items))?;
    t.track_batch(events(&mut rng, 500, args.items, 1_700_000_000))?;
    let (bytes, manifest) = slow_model(args.hidden);
    t.load_model_bytes(bytes, manifest)?;
    while !t.model_batch_plans_ready() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    column(&t, 10, None)?; // warm-up
    let free = column(&t, args.ranks, None)?;
    let bounded = column(&t, args.ranks, Some(args.deadline_ms))?;
    t.close();
    let _ = std::fs::remove_dir_all(&dir);
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "no_deadline": free, "deadline": bounded })
        );
        return Ok(());
    }
    println!(
        "rank the whole catalog ({} items, limit 20) with slow-ranker (hidden {}, ~{:.1} M \
         multiply-adds per candidate), {} calls per column",
        args.items,
        args.hidden,
        (args.hidden * args.hidden + 4 * args.hidden) as f64 / 1e6,
        args.ranks
    );
    println!(
        "{:<22} {:>14} {:>16}",
        "",
        "no deadline",
        format!("deadline {} ms", args.deadline_ms)
    );
    let row = |name: &str, a: String, b: String| println!("{name:<22} {a:>14} {b:>16}");
    for (name, a, b) in [
        ("p50 ms", free.p50_ms, bounded.p50_ms),
        ("p95 ms", free.p95_ms, bounded.p95_ms),
        ("p99 ms", free.p99_ms, bounded.p99_ms),
        ("max ms", free.max_ms, bounded.max_ms),
    ] {
        row(name, format!("{a:.1}"), format!("{b:.1}"));
    }
    row(
        "cut short (calls)",
        free.cut_short.to_string(),
        bounded.cut_short.to_string(),
    );
    row(
        "scored by the model",
        format!("{:.0}%", free.scored_share * 100.0),
        format!("{:.0}%", bounded.scored_share * 100.0),
    );
    Ok(())
}
