//! The merchant's catalog: persisted in `catalog.db`, served from an immutable in-memory snapshot.

pub mod image;
pub mod import;
mod neighbours;
pub mod schema;
pub mod snapshot;
pub mod store;
pub mod validate;

pub use snapshot::{CatalogItem, CatalogSnapshot};
pub use store::CatalogStore;
