//! `tailor bench-sequence --model DIR`: what a sequence model (manifest format 2) adds to a rank
//! call, side by side in one run. Two stores hold the same catalog (the model's vocabulary, up
//! to 10,000 items) and the same 10,000-event profile; one ranks with the built-in model, the
//! other with the sequence model. Calls alternate between them, 1,000 candidates each:
//! - "after a purchase": a purchase is tracked (untimed) before each pair of calls, so the
//!   profile changed and the sequence graph runs again, as on the first rank after a purchase;
//! - "same profile": no new event, the user vector is reused (the common case: an app ranks
//!   several surfaces, and browsing adds views, not purchases).

use crate::bench::{catalog, events};
use crate::CliResult;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::time::Instant;
use tailor::engine::model::load_from_manifest;
use tailor::{Event, EventKind, RankRequest, Tailor, TailorConfig};

#[derive(clap::Args)]
pub struct Args {
    /// The sequence model's folder (manifest.json with a `sequence` block).
    #[arg(long)]
    model: PathBuf,
    /// Rank calls per model and phase.
    #[arg(long, default_value_t = 400)]
    runs: usize,
}

const NOW: i64 = 1_790_000_000;
const ITEMS: usize = 10_000;
const EVENTS: usize = 10_000;
const CANDIDATES: usize = 1_000;

fn p(times: &mut [f64], q: f64) -> f64 {
    times.sort_by(f64::total_cmp);
    times[((times.len() - 1) as f64 * q).round() as usize]
}

fn store(dir: &std::path::Path) -> Result<std::sync::Arc<Tailor>, tailor::TailorError> {
    let _ = std::fs::remove_dir_all(dir);
    Tailor::open(TailorConfig {
        max_event_age_days: 36_500,
        max_events: 1_000_000,
        ..TailorConfig::new(dir.display().to_string())
    })
}

pub fn run(args: Args) -> CliResult {
    let manifest = args.model.join("manifest.json");
    let loaded = load_from_manifest(&manifest, &[]).map_err(tailor::TailorError::from)?;
    let (Some(spec), Some(sequence)) = (&loaded.manifest.sequence, &loaded.sequence) else {
        return Err(format!("{} has no sequence model", manifest.display()).into());
    };
    let vocab: Vec<String> = std::fs::read_to_string(args.model.join(&spec.vocabulary))?
        .lines()
        .take(ITEMS)
        .map(String::from)
        .collect();
    // The bench catalog's attributes, under the vocabulary's ids.
    let mut rng = SmallRng::seed_from_u64(42);
    let rename = |id: &str| -> String {
        let k: usize = id.trim_start_matches("sku-").parse().unwrap_or(0);
        vocab[k % vocab.len()].clone()
    };
    let mut items = catalog(&mut rng, vocab.len());
    for item in &mut items {
        item.id = rename(&item.id);
        for r in &mut item.related {
            r.item_id = rename(&r.item_id);
        }
    }
    let history: Vec<Event> = events(&mut rng, EVENTS, vocab.len(), NOW - EVENTS as i64 * 60)
        .into_iter()
        .map(|e| Event {
            item_id: rename(&e.item_id),
            ..e
        })
        .collect();
    let base = std::env::temp_dir().join(format!("tailor-bench-seq-{}", std::process::id()));
    let plain = store(&base.join("builtin"))?;
    let with_sequence = store(&base.join("sequence"))?;
    for t in [&plain, &with_sequence] {
        t.upsert_items(items.clone())?;
        for chunk in history.chunks(1_000) {
            t.track_batch(chunk.to_vec())?;
        }
    }
    let info = with_sequence.load_model(args.model.display().to_string(), None)?;
    let wait = Instant::now();
    while !(plain.model_batch_plans_ready() && with_sequence.model_batch_plans_ready())
        && wait.elapsed().as_secs() < 30
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let candidates: Vec<String> = (0..CANDIDATES)
        .map(|_| vocab[rng.random_range(0..vocab.len())].clone())
        .collect();
    let mut tick = 0i64;
    let rank = |t: &Tailor, at: i64| -> Result<f64, tailor::TailorError> {
        let started = Instant::now();
        let r = t.rank(RankRequest {
            candidate_ids: Some(candidates.clone()),
            limit: 20,
            now: Some(at),
            ..Default::default()
        })?;
        let took = started.elapsed().as_secs_f64() * 1e6;
        if !r.personalized {
            return Err(tailor::TailorError::InvalidInput {
                message: format!("bench profile should be personalized: {:?}", r.fallback),
            });
        }
        Ok(took)
    };
    let (mut plain_new, mut seq_new, mut plain_same, mut seq_same) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for k in 0..args.runs {
        tick += 1;
        let bought = Event {
            kind: EventKind::Purchase,
            item_id: vocab[(k * 7919) % vocab.len()].clone(),
            timestamp: Some(NOW + tick),
            session_id: None,
            quantity: None,
            surface: None,
            response_id: None,
        };
        plain.track(bought.clone())?;
        with_sequence.track(bought)?;
        let at = NOW + 3_600 + tick;
        // Alternate which model goes first, so neither always meets a warm cache.
        if k % 2 == 0 {
            plain_new.push(rank(&plain, at)?);
            seq_new.push(rank(&with_sequence, at)?);
        } else {
            seq_new.push(rank(&with_sequence, at)?);
            plain_new.push(rank(&plain, at)?);
        }
        plain_same.push(rank(&plain, at + 1)?);
        seq_same.push(rank(&with_sequence, at + 1)?);
    }
    // The graph alone, on a full sequence.
    let rows: Vec<i64> = (0..sequence.max_len() as i64).map(|k| 2 + k).collect();
    let mut graph = Vec::new();
    for _ in 0..args.runs {
        let started = Instant::now();
        sequence.run(&rows).map_err(tailor::TailorError::from)?;
        graph.push(started.elapsed().as_secs_f64() * 1e6);
    }
    plain.close();
    with_sequence.close();
    let _ = std::fs::remove_dir_all(&base);
    println!(
        "tailor bench-sequence — {} ({} items in the vocabulary, d={}, last {} purchases); \
         {} catalog items, {EVENTS} events, {CANDIDATES} candidates, {} calls each",
        info.name,
        sequence.vocabulary_len(),
        sequence.dim(),
        sequence.max_len(),
        vocab.len(),
        args.runs
    );
    println!(
        "{:<28} {:>14} {:>14} {:>14} {:>14}",
        "rank(1,000)", "built-in p50", "sequence p50", "added p50", "sequence p95"
    );
    for (what, a, b) in [
        ("after a purchase", &mut plain_new, &mut seq_new),
        ("same profile", &mut plain_same, &mut seq_same),
    ] {
        let (pa, pb) = (p(a, 0.5), p(b, 0.5));
        println!(
            "{what:<28} {pa:>11.0} µs {pb:>11.0} µs {:>11.0} µs {:>11.0} µs",
            pb - pa,
            p(b, 0.95)
        );
    }
    println!(
        "sequence graph alone: p50 {:.0} µs, p95 {:.0} µs",
        p(&mut graph, 0.5),
        p(&mut graph, 0.95)
    );
    Ok(())
}
