//! Opening SQLite files: pragmas, numbered migrations and recovery from corrupt files.
//!
//! Each store owns a schema module with `MIGRATIONS`, where `MIGRATIONS[i]` upgrades a file from
//! `user_version` i to i + 1 inside one transaction. A file newer than the code is refused rather
//! than guessed at.

use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// The migrations of one store.
pub struct Schema {
    pub name: &'static str,
    pub migrations: &'static [&'static str],
}

impl Schema {
    pub fn version(&self) -> i64 {
        self.migrations.len() as i64
    }
}

/// How a store was opened.
pub struct Opened {
    pub conn: Connection,
    /// Set when a damaged file was moved aside and a fresh one created.
    pub recovered_from: Option<PathBuf>,
}

fn configure(conn: &Connection, durable: bool) -> Result<()> {
    // WAL: readers never block the writer, and a commit is one append.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode survives process crashes (the WAL is in the OS cache); FULL also
    // survives power loss at the cost of an fsync per commit.
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "NORMAL" })?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted personal data is overwritten, not just unlinked from the b-tree.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "journal_size_limit", 4 * 1024 * 1024)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

/// Apply every migration the file has not seen yet.
pub fn migrate(conn: &mut Connection, schema: &Schema) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > schema.version() {
        return Err(Error::invalid(format!(
            "{} was written by a newer Tailor (schema {current}, this build knows {}); \
             update the app or erase the store",
            schema.name,
            schema.version()
        )));
    }
    for (i, step) in schema.migrations.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

fn open_checked(path: &Path, schema: &Schema, durable: bool, check: bool) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)?;
    configure(&conn, durable)?;
    if check {
        integrity(&conn)?;
    }
    migrate(&mut conn, schema)?;
    Ok(conn)
}

/// `PRAGMA quick_check`: reads every page, so a truncated or overwritten file is caught at open
/// rather than by a shopper's first rank call.
fn integrity(conn: &Connection) -> Result<()> {
    let ok: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
    if ok != "ok" {
        return Err(Error::Sql(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(format!("integrity check failed: {ok}")),
        )));
    }
    Ok(())
}

/// The integrity check of `open_store`, on a separate read-only connection, for a store opened
/// with `open_store_unchecked` (so the check can run on another thread while the store is read).
pub fn check_integrity(path: &Path) -> Result<()> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    integrity(&Connection::open_with_flags(path, flags)?)
}

/// Whether an error means the file is damaged (and should be moved aside).
pub fn is_corruption(e: &Error) -> bool {
    matches!(
        e,
        Error::Sql(s) if matches!(
            s.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase)
        )
    )
}

/// Open (creating if needed) and migrate a store. A corrupt or non-SQLite file is renamed to
/// `<name>.corrupt-<unix time>` (with its -wal and -shm) and a fresh store is created, so a damaged
/// file never stops the app; the caller reports the move through `status()`.
pub fn open_store(path: &Path, schema: &Schema, durable: bool) -> Result<Opened> {
    open_store_with(path, schema, durable, true)
}

/// `open_store` without the integrity check: the caller runs `check_integrity` itself and calls
/// `recreate` if it fails.
pub fn open_store_unchecked(path: &Path, schema: &Schema, durable: bool) -> Result<Opened> {
    open_store_with(path, schema, durable, false)
}

fn open_store_with(path: &Path, schema: &Schema, durable: bool, check: bool) -> Result<Opened> {
    match open_checked(path, schema, durable, check) {
        Ok(conn) => Ok(Opened {
            conn,
            recovered_from: None,
        }),
        Err(e) if is_corruption(&e) => recreate(path, schema, durable),
        Err(e) => Err(e),
    }
}

/// Move a damaged store aside and create a fresh one in its place. Close every connection to
/// the file first.
pub fn recreate(path: &Path, schema: &Schema, durable: bool) -> Result<Opened> {
    let stamp = crate::clock::now();
    let aside = path.with_extension(format!("db.corrupt-{stamp}"));
    std::fs::rename(path, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            std::fs::rename(&side, format!("{}{suffix}", aside.display()))?;
        }
    }
    let conn = open_checked(path, schema, durable, true)?;
    Ok(Opened {
        conn,
        recovered_from: Some(aside),
    })
}

/// A value from a store's `meta` table (both stores have one: `key TEXT PRIMARY KEY, value TEXT`).
pub fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Set a value in a store's `meta` table.
pub fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute([key, value])?;
    Ok(())
}

/// Open an in-memory store (tests, replay).
pub fn open_memory(schema: &Schema) -> Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    migrate(&mut conn, schema)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    static TEST: Schema = Schema {
        name: "test.db",
        migrations: &[
            "CREATE TABLE a(x INTEGER);",
            "ALTER TABLE a ADD COLUMN y TEXT;",
        ],
    };

    #[test]
    fn migrates_from_every_version() {
        let dir = tempfile::tempdir().unwrap();
        for start in 0..=TEST.migrations.len() {
            let path = dir.path().join(format!("v{start}.db"));
            {
                let mut conn = Connection::open(&path).unwrap();
                let partial = Schema {
                    name: "t",
                    migrations: &TEST.migrations[..start],
                };
                migrate(&mut conn, &partial).unwrap();
            }
            let opened = open_store(&path, &TEST, false).unwrap();
            let v: i64 = opened
                .conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(v, 2);
            opened
                .conn
                .execute("INSERT INTO a(x, y) VALUES (1, 'ok')", [])
                .unwrap();
        }
    }

    #[test]
    fn refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = open_store(&path, &TEST, false).err().unwrap();
        assert!(matches!(err, Error::Invalid(m) if m.contains("newer")));
    }

    #[test]
    fn garbage_file_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.db");
        std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
        let opened = open_store(&path, &TEST, false).unwrap();
        let aside = opened.recovered_from.unwrap();
        assert!(aside.exists());
        assert_eq!(std::fs::read(aside).unwrap(), vec![0x42u8; 8192]);
    }
}
