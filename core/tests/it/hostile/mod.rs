//! Hostile input (issue 5, point 13): property-based tests on every decoder and public entry point.
//! Whatever the bytes, the answer is a typed error or a valid result, never a panic.
//!
//! Cases per property: 64-256 by default (byte-level model mutations 64+32; graph mutations
//! 128+64+64, about 3-10 ms each in debug since most stop in tract's translation).
//! `PROPTEST_CASES=N` sets every property to N cases; `TAILOR_PROPTEST_SEED=N` draws other inputs
//! (the default seed is fixed, so a failure reproduces). Each property prints how many inputs it
//! ran (`-- --nocapture` shows them).
//!
//! One module per thing attacked: `csv` (catalog and events import), `records` (events and rank
//! requests through the API), `models` (manifests, byte-level and structure-aware model
//! mutations), `catalog_limits`.

mod catalog_limits;
mod csv;
mod models;
mod records;

use crate::common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseResult, TestRng, TestRunner};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tailor::engine::model::sha256_hex;
use tailor::engine::Error;
use tailor::*;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

fn runner(default_cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 512,
        ..Config::default()
    };
    let rng = match std::env::var("TAILOR_PROPTEST_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        Some(seed) => {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
        }
        None => TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    };
    TestRunner::new_with_rng(config, rng)
}

thread_local! {
    /// Inputs the code under test accepted (a valid result rather than a typed error).
    static ACCEPTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn accepted() {
    ACCEPTED.with(|a| a.set(a.get() + 1));
}

/// Run `test` on `default_cases` inputs drawn from `strategy`; print how many ran.
fn fuzz<S: Strategy>(
    name: &str,
    default_cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> TestCaseResult,
) where
    S::Value: std::fmt::Debug,
{
    let mut runner = runner(default_cases);
    let count = AtomicU64::new(0);
    ACCEPTED.with(|a| a.set(0));
    let started = std::time::Instant::now();
    let result = runner.run(&strategy, |v| {
        count.fetch_add(1, Ordering::Relaxed);
        test(v)
    });
    eprintln!(
        "hostile_input: {name}: {} inputs ({} accepted, the rest refused with a typed error) in {:.1} s",
        count.load(Ordering::Relaxed),
        ACCEPTED.with(|a| a.get()),
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

/// Strings that break naive code: empty, blank, control characters, SQL, huge, multi-byte.
fn weird_string() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[a-z0-9-]{1,12}",
        2 => "\\PC{0,40}",
        2 => "(?s).{0,64}",
        1 => Just(String::new()),
        1 => Just(" \t ".to_string()),
        1 => Just("\u{0}".to_string()),
        1 => Just("a\u{0}b\r\n".to_string()),
        1 => Just("'; DROP TABLE events; --".to_string()),
        1 => Just("x".repeat(256)),
        1 => Just("x".repeat(257)),
        1 => Just("é".repeat(129)),
        1 => Just("👩‍👩‍👧".repeat(30)),
        1 => "[a-z]{300,2000}",
    ]
    .boxed()
}

fn weird_f64() -> BoxedStrategy<f64> {
    prop_oneof![
        4 => proptest::num::f64::ANY,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
        1 => Just(f64::MAX),
        1 => Just(f64::MIN_POSITIVE),
        2 => -10.0..10.0f64,
    ]
    .boxed()
}

fn weird_i64() -> BoxedStrategy<i64> {
    prop_oneof![
        3 => any::<i64>(),
        3 => 0..4_102_444_800i64,
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        1 => Just(-1),
        1 => Just(0),
        1 => Just(4_102_444_799),
        1 => Just(4_102_444_800),
    ]
    .boxed()
}

fn weird_u32() -> BoxedStrategy<u32> {
    prop_oneof![
        3 => any::<u32>(),
        3 => 0..30u32,
        1 => Just(u32::MAX),
        1 => Just(1000),
        1 => Just(1001),
        1 => Just(1_000_000),
        1 => Just(1_000_001),
    ]
    .boxed()
}

/// Mostly plausible values (so whole records reach the deep code), sometimes hostile ones.
fn mostly<T: std::fmt::Debug + 'static>(
    good: impl Strategy<Value = T> + 'static,
    bad: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![12 => good, 1 => bad].boxed()
}

fn fmt_f64(f: f64) -> String {
    format!("{f}")
}

/// Only typed input errors are acceptable for bad input (never storage, closed, or a panic).
fn expect_input_error(e: &TailorError, what: &str) -> TestCaseResult {
    match e {
        TailorError::InvalidInput { message } if !message.is_empty() => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "{what}: expected InvalidInput, got {other:?}"
        ))),
    }
}

fn internal_input_error(e: &Error, what: &str) -> TestCaseResult {
    match e {
        Error::Invalid(m) if !m.is_empty() => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "{what}: expected Error::Invalid, got {other:?}"
        ))),
    }
}

fn open_tailor(dir: &tempfile::TempDir) -> Arc<Tailor> {
    Tailor::open(TailorConfig {
        // Nothing is old enough to be dropped, nothing is too many: counts stay exact.
        max_event_age_days: 100_000,
        max_events: u32::MAX,
        ..TailorConfig::new(dir.path().display().to_string())
    })
    .unwrap()
}

/// Quote every field (RFC 4180), so structured rows reach the field parsers.
fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
        .collect();
    quoted.join(",") + "\n"
}

/// Bytes drawn mostly from CSV's own alphabet, so the reader's edge cases are hit often.
fn csvish_bytes() -> BoxedStrategy<Vec<u8>> {
    let alphabet: Vec<u8> = b",\"\n\r;:a1.-eN x\t"
        .iter()
        .copied()
        .chain([0u8, 0xff, 0xc3, 0x1f, 0x8b])
        .collect();
    prop::collection::vec(
        prop_oneof![4 => prop::sample::select(alphabet), 1 => any::<u8>()],
        0..600,
    )
    .boxed()
}
