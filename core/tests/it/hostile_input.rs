//! Hostile input (issue 5, point 13): property-based tests on every decoder and public entry point.
//! Whatever the bytes, the answer is a typed error or a valid result, never a panic.
//!
//! Cases per property: 64-256 by default (byte-level model mutations 64+32; graph mutations
//! 128+64+64, about 3-10 ms each in debug since most stop in tract's translation).
//! `PROPTEST_CASES=N` sets every property to N cases; `TAILOR_PROPTEST_SEED=N` draws other inputs
//! (the default seed is fixed, so a failure reproduces). Each property prints how many inputs it
//! ran (`-- --nocapture` shows them).

use crate::common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseResult, TestRng, TestRunner};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tailor::error::Error;
use tailor::model::manifest::sha256_hex;
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

// ---------------------------------------------------------------------------------------------
// Catalog CSV
// ---------------------------------------------------------------------------------------------

const CATALOG_OPTIONAL: &[&str] = &[
    "category",
    "brand",
    "tags",
    "in_stock",
    "margin",
    "popularity",
    "embedding",
    "related",
    "unknown_column",
];

fn catalog_field() -> BoxedStrategy<String> {
    let tricky = [
        "",
        "0",
        "-0",
        "1",
        "3.5",
        "-1",
        "NaN",
        "nan",
        "inf",
        "-inf",
        "1e9",
        "1000000001",
        "1e309",
        " 2 ",
        "0x10",
        "1_000",
        "true",
        "false",
        "yes",
        "Y",
        "2",
        "maybe",
        "1;2;3",
        "1;;2",
        ";",
        "nan;1",
        "1e40;0",
        "a:1;b:2",
        "a:b:c",
        ":",
        "a:-1",
        "a:NaN",
        "b",
        "0.25",
        "-1.5",
    ];
    prop_oneof![
        3 => prop::sample::select(tricky.to_vec()).prop_map(String::from),
        2 => weird_string(),
        1 => weird_f64().prop_map(|f| f.to_string()),
        1 => prop::collection::vec(-5.0..5.0f32, 0..600)
            .prop_map(|v| v.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(";")),
        1 => prop::collection::vec("[a-c]{1,2}:[0-9]", 0..250).prop_map(|v| v.join(";")),
    ]
    .boxed()
}

/// A plausible value for a catalog column most of the time, a tricky one otherwise.
fn catalog_value(column: &str) -> BoxedStrategy<String> {
    let good: BoxedStrategy<String> = match column {
        "item_id" => "[a-z0-9-]{1,10}".boxed(),
        "title" => "[A-Za-z ,\"]{0,20}".boxed(),
        "category" | "brand" => "[a-z]{0,6}".boxed(),
        "price" => (0.0..1000.0f64).prop_map(fmt_f64).boxed(),
        "tags" => prop::collection::vec("[a-z]{1,5}", 0..4)
            .prop_map(|v| v.join(";"))
            .boxed(),
        "in_stock" => prop::sample::select(vec!["", "true", "false", "1", "0", "yes", "no", "Y"])
            .prop_map(String::from)
            .boxed(),
        "margin" => prop_oneof![Just(String::new()), (-1.0..=1.0f64).prop_map(fmt_f64)].boxed(),
        "popularity" => prop_oneof![Just(String::new()), (0.0..1e6f64).prop_map(fmt_f64)].boxed(),
        "embedding" => prop_oneof![
            Just(String::new()),
            prop::collection::vec(-5.0..5.0f32, 4).prop_map(|v| v
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(";"))
        ]
        .boxed(),
        "related" => prop::collection::vec(("[a-z0-9-]{1,8}", 0.0..10.0f64), 0..3)
            .prop_map(|v| {
                v.iter()
                    .map(|(id, w)| format!("{id}:{w}"))
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .boxed(),
        _ => weird_string(),
    };
    prop_oneof![25 => good, 1 => catalog_field()].boxed()
}

/// A header with the required columns (rarely one missing) and some optional ones, shuffled,
/// then rows of mostly plausible fields (rarely one field too many or too few).
fn catalog_csv() -> BoxedStrategy<String> {
    (
        prop::sample::subsequence(CATALOG_OPTIONAL.to_vec(), 0..=CATALOG_OPTIONAL.len()),
        prop_oneof![20 => Just(None), 1 => (0..3usize).prop_map(Some)],
        any::<u64>(),
    )
        .prop_flat_map(|(optional, drop_required, shuffle)| {
            let mut header: Vec<&'static str> = vec!["item_id", "title", "price"];
            if let Some(i) = drop_required {
                header.remove(i);
            }
            header.extend(optional.into_iter().filter(|c| *c != "unknown_column"));
            let n = header.len();
            header.rotate_left((shuffle as usize) % n);
            let row: Vec<BoxedStrategy<String>> = header.iter().map(|c| catalog_value(c)).collect();
            (
                Just(header),
                prop::collection::vec((row, prop_oneof![30 => Just(0i32), 1 => -1i32..=1]), 0..8),
            )
        })
        .prop_map(|(header, rows)| {
            let n = header.len();
            let mut text = csv_line(&header.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            for (i, (mut fields, delta)) in rows.into_iter().enumerate() {
                // Unique ids most of the time: a repeated id refuses the whole file.
                if let Some(p) = header.iter().position(|h| *h == "item_id") {
                    if i % 4 != 3 {
                        fields[p] = format!("item-{i}");
                    }
                }
                fields.truncate((n as i32 + delta).max(0) as usize);
                if delta > 0 {
                    fields.push("extra".into());
                }
                text.push_str(&csv_line(&fields));
            }
            text
        })
        .boxed()
}

fn check_catalog_read(input: &[u8], tailor: &Tailor) -> TestCaseResult {
    match tailor::catalog::import::read(input) {
        Ok(items) => {
            for it in &items {
                prop_assert!(tailor::catalog::validate::item(it).is_ok(), "{it:?}");
            }
            prop_assert!(tailor::catalog::validate::batch(&items, None).is_ok());
            accepted();
            // A catalog the reader accepted is one the store accepts (unless its embedding
            // dimension differs from what earlier cases stored).
            if let Err(e) = tailor.upsert_items(items) {
                expect_input_error(&e, "upsert of parsed items")?;
                prop_assert!(format!("{e}").contains("embedding"), "{e}");
            }
            Ok(())
        }
        Err(e) => internal_input_error(&e, "catalog CSV"),
    }
}

#[test]
fn catalog_csv_import_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let t = open_tailor(&dir);
    fuzz(
        "catalog CSV, arbitrary bytes",
        256,
        prop::collection::vec(any::<u8>(), 0..2048),
        |bytes| check_catalog_read(&bytes, &t),
    );
    fuzz(
        "catalog CSV, CSV-alphabet bytes after a header",
        256,
        (
            prop::sample::select(vec![
                "item_id,title,price\n",
                "item_id,title,price,tags,embedding,related,in_stock\n",
                "",
            ]),
            csvish_bytes(),
        ),
        |(header, body)| {
            let mut bytes = header.as_bytes().to_vec();
            bytes.extend(body);
            check_catalog_read(&bytes, &t)
        },
    );
    fuzz("catalog CSV, structured rows", 256, catalog_csv(), |text| {
        check_catalog_read(text.as_bytes(), &t)
    });
    let s = t.status().unwrap();
    assert!(s.notices.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Events CSV
// ---------------------------------------------------------------------------------------------

const EVENT_COLUMNS: &[&str] = &[
    "user_id",
    "item_id",
    "event",
    "ts",
    "session_id",
    "quantity",
    "surface",
];

fn event_field() -> BoxedStrategy<String> {
    let tricky = [
        "",
        "view",
        "VIEW",
        "click",
        "cart",
        "add_to_cart",
        "addtocart",
        "purchase",
        "buy",
        "dismiss",
        "teleport",
        "-1",
        "0",
        "1",
        "1704067200",
        "4102444799",
        "4102444800",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "1.5",
        "1e3",
        "4294967295",
        "4294967296",
        "u1",
    ];
    prop_oneof![
        3 => prop::sample::select(tricky.to_vec()).prop_map(String::from),
        2 => weird_string(),
        1 => weird_i64().prop_map(|v| v.to_string()),
    ]
    .boxed()
}

fn event_value(column: &str) -> BoxedStrategy<String> {
    let known: Vec<String> = catalog().into_iter().map(|i| i.id).collect();
    let good: BoxedStrategy<String> = match column {
        "user_id" => "u[0-9]".boxed(),
        "item_id" => prop_oneof![3 => prop::sample::select(known), 1 => "[a-z0-9-]{1,10}"].boxed(),
        "event" => prop::sample::select(vec![
            "view",
            "VIEW",
            "click",
            "cart",
            "add_to_cart",
            "purchase",
            "buy",
            "dismiss",
        ])
        .prop_map(String::from)
        .boxed(),
        "ts" => (0..4_102_444_800i64).prop_map(|v| v.to_string()).boxed(),
        "session_id" => prop_oneof![Just(String::new()), "s[0-9]{1,3}"].boxed(),
        "quantity" => {
            prop_oneof![Just(String::new()), (1..100u32).prop_map(|q| q.to_string())].boxed()
        }
        _ => prop_oneof![Just(String::new()), "[a-z]{1,10}"].boxed(),
    };
    prop_oneof![25 => good, 1 => event_field()].boxed()
}

fn events_csv() -> BoxedStrategy<String> {
    (
        prop_oneof![
            8 => prop::sample::subsequence(EVENT_COLUMNS[4..].to_vec(), 0..=3).prop_map(|opt| {
                let mut h = EVENT_COLUMNS[..4].to_vec();
                h.extend(opt);
                h
            }),
            1 => prop::sample::subsequence(EVENT_COLUMNS.to_vec(), 3..=EVENT_COLUMNS.len()),
        ],
        any::<u64>(),
    )
        .prop_flat_map(|(mut header, shuffle)| {
            let n = header.len();
            header.rotate_left((shuffle as usize) % n);
            let row: Vec<BoxedStrategy<String>> = header.iter().map(|c| event_value(c)).collect();
            (Just(header), prop::collection::vec(row, 0..10))
        })
        .prop_map(|(header, rows)| {
            let mut text = csv_line(&header.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            for fields in rows {
                text.push_str(&csv_line(&fields));
            }
            text
        })
        .boxed()
}

/// Parsed rows go through `track_batch`: stored whole, or refused whole with InvalidInput.
fn check_events_read(input: &[u8], t: &Tailor, stored: &AtomicU64) -> TestCaseResult {
    match tailor::profile::import::read(input) {
        Ok(rows) => {
            for r in &rows {
                prop_assert!(tailor::catalog::validate::id("item", &r.event.item_id).is_ok());
            }
            let events: Vec<Event> = rows.into_iter().map(|r| r.event).collect();
            let n = events.len() as u32;
            let before = t.status().unwrap().profile_events;
            match t.track_batch(events) {
                Ok(s) => {
                    prop_assert_eq!(s.stored, n);
                    stored.fetch_add(n as u64, Ordering::Relaxed);
                    accepted();
                }
                Err(e) => {
                    expect_input_error(&e, "track_batch of parsed events")?;
                    prop_assert_eq!(t.status().unwrap().profile_events, before);
                }
            }
            Ok(())
        }
        Err(e) => internal_input_error(&e, "events CSV"),
    }
}

#[test]
fn events_csv_import_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let t = open_tailor(&dir);
    t.upsert_items(catalog()).unwrap();
    let stored = AtomicU64::new(0);
    fuzz(
        "events CSV, arbitrary bytes",
        256,
        prop::collection::vec(any::<u8>(), 0..2048),
        |bytes| check_events_read(&bytes, &t, &stored),
    );
    fuzz(
        "events CSV, CSV-alphabet bytes after a header",
        256,
        csvish_bytes(),
        |body| {
            let mut bytes = b"user_id,item_id,event,ts,session_id,quantity\n".to_vec();
            bytes.extend(body);
            check_events_read(&bytes, &t, &stored)
        },
    );
    fuzz("events CSV, structured rows", 256, events_csv(), |text| {
        check_events_read(text.as_bytes(), &t, &stored)
    });
    // Also through the public file API (gzip sniffing included).
    let path = dir.path().join("events.csv");
    std::fs::write(&path, [0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad]).unwrap();
    let e = t
        .import_events_csv(path.display().to_string(), None)
        .unwrap_err();
    expect_input_error(&e, "truncated gzip events file").unwrap();
    assert_eq!(
        t.status().unwrap().profile_events,
        stored.load(Ordering::Relaxed),
        "every accepted batch stored whole, every refused one not at all"
    );
}

// ---------------------------------------------------------------------------------------------
// Event and rank records through the public API
// ---------------------------------------------------------------------------------------------

fn item_id() -> BoxedStrategy<String> {
    let known: Vec<String> = catalog().into_iter().map(|i| i.id).collect();
    prop_oneof![
        10 => prop::sample::select(known),
        2 => "[a-z0-9-]{1,10}",
        1 => weird_string(),
    ]
    .boxed()
}

fn plausible_text() -> BoxedStrategy<String> {
    mostly("[a-z0-9]{1,10}", weird_string())
}

fn kind() -> impl Strategy<Value = EventKind> {
    prop::sample::select(vec![
        EventKind::View,
        EventKind::Click,
        EventKind::AddToCart,
        EventKind::Purchase,
        EventKind::Dismiss,
    ])
}

fn event_record() -> BoxedStrategy<Event> {
    (
        kind(),
        item_id(),
        prop::option::of(mostly(NOW - 400 * DAY..NOW + DAY, weird_i64())),
        prop::option::of(plausible_text()),
        prop::option::of(mostly(1..20u32, weird_u32())),
        prop::option::of(plausible_text()),
    )
        .prop_map(
            |(kind, item_id, timestamp, session_id, quantity, surface)| Event {
                kind,
                item_id,
                timestamp,
                session_id,
                quantity,
                surface,
                response_id: None,
            },
        )
        .boxed()
}

#[test]
fn event_records_never_panic_and_batches_are_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = open_tailor(&dir);
    t.upsert_items(catalog()).unwrap();
    let stored = AtomicU64::new(0);
    fuzz(
        "Event batches through track_batch",
        256,
        prop::collection::vec(event_record(), 0..6),
        |events| {
            let n = events.len() as u32;
            let before = t.status().unwrap().profile_events;
            match t.track_batch(events) {
                Ok(s) => {
                    accepted();
                    prop_assert_eq!((s.stored, s.dropped_no_consent), (n, 0));
                    stored.fetch_add(n as u64, Ordering::Relaxed);
                    prop_assert_eq!(t.status().unwrap().profile_events, before + n as u64);
                }
                Err(e) => {
                    expect_input_error(&e, "track_batch")?;
                    prop_assert_eq!(t.status().unwrap().profile_events, before);
                }
            }
            // Whatever was stored, ranking still works.
            let r = t
                .rank(RankRequest {
                    limit: 5,
                    ..Default::default()
                })
                .map_err(|e| TestCaseError::fail(format!("rank after track: {e:?}")))?;
            prop_assert!(r.items.iter().all(|i| i.score.is_finite()));
            Ok(())
        },
    );
    // Too many events in one call is refused before anything is read.
    let huge = vec![event(EventKind::View, "toys-1", NOW); 100_001];
    expect_input_error(&t.track_batch(huge).unwrap_err(), "huge batch").unwrap();
    assert_eq!(
        t.status().unwrap().profile_events,
        stored.load(Ordering::Relaxed)
    );
    // The store reopens cleanly after all that.
    drop(t);
    let t = open_tailor(&dir);
    let s = t.status().unwrap();
    assert!(s.notices.is_empty(), "{:?}", s.notices);
    assert_eq!(s.profile_events, stored.load(Ordering::Relaxed));
}

fn attribute() -> BoxedStrategy<Attribute> {
    (
        prop::sample::select(vec![
            AttributeKind::Category,
            AttributeKind::Brand,
            AttributeKind::Tag,
            AttributeKind::Item,
        ]),
        prop_oneof![
            2 => prop::sample::select(vec!["shoes", "books", "toys", "acme", "zeta", "toys-1"])
                .prop_map(String::from),
            1 => weird_string(),
        ],
    )
        .prop_map(|(kind, value)| Attribute { kind, value })
        .boxed()
}

fn rank_request() -> BoxedStrategy<RankRequest> {
    let rules = (
        any::<bool>(),
        prop_oneof![
            3 => Just(vec![]),
            2 => prop::collection::vec(
                (item_id(), mostly(0..8u32, weird_u32()))
                    .prop_map(|(item_id, position)| Pin { item_id, position }),
                1..4,
            ),
        ],
        prop_oneof![
            2 => Just(vec![]),
            3 => prop::collection::vec(
                (attribute(), mostly(-10.0..10.0f64, weird_f64()))
                    .prop_map(|(attribute, weight)| Boost { attribute, weight }),
                1..4,
            ),
        ],
        prop::collection::vec(item_id(), 0..3),
        prop_oneof![4 => Just(None), 3 => (-1.0..1.0f64).prop_map(Some), 1 => weird_f64().prop_map(Some)],
    )
        .prop_map(
            |(include_out_of_stock, pinned, boosts, exclude_ids, min_margin)| BusinessRules {
                include_out_of_stock,
                pinned,
                boosts,
                exclude_ids,
                min_margin,
            },
        );
    let diversity = prop_oneof![
        3 => Just(None),
        3 => (prop::option::of(1..5u32), prop::option::of(1..5u32), 1..20u32).prop_map(
            |(max_per_category, max_per_brand, window)| Some(DiversityOptions {
                max_per_category,
                max_per_brand,
                window,
            })
        ),
        1 => (prop::option::of(weird_u32()), prop::option::of(weird_u32()), weird_u32()).prop_map(
            |(max_per_category, max_per_brand, window)| Some(DiversityOptions {
                max_per_category,
                max_per_brand,
                window,
            })
        ),
    ];
    let exploration = prop_oneof![
        3 => Just(None),
        3 => (0.0..=0.5f64, prop::option::of(any::<u64>()))
            .prop_map(|(rate, seed)| Some(ExplorationOptions { rate, seed })),
        1 => (weird_f64(), prop::option::of(any::<u64>()))
            .prop_map(|(rate, seed)| Some(ExplorationOptions { rate, seed })),
    ];
    (
        prop_oneof![3 => Just(None), 2 => prop::collection::vec(item_id(), 0..20).prop_map(Some)],
        mostly(1..30u32, weird_u32()),
        prop::option::of(plausible_text()),
        prop_oneof![4 => Just(None), 4 => Just(Some("s".to_string())), 1 => weird_string().prop_map(Some)],
        prop_oneof![
            3 => Just(None),
            5 => (NOW - 30 * DAY..NOW + 30 * DAY).prop_map(Some),
            1 => weird_i64().prop_map(Some),
        ],
        rules,
        diversity,
        exploration,
    )
        .prop_map(
            |(candidate_ids, limit, surface, session_id, now, rules, diversity, exploration)| {
                RankRequest {
                    candidate_ids,
                    limit,
                    surface,
                    session_id,
                    now,
                    rules,
                    diversity,
                    exploration,
                    ..Default::default()
                }
            },
        )
        .boxed()
}

#[test]
fn rank_requests_never_panic_and_results_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let t = open_tailor(&dir);
    let mut items = catalog();
    items[3].in_stock = false;
    items[5].margin = Some(0.1);
    t.upsert_items(items).unwrap();
    t.track_batch(vec![
        Event {
            session_id: Some("s".into()),
            ..event(EventKind::Purchase, "toys-1", NOW - DAY)
        },
        event(EventKind::View, "books-2", NOW - 3600),
    ])
    .unwrap();
    t.set_preferences(vec![Attribute {
        kind: AttributeKind::Brand,
        value: "zeta".into(),
    }])
    .unwrap();
    let known: HashSet<String> = catalog().into_iter().map(|i| i.id).collect();
    let check = |req: RankRequest| -> TestCaseResult {
        match t.rank(req.clone()) {
            Ok(r) => {
                prop_assert!(r.items.len() <= req.limit as usize);
                let mut seen = HashSet::new();
                for i in &r.items {
                    prop_assert!(known.contains(&i.item_id), "{}", i.item_id);
                    prop_assert!(seen.insert(i.item_id.clone()), "duplicate {}", i.item_id);
                    prop_assert!(i.score.is_finite(), "{i:?}");
                    prop_assert!(i.reasons.len() <= 3);
                }
                // Pinned items are placed even when they are not among the candidates.
                let pinned = |id: &String| req.rules.pinned.iter().any(|p| &p.item_id == id);
                if let Some(c) = &req.candidate_ids {
                    prop_assert!(r
                        .items
                        .iter()
                        .all(|i| c.contains(&i.item_id) || pinned(&i.item_id)));
                    prop_assert!(r.unknown_ids.iter().all(|u| c.contains(u) || pinned(u)));
                } else {
                    prop_assert!(r.unknown_ids.iter().all(pinned));
                }
                prop_assert!(r
                    .items
                    .iter()
                    .all(|i| !req.rules.exclude_ids.contains(&i.item_id)));
                prop_assert_eq!(r.personalized, r.fallback.is_none());
                accepted();
                Ok(())
            }
            Err(e) => expect_input_error(&e, "rank"),
        }
    };
    // Regression found by this property: one item pinned twice was shown twice.
    let twice = RankRequest {
        limit: 5,
        rules: BusinessRules {
            pinned: vec![
                Pin {
                    item_id: "shoes-3".into(),
                    position: 0,
                },
                Pin {
                    item_id: "shoes-3".into(),
                    position: 1,
                },
            ],
            ..Default::default()
        },
        ..Default::default()
    };
    expect_input_error(&t.rank(twice).unwrap_err(), "item pinned twice").unwrap();
    fuzz("RankRequest through rank", 256, rank_request(), check);
    t.set_consent(false).unwrap();
    fuzz(
        "RankRequest through rank, opted out",
        64,
        rank_request(),
        check,
    );
}

// ---------------------------------------------------------------------------------------------
// Manifest JSON and model bytes
// ---------------------------------------------------------------------------------------------

fn feature_names() -> Vec<String> {
    tailor::features::Feature::all()
        .into_iter()
        .map(|f| f.name())
        .collect()
}

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        weird_f64().prop_map(|f| json!(f)),
        weird_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn manifest_json() -> BoxedStrategy<String> {
    let names = feature_names();
    let feature = mostly(prop::sample::select(names), weird_string());
    let features = prop_oneof![
        12 => prop::collection::vec(feature, 1..10).prop_map(|v| json!(v)),
        1 => Just(json!([])),
        1 => prop::collection::vec(Just("bought_count".to_string()), 257..260).prop_map(|v| json!(v)),
        1 => json_value(),
    ];
    let sha = mostly(
        "[0-9a-fA-F]{64}",
        prop_oneof!["[0-9a-f]{0,70}", Just("g".repeat(64)), Just("é".repeat(32)),],
    );
    let text = || mostly("[a-z0-9.-]{1,10}", weird_string());
    let field = |v: BoxedStrategy<Value>| prop_oneof![12 => v.prop_map(Some), 1 => Just(None)];
    (
        field(text().prop_map(Value::String).boxed()),
        field(text().prop_map(Value::String).boxed()),
        field(features.boxed()),
        field(sha.prop_map(Value::String).boxed()),
        prop_oneof![
            6 => Just(None),
            3 => Just(Some(json!({"features": "features"}))),
            1 => text().prop_map(|s| Some(json!({ "features": s }))),
            1 => json_value().prop_map(Some),
        ],
        prop_oneof![6 => Just(None), 3 => Just(Some(json!("score"))), 1 => json_value().prop_map(Some)],
        prop_oneof![8 => Just(None), 1 => "[0-9a-f]{128}".prop_map(|s| Some(json!(s))), 1 => json_value().prop_map(Some)],
        prop_oneof![8 => Just(None), 1 => ("[a-z]{1,6}", json_value()).prop_map(Some)],
    )
        .prop_map(
            |(name, version, features, sha256, inputs, output, signature, extra)| {
                let mut m = serde_json::Map::new();
                for (k, v) in [
                    ("name", name),
                    ("version", version),
                    ("features", features),
                    ("sha256", sha256),
                    ("inputs", inputs),
                    ("output", output),
                    ("signature", signature),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                }
                if let Some((k, v)) = extra {
                    m.insert(k, v);
                }
                Value::Object(m).to_string()
            },
        )
        .boxed()
}

fn check_manifest(text: &str) -> TestCaseResult {
    match Manifest::parse(text) {
        Ok(m) => {
            prop_assert!((1..=256).contains(&m.features.len()));
            prop_assert!(m.sha256.len() == 64 && m.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
            for s in [&m.name, &m.version, &m.output, &m.inputs.features] {
                prop_assert!(!s.trim().is_empty() && s.len() <= 128);
            }
            let _ = m.signing_message();
            accepted();
            match m.resolve_features() {
                Ok(f) => prop_assert_eq!(f.len(), m.features.len()),
                Err(Error::Model(
                    ModelProblem::UnknownFeature | ModelProblem::InvalidManifest,
                    msg,
                )) => {
                    prop_assert!(!msg.is_empty())
                }
                Err(other) => prop_assert!(false, "resolve_features: {other:?}"),
            }
            Ok(())
        }
        Err(Error::Model(ModelProblem::InvalidManifest, msg)) => {
            prop_assert!(!msg.is_empty());
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!("parse: {other:?}"))),
    }
}

use tailor::model::Manifest;

#[test]
fn manifest_json_never_panics() {
    fuzz(
        "manifest JSON, arbitrary text",
        256,
        "(?s).{0,300}",
        |text| check_manifest(&text),
    );
    fuzz("manifest JSON, structured", 256, manifest_json(), |text| {
        check_manifest(&text)
    });
}

thread_local! {
    /// Accepted models that then failed (typed) on a batch size other than the probe's.
    static BATCH_FRAGILE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Panics inside tract that the runtime turned into typed rejections.
    static TRACT_PANICS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A model validated from these bytes, with a manifest whose hash matches them: only typed model
/// errors. An accepted model scores another batch size with a result or a typed error (ranking
/// then falls back to popularity, flagged ModelFailed).
fn check_model(bytes: &[u8], manifest: &Value) -> TestCaseResult {
    let mut manifest = manifest.clone();
    manifest["sha256"] = json!(sha256_hex(bytes));
    match tailor::model::registry::validate(bytes, &manifest.to_string(), &[]) {
        Ok(tailor::model::registry::Validated {
            manifest: m,
            features,
            runtime,
            ..
        }) => {
            prop_assert_eq!(features.len(), m.features.len());
            let rows = 7;
            match runtime.score(&vec![0.5; rows * runtime.width()], rows) {
                Ok(scores) => prop_assert_eq!(scores.len(), rows),
                Err(Error::Model(_, msg)) => {
                    prop_assert!(!msg.is_empty());
                    BATCH_FRAGILE.with(|c| c.set(c.get() + 1));
                }
                Err(other) => prop_assert!(false, "score: {other:?}"),
            }
            accepted();
            Ok(())
        }
        Err(Error::Model(_, msg)) => {
            prop_assert!(!msg.is_empty());
            if msg.contains("the ONNX runtime failed on this graph") {
                TRACT_PANICS.with(|c| c.set(c.get() + 1));
            }
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!("validate: {other:?}"))),
    }
}

fn read_model(folder: &std::path::Path) -> (Vec<u8>, Value) {
    let bytes = std::fs::read(folder.join("model.onnx")).unwrap();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("manifest.json")).unwrap())
            .unwrap();
    (bytes, manifest)
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    prop_oneof![
        4 => (pos, 0..8u8).prop_map(|(p, b)| Mutation::Flip(p, b)),
        3 => (pos, prop::sample::select(vec![0u8, 1, 0x7f, 0x80, 0xff, 0x08, 0x12, 0x1a]))
            .prop_map(|(p, b)| Mutation::Set(p, b)),
        2 => (pos, any::<u8>()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        2 => pos.prop_map(Mutation::Delete),
        1 => pos.prop_map(Mutation::Truncate),
        1 => (pos, 1..16usize).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
    ]
}

fn mutate(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for m in mutations {
        if b.is_empty() {
            break;
        }
        let at = |p: usize| p % b.len();
        match *m {
            Mutation::Flip(p, bit) => {
                let i = at(p);
                b[i] ^= 1 << bit;
            }
            Mutation::Set(p, v) => {
                let i = at(p);
                b[i] = v;
            }
            Mutation::Insert(p, v) => {
                let i = at(p);
                b.insert(i, v);
            }
            Mutation::Delete(p) => {
                let i = at(p);
                b.remove(i);
            }
            Mutation::Truncate(p) => {
                let i = at(p);
                b.truncate(i);
            }
            Mutation::Duplicate(p, n) => {
                let i = at(p);
                let chunk: Vec<u8> = b[i..(i + n).min(b.len())].to_vec();
                b.splice(i..i, chunk);
            }
        }
    }
    b
}

#[test]
fn model_bytes_never_panic() {
    let (valid, manifest) = read_model(&repo().join("tests/fixtures/models/valid_linear"));
    // The unmutated model is accepted: the harness itself is sound.
    check_model(&valid, &manifest).unwrap();
    assert!(tailor::model::registry::validate(&valid, &manifest.to_string(), &[]).is_ok());
    fuzz(
        "model bytes, arbitrary",
        256,
        prop::collection::vec(any::<u8>(), 0..4096),
        |bytes| check_model(&bytes, &manifest),
    );
    // Bytes that start like an ONNX ModelProto (ir_version, producer, graph) and then go wrong.
    fuzz(
        "model bytes, valid prefix + garbage",
        128,
        (0..valid.len(), prop::collection::vec(any::<u8>(), 0..256)),
        |(cut, tail)| {
            let mut bytes = valid[..cut].to_vec();
            bytes.extend(tail);
            check_model(&bytes, &manifest)
        },
    );
}

#[test]
fn mutated_models_never_panic() {
    for (folder, cases) in [
        (repo().join("tests/fixtures/models/valid_linear"), 64),
        (repo().join("models/linear-ranker"), 32),
    ] {
        let (valid, manifest) = read_model(&folder);
        let name = format!(
            "model bytes, mutated {}",
            folder.file_name().unwrap().to_string_lossy()
        );
        fuzz(
            &name,
            cases,
            prop::collection::vec(mutation(), 1..6),
            |mutations| check_model(&mutate(&valid, &mutations), &manifest),
        );
    }
}

// Structure-aware mutations: decode a valid model, change one thing in its graph (an operator, an
// attribute, a tensor's shape or type, a wiring), encode it again. The bytes are a well-formed
// protobuf, so they get past the decoder into tract's graph translation, type inference and
// optimizer: the parts a byte flip rarely reaches.

use prost::Message;
use tract_onnx::pb;

const OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Add",
    "Mul",
    "Sub",
    "Div",
    "Relu",
    "Sigmoid",
    "Tanh",
    "Exp",
    "Log",
    "Sqrt",
    "Neg",
    "Abs",
    "Reshape",
    "Transpose",
    "Concat",
    "Slice",
    "Gather",
    "Squeeze",
    "Unsqueeze",
    "ReduceSum",
    "ReduceMean",
    "Softmax",
    "Cast",
    "Identity",
    "Flatten",
    "Conv",
    "MaxPool",
    "Loop",
    "If",
    "Scan",
    "Where",
    "Greater",
    "TopK",
    "Expand",
    "Tile",
    "Pad",
    "Resize",
    "Einsum",
    "Range",
    "ConstantOfShape",
    "Constant",
    "TreeEnsembleRegressor",
    "LinearRegressor",
    "NoSuchOp",
    "",
];

const ATTRS: &[&str] = &[
    "transA",
    "transB",
    "alpha",
    "beta",
    "axis",
    "axes",
    "perm",
    "keepdims",
    "to",
    "shape",
    "value",
    "k",
    "mode",
    "allowzero",
    "kernel_shape",
    "pads",
    "strides",
    "group",
];

#[derive(Debug, Clone)]
enum GraphMutation {
    OpType(usize, &'static str),
    Domain(usize, &'static str),
    NodeInput(usize, usize, String),
    DropNodeInput(usize),
    NodeOutput(usize, String),
    DropNode(usize),
    DuplicateNode(usize),
    SwapNodes(usize, usize),
    AttrInt(usize, &'static str, i64),
    AttrFloat(usize, &'static str, f32),
    AttrInts(usize, &'static str, Vec<i64>),
    AttrTensor(usize, &'static str, Vec<i64>, i32, Vec<u8>),
    DropAttrs(usize),
    InitDims(usize, Vec<i64>),
    InitType(usize, i32),
    InitRaw(usize, Vec<u8>),
    InitFloats(usize, Vec<f32>),
    DropInit(usize),
    InputDim(usize, usize, Option<Result<i64, String>>),
    InputElemType(usize, i32),
    InputRank(usize, usize),
    OutputName(usize, String),
    Opset(i64),
    IrVersion(i64),
}

fn dim() -> BoxedStrategy<i64> {
    prop_oneof![
        6 => -2..6i64,
        1 => Just(1 << 20),
        1 => Just(1 << 40),
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
    ]
    .boxed()
}

fn graph_mutation() -> BoxedStrategy<GraphMutation> {
    use GraphMutation as M;
    let sel = any::<usize>;
    let name = || {
        prop_oneof![
            3 => prop::sample::select(vec!["features", "score", "W", "B", "x", "missing", ""])
                .prop_map(String::from),
            1 => "[a-z_0-9]{1,12}",
        ]
    };
    let op = || prop::sample::select(OPS.to_vec());
    let attr = || prop::sample::select(ATTRS.to_vec());
    let dtype = || prop_oneof![4 => 0..17i32, 1 => any::<i32>()];
    prop_oneof![
        4 => (sel(), op()).prop_map(|(n, o)| M::OpType(n, o)),
        1 => (sel(), prop::sample::select(vec!["", "ai.onnx.ml", "com.microsoft", "x"]))
            .prop_map(|(n, d)| M::Domain(n, d)),
        2 => (sel(), sel(), name()).prop_map(|(n, i, s)| M::NodeInput(n, i, s)),
        1 => sel().prop_map(M::DropNodeInput),
        1 => (sel(), name()).prop_map(|(n, s)| M::NodeOutput(n, s)),
        1 => sel().prop_map(M::DropNode),
        1 => sel().prop_map(M::DuplicateNode),
        1 => (sel(), sel()).prop_map(|(a, b)| M::SwapNodes(a, b)),
        3 => (sel(), attr(), prop_oneof![-3..4i64, any::<i64>()])
            .prop_map(|(n, a, v)| M::AttrInt(n, a, v)),
        2 => (sel(), attr(), prop_oneof![-2.0..2.0f32, proptest::num::f32::ANY])
            .prop_map(|(n, a, v)| M::AttrFloat(n, a, v)),
        2 => (sel(), attr(), prop::collection::vec(dim(), 0..5))
            .prop_map(|(n, a, v)| M::AttrInts(n, a, v)),
        1 => (sel(), attr(), prop::collection::vec(dim(), 0..3), dtype(),
              prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(n, a, d, t, r)| M::AttrTensor(n, a, d, t, r)),
        1 => sel().prop_map(M::DropAttrs),
        3 => (sel(), prop::collection::vec(dim(), 0..4)).prop_map(|(i, d)| M::InitDims(i, d)),
        2 => (sel(), dtype()).prop_map(|(i, t)| M::InitType(i, t)),
        2 => (sel(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(i, r)| M::InitRaw(i, r)),
        1 => (sel(), prop::collection::vec(proptest::num::f32::ANY, 0..16))
            .prop_map(|(i, f)| M::InitFloats(i, f)),
        1 => sel().prop_map(M::DropInit),
        2 => (sel(), sel(), prop_oneof![
                1 => Just(None),
                3 => dim().prop_map(|d| Some(Ok(d))),
                1 => "[A-Za-z]{0,3}".prop_map(|p| Some(Err(p))),
            ])
            .prop_map(|(i, d, v)| M::InputDim(i, d, v)),
        1 => (sel(), dtype()).prop_map(|(i, t)| M::InputElemType(i, t)),
        1 => (sel(), 0..5usize).prop_map(|(i, r)| M::InputRank(i, r)),
        1 => (sel(), name()).prop_map(|(i, s)| M::OutputName(i, s)),
        1 => prop_oneof![0..25i64, any::<i64>()].prop_map(M::Opset),
        1 => prop_oneof![0..12i64, any::<i64>()].prop_map(M::IrVersion),
    ]
    .boxed()
}

fn pick<T>(v: &mut [T], i: usize) -> Option<&mut T> {
    if v.is_empty() {
        None
    } else {
        let n = v.len();
        v.get_mut(i % n)
    }
}

fn set_attr(node: &mut pb::NodeProto, name: &str, f: impl FnOnce(&mut pb::AttributeProto)) {
    if let Some(a) = node.attribute.iter_mut().find(|a| a.name == name) {
        f(a);
    } else {
        let mut a = pb::AttributeProto {
            name: name.into(),
            ..Default::default()
        };
        f(&mut a);
        node.attribute.push(a);
    }
}

fn apply(model: &mut pb::ModelProto, m: &GraphMutation) {
    use pb::tensor_shape_proto::{dimension::Value as Dim, Dimension};
    use pb::type_proto::Value as Type;
    use GraphMutation as M;
    if let M::Opset(v) = m {
        for o in &mut model.opset_import {
            o.version = *v;
        }
        return;
    }
    if let M::IrVersion(v) = m {
        model.ir_version = *v;
        return;
    }
    let Some(g) = model.graph.as_mut() else {
        return;
    };
    match m.clone() {
        M::OpType(n, op) => {
            if let Some(node) = pick(&mut g.node, n) {
                node.op_type = op.into();
            }
        }
        M::Domain(n, d) => {
            if let Some(node) = pick(&mut g.node, n) {
                node.domain = d.into();
            }
        }
        M::NodeInput(n, i, s) => {
            if let Some(node) = pick(&mut g.node, n) {
                match pick(&mut node.input, i) {
                    Some(input) if i % 2 == 0 => *input = s,
                    _ => node.input.push(s),
                }
            }
        }
        M::DropNodeInput(n) => {
            if let Some(node) = pick(&mut g.node, n) {
                node.input.pop();
            }
        }
        M::NodeOutput(n, s) => {
            if let Some(out) = pick(&mut g.node, n).and_then(|node| node.output.first_mut()) {
                *out = s;
            }
        }
        M::DropNode(n) => {
            if !g.node.is_empty() {
                let i = n % g.node.len();
                g.node.remove(i);
            }
        }
        M::DuplicateNode(n) => {
            if let Some(node) = pick(&mut g.node, n).cloned() {
                g.node.push(node);
            }
        }
        M::SwapNodes(a, b) => {
            if !g.node.is_empty() {
                let len = g.node.len();
                g.node.swap(a % len, b % len);
            }
        }
        M::AttrInt(n, name, v) => {
            if let Some(node) = pick(&mut g.node, n) {
                set_attr(node, name, |a| {
                    a.r#type = 2;
                    a.i = v;
                });
            }
        }
        M::AttrFloat(n, name, v) => {
            if let Some(node) = pick(&mut g.node, n) {
                set_attr(node, name, |a| {
                    a.r#type = 1;
                    a.f = v;
                });
            }
        }
        M::AttrInts(n, name, v) => {
            if let Some(node) = pick(&mut g.node, n) {
                set_attr(node, name, |a| {
                    a.r#type = 7;
                    a.ints = v;
                });
            }
        }
        M::AttrTensor(n, name, dims, data_type, raw_data) => {
            if let Some(node) = pick(&mut g.node, n) {
                set_attr(node, name, |a| {
                    a.r#type = 4;
                    a.t = Some(pb::TensorProto {
                        dims,
                        data_type,
                        raw_data,
                        ..Default::default()
                    });
                });
            }
        }
        M::DropAttrs(n) => {
            if let Some(node) = pick(&mut g.node, n) {
                node.attribute.clear();
            }
        }
        M::InitDims(i, d) => {
            if let Some(t) = pick(&mut g.initializer, i) {
                t.dims = d;
            }
        }
        M::InitType(i, ty) => {
            if let Some(t) = pick(&mut g.initializer, i) {
                t.data_type = ty;
            }
        }
        M::InitRaw(i, r) => {
            if let Some(t) = pick(&mut g.initializer, i) {
                t.raw_data = r;
                t.float_data.clear();
            }
        }
        M::InitFloats(i, f) => {
            if let Some(t) = pick(&mut g.initializer, i) {
                t.float_data = f;
                t.raw_data.clear();
            }
        }
        M::DropInit(i) => {
            if !g.initializer.is_empty() {
                let i = i % g.initializer.len();
                g.initializer.remove(i);
            }
        }
        M::InputDim(i, d, v) => {
            if let Some(Type::TensorType(t)) =
                pick(&mut g.input, i).and_then(|x| x.r#type.as_mut()?.value.as_mut())
            {
                if let Some(shape) = t.shape.as_mut() {
                    if let Some(dim) = pick(&mut shape.dim, d) {
                        dim.value = v.map(|v| match v {
                            Ok(n) => Dim::DimValue(n),
                            Err(p) => Dim::DimParam(p),
                        });
                    }
                }
            }
        }
        M::InputElemType(i, ty) => {
            if let Some(Type::TensorType(t)) =
                pick(&mut g.input, i).and_then(|x| x.r#type.as_mut()?.value.as_mut())
            {
                t.elem_type = ty;
            }
        }
        M::InputRank(i, rank) => {
            if let Some(Type::TensorType(t)) =
                pick(&mut g.input, i).and_then(|x| x.r#type.as_mut()?.value.as_mut())
            {
                if let Some(shape) = t.shape.as_mut() {
                    shape.dim.resize(
                        rank,
                        Dimension {
                            denotation: String::new(),
                            value: Some(Dim::DimValue(1)),
                        },
                    );
                }
            }
        }
        M::OutputName(i, s) => {
            if let Some(o) = pick(&mut g.output, i) {
                o.name = s;
            }
        }
        M::Opset(_) | M::IrVersion(_) => {}
    }
}

#[test]
fn structurally_mutated_models_never_panic() {
    for (folder, cases) in [
        (repo().join("tests/fixtures/models/valid_linear"), 128),
        (repo().join("models/mlp-ranker"), 64),
        (repo().join("models/gbt-ranker"), 64),
    ] {
        let (valid, manifest) = read_model(&folder);
        let proto = pb::ModelProto::decode(&valid[..]).unwrap();
        // Re-encoding an unchanged model gives a model that still loads.
        check_model(&proto.encode_to_vec(), &manifest).unwrap();
        let name = format!(
            "model graph, mutated {}",
            folder.file_name().unwrap().to_string_lossy()
        );
        fuzz(
            &name,
            cases,
            prop::collection::vec(graph_mutation(), 1..4),
            |mutations| {
                let mut model = proto.clone();
                for m in &mutations {
                    apply(&mut model, m);
                }
                check_model(&model.encode_to_vec(), &manifest)
            },
        );
    }
    eprintln!(
        "hostile_input: mutated graphs: {} tract panics turned into typed rejections; {} accepted \
         graphs that fail (typed) at a batch size other than the probe's",
        TRACT_PANICS.with(|c| c.get()),
        BATCH_FRAGILE.with(|c| c.get())
    );
}

/// Regressions found by the property above: graphs that made tract panic (an output that no node
/// produces; a raw tensor of a type tract cannot load) are refused with a typed error.
#[test]
fn graphs_that_made_tract_panic_are_rejected() {
    let (valid, manifest) = read_model(&repo().join("tests/fixtures/models/valid_linear"));
    let proto = pb::ModelProto::decode(&valid[..]).unwrap();
    let rejected_as_not_onnx = |model: &pb::ModelProto, what: &str| {
        let bytes = model.encode_to_vec();
        let mut m = manifest.clone();
        m["sha256"] = json!(sha256_hex(&bytes));
        match tailor::model::registry::validate(&bytes, &m.to_string(), &[]) {
            Err(Error::Model(ModelProblem::NotOnnx, msg)) => eprintln!("{what}: {msg}"),
            Err(other) => panic!("{what}: {other:?}"),
            Ok(_) => panic!("{what}: accepted"),
        }
    };
    let mut unwired = proto.clone();
    unwired
        .graph
        .as_mut()
        .unwrap()
        .output
        .push(pb::ValueInfoProto {
            name: "dangling".into(),
            ..Default::default()
        });
    rejected_as_not_onnx(&unwired, "output no node produces");
    let mut raw = proto.clone();
    for t in &mut raw.graph.as_mut().unwrap().initializer {
        t.data_type = 8; // STRING, from raw bytes
        t.raw_data = vec![1, 2, 3, 4];
        t.float_data.clear();
    }
    rejected_as_not_onnx(&raw, "raw string tensor");
}

// ---------------------------------------------------------------------------------------------
// Catalog limits are checked under the writer lock, against the catalog as it is.
// ---------------------------------------------------------------------------------------------

fn embedded(id: &str, dim: usize) -> Item {
    Item {
        embedding: Some(vec![0.5; dim]),
        ..item(id, "c", "b", 1.0, 1.0)
    }
}

#[test]
fn a_batch_larger_than_the_catalog_still_matches_its_embedding_dimension() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(vec![embedded("a", 4), embedded("b", 4)])
        .unwrap();
    let wider: Vec<Item> = ["c", "d", "e"].iter().map(|id| embedded(id, 8)).collect();
    let err = t.upsert_items(wider).unwrap_err();
    assert!(
        matches!(&err, TailorError::InvalidInput { message } if message.contains("uses 4")),
        "{err:?}"
    );
    assert_eq!(t.status().unwrap().catalog_items, 2, "nothing written");
    // Replacing every embedded item may change the dimension.
    let all = ["a", "b", "c"].iter().map(|id| embedded(id, 8)).collect();
    t.upsert_items(all).unwrap();
    assert_eq!(t.status().unwrap().catalog_items, 3);
}

#[test]
fn concurrent_upserts_never_exceed_the_item_limit() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tailor::open(TailorConfig {
        max_catalog_items: 1_000,
        ..config(&dir)
    })
    .unwrap();
    let barrier = std::sync::Barrier::new(2);
    let results: Vec<Result<u32, TailorError>> = std::thread::scope(|s| {
        let handles: Vec<_> = ["x", "y"]
            .iter()
            .map(|prefix| {
                let (t, barrier) = (&t, &barrier);
                s.spawn(move || {
                    let items = (0..600)
                        .map(|i| item(&format!("{prefix}-{i}"), "c", "b", 1.0, 1.0))
                        .collect();
                    barrier.wait();
                    t.upsert_items(items)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert_eq!(t.status().unwrap().catalog_items, 600);
}
