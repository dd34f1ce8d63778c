//! The variational autoencoder of Kingma & Welling 2013: Gaussian encoder, reparameterized
//! sampling, decoder likelihood and analytic KL, with the gradient of the negative ELBO computed
//! layer by layer. With `classes > 0` it is the conditional VAE (Sohn et al. 2015; Doersch 2016,
//! Sec. 4): encoder q(z | x, y) and decoder p(x | z, y) both read the one-hot label y.
//!
//! Its relatives share these networks: the plain autoencoder (`ModelKind::Ae`, a deterministic
//! code and the reconstruction loss only) and M2 (`ModelKind::M2`, a conditional VAE with a
//! classifier q(y | x); its objective is in `semi_supervised.rs`).

use super::{Classifier, Decoder, Encoder};
use crate::batch::Batch;
use crate::config::{ModelConfig, ModelKind};
use crate::error::{Error, Result};
use crate::gaussian::{standard_normal_log_prob, DiagonalGaussian};
use crate::kernels::rng::{fill_standard_normal, stream, Purpose, Rng};
use crate::likelihood::Likelihood;
use crate::nn::{NetworkBuffers, ParamBuilder, Parameters};
use crate::objective::{importance_weighted_log_likelihood, LossTerms, Trainable};
use crate::scalar::Scalar;

/// Decoder rows per product when scoring with many importance samples.
pub const SCORE_ROWS: usize = 2048;

#[derive(Clone, Debug)]
pub struct Vae<T> {
    pub(crate) config: ModelConfig,
    pub(crate) params: Parameters<T>,
    pub(crate) encoder: Encoder,
    pub(crate) decoder: Decoder,
    /// M2's q(y | x).
    pub(crate) classifier: Option<Classifier>,
}

/// Buffers for one batch size, reused from step to step.
#[derive(Clone, Debug, Default)]
pub struct VaeWorkspace<T> {
    pub(crate) encoder: NetworkBuffers<T>,
    pub(crate) decoder: NetworkBuffers<T>,
    /// `[x | one-hot y]` and `[z | one-hot y]` for conditional models.
    pub(crate) encoder_input: Vec<T>,
    pub(crate) decoder_input: Vec<T>,
    /// `[samples * rows, latent]`, sample-major.
    pub(crate) eps: Vec<T>,
    pub(crate) z: Vec<T>,
    /// Per sample row: −log p(x | z), log p(z), log q(z | x).
    pub(crate) nll: Vec<T>,
    pub(crate) log_prior: Vec<T>,
    pub(crate) log_posterior: Vec<T>,
    /// Per image: the analytic KL.
    pub(crate) kl: Vec<T>,
    pub(crate) d_logits: Vec<T>,
    pub(crate) d_decoder_input: Vec<T>,
    pub(crate) d_z: Vec<T>,
    pub(crate) d_posterior: Vec<T>,
    pub(crate) log_weights: Vec<T>,
    pub(crate) means: Vec<T>,
    /// Per row of the latest ELBO: −E_q[log p(x | z)] + KL, unweighted.
    pub(crate) row_loss: Vec<T>,
    /// The autoencoder's code as a point mass: `[code | −∞]` per row.
    pub(crate) point_mass: Vec<T>,
    /// M2: the classifier's buffers, log q(y | x), its logits' gradient, and the batch with every
    /// unlabelled image repeated once per class, with its labels and weights q(y | x).
    pub(crate) classifier: NetworkBuffers<T>,
    pub(crate) log_probs: Vec<T>,
    pub(crate) d_class_logits: Vec<T>,
    pub(crate) expanded_x: Vec<T>,
    pub(crate) expanded_labels: Vec<u8>,
    pub(crate) row_weights: Vec<T>,
    /// Which of the batch's images each expanded row repeats.
    pub(crate) image_of_row: Vec<usize>,
}

/// Per-image evaluation numbers, in nats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImageScore {
    /// −E_q[log p(x | z)], averaged over the K samples.
    pub reconstruction: f64,
    pub kl: f64,
    /// The importance-weighted estimate of log p(x) (log p(x | y) for a conditional model).
    pub log_likelihood: f64,
}

/// `x` (`rows x width`) with the one-hot code of each row's label appended; row `r` takes
/// `labels[r % labels.len()]`, so the S samples of an image share its label. Returns `x` itself
/// when there are no classes.
pub(crate) fn with_one_hot<'a, T: Scalar>(
    x: &'a [T],
    width: usize,
    labels: &[u8],
    classes: usize,
    buffer: &'a mut Vec<T>,
) -> &'a [T] {
    if classes == 0 {
        return x;
    }
    buffer.clear();
    for (r, row) in x.chunks_exact(width).enumerate() {
        buffer.extend_from_slice(row);
        let label = labels[r % labels.len()] as usize;
        buffer.extend((0..classes).map(|c| if c == label { T::one() } else { T::zero() }));
    }
    buffer
}

impl<T: Scalar> Vae<T> {
    /// A freshly initialised model; weights are drawn from the stream `(seed, Init)`.
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let mut params = Parameters::default();
        let mut rng = stream(seed, Purpose::Init, &[]);
        let mut b = ParamBuilder::new(&mut params, &mut rng);
        let pixels = config.image.len();
        let classes = config.classes;
        let encoder = Encoder::new(
            &mut b.pp("encoder"),
            config.encoder_input(),
            &config.encoder,
            config.latent,
            config.kind != ModelKind::Ae,
        )?;
        let decoder = Decoder::new(
            &mut b.pp("decoder"),
            config.decoder_input(),
            &config.decoder,
            pixels,
            |b| {
                Likelihood::new(
                    b,
                    config.likelihood,
                    config.gaussian_variance,
                    pixels,
                    config.min_log_var,
                )
            },
        )?;
        let classifier = match (&config.classifier, config.kind) {
            (Some(layers), ModelKind::M2) => Some(Classifier::new(
                &mut b.pp("classifier"),
                pixels,
                layers,
                classes,
            )?),
            _ => None,
        };
        Ok(Vae {
            config: config.clone(),
            params,
            encoder,
            decoder,
            classifier,
        })
    }

    /// The model described by `config` with the given weights (from a checkpoint).
    pub fn from_parameters(config: &ModelConfig, params: Parameters<T>) -> Result<Self> {
        let mut model = Vae::new(config, 0)?;
        if params.entries() != model.params.entries() {
            return Err(Error::Config(
                "weights do not match the architecture in the configuration".into(),
            ));
        }
        model.params = params;
        Ok(model)
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn latent(&self) -> usize {
        self.config.latent
    }

    pub fn pixels(&self) -> usize {
        self.config.image.len()
    }

    /// Label classes the model is conditioned on; 0 for an unconditional VAE.
    pub fn classes(&self) -> usize {
        self.config.classes
    }

    pub fn kind(&self) -> ModelKind {
        self.config.kind
    }

    /// Floating-point operations of one image's forward pass through the products of encoder and
    /// decoder (2 per multiply-add): the unit the benchmarks count in.
    pub fn forward_flops_per_image(&self) -> f64 {
        let macs = self.encoder.network().macs_per_row() + self.decoder.network().macs_per_row();
        2.0 * macs as f64
    }

    /// The same model in another precision.
    pub fn cast<U: Scalar>(&self) -> Vae<U> {
        Vae {
            config: self.config.clone(),
            params: self.params.cast(),
            encoder: self.encoder.clone(),
            decoder: self.decoder.clone(),
            classifier: self.classifier.clone(),
        }
    }

    pub(crate) fn check_batch(&self, x: &[T], labels: &[u8], rows: usize) -> Result<()> {
        self.check_images(x, rows)?;
        self.check_labels(labels, rows)
    }

    /// `x` must hold `rows` images of the model's shape.
    pub(crate) fn check_images(&self, x: &[T], rows: usize) -> Result<()> {
        if x.len() != rows * self.pixels() {
            return Err(Error::shape(
                "batch of images",
                rows * self.pixels(),
                x.len(),
            ));
        }
        Ok(())
    }

    /// Conditional models need one label in range per row; others ignore labels.
    pub fn check_labels(&self, labels: &[u8], rows: usize) -> Result<()> {
        let classes = self.classes();
        if classes == 0 {
            return Ok(());
        }
        if labels.len() != rows {
            return Err(Error::InvalidArgument(format!(
                "a conditional model needs one label per image: {} labels for {rows} images",
                labels.len()
            )));
        }
        if let Some(bad) = labels.iter().find(|&&l| l as usize >= classes) {
            return Err(Error::InvalidArgument(format!(
                "label {bad} is out of range: the model knows {classes} classes (0..={})",
                classes - 1
            )));
        }
        Ok(())
    }

    /// Per-image ELBO terms and the importance-weighted log p(x) with `k` samples per image
    /// (log p(x | y) for a conditional VAE; M2 sums over y and ignores `labels`). The autoencoder
    /// has no likelihood: its score is the reconstruction loss, with KL 0 and log p(x) NaN.
    #[allow(clippy::too_many_arguments)]
    pub fn score(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        if k == 0 {
            return Err(Error::InvalidArgument(
                "importance samples must be at least 1".into(),
            ));
        }
        match self.kind() {
            ModelKind::Vae => {
                self.check_batch(x, labels, rows)?;
                self.score_given_labels(ws, x, labels, rows, k, rng, out)
            }
            ModelKind::Ae => self.score_reconstruction(ws, x, rows, out),
            ModelKind::M2 => self.score_marginal(ws, x, rows, k, rng, out),
        }
    }

    fn score_reconstruction(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        self.check_images(x, rows)?;
        let values = self.params.values();
        let code = self
            .encoder
            .forward_code(values, x, rows, &mut ws.encoder)?;
        self.decoder.forward(values, code, rows, &mut ws.decoder)?;
        ws.nll.resize(rows, T::zero());
        self.decoder.likelihood.nll(
            values,
            ws.decoder.output(),
            x,
            self.pixels(),
            &mut ws.nll,
            None,
        );
        out.extend(ws.nll.iter().map(|v| ImageScore {
            reconstruction: v.as_f64(),
            kl: 0.0,
            log_likelihood: f64::NAN,
        }));
        Ok(())
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
        let input = with_one_hot(x, pixels, labels, classes, encoder_input);
        let q = self.encoder.forward(values, input, rows, encoder)?;
        kl.resize(rows, T::zero());
        q.kl_to_standard_normal(kl);
        // The K samples go through the decoder in blocks of about SCORE_ROWS rows: enough for
        // efficient products, few enough that the decoder's buffers stay in cache.
        let block = (SCORE_ROWS / rows).clamp(1, k);
        log_weights.resize(rows * k, T::zero());
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
            let decoder_in = with_one_hot(z, latent, labels, classes, decoder_input);
            self.decoder.forward(values, decoder_in, n, decoder)?;
            nll.resize(n, T::zero());
            self.decoder
                .likelihood
                .nll(values, decoder.output(), x, pixels, nll, None);
            // Sample-major rows: row i is sample first + i / rows of image i % rows.
            for i in 0..n {
                let (r, s) = (i % rows, first + i / rows);
                reconstruction[r] += nll[i].as_f64();
                log_weights[r * k + s] = -nll[i] + log_prior[i] - log_posterior[i];
            }
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

    /// q(z | x) (q(z | x, y) when conditional) for `x [rows, pixels]`, held in `ws`.
    fn posterior<'w>(
        &self,
        ws: &'w mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
    ) -> Result<DiagonalGaussian<'w, T>> {
        self.check_batch(x, labels, rows)?;
        if self.kind() == ModelKind::Ae {
            // The autoencoder's code as a Gaussian of variance 0, so encoding reads alike.
            let code = self
                .encoder
                .forward_code(self.params.values(), x, rows, &mut ws.encoder)?;
            let latent = self.latent();
            ws.point_mass.clear();
            for row in code.chunks_exact(latent) {
                ws.point_mass.extend_from_slice(row);
                ws.point_mass
                    .extend(std::iter::repeat_n(T::neg_infinity(), latent));
            }
            return Ok(DiagonalGaussian::new(&ws.point_mass, latent));
        }
        let input = with_one_hot(
            x,
            self.pixels(),
            labels,
            self.classes(),
            &mut ws.encoder_input,
        );
        self.encoder
            .forward(self.params.values(), input, rows, &mut ws.encoder)
    }

    /// q(z | x) for `x [rows, pixels]`: `[rows, 2 latent]` into `out`, each row the means then the
    /// log-variances (−∞ for the autoencoder's deterministic code).
    pub fn encode(
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
    pub fn encode_means(
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
    pub fn decode(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        if z.len() != rows * self.latent() {
            return Err(Error::shape("latent batch", rows * self.latent(), z.len()));
        }
        if let Some(bad) = z.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "latent value {bad:?} is not finite"
            )));
        }
        self.check_labels(labels, rows)?;
        let input = with_one_hot(
            z,
            self.latent(),
            labels,
            self.classes(),
            &mut ws.decoder_input,
        );
        self.decoder
            .forward(self.params.values(), input, rows, &mut ws.decoder)?;
        out.resize(rows * self.pixels(), T::zero());
        self.decoder.likelihood.mean(ws.decoder.output(), out);
        Ok(())
    }

    /// `labels.len()` images (or `n` for an unconditional model, which ignores labels) decoded
    /// from prior draws z ~ N(0, I), `[n, pixels]` into `out`.
    pub fn sample(
        &self,
        ws: &mut VaeWorkspace<T>,
        n: usize,
        labels: &[u8],
        rng: &mut Rng,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mut z = vec![T::zero(); n * self.latent()];
        fill_standard_normal(rng, &mut z);
        self.decode(ws, &z, labels, n, out)
    }

    /// Reconstructions through the encoder's mean (no sampling): decode(mean of q(z | x)).
    pub fn reconstruct(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mut means = std::mem::take(&mut ws.means);
        let result = self
            .encode_means(ws, x, labels, rows, &mut means)
            .and_then(|()| self.decode(ws, &means, labels, rows, out));
        ws.means = means;
        result
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
        let mut terms = LossTerms {
            images: batch.rows,
            ..LossTerms::default()
        };
        for s in &scores {
            terms.reconstruction += s.reconstruction;
            terms.kl += s.kl;
        }
        if self.kind() == ModelKind::M2 {
            let mut predicted = Vec::with_capacity(batch.rows);
            self.classify(ws, batch.x, batch.rows, &mut predicted)?;
            terms.classified = batch.rows;
            terms.errors = predicted
                .iter()
                .zip(batch.labels)
                .filter(|(p, l)| p != l)
                .count();
        }
        Ok(terms)
    }
}
