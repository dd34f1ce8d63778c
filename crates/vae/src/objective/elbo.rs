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
use crate::kernels::rng::{fill_standard_normal_rows, Rng, RowShare};
use crate::kernels::rows;
use crate::model::parts::{with_one_hot, LabelJoin};
use crate::model::{Vae, VaeWorkspace};
use crate::nn::{LabelledRows, NetworkInput};
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
        let classes = model.classes();
        let Vae {
            config,
            params,
            encoder,
            decoder,
            ..
        } = model;
        let (values, grads) = params.split_mut();
        let latent = encoder.latent();
        let pixels = decoder.pixels();
        let ElboRows {
            x,
            labels,
            rows,
            weights,
            shared,
            noise_rows,
        } = *batch;
        let VaeWorkspace {
            encoder: encoder_buffers,
            decoder: decoder_buffers,
            encoder_input,
            decoder_input,
            eps,
            z,
            nll,
            kl,
            d_logits,
            d_decoder_input,
            d_z,
            d_posterior,
            row_loss,
            ..
        } = ws;
        // Encode the rows (with their labels when conditional), built once for forward and
        // backward; draw `samples` latent points per row into `z` (sample-major, noise kept in
        // `eps`) and the analytic KL per row into `kl`. q(z | x) stays in the encoder's buffers.
        let join = LabelJoin::encoder(config);
        let encoder_in = encoder_rows(x, join, labels, classes, shared, encoder_input);
        let q = encoder.forward(values, encoder_in, rows, encoder_buffers)?;
        kl.resize(rows, T::zero());
        q.kl_to_standard_normal(kl);
        row_loss.clear();
        row_loss.extend_from_slice(kl);
        let kl_sum = weighted_sum(kl, weights);
        d_posterior.clear();
        d_posterior.resize(rows * 2 * latent, T::zero());

        // The samples, decoded in chunks when they would not fit at once (one chunk for every
        // run the literature describes); each chunk's noise continues the same stream.
        // The reconstruction term is the mean over samples: each sample row carries weight 1/S.
        let scale = T::one() / T::of(samples as f64);
        let chunk =
            crate::memory::samples_per_chunk(config, samples, rows, self.sample_chunk_bytes);
        let decoder_width = latent + classes;
        let mut reconstruction_sum = 0.0;
        for first in (0..samples).step_by(chunk) {
            let n = chunk.min(samples - first) * rows;
            eps.resize(n * latent, T::zero());
            fill_standard_normal_rows(rng, noise_rows.as_ref(), latent, eps)?;
            z.resize(n * latent, T::zero());
            let q = DiagonalGaussian::new(encoder_buffers.output(), latent);
            q.rsample(eps, z);

            let decoder_in =
                with_one_hot(z, LabelJoin::Row(latent), labels, classes, decoder_input);
            decoder.forward(values, decoder_in, n, decoder_buffers)?;
            let logits = decoder_buffers.output();
            nll.resize(n, T::zero());
            d_logits.resize(n * pixels, T::zero());
            decoder
                .likelihood
                .nll(values, logits, x, pixels, nll, Some((d_logits, scale)));
            if let Some(w) = weights {
                rows::scale_rows(d_logits, pixels, w);
            }
            decoder
                .likelihood
                .backward_params(values, grads, logits, x, pixels, scale, weights);
            rows::add_by_image(row_loss, nll, scale);
            reconstruction_sum += weighted_sum(nll, weights);

            d_decoder_input.resize(n * decoder_width, T::zero());
            decoder.backward(
                values,
                grads,
                decoder_in,
                n,
                decoder_buffers,
                d_logits,
                d_decoder_input,
            )?;
            // Only the z part of the decoder's input gradient flows on; the label is data.
            let d_z: &[T] = if classes == 0 {
                d_decoder_input
            } else {
                rows::take_columns(d_decoder_input, decoder_width, latent, d_z);
                d_z
            };
            q.backward_rsample(eps, d_z, d_posterior);
        }
        let reconstruction = reconstruction_sum / samples as f64;
        let q = DiagonalGaussian::new(encoder_buffers.output(), latent);
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
            q.backward_kl_dimensions(&mask, T::of(kl_weight), d_posterior);
            per_dimension.iter().map(|&k| k.max(floor)).sum::<f64>()
        } else {
            q.backward_kl(weights, T::of(kl_weight), d_posterior);
            kl_sum
        };
        encoder.backward(
            values,
            grads,
            encoder_in,
            rows,
            encoder_buffers,
            d_posterior,
        )?;
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

/// The distinct images `[images, pixels]` behind a batch's rows, and the one each row reads.
#[derive(Clone, Copy, Debug)]
pub struct SharedImages<'a, T> {
    /// The distinct images.
    pub images: &'a [T],
    /// For each row, the image it reads.
    pub image_of_row: &'a [usize],
}

/// The encoder's input for `x`'s rows: written out with the one-hot label appended when
/// conditional, or, when the rows repeat images (M2), the distinct images read once each.
fn encoder_rows<'a, T: Scalar>(
    x: &'a [T],
    join: LabelJoin,
    labels: &'a [u8],
    classes: usize,
    shared: Option<SharedImages<'a, T>>,
    buffer: &'a mut Vec<T>,
) -> NetworkInput<'a, T> {
    match shared {
        Some(s) if classes > 0 => NetworkInput::Labelled(LabelledRows {
            images: s.images,
            image_of_row: s.image_of_row,
            labels,
            classes,
        }),
        _ => NetworkInput::Dense(with_one_hot(x, join, labels, classes, buffer)),
    }
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
