//! `tailor`: the command-line tool — demo, offline replay, training matrices, model checks.

mod bench;
mod bench_deadline;
mod bench_install;
mod bench_model;
mod bench_sequence;
mod catalog_signals;
mod crash_writer;
mod demo;
mod features;
mod replay;
mod sign;
mod validate;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "tailor",
    version,
    about = "On-device personalization for shopping apps"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rank a real sample catalog for a shopper before and after their events, with reasons.
    Demo {
        /// Keep the store here instead of a temporary directory.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Offline evaluation against popularity and buy-again baselines.
    Replay(replay::Args),
    /// Fill a catalog's popularity, repeat_rate, related and embedding columns from the shop's
    /// order history (run where the history is, not on the phone).
    CatalogSignals(catalog_signals::Args),
    /// Write a training matrix: columns user, item, label, then the features (registry order,
    /// or --features order).
    Features(features::Args),
    /// Time a model alone on a feature batch (used by scripts/bench-vs-onnxruntime).
    BenchModel(bench_model::Args),
    /// Create an ed25519 key pair for signing models.
    Keygen {
        /// File for the secret key (created with mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a model's manifest.json (in place unless --out) with a secret key from `keygen`.
    SignModel {
        manifest: PathBuf,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Measure rank latency, model execution, track throughput, open time and memory.
    Bench(bench::Args),
    /// Check that a model would load; exit 1 with the typed reason if not.
    ValidateModel(validate::Args),
    /// Rank p99 alone and while a large model installs in a loop (rank never waits on installs).
    BenchInstall(bench_install::Args),
    /// Rank latency with a slow model, with and without a deadline, side by side.
    BenchDeadline(bench_deadline::Args),
    /// Rank latency with a sequence model against the built-in model, side by side.
    BenchSequence(bench_sequence::Args),
    /// Test hook for cli/tests/it/crash.rs: track events until killed (see crash_writer.rs).
    #[command(hide = true)]
    CrashWriter(crash_writer::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { dir } => demo::run(dir),
        Command::Replay(args) => replay::run(args),
        Command::CatalogSignals(args) => catalog_signals::run(args),
        Command::Features(args) => features::run(args),
        Command::Bench(args) => bench::run(args),
        Command::BenchModel(args) => bench_model::run(args),
        Command::Keygen { out } => sign::keygen(&out),
        Command::SignModel { manifest, key, out } => sign::sign(&manifest, &key, out),
        Command::ValidateModel(args) => validate::run(args),
        Command::BenchInstall(args) => bench_install::run(args),
        Command::BenchDeadline(args) => bench_deadline::run(args),
        Command::BenchSequence(args) => bench_sequence::run(args),
        Command::CrashWriter(args) => crash_writer::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Errors from any layer, printed once by `main`.
pub type CliResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// A time argument: Unix seconds, or a UTC date `YYYY-MM-DD` (midnight), e.g. 2011-10-01.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(t) = s.parse::<i64>() {
        return Ok(t);
    }
    let bad = || format!("{s:?} is neither Unix seconds nor a date like 2011-10-01");
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm), proleptic Gregorian, UTC.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok((era * 146_097 + doe - 719_468) * 86_400)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_and_seconds_parse() {
        assert_eq!(super::parse_time("2011-10-01"), Ok(1_317_427_200));
        assert_eq!(super::parse_time("1970-01-01"), Ok(0));
        assert_eq!(super::parse_time("1317427200"), Ok(1_317_427_200));
        assert!(super::parse_time("2011-13-01").is_err());
        assert!(super::parse_time("yesterday").is_err());
    }
}
