//! FFI cost baseline: `rank` with 1,000 candidates called directly from Rust, on the same synthetic
//! catalog (2,000 items), warm profile (300 events) and requests as the Kotlin
//! (bindings/kotlin/src/test/kotlin/dev/tailor/FfiBench.kt) and Swift
//! (bindings/swift/Sources/TailorBench) benchmarks. The difference between their medians and
//! this one is the cost of crossing the FFI (lowering the request, lifting the response).
//!
//! `cargo run [--release | --profile mobile] -p tailor-core --example ffi_baseline [ITERATIONS]`:
//! build it with the profile of the `libtailor.so` the binding benchmarks load.
//! `scripts/bench-ffi.sh [--release | --profile P]` runs all three.

use std::time::Instant;
use tailor::*;

const ITEMS: usize = 2000;
const CANDIDATES: usize = 1000;
const NOW: i64 = 3_786_912_000;

fn catalog() -> Vec<Item> {
    (0..ITEMS)
        .map(|i| Item {
            id: format!("p{i}"),
            title: format!("Product {i}"),
            category: format!("c{}", i % 20),
            brand: format!("b{}", i % 50),
            price: 5.0 + (i % 97) as f64,
            tags: vec![format!("t{}", i % 30), format!("u{}", i % 11)],
            in_stock: true,
            margin: Some(0.1 + (i % 5) as f64 * 0.1),
            embedding: None,
            popularity: (ITEMS - i) as f64,
            repeat_rate: None,
            related: vec![RelatedItem {
                item_id: format!("p{}", (i + 1) % ITEMS),
                weight: 1.0,
            }],
        })
        .collect()
}

fn events() -> Vec<Event> {
    (0..300)
        .map(|k| Event {
            kind: match k % 10 {
                0 => EventKind::Purchase,
                1 => EventKind::AddToCart,
                _ => EventKind::View,
            },
            item_id: format!("p{}", (k * 37) % ITEMS),
            timestamp: Some(NOW - (300 - k as i64) * 600),
            session_id: Some("bench".into()),
            quantity: None,
            surface: None,
            response_id: None,
        })
        .collect()
}

fn main() -> Result<(), TailorError> {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let dir = std::env::temp_dir().join(format!("tailor-bench-{}", std::process::id()));
    let t = Tailor::open(TailorConfig::new(dir.display().to_string()))?;
    t.upsert_items(catalog())?;
    t.track_batch(events())?;
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    t.load_model(
        repo.join("models/bootstrap-ranker").display().to_string(),
        None,
    )?;
    let ids: Vec<String> = (0..CANDIDATES).map(|j| format!("p{}", 2 * j)).collect();
    // The same ids as a named set: the request carries the set's name instead of 1,000 strings.
    t.define_candidate_set("bench".into(), ids.clone())?;
    for (limit, named) in [(20u32, false), (50, false), (1000, false), (20, true)] {
        let request = RankRequest {
            candidate_ids: (!named).then(|| ids.clone()),
            candidate_set: named.then(|| "bench".to_string()),
            limit,
            session_id: Some("bench".into()),
            now: Some(NOW),
            ..Default::default()
        };
        for _ in 0..20 {
            assert!(t.rank(request.clone())?.personalized);
        }
        let mut wall = Vec::with_capacity(iterations);
        let mut core = Vec::with_capacity(iterations);
        let mut outside = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            // The request is cloned inside the timed region: the bindings build theirs per call too.
            let start = Instant::now();
            let r = t.rank(request.clone())?;
            let us = start.elapsed().as_micros() as u64;
            wall.push(us);
            core.push(r.took_micros.unsigned_abs());
            outside.push(us.saturating_sub(r.took_micros.unsigned_abs()));
            assert_eq!(r.items.len(), limit as usize);
        }
        let median = |v: &mut Vec<u64>| {
            v.sort_unstable();
            v[v.len() / 2]
        };
        println!(
            "rust rank({CANDIDATES} candidates{}, limit {limit}): median {} us, core took_micros median {} us, \
             outside the core (call - took_micros) median {} us, n={iterations}",
            if named { " in a named set" } else { "" },
            median(&mut wall),
            median(&mut core),
            median(&mut outside)
        );
    }
    t.close();
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
