//! The variational autoencoder of Kingma & Welling 2013: Gaussian encoder, reparameterized
//! sampling, decoder likelihood and analytic KL, with the gradient of the negative ELBO computed
//! layer by layer (`objective::elbo`). With `classes > 0` it is the conditional VAE (Sohn et al.
//! 2015; Doersch 2016, Sec. 4): encoder q(z | x, y) and decoder p(x | z, y) both read the one-hot
//! label y.
//!
//! Its relatives reuse its parts: the plain autoencoder (`autoencoder.rs`) builds the same
//! networks with a deterministic code, and M2 (`m2.rs`) is a conditional VAE plus a classifier.

mod passes;

pub use passes::SharedImages;

use super::parts::{
    check_images, check_labels, check_samples, checked_samples, decode_rows, forward_flops,
    networks, with_one_hot, LabelJoin,
};
use super::workspace::{importance_weighted_log_likelihood, score_terms};
pub use super::workspace::{ImageScore, VaeWorkspace};
use super::{Decoder, Encoder};
use super::{Generative, Trainable};
use crate::batch::Batch;
use crate::config::{ModelConfig, ModelKind};
use crate::error::{Error, Result};
use crate::gaussian::{standard_normal_log_prob, DiagonalGaussian};
use crate::kernels::rng::{fill_standard_normal, stream, Purpose, Rng};
use crate::kernels::rows;
use crate::loss_terms::LossTerms;
use crate::nn::{ParamBuilder, Parameters};
use crate::scalar::Scalar;

/// The most log-weights (images × importance samples) one `score` call keeps: about 1 GiB.
pub const MAX_LOG_WEIGHTS: usize = 1 << 28;

/// Decoder rows per product when scoring with many importance samples.
pub const SCORE_ROWS: usize = 2048;

/// The VAE, conditional when `config.classes > 0`.
#[derive(Clone, Debug)]
pub struct Vae<T> {
    pub(crate) config: ModelConfig,
    pub(crate) params: Parameters<T>,
    pub(crate) encoder: Encoder,
    pub(crate) decoder: Decoder,
}

impl<T: Scalar> Vae<T> {
    /// A freshly initialised VAE (conditional when `config.classes > 0`); weights are drawn from
    /// the stream `(seed, Init)`. The other kinds are built by `Model::new`.
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        if config.kind != ModelKind::Vae {
            return Err(Error::Config(format!(
                "a {:?} model is not a VAE: build it with Model::new",
                config.kind
            )));
        }
        Self::build(config, seed, |_| Ok(())).map(|(vae, ())| vae)
    }

    /// The encoder and decoder of `config`, then whatever `more` registers after them (M2's
    /// classifier), all in one parameter store initialised from `(seed, Init)`.
    pub(crate) fn build<R>(
        config: &ModelConfig,
        seed: u64,
        more: impl FnOnce(&mut ParamBuilder<'_, T>) -> Result<R>,
    ) -> Result<(Self, R)> {
        let mut params = Parameters::default();
        let mut rng = stream(seed, Purpose::Init, &[]);
        let mut b = ParamBuilder::new(&mut params, &mut rng);
        let (encoder, decoder) = networks(&mut b, config)?;
        let extra = more(&mut b)?;
        let vae = Vae {
            config: config.clone(),
            params,
            encoder,
            decoder,
        };
        Ok((vae, extra))
    }

    /// Its configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The size of z.
    pub fn latent(&self) -> usize {
        self.config.latent
    }

    /// Values per image.
    pub fn pixels(&self) -> usize {
        self.config.image.len()
    }

    /// Label classes the model is conditioned on; 0 for an unconditional VAE.
    pub fn classes(&self) -> usize {
        self.config.classes
    }

    /// Which member of the family (a VAE).
    pub fn kind(&self) -> ModelKind {
        self.config.kind
    }

    /// Floating-point operations of one image's forward pass through the products of encoder and
    /// decoder (2 per multiply-add): the unit the benchmarks count in.
    pub fn forward_flops_per_image(&self) -> f64 {
        forward_flops(&self.encoder, &self.decoder)
    }

    /// The same model in another precision.
    pub fn cast<U: Scalar>(&self) -> Vae<U> {
        Vae {
            config: self.config.clone(),
            params: self.params.cast(),
            encoder: self.encoder.clone(),
            decoder: self.decoder.clone(),
        }
    }

    pub(crate) fn check_batch(&self, x: &[T], labels: &[u8], rows: usize) -> Result<()> {
        self.check_images(x, rows)?;
        self.check_labels(labels, rows)
    }

    /// `x` must hold `rows` images of the model's shape.
    pub(crate) fn check_images(&self, x: &[T], rows: usize) -> Result<()> {
        check_images(x, rows, self.pixels())
    }

    /// Conditional models need one label in range per row; others ignore labels.
    pub fn check_labels(&self, labels: &[u8], rows: usize) -> Result<()> {
        check_labels(labels, rows, self.classes())
    }

    /// `score` for a VAE, conditional or not, given each image's label.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn score_given_labels(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        let values = self.params.values();
        let (latent, pixels, classes) = (self.latent(), self.pixels(), self.classes());
        let VaeWorkspace {
            encoder,
            decoder,
            encoder_input,
            decoder_input,
            eps,
            z,
            nll,
            log_prior,
            log_posterior,
            kl,
            log_weights,
            ..
        } = ws;
        let join = LabelJoin::encoder(&self.config);
        let input = with_one_hot(x, join, labels, classes, encoder_input);
        let q = self.encoder.forward(values, input, rows, encoder)?;
        kl.resize(rows, T::zero());
        q.kl_to_standard_normal(kl);
        // The K samples go through the decoder in blocks of about SCORE_ROWS rows: enough for
        // efficient products, few enough that the decoder's buffers stay in cache.
        let block = (SCORE_ROWS / rows).clamp(1, k);
        log_weights.resize(checked_samples(rows, k, MAX_LOG_WEIGHTS)?, T::zero());
        let mut reconstruction = vec![0f64; rows];
        for first in (0..k).step_by(block) {
            let samples = block.min(k - first);
            let n = samples * rows;
            eps.resize(n * latent, T::zero());
            fill_standard_normal(rng, eps);
            z.resize(n * latent, T::zero());
            q.rsample(eps, z);
            log_posterior.resize(n, T::zero());
            q.log_prob_of_noise(eps, log_posterior);
            log_prior.resize(n, T::zero());
            standard_normal_log_prob(z, latent, log_prior);
            let decoder_in =
                with_one_hot(z, LabelJoin::Row(latent), labels, classes, decoder_input);
            self.decoder.forward(values, decoder_in, n, decoder)?;
            nll.resize(n, T::zero());
            self.decoder
                .likelihood
                .nll(values, decoder.output(), x, pixels, nll, None);
            rows::collect_log_weights(
                nll,
                log_prior,
                log_posterior,
                first,
                k,
                &mut reconstruction,
                log_weights,
            );
        }
        for r in 0..rows {
            out.push(ImageScore {
                reconstruction: reconstruction[r] / k as f64,
                kl: kl[r].as_f64(),
                log_likelihood: importance_weighted_log_likelihood(
                    &log_weights[r * k..(r + 1) * k],
                )
                .as_f64(),
            });
        }
        Ok(())
    }

    /// log p(x | y) for every class y of a conditional VAE, each importance-sampled with `k`
    /// samples, for one image `x [pixels]`, into `out` `[classes]`: the model as a generative
    /// classifier (the likeliest y is its reading of the image).
    pub fn class_log_likelihoods(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let classes = self.classes();
        if classes == 0 {
            return Err(Error::InvalidArgument(
                "only a conditional model has a likelihood per class".into(),
            ));
        }
        self.check_images(x, 1)?;
        let repeated: Vec<T> = x.iter().copied().cycle().take(x.len() * classes).collect();
        let labels: Vec<u8> = (0..classes).map(|c| c as u8).collect();
        let mut scores = Vec::with_capacity(classes);
        self.score(ws, &repeated, &labels, classes, k, rng, &mut scores)?;
        out.clear();
        out.extend(scores.iter().map(|s| s.log_likelihood));
        Ok(())
    }

    /// q(z | x) (q(z | x, y) when conditional) for `x [rows, pixels]`, held in `ws`.
    fn posterior<'w>(
        &self,
        ws: &'w mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
    ) -> Result<DiagonalGaussian<'w, T>> {
        self.check_batch(x, labels, rows)?;
        let input = with_one_hot(
            x,
            LabelJoin::encoder(&self.config),
            labels,
            self.classes(),
            &mut ws.encoder_input,
        );
        self.encoder
            .forward(self.params.values(), input, rows, &mut ws.encoder)
    }
}

impl<T: Scalar> Trainable<T> for Vae<T> {
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
        self.score(
            ws,
            batch.x,
            batch.labels,
            batch.rows,
            samples,
            rng,
            &mut scores,
        )?;
        Ok(score_terms(&scores))
    }
}

impl<T: Scalar> Generative<T> for Vae<T> {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Per-image ELBO terms and the importance-weighted log p(x) with `k` samples per image
    /// (log p(x | y) for a conditional VAE).
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
        check_samples(k)?;
        self.check_batch(x, labels, rows)?;
        self.score_given_labels(ws, x, labels, rows, k, rng, out)
    }

    /// q(z | x) for `x [rows, pixels]`: `[rows, 2 latent]` into `out`, each row the means then the
    /// log-variances (−∞ for the autoencoder's deterministic code).
    fn encode(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let q = self.posterior(ws, x, labels, rows)?;
        out.clear();
        out.extend_from_slice(q.params());
        Ok(())
    }

    /// The encoder's means for `x [rows, pixels]` (with their labels, for a conditional model),
    /// `[rows, latent]` into `out`.
    fn encode_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let q = self.posterior(ws, x, labels, rows)?;
        out.resize(rows * self.latent(), T::zero());
        q.means_into(out);
        Ok(())
    }

    /// Decoded images (means of p(x | z, y), in [0, 1]) for `z [rows, latent]`.
    fn decode(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.check_labels(labels, rows)?;
        decode_rows(
            &self.decoder,
            self.config(),
            self.params.values(),
            ws,
            z,
            labels,
            rows,
            out,
        )
    }
}
