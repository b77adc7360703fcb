//! `profile.db` schema. Append a migration to change it; never edit a released one.
//! Everything in this file is personal data and goes with `erase()`, except the install salt.

use crate::sql::Schema;

pub static SCHEMA: Schema = Schema {
    name: "profile.db",
    migrations: &[
        // 1: events (the raw log, bounded by retention), decayed affinities, item history,
        //    explicit preferences and key/value metadata (salt, consent, usual price).
        "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
         CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ts INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            item_id TEXT NOT NULL,
            session TEXT,
            quantity INTEGER NOT NULL DEFAULT 1,
            surface TEXT,
            resolved INTEGER NOT NULL DEFAULT 1
         );
         CREATE INDEX events_ts ON events(ts);
         CREATE INDEX events_pending ON events(item_id) WHERE resolved = 0;
         CREATE TABLE affinities (
            dim INTEGER NOT NULL,
            key TEXT NOT NULL,
            score REAL NOT NULL,
            as_of INTEGER NOT NULL,
            PRIMARY KEY (dim, key)
         ) WITHOUT ROWID;
         CREATE TABLE item_stats (
            item_id TEXT PRIMARY KEY NOT NULL,
            views INTEGER NOT NULL, clicks INTEGER NOT NULL, carts INTEGER NOT NULL,
            purchases INTEGER NOT NULL, quantity INTEGER NOT NULL,
            last_view INTEGER NOT NULL, last_cart INTEGER NOT NULL,
            last_purchase INTEGER NOT NULL, last_dismiss INTEGER NOT NULL,
            last_seen INTEGER NOT NULL
         ) WITHOUT ROWID;
         CREATE TABLE preferences (
            kind INTEGER NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (kind, value)
         ) WITHOUT ROWID;",
        // 2: purchase cycles per item (first purchase, decayed recent purchases). Rows from v1
        //    start from what v1 knew: every purchase counted at the last purchase time.
        "ALTER TABLE item_stats ADD COLUMN first_purchase INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE item_stats ADD COLUMN recent_purchases REAL NOT NULL DEFAULT 0;
         ALTER TABLE item_stats ADD COLUMN recent_purchases_at INTEGER NOT NULL DEFAULT 0;
         UPDATE item_stats SET first_purchase = last_purchase, recent_purchases = purchases,
                recent_purchases_at = last_purchase WHERE purchases > 0;",
        // 3: on-device learning and local measurement: the personal adjustment layer, the
        //    exploration bandit, experiment assignments, funnel counters and recent impressions
        //    (bounded by age and count, for attribution).
        "CREATE TABLE personal_weights (
            model_key TEXT PRIMARY KEY NOT NULL,
            weights TEXT NOT NULL,
            updates INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
         ) WITHOUT ROWID;
         CREATE TABLE bandit (
            arm TEXT PRIMARY KEY NOT NULL,
            alpha REAL NOT NULL,
            beta REAL NOT NULL
         ) WITHOUT ROWID;
         CREATE TABLE experiments (
            key TEXT PRIMARY KEY NOT NULL,
            variant TEXT NOT NULL,
            assigned_at INTEGER NOT NULL,
            exposures INTEGER NOT NULL DEFAULT 0
         ) WITHOUT ROWID;
         CREATE TABLE funnel (
            experiment TEXT NOT NULL,
            variant TEXT NOT NULL,
            surface TEXT NOT NULL,
            impressions INTEGER NOT NULL DEFAULT 0,
            clicks INTEGER NOT NULL DEFAULT 0,
            carts INTEGER NOT NULL DEFAULT 0,
            purchases INTEGER NOT NULL DEFAULT 0,
            revenue REAL NOT NULL DEFAULT 0,
            attributed INTEGER NOT NULL DEFAULT 0,
            attributed_revenue REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (experiment, variant, surface)
         ) WITHOUT ROWID;
         CREATE TABLE impressions (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            item_id TEXT NOT NULL,
            surface TEXT NOT NULL,
            experiment TEXT NOT NULL,
            variant TEXT NOT NULL,
            position INTEGER NOT NULL
         );
         CREATE INDEX impressions_item ON impressions(item_id, ts);
         CREATE INDEX impressions_ts ON impressions(ts);",
        // 4: the shopper's own corrections: "not interested in" an item, category, brand or
        //    tag (kind uses the preference codes; item = 3), with when it was said.
        "CREATE TABLE not_interested (
            kind INTEGER NOT NULL,
            value TEXT NOT NULL,
            since INTEGER NOT NULL,
            PRIMARY KEY (kind, value)
         ) WITHOUT ROWID;",
        // 5: attribution per placement: the response a page came from is kept with each
        //    impression, and per-response conversion counters (bounded like impressions).
        "ALTER TABLE impressions ADD COLUMN response_id TEXT;
         CREATE TABLE placements (
            response_id TEXT PRIMARY KEY NOT NULL,
            surface TEXT NOT NULL,
            experiment TEXT NOT NULL,
            variant TEXT NOT NULL,
            shown_at INTEGER NOT NULL,
            impressions INTEGER NOT NULL DEFAULT 0,
            clicks INTEGER NOT NULL DEFAULT 0,
            carts INTEGER NOT NULL DEFAULT 0,
            purchases INTEGER NOT NULL DEFAULT 0,
            revenue REAL NOT NULL DEFAULT 0
         ) WITHOUT ROWID;
         CREATE INDEX placements_shown ON placements(shown_at);",
    ],
};
