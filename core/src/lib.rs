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

// Every module is private: apps see `Tailor`, its records and its error (below); tools see the
// `engine` re-exports. An item nothing re-exports or uses is dead code the compiler reports.
mod bytes;
mod cancel;
mod catalog;
mod clock;
mod csvio;
mod defaults;
mod error;
mod experiments;
mod features;
mod learn;
mod metrics;
mod model;
mod privacy;
mod profile;
mod rank;
mod sql;
mod tailor;
mod types;
mod validate;

pub use error::{ModelProblem, TailorError};
pub use tailor::Tailor;
pub use types::*;

/// The engine's parts without a [`Tailor`] object, for tools: the `tailor` CLI, offline
/// evaluation and training data (`tailor-eval`), benchmarks and tests. They are the same code
/// paths `Tailor` serves with, so a replay measures what an app gets. Apps use [`Tailor`].
pub mod engine {
    pub use crate::error::{Error, Result};

    /// The interchange CSVs and the catalog as the ranker reads it.
    pub mod catalog {
        pub use crate::catalog::import::{read as read_csv, read_path as read_csv_path};
        pub use crate::catalog::schema::SCHEMA;
        pub use crate::catalog::validate::item as validate_item;
        pub use crate::catalog::validate::{batch as validate_batch, id as validate_id};
        pub use crate::catalog::{CatalogSnapshot, CatalogStore};
    }

    /// A shopper's history: events, the decayed signals built from them, their storage.
    pub mod profile {
        pub use crate::profile::import::{read as read_csv, read_path as read_csv_path, UserEvent};
        pub use crate::profile::schema::SCHEMA;
        pub use crate::profile::signals::{ProfileEvent, Touched};
        pub use crate::profile::store::{keyed_hash, NewEvent, WriteBatch};
        pub use crate::profile::{Params, ProfileState, ProfileStore};
    }

    /// The feature registry and the one function that assembles a model's input rows.
    pub mod features {
        pub use crate::features::assemble::value;
        pub use crate::features::definitions::describe;
        pub use crate::features::{assemble, assemble_in, Feature, ProfileView, RequestContext};
    }

    /// Model files: the manifest, validation, loading, signing and the bundled default.
    pub mod model {
        pub use crate::defaults::{MODEL_FMA_PER_ROW, MODEL_MB_PER_1000, MODEL_MS_PER_1000};
        pub use crate::model::contract::OPERATORS;
        pub use crate::model::manifest::sha256_hex;
        pub use crate::model::registry::{builtin, load_from_manifest, load_from_manifest_with};
        pub use crate::model::registry::{read_model_files, ModelFiles};
        pub use crate::model::registry::{validate, validate_files, validate_with, Validated};
        pub use crate::model::registry::{BUILTIN_MANIFEST, BUILTIN_ONNX};
        pub use crate::model::{
            signature, LoadedModel, Manifest, ModelBudget, ModelRegistry, Runtime, SequenceModel,
        };
    }

    /// Ranking one request against snapshots, and the on-device personal layer.
    pub mod rank {
        pub use crate::learn::PersonalLayer;
        pub use crate::rank::{rank, RankContext};

        /// The packed page `Tailor::rank_packed` returns (what the Kotlin and Swift SDKs read):
        /// its layout, writer and the reference reader.
        pub mod packed {
            pub use crate::rank::packed::{decode, encode, VERSION};
        }
    }

    /// The C entry point the Kotlin and Swift SDKs rank through (`tailor/native.rs`), for tests.
    pub mod native {
        pub use crate::tailor::native::{tailor_rank_page, tailor_take_answer, ERROR, PAGE, PANIC};
    }

    /// SQLite helpers the migration tests use to build databases of earlier versions.
    pub mod sql {
        pub use crate::sql::{open_memory, Schema};
    }
}

uniffi::setup_scaffolding!();
