//! `profile.db`: the shopper's events and signals. One transaction per write call.

use super::schema::SCHEMA;
use super::signals::{
    AffinityKey, Decayed, Dim, ItemStats, Params, ProfileEvent, ProfileState, Touched,
};
use crate::cancel::Cancel;
use crate::catalog::CatalogSnapshot;
use crate::error::Result;
use crate::sql;
use crate::types::{Attribute, AttributeKind, EventKind, NotInterested};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Recent events read back at open to rebuild the current session.
const SESSION_REPLAY_EVENTS: i64 = 500;

pub fn kind_code(kind: EventKind) -> i64 {
    match kind {
        EventKind::View => 0,
        EventKind::Click => 1,
        EventKind::AddToCart => 2,
        EventKind::Purchase => 3,
        EventKind::Dismiss => 4,
    }
}

pub fn kind_from_code(code: i64) -> Option<EventKind> {
    Some(match code {
        0 => EventKind::View,
        1 => EventKind::Click,
        2 => EventKind::AddToCart,
        3 => EventKind::Purchase,
        4 => EventKind::Dismiss,
        _ => return None,
    })
}

/// The columns `event_row` reads, in its order.
const EVENT_COLUMNS: &str = "id, kind, item_id, ts, session, quantity";

/// `(rowid, event)` from a row of `SELECT {EVENT_COLUMNS}`; `None` for a kind this version does
/// not know (a row written by a newer version is skipped, not an error).
fn event_row(r: &rusqlite::Row) -> rusqlite::Result<Option<(i64, ProfileEvent)>> {
    let Some(kind) = kind_from_code(r.get(1)?) else {
        return Ok(None);
    };
    let event = ProfileEvent {
        kind,
        item_id: Arc::from(r.get::<_, String>(2)?),
        ts: r.get(3)?,
        session: r.get(4)?,
        quantity: u32::try_from(r.get::<_, i64>(5)?).unwrap_or(1),
    };
    Ok(Some((r.get(0)?, event)))
}

pub fn attribute_code(kind: AttributeKind) -> i64 {
    match kind {
        AttributeKind::Category => 0,
        AttributeKind::Brand => 1,
        AttributeKind::Tag => 2,
        AttributeKind::Item => 3,
    }
}

fn attribute_from_code(code: i64) -> Option<AttributeKind> {
    [
        AttributeKind::Category,
        AttributeKind::Brand,
        AttributeKind::Tag,
        AttributeKind::Item,
    ]
    .into_iter()
    .find(|k| attribute_code(*k) == code)
}

/// An event to insert, with whether its item was known (its attributes applied).
pub struct NewEvent {
    pub event: ProfileEvent,
    pub surface: Option<String>,
    pub resolved: bool,
}

/// More SQL to run inside a batch's transaction (funnel counters and the like).
type AlsoSql = Box<dyn FnOnce(&Connection) -> Result<()> + Send>;

/// Everything one write call changes, committed atomically.
#[derive(Default)]
pub struct WriteBatch {
    pub events: Vec<NewEvent>,
    /// Pending event rows whose item arrived and whose attributes are now applied.
    pub resolved_rows: Vec<i64>,
    pub touched: Touched,
    pub dropped_items: Vec<Arc<str>>,
    pub dropped_affinities: Vec<AffinityKey>,
    /// Items whose events (and impressions) are deleted: "forget this item".
    pub forget_items: Vec<Arc<str>>,
    /// Checked while the events are written: an interrupt rolls the whole batch back.
    pub cancel: Cancel,
    also: Vec<AlsoSql>,
}

impl WriteBatch {
    /// Run `sql` inside this batch's transaction, after its rows are written.
    pub fn also(&mut self, sql: impl FnOnce(&Connection) -> Result<()> + Send + 'static) {
        self.also.push(Box::new(sql));
    }
}

pub struct ProfileStore {
    conn: Connection,
    salt: [u8; 32],
    event_rows: u64,
}

impl ProfileStore {
    pub fn open(path: &Path, durable: bool) -> Result<(ProfileStore, Option<PathBuf>)> {
        let opened = sql::open_store(path, &SCHEMA, durable)?;
        Ok((Self::from_conn(opened.conn)?, opened.recovered_from))
    }

    pub fn open_in_memory() -> Result<ProfileStore> {
        Self::from_conn(sql::open_memory(&SCHEMA)?)
    }

    fn from_conn(conn: Connection) -> Result<ProfileStore> {
        let existing: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'salt'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let mut salt = [0u8; 32];
        match existing
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() == 32)
        {
            Some(bytes) => salt.copy_from_slice(&bytes),
            None => {
                use rand::TryRngCore;
                rand::rngs::OsRng.try_fill_bytes(&mut salt).map_err(|e| {
                    std::io::Error::other(format!("no OS randomness for the salt: {e}"))
                })?;
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('salt', ?1)",
                    [hex::encode(salt)],
                )?;
            }
        }
        let event_rows: i64 = conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
        Ok(ProfileStore {
            conn,
            salt,
            event_rows: event_rows as u64,
        })
    }

    /// The per-install random salt (experiment bucketing uses it too).
    pub fn salt(&self) -> &[u8; 32] {
        &self.salt
    }

    /// Keyed hash of an app identifier (session id, user id): stored instead of the raw value.
    pub fn hash_id(&self, raw: &str) -> String {
        keyed_hash(&self.salt, raw)
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        sql::get_meta(&self.conn, key)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        sql::set_meta(&self.conn, key, value)
    }

    pub fn consent(&self) -> Result<bool> {
        Ok(self.meta("consent")?.map(|v| v == "1").unwrap_or(true))
    }

    pub fn set_consent(&self, granted: bool) -> Result<()> {
        self.set_meta("consent", if granted { "1" } else { "0" })
    }

    /// After an erase: no event rows remain.
    pub fn reset_counts(&mut self) {
        self.event_rows = 0;
    }

    /// Rows in the events table (all, and those waiting for their item).
    pub fn counts(&self) -> Result<(u64, u64)> {
        let pending: i64 =
            self.conn
                .query_row("SELECT count(*) FROM events WHERE resolved = 0", [], |r| {
                    r.get(0)
                })?;
        Ok((self.event_rows, pending as u64))
    }

    /// Rebuild the in-memory state from the tables.
    pub fn load_state(&self, catalog: &CatalogSnapshot, params: &Params) -> Result<ProfileState> {
        let mut state = self.load_state_but_session()?;
        state.session = self.rebuild_session(catalog, params)?;
        Ok(state)
    }

    /// The state without the current session, the one part that needs the catalog: open reads
    /// it while the catalog is still being read, and `rebuild_session` once both are there.
    pub fn load_state_but_session(&self) -> Result<ProfileState> {
        let mut state = ProfileState::default();
        let mut stmt = self
            .conn
            .prepare("SELECT dim, key, score, as_of FROM affinities")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        for row in rows {
            let (dim, key, score, as_of) = row?;
            if let Some(dim) = Dim::from_code(dim) {
                state
                    .affinity
                    .insert((dim, Arc::from(key.as_str())), Decayed { score, as_of });
            }
        }
        let mut stmt = self.conn.prepare(
            "SELECT item_id, views, clicks, carts, purchases, quantity, last_view, last_cart,
                    last_purchase, last_dismiss, last_seen, first_purchase, recent_purchases,
                    recent_purchases_at FROM item_stats",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                ItemStats {
                    views: r.get(1)?,
                    clicks: r.get(2)?,
                    carts: r.get(3)?,
                    purchases: r.get(4)?,
                    quantity: r.get::<_, i64>(5)? as u64,
                    last_view: r.get(6)?,
                    last_cart: r.get(7)?,
                    last_purchase: r.get(8)?,
                    last_dismiss: r.get(9)?,
                    last_seen: r.get(10)?,
                    first_purchase: r.get(11)?,
                    recent_purchases: Decayed {
                        score: r.get(12)?,
                        as_of: r.get(13)?,
                    },
                },
            ))
        })?;
        for row in rows {
            let (id, stats) = row?;
            state.items.insert(Arc::from(id.as_str()), stats);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT kind, value FROM preferences ORDER BY kind, value")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (kind, value) = row?;
            if let Some(kind) = attribute_from_code(kind) {
                state.preferences.push(Attribute { kind, value });
            }
        }
        state.not_interested = read_not_interested(&self.conn)?;
        if let Some(json) = self.meta("price")? {
            if let Ok((s, s_at, w, w_at)) = serde_json::from_str::<(f64, i64, f64, i64)>(&json) {
                state.price_sum = Decayed {
                    score: s,
                    as_of: s_at,
                };
                state.price_weight = Decayed {
                    score: w,
                    as_of: w_at,
                };
            }
        }
        let personal: Option<(String, String, i64)> = self
            .conn
            .query_row(
                "SELECT model_key, weights, updates FROM personal_weights
                 ORDER BY updated_at DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        state.personal = personal.and_then(|(model_key, weights, updates)| {
            Some(crate::learn::PersonalLayer {
                model_key,
                weights: serde_json::from_str(&weights).ok()?,
                updates: updates as u64,
            })
        });
        let mut stmt = self.conn.prepare("SELECT arm, alpha, beta FROM bandit")?;
        let arms = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, f64>(1)?,
                r.get::<_, f64>(2)?,
            ))
        })?;
        for arm in arms {
            let (key, alpha, beta) = arm?;
            state.bandit.insert(
                Arc::from(key.as_str()),
                crate::learn::bandit::BetaArm {
                    alpha: alpha as f32,
                    beta: beta as f32,
                },
            );
        }
        state.event_count = self
            .meta("event_count")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        state.last_event = self
            .meta("last_event")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(state)
    }

    /// Replay the most recent events to find the current session and its affinities.
    pub fn rebuild_session(
        &self,
        catalog: &CatalogSnapshot,
        params: &Params,
    ) -> Result<super::signals::Session> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM
               (SELECT * FROM events ORDER BY ts DESC, id DESC LIMIT ?1) ORDER BY ts, id"
        ))?;
        let rows = stmt.query_map([SESSION_REPLAY_EVENTS], event_row)?;
        let mut tmp = ProfileState::default();
        let mut touched = Touched::default();
        for row in rows {
            let Some((_, ev)) = row? else {
                continue;
            };
            tmp.apply_history(&ev, params, &mut touched);
            if let Some(idx) = catalog.get(&ev.item_id) {
                tmp.apply_attributes(&ev, catalog.record(idx), params, &mut touched);
            }
        }
        Ok(tmp.session)
    }

    /// Pending events (item not yet in the catalog) for the given ids, oldest first.
    pub fn pending_for(&self, item_ids: &[&str]) -> Result<Vec<(i64, ProfileEvent)>> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE resolved = 0 AND item_id = ?1 ORDER BY ts, id"
        ))?;
        for id in item_ids {
            for row in stmt.query_map([id], event_row)? {
                out.extend(row?);
            }
        }
        out.sort_by_key(|(rowid, e)| (e.ts, *rowid));
        Ok(out)
    }

    /// Every pending event, oldest first: at open, the catalog may hold items that arrived just
    /// before a crash. Pending events are few (and bounded by retention), so one scan.
    pub fn pending_all(&self) -> Result<Vec<(i64, ProfileEvent)>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE resolved = 0 ORDER BY ts, id"
        ))?;
        let mut out = Vec::new();
        for row in stmt.query_map([], event_row)? {
            out.extend(row?);
        }
        Ok(out)
    }

    /// Write a batch and the rows of `state` it touched, all or nothing (its `also` SQL runs,
    /// once, inside the same transaction). Returns new event ids.
    pub fn commit(&mut self, batch: &mut WriteBatch, state: &ProfileState) -> Result<Vec<i64>> {
        let tx = self.conn.transaction()?;
        let mut ids = Vec::with_capacity(batch.events.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (ts, kind, item_id, session, quantity, surface, resolved)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (row, e) in batch.events.iter().enumerate() {
                batch.cancel.check_row(row)?;
                let ev = &e.event;
                insert.execute(params![
                    ev.ts,
                    kind_code(ev.kind),
                    &*ev.item_id,
                    ev.session,
                    ev.quantity,
                    e.surface,
                    e.resolved as i64
                ])?;
                ids.push(tx.last_insert_rowid());
            }
            let mut resolve = tx.prepare_cached("UPDATE events SET resolved = 1 WHERE id = ?1")?;
            for id in &batch.resolved_rows {
                resolve.execute([id])?;
            }
            let mut aff = tx.prepare_cached(
                "INSERT OR REPLACE INTO affinities (dim, key, score, as_of) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for key in &batch.touched.affinities {
                if let Some(d) = state.affinity.get(key) {
                    aff.execute(params![key.0 as i64, &*key.1, d.score, d.as_of])?;
                }
            }
            let mut del_aff =
                tx.prepare_cached("DELETE FROM affinities WHERE dim = ?1 AND key = ?2")?;
            for key in &batch.dropped_affinities {
                del_aff.execute(params![key.0 as i64, &*key.1])?;
            }
            let mut item = tx.prepare_cached(
                "INSERT OR REPLACE INTO item_stats (item_id, views, clicks, carts, purchases,
                   quantity, last_view, last_cart, last_purchase, last_dismiss, last_seen,
                   first_purchase, recent_purchases, recent_purchases_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?;
            for id in &batch.touched.items {
                if let Some(s) = state.items.get(id) {
                    item.execute(params![
                        &**id,
                        s.views,
                        s.clicks,
                        s.carts,
                        s.purchases,
                        s.quantity as i64,
                        s.last_view,
                        s.last_cart,
                        s.last_purchase,
                        s.last_dismiss,
                        s.last_seen,
                        s.first_purchase,
                        s.recent_purchases.score,
                        s.recent_purchases.as_of
                    ])?;
                }
            }
            let mut del_item = tx.prepare_cached("DELETE FROM item_stats WHERE item_id = ?1")?;
            for id in &batch.dropped_items {
                del_item.execute([&**id])?;
            }
            let mut meta =
                tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
            if batch.touched.price {
                let p = (
                    state.price_sum.score,
                    state.price_sum.as_of,
                    state.price_weight.score,
                    state.price_weight.as_of,
                );
                meta.execute(params![
                    "price",
                    serde_json::to_string(&p).unwrap_or_default()
                ])?;
            }
            if !batch.events.is_empty() {
                meta.execute(params!["event_count", state.event_count.to_string()])?;
                meta.execute(params!["last_event", state.last_event.to_string()])?;
            }
            if batch.touched.personal {
                tx.execute("DELETE FROM personal_weights", [])?;
                if let Some(layer) = &state.personal {
                    tx.execute(
                        "INSERT INTO personal_weights (model_key, weights, updates, updated_at)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![
                            layer.model_key,
                            serde_json::to_string(&layer.weights).unwrap_or_default(),
                            layer.updates as i64,
                            state.last_event
                        ],
                    )?;
                }
            }
            let mut arm = tx.prepare_cached(
                "INSERT OR REPLACE INTO bandit (arm, alpha, beta) VALUES (?1, ?2, ?3)",
            )?;
            for key in &batch.touched.bandit {
                if let Some(b) = state.bandit.get(key) {
                    arm.execute(params![&**key, b.alpha as f64, b.beta as f64])?;
                }
            }
        }
        let mut forgotten = 0u64;
        for id in &batch.forget_items {
            forgotten += tx.execute("DELETE FROM events WHERE item_id = ?1", [&**id])? as u64;
            tx.execute("DELETE FROM impressions WHERE item_id = ?1", [&**id])?;
        }
        if !batch.forget_items.is_empty() {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('event_count', ?1)",
                [state.event_count.to_string()],
            )?;
        }
        for sql in batch.also.drain(..) {
            sql(&tx)?;
        }
        tx.commit()?;
        self.event_rows = (self.event_rows + batch.events.len() as u64).saturating_sub(forgotten);
        Ok(ids)
    }

    /// Delete events older than `max_age_secs` before `now` and beyond `max_events` (oldest
    /// first). Decayed affinities and item history stay: they are already aggregates.
    pub fn enforce_retention(
        &mut self,
        now: i64,
        max_age_secs: i64,
        max_events: u64,
    ) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let mut deleted = tx.execute(
            "DELETE FROM events WHERE ts < ?1",
            [now.saturating_sub(max_age_secs)],
        )? as u64;
        let remaining = self.event_rows.saturating_sub(deleted);
        if remaining > max_events {
            deleted += tx.execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY ts, id LIMIT ?1)",
                [(remaining - max_events) as i64],
            )? as u64;
        }
        tx.commit()?;
        self.event_rows = self.event_rows.saturating_sub(deleted);
        Ok(deleted)
    }

    /// Replace the explicit preferences.
    pub fn set_preferences(&mut self, prefs: &[Attribute]) -> Result<()> {
        let tx = self.conn.transaction()?;
        write_preferences(&tx, prefs)?;
        tx.commit()?;
        Ok(())
    }

    /// The stored events of one item, oldest first (what "forget this item" takes back).
    pub fn item_events(&self, item_id: &str) -> Result<Vec<ProfileEvent>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE item_id = ?1 ORDER BY ts, id"
        ))?;
        let mut out = Vec::new();
        for row in stmt.query_map([item_id], event_row)? {
            out.extend(row?.map(|(_, e)| e));
        }
        Ok(out)
    }

    /// `(ts, kind, item_id, quantity)` of every stored event: what an import must not repeat.
    pub fn event_keys(&self) -> Result<std::collections::HashSet<(i64, i64, String, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT ts, kind, item_id, quantity FROM events")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Replace the preferences table's rows, inside the caller's transaction.
pub fn write_preferences(conn: &Connection, prefs: &[Attribute]) -> Result<()> {
    conn.execute("DELETE FROM preferences", [])?;
    let mut stmt =
        conn.prepare_cached("INSERT OR IGNORE INTO preferences (kind, value) VALUES (?1, ?2)")?;
    for p in prefs {
        stmt.execute(params![attribute_code(p.kind), p.value])?;
    }
    Ok(())
}

/// The "not interested" marks, most recent first.
pub fn read_not_interested(conn: &Connection) -> Result<Vec<NotInterested>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, value, since FROM not_interested ORDER BY since DESC, kind, value",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, value, since) = row?;
        if let Some(kind) = attribute_from_code(kind) {
            out.push(NotInterested {
                attribute: Attribute { kind, value },
                since,
            });
        }
    }
    Ok(out)
}

/// Add (or re-date) a "not interested" mark, inside the caller's transaction.
pub fn insert_not_interested(conn: &Connection, mark: &NotInterested) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO not_interested (kind, value, since) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![
        attribute_code(mark.attribute.kind),
        mark.attribute.value,
        mark.since
    ])?;
    Ok(())
}

/// Remove a "not interested" mark; whether there was one.
pub fn delete_not_interested(conn: &Connection, attribute: &Attribute) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM not_interested WHERE kind = ?1 AND value = ?2")?
        .execute(params![attribute_code(attribute.kind), attribute.value])?
        > 0)
}

pub fn keyed_hash(salt: &[u8], raw: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(raw.as_bytes());
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind, id: &str, ts: i64) -> ProfileEvent {
        ProfileEvent {
            kind,
            item_id: Arc::from(id),
            ts,
            session: None,
            quantity: 1,
        }
    }

    #[test]
    fn state_survives_reopen_and_salt_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.db");
        let catalog = CatalogSnapshot::default();
        let params = Params::default();
        let (mut store, _) = ProfileStore::open(&path, false).unwrap();
        let hashed = store.hash_id("session-1");
        assert_ne!(hashed, "session-1");
        let mut state = ProfileState::default();
        let mut batch = WriteBatch::default();
        for (i, id) in ["a", "b", "a"].iter().enumerate() {
            let e = ev(EventKind::Purchase, id, 100 + i as i64);
            state.apply_history(&e, &params, &mut batch.touched);
            batch.events.push(NewEvent {
                event: e,
                surface: None,
                resolved: false,
            });
        }
        let ids = store.commit(&mut batch, &state).unwrap();
        assert_eq!(ids.len(), 3);
        assert_eq!(store.counts().unwrap(), (3, 3));
        drop(store);
        let (store, _) = ProfileStore::open(&path, false).unwrap();
        assert_eq!(store.hash_id("session-1"), hashed);
        let loaded = store.load_state(&catalog, &params).unwrap();
        assert_eq!(loaded.items, state.items);
        assert_eq!(loaded.event_count, 3);
        assert_eq!(loaded.session.items.len(), 2);
        assert_eq!(store.pending_for(&["a"]).unwrap().len(), 2);
    }

    #[test]
    fn retention_drops_old_and_excess_events() {
        let mut store = ProfileStore::open_in_memory().unwrap();
        let mut state = ProfileState::default();
        let mut batch = WriteBatch::default();
        for ts in 0..10 {
            let e = ev(EventKind::View, "a", ts * 100);
            state.apply_history(&e, &Params::default(), &mut batch.touched);
            batch.events.push(NewEvent {
                event: e,
                surface: None,
                resolved: true,
            });
        }
        store.commit(&mut batch, &state).unwrap();
        // Age: events before 1000 - 650 = 350 go (ts 0..=300: four of them).
        assert_eq!(store.enforce_retention(1_000, 650, 100).unwrap(), 4);
        // Count: keep the newest 3.
        assert_eq!(store.enforce_retention(1_000, 10_000, 3).unwrap(), 3);
        let min_ts: i64 = store
            .conn
            .query_row("SELECT min(ts) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(min_ts, 700);
    }
}
