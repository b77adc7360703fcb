//! `tailor`: the command-line tool — demo, offline replay, training matrices, model checks.

mod bench;
mod bench_model;
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
    /// Write a training matrix (features named by the registry, label, user, item).
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
    ValidateModel {
        /// Path to manifest.json (model.onnx beside it).
        manifest: PathBuf,
    },
    /// Test hook for cli/tests/it/crash.rs: track events until killed (see crash_writer.rs).
    #[command(hide = true)]
    CrashWriter(crash_writer::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { dir } => demo::run(dir),
        Command::Replay(args) => replay::run(args),
        Command::Features(args) => features::run(args),
        Command::Bench(args) => bench::run(args),
        Command::BenchModel(args) => bench_model::run(args),
        Command::Keygen { out } => sign::keygen(&out),
        Command::SignModel { manifest, key, out } => sign::sign(&manifest, &key, out),
        Command::ValidateModel { manifest } => validate::run(&manifest),
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
