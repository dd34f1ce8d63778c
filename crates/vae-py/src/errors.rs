//! The library's errors as the Python exceptions `vae.errors` defines: every one a `vae.Error`,
//! and a `ValueError`, `FileNotFoundError`, `OSError` or `RuntimeError` as its kind is.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The exception class of `vae.errors` named `name`, raised with `message`.
pub fn raise(py: Python<'_>, name: &str, message: String) -> PyErr {
    let class = py
        .import("vae.errors")
        .and_then(|module| module.getattr(name))
        .and_then(|class| class.cast_into::<PyType>().map_err(PyErr::from));
    match class {
        Ok(class) => PyErr::from_type(class, message),
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// `vae.InvalidInputError` (a `ValueError`): a bad shape, value, option or configuration.
pub fn invalid(message: impl Into<String>) -> PyErr {
    exception("InvalidInputError", message)
}

/// `vae.NotFittedError`: a model asked to encode, decode or save before it was fitted or loaded.
pub fn not_fitted() -> PyErr {
    exception(
        "NotFittedError",
        "the model has not been fitted or loaded yet: call fit first",
    )
}

/// `vae.NotFoundError` (a `FileNotFoundError`).
pub fn not_found(message: impl Into<String>) -> PyErr {
    exception("NotFoundError", message)
}

fn exception(class: &str, message: impl Into<String>) -> PyErr {
    Python::attach(|py| raise(py, class, message.into()))
}

/// The exception a library error becomes.
pub fn from_vae(error: vae::Error) -> PyErr {
    use vae::Error as E;
    let message = error.to_string();
    let class = match &error {
        E::Io { cause, .. } if cause.kind() == std::io::ErrorKind::NotFound => "NotFoundError",
        E::Io { .. } | E::Download(_) => "IOError",
        E::RunLocked { .. } => "RunLockedError",
        E::NonFinite { .. } => "DivergedError",
        E::Stopped { .. } => "StoppedError",
        E::BadFile { .. } | E::Checkpoint { .. } | E::Image(_) => "BadFileError",
        _ => "InvalidInputError",
    };
    Python::attach(|py| raise(py, class, message))
}

/// `?` on a library result inside a Python call.
pub trait IntoPy<T> {
    /// The result with its error as a Python exception.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for vae::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(from_vae)
    }
}
