//! One public error type for every API call, plus the internal error it is built from.
//!
//! Internal code uses `Result<T>` with [`Error`], which carries the precise cause (SQLite, tract,
//! I/O, ...). At the API boundary it is mapped to [`TailorError`], a small enum that uniffi turns
//! into Kotlin exceptions and Swift errors. Messages say what was wrong and what to do about it.

use std::fmt;

/// Why a model was refused. Stable, so apps and ML tooling can branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ModelProblem {
    /// `manifest.json` is missing, not JSON, or lacks a required field.
    InvalidManifest,
    /// The model bytes do not hash to the manifest's `sha256`.
    HashMismatch,
    /// The manifest lists a feature the registry does not know.
    UnknownFeature,
    /// The file is not a loadable ONNX model (truncated, garbage, wrong format).
    NotOnnx,
    /// The graph uses an operator the runtime cannot run (e.g. ai.onnx.ml TreeEnsembleRegressor).
    UnsupportedOperator,
    /// Input or output shapes do not match the manifest (feature count, batch dimension, output).
    ShapeMismatch,
    /// A probe batch produced NaN or infinite scores.
    NonFiniteOutput,
    /// A signature is required and missing or does not verify against a trusted key.
    BadSignature,
    /// The file is larger than the configured limit.
    TooLarge,
    /// Scoring at rank's batch sizes would cost more time or memory than the configured
    /// `ModelBudget` (or the runtime ran out of memory on the probe).
    OverBudget,
    /// The runtime failed while scoring the probe batch (an error or panic inside tract).
    RuntimeError,
    /// The model guard rolled this exact model back on this device (see
    /// `metrics().engine.model_guard.rollbacks`); it stays refused until the app ships a new
    /// version (different bytes).
    Quarantined,
}

/// The public error of every Tailor call.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TailorError {
    /// The caller passed something unusable (NaN price, empty id, unknown enum value, ...).
    /// Nothing was changed.
    #[error("invalid input: {message}")]
    InvalidInput { message: String },
    /// A referenced thing (item, model, file) does not exist.
    #[error("not found: {message}")]
    NotFound { message: String },
    /// A model failed validation; the previously active model keeps serving.
    #[error("model rejected ({problem:?}): {message}")]
    ModelRejected {
        problem: ModelProblem,
        message: String,
    },
    /// The on-device store could not be read or written (disk full, read-only, corrupt).
    /// Nothing was half-written: the call's transaction was rolled back.
    #[error("storage error: {message}")]
    Storage { message: String },
    /// The `Tailor` object was closed; open a new one.
    #[error("closed: {message}")]
    Closed { message: String },
    /// A long operation was stopped by `interrupt()`; nothing it would have written was kept.
    #[error("interrupted: {message}")]
    Interrupted { message: String },
}

/// Internal error: precise causes, converted to [`TailorError`] at the API boundary.
#[derive(Debug)]
pub enum Error {
    Invalid(String),
    NotFound(String),
    Model(ModelProblem, String),
    Sql(rusqlite::Error),
    Io(std::io::Error),
    Closed,
    Interrupted,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
    pub fn model(problem: ModelProblem, msg: impl Into<String>) -> Self {
        Error::Model(problem, msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) | Error::NotFound(m) => f.write_str(m),
            Error::Model(p, m) => write!(f, "{p:?}: {m}"),
            Error::Sql(e) => write!(f, "{e}"),
            Error::Io(e) => write!(f, "{e}"),
            Error::Closed => f.write_str("closed"),
            Error::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Sql(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

/// Advice appended to storage errors, chosen by SQLite's primary result code.
fn storage_advice(e: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::DiskFull) => "the device is out of space; free some and retry",
        Some(C::ReadOnly) | Some(C::CannotOpen) | Some(C::PermissionDenied) => {
            "check that the Tailor directory exists and is writable by the app"
        }
        Some(C::DatabaseCorrupt) | Some(C::NotADatabase) => {
            "the file is damaged; reopen Tailor, which moves it aside and starts fresh"
        }
        Some(C::DatabaseBusy) | Some(C::DatabaseLocked) => {
            "another process holds the database; use one Tailor object per directory"
        }
        _ => "retry; if it persists, report it with this message",
    }
}

impl From<Error> for TailorError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(message) => TailorError::InvalidInput { message },
            Error::NotFound(message) => TailorError::NotFound { message },
            Error::Model(problem, message) => TailorError::ModelRejected { problem, message },
            Error::Sql(e) => TailorError::Storage {
                message: format!("{e} ({})", storage_advice(&e)),
            },
            Error::Io(e) => TailorError::Storage {
                message: format!("{e} (check free space and that the directory is writable)"),
            },
            Error::Closed => TailorError::Closed {
                message: "this Tailor object was closed; open a new one".into(),
            },
            Error::Interrupted => TailorError::Interrupted {
                message: "stopped by interrupt(); nothing was written, call again to redo it"
                    .into(),
            },
        }
    }
}
