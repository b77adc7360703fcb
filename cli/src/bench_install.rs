//! `tailor bench-install`: rank p99 alone, then while another thread installs a large model in
//! a loop, printed side by side. Ranks run under an experiment whose variant names a model kept
//! for rollback, the path that used to wait for the registry lock an install held across its
//! file writes (issue 11.3).

use crate::bench::{catalog, events};
use crate::CliResult;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tailor::{Experiment, RankRequest, Tailor, TailorConfig, Variant};

#[derive(clap::Args)]
pub struct Args {
    /// The bundled models folder (linear-ranker and mlp-ranker are installed from it).
    #[arg(long, default_value = "models")]
    models: PathBuf,
    #[arg(long, default_value_t = 2_000)]
    items: usize,
    /// Rank calls per phase.
    #[arg(long, default_value_t = 2_000)]
    ranks: usize,
    /// Size of the model installed in a loop (MB; the mlp-ranker graph padded with a doc string).
    #[arg(long, default_value_t = 32)]
    large_mb: usize,
}

fn percentile(times: &mut [f64], p: f64) -> f64 {
    times.sort_by(f64::total_cmp);
    times[((times.len() - 1) as f64 * p).round() as usize]
}

/// The mlp-ranker graph with a `doc_string` of `mb` MB (protobuf field 6 of ModelProto; the
/// last occurrence wins), different per `seed` so each install writes a new folder.
fn large_model(
    onnx: &[u8],
    manifest: &serde_json::Value,
    mb: usize,
    seed: usize,
) -> (Vec<u8>, String) {
    let mut bytes = onnx.to_vec();
    let mut doc = vec![b'x'; mb * 1024 * 1024];
    doc[..20].copy_from_slice(format!("{seed:020}").as_bytes());
    bytes.push(0x32);
    let mut len = doc.len();
    while len >= 0x80 {
        bytes.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    bytes.push(len as u8);
    bytes.extend_from_slice(&doc);
    let mut m = manifest.clone();
    m["name"] = "large-ranker".into();
    m["sha256"] = tailor::engine::model::sha256_hex(&bytes).into();
    (bytes, m.to_string())
}

fn ranks(t: &Tailor, n: usize) -> Result<Vec<f64>, tailor::TailorError> {
    (0..n)
        .map(|_| {
            let started = Instant::now();
            t.rank(RankRequest {
                limit: 20,
                experiment: Some("bench".into()),
                ..Default::default()
            })?;
            Ok(started.elapsed().as_secs_f64() * 1e6)
        })
        .collect()
}

pub fn run(args: Args) -> CliResult {
    let dir = tempfile_dir()?;
    let t = Arc::new(Tailor::open(TailorConfig::new(dir.display().to_string()))?);
    let mut rng = SmallRng::seed_from_u64(7);
    t.upsert_items(catalog(&mut rng, args.items))?;
    t.track_batch(events(&mut rng, 500, args.items, 1_700_000_000))?;
    let path = |name: &str| args.models.join(name).display().to_string();
    t.load_model(path("linear-ranker"), None)?;
    t.load_model(path("mlp-ranker"), None)?;
    t.define_experiment(Experiment {
        key: "bench".into(),
        variants: vec![Variant {
            name: "history-model".into(),
            weight: 1.0,
            model_name: Some("linear-ranker".into()),
            exploration_rate: None,
            boosts: vec![],
        }],
    })?;
    ranks(&t, 200)?; // warm-up
    let mut alone = ranks(&t, args.ranks)?;
    let onnx = std::fs::read(args.models.join("mlp-ranker/model.onnx"))?;
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(
        args.models.join("mlp-ranker/manifest.json"),
    )?)?;
    let stop = Arc::new(AtomicBool::new(false));
    let installs = Arc::new(AtomicUsize::new(0));
    let installer = {
        let (t, stop, installs, mb) = (t.clone(), stop.clone(), installs.clone(), args.large_mb);
        std::thread::spawn(move || -> Result<(), tailor::TailorError> {
            let mut seed = 0;
            while !stop.load(Ordering::Relaxed) {
                let (bytes, json) = large_model(&onnx, &manifest, mb, seed);
                t.load_model_bytes(bytes, json)?;
                // Back to a history that still holds linear-ranker for the experiment.
                t.rollback_model()?;
                installs.fetch_add(1, Ordering::Relaxed);
                seed += 1;
            }
            Ok(())
        })
    };
    // Start measuring once the first large install is under way.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut during = ranks(&t, args.ranks)?;
    stop.store(true, Ordering::Relaxed);
    installer
        .join()
        .map_err(|_| "installer thread panicked")??;
    let n = installs.load(Ordering::Relaxed);
    println!(
        "rank (limit 20 of {} items, experiment variant on a rollback model), {} calls per column",
        args.items, args.ranks
    );
    println!(
        "{:<8} {:>12} {:>22}",
        "",
        "alone",
        format!("installing {} MB", args.large_mb)
    );
    for (label, p) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
        println!(
            "{label:<8} {:>9.0} µs {:>19.0} µs",
            percentile(&mut alone, p),
            percentile(&mut during, p)
        );
    }
    println!("installs completed during the second column: {n}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tailor-bench-install-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
