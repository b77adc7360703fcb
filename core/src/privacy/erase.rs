//! Erase every personal row and leave no personal bytes in the file or its WAL.

use crate::error::Result;
use crate::profile::ProfileStore;

pub fn erase(store: &mut ProfileStore) -> Result<()> {
    let conn = store.connection();
    // secure_delete is on for this connection, so freed pages are zeroed as rows go.
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         DELETE FROM events;
         DELETE FROM affinities;
         DELETE FROM item_stats;
         DELETE FROM preferences;
         DELETE FROM personal_weights;
         DELETE FROM bandit;
         DELETE FROM experiments;
         DELETE FROM funnel;
         DELETE FROM impressions;
         DELETE FROM not_interested;
         DELETE FROM placements;
         DELETE FROM meta WHERE key NOT IN ('salt', 'consent');
         DELETE FROM sqlite_sequence WHERE name = 'events';
         COMMIT;",
    )?;
    // Move everything into the main file, rebuild it without free pages, and truncate the WAL so
    // no old page images survive there either.
    conn.execute_batch(
        "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
    )?;
    store.reset_counts();
    Ok(())
}
