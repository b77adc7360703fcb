//! Crash safety (issue 5, point 9): a child process tracks events and prints each acknowledged
//! sequence number; the test kills it with SIGKILL at a random moment, checks that both SQLite
//! files pass `PRAGMA integrity_check`, reopens Tailor and checks that every acknowledged event is
//! there. Each round continues the numbering of the last.
//!
//! Default 50 rounds (about 20 s in debug). Long mode:
//! `TAILOR_CRASH_ROUNDS=500 cargo test -p tailor-cli --test it crash:: -- --nocapture`;
//! `TAILOR_CRASH_SEED=N` changes the kill schedule (default fixed, so a failure reproduces).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tailor::{Tailor, TailorConfig};

/// splitmix64: a tiny seeded generator, so the kill schedule is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `PRAGMA integrity_check` of a store file, opened read-only (None when it does not exist yet).
fn integrity(path: &Path) -> Option<String> {
    if !path.exists() {
        return None;
    }
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let rows: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("integrity_check on {}: {e}", path.display()));
    Some(rows.join("; "))
}

fn sequence(item_id: &str) -> Option<u64> {
    item_id.strip_prefix("crash-")?.parse().ok()
}

/// Sequence numbers of the `crash-<N>` events in profile.db (read-only SQL: fast enough to run
/// every round; the public API is checked at the end).
fn sequences_in_file(path: &Path) -> BTreeSet<u64> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let ids: Vec<String> = conn
        .prepare("SELECT item_id FROM events")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    ids.iter().filter_map(|id| sequence(id)).collect()
}

/// Sequence numbers of the `crash-<N>` events in the store, through the public API.
fn stored_sequences(t: &Tailor) -> BTreeSet<u64> {
    let doc: serde_json::Value = serde_json::from_str(&t.export_json().unwrap()).unwrap();
    doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| sequence(e["item_id"].as_str()?))
        .collect()
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_event() {
    let rounds = env_u64("TAILOR_CRASH_ROUNDS", 50);
    let seed = env_u64("TAILOR_CRASH_SEED", 0x7A11_0C0D_E5AF_E001);
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let config = TailorConfig {
        max_events: u32::MAX,
        max_event_age_days: 36_500,
        ..TailorConfig::new(dir.path().display().to_string())
    };
    let started = Instant::now();
    let mut acked: BTreeSet<u64> = BTreeSet::new();
    let mut next = 0u64;
    let (mut during_open, mut during_writes, mut in_flight) = (0, 0, 0usize);
    for round in 0..rounds {
        let batch = [1, 1, 3, 10][rng.below(4) as usize];
        // Mostly while writing; about one kill in eight lands during startup and open. The delay
        // of a kill while writing counts from the writer's "ready" line, so a slow or busy
        // machine (a long open) does not turn write-time kills into open-time ones.
        let during_startup = rng.below(8) == 0;
        let delay = Duration::from_millis(if during_startup {
            rng.below(150)
        } else {
            rng.below(250)
        });
        let mut child = Command::new(env!("CARGO_BIN_EXE_tailor"))
            .args(["crash-writer", "--dir"])
            .arg(dir.path())
            .args(["--start", &next.to_string(), "--batch", &batch.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let mut signalled = false;
            loop {
                match stdout.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                if !signalled && buf.windows(6).any(|w| w == b"ready\n") {
                    signalled = true;
                    let _ = ready_tx.send(());
                }
            }
            buf
        });
        if !during_startup {
            // An open that takes half a minute is a failure of its own, reported below.
            let _ = ready_rx.recv_timeout(Duration::from_secs(30));
        }
        std::thread::sleep(delay);
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("round {round}: the writer exited by itself ({status}): {err}");
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let out = reader.join().unwrap();
        // Only complete lines count: a number is acknowledged once its newline is out.
        let text = String::from_utf8(out).unwrap();
        let complete = match text.rfind('\n') {
            Some(i) => &text[..=i],
            None => "",
        };
        let mut ready = false;
        let mut this_round = 0;
        for line in complete.lines() {
            if line == "ready" {
                ready = true;
            } else {
                let n: u64 = line
                    .parse()
                    .unwrap_or_else(|_| panic!("round {round}: unexpected line {line:?}"));
                assert!(acked.insert(n), "round {round}: {n} acknowledged twice");
                this_round += 1;
            }
        }
        if ready && this_round > 0 {
            during_writes += 1;
        } else {
            during_open += 1;
        }

        for store in ["profile.db", "catalog.db"] {
            if let Some(result) = integrity(&dir.path().join(store)) {
                assert_eq!(result, "ok", "round {round}: {store} after SIGKILL");
            }
        }
        let t = Tailor::open(config.clone()).unwrap();
        let status = t.status().unwrap();
        assert!(
            status.notices.is_empty(),
            "round {round}: reopening found damage: {:?}",
            status.notices
        );
        let stored = sequences_in_file(&dir.path().join("profile.db"));
        assert_eq!(status.profile_events, stored.len() as u64);
        let lost: Vec<u64> = acked.difference(&stored).copied().collect();
        assert!(
            lost.is_empty(),
            "round {round}: {} acknowledged events lost, first {:?}",
            lost.len(),
            &lost[..lost.len().min(10)]
        );
        // Stored but never acknowledged: the call in flight at a kill committed. Allowed.
        in_flight = stored.len() - acked.len();
        next = stored.last().map_or(next, |m| m + 1).max(next);
        drop(t);
    }
    let t = Tailor::open(config).unwrap();
    let stored = stored_sequences(&t);
    assert!(
        acked.is_subset(&stored),
        "every acknowledged event, through export_json"
    );
    assert_eq!(t.status().unwrap().profile_events, stored.len() as u64);
    eprintln!(
        "crash: {rounds} SIGKILL rounds in {:.1} s (seed {seed:#x}; {during_writes} while \
         writing, {during_open} during startup/open), {} events acknowledged, {} stored \
         ({in_flight} committed in a call cut short by a kill), 0 lost",
        started.elapsed().as_secs_f64(),
        acked.len(),
        stored.len(),
    );
    assert!(during_writes > rounds / 2, "most kills land while writing");
}
