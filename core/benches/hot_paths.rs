//! Criterion benchmarks of the hot paths, each beside a reference measured in the same run:
//! - model: the reused tract plan vs building the plan per call (what plan reuse saves);
//! - rank: a personalized rank vs the popularity fallback over the same candidates (the cost of
//!   personalization on top of the pipeline's fixed work).
//!
//! Run: `cargo bench -p tailor-core --bench hot_paths`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use tailor::*;

const NOW: i64 = 1_790_000_000;

fn catalog(n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| Item {
            id: format!("sku-{i:06}"),
            title: format!("Item {i}"),
            category: format!("c{}", i % 50),
            brand: format!("b{}", i % 200),
            price: 5.0 + (i % 97) as f64,
            tags: vec![format!("t{}", i % 500), format!("t{}", (i * 7) % 500)],
            in_stock: true,
            margin: None,
            embedding: Some(
                (0..16)
                    .map(|k| ((i * 31 + k * 17) % 13) as f32 - 6.0)
                    .collect(),
            ),
            popularity: 1000.0 / (1.0 + i as f64),
            repeat_rate: None,
            related: (1..=10)
                .map(|k| RelatedItem {
                    item_id: format!("sku-{:06}", (i + k * 37) % n),
                    weight: 1.0 / k as f64,
                })
                .collect(),
        })
        .collect()
}

fn warm_tailor(dir: &tempfile::TempDir, items: usize) -> std::sync::Arc<Tailor> {
    let config = TailorConfig {
        max_event_age_days: 36_500,
        ..TailorConfig::new(dir.path().display().to_string())
    };
    let t = Tailor::open(config).unwrap();
    t.upsert_items(catalog(items)).unwrap();
    let events: Vec<Event> = (0..2_000)
        .map(|k| Event {
            kind: if k % 10 == 0 {
                EventKind::Purchase
            } else {
                EventKind::View
            },
            item_id: format!("sku-{:06}", (k * k) % items),
            timestamp: Some(NOW - 86_400 + k as i64 * 30),
            session_id: None,
            quantity: None,
            surface: None,
            response_id: None,
        })
        .collect();
    t.track_batch(events).unwrap();
    t
}

fn model(c: &mut Criterion) {
    let active = tailor::engine::model::builtin().unwrap();
    let bytes = tailor::engine::model::BUILTIN_ONNX;
    let manifest =
        tailor::engine::model::Manifest::parse(tailor::engine::model::BUILTIN_MANIFEST).unwrap();
    let mut g = c.benchmark_group("model");
    for n in [100usize, 1_000] {
        let width = active.features.len();
        let matrix: Vec<f32> = (0..n * width).map(|i| (i % 13) as f32 / 13.0).collect();
        g.bench_with_input(BenchmarkId::new("plan_reused", n), &n, |b, &n| {
            b.iter(|| black_box(active.runtime.score(&matrix, n).unwrap()))
        });
        g.bench_with_input(
            BenchmarkId::new("plan_per_call (reference)", n),
            &n,
            |b, &n| {
                b.iter(|| {
                    let rt =
                        tailor::engine::model::Runtime::load(bytes, &manifest, &Default::default())
                            .unwrap();
                    black_box(rt.score(&matrix, n).unwrap())
                })
            },
        );
    }
    g.finish();
}

fn rank(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let t = warm_tailor(&dir, 10_000);
    let mut g = c.benchmark_group("rank");
    for n in [100usize, 1_000, 10_000] {
        let ids: Vec<String> = (0..n)
            .map(|i| format!("sku-{:06}", (i * 7) % 10_000))
            .collect();
        let mut tick = 0;
        // Each call at a new time: the profile view is rebuilt, as after new events.
        let mut next_request = || {
            tick += 1;
            RankRequest {
                candidate_ids: Some(ids.clone()),
                limit: 20,
                now: Some(NOW + tick),
                ..Default::default()
            }
        };
        g.bench_with_input(BenchmarkId::new("personalized", n), &n, |b, _| {
            b.iter(|| black_box(t.rank(next_request()).unwrap()))
        });
        // Reference: the same request served by the popularity fallback (no features, no model).
        t.set_consent(false).unwrap();
        g.bench_with_input(
            BenchmarkId::new("popularity_fallback (reference)", n),
            &n,
            |b, _| b.iter(|| black_box(t.rank(next_request()).unwrap())),
        );
        t.set_consent(true).unwrap();
    }
    g.finish();
}

criterion_group!(benches, model, rank);
criterion_main!(benches);
