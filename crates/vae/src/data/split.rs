//! One split (train or test) of an image data set, kept as bytes.

use super::idx::IdxArray;
use crate::config::ImageShape;
use crate::error::{Error, Result};
use crate::kernels::convert::append_binarized;
use crate::kernels::rng::Rng;
use std::path::Path;

/// One split (train or test) of an image data set: its images as bytes, with a label each.
#[derive(Clone, Debug)]
pub struct Split {
    /// Every image's shape.
    pub shape: ImageShape,
    /// `[len, height, width, channels]`, one byte per value.
    pub images: Vec<u8>,
    /// A label per image.
    pub labels: Vec<u8>,
    /// Binary attributes, `[len, attributes]` of 0 or 1 (a folder's `attributes.csv`); empty
    /// when the data set has none.
    pub attributes: Vec<u8>,
}

impl Split {
    /// Pairs an image array (`[n, h, w]` or `[n, h, w, c]`) with its label array (`[n]`).
    pub fn from_idx(
        images: IdxArray,
        labels: IdxArray,
        image_path: &Path,
        label_path: &Path,
    ) -> Result<Self> {
        let shape = match images.dims[..] {
            [_, height, width] => ImageShape {
                height,
                width,
                channels: 1,
            },
            [_, height, width, channels] => ImageShape {
                height,
                width,
                channels,
            },
            _ => {
                return Err(Error::bad_file(
                    image_path,
                    format!(
                        "images must be [n, height, width(, channels)], got dimensions {:?}",
                        images.dims
                    ),
                ))
            }
        };
        if shape.is_empty() {
            return Err(Error::bad_file(
                image_path,
                format!("images have no pixels: {shape}"),
            ));
        }
        if labels.dims.len() != 1 {
            return Err(Error::bad_file(
                label_path,
                format!(
                    "labels must be one-dimensional, got dimensions {:?}",
                    labels.dims
                ),
            ));
        }
        if labels.dims[0] != images.dims[0] {
            return Err(Error::bad_file(
                label_path,
                format!(
                    "{} labels for {} images in {}",
                    labels.dims[0],
                    images.dims[0],
                    image_path.display()
                ),
            ));
        }
        Ok(Split {
            shape,
            images: images.data,
            labels: labels.data,
            attributes: Vec::new(),
        })
    }

    /// A split from images given as floats in [0, 1], `[n, height, width, channels]` row-major,
    /// with a label per image (or none: `labels` empty). Like every data set the toolkit reads,
    /// they are kept as bytes: each value is rounded to the nearest of 256 levels. A value
    /// outside [0, 1], a NaN, or a length that is not a whole number of images is refused.
    pub fn from_floats(shape: ImageShape, images: &[f32], labels: &[u8]) -> Result<Self> {
        let per_image = shape.len();
        if per_image == 0 || !images.len().is_multiple_of(per_image) {
            return Err(Error::InvalidArgument(format!(
                "{} values are not a whole number of {shape} images",
                images.len()
            )));
        }
        let n = images.len() / per_image;
        if !labels.is_empty() && labels.len() != n {
            return Err(Error::InvalidArgument(format!(
                "{} labels for {n} images",
                labels.len()
            )));
        }
        if let Some(bad) = images.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(Error::InvalidArgument(format!(
                "image values must lie in [0, 1]; found {bad:?}"
            )));
        }
        let bytes = crate::kernels::convert::quantize_unit(images);
        Ok(Split {
            shape,
            images: bytes,
            labels: if labels.is_empty() {
                vec![0; n]
            } else {
                labels.to_vec()
            },
            attributes: Vec::new(),
        })
    }

    /// How many images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Binary attributes per image (0 when the data set has none).
    pub fn attribute_count(&self) -> usize {
        self.attributes.len() / self.len().max(1)
    }

    /// The attributes of image `index`, 0 or 1 each (empty when there are none).
    pub fn attributes_of(&self, index: usize) -> &[u8] {
        let n = self.attribute_count();
        &self.attributes[index * n..(index + 1) * n]
    }

    /// The bytes of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        let n = self.shape.len();
        &self.images[index * n..(index + 1) * n]
    }

    /// A copy with every pixel replaced by one Bernoulli draw (0 or 255) with probability
    /// pixel / 255.
    pub fn binarized(&self, rng: &mut Rng) -> Split {
        let thresholds = bernoulli_thresholds();
        let mut images = Vec::with_capacity(self.images.len());
        append_binarized(&self.images, &thresholds, rng, (255, 0), &mut images);
        Split {
            shape: self.shape,
            images,
            labels: self.labels.clone(),
            attributes: self.attributes.clone(),
        }
    }

    /// The first `n` images (for quick runs and tests).
    pub fn truncated(&self, n: usize) -> Split {
        let n = n.min(self.len());
        let width = self.attribute_count();
        Split {
            shape: self.shape,
            images: self.images[..n * self.shape.len()].to_vec(),
            labels: self.labels[..n].to_vec(),
            attributes: self.attributes[..n * width].to_vec(),
        }
    }
}

/// `threshold[v] = round(v / 255 · 2^24)`: a uniform 24-bit draw below it has probability v / 255.
pub(crate) fn bernoulli_thresholds() -> [u32; 256] {
    let mut t = [0u32; 256];
    for (v, slot) in t.iter_mut().enumerate() {
        *slot = ((v as f64 / 255.0) * (1u64 << 24) as f64).round() as u32;
    }
    t
}
