//! Data portability: the shopper's profile as one JSON document.
//!
//! Schema (version 3): `{"format": "tailor-profile-export", "version": 3, "consent": bool,
//! "events": [{"ts", "kind", "item_id", "session", "quantity", "surface"}],
//! "affinities": [{"dimension", "key", "score", "as_of"}], "items": [{"item_id", "views", ...}],
//! "preferences": [{"kind", "value"}], "not_interested": [{"attribute": {"kind", "value"}, "since"}],
//! "personal_layer": null | {"model", "weights": [..], "updates"},
//! "exploration": [{"arm", "alpha", "beta"}],
//! "experiments": [{"key", "variant", "assigned_at", "exposures"}],
//! "impressions": [{"ts", "item_id", "surface", "experiment", "variant", "position",
//! "response_id"}], "funnel": [FunnelCounters...], "placements": [PlacementCounters...]}`.
//! Session ids appear as the keyed hashes that are stored.

use crate::error::Result;
use crate::profile::store::kind_from_code;
use crate::profile::ProfileState;
use rusqlite::Connection;
use serde_json::{json, Value};

/// `conn`: a connection to `profile.db` (the read-only one: export never waits for a writer).
pub fn export(conn: &Connection, state: &ProfileState, consent: bool) -> Result<String> {
    let mut stmt = conn.prepare(
        "SELECT ts, kind, item_id, session, quantity, surface FROM events ORDER BY ts, id",
    )?;
    let events: Vec<Value> = stmt
        .query_map([], |r| {
            let kind = kind_from_code(r.get(1)?);
            Ok(json!({
                "ts": r.get::<_, i64>(0)?,
                "kind": kind,
                "item_id": r.get::<_, String>(2)?,
                "session": r.get::<_, Option<String>>(3)?,
                "quantity": r.get::<_, i64>(4)?,
                "surface": r.get::<_, Option<String>>(5)?,
            }))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut affinities: Vec<Value> = state
        .affinity
        .iter()
        .map(|((dim, key), d)| json!({"dimension": dim.name(), "key": &**key, "score": d.score, "as_of": d.as_of}))
        .collect();
    affinities.sort_by_key(|a| a.to_string());
    let mut items: Vec<Value> = state
        .items
        .iter()
        .map(|(id, s)| {
            json!({"item_id": &**id, "views": s.views, "clicks": s.clicks, "carts": s.carts,
                   "purchases": s.purchases, "quantity": s.quantity, "last_view": s.last_view,
                   "last_cart": s.last_cart, "last_purchase": s.last_purchase,
                   "last_dismiss": s.last_dismiss, "last_seen": s.last_seen})
        })
        .collect();
    items.sort_by(|a, b| a["item_id"].to_string().cmp(&b["item_id"].to_string()));
    let mut exploration: Vec<Value> = state
        .bandit
        .iter()
        .map(|(arm, b)| json!({"arm": &**arm, "alpha": b.alpha, "beta": b.beta}))
        .collect();
    exploration.sort_by_key(|v| v["arm"].to_string());
    let doc = json!({
        "format": "tailor-profile-export",
        "version": 3,
        "consent": consent,
        "events": events,
        "affinities": affinities,
        "items": items,
        "preferences": state.preferences,
        "not_interested": state.not_interested,
        "personal_layer": state.personal.as_ref().map(|l| json!({
            "model": l.model_key, "weights": l.weights, "updates": l.updates
        })),
        "exploration": exploration,
        "experiments": rows(conn, "SELECT key, variant, assigned_at, exposures FROM experiments ORDER BY key",
            &["key", "variant", "assigned_at", "exposures"])?,
        "impressions": rows(conn, "SELECT ts, item_id, surface, experiment, variant, position, response_id FROM impressions ORDER BY ts, id",
            &["ts", "item_id", "surface", "experiment", "variant", "position", "response_id"])?,
        "funnel": crate::metrics::funnel::load(conn)?,
        "placements": crate::metrics::placements::load(conn)?,
    });
    Ok(serde_json::to_string_pretty(&doc).unwrap_or_default())
}

/// Every row of a query as a JSON object with the given column names.
fn rows(conn: &rusqlite::Connection, sql: &str, columns: &[&str]) -> Result<Vec<Value>> {
    let mut stmt = conn.prepare(sql)?;
    let out = stmt
        .query_map([], |r| {
            let mut obj = serde_json::Map::new();
            for (i, c) in columns.iter().enumerate() {
                let v: rusqlite::types::Value = r.get(i)?;
                obj.insert(
                    c.to_string(),
                    match v {
                        rusqlite::types::Value::Integer(n) => json!(n),
                        rusqlite::types::Value::Real(f) => json!(f),
                        rusqlite::types::Value::Text(t) => json!(t),
                        _ => Value::Null,
                    },
                );
            }
            Ok(Value::Object(obj))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(out)
}
