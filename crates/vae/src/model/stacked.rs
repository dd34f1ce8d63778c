//! M1 + M2 of Kingma, Rezende, Mohamed & Welling 2014 (Sec. 3.2): a VAE, M1, trained on the
//! images without labels, and an M2 trained on M1's codes z1 instead of pixels. M2's classifier
//! reads the code of an image; what M2 draws is a code, which M1's decoder turns into an image.
//!
//! M2 reads only the code dimensions M1 uses (`config::Features::active`); the others are set to
//! their training-set mean (`fill`) before M1's decoder.

use super::workspace::{ImageScore, VaeWorkspace};
use super::{Generative, Trainable, Vae, M2};
use crate::batch::Batch;
use crate::config::{Features, ModelConfig};
use crate::data::codes::Codes;
use crate::data::{BatchLoader, Split};
use crate::error::{Error, Result};
use crate::kernels::rng::Rng;
use crate::kernels::rows::{scatter_columns, select_columns};
use crate::loss_terms::LossTerms;
use crate::nn::Parameters;
use crate::scalar::Scalar;

/// Images per batch when encoding a whole split with M1.
const ENCODE_BATCH: usize = 500;

/// M1 + M2 (Kingma et al. 2014): M2 trained on the codes of a VAE, M1, reading and drawing images
/// through both.
#[derive(Clone, Debug)]
pub struct Stacked<T> {
    /// The unconditional VAE whose codes M2 reads.
    pub(crate) m1: Vae<T>,
    /// M2 on the selected codes.
    pub(crate) m2: M2<T>,
    /// M2's configuration with M1's image shape: the model as commands see it, reading and
    /// drawing images.
    config: ModelConfig,
    features: Features,
}

impl<T: Scalar> Stacked<T> {
    /// Pairs M2 with the M1 its configuration's `features` name; the shapes must agree.
    pub fn new(m1: Vae<T>, m2: M2<T>) -> Result<Self> {
        let features =
            m2.vae.config.features.clone().ok_or_else(|| {
                Error::Config("this M2 reads pixels, not the codes of an M1".into())
            })?;
        let c = &m1.config;
        if c.classes != 0 || c.top.is_some() || c.kind != crate::config::ModelKind::Vae {
            return Err(Error::Config(format!(
                "M1 must be an unconditional one-layer VAE, not a {}",
                c.kind_name()
            )));
        }
        if c.latent != features.latent || c.image != features.image {
            return Err(Error::Config(format!(
                "M1 has latent {} on {} images; M2 was trained on the codes of latent {} on {} images",
                c.latent, c.image, features.latent, features.image
            )));
        }
        let mut config = m2.vae.config.clone();
        config.image = features.image;
        Ok(Stacked {
            m1,
            m2,
            config,
            features,
        })
    }

    /// The model as commands see it: M2's configuration with M1's image shape.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// M1, the VAE whose codes M2 reads.
    pub fn m1(&self) -> &Vae<T> {
        &self.m1
    }

    /// M2, on M1's codes.
    pub fn m2(&self) -> &M2<T> {
        &self.m2
    }

    /// M1 and M2, apart.
    pub fn into_parts(self) -> (Vae<T>, M2<T>) {
        (self.m1, self.m2)
    }

    /// The same model in another precision.
    pub fn cast<U: Scalar>(&self) -> Stacked<U> {
        Stacked {
            m1: self.m1.cast(),
            m2: self.m2.cast(),
            config: self.config.clone(),
            features: self.features.clone(),
        }
    }

    /// Floating-point operations of one image's forward pass through both encoders.
    pub fn forward_flops_per_image(&self) -> f64 {
        2.0 * self.m1.encoder.network().macs_per_row() as f64 + self.m2.forward_flops_per_image()
    }

    /// The means of q(z1 | x) over the selected dimensions, `[rows, active]` into `out`.
    pub fn codes(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mut means = Vec::new();
        self.m1.encode_means(ws, x, &[], rows, &mut means)?;
        select_columns(&means, self.m1.latent(), &self.features.active, out);
        Ok(())
    }

    /// Images from selected codes `[rows, active]`: the other dimensions filled, then M1's
    /// decoder.
    fn decode_codes(
        &self,
        ws: &mut VaeWorkspace<T>,
        codes: &[T],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let f = &self.features;
        let fill: Vec<T> = f.fill.iter().map(|&v| T::of(v)).collect();
        let mut full = Vec::with_capacity(rows * f.latent);
        scatter_columns(codes, &f.active, &fill, &mut full);
        self.m1.decode(ws, &full, &[], rows, out)
    }

    /// M2's prediction argmax_y q(y | z1) from the code means of each image.
    pub fn classify(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let mut codes = Vec::new();
        self.codes(ws, x, rows, &mut codes)?;
        self.m2.classify(ws, &codes, rows, out)
    }

    /// log p(z1 | y) of one image's code means for every class.
    pub fn class_log_likelihoods(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let mut codes = Vec::new();
        self.codes(ws, x, 1, &mut codes)?;
        self.m2.vae.class_log_likelihoods(ws, &codes, k, rng, out)
    }
}

impl<T: Scalar> Trainable<T> for Stacked<T> {
    type Workspace = VaeWorkspace<T>;

    fn parameters(&self) -> &Parameters<T> {
        &self.m2.vae.params
    }

    fn parameters_mut(&mut self) -> &mut Parameters<T> {
        &mut self.m2.vae.params
    }

    /// M2's held-out terms on the images' code means (nats of codes), and its test errors.
    fn held_out_loss(
        &self,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let mut codes = Vec::new();
        self.codes(ws, batch.x, batch.rows, &mut codes)?;
        let codes = Batch::new(&codes, batch.labels, batch.rows);
        self.m2.held_out_loss(ws, &codes, samples, rng)
    }
}

/// q(z1 | x) of every image of `split` under M1 (grey levels in [0, 1]), all dimensions; read as
/// means until `TrainingData::with_codes` makes them the training draws.
pub fn encode_split(m1: &Vae<f32>, split: &Split) -> Result<Codes> {
    let latent = m1.latent();
    let mut codes = Codes {
        dims: latent,
        posterior: Vec::with_capacity(split.len() * 2 * latent),
        labels: split.labels.clone(),
        sampled: false,
    };
    let (mut loader, mut ws, mut q) = (BatchLoader::default(), VaeWorkspace::default(), Vec::new());
    let indices: Vec<usize> = (0..split.len()).collect();
    for chunk in indices.chunks(ENCODE_BATCH) {
        let batch = loader.load(split, chunk, None);
        m1.encode(&mut ws, batch.x, &[], batch.rows, &mut q)?;
        codes.posterior.extend_from_slice(&q);
    }
    Ok(codes)
}

/// The dimensions whose posterior mean varies across `codes` with a standard deviation above
/// `threshold`, and every dimension's mean of the posterior means (in f64, row order).
pub fn active_dimensions(codes: &Codes, threshold: f64) -> (Vec<usize>, Vec<f64>) {
    let (n, dims) = (codes.len().max(1) as f64, codes.dims);
    let mut sum = vec![0.0f64; dims];
    for row in codes.means() {
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += v as f64;
        }
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let mut squares = vec![0.0f64; dims];
    for row in codes.means() {
        for ((s, &v), m) in squares.iter_mut().zip(row).zip(&mean) {
            *s += (v as f64 - m).powi(2);
        }
    }
    let active = (0..dims)
        .filter(|&d| (squares[d] / n).sqrt() > threshold)
        .collect();
    (active, mean)
}

/// `codes` keeping the dimensions `active` only (of the means and of the log-variances).
pub fn select_dimensions(codes: &Codes, active: &[usize]) -> Codes {
    let both: Vec<usize> = active
        .iter()
        .copied()
        .chain(active.iter().map(|&d| d + codes.dims))
        .collect();
    let mut posterior = Vec::with_capacity(codes.len() * both.len());
    select_columns(&codes.posterior, 2 * codes.dims, &both, &mut posterior);
    Codes {
        dims: active.len(),
        posterior,
        labels: codes.labels.clone(),
        sampled: codes.sampled,
    }
}

impl<T: Scalar> Generative<T> for Stacked<T> {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// q(z2 | z1, y) of each image's code means: `[rows, 2 latent]`.
    fn encode(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mut codes = Vec::new();
        self.codes(ws, x, rows, &mut codes)?;
        self.m2.vae.encode(ws, &codes, labels, rows, out)
    }

    /// The means of q(z | x, y) for images `x`, through M1's codes: `[rows, latent]` into `out`.
    fn encode_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mut codes = Vec::new();
        self.codes(ws, x, rows, &mut codes)?;
        self.m2.vae.encode_means(ws, &codes, labels, rows, out)
    }

    /// Images through both decoders: M2's p(z1 | y, z2) gives a code (its mean), M1's p(x | z1)
    /// the image.
    fn decode(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mut codes = Vec::new();
        self.m2.vae.decode(ws, z, labels, rows, &mut codes)?;
        self.decode_codes(ws, &codes, rows, out)
    }

    /// M2's score of each image's code means: the bound and log-likelihood are of the codes
    /// (nats of M1's latent space), not of the images.
    #[allow(clippy::too_many_arguments)]
    #[allow(clippy::too_many_arguments)]
    fn score(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        let mut codes = Vec::new();
        self.codes(ws, x, rows, &mut codes)?;
        self.m2.score(ws, &codes, labels, rows, k, rng, out)
    }
}
