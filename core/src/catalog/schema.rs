//! `catalog.db` schema. Append a migration to change it; never edit a released one.

use crate::sql::Schema;

pub static SCHEMA: Schema = Schema {
    name: "catalog.db",
    migrations: &[
        // 1: items, with list-valued fields as JSON and embeddings as little-endian f32 blobs.
        "CREATE TABLE items (
            id TEXT PRIMARY KEY NOT NULL,
            title TEXT NOT NULL,
            category TEXT NOT NULL DEFAULT '',
            brand TEXT NOT NULL DEFAULT '',
            price REAL NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            in_stock INTEGER NOT NULL DEFAULT 1,
            margin REAL,
            embedding BLOB,
            popularity REAL NOT NULL DEFAULT 0,
            related TEXT NOT NULL DEFAULT '[]',
            updated_at INTEGER NOT NULL
         ) WITHOUT ROWID;
         CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;",
        // 2: the share of an item's buyers who bought it again (merchant data; NULL = unknown).
        "ALTER TABLE items ADD COLUMN repeat_rate REAL;",
        // 3: a random stamp, replaced by every write, that says which write `catalog.image` shows.
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('stamp', lower(hex(randomblob(8))));",
    ],
};
