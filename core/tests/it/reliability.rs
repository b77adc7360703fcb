//! A store that loses nothing (issue 5, points 10-12 and 14): corrupt files, migrations from every
//! earlier schema version, concurrency under load, disk full and read-only directories.
//!
//! Long mode: `TAILOR_STRESS_SECS=10 cargo test -p tailor-core --test it reliability::stress -- --nocapture`
//! runs the 8-thread stress test for 10 s (default 3 s) and prints the operation counts.
//!
//! Migration fixtures live in `tests/fixtures/db/<store>-v<N>.db`: one per schema version of each
//! store, the current one included, with the same shopper and catalog in each. A fixture is written
//! while its version is current and never regenerated, so it captures what that release wrote.
//! When a migration is added (say profile.db v3), run
//! `cargo test -p tailor-core --test it reliability::generate_db_fixtures -- --ignored` once the new
//! schema is final (it writes only the missing `profile-v3.db`; `TAILOR_REGEN_FIXTURES=1` rewrites
//! them all; a migration that changes the tables `profile_rows` fills needs a new arm there) and
//! commit the file. The upgrade test loops over the folder, so nothing else changes.

use crate::common::*;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tailor::engine::profile::ProfileEvent;
use tailor::engine::profile::{NewEvent, WriteBatch};
use tailor::engine::profile::{Params, ProfileState, ProfileStore};
use tailor::engine::sql::Schema;
use tailor::*;

// ---------------------------------------------------------------------------------------------
// Corruption: a damaged file is moved aside, reported, and the app keeps working.
// ---------------------------------------------------------------------------------------------

/// A real store: catalog with 1012 items, a profile with 300 events; closed cleanly.
fn real_store(dir: &Path) {
    let t = Tailor::open(TailorConfig {
        max_event_age_days: 36_500,
        ..TailorConfig::new(dir.display().to_string())
    })
    .unwrap();
    let mut items = catalog();
    items.extend((0..1000).map(|i| item(&format!("bulk-{i:03}"), "bulk", "acme", 5.0, 1.0)));
    t.upsert_items(items).unwrap();
    t.track_batch(
        (0..300)
            .map(|i| event(EventKind::View, &format!("bulk-{:03}", i % 200), NOW - i))
            .collect(),
    )
    .unwrap();
    t.close();
}

fn files_starting_with(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    v.sort();
    v
}

fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    (0..len).map(|_| rng.random()).collect()
}

/// Open a damaged directory and check the app can use it as if new.
fn open_and_use(dir: &Path) -> (Arc<Tailor>, Vec<StoreNotice>) {
    let t = Tailor::open(TailorConfig {
        max_event_age_days: 36_500,
        ..TailorConfig::new(dir.display().to_string())
    })
    .unwrap_or_else(|e| panic!("open must survive damaged files: {e}"));
    let notices = t.status().unwrap().notices;
    let before = t.status().unwrap();
    t.upsert_items(vec![item("after-1", "fresh", "acme", 3.0, 50.0)])
        .unwrap();
    t.track(event(EventKind::Purchase, "after-1", NOW)).unwrap();
    let s = t.status().unwrap();
    assert_eq!(s.profile_events, before.profile_events + 1);
    let r = t.rank(request(5)).unwrap();
    assert!(r.personalized, "{:?}", r.fallback);
    assert!(r.items.iter().any(|i| i.item_id == "after-1"));
    (t, notices)
}

/// The notice for `store` names the moved file, which exists and holds the damaged bytes.
fn assert_moved_aside(dir: &Path, notices: &[StoreNotice], store: &str, damaged: &[u8]) {
    let file = format!("{store}.db");
    let notice = notices
        .iter()
        .find(|n| n.store == store)
        .unwrap_or_else(|| panic!("no {store} notice in {notices:?}"));
    let moved = files_starting_with(dir, &format!("{file}.corrupt-"));
    let main: Vec<&PathBuf> = moved
        .iter()
        .filter(|p| {
            !p.to_string_lossy().ends_with("-wal") && !p.to_string_lossy().ends_with("-shm")
        })
        .collect();
    assert_eq!(main.len(), 1, "one moved-aside copy of {file}: {moved:?}");
    let name = main[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        notice.message.contains(&name) && notice.message.contains("damaged"),
        "the notice names the moved file {name}: {notice:?}"
    );
    assert_eq!(
        std::fs::read(main[0]).unwrap(),
        damaged,
        "kept byte for byte"
    );
}

#[test]
fn garbage_store_files_are_moved_aside_and_reported() {
    let cases: [(&str, &[&str]); 3] = [
        ("catalog only", &["catalog"]),
        ("profile only", &["profile"]),
        ("both", &["catalog", "profile"]),
    ];
    for (n, (what, stores)) in cases.iter().enumerate() {
        for (k, bytes) in [
            garbage(n as u64, 8192),
            vec![0u8; 4096],
            b"SQLite format 3\0"
                .iter()
                .copied()
                .chain(garbage(99, 5000))
                .collect(),
        ]
        .into_iter()
        .enumerate()
        {
            let dir = tempfile::tempdir().unwrap();
            for s in *stores {
                std::fs::write(dir.path().join(format!("{s}.db")), &bytes).unwrap();
            }
            let (t, notices) = open_and_use(dir.path());
            assert_eq!(notices.len(), stores.len(), "{what}/{k}: {notices:?}");
            for s in *stores {
                assert_moved_aside(dir.path(), &notices, s, &bytes);
            }
            // The fresh files are clean: a second open reports nothing.
            drop(t);
            let (_t, notices) = open_and_use(dir.path());
            assert!(notices.is_empty(), "{what}/{k}: {notices:?}");
        }
    }
}

#[test]
fn truncated_store_files_are_moved_aside_and_reported() {
    let source = tempfile::tempdir().unwrap();
    real_store(source.path());
    for store in ["profile", "catalog"] {
        let full = std::fs::read(source.path().join(format!("{store}.db"))).unwrap();
        assert!(full.len() >= 8 * 4096, "{store}.db is {} bytes", full.len());
        for len in [50, 100, 4096 + 1000, full.len() / 2, full.len() - 4096] {
            let dir = tempfile::tempdir().unwrap();
            for s in ["profile", "catalog"] {
                std::fs::copy(
                    source.path().join(format!("{s}.db")),
                    dir.path().join(format!("{s}.db")),
                )
                .unwrap();
            }
            let cut = &full[..len];
            std::fs::write(dir.path().join(format!("{store}.db")), cut).unwrap();
            let (_t, notices) = open_and_use(dir.path());
            assert_eq!(notices.len(), 1, "{store} cut at {len}: {notices:?}");
            assert_moved_aside(dir.path(), &notices, store, cut);
        }
    }
}

#[test]
fn a_corrupt_wal_never_stops_the_app() {
    let source = tempfile::tempdir().unwrap();
    real_store(source.path());

    // A garbage -wal beside a good checkpointed file: SQLite ignores a WAL whose header does not
    // check out, so every committed row is still there.
    let dir = tempfile::tempdir().unwrap();
    for s in ["profile", "catalog"] {
        std::fs::copy(
            source.path().join(format!("{s}.db")),
            dir.path().join(format!("{s}.db")),
        )
        .unwrap();
        std::fs::write(
            dir.path().join(format!("{s}.db-wal")),
            garbage(7, 3 * 4096 + 123),
        )
        .unwrap();
    }
    let (t, notices) = open_and_use(dir.path());
    assert!(notices.is_empty(), "{notices:?}");
    let s = t.status().unwrap();
    assert_eq!((s.catalog_items, s.profile_events), (1013, 301));
    drop(t);

    // A real WAL (copied while the store is open, as a crash would leave it) with a damaged frame:
    // replay stops at the first bad checksum, the file stays consistent, nothing panics.
    let live = tempfile::tempdir().unwrap();
    for s in ["profile", "catalog"] {
        std::fs::copy(
            source.path().join(format!("{s}.db")),
            live.path().join(format!("{s}.db")),
        )
        .unwrap();
    }
    let t = Tailor::open(TailorConfig {
        max_event_age_days: 36_500,
        ..TailorConfig::new(live.path().display().to_string())
    })
    .unwrap();
    for i in 0..20 {
        t.track_batch(
            (0..10)
                .map(|j| event(EventKind::Click, &format!("wal-{i}-{j}"), NOW))
                .collect(),
        )
        .unwrap();
    }
    let wal = std::fs::read(live.path().join("profile.db-wal")).unwrap();
    assert!(wal.len() > 8 * 4096, "the WAL holds the new commits");
    for flip_at in [32 + 24 + 100, wal.len() / 2, wal.len() - 200] {
        let dir = tempfile::tempdir().unwrap();
        for s in ["profile", "catalog"] {
            std::fs::copy(
                live.path().join(format!("{s}.db")),
                dir.path().join(format!("{s}.db")),
            )
            .unwrap();
        }
        let mut damaged = wal.clone();
        for b in &mut damaged[flip_at..flip_at + 64] {
            *b ^= 0xA5;
        }
        std::fs::write(dir.path().join("profile.db-wal"), &damaged).unwrap();
        let (t, notices) = open_and_use(dir.path());
        let events = t.status().unwrap().profile_events;
        assert!(
            (300..=501).contains(&events),
            "flip at {flip_at}: {events} events, {notices:?}"
        );
        drop(t);
        let conn = rusqlite::Connection::open(dir.path().join("profile.db")).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "flip at {flip_at}");
    }
    drop(t);
}

#[test]
fn an_empty_store_file_opens_as_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("profile.db"), b"").unwrap();
    std::fs::write(dir.path().join("catalog.db"), b"").unwrap();
    let (_t, notices) = open_and_use(dir.path());
    assert!(notices.is_empty(), "{notices:?}");
}

// ---------------------------------------------------------------------------------------------
// Migrations: a committed fixture for every schema version of each store.
// ---------------------------------------------------------------------------------------------

fn fixtures_dir() -> PathBuf {
    repo().join("tests/fixtures/db")
}

fn stores() -> [(&'static str, &'static Schema); 2] {
    [
        ("profile", &tailor::engine::profile::SCHEMA),
        ("catalog", &tailor::engine::catalog::SCHEMA),
    ]
}

/// Fixed install salt of the profile fixtures, so their session hashes are known.
const FIXTURE_SALT: &str = "5a17f1c7a3e0b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0";
const FIXTURE_SESSION: &str = "fx-session";

fn fixture_session_hash() -> String {
    let salt = hex::decode(FIXTURE_SALT).unwrap();
    tailor::engine::profile::keyed_hash(&salt, FIXTURE_SESSION)
}

/// The same shopper at every profile.db version: 3 purchases of fx-bought (quantity 4 in all), a
/// view of fx-viewed, affinities, one preference, consent granted.
fn profile_rows(version: i64) -> String {
    let (p1, p2, p3, v1) = (NOW - 30 * DAY, NOW - 20 * DAY, NOW - 10 * DAY, NOW - DAY);
    let session = fixture_session_hash();
    let common = format!(
        "INSERT INTO meta (key, value) VALUES ('salt', '{FIXTURE_SALT}'), ('consent', '1'),
            ('event_count', '4'), ('last_event', '{v1}');
         INSERT INTO events (ts, kind, item_id, session, quantity, surface, resolved) VALUES
            ({p1}, 3, 'fx-bought', '{session}', 2, 'home', 1),
            ({p2}, 3, 'fx-bought', '{session}', 1, NULL, 1),
            ({p3}, 3, 'fx-bought', NULL, 1, 'search', 1),
            ({v1}, 0, 'fx-viewed', NULL, 1, 'pdp', 1);
         INSERT INTO affinities (dim, key, score, as_of) VALUES
            (0, 'fx-cat', 20.0, {p3}), (1, 'fx-brand', 20.0, {p3}), (2, 'fx-tag', 20.0, {p3}),
            (0, 'fx-other', 1.0, {v1});
         INSERT INTO preferences (kind, value) VALUES (2, 'fx-pref');"
    );
    let stats = match version {
        1 => format!(
            "INSERT INTO item_stats (item_id, views, clicks, carts, purchases, quantity, last_view,
                last_cart, last_purchase, last_dismiss, last_seen) VALUES
                ('fx-bought', 0, 0, 0, 3, 4, 0, 0, {p3}, 0, {p3}),
                ('fx-viewed', 1, 0, 0, 0, 0, {v1}, 0, 0, 0, {v1});"
        ),
        // v2 added the purchase-cycle columns. Later versions that leave these tables alone use
        // the same rows; one that changes them needs its own arm (the generator fails loudly).
        _ => format!(
            "INSERT INTO item_stats (item_id, views, clicks, carts, purchases, quantity, last_view,
                last_cart, last_purchase, last_dismiss, last_seen, first_purchase,
                recent_purchases, recent_purchases_at) VALUES
                ('fx-bought', 0, 0, 0, 3, 4, 0, 0, {p3}, 0, {p3}, {p1}, 2.5, {p3}),
                ('fx-viewed', 1, 0, 0, 0, 0, {v1}, 0, 0, 0, {v1}, 0, 0, 0);"
        ),
    };
    // v4: a "not interested" mark; v5: an impression citing a response, and its placement.
    let not_interested = match version {
        1..=3 => String::new(),
        _ => {
            format!("INSERT INTO not_interested (kind, value, since) VALUES (1, 'fx-dull', {v1});")
        }
    };
    let placements = match version {
        1..=4 => String::new(),
        _ => format!(
            "INSERT INTO impressions (ts, item_id, surface, experiment, variant, position,
                response_id) VALUES ({v1}, 'fx-viewed', 'home', '', '', 0, 'fx-response');
             INSERT INTO placements (response_id, surface, experiment, variant, shown_at,
                impressions, clicks, carts, purchases, revenue)
                VALUES ('fx-response', 'home', '', '', {v1}, 1, 1, 0, 0, 0);"
        ),
    };
    common + &stats + &not_interested + &placements
}

fn fixture_items() -> Vec<Item> {
    vec![
        Item {
            id: "fx-bought".into(),
            title: "Fixture mug, blue".into(),
            category: "fx-cat".into(),
            brand: "fx-brand".into(),
            price: 12.5,
            tags: vec!["fx-tag".into(), "blue".into()],
            in_stock: true,
            margin: Some(0.25),
            embedding: Some(vec![1.0, 2.0]),
            popularity: 7.0,
            repeat_rate: None,
            related: vec![RelatedItem {
                item_id: "fx-viewed".into(),
                weight: 0.5,
            }],
        },
        Item {
            id: "fx-viewed".into(),
            title: "Fixture plate".into(),
            category: "fx-cat".into(),
            brand: "other".into(),
            price: 8.0,
            tags: vec![],
            in_stock: true,
            margin: None,
            embedding: Some(vec![-0.5, 0.25]),
            popularity: 3.0,
            repeat_rate: None,
            related: vec![],
        },
        Item {
            id: "fx-sold-out".into(),
            title: "Fixture bowl".into(),
            category: "fx-other".into(),
            brand: "".into(),
            price: 0.0,
            tags: vec!["fx-tag".into()],
            in_stock: false,
            margin: Some(-0.1),
            embedding: Some(vec![0.0, 0.0]),
            popularity: 0.0,
            repeat_rate: None,
            related: vec![],
        },
    ]
}

fn catalog_rows(version: i64) -> String {
    match version {
        1 => format!(
            "INSERT INTO items (id, title, category, brand, price, tags, in_stock, margin,
                embedding, popularity, related, updated_at) VALUES
             ('fx-bought', 'Fixture mug, blue', 'fx-cat', 'fx-brand', 12.5, '[\"fx-tag\",\"blue\"]',
                1, 0.25, X'0000803F00000040', 7.0, '[[\"fx-viewed\",0.5]]', {NOW}),
             ('fx-viewed', 'Fixture plate', 'fx-cat', 'other', 8.0, '[]', 1, NULL,
                X'000000BF0000803E', 3.0, '[]', {NOW}),
             ('fx-sold-out', 'Fixture bowl', 'fx-other', '', 0.0, '[\"fx-tag\"]', 0, -0.1,
                X'0000000000000000', 0.0, '[]', {NOW});
             INSERT INTO meta (key, value) VALUES ('fixture', 'catalog v1');"
        ),
        // v2 adds `repeat_rate` (NULL = unknown).
        2 => {
            catalog_rows(1).replace("catalog v1", "catalog v2")
                + "UPDATE items SET repeat_rate = 0.4 WHERE id = 'fx-bought';"
        }
        // v3 adds the write stamp (a `meta` row its migration writes).
        3 => catalog_rows(2).replace("catalog v2", "catalog v3"),
        v => panic!("add the rows of catalog.db v{v} to catalog_rows()"),
    }
}

/// Writes `tests/fixtures/db/<store>-v<N>.db` for every version up to the current one that has no
/// file yet, with the first N migrations of the store's schema and the rows above.
#[test]
#[ignore = "writes tests/fixtures/db; run by hand when a schema version is added"]
fn generate_db_fixtures() {
    let dir = fixtures_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let regen = std::env::var("TAILOR_REGEN_FIXTURES").is_ok_and(|v| v == "1");
    for (store, schema) in stores() {
        for version in 1..=schema.version() {
            let path = dir.join(format!("{store}-v{version}.db"));
            if path.exists() && !regen {
                eprintln!("kept {}", path.display());
                continue;
            }
            let partial = Schema {
                name: schema.name,
                migrations: &schema.migrations[..version as usize],
            };
            let conn = tailor::engine::sql::open_memory(&partial).unwrap();
            let rows = match store {
                "profile" => profile_rows(version),
                _ => catalog_rows(version),
            };
            conn.execute_batch(&rows).unwrap();
            let _ = std::fs::remove_file(&path);
            conn.execute("VACUUM INTO ?1", [path.display().to_string()])
                .unwrap();
            eprintln!("wrote {}", path.display());
        }
    }
}

/// `user_version` from the database header (offset 60, big-endian), without opening the file.
fn header_user_version(path: &Path) -> i64 {
    let bytes = std::fs::read(path).unwrap();
    i32::from_be_bytes(bytes[60..64].try_into().unwrap()) as i64
}

/// What v4 (not-interested marks) and v5 (placements) added survives, and works from any
/// earlier version.
fn check_upgraded_corrections(t: &Tailor, version: i64) {
    let marks = t.explain_profile(Some(NOW)).unwrap().not_interested;
    let values: Vec<&str> = marks.iter().map(|m| m.attribute.value.as_str()).collect();
    assert_eq!(
        values,
        if version >= 4 {
            vec!["fx-dull"]
        } else {
            vec![]
        }
    );
    let placements = t.metrics().unwrap().placements;
    let rows: Vec<(&str, u64, u64)> = placements
        .iter()
        .map(|p| (p.response_id.as_str(), p.impressions, p.clicks))
        .collect();
    assert_eq!(
        rows,
        if version >= 5 {
            vec![("fx-response", 1, 1)]
        } else {
            vec![]
        }
    );
    let mark = Attribute {
        kind: AttributeKind::Item,
        value: "fx-viewed".into(),
    };
    t.mark_not_interested(mark.clone()).unwrap();
    assert!(t.undo_not_interested(mark).unwrap());
}

fn check_upgraded_profile(t: &Tailor) {
    let s = t.status().unwrap();
    assert_eq!(s.profile_events, 4);
    assert!(s.consent);
    t.upsert_items(fixture_items()).unwrap();
    let r = t
        .rank(RankRequest {
            candidate_ids: Some(vec!["fx-bought".into(), "fx-viewed".into()]),
            limit: 2,
            now: Some(NOW),
            ..Default::default()
        })
        .unwrap();
    assert!(r.personalized, "{:?}", r.fallback);
    let bought = r.items.iter().find(|i| i.item_id == "fx-bought").unwrap();
    assert!(
        bought.reasons.contains(&Reason::BoughtBefore { times: 3 }),
        "{:?}",
        bought.reasons
    );
    let doc: serde_json::Value = serde_json::from_str(&t.export_json().unwrap()).unwrap();
    assert_eq!(doc["preferences"][0]["value"], "fx-pref");
    assert!(doc["affinities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["dimension"] == "category" && a["key"] == "fx-cat"));
    let items = doc["items"].as_array().unwrap();
    let stats = items.iter().find(|i| i["item_id"] == "fx-bought").unwrap();
    assert_eq!(
        (stats["purchases"].as_i64(), stats["quantity"].as_i64()),
        (Some(3), Some(4))
    );
    // The install salt came through: the same session id hashes to the stored value.
    t.track(Event {
        session_id: Some(FIXTURE_SESSION.into()),
        ..event(EventKind::View, "fx-viewed", NOW)
    })
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&t.export_json().unwrap()).unwrap();
    let events = doc["events"].as_array().unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(events[0]["session"], fixture_session_hash().as_str());
    assert_eq!(events[4]["session"], fixture_session_hash().as_str());
}

fn check_upgraded_profile_rows(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let (purchases, first, last, recent): (i64, i64, i64, f64) = conn
        .query_row(
            "SELECT purchases, first_purchase, last_purchase, recent_purchases FROM item_stats
             WHERE item_id = 'fx-bought'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!((purchases, last), (3, NOW - 10 * DAY));
    assert!(first > 0 && first <= last, "purchase cycle start {first}");
    assert!(recent > 0.0, "recent purchases {recent}");
}

fn check_upgraded_catalog(t: &Tailor) {
    assert_eq!(t.status().unwrap().catalog_items, 3);
    let r = t
        .rank(RankRequest {
            limit: 10,
            now: Some(NOW),
            rules: BusinessRules {
                include_out_of_stock: true,
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap();
    let mut got = ids(&r);
    got.sort();
    assert_eq!(got, vec!["fx-bought", "fx-sold-out", "fx-viewed"]);
    let r = t.rank(request(10)).unwrap();
    assert_eq!(
        ids(&r),
        vec!["fx-bought", "fx-viewed"],
        "in stock, by popularity"
    );
    // A new item with the catalog's embedding dimension is accepted, another is not.
    t.upsert_items(vec![Item {
        embedding: Some(vec![0.5, 0.5]),
        ..item("fx-new", "fx-cat", "b", 1.0, 1.0)
    }])
    .unwrap();
    assert!(matches!(
        t.upsert_items(vec![Item {
            embedding: Some(vec![0.5, 0.5, 0.5]),
            ..item("fx-new-2", "fx-cat", "b", 1.0, 1.0)
        }]),
        Err(TailorError::InvalidInput { .. })
    ));
    t.remove_items(vec!["fx-new".into()]).unwrap();
}

fn check_upgraded_catalog_rows(path: &Path, version: i64) {
    let (store, moved) = tailor::engine::catalog::CatalogStore::open(path, false).unwrap();
    assert!(moved.is_none());
    let mut expected = fixture_items();
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    if version >= 2 {
        // v2 stores the repeat rate; earlier versions upgrade with it unknown.
        expected[0].repeat_rate = Some(0.4);
    }
    assert_eq!(
        store.load_all().unwrap(),
        expected,
        "every field came through"
    );
}

#[test]
fn every_fixture_database_upgrades_and_keeps_its_data() {
    let dir = fixtures_dir();
    let mut seen: Vec<(String, i64)> = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some((store, version)) = name
            .strip_suffix(".db")
            .and_then(|n| n.split_once("-v"))
            .and_then(|(s, v)| Some((s.to_string(), v.parse::<i64>().ok()?)))
        else {
            continue;
        };
        let schema = stores()
            .into_iter()
            .find(|(s, _)| *s == store)
            .unwrap_or_else(|| panic!("{name}: unknown store {store}"))
            .1;
        assert!(
            (1..=schema.version()).contains(&version),
            "{name}: version {version} is newer than the code ({})",
            schema.version()
        );
        assert_eq!(
            header_user_version(&path),
            version,
            "{name} is what it says"
        );

        let work = tempfile::tempdir().unwrap();
        let db = work.path().join(format!("{store}.db"));
        std::fs::copy(&path, &db).unwrap();
        let t = open(&work);
        assert!(
            t.status().unwrap().notices.is_empty(),
            "{name}: not corrupt"
        );
        match store.as_str() {
            "profile" => {
                check_upgraded_profile(&t);
                check_upgraded_corrections(&t, version);
            }
            _ => check_upgraded_catalog(&t),
        }
        t.close();
        drop(t);
        assert_eq!(
            header_user_version(&db),
            schema.version(),
            "{name} upgraded to the current schema"
        );
        match store.as_str() {
            "profile" => check_upgraded_profile_rows(&db),
            _ => check_upgraded_catalog_rows(&db, version),
        }
        // Opening again is a no-op migration.
        let t = open(&work);
        assert!(t.status().unwrap().notices.is_empty());
        seen.push((store, version));
    }
    // A fixture for every earlier version. The current version's fixture is written while it is
    // current (see the module docs), ready for the next migration.
    for (store, schema) in stores() {
        for v in 1..schema.version() {
            assert!(
                seen.contains(&(store.to_string(), v)),
                "tests/fixtures/db/{store}-v{v}.db is missing; see generate_db_fixtures"
            );
        }
        if !seen.contains(&(store.to_string(), schema.version())) {
            eprintln!(
                "note: no fixture for the current {store} schema v{}; write it with \
                 generate_db_fixtures before the next migration",
                schema.version()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Disk full and read-only directories: a clear error, nothing half-written.
// ---------------------------------------------------------------------------------------------

fn big_batch(n: usize, state: &mut ProfileState) -> WriteBatch {
    let params = Params::default();
    let mut batch = WriteBatch::default();
    for i in 0..n {
        let ev = ProfileEvent {
            kind: EventKind::View,
            item_id: Arc::from(format!("disk-full-item-{i:06}-{}", "x".repeat(100)).as_str()),
            ts: NOW + i as i64,
            session: Some(format!("{i:032x}")),
            quantity: 1,
        };
        state.apply_history(&ev, &params, &mut batch.touched);
        batch.events.push(NewEvent {
            event: ev,
            surface: Some("s".repeat(64)),
            resolved: false,
        });
    }
    batch
}

fn count(conn: &rusqlite::Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn assert_disk_full(err: tailor::engine::Error) {
    match TailorError::from(err) {
        TailorError::Storage { message } => {
            assert!(message.contains("space"), "{message}")
        }
        other => panic!("expected a storage error, got {other:?}"),
    }
}

/// Let the file grow by two pages at most: a stand-in for a full disk.
fn nearly_full(conn: &rusqlite::Connection) {
    let pages: i64 = conn
        .pragma_query_value(None, "page_count", |r| r.get(0))
        .unwrap();
    conn.pragma_update(None, "max_page_count", pages + 2)
        .unwrap();
}

#[test]
fn disk_full_is_a_storage_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = ProfileStore::open(&dir.path().join("profile.db"), false).unwrap();
    let mut state = ProfileState::default();
    let mut small = big_batch(10, &mut state);
    store.commit(&mut small, &state).unwrap();
    nearly_full(store.connection());
    let tables = ["events", "item_stats", "affinities", "meta"];
    let before: Vec<i64> = tables
        .iter()
        .map(|t| count(store.connection(), t))
        .collect();
    let counts = store.counts().unwrap();

    let mut bigger = state.clone();
    let mut batch = big_batch(3000, &mut bigger);
    assert_disk_full(store.commit(&mut batch, &bigger).unwrap_err());
    let after: Vec<i64> = tables
        .iter()
        .map(|t| count(store.connection(), t))
        .collect();
    assert_eq!(after, before, "nothing half-written");
    assert_eq!(store.counts().unwrap(), counts);
    assert_eq!(
        store
            .load_state(&Default::default(), &Params::default())
            .unwrap()
            .items,
        state.items
    );

    // Once there is space again, the same write goes through.
    store
        .connection()
        .pragma_update(None, "max_page_count", 1_000_000)
        .unwrap();
    store.commit(&mut batch, &bigger).unwrap();
    assert_eq!(store.counts().unwrap().0, 3010);

    // The catalog store behaves the same.
    let (mut catalog, _) =
        tailor::engine::catalog::CatalogStore::open(&dir.path().join("catalog.db"), false).unwrap();
    catalog
        .upsert(&catalog_items(0..10), NOW, &Default::default())
        .unwrap();
    nearly_full(catalog.connection());
    let many = catalog_items(10..600);
    assert_disk_full(catalog.upsert(&many, NOW, &Default::default()).unwrap_err());
    assert_eq!(
        catalog.load_all().unwrap(),
        catalog_items(0..10),
        "nothing half-written"
    );
    catalog
        .connection()
        .pragma_update(None, "max_page_count", 1_000_000)
        .unwrap();
    catalog.upsert(&many, NOW, &Default::default()).unwrap();
    assert_eq!(catalog.load_all().unwrap().len(), 600);
}

fn catalog_items(range: std::ops::Range<usize>) -> Vec<Item> {
    range
        .map(|i| Item {
            title: "t".repeat(1000),
            ..item(&format!("full-{i:05}"), "c", "b", 1.0, 1.0)
        })
        .collect()
}

/// Make `dir` and its files read-only for everyone (the app's own directory on a full or
/// read-only mount behaves the same).
fn set_read_only(dir: &Path, read_only: bool) {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            let mode = if read_only { 0o444 } else { 0o644 };
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    let mode = if read_only { 0o555 } else { 0o755 };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn expect_storage_error(result: Result<Arc<Tailor>, TailorError>, what: &str) -> String {
    match result {
        Err(TailorError::Storage { message }) | Err(TailorError::NotFound { message }) => {
            assert!(!message.is_empty());
            message
        }
        Err(other) => panic!("{what}: expected a storage error, got {other:?}"),
        Ok(_) => panic!("{what}: opened a store it cannot write"),
    }
}

/// The checks, run where permissions are enforced (not as root).
fn read_only_checks(dir: &Path) {
    let message = expect_storage_error(
        Tailor::open(TailorConfig::new(dir.display().to_string())),
        "read-only directory",
    );
    assert!(
        message.contains("writable") || message.contains("read"),
        "the error says what to do: {message}"
    );
    eprintln!("read-only directory: {message}");
    let message = expect_storage_error(
        Tailor::open(TailorConfig::new(dir.join("sub").display().to_string())),
        "directory under a read-only one",
    );
    eprintln!("directory under a read-only one: {message}");
}

#[test]
fn read_only_directory_is_a_clear_storage_error() {
    const CHILD: &str = "TAILOR_READ_ONLY_CHILD_DIR";
    if let Ok(dir) = std::env::var(CHILD) {
        read_only_checks(Path::new(&dir));
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("store");
    {
        let t = Tailor::open(TailorConfig {
            max_event_age_days: 36_500,
            ..TailorConfig::new(dir.display().to_string())
        })
        .unwrap();
        t.upsert_items(catalog()).unwrap();
        t.track(event(EventKind::View, "toys-1", NOW)).unwrap();
        t.close();
    }
    let before = snapshot(&dir);
    set_read_only(&dir, true);
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let enforced = std::fs::write(dir.join("probe"), b"x").is_err();
    if enforced {
        read_only_checks(&dir);
    } else {
        // Root ignores permission bits: run the checks in a copy of this test as `nobody`.
        let _ = std::fs::remove_file(dir.join("probe"));
        use std::os::unix::process::CommandExt;
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "reliability::read_only_directory_is_a_clear_storage_error",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &dir)
            .uid(65534)
            .gid(65534)
            .output();
        match out {
            Ok(out) => {
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(
                    out.status.success() && text.contains("1 passed"),
                    "read-only checks as nobody failed:\n{text}"
                );
                eprintln!("ran the read-only checks as uid 65534:");
                for line in text.lines().filter(|l| l.contains("read-only")) {
                    eprintln!("  {line}");
                }
            }
            Err(e) => eprintln!(
                "SKIPPED read-only checks: running as root and cannot drop to nobody ({e})"
            ),
        }
    }
    set_read_only(&dir, false);
    assert_eq!(snapshot(&dir), before, "nothing was written or moved");
    // Writable again, the store is intact.
    let t = open_dir(&dir);
    assert_eq!(t.status().unwrap().profile_events, 1);
    assert_eq!(t.status().unwrap().catalog_items, 12);
}

fn open_dir(dir: &Path) -> Arc<Tailor> {
    Tailor::open(TailorConfig {
        max_event_age_days: 36_500,
        ..TailorConfig::new(dir.display().to_string())
    })
    .unwrap()
}

#[test]
fn an_unusable_directory_path_is_an_error_not_a_panic() {
    let base = tempfile::tempdir().unwrap();
    let file = base.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    for path in [file.join("tailor"), file.clone()] {
        expect_storage_error(
            Tailor::open(TailorConfig::new(path.display().to_string())),
            &path.display().to_string(),
        );
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");
    // A directory where a store file should be.
    let dir = base.path().join("store");
    std::fs::create_dir_all(dir.join("profile.db")).unwrap();
    expect_storage_error(
        Tailor::open(TailorConfig::new(dir.display().to_string())),
        "profile.db is a directory",
    );
    assert!(
        dir.join("profile.db").is_dir(),
        "not moved aside or deleted"
    );
}

// ---------------------------------------------------------------------------------------------
// Concurrency: 8 threads on one Tailor, exact counts at the end.
// ---------------------------------------------------------------------------------------------

fn bundled(name: &str) -> String {
    repo().join("models").join(name).display().to_string()
}

fn bad_model(name: &str) -> String {
    repo()
        .join("tests/fixtures/models")
        .join(name)
        .display()
        .to_string()
}

#[derive(Default)]
struct Counters {
    track_calls: AtomicU64,
    acked_events: AtomicU64,
    ranks: AtomicU64,
    personalized: AtomicU64,
    upserted: AtomicU64,
    model_loads: AtomicU64,
    model_rejections: AtomicU64,
    rollbacks: AtomicU64,
    statuses: AtomicU64,
    exports: AtomicU64,
    rank_micros: std::sync::Mutex<Vec<u64>>,
}

#[test]
fn stress_eight_threads_on_one_tailor() {
    let secs: f64 = std::env::var("TAILOR_STRESS_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let dir = tempfile::tempdir().unwrap();
    let config = TailorConfig {
        max_events: 50_000_000,
        max_event_age_days: 36_500,
        ..TailorConfig::new(dir.path().display().to_string())
    };
    let t = Tailor::open(config.clone()).unwrap();
    let initial = catalog();
    let initial_len = initial.len() as u64;
    t.upsert_items(initial).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let c = Arc::new(Counters::default());
    let started = Instant::now();
    let mut handles = Vec::new();
    let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.into())
            .spawn(f)
            .unwrap()
    };

    for k in 0..3u64 {
        let (t, stop, c) = (t.clone(), stop.clone(), c.clone());
        handles.push(spawn(
            "tracker",
            Box::new(move || {
                let mut rng = rand::rngs::SmallRng::seed_from_u64(k);
                let kinds = [
                    EventKind::View,
                    EventKind::Click,
                    EventKind::AddToCart,
                    EventKind::Purchase,
                    EventKind::Dismiss,
                ];
                while !stop.load(Ordering::Relaxed) {
                    let n = rng.random_range(1..=10);
                    let batch: Vec<Event> = (0..n)
                        .map(|_| {
                            let id = match rng.random_range(0..3) {
                                0 => format!("stress-new-{}", rng.random_range(0..400)),
                                _ => {
                                    let cat = ["shoes", "books", "toys"][rng.random_range(0..3)];
                                    format!("{cat}-{}", rng.random_range(0..4))
                                }
                            };
                            Event {
                                session_id: Some(format!("s-{k}-{}", rng.random_range(0..3))),
                                quantity: Some(rng.random_range(1..4)),
                                ..event(
                                    kinds[rng.random_range(0..kinds.len())],
                                    &id,
                                    NOW - rng.random_range(0..30 * DAY),
                                )
                            }
                        })
                        .collect();
                    let s = t.track_batch(batch).unwrap();
                    assert_eq!((s.stored, s.dropped_no_consent), (n, 0));
                    c.track_calls.fetch_add(1, Ordering::Relaxed);
                    c.acked_events.fetch_add(s.stored as u64, Ordering::Relaxed);
                }
            }),
        ));
    }
    for k in 0..2u64 {
        let (t, stop, c) = (t.clone(), stop.clone(), c.clone());
        handles.push(spawn(
            "ranker",
            Box::new(move || {
                let mut rng = rand::rngs::SmallRng::seed_from_u64(100 + k);
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let asked = Instant::now();
                    let r = t
                        .rank(RankRequest {
                            limit: rng.random_range(1..=30),
                            now: Some(NOW),
                            session_id: Some(format!("s-0-{}", rng.random_range(0..3))),
                            ..Default::default()
                        })
                        .unwrap();
                    // Personalized, or cold start before the first event: never a model failure.
                    assert!(
                        r.personalized || r.fallback == Some(Fallback::ColdStart),
                        "{:?}",
                        r.fallback
                    );
                    assert!(!r.items.is_empty());
                    assert!(r.items.iter().all(|i| i.score.is_finite()));
                    latencies.push(asked.elapsed().as_micros() as u64);
                    c.ranks.fetch_add(1, Ordering::Relaxed);
                    if r.personalized {
                        c.personalized.fetch_add(1, Ordering::Relaxed);
                    }
                }
                c.rank_micros.lock().unwrap().extend(latencies);
            }),
        ));
    }
    {
        let (t, stop, c) = (t.clone(), stop.clone(), c.clone());
        handles.push(spawn(
            "upserter",
            Box::new(move || {
                let mut rng = rand::rngs::SmallRng::seed_from_u64(200);
                let mut next = 0;
                while !stop.load(Ordering::Relaxed) {
                    let n = rng.random_range(1..=5);
                    let items: Vec<Item> = (next..next + n)
                        .map(|i| {
                            item(
                                &format!("stress-new-{i}"),
                                ["shoes", "books", "toys", "garden"][i % 4],
                                "acme",
                                1.0 + i as f64,
                                rng.random_range(0.0..100.0),
                            )
                        })
                        .collect();
                    assert_eq!(t.upsert_items(items).unwrap(), n as u32);
                    next += n;
                    c.upserted.fetch_add(n as u64, Ordering::Relaxed);
                }
            }),
        ));
    }
    {
        let (t, stop, c) = (t.clone(), stop.clone(), c.clone());
        handles.push(spawn(
            "model swapper",
            Box::new(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let good = if i.is_multiple_of(2) {
                        "linear-ranker"
                    } else {
                        "gbt-ranker"
                    };
                    let info = t.load_model(bundled(good), None).unwrap();
                    assert_eq!(info.name, good);
                    c.model_loads.fetch_add(1, Ordering::Relaxed);
                    if i.is_multiple_of(3) {
                        let bad = ["nan_output", "not_onnx", "truncated", "hash_mismatch"]
                            [(i / 3) as usize % 4];
                        match t.load_model(bad_model(bad), None) {
                            Err(TailorError::ModelRejected { .. }) => {}
                            other => panic!("{bad}: {other:?}"),
                        }
                        assert_eq!(
                            t.model_info().name,
                            good,
                            "a rejected model changes nothing"
                        );
                        c.model_rejections.fetch_add(1, Ordering::Relaxed);
                    }
                    if i.is_multiple_of(5) {
                        match t.rollback_model() {
                            Ok(_) | Err(TailorError::NotFound { .. }) => {}
                            Err(e) => panic!("rollback: {e:?}"),
                        }
                        c.rollbacks.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }),
        ));
    }
    {
        let (t, stop, c) = (t.clone(), stop.clone(), c.clone());
        handles.push(spawn(
            "status",
            Box::new(move || {
                let mut last = 0;
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let s = t.status().unwrap();
                    assert!(s.profile_events >= last, "event count went back");
                    assert!(s.catalog_items >= initial_len);
                    assert!(s.notices.is_empty(), "{:?}", s.notices);
                    last = s.profile_events;
                    c.statuses.fetch_add(1, Ordering::Relaxed);
                    if i.is_multiple_of(25) {
                        let doc: serde_json::Value =
                            serde_json::from_str(&t.export_json().unwrap()).unwrap();
                        let n = doc["events"].as_array().unwrap().len() as u64;
                        assert!(n >= last, "export has {n} events, status said {last}");
                        c.exports.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }),
        ));
    }
    assert_eq!(handles.len(), 8);

    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    // No deadlock: every thread ends soon after being told to.
    let deadline = Instant::now() + Duration::from_secs(120);
    while handles.iter().any(|h| !h.is_finished()) {
        assert!(
            Instant::now() < deadline,
            "threads still running 120 s after stop: deadlock?"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for h in handles {
        h.join().expect("a stress thread failed");
    }
    let elapsed = started.elapsed();

    let acked = c.acked_events.load(Ordering::Relaxed);
    let upserted = c.upserted.load(Ordering::Relaxed);
    let s = t.status().unwrap();
    assert_eq!(
        s.profile_events, acked,
        "every acknowledged event is stored"
    );
    assert_eq!(s.catalog_items, initial_len + upserted);
    let doc: serde_json::Value = serde_json::from_str(&t.export_json().unwrap()).unwrap();
    assert_eq!(doc["events"].as_array().unwrap().len() as u64, acked);
    let model = t.model_info();
    t.close();
    drop(t);
    // And after a restart.
    let t = Tailor::open(config).unwrap();
    let s = t.status().unwrap();
    assert_eq!(s.profile_events, acked);
    assert_eq!(s.catalog_items, initial_len + upserted);
    assert_eq!(s.model, model, "the last active model is restored");

    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let ops = load(&c.track_calls)
        + load(&c.ranks)
        + load(&c.upserted)
        + load(&c.model_loads)
        + load(&c.model_rejections)
        + load(&c.rollbacks)
        + load(&c.statuses)
        + load(&c.exports);
    eprintln!(
        "stress: {:.1} s, 8 threads, {ops} operations: {} track calls ({acked} events), {} ranks \
         ({} personalized), {upserted} items upserted, {} model loads, {} rejections, {} rollbacks, \
         {} status, {} exports",
        elapsed.as_secs_f64(),
        load(&c.track_calls),
        load(&c.ranks),
        load(&c.personalized),
        load(&c.model_loads),
        load(&c.model_rejections),
        load(&c.rollbacks),
        load(&c.statuses),
        load(&c.exports),
    );
    let mut lat = c.rank_micros.lock().unwrap().clone();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
    eprintln!(
        "stress: rank latency under load: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    assert!(load(&c.track_calls) > 0 && load(&c.ranks) > 0 && load(&c.model_loads) > 0);
}

// ---------------------------------------------------------------------------------------------
// Long operations: reads answer meanwhile, and interrupt() or close() stops them with nothing
// written.
// ---------------------------------------------------------------------------------------------

fn many_items(n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| item(&format!("bulk-{i}"), "bulk", "acme", 1.0 + i as f64, 1.0))
        .collect()
}

fn many_events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            event(
                EventKind::View,
                &format!("bulk-{}", i % 5_000),
                NOW - DAY + i as i64,
            )
        })
        .collect()
}

/// Room for a 100,000-event batch on top of what a test already tracked.
fn open_for_long_writes(dir: &tempfile::TempDir) -> Arc<Tailor> {
    Tailor::open(TailorConfig {
        max_events: 200_000,
        ..config(dir)
    })
    .unwrap()
}

fn status_events(t: &Tailor) -> u64 {
    t.status().unwrap().profile_events
}

#[test]
fn status_metrics_and_export_answer_while_a_long_write_runs() {
    let dir = tempfile::tempdir().unwrap();
    let t = open_for_long_writes(&dir);
    t.track(event(EventKind::View, "first", NOW - 2 * DAY))
        .unwrap();
    let events = many_events(100_000);
    let answered_meanwhile = std::thread::scope(|s| {
        let write = s.spawn(|| t.track_batch(events));
        let mut answered = 0;
        while !write.is_finished() {
            // Each read sees the last commit: the one event before the batch.
            let status = t.status().unwrap();
            t.metrics().unwrap();
            let export = t.export_json().unwrap();
            if !write.is_finished() {
                assert_eq!(status.profile_events, 1);
                assert!(export.contains("\"first\""));
                answered += 1;
            }
        }
        write.join().unwrap().unwrap();
        answered
    });
    // Waiting behind the writer would let at most one read through while it runs.
    assert!(
        answered_meanwhile >= 3,
        "reads answered during the write: {answered_meanwhile}"
    );
    assert_eq!(status_events(&t), 100_001);
}

#[test]
fn interrupt_stops_a_long_write_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let t = open_for_long_writes(&dir);
    t.upsert_items(catalog()).unwrap();
    for long_write in ["upsert", "track_batch"] {
        let result = std::thread::scope(|s| {
            let write = s.spawn(|| match long_write {
                "upsert" => t.upsert_items(many_items(100_000)).map(|_| ()),
                _ => t.track_batch(many_events(100_000)).map(|_| ()),
            });
            while !write.is_finished() {
                t.interrupt();
                std::thread::sleep(Duration::from_millis(2));
            }
            write.join().unwrap()
        });
        assert!(
            matches!(result, Err(TailorError::Interrupted { .. })),
            "{long_write}: {result:?}"
        );
        assert_eq!(t.status().unwrap().catalog_items, 12, "{long_write}");
        assert_eq!(status_events(&t), 0, "{long_write}");
    }
    // Later calls run normally, and the interrupts were counted.
    t.track(event(EventKind::View, "shoes-1", NOW)).unwrap();
    assert_eq!(status_events(&t), 1);
    let errors = t.metrics().unwrap().engine.errors;
    let interrupted = errors.iter().find(|c| c.name == "interrupted").unwrap();
    assert_eq!(interrupted.count, 2);
    t.close();
    let t = open(&dir);
    assert_eq!(t.status().unwrap().catalog_items, 12);
    assert_eq!(status_events(&t), 1);
}

#[test]
fn close_stops_a_long_write_instead_of_waiting_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    let result = std::thread::scope(|s| {
        let write = s.spawn(|| t.upsert_items(many_items(100_000)));
        // Let the upsert get going (it takes seconds); close then stops it.
        std::thread::sleep(Duration::from_millis(50));
        t.close();
        write.join().unwrap()
    });
    assert!(
        matches!(result, Err(TailorError::Closed { .. })),
        "{result:?}"
    );
    let t = open(&dir);
    assert_eq!(t.status().unwrap().catalog_items, 0, "nothing half-written");
}
