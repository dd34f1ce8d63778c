//! The VAE with two stochastic layers of Burda, Grosse & Salakhutdinov 2015 (Sec. 5, App. C):
//!
//! ```text
//! q(z1, z2 | x) = q(z1 | x) q(z2 | z1)        p(x, z1, z2) = p(x | z1) p(z1 | z2) N(z2; 0, I)
//! ```
//!
//! every conditional a diagonal Gaussian (p(x | z1) the decoder's likelihood). An importance
//! weight is log w = log p(x | z1) + log p(z1 | z2) + log p(z2) − log q(z1 | x) − log q(z2 | z1)
//! with z1 = μ1 + σ1 ε1 and z2 = μ2(z1) + σ2(z1) ε2; the ELBO averages log w over samples and
//! the IWAE bound averages w. The gradient of −Σ_i c_i log w_i (c_i = 1/S for the ELBO, the
//! normalised weights w̃_i for the IWAE bound) flows back through all four networks.
//!
//! During KL warm-up (Sønderby et al. 2016 warm up deep VAEs against their upper layers'
//! collapse) both layers' prior and posterior terms carry the weight β: log w_β = log p(x | z1) + β (log p(z1 | z2)
//! + log p(z2) − log q(z1 | x) − log q(z2 | z1)); β = 1 is log w itself.
//!
//! Pictures work in z2, on which the prior is N(0, I): decoding z2 takes the mean of p(z1 | z2),
//! then the decoder's mean; encoding x takes the mean of q(z1 | x), then q(z2 | z1).

mod passes;

use super::parts::{check_images, check_samples, checked_samples, decode_rows, networks};
use super::vae::{MAX_LOG_WEIGHTS, SCORE_ROWS};
use super::workspace::{importance_weighted_log_likelihood, score_terms};
use super::{Decoder, Encoder, Generative, ImageScore, Trainable, VaeWorkspace};
use crate::batch::Batch;
use crate::config::{ModelConfig, ModelKind, TopLayer};
use crate::error::{Error, Result};
use crate::gaussian::DiagonalGaussian;
use crate::kernels::rng::{stream, Purpose, Rng};
use crate::loss_terms::LossTerms;
use crate::nn::Parameters;
use crate::scalar::Scalar;

/// The VAE with two stochastic layers (Burda et al. 2015, Sec. 5): q(z1 | x), q(z2 | z1), p(z1 |
/// z2) and p(x | z1), with the prior N(0, I) on z2.
#[derive(Clone, Debug)]
pub struct Hvae<T> {
    pub(crate) config: ModelConfig,
    pub(crate) params: Parameters<T>,
    /// q(z1 | x), p(x | z1).
    pub(crate) encoder: Encoder,
    pub(crate) decoder: Decoder,
    /// q(z2 | z1), p(z1 | z2).
    pub(crate) top_encoder: Encoder,
    pub(crate) top_prior: Encoder,
}

impl<T: Scalar> Hvae<T> {
    /// A freshly initialised two-layer VAE; weights drawn from the stream `(seed, Init)`:
    /// encoder and decoder as a VAE's, then `top.encoder` and `top.prior`.
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let top = Self::top_of(config)?;
        if config.kind != ModelKind::Vae {
            return Err(Error::Config(format!(
                "a {:?} model has no second stochastic layer",
                config.kind
            )));
        }
        let mut params = Parameters::default();
        let mut rng = stream(seed, Purpose::Init, &[]);
        let mut b = crate::nn::ParamBuilder::new(&mut params, &mut rng);
        let (encoder, decoder) = networks(&mut b, config)?;
        let top_encoder = Encoder::new(
            &mut b.pp("top").pp("encoder"),
            &[config.latent],
            &top.encoder,
            top.latent,
            true,
        )?;
        let top_prior = Encoder::new(
            &mut b.pp("top").pp("prior"),
            &[top.latent],
            &top.prior,
            config.latent,
            true,
        )?;
        Ok(Hvae {
            config: config.clone(),
            params,
            encoder,
            decoder,
            top_encoder,
            top_prior,
        })
    }

    fn top_of(config: &ModelConfig) -> Result<&TopLayer> {
        config.top.as_ref().ok_or_else(|| {
            Error::Config("this configuration has no second stochastic layer".into())
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// z1's size.
    pub fn lower_latent(&self) -> usize {
        self.config.latent
    }

    /// z2's size: the latent the prior N(0, I) is on, which pictures walk.
    pub fn latent(&self) -> usize {
        self.config.top.as_ref().map_or(0, |t| t.latent)
    }

    /// Values per image.
    pub fn pixels(&self) -> usize {
        self.config.image.len()
    }

    /// Floating-point operations of one image's forward pass through the products.
    pub fn forward_flops_per_image(&self) -> f64 {
        let macs = self.encoder.network().macs_per_row()
            + self.decoder.network().macs_per_row()
            + self.top_encoder.network().macs_per_row()
            + self.top_prior.network().macs_per_row();
        2.0 * macs as f64
    }

    /// The same model in another precision.
    pub fn cast<U: Scalar>(&self) -> Hvae<U> {
        Hvae {
            config: self.config.clone(),
            params: self.params.cast(),
            encoder: self.encoder.clone(),
            decoder: self.decoder.clone(),
            top_encoder: self.top_encoder.clone(),
            top_prior: self.top_prior.clone(),
        }
    }

    /// q(z1 | x) for `x [rows, pixels]`, `[rows, 2 lower_latent]` into `out`: the lower layer's
    /// posterior, whose means count its active units.
    pub fn encode_lower(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        check_images(x, rows, self.pixels())?;
        let q1 = self
            .encoder
            .forward(self.params.values(), x, rows, &mut ws.encoder)?;
        out.clear();
        out.extend_from_slice(q1.params());
        Ok(())
    }
}

impl<T: Scalar> Trainable<T> for Hvae<T> {
    type Workspace = VaeWorkspace<T>;

    fn parameters(&self) -> &Parameters<T> {
        &self.params
    }

    fn parameters_mut(&mut self) -> &mut Parameters<T> {
        &mut self.params
    }

    fn held_out_loss(
        &self,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let mut scores = Vec::with_capacity(batch.rows);
        self.score(ws, batch.x, &[], batch.rows, samples, rng, &mut scores)?;
        Ok(score_terms(&scores))
    }
}

impl<T: Scalar> Generative<T> for Hvae<T> {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn latent(&self) -> usize {
        Hvae::latent(self)
    }

    /// Per-image terms and the importance-weighted log p(x) with `k` samples per image, the
    /// samples drawn in blocks of about `SCORE_ROWS` rows.
    #[allow(clippy::too_many_arguments)]
    fn score(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        check_samples(k)?;
        check_images(x, rows, self.pixels())?;
        let mut log_weights = vec![0.0f64; checked_samples(rows, k, MAX_LOG_WEIGHTS)?];
        self.encoder
            .forward(self.params.values(), x, rows, &mut ws.encoder)?;
        let block = (SCORE_ROWS / rows.max(1)).clamp(1, k);
        let (mut reconstruction, mut kl) = (vec![0f64; rows], vec![0f64; rows]);
        for first in (0..k).step_by(block) {
            let samples = block.min(k - first);
            self.draw(ws, x, rows, samples, rng, None, false)?;
            for (i, t) in Self::terms(ws).enumerate() {
                let (r, s) = (i % rows, first + i / rows);
                reconstruction[r] += t.nll;
                kl[r] += t.log_posterior - t.log_prior;
                log_weights[r * k + s] = -t.nll + t.log_prior - t.log_posterior;
            }
        }
        for r in 0..rows {
            out.push(ImageScore {
                reconstruction: reconstruction[r] / k as f64,
                kl: kl[r] / k as f64,
                log_likelihood: importance_weighted_log_likelihood(&log_weights[r * k..][..k]),
            });
        }
        Ok(())
    }

    /// q(z2 | mean of q(z1 | x)) for `x [rows, pixels]`, `[rows, 2 latent]` into `out`.
    fn encode(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        check_images(x, rows, self.pixels())?;
        let values = self.params.values();
        let mut means = std::mem::take(&mut ws.top.means);
        means.resize(rows * self.lower_latent(), T::zero());
        self.encoder
            .forward(values, x, rows, &mut ws.encoder)?
            .means_into(&mut means);
        let q2 = self
            .top_encoder
            .forward(values, means.as_slice(), rows, &mut ws.top.encoder);
        ws.top.means = means;
        out.clear();
        out.extend_from_slice(q2?.params());
        Ok(())
    }

    /// The means of q(z2 | ·) for `x`, `[rows, latent]` into `out`.
    fn encode_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mut params = Vec::new();
        self.encode(ws, x, &[], rows, &mut params)?;
        out.resize(rows * self.latent(), T::zero());
        DiagonalGaussian::new(&params, self.latent()).means_into(out);
        Ok(())
    }

    /// Decoded images for `z2 [rows, latent]`: the decoder's mean at the mean of p(z1 | z2).
    fn decode(
        &self,
        ws: &mut VaeWorkspace<T>,
        z2: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let l2 = self.latent();
        if z2.len() != rows * l2 {
            return Err(Error::shape("latent batch", rows * l2, z2.len()));
        }
        if let Some(bad) = z2.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "latent value {bad:?} is not finite"
            )));
        }
        let values = self.params.values();
        let mut z1 = vec![T::zero(); rows * self.lower_latent()];
        self.top_prior
            .forward(values, z2, rows, &mut ws.top.prior)?
            .means_into(&mut z1);
        decode_rows(&self.decoder, &self.config, values, ws, &z1, &[], rows, out)
    }
}
