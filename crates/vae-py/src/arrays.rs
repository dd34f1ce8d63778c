//! numpy arrays in and out: images as `[n, height, width]`, `[n, height, width, channels]` or
//! `[n, values]` float32 rows, read in place (the Python side hands over C-ordered float32);
//! results as new arrays.

use crate::errors::invalid;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use vae::ImageShape;

/// Images read in place: their count, the shape of one, and the values.
pub struct Images<'a> {
    pub rows: usize,
    pub shape: ImageShape,
    pub values: &'a [f32],
}

/// The images `array` holds, `[n, h, w]`, `[n, h, w, c]` or `[n, values]` (one row of values).
pub fn images<'a>(array: &'a PyReadonlyArrayDyn<'_, f32>, what: &str) -> PyResult<Images<'a>> {
    let dims = array.shape();
    let shape = match *dims {
        [_, width] => ImageShape { height: 1, width, channels: 1 },
        [_, height, width] => ImageShape { height, width, channels: 1 },
        [_, height, width, channels] => ImageShape { height, width, channels },
        _ => {
            return Err(invalid(format!(
                "{what} must be [n, height, width], [n, height, width, channels] or [n, values]; got shape {dims:?}"
            )))
        }
    };
    let rows = dims[0];
    if rows == 0 || shape.is_empty() {
        return Err(invalid(format!("{what} is empty: shape {dims:?}")));
    }
    let values = array
        .as_slice()
        .map_err(|_| invalid(format!("{what} must be C-ordered")))?;
    Ok(Images {
        rows,
        shape,
        values,
    })
}

/// Refuses images of another size than the model's, and NaN or infinite values.
pub fn check_rows(images: &Images<'_>, model: ImageShape, what: &str) -> PyResult<()> {
    if images.shape.len() != model.len() {
        return Err(invalid(format!(
            "{what} has {} values per row; the model reads {model} images ({} values)",
            images.shape.len(),
            model.len()
        )));
    }
    finite(images.values, what)
}

/// Refuses NaN and infinite values.
pub fn finite(values: &[f32], what: &str) -> PyResult<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(invalid(format!(
            "{what} holds {} at flat index {i}",
            values[i]
        ))),
        None => Ok(()),
    }
}

/// One label per row, each below `classes`; none when the model reads no labels.
pub fn labels(
    given: Option<Vec<i64>>,
    rows: usize,
    classes: usize,
    what: &str,
) -> PyResult<Vec<u8>> {
    match (given, classes) {
        (None, 0) => Ok(Vec::new()),
        (Some(_), 0) => Err(invalid(format!("{what}: this model reads no labels"))),
        (None, _) => Err(invalid(format!(
            "{what}: this conditional model needs a label (0..{}) per row",
            classes - 1
        ))),
        (Some(labels), _) => {
            if labels.len() != rows {
                return Err(invalid(format!(
                    "{what}: {} labels for {rows} rows",
                    labels.len()
                )));
            }
            labels
                .iter()
                .map(|&l| {
                    u8::try_from(l)
                        .ok()
                        .filter(|&l| usize::from(l) < classes)
                        .ok_or_else(|| {
                            invalid(format!(
                                "{what}: label {l} is not one of the {classes} classes (0..{})",
                                classes - 1
                            ))
                        })
                })
                .collect()
        }
    }
}

/// `values` as an array of `dims`.
pub fn array<'py>(
    py: Python<'py>,
    values: Vec<f32>,
    dims: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, values)
        .reshape(dims.to_vec())?
        .into_any())
}

/// The dimensions of `rows` images of `shape`, as the caller gave its images: `[n, h, w]` for
/// one channel, `[n, h, w, c]` otherwise, `[n, w]` for one row of values.
pub fn image_dims(rows: usize, shape: ImageShape) -> Vec<usize> {
    match shape {
        ImageShape {
            height: 1,
            channels: 1,
            width,
        } => vec![rows, width],
        ImageShape {
            channels: 1,
            height,
            width,
        } => vec![rows, height, width],
        ImageShape {
            height,
            width,
            channels,
        } => vec![rows, height, width, channels],
    }
}
