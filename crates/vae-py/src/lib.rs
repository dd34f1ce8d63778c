//! `vae._vae`: the compiled core of the `vae` Python package. The Python side (`python/vae`)
//! checks and converts what users hand it, draws the progress bar and holds the docstrings; this
//! crate trains and runs models through the `vae` library, with the GIL released while it works.

mod arrays;
mod core;
mod datasets;
mod errors;
mod observer;
mod options;
mod provenance;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _vae(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<core::Core>()?;
    m.add_function(wrap_pyfunction!(datasets::load_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(datasets::binarize, m)?)?;
    m.add_function(wrap_pyfunction!(provenance::provenance, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
