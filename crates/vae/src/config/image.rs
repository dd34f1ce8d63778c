//! The shape of one image, and what a network's first layer reads of it.

use crate::nn::spec::LayerSpec;
use serde::{Deserialize, Serialize};

/// Height x width x channels of one image; pixels are stored channel-last (`[h, w, c]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageShape {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Values per pixel: 1 for grey levels, 3 for RGB.
    pub channels: usize,
}

impl ImageShape {
    /// MNIST's 28 x 28 grey levels.
    pub const MNIST: ImageShape = ImageShape {
        height: 28,
        width: 28,
        channels: 1,
    };

    /// Values per image.
    pub fn len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// Whether it has no pixels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape a network whose list is `layers` reads this image as, with `classes` one-hot
    /// label values joined: a list whose first layer with weights is a convolution reads the image
    /// `[height, width, channels + classes]`, the label as constant planes (channels); any other
    /// list reads a flat row `[pixels + classes]`, the label appended.
    pub fn network_input(&self, layers: &[LayerSpec], classes: usize) -> Vec<usize> {
        if reads_image(layers) {
            vec![self.height, self.width, self.channels + classes]
        } else {
            vec![self.len() + classes]
        }
    }
}

/// Whether the first layer with weights of `layers` is a convolution.
pub fn reads_image(layers: &[LayerSpec]) -> bool {
    layers
        .iter()
        .find(|l| l.has_weights())
        .is_some_and(LayerSpec::reads_image)
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.height, self.width, self.channels)
    }
}
