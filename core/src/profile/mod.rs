//! The shopper's profile: events and decayed signals in `profile.db`, served from an immutable
//! in-memory [`ProfileState`] that writers replace.

pub mod import;
pub mod schema;
pub mod signals;
pub mod store;

pub use signals::{ItemStats, Params, ProfileState};
pub use store::ProfileStore;
