//! `tailor catalog-signals`: the catalog columns a merchant computes from its own order history —
//! `popularity`, `repeat_rate`, `related` (co-purchase neighbours) and `embedding` — written back
//! as a catalog CSV the app imports (`import_catalog_csv`). The same computation `tailor replay`
//! runs at its cutoff, so a catalog made this way is what the replay numbers were measured with.
//! It runs where the order history is (the merchant's server or laptop), never on the phone.

use crate::CliResult;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use tailor::Item;
use tailor_eval::matrix::csv_field as field;
use tailor_eval::{derive, DeriveOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The shop's catalog CSV (item_id required; the columns this command fills are replaced).
    #[arg(long)]
    catalog: PathBuf,
    /// The shop's events CSV (purchases and carts are what count).
    #[arg(long)]
    events: PathBuf,
    /// Output catalog CSV (`-` for stdout).
    #[arg(long)]
    out: PathBuf,
    /// Use events before this time only (Unix seconds or a date like 2011-10-01; default: all).
    #[arg(long, value_parser = crate::parse_time)]
    until: Option<i64>,
    /// Popularity = purchases in this many days before `--until` (or the last event).
    #[arg(long, default_value_t = 30)]
    popularity_days: i64,
    /// Co-purchase neighbours kept per item.
    #[arg(long, default_value_t = 50)]
    neighbours: usize,
    /// Embedding dimension (0 = none).
    #[arg(long, default_value_t = 16)]
    embedding_dim: usize,
}

pub fn run(args: Args) -> CliResult {
    let mut items =
        tailor::engine::catalog::read_csv_path(&args.catalog).map_err(tailor::TailorError::from)?;
    let events =
        tailor::engine::profile::read_csv_path(&args.events).map_err(tailor::TailorError::from)?;
    let until = args.until.unwrap_or_else(|| {
        events
            .iter()
            .filter_map(|e| e.event.timestamp)
            .max()
            .map_or(0, |t| t.saturating_add(1))
    });
    let opts = DeriveOptions {
        popularity_days: args.popularity_days,
        neighbours: args.neighbours,
        embedding_dim: args.embedding_dim,
        ..DeriveOptions::default()
    };
    derive(&mut items, &events, until, &opts);
    let out: Box<dyn Write> = if args.out.as_os_str() == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(std::fs::File::create(&args.out)?)
    };
    let mut w = BufWriter::new(out);
    write_catalog(&mut w, &items)?;
    w.flush()?;
    let rated = items.iter().filter(|it| it.repeat_rate.is_some()).count();
    let linked = items.iter().filter(|it| !it.related.is_empty()).count();
    eprintln!(
        "wrote {} items ({rated} with a repeat rate, {linked} with co-purchase neighbours) from events before {until}",
        items.len()
    );
    Ok(())
}

/// The catalog CSV format `import_catalog_csv` reads (README "Catalog and event files").
fn write_catalog(w: &mut impl Write, items: &[Item]) -> std::io::Result<()> {
    writeln!(
        w,
        "item_id,title,category,brand,price,tags,in_stock,margin,popularity,repeat_rate,embedding,related"
    )?;
    for it in items {
        let price = if it.price > 0.0 {
            it.price.to_string()
        } else {
            String::new()
        };
        let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        let embedding = it
            .embedding
            .as_ref()
            .map(|e| e.iter().map(f32::to_string).collect::<Vec<_>>().join(";"))
            .unwrap_or_default();
        let related = it
            .related
            .iter()
            .map(|r| format!("{}:{}", r.item_id, r.weight))
            .collect::<Vec<_>>()
            .join(";");
        let fields = [
            field(&it.id),
            field(&it.title),
            field(&it.category),
            field(&it.brand),
            price,
            field(&it.tags.join(";")),
            (if it.in_stock { "1" } else { "0" }).to_string(),
            opt(it.margin),
            it.popularity.to_string(),
            opt(it.repeat_rate),
            embedding,
            field(&related),
        ];
        writeln!(w, "{}", fields.join(","))?;
    }
    Ok(())
}
