//! The native library of the Kotlin and Swift SDKs. tailor-core defines the exported API with
//! uniffi's proc-macros (`#[uniffi::export]`, `uniffi::setup_scaffolding!()`); their `extern "C"`
//! functions and metadata are linked into this cdylib/staticlib by re-exporting the crate.
pub use tailor::*;
