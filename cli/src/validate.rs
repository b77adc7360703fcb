//! `tailor validate-model MANIFEST`

use crate::CliResult;
use std::path::Path;
use std::time::Instant;
use tailor::model::registry::load_from_manifest;

pub fn run(manifest: &Path) -> CliResult {
    let started = Instant::now();
    let model = load_from_manifest(manifest, &[]).map_err(tailor::TailorError::from)?;
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
        "  signed    {}",
        if m.signature.is_some() { "yes" } else { "no" }
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
        "  load      {:.1} ms (parse, optimize, probe)",
        took.as_secs_f64() * 1e3
    );
    println!(
        "  score     {:.0} µs per 1,000 candidates (mean of {runs})",
        t.elapsed().as_secs_f64() * 1e6 / runs as f64
    );
    Ok(())
}
