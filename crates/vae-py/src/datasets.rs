//! `vae.datasets`: a named data set (fetched and checked as the command line fetches it), an IDX
//! directory or a folder of images, as numpy arrays of grey levels in [0, 1].

use crate::arrays::{array, image_dims};
use crate::errors::IntoPy;
use numpy::{PyArray1, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use vae::data::folder::FolderOptions;
use vae::data::Split;
use vae::kernels::convert::append_grey_levels;
use vae::kernels::rng::{stream, Purpose};

/// The data set `spec` names (`mnist`, `fashion-mnist`, `frey`, `idx:DIR`, `folder:DIR`), its
/// splits as arrays; `say` is given each line of a download.
#[pyfunction]
#[pyo3(signature = (spec, data_dir=None, channels=1, height=28, width=28, split_seed=0, say=None))]
#[allow(clippy::too_many_arguments)]
pub fn load_dataset<'py>(
    py: Python<'py>,
    spec: String,
    data_dir: Option<PathBuf>,
    channels: usize,
    height: usize,
    width: usize,
    split_seed: u64,
    say: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let folder = FolderOptions {
        channels,
        height,
        width,
        split_seed,
    };
    let mut lines = Vec::new();
    let (dataset, report) = py
        .detach(|| {
            vae::data::obtain(&spec, data_dir.as_deref(), &folder, &mut |line| {
                lines.push(line.to_string())
            })
        })
        .py()?;
    if let Some(say) = &say {
        for line in &lines {
            say.call1(py, (line.as_str(),))?;
        }
        if let Some(report) = &report {
            for (path, why) in &report.skipped {
                say.call1(py, (format!("skipped {}: {why}", path.display()),))?;
            }
        }
    }
    let d = PyDict::new(py);
    for (name, split) in [("train", &dataset.train), ("test", &dataset.test)] {
        d.set_item(format!("{name}_images"), images(py, split)?)?;
        d.set_item(
            format!("{name}_labels"),
            PyArray1::from_slice(py, &split.labels),
        )?;
    }
    d.set_item("class_names", dataset.class_names.clone())?;
    d.set_item("name", spec)?;
    Ok(d)
}

fn images<'py>(py: Python<'py>, split: &Split) -> PyResult<Bound<'py, PyAny>> {
    let mut values = Vec::new();
    values.try_reserve_exact(split.images.len()).map_err(|_| {
        crate::errors::invalid(format!(
            "{} images do not fit in memory as floats",
            split.len()
        ))
    })?;
    append_grey_levels(&split.images, &mut values);
    array(py, values, &image_dims(split.len(), split.shape))
}

/// `images` binarized as the command line binarizes a test split: each value becomes 1 with its
/// grey level's probability, from the stream `seed` names (0 is what `vae eval` and the
/// held-out numbers of training score).
#[pyfunction]
#[pyo3(signature = (images, seed=0))]
pub fn binarize<'py>(
    py: Python<'py>,
    images: PyReadonlyArrayDyn<'py, f32>,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let x = crate::arrays::images(&images, "images")?;
    let split = Split::from_floats(x.shape, x.values, &[]).py()?;
    let binary = split.binarized(&mut stream(seed, Purpose::TestBinarize, &[]));
    let mut values = Vec::with_capacity(binary.images.len());
    append_grey_levels(&binary.images, &mut values);
    array(py, values, images.shape())
}
