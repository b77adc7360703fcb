//! `tailor demo`: a real sample catalog, one shopper, the ranked page before and after their
//! events (with reasons), then a browsing session that shifts the page. No files, no network.

use crate::CliResult;
use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;
use tailor::engine::profile::UserEvent;
use tailor::{
    BundleRequest, Event, EventKind, RankRequest, RankResponse, Reason, SurfaceKind, Tailor,
    TailorConfig,
};
use tailor_eval::{derive, DeriveOptions};

const CATALOG_GZ: &[u8] = include_bytes!("../data/catalog.csv.gz");
const EVENTS_GZ: &[u8] = include_bytes!("../data/events.csv.gz");
/// The sample's "today": 2011-10-01, after every sampled event used for history.
const NOW: i64 = 1_317_427_200;

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

fn describe(reason: &Reason) -> String {
    match reason {
        Reason::SimilarTo { title, .. } => format!("goes with \"{title}\""),
        Reason::BoughtBefore { times } => format!("bought {times}x before"),
        Reason::LeftInCart => "still in your cart".into(),
        Reason::ViewedRecently => "viewed recently".into(),
        Reason::Likes { attribute } => {
            format!("you like {:?} \"{}\"", attribute.kind, attribute.value).to_lowercase()
        }
        Reason::SessionIntent { attribute } => {
            format!("matches this session: \"{}\"", attribute.value)
        }
        Reason::ChosenPreference { attribute } => format!("you chose \"{}\"", attribute.value),
        Reason::PopularNow => "popular now".into(),
        Reason::Pinned => "pinned".into(),
        Reason::Boosted { attribute } => format!("promoted: {}", attribute.value),
        Reason::Exploration => "something new".into(),
        Reason::GoesWith { title, .. } => format!("often bought with \"{title}\""),
        Reason::LooksLike { title, .. } => format!("looks like \"{title}\""),
        Reason::TrendingInCategory { category } => format!("trending in \"{category}\""),
    }
}

fn print_page(title: &str, page: &RankResponse, titles: &HashMap<String, String>) {
    let mode = match &page.fallback {
        None => format!(
            "personalized by {} v{}",
            page.model_name, page.model_version
        ),
        Some(f) => format!("not personalized ({f:?}): {} order", page.model_name),
    };
    println!("\n== {title} — {mode}, {} µs", page.took_micros);
    for (i, item) in page.items.iter().enumerate() {
        let name = titles.get(&item.item_id).map(String::as_str).unwrap_or("?");
        let why: Vec<String> = item.reasons.iter().map(describe).collect();
        println!(
            "{:>3}. {:<8} {:<38} {}",
            i + 1,
            item.item_id,
            truncate(name, 38),
            why.join("; ")
        );
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

pub fn run(dir: Option<PathBuf>) -> CliResult {
    let temp;
    let dir = match dir {
        Some(d) => d,
        None => {
            temp = TempDir::new()?;
            temp.0.clone()
        }
    };
    println!(
        "Tailor demo — Online Retail sample (UCI, CC BY 4.0), store in {}",
        dir.display()
    );
    let mut items = tailor::engine::catalog::read_csv(&gunzip(CATALOG_GZ)?[..])
        .map_err(tailor::TailorError::from)?;
    let events = tailor::engine::profile::read_csv(&gunzip(EVENTS_GZ)?[..])
        .map_err(tailor::TailorError::from)?;
    // The shopper: a returning customer with a short history (at most 4 invoices before NOW),
    // so both long-term taste and this session's intent show on the page.
    let mut invoices: HashMap<&str, std::collections::HashSet<&str>> = HashMap::new();
    for e in &events {
        if e.event.timestamp.unwrap_or(0) < NOW {
            invoices
                .entry(&e.user_id)
                .or_default()
                .insert(e.event.session_id.as_deref().unwrap_or(""));
        }
    }
    let shopper = invoices
        .iter()
        .filter(|(_, inv)| inv.len() <= 4)
        .max_by_key(|(u, inv)| (inv.len(), std::cmp::Reverse(**u)))
        .map(|(u, _)| u.to_string())
        .ok_or("the sample has no shopper")?;
    // Merchant-side signals from everyone else's purchases before NOW.
    let others: Vec<UserEvent> = events
        .iter()
        .filter(|e| e.user_id != shopper)
        .cloned()
        .collect();
    derive(&mut items, &others, NOW, &DeriveOptions::default());
    let titles: HashMap<String, String> = items
        .iter()
        .map(|i| (i.id.clone(), i.title.clone()))
        .collect();

    let t = Instant::now();
    let tailor = Tailor::open(TailorConfig::new(dir.display().to_string()))?;
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let n_items = tailor.upsert_items(items)?;
    let upsert_ms = t.elapsed().as_secs_f64() * 1e3;
    let info = tailor.model_info();
    println!(
        "opened in {open_ms:.1} ms; {n_items} items in {upsert_ms:.1} ms; model {} v{}",
        info.name, info.version
    );

    let page = |session: Option<&str>| RankRequest {
        limit: 10,
        now: Some(NOW),
        session_id: session.map(String::from),
        ..Default::default()
    };
    print_page("Before: a new shopper", &tailor.rank(page(None))?, &titles);

    let history: Vec<Event> = events
        .iter()
        .filter(|e| e.user_id == shopper && e.event.timestamp.unwrap_or(0) < NOW)
        .map(|e| e.event.clone())
        .collect();
    let t = Instant::now();
    let summary = tailor.track_batch(history)?;
    let track_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "\nshopper {shopper}: tracked {} purchases from {} invoices in {track_ms:.1} ms",
        summary.stored,
        invoices.get(shopper.as_str()).map(|s| s.len()).unwrap_or(0)
    );
    print_page(
        "After: their purchase history",
        &tailor.rank(page(None))?,
        &titles,
    );

    // A browsing session today: the shopper looks at a few items sharing a theme.
    let theme = pick_theme(&tailor, &titles, &shopper);
    let browsing: Vec<Event> = theme
        .iter()
        .enumerate()
        .map(|(i, id)| Event {
            kind: if i == 0 {
                EventKind::Click
            } else {
                EventKind::View
            },
            item_id: id.clone(),
            timestamp: Some(NOW - 600 + i as i64 * 60),
            session_id: Some("demo-session".into()),
            quantity: None,
            surface: Some("search".into()),
            response_id: None,
        })
        .collect();
    let viewed: Vec<&str> = theme
        .iter()
        .map(|id| titles.get(id).map(String::as_str).unwrap_or("?"))
        .collect();
    tailor.track_batch(browsing)?;
    println!("\nsession: viewed {}", viewed.join(", "));
    print_page(
        "During the session",
        &tailor.rank(page(Some("demo-session")))?,
        &titles,
    );

    // The product page of the first item the shopper looked at, their cart, and a bundle.
    if let Some(viewed) = theme.first() {
        let name = titles.get(viewed).map(String::as_str).unwrap_or("?");
        let surface = |kind: SurfaceKind, context: Vec<String>| RankRequest {
            kind: Some(kind),
            context_item_ids: context,
            limit: 5,
            ..page(Some("demo-session"))
        };
        print_page(
            &format!("Product page of \"{name}\": goes with"),
            &tailor.rank(surface(SurfaceKind::GoesWith, vec![viewed.clone()]))?,
            &titles,
        );
        print_page(
            &format!("Product page of \"{name}\": similar items"),
            &tailor.rank(surface(SurfaceKind::Similar, vec![viewed.clone()]))?,
            &titles,
        );
        let cart: Vec<String> = theme.iter().take(2).cloned().collect();
        let names: Vec<&str> = cart
            .iter()
            .map(|id| titles.get(id).map(String::as_str).unwrap_or("?"))
            .collect();
        print_page(
            &format!("Cart ({}): complete your order", names.join(", ")),
            &tailor.rank(surface(SurfaceKind::CompleteCart, cart.clone()))?,
            &titles,
        );
        match tailor.bundle(BundleRequest {
            context_item_ids: vec![viewed.clone()],
            size: 3,
            max_total_price: Some(30.0),
            now: Some(NOW),
            ..Default::default()
        }) {
            Ok(b) => {
                println!("\nBundle for \"{name}\" (at most 30.00 together):");
                for i in &b.items {
                    let why: Vec<String> = i.reasons.iter().map(describe).collect();
                    println!("  {:>7.2}  {}  — {}", i.price, i.title, why.join("; "));
                }
                println!("  {:>7.2}  total", b.total_price);
            }
            Err(e) => println!("\nBundle for \"{name}\": {e}"),
        }
    }

    // Timing: rank the whole sample catalog repeatedly.
    let mut times: Vec<i64> = (0..200)
        .map(|_| {
            tailor
                .rank(page(Some("demo-session")))
                .map(|r| r.took_micros)
        })
        .collect::<Result<_, _>>()?;
    times.sort_unstable();
    println!(
        "\nrank of {n_items} candidates: median {} µs, p95 {} µs (200 runs; `tailor bench` for the full benchmark)",
        times[times.len() / 2],
        times[times.len() * 95 / 100]
    );
    tailor.close();
    Ok(())
}

/// Three items the shopper never bought that share the most common title word among items
/// with at least four members — a plausible search like "lunch bag" or "candle".
fn pick_theme(tailor: &Tailor, titles: &HashMap<String, String>, _shopper: &str) -> Vec<String> {
    let export = tailor.export_json().unwrap_or_default();
    let mut words: HashMap<String, Vec<String>> = HashMap::new();
    let mut ids: Vec<&String> = titles.keys().collect();
    ids.sort();
    for id in ids {
        if export.contains(&format!("\"{id}\"")) {
            continue;
        }
        for w in titles[id]
            .to_lowercase()
            .split_whitespace()
            .filter(|w| w.len() >= 5)
        {
            words.entry(w.to_string()).or_default().push(id.clone());
        }
    }
    let best = words
        .into_iter()
        .filter(|(_, v)| v.len() >= 4)
        .max_by_key(|(w, v)| (v.len().min(8), std::cmp::Reverse(w.clone())));
    best.map(|(_, v)| v.into_iter().take(3).collect())
        .unwrap_or_default()
}

/// A temporary directory removed on drop (the CLI needs no tempfile dependency for this).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("tailor-demo-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
