//! The charts' functions in a build without the `charts` feature: each says so.

use super::BoundCurve;
use crate::error::{Error, Result};
use crate::metrics::EpochMetrics;
use image::RgbImage;

fn no_charts() -> Error {
    Error::Image(
        "this build of vae draws no charts (it was built without the `charts` feature)".into(),
    )
}

/// See the `charts` feature's `curves`.
pub fn curves(_metrics: &[EpochMetrics]) -> Result<RgbImage> {
    Err(no_charts())
}

/// See the `charts` feature's `bound_by_samples`.
pub fn bound_by_samples(_curves: &[BoundCurve], _title: &str) -> Result<RgbImage> {
    Err(no_charts())
}

/// See the `charts` feature's `scatter`.
pub fn scatter(
    _points: &[[f32; 2]],
    _labels: &[u8],
    _class_names: &[String],
    _title: &str,
    _axes: (&str, &str),
) -> Result<RgbImage> {
    Err(no_charts())
}

/// See the `charts` feature's `kl_per_dimension`.
pub fn kl_per_dimension(_kl: &[f64], _active: &[bool], _title: &str) -> Result<RgbImage> {
    Err(no_charts())
}
