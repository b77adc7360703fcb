//! `tailor`: the command-line tool — demo, offline replay, training matrices, model checks.

mod demo;
mod features;
mod replay;
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
    /// Check that a model would load; exit 1 with the typed reason if not.
    ValidateModel {
        /// Path to manifest.json (model.onnx beside it).
        manifest: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { dir } => demo::run(dir),
        Command::Replay(args) => replay::run(args),
        Command::Features(args) => features::run(args),
        Command::ValidateModel { manifest } => validate::run(&manifest),
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
