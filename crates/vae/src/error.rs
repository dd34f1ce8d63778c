//! The library's one error type. Every message names the offending value, so the CLI can print it
//! as a single line without more context.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The OS error is part of the message and not a `source`, so a chain printed whole (anyhow's
    /// `{:#}`) says it once.
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },

    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },

    #[error("shape mismatch in {what}: expected {expected}, got {actual}")]
    Shape {
        what: &'static str,
        expected: String,
        actual: String,
    },

    #[error("invalid configuration: {0}")]
    Config(String),

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error("data set {name}: {reason}")]
    Dataset { name: String, reason: String },

    #[error("training diverged at epoch {epoch}, batch {batch}: {what} is not finite (the last checkpoint on disk is untouched)")]
    NonFinite {
        epoch: usize,
        batch: usize,
        what: &'static str,
    },

    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },

    #[error("{path} is held by another process{holder} training into the same run directory; wait for it to finish or stop it")]
    RunLocked { path: PathBuf, holder: String },

    #[error("download failed: {0}")]
    Download(String),

    #[error("image: {0}")]
    Image(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause: source,
        }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::BadFile {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn shape(
        what: &'static str,
        expected: impl ToString,
        actual: impl ToString,
    ) -> Self {
        Error::Shape {
            what,
            expected: expected.to_string(),
            actual: actual.to_string(),
        }
    }
}
