//! The importance-weighted bound of Burda, Grosse & Salakhutdinov 2015 as a training objective:
//! per image, L_K = log (1/K) Σ_k w_k with log w_k = log p(x | z_k) + log p(z_k) − log q(z_k | x),
//! z_k = μ + σ ε_k. Its exact gradient (their eq. 14) is Σ_k w̃_k ∇ log w_k with the normalised
//! weights w̃_k = w_k / Σ_j w_j: each sample's one-sample gradient, weighted by how well it
//! explains the image. At K = 1 it is the one-sample ELBO with the KL estimated by Monte Carlo.
//!
//! Through the reparameterization, ∇ log w_k reaches z_k (the decoder's gradient and −z_k from
//! the prior) and, with z_k held as μ + σ ε_k, log q(z_k | x) = −½ Σ_d (log 2π + log σ²_d + ε²)
//! contributes −½ to each log-variance.

use super::{require_labelled, warmed_kl_weight, LossTerms, Objective, Step};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::gaussian::{standard_normal_log_prob, DiagonalGaussian};
use crate::kernels::elementwise::scale;
use crate::kernels::reduce::{normalized_weights, sum_f64};
use crate::kernels::rng::Rng;
use crate::kernels::rows;
use crate::model::{Vae, VaeWorkspace};
use crate::scalar::Scalar;

/// The negative IWAE bound with `k` samples per image.
///
/// With a KL weight β ≠ 1 (β itself, or a warm-up's rising weight) the weights are tempered:
/// log w_k = log p(x | z_k) + β (log p(z_k) − log q(z_k | x)), so a warm-up eases the bound in
/// as it eases in the ELBO's KL; β = 1 is the IWAE bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Iwae {
    /// Importance samples per image, K.
    pub k: usize,
    /// β: the weight of log p(z) − log q(z | x) in each log-weight; 1 is the IWAE bound itself.
    pub kl_weight: f64,
    /// Epochs over which β rises linearly from 0, step by step; 0 for none.
    pub warmup_epochs: f64,
    /// The most bytes the samples' decoder passes take at once: above it they are decoded in
    /// chunks ([`crate::memory::samples_per_chunk`]).
    pub sample_chunk_bytes: u128,
}

impl Iwae {
    /// The IWAE bound itself (β = 1, no warm-up) with `k` samples per image.
    pub fn new(k: usize) -> Self {
        Iwae {
            k,
            kl_weight: 1.0,
            warmup_epochs: 0.0,
            sample_chunk_bytes: crate::memory::SAMPLE_CHUNK_BYTES,
        }
    }

    /// β at `step`, as for the ELBO.
    pub fn kl_weight_at(&self, step: &Step) -> f64 {
        warmed_kl_weight(self.kl_weight, self.warmup_epochs, step)
    }
}

impl<T: Scalar> Objective<T, Vae<T>> for Iwae {
    fn loss_and_grad(
        &self,
        model: &mut Vae<T>,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        step: &Step,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        require_labelled(batch)?;
        if self.k == 0 {
            return Err(Error::InvalidArgument(
                "the IWAE bound needs at least 1 sample".into(),
            ));
        }
        let kl_weight = T::of(self.kl_weight_at(step));
        model.check_batch(batch.x, batch.labels, batch.rows)?;
        let (x, labels, rows, k) = (batch.x, batch.labels, batch.rows, self.k);
        let latent = model.latent();
        let n = k
            .checked_mul(rows)
            .ok_or_else(|| Error::InvalidArgument(format!("{k} samples of {rows} images")))?;
        // Sample-major rows: row i is sample i / rows of image i % rows.
        model.forward_encoder(ws, x, labels, rows, None)?;
        let share = batch.noise_rows(1);

        // The samples are decoded in chunks when they would not fit at once (one chunk for every
        // run the literature describes). The weights need every sample's log w first, so with
        // several chunks a first pass computes them and a second redraws the same noise and
        // decodes again for the gradient; with one, the first pass's buffers serve both.
        let chunk =
            crate::memory::samples_per_chunk(model.config(), k, rows, self.sample_chunk_bytes);
        let chunked = chunk < k;
        let start = rng.clone();
        let mut log_weights = std::mem::take(&mut ws.log_weights);
        let mut row_weights = std::mem::take(&mut ws.row_weights);
        log_weights.resize(n, T::zero());
        let mut reconstruction_sum = 0.0;
        for first in (0..k).step_by(chunk) {
            let range = first * rows..(first + chunk).min(k) * rows;
            let m = range.len();
            model.draw_latent(ws, m, rng, share.as_ref())?;
            let q = DiagonalGaussian::new(ws.encoder.output(), latent);
            ws.log_posterior.resize(m, T::zero());
            q.log_prob_of_noise(&ws.eps, &mut ws.log_posterior);
            ws.log_prior.resize(m, T::zero());
            standard_normal_log_prob(&ws.z, latent, &mut ws.log_prior);
            model.forward_decoder(ws, x, labels, m, (!chunked).then_some(T::one()))?;
            reconstruction_sum += sum_f64(&ws.nll);
            // log w_i (tempered by β).
            rows::log_importance_weights(
                &ws.nll,
                &ws.log_prior,
                &ws.log_posterior,
                kl_weight,
                &mut log_weights[range],
            );
        }
        // w̃_i and each image's bound.
        row_weights.resize(n, T::zero());
        let mut bounds = vec![0f64; rows];
        normalized_weights(&log_weights, rows, &mut row_weights, &mut bounds);

        ws.d_posterior.clear();
        ws.d_posterior.resize(rows * 2 * latent, T::zero());
        if chunked {
            *rng = start;
        }
        for first in (0..k).step_by(chunk) {
            let range = first * rows..(first + chunk).min(k) * rows;
            let m = range.len();
            if chunked {
                model.draw_latent(ws, m, rng, share.as_ref())?;
                model.forward_decoder(ws, x, labels, m, Some(T::one()))?;
            }
            // −Σ_k w̃_k log w_k: the decoder's rows and the likelihood's parameters weighted by w̃.
            let weights = &mut row_weights[range];
            model.backward_decoder(ws, x, m, T::one(), Some(weights))?;
            // The prior and posterior terms carry β w̃_i (β = 1: w̃_i itself).
            scale(weights, kl_weight);
            // −log p(z) adds β w̃_i z_i.
            rows::add_scaled_rows(&mut ws.d_z, &ws.z, latent, weights);
            let q = DiagonalGaussian::new(ws.encoder.output(), latent);
            q.backward_rsample(&ws.eps, &ws.d_z, &mut ws.d_posterior);
            // +log q(z | x) with z = μ + σ ε: −½ β w̃_i on each log-variance.
            q.backward_log_prob_of_noise(weights, &mut ws.d_posterior);
        }
        ws.log_weights = log_weights;
        ws.row_weights = row_weights;
        model.backward_encoder(ws, x, labels, rows, None)?;
        let reconstruction = reconstruction_sum / k as f64;
        let kl_sum = sum_f64(&ws.kl);
        Ok(LossTerms {
            images: rows,
            reconstruction,
            kl: kl_sum,
            objective: -bounds.iter().sum::<f64>(),
            ..LossTerms::default()
        })
    }
}
