//! Funnel counters per (experiment, variant, surface) and the recent impressions that attribute
//! conversions to what Tailor showed. Called inside the store's write transactions.

use crate::error::Result;
use crate::types::FunnelCounters;
use rusqlite::{params, Connection, OptionalExtension};

/// Impressions kept for attribution: at most this many rows ...
pub const MAX_IMPRESSIONS: i64 = 20_000;
/// ... and none older than this.
pub const MAX_IMPRESSION_AGE_SECS: i64 = 14 * 86_400;

/// Where a funnel count goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FunnelKey {
    pub experiment: String,
    pub variant: String,
    pub surface: String,
}

/// Increments for one funnel row.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Delta {
    pub impressions: u64,
    pub clicks: u64,
    pub carts: u64,
    pub purchases: u64,
    pub revenue: f64,
    pub attributed: u64,
    pub attributed_revenue: f64,
}

pub fn add(conn: &Connection, key: &FunnelKey, d: &Delta) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO funnel (experiment, variant, surface, impressions, clicks, carts, purchases,
                             revenue, attributed, attributed_revenue)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (experiment, variant, surface) DO UPDATE SET
           impressions = impressions + excluded.impressions,
           clicks = clicks + excluded.clicks,
           carts = carts + excluded.carts,
           purchases = purchases + excluded.purchases,
           revenue = revenue + excluded.revenue,
           attributed = attributed + excluded.attributed,
           attributed_revenue = attributed_revenue + excluded.attributed_revenue",
    )?
    .execute(params![
        key.experiment,
        key.variant,
        key.surface,
        d.impressions as i64,
        d.clicks as i64,
        d.carts as i64,
        d.purchases as i64,
        d.revenue,
        d.attributed as i64,
        d.attributed_revenue
    ])?;
    Ok(())
}

pub fn load(conn: &Connection) -> Result<Vec<FunnelCounters>> {
    let mut stmt = conn.prepare(
        "SELECT experiment, variant, surface, impressions, clicks, carts, purchases, revenue,
                attributed, attributed_revenue FROM funnel ORDER BY experiment, variant, surface",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(FunnelCounters {
            experiment: r.get(0)?,
            variant: r.get(1)?,
            surface: r.get(2)?,
            impressions: r.get::<_, i64>(3)? as u64,
            clicks: r.get::<_, i64>(4)? as u64,
            add_to_carts: r.get::<_, i64>(5)? as u64,
            purchases: r.get::<_, i64>(6)? as u64,
            revenue: r.get(7)?,
            attributed_conversions: r.get::<_, i64>(8)? as u64,
            attributed_revenue: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn insert_impressions(
    conn: &Connection,
    ts: i64,
    item_ids: &[&str],
    key: &FunnelKey,
    response_id: Option<&str>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO impressions (ts, item_id, surface, experiment, variant, position, response_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (pos, id) in item_ids.iter().enumerate() {
        stmt.execute(params![
            ts,
            id,
            key.surface,
            key.experiment,
            key.variant,
            pos as i64,
            response_id
        ])?;
    }
    Ok(())
}

/// The funnel of the latest impression of `item_id` in `[ts - window, ts]`.
pub fn last_impression(
    conn: &Connection,
    item_id: &str,
    ts: i64,
    window_secs: i64,
) -> Result<Option<FunnelKey>> {
    Ok(conn
        .prepare_cached(
            "SELECT experiment, variant, surface FROM impressions
             WHERE item_id = ?1 AND ts <= ?2 AND ts >= ?3 ORDER BY ts DESC, id DESC LIMIT 1",
        )?
        .query_row(params![item_id, ts, ts - window_secs], |r| {
            Ok(FunnelKey {
                experiment: r.get(0)?,
                variant: r.get(1)?,
                surface: r.get(2)?,
            })
        })
        .optional()?)
}

/// Keep impressions bounded by age (relative to `now`) and count.
pub fn prune_impressions(conn: &Connection, now: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM impressions WHERE ts < ?1")?
        .execute([now - MAX_IMPRESSION_AGE_SECS])?;
    conn.prepare_cached(
        "DELETE FROM impressions WHERE id <= (SELECT id FROM impressions ORDER BY id DESC LIMIT 1 OFFSET ?1)",
    )?
    .execute([MAX_IMPRESSIONS])?;
    Ok(())
}

/// A click, cart or purchase to count.
pub struct Feedback<'a> {
    pub item_id: &'a str,
    pub kind: crate::types::EventKind,
    pub ts: i64,
    /// Revenue of a purchase (price x quantity).
    pub value: f64,
    pub surface: &'a str,
    /// The response the event cites, if any.
    pub response_id: Option<&'a str>,
}

/// Count a click, cart or purchase: under the funnel of the impression that showed the item
/// within `window_secs` (an attributed conversion when it is a purchase), else under its own
/// surface outside any experiment; and for its placement (see `placements`): the response it
/// cites, else the response of that impression.
pub fn count_feedback(conn: &Connection, f: &Feedback<'_>, window_secs: i64) -> Result<()> {
    use crate::types::EventKind;
    let Feedback {
        item_id,
        kind,
        ts,
        value,
        surface,
        response_id,
    } = *f;
    let placement = match response_id {
        Some(r) => Some(r.to_string()),
        None => super::placements::last_response(conn, item_id, ts, window_secs)?,
    };
    if let Some(r) = placement {
        super::placements::credit(conn, &r, kind, ts, value, window_secs)?;
    }
    let shown = last_impression(conn, item_id, ts, window_secs)?;
    let attributed = shown.is_some();
    let key = shown.unwrap_or_else(|| FunnelKey {
        surface: surface.to_string(),
        ..Default::default()
    });
    let mut d = Delta::default();
    match kind {
        EventKind::Click => d.clicks = 1,
        EventKind::AddToCart => d.carts = 1,
        EventKind::Purchase => {
            d.purchases = 1;
            d.revenue = value;
            if attributed {
                d.attributed = 1;
                d.attributed_revenue = value;
            }
        }
        EventKind::View | EventKind::Dismiss => return Ok(()),
    }
    add(conn, &key, &d)
}

/// Record (or refresh) this install's assignment and count an exposure.
pub fn expose(
    conn: &Connection,
    experiment: &str,
    variant: &str,
    now: i64,
    exposures: u64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO experiments (key, variant, assigned_at, exposures) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET exposures = exposures + excluded.exposures,
           variant = excluded.variant",
    )?
    .execute(params![experiment, variant, now, exposures as i64])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_impressions_attribute() {
        let store = crate::profile::ProfileStore::open_in_memory().unwrap();
        let conn = store.connection();
        let key = FunnelKey {
            experiment: "e".into(),
            variant: "b".into(),
            surface: "home".into(),
        };
        add(
            conn,
            &key,
            &Delta {
                impressions: 3,
                ..Default::default()
            },
        )
        .unwrap();
        add(
            conn,
            &key,
            &Delta {
                purchases: 1,
                revenue: 9.5,
                attributed: 1,
                attributed_revenue: 9.5,
                ..Default::default()
            },
        )
        .unwrap();
        let rows = load(conn).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].impressions,
                rows[0].purchases,
                rows[0].attributed_conversions
            ),
            (3, 1, 1)
        );
        assert_eq!(rows[0].revenue, 9.5);
        insert_impressions(conn, 1_000, &["x", "y"], &key, None).unwrap();
        assert_eq!(
            last_impression(conn, "y", 1_500, 3_600).unwrap(),
            Some(key.clone())
        );
        assert_eq!(last_impression(conn, "y", 10_000, 3_600).unwrap(), None);
        assert_eq!(last_impression(conn, "z", 1_500, 3_600).unwrap(), None);
        prune_impressions(conn, 1_000 + MAX_IMPRESSION_AGE_SECS + 1).unwrap();
        assert_eq!(last_impression(conn, "y", 1_500, 3_600).unwrap(), None);
        expose(conn, "e", "b", 5, 1).unwrap();
        expose(conn, "e", "b", 6, 2).unwrap();
        let n: i64 = conn
            .query_row("SELECT exposures FROM experiments", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3);
    }
}
