//! `tailor bench-model`: time one model on a given feature batch, the tract half of
//! `scripts/bench-vs-onnxruntime` (which times onnxruntime on the same bytes).

use crate::CliResult;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;
use tailor::engine::model::{builtin, load_from_manifest};

#[derive(clap::Args)]
pub struct Args {
    /// The model's manifest.json (default: the built-in model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Little-endian f32 rows of the model's feature width; rows are reused cyclically.
    #[arg(long)]
    batch: PathBuf,
    /// Batch sizes to time.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    sizes: Vec<usize>,
    /// Timed runs per size (after warm-up).
    #[arg(long, default_value_t = 200)]
    runs: usize,
}

pub fn run(args: Args) -> CliResult {
    let model = match &args.model {
        Some(m) => load_from_manifest(m, &[]),
        None => builtin(),
    }
    .map_err(tailor::TailorError::from)?;
    // Time the plans ranking uses: wait for the fixed-batch plans to be built.
    let started = Instant::now();
    while !model.runtime.batch_plans_ready() && started.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let width = model.features.len();
    let bytes = std::fs::read(&args.batch)?;
    let pool: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if pool.len() < width || !pool.len().is_multiple_of(width) {
        return Err(format!(
            "{} holds {} floats, not a multiple of the width {width}",
            args.batch.display(),
            pool.len()
        )
        .into());
    }
    let mut out: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for &n in &args.sizes {
        let matrix: Vec<f32> = pool.iter().copied().cycle().take(n * width).collect();
        for _ in 0..10 {
            model
                .runtime
                .score(&matrix, n)
                .map_err(tailor::TailorError::from)?;
        }
        let runs = if n >= 10_000 {
            args.runs / 4
        } else {
            args.runs
        }
        .max(5);
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let s = model.runtime.score(&matrix, n);
                let us = t.elapsed().as_secs_f64() * 1e6;
                s.map(|_| us)
            })
            .collect::<Result<_, _>>()
            .map_err(tailor::TailorError::from)?;
        times.sort_by(f64::total_cmp);
        out.insert(
            n.to_string(),
            serde_json::json!({"p50_us": times[times.len() / 2], "runs": runs}),
        );
    }
    println!(
        "{}",
        serde_json::json!({"model": model.manifest.name, "width": width, "sizes": out})
    );
    Ok(())
}
