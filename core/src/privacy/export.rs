//! Data portability: the shopper's profile as one JSON document.
//!
//! Schema (version 1): `{"format": "tailor-profile-export", "version": 1, "consent": bool,
//! "events": [{"ts", "kind", "item_id", "session", "quantity", "surface"}],
//! "affinities": [{"dimension", "key", "score", "as_of"}], "items": [{"item_id", "views", ...}],
//! "preferences": [{"kind", "value"}]}`. Session ids appear as the keyed hashes that are stored.

use crate::error::Result;
use crate::profile::store::kind_from_code;
use crate::profile::{ProfileState, ProfileStore};
use serde_json::{json, Value};

pub fn export(store: &ProfileStore, state: &ProfileState, consent: bool) -> Result<String> {
    let conn = store.connection();
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
    let doc = json!({
        "format": "tailor-profile-export",
        "version": 1,
        "consent": consent,
        "events": events,
        "affinities": affinities,
        "items": items,
        "preferences": state.preferences,
    });
    Ok(serde_json::to_string_pretty(&doc).unwrap_or_default())
}
