//! `tailor validate-model MANIFEST [--max-ms-per-1000 ..]`

use crate::CliResult;
use std::path::PathBuf;
use std::time::Instant;
use tailor::engine::model::load_from_manifest_with;
use tailor::engine::model::ModelBudget;
use tailor::engine::model::{MODEL_FMA_PER_ROW, MODEL_MB_PER_1000, MODEL_MS_PER_1000};

#[derive(clap::Args)]
pub struct Args {
    /// Path to manifest.json (model.onnx beside it).
    manifest: PathBuf,
    /// Budget: probe scoring time per 1,000 candidates (TailorConfig model_max_ms_per_1000).
    #[arg(long, default_value_t = MODEL_MS_PER_1000)]
    max_ms_per_1000: u32,
    /// Budget: tensor memory per 1,000 candidates, MB (TailorConfig model_max_mb_per_1000).
    #[arg(long, default_value_t = MODEL_MB_PER_1000)]
    max_mb_per_1000: u32,
    /// Budget: multiply-adds per candidate (TailorConfig model_max_fma_per_row).
    #[arg(long, default_value_t = MODEL_FMA_PER_ROW)]
    max_fma_per_row: u32,
}

pub fn run(args: Args) -> CliResult {
    let budget = ModelBudget {
        max_ms_per_1000: args.max_ms_per_1000 as f64,
        max_mb_per_1000: args.max_mb_per_1000 as f64,
        max_fma_per_row: args.max_fma_per_row as f64,
    };
    let started = Instant::now();
    let model =
        load_from_manifest_with(&args.manifest, &[], &budget).map_err(tailor::TailorError::from)?;
    let took = started.elapsed();
    let m = &model.manifest;
    println!("ok: {} version {} would load", m.name, m.version);
    println!("  sha256    {}", m.sha256);
    println!(
        "  features  {} ({})",
        m.features.len(),
        m.features.join(", ")
    );
    println!(
        "  io        input {:?} [N, {}] -> output {:?}",
        m.inputs.features,
        m.features.len(),
        m.output
    );
    println!(
        "  ranges    {} of {} features from the manifest, the rest probed over -10..10",
        m.ranges.len(),
        m.features.len()
    );
    if let (Some(spec), Some(seq)) = (&m.sequence, &model.sequence) {
        println!(
            "  sequence  {} ({} items, d={}, the last {} purchases; input {:?} -> output {:?}, item table {:?}); one run {:.2} ms (slowest probe)",
            spec.graph,
            seq.vocabulary_len(),
            seq.dim(),
            seq.max_len(),
            spec.input,
            spec.output,
            spec.item_table,
            model.cost.sequence_ms
        );
    }
    println!(
        "  signed    {}",
        if m.signature.is_some() { "yes" } else { "no" }
    );
    println!(
        "  load      {:.1} ms (parse, check, count, optimize, probe)",
        took.as_secs_f64() * 1e3
    );
    let c = &model.cost;
    println!("  budget    per 1,000 candidates (time: 1,024-row probe, checked in release builds only; memory and compute: counted at 2,048 rows)");
    println!(
        "    time    {:>10.2} ms   of {} ms (measured, symbolic plan)",
        c.ms_per_1000, budget.max_ms_per_1000
    );
    println!(
        "    memory  {:>10.2} MB   of {} MB (tensors, counted from shapes)",
        c.mb_per_1000, budget.max_mb_per_1000
    );
    println!(
        "    compute {:>10.0} FMA per candidate of {} (counted)",
        c.fma_per_row, budget.max_fma_per_row
    );
    let rows = 1000;
    let batch = vec![0.5f32; rows * m.features.len()];
    let t = Instant::now();
    let runs = 20;
    for _ in 0..runs {
        model
            .runtime
            .score(&batch, rows)
            .map_err(tailor::TailorError::from)?;
    }
    println!(
        "  score     {:.0} µs per 1,000 candidates (mean of {runs}, as rank runs it)",
        t.elapsed().as_secs_f64() * 1e6 / runs as f64
    );
    Ok(())
}
