//! The two-layer VAE's passes, which its objectives (`objective::hierarchical`) and its score
//! share: drawing (z1, z2) with every term of log w, and the backward pass of weighted terms.

use super::Hvae;
use crate::error::Result;
use crate::gaussian::{standard_normal_log_prob, DiagonalGaussian};
use crate::kernels::elementwise::{add_assign, scale};
use crate::kernels::rng::{fill_standard_normal_rows, Rng, RowShare};
use crate::kernels::rows;
use crate::model::parts::check_images;
use crate::model::workspace::TopWorkspace;
use crate::model::VaeWorkspace;
use crate::scalar::Scalar;

/// Per sample row of the latest draw: the terms of log w.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Terms {
    /// −log p(x | z1), log p(z1 | z2) + log p(z2), log q(z1 | x) + log q(z2 | z1).
    pub(super) nll: f64,
    pub(super) log_prior: f64,
    pub(super) log_posterior: f64,
}

impl<T: Scalar> Hvae<T> {
    /// Draws `samples` (z1, z2) for each of the `rows` images of `x` from q (ε1 then ε2 from
    /// `rng`), sample-major, with q(z1 | x) already in `ws.encoder`; leaves every network's
    /// buffers, the noise, the samples, and per row −log p(x | z1) (`ws.nll`), log p(z1 | z2) +
    /// log p(z2) (`ws.log_prior`) and log q(z1 | x) + log q(z2 | z1) (`ws.log_posterior`) in `ws`;
    /// with `grad`, also d(−log p(x | z1)) / d logits in `ws.d_logits`. With `share`, the rows
    /// are one process's share of a minibatch and keep their rows of the minibatch's noise.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn draw(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        samples: usize,
        rng: &mut Rng,
        share: Option<&RowShare>,
        grad: bool,
    ) -> Result<()> {
        let values = self.params.values();
        let (l1, l2, pixels) = (self.lower_latent(), self.latent(), self.pixels());
        let n = samples * rows;
        let VaeWorkspace {
            encoder,
            decoder,
            eps,
            z,
            nll,
            log_prior,
            log_posterior,
            d_logits,
            top,
            ..
        } = ws;
        let TopWorkspace {
            encoder: top_encoder,
            prior,
            eps: eps2,
            z: z2,
            log_q: log_q2,
            log_p: log_p2,
            ..
        } = top;
        let q1 = DiagonalGaussian::new(encoder.output(), l1);
        eps.resize(n * l1, T::zero());
        fill_standard_normal_rows(rng, share, l1, eps)?;
        z.resize(n * l1, T::zero());
        q1.rsample(eps, z);
        log_posterior.resize(n, T::zero());
        q1.log_prob_of_noise(eps, log_posterior);

        let q2 = self
            .top_encoder
            .forward(values, z.as_slice(), n, top_encoder)?;
        eps2.resize(n * l2, T::zero());
        fill_standard_normal_rows(rng, share, l2, eps2)?;
        z2.resize(n * l2, T::zero());
        q2.rsample(eps2, z2);
        log_q2.resize(n, T::zero());
        q2.log_prob_of_noise(eps2, log_q2);

        let p1 = self.top_prior.forward(values, z2.as_slice(), n, prior)?;
        log_prior.resize(n, T::zero());
        p1.log_prob(z, log_prior);
        log_p2.resize(n, T::zero());
        standard_normal_log_prob(z2, l2, log_p2);
        add_assign(log_prior, log_p2);
        add_assign(log_posterior, log_q2);

        self.decoder.forward(values, z, n, decoder)?;
        nll.resize(n, T::zero());
        let gradient = if grad {
            d_logits.resize(n * pixels, T::zero());
            Some((d_logits.as_mut_slice(), T::one()))
        } else {
            None
        };
        self.decoder
            .likelihood
            .nll(values, decoder.output(), x, pixels, nll, gradient);
        Ok(())
    }

    /// The terms of log w for every sample row of the latest `draw`.
    pub(super) fn terms(ws: &VaeWorkspace<T>) -> impl Iterator<Item = Terms> + '_ {
        ws.nll
            .iter()
            .zip(&ws.log_prior)
            .zip(&ws.log_posterior)
            .map(|((n, p), q)| Terms {
                nll: n.as_f64(),
                log_prior: p.as_f64(),
                log_posterior: q.as_f64(),
            })
    }

    /// The log-weights log w_β of `samples` draws per image of `x` (`share`: see `draw`; β:
    /// `kl_weight`), `[samples * rows]` sample-major into `ws.log_weights`, keeping what
    /// `backward` needs; returns Σ −log p(x | z1) and Σ (log q − log p(z1, z2)) over all sample
    /// rows.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn forward(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        samples: usize,
        rng: &mut Rng,
        share: Option<&RowShare>,
        kl_weight: f64,
    ) -> Result<(f64, f64)> {
        check_images(x, rows, self.pixels())?;
        self.encoder
            .forward(self.params.values(), x, rows, &mut ws.encoder)?;
        self.draw(ws, x, rows, samples, rng, share, true)?;
        let mut log_weights = std::mem::take(&mut ws.log_weights);
        log_weights.clear();
        let (mut reconstruction, mut kl) = (0.0, 0.0);
        for t in Self::terms(ws) {
            reconstruction += t.nll;
            kl += t.log_posterior - t.log_prior;
            log_weights.push(T::of(
                -t.nll + kl_weight * t.log_prior - kl_weight * t.log_posterior,
            ));
        }
        ws.log_weights = log_weights;
        Ok((reconstruction, kl))
    }

    /// Accumulates into the parameters' gradients the gradient of −Σ_i c_i log w_β,i over the
    /// sample rows of the latest `forward`, the c_i held constant (β: `kl_weight`).
    pub(crate) fn backward(
        &mut self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        c: &[T],
        kl_weight: T,
    ) -> Result<()> {
        let (l1, l2, pixels) = (self.lower_latent(), self.latent(), self.pixels());
        let n = c.len();
        let (values, grads) = self.params.split_mut();
        let VaeWorkspace {
            encoder,
            decoder,
            eps,
            z,
            d_logits,
            d_z,
            d_posterior,
            top,
            ..
        } = ws;
        let TopWorkspace {
            encoder: top_encoder,
            prior,
            eps: eps2,
            z: z2,
            d_z: d_z2,
            d_posterior: d_posterior2,
            d_prior,
            d_z1,
            kl_weights,
            ..
        } = top;
        kl_weights.clear();
        kl_weights.extend_from_slice(c);
        scale(kl_weights, kl_weight);
        // p(x | z1): the likelihood's parameters and the decoder, each row weighted by c_i; every
        // other term by β c_i.
        rows::scale_rows(d_logits, pixels, c);
        self.decoder.likelihood.backward_params(
            values,
            grads,
            decoder.output(),
            x,
            pixels,
            T::one(),
            Some(c),
        );
        d_z.resize(n * l1, T::zero());
        self.decoder
            .backward(values, grads, z, n, decoder, d_logits, d_z)?;
        // p(z1 | z2): its parameters and z1 directly, then z2 through the prior's network.
        d_prior.clear();
        d_prior.resize(n * 2 * l1, T::zero());
        DiagonalGaussian::new(prior.output(), l1)
            .backward_neg_log_prob(z, kl_weights, d_prior, d_z);
        d_z2.resize(n * l2, T::zero());
        self.top_prior
            .backward_with_input(values, grads, z2, n, prior, d_prior, d_z2)?;
        // −log p(z2) adds β c_i z2.
        rows::add_scaled_rows(d_z2, z2, l2, kl_weights);
        // q(z2 | z1): through z2 = μ2 + σ2 ε2, and +log q with z2 held as a function of ε2.
        d_posterior2.clear();
        d_posterior2.resize(n * 2 * l2, T::zero());
        let q2 = DiagonalGaussian::new(top_encoder.output(), l2);
        q2.backward_rsample(eps2, d_z2, d_posterior2);
        q2.backward_log_prob_of_noise(kl_weights, d_posterior2);
        d_z1.resize(n * l1, T::zero());
        self.top_encoder.backward_with_input(
            values,
            grads,
            z,
            n,
            top_encoder,
            d_posterior2,
            d_z1,
        )?;
        add_assign(d_z, d_z1);
        // q(z1 | x), likewise.
        d_posterior.clear();
        d_posterior.resize(rows * 2 * l1, T::zero());
        let q1 = DiagonalGaussian::new(encoder.output(), l1);
        q1.backward_rsample(eps, d_z, d_posterior);
        q1.backward_log_prob_of_noise(kl_weights, d_posterior);
        self.encoder
            .backward(values, grads, x, rows, encoder, d_posterior)
    }
}
