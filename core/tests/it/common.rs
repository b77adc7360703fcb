//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use tailor::{Event, EventKind, Item, RankRequest, Tailor, TailorConfig};

pub const DAY: i64 = 86_400;
/// 2024-01-01: a fixed "now" for deterministic tests.
pub const NOW: i64 = 1_704_067_200;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A page of `limit` items ranked at `NOW`, everything else default.
pub fn request(limit: u32) -> RankRequest {
    RankRequest {
        limit,
        now: Some(NOW),
        ..Default::default()
    }
}

pub fn item(id: &str, category: &str, brand: &str, price: f64, popularity: f64) -> Item {
    Item {
        id: id.into(),
        title: format!("{category} {id}"),
        category: category.into(),
        brand: brand.into(),
        price,
        tags: vec![category.to_lowercase()],
        in_stock: true,
        margin: None,
        embedding: None,
        popularity,
        repeat_rate: None,
        related: vec![],
    }
}

/// Twelve items over three categories; popularity decreasing with the number.
pub fn catalog() -> Vec<Item> {
    let mut items = Vec::new();
    for (c, cat) in ["shoes", "books", "toys"].iter().enumerate() {
        for i in 0..4 {
            let n = c * 4 + i;
            items.push(item(
                &format!("{cat}-{i}"),
                cat,
                if i % 2 == 0 { "acme" } else { "zeta" },
                10.0 + n as f64,
                100.0 - n as f64,
            ));
        }
    }
    items
}

pub fn event(kind: EventKind, id: &str, ts: i64) -> Event {
    Event {
        kind,
        item_id: id.into(),
        timestamp: Some(ts),
        session_id: None,
        quantity: None,
        surface: None,
        response_id: None,
    }
}

/// Test events carry fixed timestamps in the past, so age-based retention is set to a century.
pub fn config(dir: &tempfile::TempDir) -> TailorConfig {
    TailorConfig {
        max_event_age_days: 36_500,
        ..TailorConfig::new(dir.path().display().to_string())
    }
}

pub fn open(dir: &tempfile::TempDir) -> std::sync::Arc<Tailor> {
    Tailor::open(config(dir)).unwrap()
}

pub fn ids(resp: &tailor::RankResponse) -> Vec<String> {
    resp.items.iter().map(|i| i.item_id.clone()).collect()
}
