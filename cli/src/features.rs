//! `tailor features`: the training matrix, written by the serving feature code.

use crate::CliResult;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use tailor::engine::features::{describe, Feature};
use tailor_eval::matrix::{write_matrix, MatrixOptions};
use tailor_eval::world::World;
use tailor_eval::DeriveOptions;

#[derive(clap::Args)]
pub struct Args {
    /// Print every feature column name (each embedding component too) and exit.
    #[arg(long)]
    list: bool,
    #[arg(long, required_unless_present = "list")]
    catalog: Option<PathBuf>,
    #[arg(long, required_unless_present = "list")]
    events: Option<PathBuf>,
    /// Profiles use events before this time (Unix seconds or a date like 2011-10-01); labels are
    /// purchases in the horizon after it.
    #[arg(long, required_unless_present = "list", value_parser = crate::parse_time)]
    cutoff: Option<i64>,
    #[arg(long, default_value_t = 30)]
    horizon_days: i64,
    /// Label window in seconds (overrides --horizon-days; for sequence data, the next item).
    #[arg(long)]
    horizon_secs: Option<i64>,
    /// Write at most this many users (a seeded uniform sample of the eligible ones).
    #[arg(long)]
    max_users: Option<usize>,
    /// Output CSV (`-` for stdout).
    #[arg(long, required_unless_present = "list")]
    out: Option<PathBuf>,
    /// Comma-separated feature names (default: the whole registry).
    #[arg(long)]
    features: Option<String>,
    /// Random negatives per user (besides history, co-purchase and popular candidates).
    #[arg(long, default_value_t = 200)]
    random: usize,
    /// Also write row sets from up to this many baskets in the horizon (a seeded sample): the
    /// basket's first items are the cart (the request's context, read by the `context_*`
    /// features) and the item added next is the positive; the basket's later items are left
    /// out. Each is one group, `user#cartK` (train.py then fits a context head on them).
    #[arg(long, default_value_t = 0)]
    baskets: usize,
    /// Leave the catalog's `repeat_rate` unknown (as for a merchant that does not ship it), so a
    /// model can be trained for both kinds of catalog.
    #[arg(long)]
    without_repeat_rate: bool,
}

pub fn run(args: Args) -> CliResult {
    if args.list {
        let rows = describe();
        for f in Feature::all() {
            let name = f.name();
            // Embedding components share their family's description row (`item_embedding_0..15`).
            let family = name.trim_end_matches(|c: char| c.is_ascii_digit());
            let what = rows
                .iter()
                .find(|(n, _)| *n == name || n.starts_with(family) && n.contains(".."))
                .map(|(_, w)| w.as_str())
                .unwrap_or("");
            println!("{name:<32} {what}");
        }
        return Ok(());
    }
    let (Some(catalog), Some(events), Some(cutoff), Some(out)) =
        (args.catalog, args.events, args.cutoff, args.out)
    else {
        return Err("--catalog, --events, --cutoff and --out are required".into());
    };
    let features: Vec<Feature> = match &args.features {
        Some(list) => list
            .split(',')
            .map(|n| {
                Feature::parse(n.trim()).ok_or_else(|| format!("unknown feature {n:?}; see --list"))
            })
            .collect::<Result<_, _>>()?,
        // sequence_score comes from a model's own sequence graph, not from the data alone.
        None => Feature::all()
            .into_iter()
            .filter(|f| *f != Feature::SequenceScore)
            .collect(),
    };
    if features.contains(&Feature::SequenceScore) {
        return Err(
            "sequence_score is computed by a model's sequence graph; `tailor features` \
                    writes the data-only features (train the sequence model with \
                    models/train/sequence.py)"
                .into(),
        );
    }
    let items =
        tailor::engine::catalog::read_csv_path(&catalog).map_err(tailor::TailorError::from)?;
    let events =
        tailor::engine::profile::read_csv_path(&events).map_err(tailor::TailorError::from)?;
    let derive = DeriveOptions {
        repeat_rate: !args.without_repeat_rate,
        ..DeriveOptions::default()
    };
    let world = World::build(items, events, cutoff, &derive);
    let opts = MatrixOptions {
        cutoff,
        horizon_days: args.horizon_days,
        horizon_secs: args.horizon_secs,
        max_users: args.max_users,
        random: args.random,
        baskets: args.baskets,
        ..Default::default()
    };
    let mut sink: Box<dyn Write> = if out.as_os_str() == "-" {
        Box::new(BufWriter::new(std::io::stdout()))
    } else {
        Box::new(BufWriter::new(std::fs::File::create(&out)?))
    };
    let summary =
        write_matrix(&world, &features, &opts, &mut sink).map_err(tailor::TailorError::from)?;
    sink.flush()?;
    eprintln!(
        "wrote {} rows for {} users and {} baskets ({} positives, {} features) to {}",
        summary.rows,
        summary.users,
        summary.baskets,
        summary.positives,
        features.len(),
        out.display()
    );
    Ok(())
}
