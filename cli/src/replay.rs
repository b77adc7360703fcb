//! `tailor replay`: offline evaluation on the interchange CSVs.

use crate::CliResult;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use tailor::engine::model::{builtin, load_from_manifest};
use tailor::engine::profile::Params;
use tailor_eval::DeriveOptions;
use tailor_eval::{replay, replay_complete_cart, ReplayOptions};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    catalog: PathBuf,
    #[arg(long)]
    events: PathBuf,
    /// Time separating history (before) from the purchases to predict (at/after): Unix
    /// seconds or a date like 2011-10-01 (UTC midnight).
    #[arg(long, value_parser = crate::parse_time)]
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
    /// Replay at most this many users (a seeded uniform sample; for-you only).
    #[arg(long)]
    max_users: Option<usize>,
    /// `for-you`: predict each shopper's purchases after the cutoff from their history.
    /// `complete-cart`: predict the last item of each basket after the cutoff from the rest of
    /// it (the cart) and the shopper's history (see README "Replay").
    #[arg(long, value_enum, default_value_t = Task::ForYou)]
    task: Task,
    /// Replay a catalog without `repeat_rate` (a merchant that does not ship it).
    #[arg(long)]
    without_repeat_rate: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Task {
    ForYou,
    CompleteCart,
}

pub fn run(args: Args) -> CliResult {
    let model = match &args.model {
        Some(m) => load_from_manifest(m, &[]),
        None => builtin(),
    }
    .map_err(tailor::TailorError::from)?;
    let items =
        tailor::engine::catalog::read_csv_path(&args.catalog).map_err(tailor::TailorError::from)?;
    let events =
        tailor::engine::profile::read_csv_path(&args.events).map_err(tailor::TailorError::from)?;
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
        derive: DeriveOptions {
            repeat_rate: !args.without_repeat_rate,
            ..DeriveOptions::default()
        },
        params: Params::default(),
        learn: args.learn,
        max_users: args.max_users,
    };
    let report = match args.task {
        Task::ForYou => replay(items, events, &model, &opts, &progress),
        Task::CompleteCart => replay_complete_cart(items, events, &model, &opts, &progress),
    }
    .map_err(tailor::TailorError::from)?;
    bar.finish_and_clear();
    let failed = report
        .outcomes
        .get("tailor")
        .map(|o| o.model_failures())
        .unwrap_or(0);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let unit = match args.task {
            Task::ForYou => "users",
            Task::CompleteCart => "baskets",
        };
        print_table(&report, unit, &model.manifest.name, &model.manifest.version);
    }
    // A model that fails on most users makes "tailor" equal popularity: that must not pass
    // as a result.
    if report.users > 0 && failed * 2 > report.users {
        return Err(format!(
            "the model failed on {failed} of {} users (fallbacks model_failed + errors); \
             its metrics are popularity's",
            report.users
        )
        .into());
    }
    Ok(())
}

fn print_table(report: &tailor_eval::ReplayReport, unit: &str, name: &str, version: &str) {
    println!(
        "replay: {} {unit}, K = {}, model {name} v{version}",
        report.users, report.k
    );
    println!(
        "{:<26} {:>8} {:>10} {:>8} {:>10} {:>7}",
        "method", "HR@K", "Recall@K", "NDCG@K", "fallbacks", "errors"
    );
    for (method, m) in &report.methods {
        let (fallbacks, errors) = match report.outcomes.get(method) {
            Some(o) => (
                o.fallbacks.values().sum::<usize>().to_string(),
                o.errors.to_string(),
            ),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{method:<26} {:>8.4} {:>10.4} {:>8.4} {fallbacks:>10} {errors:>7}",
            m.hr, m.recall, m.ndcg
        );
    }
    for (method, o) in &report.outcomes {
        if !o.fallbacks.is_empty() {
            println!("{method}: fallbacks by reason {:?}", o.fallbacks);
        }
    }
}
