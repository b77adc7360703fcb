//! Opening a `Tailor`: the stores, the model and what open has to report.

use super::{Tailor, Writer};
use crate::catalog::{image, CatalogSnapshot, CatalogStore};
use crate::error::{Error, Result};
use crate::model::{signature, ModelRegistry};
use crate::profile::signals::Params;
use crate::profile::store::WriteBatch;
use crate::profile::ProfileStore;
use crate::types::*;
use arc_swap::{ArcSwap, ArcSwapOption};
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub(super) const RETENTION_NOTICE: &str = "retention removed";

/// Pruned events leave `status().profile_events`; this says why the count went down.
pub(super) fn retention_notice(pruned: u64, config: &TailorConfig) -> StoreNotice {
    notice(
        "profile",
        format!(
            "{RETENTION_NOTICE} {pruned} events (older than {} days or beyond {} events)",
            config.max_event_age_days, config.max_events
        ),
    )
}

pub(super) fn notice(store: &str, message: impl Into<String>) -> StoreNotice {
    StoreNotice {
        store: store.into(),
        message: message.into(),
    }
}

fn validate_config(c: &TailorConfig) -> Result<Params> {
    if c.directory.trim().is_empty() {
        return Err(Error::invalid(
            "config.directory is empty; pass the app's private files directory",
        ));
    }
    if !c.half_life_days.is_finite() || !(0.01..=3650.0).contains(&c.half_life_days) {
        return Err(Error::invalid(
            "half_life_days must be between 0.01 and 3650",
        ));
    }
    if c.session_gap_minutes == 0 || c.session_gap_minutes > 24 * 60 {
        return Err(Error::invalid(
            "session_gap_minutes must be between 1 and 1440",
        ));
    }
    if c.max_events == 0 || c.max_event_age_days == 0 {
        return Err(Error::invalid(
            "max_events and max_event_age_days must be at least 1",
        ));
    }
    if c.max_catalog_items == 0
        || c.max_catalog_items as usize > crate::catalog::validate::MAX_ITEMS
    {
        return Err(Error::invalid(format!(
            "max_catalog_items must be between 1 and {}",
            crate::catalog::validate::MAX_ITEMS
        )));
    }
    crate::learn::bandit::validate(c.exploration_rate)?;
    if let Some(t) = crate::model::guard::Thresholds::from_config(c) {
        t.validate()?;
    }
    Ok(Params {
        half_life_secs: c.half_life_days * 86_400.0,
        session_gap_secs: c.session_gap_minutes as i64 * 60,
    })
}

/// A read-only connection for the readers of `profile.db`. Opened after the writer, which
/// creates and migrates the file.
fn open_reader(path: &Path) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

impl Tailor {
    pub(super) fn open_inner(config: TailorConfig) -> Result<Arc<Tailor>> {
        let params = validate_config(&config)?;
        let keys = signature::parse_keys(&config.trusted_model_keys)?;
        let dir = PathBuf::from(&config.directory);
        std::fs::create_dir_all(&dir)?;
        let mut notices = Vec::new();
        let durable = config.durable_sync;
        // Reading the catalog is the slowest part of opening when it comes from the rows (about 30
        // ms for 10,000 items with neighbours and embeddings; 8 from `catalog.image`), so this
        // thread does that. A second thread opens the profile store and the model, which do not
        // depend on the catalog. The catalog's integrity check (7 ms at 10,000 items, reading
        // the whole file) runs on its own read-only connection: during open, on whichever thread
        // is free first, when the catalog comes from its rows; after open (`check_catalog_later`)
        // when it comes from a whole image, which holds every item should the check fail.
        let catalog_path = dir.join("catalog.db");
        let profile_path = dir.join("profile.db");
        let models_dir = dir.clone();
        let budget = crate::model::ModelBudget::from_config(&config);
        let (max_age_secs, max_events) = (
            config.max_event_age_days as i64 * 86_400,
            config.max_events as u64,
        );
        let (opened_tx, opened_rx) = std::sync::mpsc::channel::<bool>();
        let check_claimed = AtomicBool::new(false);
        let check = || {
            (!check_claimed.swap(true, Ordering::SeqCst))
                .then(|| crate::sql::check_integrity(&catalog_path))
        };
        let (catalog, rest) = std::thread::scope(|scope| {
            let check = &check;
            let profile_path = profile_path.clone();
            let rest = std::thread::Builder::new()
                .name("tailor-open".into())
                .spawn_scoped(scope, move || {
                    let (mut profile, profile_moved) = ProfileStore::open(&profile_path, durable)?;
                    let models = ModelRegistry::open(Some(&models_dir), keys, budget)?;
                    // Retention first: the shopper's state is read after it.
                    let pruned =
                        profile.enforce_retention(crate::clock::now(), max_age_secs, max_events)?;
                    let state = profile.load_state_but_session()?;
                    // `true`: the catalog comes from its image, and the check waits until after
                    // open. Nothing arrives when the catalog failed to open or was just recreated.
                    let check = match opened_rx.recv() {
                        Ok(false) => check(),
                        Ok(true) | Err(_) => None,
                    };
                    Ok::<_, Error>(((profile, profile_moved), models, pruned, state, check))
                });
            let catalog = (|| {
                let (store, moved) = CatalogStore::open_unchecked(&catalog_path, durable)?;
                // The image when it shows the last write and is whole, else the rows. A snapshot
                // from the rows is built while the check may still run; it is dropped if the
                // check fails. A stamp that cannot be read fails like a row that cannot.
                let stamp = store.stamp();
                let image = match &stamp {
                    Ok(Some(stamp)) => image::open(&image::path(&dir), stamp),
                    _ => None,
                };
                if moved.is_none() && rest.is_ok() {
                    let _ = opened_tx.send(image.is_some());
                }
                let decoded = image.and_then(|image| image.decode());
                let from_image = decoded.is_some();
                let snapshot = match decoded {
                    Some(snapshot) => Ok(snapshot),
                    None => stamp.and_then(|stamp| {
                        let rows = store.load_stored()?;
                        Ok(CatalogSnapshot::from_stored(rows).with_stamp(stamp))
                    }),
                };
                // From the rows (an image that passed its checksum may still fail to decode,
                // and then the other thread has left the check to this one): check now.
                let check = if moved.is_none() && !from_image {
                    check()
                } else {
                    None
                };
                Ok::<_, Error>((store, moved, snapshot, from_image, check))
            })();
            drop(opened_tx);
            let rest = match rest {
                Ok(handle) => handle.join().unwrap_or_else(|_| {
                    Err(Error::Io(std::io::Error::other(
                        "opening profile.db or the model failed unexpectedly; retry",
                    )))
                }),
                Err(e) => Err(Error::from(e)),
            };
            (catalog, rest)
        });
        let (catalog_store, mut moved, snapshot, mut from_image, check) = catalog?;
        let (
            (mut profile_store, profile_moved),
            (models, model_notices),
            pruned,
            mut state,
            other_check,
        ) = rest?;
        let check = check.or(other_check).unwrap_or(Ok(()));
        // A damaged catalog (found by the check or while decoding) is moved aside, as at any open.
        let (catalog_store, snapshot) = match (check, snapshot) {
            (Ok(()), Ok(snapshot)) => (catalog_store, snapshot),
            (Err(e), _) | (Ok(()), Err(e)) if crate::sql::is_corruption(&e) => {
                let (store, aside) = catalog_store.recreate(&catalog_path, durable)?;
                moved = Some(aside);
                from_image = false;
                let stamp = store.stamp()?;
                (store, CatalogSnapshot::build(Vec::new()).with_stamp(stamp))
            }
            (Err(e), _) | (Ok(()), Err(e)) => return Err(e),
        };
        let snapshot = Arc::new(snapshot);
        for (store, aside) in [("catalog", moved), ("profile", profile_moved)] {
            if let Some(p) = aside {
                notices.push(notice(
                    store,
                    format!(
                        "{store}.db was damaged; moved to {} and started empty",
                        p.display()
                    ),
                ));
            }
        }
        if pruned > 0 {
            notices.push(retention_notice(pruned, &config));
        }
        let retention_pruned = std::sync::atomic::AtomicU64::new(pruned);
        state.session = profile_store.rebuild_session(&snapshot, &params)?;
        // Relative to the shopper's last activity: affinities are compared with each other, so
        // one that decayed to nothing next to the newest signals is dropped, whatever the clock.
        let dropped = state.prune_affinities(state.last_event, &params);
        if !dropped.is_empty() {
            let mut batch = WriteBatch::default();
            batch.dropped_affinities = dropped;
            profile_store.commit(&mut batch, &state)?;
        }
        let consent = profile_store.consent()?;
        let salt = *profile_store.salt();
        let reader = open_reader(&profile_path)?;
        notices.extend(model_notices.into_iter().map(|m| notice("model", m)));
        // The guard's rollbacks outlive the process: say so at every open.
        for r in models.guard_rollbacks() {
            notices.push(notice(
                "model",
                format!(
                    "model guard rolled back {} {} after {} rank calls: {}; it stays refused \
                     until a new version is loaded",
                    r.name, r.version, r.ranks, r.reason
                ),
            ));
        }
        let image = Arc::new(image::Saver::new(
            &dir,
            from_image.then(|| snapshot.stamp.clone()).flatten(),
        ));
        if !from_image {
            // Written in the background, so this open does not wait for it; the next one reads it.
            let (image, snapshot) = (image.clone(), Arc::clone(&snapshot));
            let _ = std::thread::Builder::new()
                .name("tailor-image".into())
                .spawn(move || image.save(&snapshot));
        }
        let tailor = Arc::new(Tailor {
            guard: crate::model::guard::Thresholds::from_config(&config),
            config,
            params,
            dir,
            salt,
            catalog: ArcSwap::new(snapshot),
            image,
            profile: ArcSwap::from_pointee(state),
            consent: AtomicBool::new(consent),
            models,
            writer: Mutex::new(Some(Writer {
                catalog: catalog_store,
                profile: profile_store,
            })),
            reader: Mutex::new(Some(reader)),
            interrupts: Default::default(),
            closed: AtomicBool::new(false),
            view_cache: ArcSwapOption::empty(),
            candidate_sets: Default::default(),
            experiments: Default::default(),
            forced: Default::default(),
            retention_pruned,
            shown: Default::default(),
            counters: Default::default(),
            notices: Mutex::new(notices),
        });
        // Events whose item arrived just before a crash are resolved now.
        tailor.resolve_pending(None)?;
        // Last, so that building them (tens of ms of CPU) does not slow open itself; rank uses
        // the model's general plan until they are ready.
        tailor.models.prepare_active();
        if from_image {
            tailor.check_catalog_later();
        }
        Ok(tailor)
    }
}

impl Tailor {
    /// The catalog integrity check open skipped because the catalog came from a whole image:
    /// run on its own thread once open has returned. A damaged `catalog.db` is moved aside and
    /// written again from the snapshot, which holds every item (open would otherwise have
    /// started an empty catalog), and `status().notices` says so.
    fn check_catalog_later(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let path = self.dir.join("catalog.db");
        let _ = std::thread::Builder::new()
            .name("tailor-check".into())
            .spawn(move || {
                let damaged = matches!(
                    crate::sql::check_integrity(&path),
                    Err(e) if crate::sql::is_corruption(&e)
                );
                if let (true, Some(tailor)) = (damaged, weak.upgrade()) {
                    let outcome = tailor.rewrite_catalog(&path);
                    let message = match outcome {
                        Ok((aside, items)) => format!(
                            "catalog.db was damaged; moved to {} and written again from \
                             catalog.image ({items} items)",
                            aside.display()
                        ),
                        Err(e) => format!(
                            "catalog.db is damaged and could not be written again ({e}); it is \
                             moved aside at the next open"
                        ),
                    };
                    tailor.notices.lock().push(notice("catalog", message));
                }
            });
    }

    /// Moves the damaged `catalog.db` aside and writes every item of the live snapshot into a
    /// new one, under the writer lock (a write that came first is in the snapshot).
    fn rewrite_catalog(&self, path: &Path) -> Result<(PathBuf, usize)> {
        let durable = self.config.durable_sync;
        self.write(|w| {
            let damaged = std::mem::replace(&mut w.catalog, CatalogStore::open_in_memory()?);
            let (mut store, aside) = match damaged.recreate(path, durable) {
                Ok(fresh) => fresh,
                Err(e) => {
                    // Keep writing to the file as it was (the next open moves it aside).
                    w.catalog = CatalogStore::open_unchecked(path, durable)?.0;
                    return Err(e);
                }
            };
            let snapshot = self.catalog.load_full();
            let items: Vec<Item> = (0..snapshot.len() as u32)
                .map(|i| snapshot.full_record(i))
                .collect();
            let written = store.upsert(&items, crate::clock::now(), &Default::default());
            w.catalog = store;
            written?;
            Ok((aside, items.len()))
        })
    }
}
