//! Minibatches: bytes to floats in [0, 1], one batch at a time, with optional dynamic binarization.

use super::codes::Codes;
use super::split::{bernoulli_thresholds, Split};
use crate::batch::Batch;
use crate::kernels::convert::{append_grey_levels, binarize_into};
use crate::kernels::gaussian::{means_into, rsample};
use crate::kernels::rng::{fill_standard_normal, Rng};

/// Reused buffers that turn a list of image indices into a `Batch`.
#[derive(Clone, Debug)]
pub struct BatchLoader {
    x: Vec<f32>,
    labels: Vec<u8>,
    attributes: Vec<u8>,
    thresholds: [u32; 256],
    /// Codes: the rows' posteriors and the noise of a draw.
    posterior: Vec<f32>,
    noise: Vec<f32>,
}

impl Default for BatchLoader {
    fn default() -> Self {
        BatchLoader {
            x: Vec::new(),
            labels: Vec::new(),
            attributes: Vec::new(),
            thresholds: bernoulli_thresholds(),
            posterior: Vec::new(),
            noise: Vec::new(),
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
        self.labels.clear();
        match binarize {
            None => {
                self.x.clear();
                for &i in indices {
                    append_grey_levels(split.image(i), &mut self.x);
                }
            }
            Some(rng) => {
                // Every value is overwritten, so the buffer only grows (and is filled) once.
                self.x.resize(indices.len() * pixels, 0.0);
                for (&i, out) in indices.iter().zip(self.x.chunks_exact_mut(pixels.max(1))) {
                    binarize_into(split.image(i), &self.thresholds, rng, (1.0, 0.0), out);
                }
            }
        }
        self.labels.extend(indices.iter().map(|&i| split.labels[i]));
        self.attributes.clear();
        for &i in indices {
            self.attributes.extend_from_slice(split.attributes_of(i));
        }
        debug_assert_eq!(self.x.len(), indices.len() * pixels);
        Batch {
            attributes: &self.attributes,
            ..Batch::new(&self.x, &self.labels, indices.len())
        }
    }

    /// The codes `indices` of `codes`: a draw from each posterior with `rng` when the codes are
    /// sampled ones, else the means.
    pub fn load_codes<'a>(
        &'a mut self,
        codes: &Codes,
        indices: &[usize],
        rng: Option<&mut Rng>,
    ) -> Batch<'a, f32> {
        let dims = codes.dims;
        self.posterior.clear();
        for &i in indices {
            self.posterior.extend_from_slice(codes.row(i));
        }
        self.x.clear();
        self.x.resize(indices.len() * dims, 0.0);
        match rng {
            Some(rng) if codes.sampled => {
                self.noise.resize(indices.len() * dims, 0.0);
                fill_standard_normal(rng, &mut self.noise);
                rsample(&self.posterior, dims, &self.noise, &mut self.x);
            }
            _ => means_into(&self.posterior, dims, &mut self.x),
        }
        self.labels.clear();
        self.labels.extend(indices.iter().map(|&i| codes.labels[i]));
        Batch::new(&self.x, &self.labels, indices.len())
    }
}
