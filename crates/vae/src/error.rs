//! The library's one error type. Every message names the offending value, so the CLI can print it
//! as a single line without more context.

use std::path::PathBuf;

/// The library's result: `Ok(T)` or an [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, each variant's message naming the value at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written. The OS error is part of the message and not a
    /// `source`, so a chain printed whole (anyhow's `{:#}`) says it once.
    #[error("{path}: {cause}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        cause: std::io::Error,
    },

    /// A file was read but is not what it should be (truncated, corrupt, the wrong kind).
    #[error("{path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Buffers or tensors of the wrong size were handed over.
    #[error("shape mismatch in {what}: expected {expected}, got {actual}")]
    Shape {
        /// Which buffer.
        what: &'static str,
        /// The size it should have.
        expected: String,
        /// The size it has.
        actual: String,
    },

    /// A configuration (`config.json`, a layer list, options) that cannot build or train a model.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// An argument out of range or inconsistent with the others.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A data set that cannot be used as asked.
    #[error("data set {name}: {reason}")]
    Dataset {
        /// The data set, as named.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },

    /// Training produced a loss or gradient that is not finite; nothing was saved from it.
    #[error("training diverged at epoch {epoch}, batch {batch}: {what} is not finite (the last checkpoint on disk is untouched)")]
    NonFinite {
        /// The epoch (1-based).
        epoch: usize,
        /// The batch within it (1-based).
        batch: usize,
        /// The loss or the gradient.
        what: &'static str,
    },

    /// Training was stopped by its caller (an interrupt, a callback's error) after a batch; the
    /// epoch was not saved.
    #[error("training stopped at epoch {epoch}, batch {batch}: {why} (the last checkpoint on disk is untouched)")]
    Stopped {
        /// The epoch (1-based).
        epoch: usize,
        /// The batch within it (1-based).
        batch: usize,
        /// What stopped it.
        why: String,
    },

    /// A checkpoint that cannot be loaded or saved.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint's file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Another process trains into the same run directory.
    #[error("{path} is held by another process{holder} training into the same run directory; wait for it to finish or stop it")]
    RunLocked {
        /// The lock file.
        path: PathBuf,
        /// The holder's process id, as the lock file names it (` (pid N)`), or empty.
        holder: String,
    },

    /// A download that failed or whose bytes did not match their checksum.
    #[error("download failed: {0}")]
    Download(String),

    /// An image that could not be decoded or encoded.
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
