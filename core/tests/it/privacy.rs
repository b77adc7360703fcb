//! Privacy by construction (issue 5, points 1-5 and 8): consent, erase, export, retention,
//! minimization and "no network code in the library".
//!
//! The erase and minimization tests read the raw bytes of `profile.db` and its `-wal`/`-shm`
//! files: what a forensic tool, a backup or a rooted phone would see, not what SQL returns.

use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use tailor::*;

const ITEM: &str = "ITEM-ZEBRA-4242";
const SESSION: &str = "SESSION-OKAPI-777";
const PREFERENCE: &str = "PREF-AXOLOTL-99";
const CATEGORY: &str = "CATEGORY-PANGOLIN";
const BRAND: &str = "BRAND-QUOKKA";
const TAG: &str = "TAG-NARWHAL";

/// Every file of the profile store (`profile.db`, `-wal`, `-shm`), concatenated.
fn profile_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("profile.db") && entry.file_type().unwrap().is_file() {
            all.extend(std::fs::read(entry.path()).unwrap());
            all.push(0);
        }
    }
    assert!(!all.is_empty(), "no profile.db in {}", dir.display());
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    haystack.windows(n.len()).any(|w| w == n)
}

fn export(t: &Tailor) -> Value {
    serde_json::from_str(&t.export_json().unwrap()).unwrap()
}

fn rank_all(t: &Tailor) -> RankResponse {
    t.rank(request(20)).unwrap()
}

fn zebra() -> Item {
    Item {
        tags: vec![TAG.into()],
        ..item(ITEM, CATEGORY, BRAND, 42.0, 5.0)
    }
}

fn session_event(kind: EventKind, ts: i64) -> Event {
    Event {
        session_id: Some(SESSION.into()),
        quantity: Some(2),
        surface: Some("pdp".into()),
        ..event(kind, ITEM, ts)
    }
}

/// A profile with events, signals and a preference that all carry distinctive strings.
fn personal_profile(t: &Tailor) {
    let mut items = catalog();
    items.push(zebra());
    t.upsert_items(items).unwrap();
    t.set_preferences(vec![Attribute {
        kind: AttributeKind::Tag,
        value: PREFERENCE.into(),
    }])
    .unwrap();
    let kinds = [
        EventKind::View,
        EventKind::Click,
        EventKind::AddToCart,
        EventKind::Purchase,
    ];
    for (i, kind) in kinds.iter().enumerate() {
        t.track(session_event(*kind, NOW - 3600 + i as i64 * 60))
            .unwrap();
    }
    t.track_batch(
        (0..40)
            .map(|i| session_event(EventKind::View, NOW - 7 * DAY + i * 300))
            .collect(),
    )
    .unwrap();
}

#[test]
fn erase_leaves_no_personal_bytes_in_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    personal_profile(&t);
    assert!(rank_all(&t).personalized);
    let before = export(&t);
    let hashed = before["events"][0]["session"].as_str().unwrap().to_string();
    let mut secrets = vec![
        ITEM.to_string(),
        SESSION.to_string(),
        hashed.clone(),
        PREFERENCE.to_string(),
    ];
    // Derived signals name the shopper's tastes too (category, brand, tag affinities).
    for a in before["affinities"].as_array().unwrap() {
        let key = a["key"].as_str().unwrap();
        if [CATEGORY, BRAND, TAG].contains(&key) {
            secrets.push(key.to_string());
        }
    }
    assert!(
        secrets.len() >= 7,
        "affinities on the zebra's attributes: {before}"
    );

    // The test can fail: before erasing, the personal strings are on disk.
    let raw = profile_bytes(dir.path());
    for s in [ITEM, &hashed, PREFERENCE, CATEGORY] {
        assert!(
            contains(&raw, s),
            "{s} should be in profile.db before erase"
        );
    }
    assert!(!contains(&raw, SESSION), "raw session ids are never stored");

    t.erase().unwrap();
    let raw = profile_bytes(dir.path());
    for s in &secrets {
        assert!(
            !contains(&raw, s),
            "{s} is still in the profile files after erase"
        );
    }
    let status = t.status().unwrap();
    assert_eq!((status.profile_events, status.pending_events), (0, 0));
    let r = rank_all(&t);
    assert!(!r.personalized);
    assert_eq!(r.fallback, Some(Fallback::ColdStart));
    let after = export(&t);
    for key in ["events", "affinities", "items", "preferences"] {
        assert_eq!(after[key].as_array().unwrap().len(), 0, "{key}: {after}");
    }

    // Still gone after a restart, and the store keeps working.
    drop(t);
    let raw = profile_bytes(dir.path());
    for s in &secrets {
        assert!(!contains(&raw, s), "{s} is back after reopening");
    }
    let t = open(&dir);
    assert_eq!(t.status().unwrap().profile_events, 0);
    assert_eq!(rank_all(&t).fallback, Some(Fallback::ColdStart));
    t.track(event(EventKind::Purchase, "toys-1", NOW)).unwrap();
    assert_eq!(t.status().unwrap().profile_events, 1);
    assert!(rank_all(&t).personalized);
}

#[test]
fn export_is_one_documented_json_document_without_raw_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    personal_profile(&t);
    let text = t.export_json().unwrap();
    assert!(!text.contains(SESSION), "raw session id in the export");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["format"], "tailor-profile-export");
    assert_eq!(doc["version"], 3);
    assert_eq!(doc["consent"], true);
    for section in ["exploration", "experiments", "impressions", "funnel"] {
        assert!(doc[section].is_array(), "{section} is exported");
    }
    assert!(
        doc.get("personal_layer").is_some(),
        "the personal layer is exported (null when none)"
    );

    let events = doc["events"].as_array().unwrap();
    assert_eq!(events.len(), 44);
    let hashed = events[0]["session"].as_str().unwrap();
    assert_eq!(hashed.len(), 32, "128-bit keyed hash in hex: {hashed}");
    assert!(hashed.bytes().all(|b| b.is_ascii_hexdigit()));
    let mut kinds = std::collections::BTreeSet::new();
    for e in events {
        assert_eq!(e["item_id"], ITEM);
        assert_eq!(e["session"], hashed, "one session, one hash");
        assert_eq!(e["quantity"], 2);
        assert_eq!(e["surface"], "pdp");
        assert!(e["ts"].as_i64().unwrap() <= NOW);
        kinds.insert(e["kind"].as_str().unwrap().to_string());
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        vec!["add_to_cart", "click", "purchase", "view"]
    );
    // Oldest first.
    let ts: Vec<i64> = events.iter().map(|e| e["ts"].as_i64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");

    let affinities = doc["affinities"].as_array().unwrap();
    for (dim, key) in [("category", CATEGORY), ("brand", BRAND), ("tag", TAG)] {
        let a = affinities
            .iter()
            .find(|a| a["dimension"] == dim && a["key"] == key)
            .unwrap_or_else(|| panic!("no {dim} affinity for {key}: {affinities:?}"));
        assert!(a["score"].as_f64().unwrap() > 0.0);
        assert!(a["as_of"].as_i64().unwrap() > 0);
    }
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["item_id"], ITEM);
    assert_eq!(items[0]["views"], 41);
    assert_eq!(items[0]["purchases"], 1);
    assert_eq!(items[0]["carts"], 1);
    assert_eq!(
        doc["preferences"],
        serde_json::json!([{"kind": "tag", "value": PREFERENCE}])
    );

    t.set_consent(false).unwrap();
    assert_eq!(export(&t)["consent"], false);
}

#[test]
fn opting_out_stores_nothing_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.upsert_items(catalog()).unwrap();
    t.track(event(EventKind::Purchase, "toys-3", NOW - DAY))
        .unwrap();
    assert!(t.status().unwrap().consent);
    t.set_consent(false).unwrap();
    let before = t.status().unwrap();
    assert!(!before.consent);
    let export_before = t.export_json().unwrap();
    let sizes = |dir: &Path| -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().starts_with("profile.db"))
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let files_before = sizes(dir.path());

    let mut dropped = 0;
    for i in 0..50 {
        let s = t
            .track_batch(vec![
                Event {
                    session_id: Some(SESSION.into()),
                    ..event(EventKind::Purchase, ITEM, NOW + i)
                },
                event(EventKind::AddToCart, "books-1", NOW + i),
            ])
            .unwrap();
        assert_eq!((s.stored, s.pending_items), (0, 0));
        dropped += s.dropped_no_consent;
    }
    t.track(event(EventKind::View, ITEM, NOW)).unwrap();
    t.set_preferences(vec![Attribute {
        kind: AttributeKind::Brand,
        value: PREFERENCE.into(),
    }])
    .unwrap();
    assert_eq!(dropped, 100);

    let after = t.status().unwrap();
    assert_eq!(after.profile_events, before.profile_events);
    assert_eq!(after.pending_events, before.pending_events);
    assert_eq!(
        t.export_json().unwrap(),
        export_before,
        "nothing new stored"
    );
    assert_eq!(sizes(dir.path()), files_before, "the files did not grow");
    let raw = profile_bytes(dir.path());
    assert!(!contains(&raw, ITEM) && !contains(&raw, PREFERENCE));

    let r = rank_all(&t);
    assert!(!r.personalized);
    assert_eq!(r.fallback, Some(Fallback::OptedOut));

    // The choice persists and is reported.
    drop(t);
    let t = open(&dir);
    assert!(!t.consent());
    let s = t.status().unwrap();
    assert!(!s.consent);
    assert_eq!(s.profile_events, before.profile_events);
    assert_eq!(rank_all(&t).fallback, Some(Fallback::OptedOut));
    assert_eq!(export(&t)["consent"], false);
    t.set_consent(true).unwrap();
    drop(t);
    let t = open(&dir);
    assert!(t.status().unwrap().consent);
    assert!(rank_all(&t).personalized);
    // Opting in again collects again.
    t.track(event(EventKind::View, "books-2", NOW)).unwrap();
    assert_eq!(
        t.status().unwrap().profile_events,
        before.profile_events + 1
    );
}

fn event_items(t: &Tailor) -> Vec<String> {
    export(t)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["item_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn retention_keeps_only_the_newest_max_events() {
    let dir = tempfile::tempdir().unwrap();
    let config = TailorConfig {
        max_events: 100,
        ..config(&dir)
    };
    let t = Tailor::open(config.clone()).unwrap();
    t.upsert_items(catalog()).unwrap();
    let ev = |i: i64| event(EventKind::View, &format!("seq-{i:04}"), NOW - 1000 + i);
    // One call larger than the limit, then calls one by one: the limit holds on every write.
    t.track_batch((0..150).map(ev).collect()).unwrap();
    assert_eq!(t.status().unwrap().profile_events, 100);
    for i in 150..250 {
        t.track(ev(i)).unwrap();
    }
    let s = t.status().unwrap();
    assert_eq!((s.profile_events, s.pending_events), (100, 100));
    let expected: Vec<String> = (150..250).map(|i| format!("seq-{i:04}")).collect();
    assert_eq!(event_items(&t), expected, "the newest 100 remain");
    drop(t);
    let t = Tailor::open(config).unwrap();
    assert_eq!(t.status().unwrap().profile_events, 100);
    assert_eq!(event_items(&t), expected);
}

#[test]
fn retention_deletes_old_events_on_write_and_on_open() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let month = TailorConfig {
        max_event_age_days: 30,
        ..TailorConfig::new("")
    };

    // On write: events older than 30 days (wall clock) go in the same call that stores them.
    let dir = tempfile::tempdir().unwrap();
    let t = Tailor::open(TailorConfig {
        directory: dir.path().display().to_string(),
        ..month.clone()
    })
    .unwrap();
    let s = t
        .track_batch(vec![
            event(EventKind::View, "old-1", now - 40 * DAY),
            event(EventKind::View, "new-1", now - DAY),
            event(EventKind::View, "old-2", now - 31 * DAY),
            event(EventKind::View, "new-2", now - 29 * DAY),
        ])
        .unwrap();
    assert_eq!(s.stored, 4);
    assert_eq!(t.status().unwrap().profile_events, 2);
    assert_eq!(event_items(&t), vec!["new-2", "new-1"]);
    drop(t);

    // On open: written under a long retention, reopened under a 30-day one.
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir);
    t.track_batch(vec![
        event(EventKind::Purchase, "old-a", now - 400 * DAY),
        event(EventKind::View, "old-b", now - 45 * DAY),
        event(EventKind::View, "new-a", now - 2 * DAY),
        event(EventKind::Click, "new-b", now - 3600),
    ])
    .unwrap();
    assert_eq!(t.status().unwrap().profile_events, 4);
    drop(t);
    let t = Tailor::open(TailorConfig {
        directory: dir.path().display().to_string(),
        ..month
    })
    .unwrap();
    assert_eq!(t.status().unwrap().profile_events, 2);
    assert_eq!(event_items(&t), vec!["new-a", "new-b"]);
}

#[test]
fn identifiers_are_stored_as_per_install_keyed_hashes() {
    const RAW: &str = "SESSION-MINIMAL-31337";
    const USER: &str = "USER-TAPIR-555";
    let install = |dir: &tempfile::TempDir| -> (Arc<Tailor>, String) {
        let t = open(dir);
        t.upsert_items(catalog()).unwrap();
        t.track(Event {
            session_id: Some(RAW.into()),
            ..event(EventKind::View, "toys-1", NOW)
        })
        .unwrap();
        // The events CSV names the user; only the rows matter, the user id is not kept.
        let csv = dir.path().join("events.csv");
        std::fs::write(
            &csv,
            format!("user_id,item_id,event,ts,session_id\n{USER},books-1,purchase,{NOW},{RAW}\n"),
        )
        .unwrap();
        let s = t
            .import_events_csv(csv.display().to_string(), Some(USER.into()))
            .unwrap();
        assert_eq!(s.stored, 1);
        let doc = export(&t);
        let sessions: Vec<&str> = doc["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["session"].as_str().unwrap())
            .collect();
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions[0], sessions[1], "same session, same hash");
        let hashed = sessions[0].to_string();
        assert_ne!(hashed, RAW);
        let raw = profile_bytes(dir.path());
        assert!(contains(&raw, &hashed), "the keyed hash is what is stored");
        assert!(!contains(&raw, RAW), "raw session id in profile.db");
        assert!(!contains(&raw, USER), "user id in profile.db");
        (t, hashed)
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ta, hash_a) = install(&a);
    let (_tb, hash_b) = install(&b);
    assert_ne!(hash_a, hash_b, "two installs hash the same id differently");
    // The salt is per install, not per open.
    drop(ta);
    let ta = open(&a);
    ta.track(Event {
        session_id: Some(RAW.into()),
        ..event(EventKind::Click, "toys-2", NOW + 1)
    })
    .unwrap();
    let doc = export(&ta);
    assert_eq!(doc["events"][2]["session"], hash_a.as_str());
}

/// Crates that open sockets, speak HTTP/TLS/gRPC/WebSocket, or run network event loops.
const NETWORK_CRATES: &[&str] = &[
    "reqwest",
    "hyper",
    "hyper-util",
    "hyper-rustls",
    "hyper-tls",
    "ureq",
    "curl",
    "curl-sys",
    "isahc",
    "surf",
    "attohttpc",
    "minreq",
    "http-req",
    "h2",
    "h3",
    "quinn",
    "quinn-proto",
    "tokio",
    "tokio-util",
    "tokio-rustls",
    "tokio-native-tls",
    "async-std",
    "async-net",
    "async-io",
    "smol",
    "mio",
    "socket2",
    "net2",
    "native-tls",
    "rustls",
    "openssl",
    "openssl-sys",
    "tonic",
    "grpcio",
    "tungstenite",
    "tokio-tungstenite",
    "async-tungstenite",
    "websocket",
    "ws",
    "actix-web",
    "actix-rt",
    "axum",
    "warp",
    "rocket",
    "tiny_http",
    "trust-dns-resolver",
    "hickory-resolver",
    "libp2p",
    "lettre",
    "ssh2",
    "zmq",
    "rumqttc",
    "paho-mqtt",
];

/// `(name, version)` → dependency specs (`"name"` or `"name version"`), from `Cargo.lock`.
type LockGraph = std::collections::HashMap<(String, String), Vec<String>>;

/// Cargo.lock holds the resolved graph for every target platform at once, so walking it needs
/// no crate sources: nothing is downloaded, and a fresh machine checks the same graph as ours.
fn lock_graph(lock: &str) -> LockGraph {
    let mut graph = LockGraph::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|r| r.trim().strip_prefix('='))
                    .map(|v| v.trim().trim_matches('"').to_string())
            })
        };
        let (Some(name), Some(version)) = (field("name "), field("version ")) else {
            continue;
        };
        let deps = block
            .split_once("dependencies = [")
            .map(|(_, rest)| rest.split(']').next().unwrap_or(""))
            .unwrap_or("")
            .split(',')
            .map(|d| d.trim().trim_matches('"').to_string())
            .filter(|d| !d.is_empty())
            .collect();
        graph.insert((name, version), deps);
    }
    graph
}

/// The library's normal dependencies, by name, from its manifest's `[dependencies]` table.
fn normal_dependencies(manifest: &str) -> Vec<String> {
    manifest
        .split("\n[")
        .find(|section| section.starts_with("dependencies]"))
        .expect("core/Cargo.toml has a [dependencies] table")
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_string()))
        .filter(|k| !k.is_empty() && !k.starts_with('#'))
        .collect()
}

#[test]
fn the_library_has_no_networking_crate_in_its_dependency_tree() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let graph = lock_graph(&std::fs::read_to_string(root.join("../Cargo.lock")).unwrap());
    let by_spec = |spec: &str| -> Vec<(String, String)> {
        let mut parts = spec.split_whitespace();
        let name = parts.next().unwrap_or("");
        let version = parts.next();
        graph
            .keys()
            .filter(|(n, v)| n == name && version.is_none_or(|want| want == v))
            .cloned()
            .collect()
    };
    // Every platform's dependencies, and build dependencies too: a superset of what links.
    let mut seen = std::collections::BTreeSet::new();
    let mut todo: Vec<(String, String)> =
        normal_dependencies(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap())
            .iter()
            .flat_map(|d| by_spec(d))
            .collect();
    while let Some(package) = todo.pop() {
        if seen.insert(package.clone()) {
            for dep in &graph[&package] {
                todo.extend(by_spec(dep));
            }
        }
    }
    let crates: std::collections::BTreeSet<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    for expected in ["rusqlite", "tract-core", "serde_json", "libc"] {
        assert!(
            crates.contains(expected),
            "{expected} missing: the walk of Cargo.lock is broken\n{crates:?}"
        );
    }
    assert!(crates.len() > 50, "{crates:?}");
    let found: Vec<&str> = crates
        .iter()
        .copied()
        .filter(|c| NETWORK_CRATES.contains(c))
        .collect();
    assert!(
        found.is_empty(),
        "networking crates in the library's dependency tree: {found:?}; Tailor must never be able \
         to send the shopper's data anywhere (see `cargo tree -p tailor-core -e normal -i {}`)",
        found[0]
    );
}

#[test]
fn the_dependency_walk_finds_a_networking_crate_when_one_is_there() {
    let lock = r#"
[[package]]
name = "tailor-core"
version = "0.1.0"
dependencies = [
 "serde",
 "ureq 2.0.0",
]

[[package]]
name = "ureq"
version = "2.0.0"
dependencies = [
 "rustls",
]

[[package]]
name = "rustls"
version = "0.23.0"
"#;
    let graph = lock_graph(lock);
    assert_eq!(graph.len(), 3);
    assert_eq!(graph[&("ureq".into(), "2.0.0".into())], vec!["rustls"]);
    assert_eq!(
        normal_dependencies("[package]\nname = \"x\"\n\n[dependencies]\n# why\nureq = \"2\"\n\n[dev-dependencies]\ntempfile = \"3\"\n"),
        vec!["ureq"]
    );
}

// ---------------------------------------------------------------------------------------------
// Portable profile: an encrypted snapshot carries the shopper's taste to another device.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_profile_snapshot_moves_taste_to_a_new_device_and_bad_blobs_change_nothing() {
    let key = vec![42u8; 32];
    let (old_dir, new_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let old = open(&old_dir);
    old.upsert_items(catalog()).unwrap();
    let kinds = [
        EventKind::View,
        EventKind::Click,
        EventKind::AddToCart,
        EventKind::Purchase,
    ];
    let events: Vec<Event> = (0..10_000)
        .map(|i| {
            let id = ["books-0", "books-1", "toys-2", "shoes-3"][i % 4];
            event(kinds[i % 4], id, NOW - 30 * DAY + i as i64 * 60)
        })
        .collect();
    old.track_batch(events).unwrap();
    let prefs = vec![Attribute {
        kind: AttributeKind::Brand,
        value: "zeta".into(),
    }];
    old.set_preferences(prefs.clone()).unwrap();
    let started = std::time::Instant::now();
    let blob = old.export_profile_snapshot(key.clone()).unwrap();
    let exported = started.elapsed();

    let new = open(&new_dir);
    new.upsert_items(catalog()).unwrap();
    new.track(event(EventKind::View, "toys-0", NOW - DAY))
        .unwrap();
    // Wrong key, changed, cut short, not a snapshot, newer format: refused, nothing changes.
    let mut changed = blob.clone();
    changed[blob.len() / 2] ^= 0x20;
    let mut newer = blob.clone();
    newer[8] = 99;
    for (what, bad, k) in [
        ("wrong key", blob.clone(), vec![1u8; 32]),
        ("short key", blob.clone(), vec![42u8; 16]),
        ("changed", changed, key.clone()),
        ("truncated", blob[..blob.len() - 100].to_vec(), key.clone()),
        ("not a snapshot", b"{\"events\": []}".to_vec(), key.clone()),
        ("newer format", newer, key.clone()),
    ] {
        let err = new.import_profile_snapshot(bad, k).unwrap_err();
        assert!(
            matches!(err, TailorError::InvalidInput { .. }),
            "{what}: {err:?}"
        );
        assert_eq!(new.status().unwrap().profile_events, 1, "{what}");
    }

    let started = std::time::Instant::now();
    let summary = new
        .import_profile_snapshot(blob.clone(), key.clone())
        .unwrap();
    let imported = started.elapsed();
    assert_eq!(summary.stored, 10_000);
    assert_eq!(new.status().unwrap().profile_events, 10_001);
    // Twice, or back onto the device it came from: nothing new.
    assert_eq!(
        new.import_profile_snapshot(blob.clone(), key.clone())
            .unwrap()
            .stored,
        0
    );
    assert_eq!(
        old.import_profile_snapshot(blob.clone(), key.clone())
            .unwrap()
            .stored,
        0
    );
    assert_eq!(new.status().unwrap().profile_events, 10_001);

    // The new device knows the shopper's taste: the same top items, the same preferences.
    let request = || request(4);
    let (a, b) = (old.rank(request()).unwrap(), new.rank(request()).unwrap());
    assert!(b.personalized);
    assert_eq!(ids(&a)[..3], ids(&b)[..3]);
    assert_eq!(new.explain_profile(Some(NOW)).unwrap().preferences, prefs);
    eprintln!(
        "profile snapshot: 10,000 events -> {} bytes; export {:.1} ms, import {:.1} ms (debug build)",
        blob.len(),
        exported.as_secs_f64() * 1e3,
        imported.as_secs_f64() * 1e3
    );
}
