//! The variational autoencoder of Kingma & Welling 2013: Gaussian encoder, reparameterized
//! sampling, decoder likelihood and analytic KL, with the gradient of the negative ELBO computed
//! layer by layer.

use super::{Decoder, Encoder};
use crate::config::ModelConfig;
use crate::data::Batch;
use crate::error::{Error, Result};
use crate::gaussian::{standard_normal_log_prob, DiagonalGaussian};
use crate::kernels::rng::{fill_standard_normal, stream, Purpose, Rng};
use crate::likelihood::Likelihood;
use crate::nn::{MlpBuffers, ParamBuilder, Parameters};
use crate::objective::{importance_weighted_log_likelihood, LossTerms, Objective};
use crate::scalar::Scalar;

#[derive(Clone, Debug)]
pub struct Vae<T> {
    config: ModelConfig,
    params: Parameters<T>,
    encoder: Encoder,
    decoder: Decoder,
}

/// Buffers for one batch size, reused from step to step.
#[derive(Clone, Debug, Default)]
pub struct VaeWorkspace<T> {
    encoder: MlpBuffers<T>,
    decoder: MlpBuffers<T>,
    /// `[samples * rows, latent]`, sample-major.
    eps: Vec<T>,
    z: Vec<T>,
    /// Per sample row: −log p(x | z), log p(z), log q(z | x).
    nll: Vec<T>,
    log_prior: Vec<T>,
    log_posterior: Vec<T>,
    /// Per image: the analytic KL.
    kl: Vec<T>,
    d_logits: Vec<T>,
    d_z: Vec<T>,
    d_posterior: Vec<T>,
    log_weights: Vec<T>,
}

/// Per-image evaluation numbers, in nats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImageScore {
    /// −E_q[log p(x | z)], averaged over the K samples.
    pub reconstruction: f64,
    pub kl: f64,
    /// The importance-weighted estimate of log p(x) with K samples.
    pub log_likelihood: f64,
}

impl<T: Scalar> Vae<T> {
    /// A freshly initialised model; weights are drawn from the stream `(seed, Init)`.
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let mut params = Parameters::default();
        let mut rng = stream(seed, Purpose::Init, &[]);
        let mut b = ParamBuilder::new(&mut params, &mut rng);
        let pixels = config.image.len();
        let encoder = Encoder::new(
            &mut b.pp("encoder"),
            pixels,
            &config.hidden,
            config.latent,
            config.activation,
        );
        let decoder_hidden: Vec<usize> = config.hidden.iter().rev().copied().collect();
        let decoder = Decoder::new(
            &mut b.pp("decoder"),
            config.latent,
            &decoder_hidden,
            pixels,
            config.activation,
            |b| Likelihood::new(b, config.likelihood, pixels, config.min_log_var),
        );
        Ok(Vae {
            config: config.clone(),
            params,
            encoder,
            decoder,
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

    /// The same model in another precision.
    pub fn cast<U: Scalar>(&self) -> Vae<U> {
        Vae {
            config: self.config.clone(),
            params: self.params.cast(),
            encoder: self.encoder.clone(),
            decoder: self.decoder.clone(),
        }
    }

    fn check_batch(&self, x: &[T], rows: usize) -> Result<()> {
        if x.len() != rows * self.pixels() {
            return Err(Error::shape(
                "batch of images",
                rows * self.pixels(),
                x.len(),
            ));
        }
        Ok(())
    }

    /// The negative ELBO of `x` with `samples` latent draws per image, its gradient accumulated
    /// into the parameters' gradients. `rng` supplies ε.
    #[allow(clippy::too_many_arguments)]
    fn elbo_and_grad(
        params: &mut Parameters<T>,
        encoder: &Encoder,
        decoder: &Decoder,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let (values, grads) = params.split_mut();
        let latent = encoder.latent();
        let pixels = decoder.pixels();
        let n = samples * rows;
        encode_and_sample(encoder, values, ws, x, rows, samples, rng)?;
        decoder.forward(values, &ws.z, n, &mut ws.decoder)?;
        let logits = ws.decoder.output();
        ws.nll.resize(n, T::zero());
        // The reconstruction term is the mean over samples: each sample row carries weight 1/S.
        let scale = T::one() / T::of(samples as f64);
        let kl = ws.kl.iter().map(|v| v.as_f64()).sum();
        ws.d_logits.resize(n * pixels, T::zero());
        decoder.likelihood.nll(
            values,
            logits,
            x,
            pixels,
            &mut ws.nll,
            Some((&mut ws.d_logits, scale)),
        );
        decoder
            .likelihood
            .backward_params(values, grads, logits, x, scale);
        let reconstruction = ws.nll.iter().map(|v| v.as_f64()).sum::<f64>() / samples as f64;

        ws.d_z.resize(n * latent, T::zero());
        decoder.backward(
            values,
            grads,
            &ws.z,
            n,
            &mut ws.decoder,
            &ws.d_logits,
            &mut ws.d_z,
        )?;
        ws.d_posterior.clear();
        ws.d_posterior.resize(rows * 2 * latent, T::zero());
        let q = DiagonalGaussian::new(ws.encoder.output(), latent);
        q.backward_rsample(&ws.eps, &ws.d_z, &mut ws.d_posterior);
        q.backward_kl(T::one(), &mut ws.d_posterior);
        encoder.backward(values, grads, x, rows, &mut ws.encoder, &ws.d_posterior)?;
        Ok(LossTerms {
            images: rows,
            reconstruction,
            kl,
        })
    }

    /// Per-image ELBO terms and the importance-weighted log p(x) with `k` samples per image,
    /// all `k · rows` samples decoded as one product.
    pub fn score(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        self.check_batch(x, rows)?;
        if k == 0 {
            return Err(Error::InvalidArgument(
                "importance samples must be at least 1".into(),
            ));
        }
        let values = self.params.values();
        let latent = self.latent();
        let pixels = self.pixels();
        let n = k * rows;
        encode_and_sample(&self.encoder, values, ws, x, rows, k, rng)?;
        let q = DiagonalGaussian::new(ws.encoder.output(), latent);
        ws.log_posterior.resize(n, T::zero());
        q.log_prob_of_noise(&ws.eps, &mut ws.log_posterior);
        ws.log_prior.resize(n, T::zero());
        standard_normal_log_prob(&ws.z, latent, &mut ws.log_prior);

        self.decoder.forward(values, &ws.z, n, &mut ws.decoder)?;
        ws.nll.resize(n, T::zero());
        let logits = ws.decoder.output();
        self.decoder
            .likelihood
            .nll(values, logits, x, pixels, &mut ws.nll, None);

        ws.log_weights.resize(k, T::zero());
        for r in 0..rows {
            let mut reconstruction = 0.0;
            for s in 0..k {
                let i = s * rows + r;
                reconstruction += ws.nll[i].as_f64();
                ws.log_weights[s] = -ws.nll[i] + ws.log_prior[i] - ws.log_posterior[i];
            }
            out.push(ImageScore {
                reconstruction: reconstruction / k as f64,
                kl: ws.kl[r].as_f64(),
                log_likelihood: importance_weighted_log_likelihood(&ws.log_weights).as_f64(),
            });
        }
        Ok(())
    }

    /// The encoder's means for `x [rows, pixels]`, `[rows, latent]` into `out`.
    pub fn encode_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.check_batch(x, rows)?;
        let q = self
            .encoder
            .forward(self.params.values(), x, rows, &mut ws.encoder)?;
        out.resize(rows * self.latent(), T::zero());
        q.means_into(out);
        Ok(())
    }

    /// Decoded images (means of p(x | z), in [0, 1]) for `z [rows, latent]`.
    pub fn decode(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
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
        self.decoder
            .forward(self.params.values(), z, rows, &mut ws.decoder)?;
        out.resize(rows * self.pixels(), T::zero());
        self.decoder.likelihood.mean(ws.decoder.output(), out);
        Ok(())
    }

    /// `n` images decoded from prior draws z ~ N(0, I), `[n, pixels]` into `out`.
    pub fn sample(
        &self,
        ws: &mut VaeWorkspace<T>,
        n: usize,
        rng: &mut Rng,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mut z = vec![T::zero(); n * self.latent()];
        fill_standard_normal(rng, &mut z);
        self.decode(ws, &z, n, out)
    }

    /// Reconstructions through the encoder's mean (no sampling): decode(mean of q(z | x)).
    pub fn reconstruct(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mut means = Vec::new();
        self.encode_means(ws, x, rows, &mut means)?;
        self.decode(ws, &means, rows, out)
    }
}

/// Encodes `x`, draws `samples` latent points per image into `ws.z` (sample-major, noise kept in
/// `ws.eps`) and the analytic KL per image into `ws.kl`. q(z | x) stays in the encoder's buffers.
fn encode_and_sample<T: Scalar>(
    encoder: &Encoder,
    values: &[T],
    ws: &mut VaeWorkspace<T>,
    x: &[T],
    rows: usize,
    samples: usize,
    rng: &mut Rng,
) -> Result<()> {
    let n = samples * rows * encoder.latent();
    let q = encoder.forward(values, x, rows, &mut ws.encoder)?;
    ws.eps.resize(n, T::zero());
    fill_standard_normal(rng, &mut ws.eps);
    ws.z.resize(n, T::zero());
    q.rsample(&ws.eps, &mut ws.z);
    ws.kl.resize(rows, T::zero());
    q.kl_to_standard_normal(&mut ws.kl);
    Ok(())
}

impl<T: Scalar> Objective<T> for Vae<T> {
    type Workspace = VaeWorkspace<T>;

    fn parameters(&self) -> &Parameters<T> {
        &self.params
    }

    fn parameters_mut(&mut self) -> &mut Parameters<T> {
        &mut self.params
    }

    fn loss_and_grad(
        &mut self,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        self.check_batch(batch.x, batch.rows)?;
        let Vae {
            params,
            encoder,
            decoder,
            ..
        } = self;
        Vae::elbo_and_grad(
            params, encoder, decoder, ws, batch.x, batch.rows, samples, rng,
        )
    }

    fn loss(
        &self,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        self.check_batch(batch.x, batch.rows)?;
        let mut scores = Vec::with_capacity(batch.rows);
        self.score(ws, batch.x, batch.rows, samples, rng, &mut scores)?;
        let mut terms = LossTerms {
            images: batch.rows,
            ..LossTerms::default()
        };
        for s in &scores {
            terms.reconstruction += s.reconstruction;
            terms.kl += s.kl;
        }
        Ok(terms)
    }
}
