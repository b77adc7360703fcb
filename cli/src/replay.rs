//! `tailor replay`: offline evaluation on the interchange CSVs.

use crate::CliResult;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use tailor::catalog::derive::DeriveOptions;
use tailor::eval::{replay, ReplayOptions};
use tailor::model::registry::{builtin, load_from_manifest};
use tailor::profile::Params;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    catalog: PathBuf,
    #[arg(long)]
    events: PathBuf,
    /// Unix time separating history (before) from the purchases to predict (at/after).
    #[arg(long)]
    cutoff: i64,
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// A model's manifest.json (default: the built-in model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Only purchases within this many days after the cutoff are relevant (default: all).
    #[arg(long)]
    horizon_days: Option<i64>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Also report `tailor+learn`: the personal layer trained on simulated impressions and
    /// purchases of each user's baskets before the cutoff.
    #[arg(long)]
    learn: bool,
    /// Replay at most this many users (a seeded uniform sample).
    #[arg(long)]
    max_users: Option<usize>,
}

pub fn run(args: Args) -> CliResult {
    let model = match &args.model {
        Some(m) => load_from_manifest(m, &[]),
        None => builtin(),
    }
    .map_err(tailor::TailorError::from)?;
    let items =
        tailor::catalog::import::read_path(&args.catalog).map_err(tailor::TailorError::from)?;
    let events =
        tailor::profile::import::read_path(&args.events).map_err(tailor::TailorError::from)?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} users ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("replay");
    let progress = |done: usize, total: usize| {
        if done == 1 {
            bar.set_length(total as u64);
        }
        bar.set_position(done as u64);
    };
    let opts = ReplayOptions {
        cutoff: args.cutoff,
        k: args.k,
        horizon_days: args.horizon_days,
        derive: DeriveOptions::default(),
        params: Params::default(),
        learn: args.learn,
        max_users: args.max_users,
    };
    let report =
        replay(items, events, &model, &opts, &progress).map_err(tailor::TailorError::from)?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "replay: {} users, K = {}, model {} v{}",
        report.users, report.k, model.manifest.name, model.manifest.version
    );
    println!(
        "{:<12} {:>8} {:>10} {:>8}",
        "method", "HR@K", "Recall@K", "NDCG@K"
    );
    for (name, m) in &report.methods {
        println!(
            "{name:<12} {:>8.4} {:>10.4} {:>8.4}",
            m.hr, m.recall, m.ndcg
        );
    }
    Ok(())
}
