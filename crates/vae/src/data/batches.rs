//! Minibatches: bytes to floats in [0, 1], one batch at a time, with optional dynamic binarization.

use super::split::{bernoulli_thresholds, Split};
use crate::batch::Batch;
use crate::kernels::convert::{append_binarized, append_grey_levels};
use crate::kernels::rng::Rng;

/// Reused buffers that turn a list of image indices into a `Batch`.
#[derive(Clone, Debug)]
pub struct BatchLoader {
    x: Vec<f32>,
    labels: Vec<u8>,
    thresholds: [u32; 256],
}

impl Default for BatchLoader {
    fn default() -> Self {
        BatchLoader {
            x: Vec::new(),
            labels: Vec::new(),
            thresholds: bernoulli_thresholds(),
        }
    }
}

impl BatchLoader {
    /// The images `indices` of `split` as grey levels v / 255, or, with `binarize`, as a fresh
    /// Bernoulli draw per pixel (Burda et al. 2015's dynamic binarization).
    pub fn load<'a>(
        &'a mut self,
        split: &Split,
        indices: &[usize],
        binarize: Option<&mut Rng>,
    ) -> Batch<'a, f32> {
        let pixels = split.shape.len();
        self.x.clear();
        self.labels.clear();
        match binarize {
            None => {
                for &i in indices {
                    append_grey_levels(split.image(i), &mut self.x);
                }
            }
            Some(rng) => {
                for &i in indices {
                    append_binarized(
                        split.image(i),
                        &self.thresholds,
                        rng,
                        (1.0, 0.0),
                        &mut self.x,
                    );
                }
            }
        }
        self.labels.extend(indices.iter().map(|&i| split.labels[i]));
        debug_assert_eq!(self.x.len(), indices.len() * pixels);
        Batch::new(&self.x, &self.labels, indices.len())
    }
}
