//! `catalog.db`: the persisted catalog. All writes are one transaction per call.

use super::schema::SCHEMA;
use crate::cancel::Cancel;
use crate::error::Result;
use crate::sql;
use crate::types::{Item, RelatedItem};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

pub struct CatalogStore {
    conn: Connection,
}

fn embedding_to_blob(e: &[f32]) -> Vec<u8> {
    e.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The `related` column, `[["id",weight],...]` as `upsert` writes it, as (id, weight) pairs.
/// Opening a large catalog reads hundreds of thousands of these pairs, so the form this code
/// writes (ids without escapes) is read in place, borrowing the ids; anything else goes through
/// serde_json. A damaged column degrades to no neighbours instead of failing the catalog.
pub fn related_pairs(json: &[u8]) -> Vec<(Cow<'_, str>, f64)> {
    related_plain(json).unwrap_or_else(|| {
        serde_json::from_slice::<Vec<(String, f64)>>(json)
            .unwrap_or_default()
            .into_iter()
            .map(|(id, weight)| (Cow::Owned(id), weight))
            .collect()
    })
}

fn related_plain(json: &[u8]) -> Option<Vec<(Cow<'_, str>, f64)>> {
    let text = std::str::from_utf8(json).ok()?;
    let mut rest = text.strip_prefix('[')?.strip_suffix(']')?;
    let mut out = Vec::with_capacity(rest.matches("],[").count() + 1);
    while !rest.is_empty() {
        let pair = rest.strip_prefix("[\"")?;
        let end = pair.find('"')?;
        let id = &pair[..end];
        if id.contains('\\') {
            return None;
        }
        let after = pair[end + 1..].strip_prefix(',')?;
        let close = after.find(']')?;
        let weight: f64 = after[..close].parse().ok()?;
        out.push((Cow::Borrowed(id), weight));
        rest = &after[close + 1..];
        if let Some(next) = rest.strip_prefix(',') {
            rest = next;
        } else if !rest.is_empty() {
            return None;
        }
    }
    Some(out)
}

fn parse_related(json: &[u8]) -> Vec<RelatedItem> {
    related_pairs(json)
        .into_iter()
        .map(|(id, weight)| RelatedItem {
            item_id: id.into_owned(),
            weight,
        })
        .collect()
}

/// A stored item with its neighbour list still in its stored form: the snapshot resolves the
/// ids straight from it, instead of allocating a string per neighbour that is dropped right
/// after (about half of opening a catalog of 10,000 items with 20 neighbours each).
pub struct StoredItem {
    /// The item, `related` empty.
    pub item: Item,
    /// The `related` column as stored (read with [`related_pairs`]).
    pub related: Box<[u8]>,
}

fn blob_to_embedding(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl CatalogStore {
    /// Open `path`, moving a corrupt file aside (returned) and starting fresh.
    pub fn open(path: &Path, durable: bool) -> Result<(CatalogStore, Option<PathBuf>)> {
        let opened = sql::open_store(path, &SCHEMA, durable)?;
        Ok((CatalogStore { conn: opened.conn }, opened.recovered_from))
    }

    /// `open` without the integrity check, for a caller that runs `sql::check_integrity` on
    /// another thread meanwhile and calls `recreate` if it fails.
    pub fn open_unchecked(path: &Path, durable: bool) -> Result<(CatalogStore, Option<PathBuf>)> {
        let opened = sql::open_store_unchecked(path, &SCHEMA, durable)?;
        Ok((CatalogStore { conn: opened.conn }, opened.recovered_from))
    }

    /// Move a damaged catalog aside (consuming this connection to it) and start an empty one.
    pub fn recreate(self, path: &Path, durable: bool) -> Result<(CatalogStore, PathBuf)> {
        drop(self.conn);
        let opened = sql::recreate(path, &SCHEMA, durable)?;
        let aside = opened.recovered_from.unwrap_or_default();
        Ok((CatalogStore { conn: opened.conn }, aside))
    }

    pub fn open_in_memory() -> Result<CatalogStore> {
        Ok(CatalogStore {
            conn: sql::open_memory(&SCHEMA)?,
        })
    }

    /// The underlying connection (tests and tools: pragmas such as `max_page_count`).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Every item, in the order of their keys (sorted by id).
    pub fn load_all(&self) -> Result<Vec<Item>> {
        Ok(self
            .load_stored()?
            .into_iter()
            .map(|s| Item {
                related: parse_related(&s.related),
                ..s.item
            })
            .collect())
    }

    /// Every item, in the order of their keys, neighbour lists unparsed (what open reads).
    pub fn load_stored(&self) -> Result<Vec<StoredItem>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, title, category, brand, price, tags, in_stock, margin, embedding,
                    popularity, related, repeat_rate FROM items ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            // JSON columns are parsed straight from SQLite's buffer, without a String copy.
            let text = |i: usize| -> rusqlite::Result<&[u8]> {
                Ok(match r.get_ref(i)? {
                    ValueRef::Text(b) => b,
                    _ => b"[]",
                })
            };
            let embedding = match r.get_ref(8)? {
                ValueRef::Blob(b) => Some(blob_to_embedding(b)),
                _ => None,
            };
            let item = Item {
                id: r.get(0)?,
                title: r.get(1)?,
                category: r.get(2)?,
                brand: r.get(3)?,
                price: r.get(4)?,
                // A row this code wrote always parses; a hand-edited one degrades to empty lists.
                tags: serde_json::from_slice(text(5)?).unwrap_or_default(),
                in_stock: r.get::<_, i64>(6)? != 0,
                margin: r.get(7)?,
                embedding,
                popularity: r.get(9)?,
                repeat_rate: r.get(11)?,
                related: Vec::new(),
            };
            Ok(StoredItem {
                item,
                related: text(10)?.into(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The stamp of the last write (see `catalog::image`); `None` only for a database that
    /// lost its `meta` row.
    pub fn stamp(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'stamp'", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Replaces the stamp inside a write's transaction and returns the new one.
    fn restamp(tx: &rusqlite::Transaction) -> Result<String> {
        Ok(tx.query_row(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('stamp', lower(hex(randomblob(8))))
             RETURNING value",
            [],
            |r| r.get(0),
        )?)
    }

    /// Insert or replace items, all or nothing (an interrupt rolls everything back). Returns
    /// the new stamp.
    pub fn upsert(&mut self, items: &[Item], now: i64, cancel: &Cancel) -> Result<String> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR REPLACE INTO items
                   (id, title, category, brand, price, tags, in_stock, margin, embedding,
                    popularity, related, updated_at, repeat_rate)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            for (row, it) in items.iter().enumerate() {
                cancel.check_row(row)?;
                let tags = serde_json::to_string(&it.tags).unwrap_or_else(|_| "[]".into());
                let related: Vec<(&str, f64)> = it
                    .related
                    .iter()
                    .map(|r| (r.item_id.as_str(), r.weight))
                    .collect();
                let related = serde_json::to_string(&related).unwrap_or_else(|_| "[]".into());
                stmt.execute(params![
                    it.id,
                    it.title,
                    it.category,
                    it.brand,
                    it.price,
                    tags,
                    it.in_stock as i64,
                    it.margin,
                    it.embedding.as_deref().map(embedding_to_blob),
                    it.popularity,
                    related,
                    now,
                    it.repeat_rate
                ])?;
            }
        }
        let stamp = Self::restamp(&tx)?;
        tx.commit()?;
        Ok(stamp)
    }

    /// Remove items by id, all or nothing; returns how many existed and the new stamp.
    pub fn remove(&mut self, ids: &[String], cancel: &Cancel) -> Result<(u32, String)> {
        let tx = self.conn.transaction()?;
        let mut removed = 0;
        {
            let mut stmt = tx.prepare_cached("DELETE FROM items WHERE id = ?1")?;
            for (row, id) in ids.iter().enumerate() {
                cancel.check_row(row)?;
                removed += stmt.execute([id])? as u32;
            }
        }
        let stamp = Self::restamp(&tx)?;
        tx.commit()?;
        Ok((removed, stamp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbour_lists_read_back_exactly_whatever_the_ids() {
        let lists: Vec<Vec<(&str, f64)>> = vec![
            vec![],
            vec![("85123A", 1.0)],
            vec![("a", 0.1 + 0.2), ("b", 1e-7), ("c", 12345.678)],
            vec![("quote\"d", 0.5), ("back\\slash", 0.25), ("ünïcödé", 2.0)],
            vec![("ctrl\u{1}", 0.5), ("plain", 3.0)],
        ];
        for list in lists {
            let json = serde_json::to_string(&list).unwrap();
            let got: Vec<(String, f64)> = parse_related(json.as_bytes())
                .into_iter()
                .map(|r| (r.item_id, r.weight))
                .collect();
            let want: Vec<(String, f64)> = list.iter().map(|(i, w)| (i.to_string(), *w)).collect();
            assert_eq!(got, want, "{json}");
        }
        // A damaged column degrades to no neighbours instead of failing the catalog.
        assert!(parse_related(b"[[\"a\",").is_empty());
        assert!(parse_related(b"not json").is_empty());
    }

    fn item(id: &str) -> Item {
        Item {
            id: id.into(),
            title: "T".into(),
            category: "c".into(),
            brand: "b".into(),
            price: 2.5,
            tags: vec!["x".into(), "y".into()],
            in_stock: true,
            margin: Some(0.3),
            embedding: Some(vec![0.5, -1.0, 2.0]),
            popularity: 7.0,
            repeat_rate: None,
            related: vec![RelatedItem {
                item_id: "z".into(),
                weight: 0.5,
            }],
        }
    }

    #[test]
    fn round_trips_every_field_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        {
            let (mut s, recovered) = CatalogStore::open(&path, false).unwrap();
            assert!(recovered.is_none());
            s.upsert(&[item("a"), item("b")], 1, &Cancel::default())
                .unwrap();
            assert_eq!(
                s.remove(&["b".into(), "nope".into()], &Cancel::default())
                    .unwrap()
                    .0,
                1
            );
        }
        let (s, _) = CatalogStore::open(&path, false).unwrap();
        assert_eq!(s.load_all().unwrap(), vec![item("a")]);
    }
}
