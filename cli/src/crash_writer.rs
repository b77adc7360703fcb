//! `tailor crash-writer` (hidden): the child process of the crash-safety test (cli/tests/it/crash.rs).
//!
//! Opens Tailor on `--dir` and tracks events forever, item id `crash-<N>` for N = start, start+1,
//! ..., in calls of `--batch` events. After each call returns Ok it prints the acknowledged
//! sequence numbers, one per line, and flushes stdout: a number on stdout is a promise that the
//! event is stored. Every 25th number also upserts its item into the catalog, so both stores are
//! being written when the test kills the process with SIGKILL. Prints `ready` once open.

use crate::CliResult;
use std::io::Write;
use std::path::PathBuf;
use tailor::{Event, EventKind, Item, Tailor, TailorConfig};

#[derive(clap::Args)]
pub struct Args {
    /// Tailor directory.
    #[arg(long)]
    dir: PathBuf,
    /// First sequence number.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Events per track call.
    #[arg(long, default_value_t = 1)]
    batch: u64,
    /// Stop after this many events (default: run until killed).
    #[arg(long)]
    count: Option<u64>,
}

const KINDS: [EventKind; 4] = [
    EventKind::View,
    EventKind::Click,
    EventKind::AddToCart,
    EventKind::Purchase,
];

pub fn run(args: Args) -> CliResult {
    let t = Tailor::open(TailorConfig {
        max_events: u32::MAX,
        max_event_age_days: 36_500,
        ..TailorConfig::new(args.dir.display().to_string())
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    let batch = args.batch.max(1);
    let end = args
        .count
        .map_or(u64::MAX, |c| args.start.saturating_add(c));
    let mut n = args.start;
    while n < end {
        let seqs: Vec<u64> = (n..n.saturating_add(batch).min(end)).collect();
        let events = seqs
            .iter()
            .map(|&i| Event {
                kind: KINDS[(i % 4) as usize],
                item_id: format!("crash-{i}"),
                timestamp: None,
                session_id: Some(format!("crash-session-{}", i / 10)),
                quantity: Some(1 + (i % 3) as u32),
                surface: None,
                response_id: None,
            })
            .collect();
        t.track_batch(events)?;
        for i in &seqs {
            writeln!(out, "{i}")?;
        }
        out.flush()?;
        for &i in seqs.iter().filter(|i| *i % 25 == 0) {
            t.upsert_items(vec![Item {
                id: format!("crash-{i}"),
                title: format!("Crash item {i}"),
                category: format!("cat-{}", i % 7),
                brand: "crash".into(),
                price: 1.0 + (i % 50) as f64,
                tags: vec![],
                in_stock: true,
                margin: None,
                embedding: None,
                popularity: (i % 100) as f64,
                repeat_rate: None,
                related: vec![],
            }])?;
        }
        n += seqs.len() as u64;
    }
    Ok(())
}
