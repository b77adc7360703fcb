//! `tailor bench [--json]`: the numbers in the README, measured on this machine.
//!
//! A synthetic but realistic setup: a 10,000-item catalog (50 categories, 200 brands, tags,
//! Zipf popularity, 16-d embeddings, 20 co-purchase neighbours each) and a profile built from
//! 10,000 events. Everything goes through the public API, as an app would call it.
//!
//! `tailor bench --scaling [--json]`: rank latency against the number of candidates (100 to
//! 100,000, over a 100,000-item catalog) and against the size of the profile (1,000 to 1,000,000
//! tracked events, ranking 1,000 candidates), to show that rank grows at most linearly with the
//! candidates and not with the shopper's history.

use crate::CliResult;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use tailor::{Event, EventKind, Item, RankRequest, RelatedItem, Tailor, TailorConfig};

pub const SIZES: [usize; 3] = [100, 1_000, 10_000];
const ITEMS: usize = 10_000;
const EVENTS: usize = 10_000;
const NOW: i64 = 1_790_000_000;

#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Scale the number of timed runs (1 = default; lower for a quick look).
    #[arg(long, default_value_t = 1.0)]
    runs: f64,
    /// Rank latency vs candidates (100 to 100,000) and vs profile size (1,000 to 1,000,000
    /// events) instead of the standard benchmark.
    #[arg(long)]
    scaling: bool,
    /// Rank with this model (its manifest.json) instead of the built-in one, e.g. to compare a
    /// retrained model with the shipped one on the same machine.
    #[arg(long)]
    model: Option<std::path::PathBuf>,
}

#[derive(serde::Serialize, Default)]
struct Report {
    rank_p50_us: BTreeMap<String, f64>,
    rank_p95_us: BTreeMap<String, f64>,
    rank_cached_p50_us: BTreeMap<String, f64>,
    model_p50_us: BTreeMap<String, f64>,
    model_p95_us: BTreeMap<String, f64>,
    track_events_per_s: f64,
    track_p50_us: f64,
    track_p99_us: f64,
    /// Open as an app does at start: the catalog from `catalog.image` (written by `close`).
    open_ms: f64,
    /// Open when the image does not show the last catalog write (the app ended without
    /// `close` after changing the catalog): the catalog from its rows.
    open_from_rows_ms: f64,
    /// The first rank (1,000 candidates) right after open: what an app's first screen waits
    /// for beyond `open_ms` (the profile view built cold; a model plan built if the background
    /// has not got to it).
    first_rank_after_open_us: f64,
    /// `complete_cart` rank of 1,000 candidates with a 3-item cart as the context.
    context_rank_p50_us: f64,
    context_rank_p95_us: f64,
    /// A 3-item bundle for one viewed item, from the whole catalog.
    bundle_p50_us: f64,
    bundle_p95_us: f64,
    /// `upsert_items` of one item whose stock changed, into the full catalog.
    upsert_one_p50_ms: f64,
    /// rank of 1,000 candidates right after a `track` (the profile changed: nothing of the
    /// previous profile view is reused); the track itself is not timed.
    rank_after_track_p50_us: f64,
    rss_mb: f64,
    model: String,
    catalog_items: usize,
    profile_events: usize,
}

pub fn catalog(rng: &mut SmallRng, n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| {
            let category = rng.random_range(0..50);
            Item {
                id: format!("sku-{i:06}"),
                title: format!("Item {i}"),
                category: format!("category-{category}"),
                brand: format!("brand-{}", rng.random_range(0..200)),
                price: (rng.random_range(1.0f64..6.0)).exp(),
                tags: (0..5)
                    .map(|_| format!("tag-{}", category * 10 + rng.random_range(0..10)))
                    .collect(),
                in_stock: rng.random_bool(0.95),
                margin: Some(rng.random_range(0.05..0.6)),
                embedding: Some((0..16).map(|_| rng.random_range(-1.0f32..1.0)).collect()),
                popularity: 1000.0 / (1.0 + i as f64).powf(0.8),
                repeat_rate: None,
                related: (0..20)
                    .map(|_| RelatedItem {
                        item_id: format!("sku-{:06}", rng.random_range(0..n)),
                        weight: rng.random_range(0.1..1.0),
                    })
                    .collect(),
            }
        })
        .collect()
}

pub fn events(rng: &mut SmallRng, n: usize, items: usize, start: i64) -> Vec<Event> {
    (0..n)
        .map(|k| {
            let kind = match rng.random_range(0..100) {
                0..=59 => EventKind::View,
                60..=79 => EventKind::Click,
                80..=89 => EventKind::AddToCart,
                90..=97 => EventKind::Purchase,
                _ => EventKind::Dismiss,
            };
            // Skewed towards a few hundred favourite items, like a real shopper.
            let item = (rng.random_range(0.0f64..1.0).powi(3) * items as f64) as usize;
            Event {
                kind,
                item_id: format!("sku-{item:06}"),
                timestamp: Some(start + k as i64 * 60),
                session_id: Some(format!("s-{}", k / 20)),
                quantity: None,
                surface: Some("home".into()),
                response_id: None,
            }
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn timed(
    runs: usize,
    mut f: impl FnMut() -> CliResult,
) -> Result<Vec<f64>, Box<dyn std::error::Error>> {
    let mut t = Vec::with_capacity(runs);
    for _ in 0..runs {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64() * 1e6);
    }
    t.sort_by(f64::total_cmp);
    Ok(t)
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Lets a store's background work after open (the model's batch plans) finish, then closes it:
/// an app opens once at start, with no earlier instance still busy on the other core.
fn settle_and_close(t: &Tailor) {
    let started = Instant::now();
    while !t.model_batch_plans_ready() && started.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    t.close();
}

fn config(dir: &Path) -> TailorConfig {
    TailorConfig {
        max_event_age_days: 36_500,
        max_events: 1_000_000,
        ..TailorConfig::new(dir.display().to_string())
    }
}

pub fn run(args: Args) -> CliResult {
    if args.scaling {
        return scaling(args);
    }
    let runs = |n: usize| ((n as f64 * args.runs).round() as usize).max(3);
    let dir = std::env::temp_dir().join(format!("tailor-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut rng = SmallRng::seed_from_u64(42);
    let items = catalog(&mut rng, ITEMS);
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    // Items whose stock changes later (the upsert measurement).
    let restocked: Vec<Item> = items.iter().step_by(97).cloned().collect();
    let history = events(&mut rng, EVENTS, ITEMS, NOW - EVENTS as i64 * 60);
    let mut report = Report {
        catalog_items: ITEMS,
        profile_events: EVENTS,
        ..Default::default()
    };
    {
        let t = Tailor::open(config(&dir))?;
        t.upsert_items(items)?;
        // Throughput: the profile's 10,000 events in batches of 1,000, durable (WAL commits).
        let s = Instant::now();
        for chunk in history.chunks(1_000) {
            t.track_batch(chunk.to_vec())?;
        }
        report.track_events_per_s = EVENTS as f64 / s.elapsed().as_secs_f64();
        // Latency: single track calls, one transaction each.
        let mut k = 0;
        let singles = timed(runs(1_000), || {
            k += 1;
            t.track(Event {
                timestamp: Some(NOW + k),
                ..history[k as usize % EVENTS].clone()
            })?;
            Ok(())
        })?;
        report.track_p50_us = percentile(&singles, 0.5);
        report.track_p99_us = percentile(&singles, 0.99);
        t.close();
    }
    // Open (stores + model) as an app does at start: the median of several reopens of the store.
    let mut opens = Vec::new();
    let mut reopened: Option<std::sync::Arc<Tailor>> = None;
    // Open without the image first (each close writes it again, so it is removed before each
    // open), then as usual: `rank` below runs on the snapshot read from the image.
    let mut from_rows = Vec::new();
    for _ in 0..runs(5) {
        if let Some(previous) = reopened.take() {
            settle_and_close(&previous);
        }
        let _ = std::fs::remove_file(dir.join("catalog.image"));
        let s = Instant::now();
        reopened = Some(Tailor::open(config(&dir))?);
        from_rows.push(s.elapsed().as_secs_f64() * 1e3);
    }
    from_rows.sort_by(f64::total_cmp);
    report.open_from_rows_ms = percentile(&from_rows, 0.5);
    // Its own generator, so the later measurements draw the candidates they always drew.
    let mut first_rng = SmallRng::seed_from_u64(7);
    let first_request = RankRequest {
        candidate_ids: Some(
            (0..1_000)
                .map(|_| ids[first_rng.random_range(0..ids.len())].clone())
                .collect(),
        ),
        limit: 20,
        now: Some(NOW + 3_600),
        ..Default::default()
    };
    let mut first_ranks = Vec::new();
    for _ in 0..runs(9) {
        if let Some(previous) = reopened.take() {
            settle_and_close(&previous);
        }
        let s = Instant::now();
        let opened = Tailor::open(config(&dir))?;
        opens.push(s.elapsed().as_secs_f64() * 1e3);
        let s = Instant::now();
        opened.rank(first_request.clone())?;
        first_ranks.push(s.elapsed().as_secs_f64() * 1e6);
        reopened = Some(opened);
    }
    opens.sort_by(f64::total_cmp);
    report.open_ms = percentile(&opens, 0.5);
    first_ranks.sort_by(f64::total_cmp);
    report.first_rank_after_open_us = percentile(&first_ranks, 0.5);
    let t = reopened.ok_or("no open")?;
    let active = match &args.model {
        Some(manifest) => {
            let dir = manifest
                .parent()
                .ok_or("--model: the path of a manifest.json")?;
            t.load_model(dir.display().to_string(), None)?;
            tailor::engine::model::load_from_manifest(manifest, &[])
        }
        None => tailor::engine::model::builtin(),
    }
    .map_err(tailor::TailorError::from)?;
    report.model = format!("{} v{}", active.manifest.name, active.manifest.version);
    // Rank with the fixed-batch plans a running app has (built in the background after open).
    let wait = Instant::now();
    while !(active.runtime.batch_plans_ready() && t.model_batch_plans_ready())
        && wait.elapsed().as_secs() < 30
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    for n in SIZES {
        let candidates: Vec<String> = (0..n)
            .map(|_| ids[rng.random_range(0..ids.len())].clone())
            .collect();
        let request = RankRequest {
            candidate_ids: Some(candidates),
            limit: 20,
            now: Some(NOW + 3_600),
            ..Default::default()
        };
        let reps = runs(if n >= 10_000 { 100 } else { 400 });
        t.rank(request.clone())?; // warm-up
                                  // Every call at a new time: the profile view is rebuilt, as for a rank after new events.
        let mut tick = 0;
        let rank = timed(reps, || {
            tick += 1;
            let at = Some(NOW + 3_600 + tick);
            let r = t.rank(RankRequest {
                now: at,
                ..request.clone()
            })?;
            if !r.personalized {
                return Err(
                    format!("bench profile should be personalized: {:?}", r.fallback).into(),
                );
            }
            Ok(())
        })?;
        report
            .rank_p50_us
            .insert(n.to_string(), percentile(&rank, 0.5));
        report
            .rank_p95_us
            .insert(n.to_string(), percentile(&rank, 0.95));
        // Same time and snapshots: the cached view is reused (several surfaces ranked at once).
        let cached = timed(reps, || {
            t.rank(request.clone())?;
            Ok(())
        })?;
        report
            .rank_cached_p50_us
            .insert(n.to_string(), percentile(&cached, 0.5));
        let width = active.features.len();
        let matrix: Vec<f32> = (0..n * width)
            .map(|_| rng.random_range(0.0f32..1.0))
            .collect();
        let model = timed(reps, || {
            active
                .runtime
                .score(&matrix, n)
                .map_err(tailor::TailorError::from)?;
            Ok(())
        })?;
        report
            .model_p50_us
            .insert(n.to_string(), percentile(&model, 0.5));
        report
            .model_p95_us
            .insert(n.to_string(), percentile(&model, 0.95));
    }
    // The cart surface: 1,000 candidates with a 3-item cart as the context, a new time each call.
    let candidates: Vec<String> = (0..1_000)
        .map(|_| ids[rng.random_range(0..ids.len())].clone())
        .collect();
    let carts: Vec<Vec<String>> = (0..64)
        .map(|_| {
            (0..3)
                .map(|_| ids[rng.random_range(0..ids.len())].clone())
                .collect()
        })
        .collect();
    let mut tick = 0;
    let context = timed(runs(400), || {
        tick += 1;
        t.rank(RankRequest {
            candidate_ids: Some(candidates.clone()),
            limit: 20,
            now: Some(NOW + 7_200 + tick),
            kind: Some(tailor::SurfaceKind::CompleteCart),
            context_item_ids: carts[tick as usize % carts.len()].clone(),
            ..Default::default()
        })?;
        Ok(())
    })?;
    report.context_rank_p50_us = percentile(&context, 0.5);
    report.context_rank_p95_us = percentile(&context, 0.95);
    // A bundle for a viewed item from the 10,000-item catalog.
    let mut k = 0;
    let bundles = timed(runs(400), || {
        k += 1;
        t.bundle(tailor::BundleRequest {
            context_item_ids: vec![ids[(k * 37) % ids.len()].clone()],
            size: 3,
            max_total_price: Some(500.0),
            now: Some(NOW + 7_200 + k as i64),
            ..Default::default()
        })?;
        Ok(())
    })?;
    report.bundle_p50_us = percentile(&bundles, 0.5);
    report.bundle_p95_us = percentile(&bundles, 0.95);
    // Resident memory of a running app: store, snapshots, model plans (before the upserts below
    // allocate their own test catalog).
    report.rss_mb = rss_mb();
    // A stock change for one item: one transaction plus a patched catalog snapshot.
    let mut k = 0;
    let upserts = timed(runs(50), || {
        let mut item = restocked[k % restocked.len()].clone();
        k += 1;
        item.in_stock = k % 2 == 0;
        t.upsert_items(vec![item])?;
        Ok(())
    })?;
    report.upsert_one_p50_ms = percentile(&upserts, 0.5) / 1e3;
    // Rank right after an event, as an app does after a view or a cart change.
    let candidates: Vec<String> = (0..1_000)
        .map(|_| ids[rng.random_range(0..ids.len())].clone())
        .collect();
    let mut after_track = Vec::new();
    for k in 0..runs(200) {
        let at = NOW + 10_800 + k as i64;
        t.track(Event {
            timestamp: Some(at),
            ..history[k % EVENTS].clone()
        })?;
        let s = Instant::now();
        t.rank(RankRequest {
            candidate_ids: Some(candidates.clone()),
            limit: 20,
            now: Some(at),
            ..Default::default()
        })?;
        after_track.push(s.elapsed().as_secs_f64() * 1e6);
    }
    after_track.sort_by(f64::total_cmp);
    report.rank_after_track_p50_us = percentile(&after_track, 0.5);
    t.close();
    drop(t);
    let _ = std::fs::remove_dir_all(&dir);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "tailor bench — {} items, {} events, model {}",
        ITEMS, EVENTS, report.model
    );
    println!(
        "{:>12} {:>14} {:>14} {:>16} {:>14}",
        "candidates", "rank p50 µs", "rank p95 µs", "cached p50 µs", "model p50 µs"
    );
    for n in SIZES {
        let k = n.to_string();
        println!(
            "{:>12} {:>14.0} {:>14.0} {:>16.0} {:>14.0}",
            n,
            report.rank_p50_us[&k],
            report.rank_p95_us[&k],
            report.rank_cached_p50_us[&k],
            report.model_p50_us[&k]
        );
    }
    println!(
        "{:>12} {:>14.0} {:>14.0}   (complete_cart, 3-item cart as the context)",
        "1000+ctx", report.context_rank_p50_us, report.context_rank_p95_us
    );
    println!(
        "{:>12} {:>14.0} {:>14.0}   (bundle of 3 for a viewed item, {} items in the catalog)",
        "bundle", report.bundle_p50_us, report.bundle_p95_us, ITEMS
    );
    println!(
        "{:>12} {:>14.0}                  (1,000 candidates right after a track)",
        "1000+track", report.rank_after_track_p50_us
    );
    println!(
        "track: {:.0} events/s batched; single call p50 {:.0} µs, p99 {:.0} µs",
        report.track_events_per_s, report.track_p50_us, report.track_p99_us
    );
    println!(
        "open (stores + model): {:.1} ms ({:.1} ms from the catalog rows, without catalog.image), \
         then the first rank of 1,000: {:.0} µs; upsert of one item: {:.1} ms; resident memory \
         {:.1} MB",
        report.open_ms,
        report.open_from_rows_ms,
        report.first_rank_after_open_us,
        report.upsert_one_p50_ms,
        report.rss_mb
    );
    Ok(())
}

/// Candidate counts for `--scaling`; the catalog holds the largest.
const SCALING_CANDIDATES: [usize; 4] = [100, 1_000, 10_000, 100_000];
/// Profile sizes for `--scaling`, reached by tracking more events into the same store.
const SCALING_EVENTS: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
/// The candidates ranked at every profile size.
const SCALING_PROFILE_CANDIDATES: usize = 1_000;
const TRACK_CHUNK: usize = 10_000;

#[derive(serde::Serialize)]
struct ScalingRow {
    p50_us: f64,
    p95_us: f64,
    runs: usize,
    /// p50 divided by the number of candidates.
    #[serde(skip_serializing_if = "Option::is_none")]
    p50_us_per_candidate: Option<f64>,
}

#[derive(serde::Serialize, Default)]
struct ScalingReport {
    /// Rank latency by number of candidates (keys: candidates).
    candidates: BTreeMap<String, ScalingRow>,
    /// Rank latency of 1,000 candidates by profile size (keys: events tracked).
    profile_events: BTreeMap<String, ScalingRow>,
    /// Setup of the candidates table: catalog size and events in its profile.
    candidates_catalog_items: usize,
    candidates_profile_events: usize,
    /// Setup of the profile table: catalog size and candidates per rank.
    profile_catalog_items: usize,
    profile_candidates: usize,
    limit: u32,
    model: String,
    total_s: f64,
}

/// `count` distinct ids, in random order.
fn distinct(rng: &mut SmallRng, ids: &[String], count: usize) -> Vec<String> {
    let mut pool = ids.to_vec();
    let (picked, _) = pool.partial_shuffle(rng, count);
    picked.to_vec()
}

/// Rank `candidates` `reps` times, each call at a new `now` (so the profile view is rebuilt, as
/// after new events); returns sorted microseconds.
fn time_rank(
    t: &Tailor,
    candidates: Vec<String>,
    now: i64,
    reps: usize,
) -> Result<Vec<f64>, Box<dyn std::error::Error>> {
    let request = RankRequest {
        candidate_ids: Some(candidates),
        limit: 20,
        now: Some(now),
        ..Default::default()
    };
    t.rank(request.clone())?; // warm-up
    let mut tick = 0;
    timed(reps, || {
        tick += 1;
        let r = t.rank(RankRequest {
            now: Some(now + tick),
            ..request.clone()
        })?;
        if !r.personalized {
            return Err(format!("bench profile should be personalized: {:?}", r.fallback).into());
        }
        Ok(())
    })
}

fn row(sorted: &[f64], per: Option<usize>) -> ScalingRow {
    let p50 = percentile(sorted, 0.5);
    ScalingRow {
        p50_us: p50,
        p95_us: percentile(sorted, 0.95),
        runs: sorted.len(),
        p50_us_per_candidate: per.map(|n| p50 / n as f64),
    }
}

fn scaling(args: Args) -> CliResult {
    let started = Instant::now();
    let runs = |n: usize| ((n as f64 * args.runs).round() as usize).max(3);
    let mut rng = SmallRng::seed_from_u64(7);
    let active = tailor::engine::model::builtin().map_err(tailor::TailorError::from)?;
    let items_max = SCALING_CANDIDATES[SCALING_CANDIDATES.len() - 1];
    let events_max = SCALING_EVENTS[SCALING_EVENTS.len() - 1];
    let mut report = ScalingReport {
        candidates_catalog_items: items_max,
        candidates_profile_events: EVENTS,
        profile_catalog_items: ITEMS,
        profile_candidates: SCALING_PROFILE_CANDIDATES,
        limit: 20,
        model: format!("{} v{}", active.manifest.name, active.manifest.version),
        ..Default::default()
    };
    drop(active);
    let base = std::env::temp_dir().join(format!("tailor-scaling-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    // Keep every event: retention must not cut the profile being measured.
    let config = |dir: &Path| TailorConfig {
        max_event_age_days: 36_500,
        max_events: (2 * events_max) as u32,
        ..TailorConfig::new(dir.display().to_string())
    };
    let result = (|| -> CliResult {
        // 1. Candidates: a 100,000-item catalog, the standard 10,000-event profile.
        {
            let dir = base.join("candidates");
            let t = Tailor::open(config(&dir))?;
            let items = catalog(&mut rng, items_max);
            let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
            t.upsert_items(items)?;
            let start = NOW - EVENTS as i64 * 60;
            for chunk in events(&mut rng, EVENTS, items_max, start).chunks(TRACK_CHUNK) {
                t.track_batch(chunk.to_vec())?;
            }
            for n in SCALING_CANDIDATES {
                let reps = runs(if n <= 1_000 {
                    300
                } else if n <= 10_000 {
                    60
                } else {
                    12
                });
                let times = time_rank(&t, distinct(&mut rng, &ids, n), NOW + 3_600, reps)?;
                report
                    .candidates
                    .insert(n.to_string(), row(&times, Some(n)));
            }
            t.close();
        }
        // 2. Profile size: one store, events tracked in batches up to each size in turn, always
        //    ranking the same 1,000 candidates of a 10,000-item catalog an hour after the last
        //    event.
        {
            let dir = base.join("profile");
            let t = Tailor::open(config(&dir))?;
            let items = catalog(&mut rng, ITEMS);
            let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
            t.upsert_items(items)?;
            let candidates = distinct(&mut rng, &ids, SCALING_PROFILE_CANDIDATES);
            // One event a minute, ending at NOW: a year and 11 months of history at 1,000,000.
            let first = NOW - events_max as i64 * 60;
            let mut tracked = 0;
            for target in SCALING_EVENTS {
                while tracked < target {
                    let n = TRACK_CHUNK.min(target - tracked);
                    let batch = events(&mut rng, n, ITEMS, first + tracked as i64 * 60);
                    t.track_batch(batch)?;
                    tracked += n;
                }
                let now = first + tracked as i64 * 60 + 3_600;
                let times = time_rank(&t, candidates.clone(), now, runs(300))?;
                report
                    .profile_events
                    .insert(target.to_string(), row(&times, None));
            }
            t.close();
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&base);
    result?;
    report.total_s = started.elapsed().as_secs_f64();
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "tailor bench --scaling — model {}, top {}, each call at a new time (profile view rebuilt)\n",
        report.model, report.limit
    );
    println!(
        "Rank latency vs candidates ({} catalog items, profile of {} events):\n",
        report.candidates_catalog_items, report.candidates_profile_events
    );
    println!(
        "| candidates | rank p50 µs | rank p95 µs | p50 µs per candidate | p50 × vs previous row |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: |");
    let mut previous: Option<f64> = None;
    for n in SCALING_CANDIDATES {
        let r = &report.candidates[&n.to_string()];
        println!(
            "| {n} | {:.0} | {:.0} | {:.2} | {} |",
            r.p50_us,
            r.p95_us,
            r.p50_us_per_candidate.unwrap_or(0.0),
            previous.map_or("–".to_string(), |p| format!("{:.1}", r.p50_us / p))
        );
        previous = Some(r.p50_us);
    }
    println!(
        "\nRank latency of {} candidates vs profile size ({} catalog items, events tracked in batches of {}):\n",
        report.profile_candidates, report.profile_catalog_items, TRACK_CHUNK
    );
    println!("| events tracked | rank p50 µs | rank p95 µs | p50 × vs 1,000 events |");
    println!("| ---: | ---: | ---: | ---: |");
    let first = report.profile_events[&SCALING_EVENTS[0].to_string()].p50_us;
    for n in SCALING_EVENTS {
        let r = &report.profile_events[&n.to_string()];
        println!(
            "| {n} | {:.0} | {:.0} | {:.2} |",
            r.p50_us,
            r.p95_us,
            r.p50_us / first
        );
    }
    println!("\n({:.0} s in all)", report.total_s);
    Ok(())
}
