//! Attribution per placement: one row per rank response the app reported as shown (with its
//! surface and variant), crediting the clicks, carts and purchases that cite it (or that follow
//! an impression of the item on it) within the attribution window of its first impression.
//! Bounded like impressions: by age and by count.

use super::funnel::{FunnelKey, MAX_IMPRESSION_AGE_SECS};
use crate::error::Result;
use crate::types::{EventKind, PlacementCounters};
use rusqlite::{params, Connection, OptionalExtension};

/// Placements kept: at most this many (the most recently shown) ...
pub const MAX_PLACEMENTS: i64 = 2_000;
// ... and none first shown more than MAX_IMPRESSION_AGE_SECS ago.

/// Count `shown` impressions of a response (the first report sets when it was shown).
pub fn record_shown(
    conn: &Connection,
    response_id: &str,
    key: &FunnelKey,
    ts: i64,
    shown: u64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO placements (response_id, surface, experiment, variant, shown_at, impressions)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (response_id) DO UPDATE SET
           impressions = impressions + excluded.impressions,
           shown_at = min(shown_at, excluded.shown_at)",
    )?
    .execute(params![
        response_id,
        key.surface,
        key.experiment,
        key.variant,
        ts,
        shown as i64
    ])?;
    Ok(())
}

/// Credit a click, cart or purchase (`value`: its revenue) at `ts` to a response, when that
/// response was shown no more than `window_secs` before. Returns whether it was credited.
pub fn credit(
    conn: &Connection,
    response_id: &str,
    kind: EventKind,
    ts: i64,
    value: f64,
    window_secs: i64,
) -> Result<bool> {
    let (clicks, carts, purchases, revenue) = match kind {
        EventKind::Click => (1, 0, 0, 0.0),
        EventKind::AddToCart => (0, 1, 0, 0.0),
        EventKind::Purchase => (0, 0, 1, value),
        EventKind::View | EventKind::Dismiss => return Ok(false),
    };
    let changed = conn
        .prepare_cached(
            "UPDATE placements SET clicks = clicks + ?2, carts = carts + ?3,
               purchases = purchases + ?4, revenue = revenue + ?5
             WHERE response_id = ?1 AND shown_at <= ?6 AND shown_at >= ?7",
        )?
        .execute(params![
            response_id,
            clicks,
            carts,
            purchases,
            revenue,
            ts,
            ts - window_secs
        ])?;
    Ok(changed > 0)
}

/// The response of the latest impression of `item_id` in `[ts - window, ts]` that cited one.
pub fn last_response(
    conn: &Connection,
    item_id: &str,
    ts: i64,
    window_secs: i64,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT response_id FROM impressions
             WHERE item_id = ?1 AND ts <= ?2 AND ts >= ?3 AND response_id IS NOT NULL
             ORDER BY ts DESC, id DESC LIMIT 1",
        )?
        .query_row(params![item_id, ts, ts - window_secs], |r| r.get(0))
        .optional()?)
}

/// Every placement, most recently shown first.
pub fn load(conn: &Connection) -> Result<Vec<PlacementCounters>> {
    let mut stmt = conn.prepare(
        "SELECT response_id, surface, experiment, variant, shown_at, impressions, clicks, carts,
                purchases, revenue FROM placements ORDER BY shown_at DESC, response_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PlacementCounters {
            response_id: r.get(0)?,
            surface: r.get(1)?,
            experiment: r.get(2)?,
            variant: r.get(3)?,
            shown_at: r.get(4)?,
            impressions: r.get::<_, i64>(5)? as u64,
            clicks: r.get::<_, i64>(6)? as u64,
            add_to_carts: r.get::<_, i64>(7)? as u64,
            purchases: r.get::<_, i64>(8)? as u64,
            revenue: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Keep placements bounded by age (relative to `now`) and count.
pub fn prune(conn: &Connection, now: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM placements WHERE shown_at < ?1")?
        .execute([now - MAX_IMPRESSION_AGE_SECS])?;
    conn.prepare_cached(
        "DELETE FROM placements WHERE response_id IN (SELECT response_id FROM placements
           ORDER BY shown_at DESC, response_id DESC LIMIT -1 OFFSET ?1)",
    )?
    .execute([MAX_PLACEMENTS])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_within_the_window_only_and_stays_bounded() {
        let store = crate::profile::ProfileStore::open_in_memory().unwrap();
        let conn = store.connection();
        let key = FunnelKey {
            surface: "home".into(),
            ..Default::default()
        };
        record_shown(conn, "r1", &key, 1_000, 4).unwrap();
        record_shown(conn, "r1", &key, 1_100, 2).unwrap();
        assert!(credit(conn, "r1", EventKind::Click, 1_200, 0.0, 3_600).unwrap());
        assert!(credit(conn, "r1", EventKind::Purchase, 1_300, 12.5, 3_600).unwrap());
        // Outside the window, before the page was shown, unknown response, a view: no credit.
        assert!(!credit(conn, "r1", EventKind::Purchase, 1_000 + 3_601, 9.0, 3_600).unwrap());
        assert!(!credit(conn, "r1", EventKind::Purchase, 999, 9.0, 3_600).unwrap());
        assert!(!credit(conn, "nope", EventKind::Purchase, 1_300, 9.0, 3_600).unwrap());
        assert!(!credit(conn, "r1", EventKind::View, 1_300, 0.0, 3_600).unwrap());
        let rows = load(conn).unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(
            (r.shown_at, r.impressions, r.clicks, r.purchases, r.revenue),
            (1_000, 6, 1, 1, 12.5)
        );
        for i in 0..MAX_PLACEMENTS + 5 {
            record_shown(conn, &format!("p{i}"), &key, 2_000 + i, 1).unwrap();
        }
        prune(conn, 2_000).unwrap();
        let rows = load(conn).unwrap();
        assert_eq!(rows.len() as i64, MAX_PLACEMENTS);
        assert!(
            rows.iter().all(|r| r.response_id != "r1"),
            "oldest go first"
        );
        prune(conn, 2_000 + MAX_IMPRESSION_AGE_SECS + MAX_PLACEMENTS + 10).unwrap();
        assert!(load(conn).unwrap().is_empty(), "old placements go");
    }
}
