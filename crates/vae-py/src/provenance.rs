//! The provenance every record names, from the library's `vae::machine`.

use pyo3::prelude::*;

/// Where and with what a number is measured, as every record of the toolkit names it: CPU, logical
/// CPUs, `threads`, date, version and commit (JSON text).
#[pyfunction]
pub fn provenance(threads: usize) -> PyResult<String> {
    serde_json::to_string(&vae::machine::Provenance::now(threads))
        .map_err(|e| crate::errors::invalid(e.to_string()))
}
