//! The negative ELBO of Kingma & Welling 2013 (eq. 10) and its gradient, layer by layer:
//! −E_q[log p(x | z)] estimated with S reparameterized samples (Sec. 2.4), plus the analytic
//! KL(q(z | x) ‖ N(0, I)) (Appendix B), the KL weighted by `kl_weight` in the gradient (β of
//! Higgins et al. 2017; 1 is the ELBO itself).
//!
//! With `classes > 0` the model is the conditional VAE: encoder and decoder also read the one-hot
//! label. Rows may carry weights (M2's q(y | x)) and may repeat images (M2's sum over labels).

use super::{require_labelled, warmed_kl_weight, LossTerms, Objective, Step};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::gaussian::DiagonalGaussian;
use crate::kernels::reduce::weighted_sum;
use crate::kernels::rng::{Rng, RowShare};
use crate::kernels::rows;
pub use crate::model::vae::SharedImages;
use crate::model::{Draw, Vae, VaeWorkspace};
use crate::scalar::Scalar;

/// The negative ELBO with `samples` latent draws per image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elbo {
    /// L in Kingma & Welling 2013, eq. 7.
    pub samples: usize,
    /// β: the KL term's weight (Higgins et al. 2017); 1 is the ELBO itself.
    pub kl_weight: f64,
    /// Epochs over which the KL weight rises linearly from 0 to β, step by step (Bowman et al.
    /// 2016; Sønderby et al. 2016); 0 for none.
    pub warmup_epochs: f64,
    /// λ, free bits: each latent dimension's KL, averaged over the batch, counts at least λ
    /// nats (Kingma et al. 2016, eq. 15); 0 for none.
    pub free_bits: f64,
    /// The most bytes the samples' decoder passes take at once: above it they are decoded in
    /// chunks ([`crate::memory::samples_per_chunk`]).
    pub sample_chunk_bytes: u128,
}

impl Elbo {
    /// The ELBO itself (β = 1, no warm-up, no free bits) with `samples` draws per image.
    pub fn new(samples: usize) -> Self {
        Elbo {
            samples,
            kl_weight: 1.0,
            warmup_epochs: 0.0,
            free_bits: 0.0,
            sample_chunk_bytes: crate::memory::SAMPLE_CHUNK_BYTES,
        }
    }

    /// The KL weight at `step`: β, or during warm-up β · (epochs trained / warm-up epochs).
    pub fn kl_weight_at(&self, step: &Step) -> f64 {
        warmed_kl_weight(self.kl_weight, self.warmup_epochs, step)
    }

    /// The negative ELBO of `batch`'s rows with `self.samples` latent draws per image, its
    /// gradient (the KL weighted for `step` and clamped by free bits) accumulated into the model's
    /// gradients. `rng` supplies ε. Each row's own (unweighted) negative ELBO is left in
    /// `ws.row_loss`. The terms report the true KL; `objective` what was minimised.
    pub fn rows_loss_and_grad<T: Scalar>(
        &self,
        model: &mut Vae<T>,
        ws: &mut VaeWorkspace<T>,
        batch: &ElboRows<'_, T>,
        step: &Step,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        if self.free_bits > 0.0 && batch.weights.is_some() {
            return Err(Error::InvalidArgument(
                "free bits apply to unweighted rows (the vae and cvae models)".into(),
            ));
        }
        let kl_weight = self.kl_weight_at(step);
        let samples = self.samples;
        let latent = model.latent();
        let ElboRows {
            x,
            labels,
            rows,
            weights,
            shared,
            noise_rows,
        } = *batch;
        // q(z | x) of the rows (with their labels when conditional) and each row's analytic KL.
        model.forward_encoder(ws, x, labels, rows, shared)?;
        ws.row_loss.clear();
        ws.row_loss.extend_from_slice(&ws.kl);
        let kl_sum = weighted_sum(&ws.kl, weights);
        ws.d_posterior.clear();
        ws.d_posterior.resize(rows * 2 * latent, T::zero());

        // The samples, decoded in chunks when they would not fit at once (one chunk for every
        // run the literature describes); each chunk's noise continues the same stream.
        // The reconstruction term is the mean over samples: each sample row carries weight 1/S.
        let scale = T::one() / T::of(samples as f64);
        let chunk = crate::memory::samples_per_chunk(
            model.config(),
            samples,
            rows,
            self.sample_chunk_bytes,
        );
        let mut reconstruction_sum = 0.0;
        for first in (0..samples).step_by(chunk) {
            let n = chunk.min(samples - first) * rows;
            model.draw_latent(ws, n, rng, noise_rows.as_ref())?;
            model.forward_decoder(ws, x, labels, n, Some(scale))?;
            rows::add_by_image(&mut ws.row_loss, &ws.nll, scale);
            reconstruction_sum += weighted_sum(&ws.nll, weights);
            model.backward_decoder(ws, x, n, scale, weights)?;
            let q = DiagonalGaussian::new(ws.encoder.output(), latent);
            q.backward_rsample(&ws.eps, &ws.d_z, &mut ws.d_posterior);
        }
        let reconstruction = reconstruction_sum / samples as f64;
        let q = DiagonalGaussian::new(ws.encoder.output(), latent);
        // The KL as the objective counts it: with free bits, each dimension's batch mean is
        // clamped at λ, and a clamped dimension passes no gradient.
        let kl_objective = if self.free_bits > 0.0 {
            let mut per_dimension = vec![0f64; latent];
            q.kl_per_dimension(&mut per_dimension);
            let floor = self.free_bits * rows as f64;
            let mask: Vec<T> = per_dimension
                .iter()
                .map(|&k| if k < floor { T::zero() } else { T::one() })
                .collect();
            q.backward_kl_dimensions(&mask, T::of(kl_weight), &mut ws.d_posterior);
            per_dimension.iter().map(|&k| k.max(floor)).sum::<f64>()
        } else {
            q.backward_kl(weights, T::of(kl_weight), &mut ws.d_posterior);
            kl_sum
        };
        model.backward_encoder(ws, x, labels, rows, shared)?;
        Ok(LossTerms {
            images: rows,
            reconstruction,
            kl: kl_sum,
            objective: reconstruction + kl_weight * kl_objective,
            ..LossTerms::default()
        })
    }
}

/// The rows one ELBO gradient step trains on.
#[derive(Clone, Copy, Debug)]
pub struct ElboRows<'a, T> {
    /// Targets `[rows, pixels]`.
    pub x: &'a [T],
    /// A label per row (conditional models; empty otherwise).
    pub labels: &'a [u8],
    /// How many rows.
    pub rows: usize,
    /// Row r counts `weights[r]` times (M2's q(y | x)); once each when absent.
    pub weights: Option<&'a [T]>,
    /// Set when rows repeat images (M2), so the encoder's first layer runs once per image.
    pub shared: Option<SharedImages<'a, T>>,
    /// Set when these rows are one process's share of a minibatch (see `Batch::noise_rows`).
    pub noise_rows: Option<RowShare>,
}

impl<T: Scalar> Objective<T, Vae<T>> for Elbo {
    fn loss_and_grad(
        &self,
        model: &mut Vae<T>,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        step: &Step,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        require_labelled(batch)?;
        model.check_batch(batch.x, batch.labels, batch.rows)?;
        let rows = ElboRows {
            x: batch.x,
            labels: batch.labels,
            rows: batch.rows,
            weights: None,
            shared: None,
            noise_rows: batch.noise_rows(1),
        };
        self.rows_loss_and_grad(model, ws, &rows, step, rng)
    }
}

/// DRAW's negative ELBO (Gregor et al. 2015, eq. 12): the reconstruction of the final canvas and
/// the steps' summed KL, with β and warm-up weighting the KL. Free bits are not defined per step
/// and are refused.
impl<T: Scalar> Objective<T, Draw<T>> for Elbo {
    fn loss_and_grad(
        &self,
        model: &mut Draw<T>,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        step: &Step,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        require_labelled(batch)?;
        if self.free_bits > 0.0 {
            return Err(crate::error::Error::InvalidArgument(
                "free bits are not defined for the draw model's per-step latents".into(),
            ));
        }
        model.elbo_and_grad(ws, batch, self.samples, self.kl_weight_at(step), rng)
    }
}
