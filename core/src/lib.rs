//! Tailor: on-device personalization for shopping apps.
//!
//! A [`Tailor`] object owns one shopper's profile (`profile.db`), the merchant catalog
//! (`catalog.db`) and the active ranking model. Writers (`track`, `upsert_items`, model loads)
//! replace immutable snapshots; `rank` reads snapshots only, so it never waits on disk or on a
//! model swap. Everything stays on the device: there is no network code in this crate.
//!
//! ```no_run
//! use tailor::{Tailor, TailorConfig, Event, EventKind, RankRequest};
//! let t = Tailor::open(TailorConfig::new("/tmp/tailor-demo"))?;
//! t.import_catalog_csv("catalog.csv".into())?;
//! t.track(Event { kind: EventKind::View, item_id: "85123A".into(), timestamp: None,
//!                 session_id: None, quantity: None, surface: None, response_id: None })?;
//! let page = t.rank(RankRequest { limit: 10, ..Default::default() })?;
//! for item in page.items { println!("{} {:?}", item.item_id, item.reasons); }
//! # Ok::<(), tailor::TailorError>(())
//! ```

// Library code returns errors; it never unwraps (a panic would cross into Kotlin or Swift).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod cancel;
pub mod catalog;
mod clock;
pub mod csvio;
pub mod error;
pub mod eval;
pub mod experiments;
pub mod features;
pub mod learn;
pub mod metrics;
pub mod model;
pub mod privacy;
pub mod profile;
pub mod rank;
pub mod sql;
mod tailor;
pub mod types;
pub mod validate;

pub use error::{ModelProblem, TailorError};
pub use tailor::Tailor;
pub use types::*;

uniffi::setup_scaffolding!();
