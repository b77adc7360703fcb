//! Privacy: erasing and exporting the shopper's data. Consent lives on the `Tailor` object and
//! in `profile.db` meta; identifiers are keyed hashes (see `profile::store::keyed_hash`).

pub mod erase;
pub mod export;
pub mod snapshot;
pub mod summary;
