//! JMVAE-kl (Suzuki, Nakayama & Matsuo 2016, Sec. 3.2, eq. 5) and its gradient: for an image x
//! with its label w, the negative joint ELBO
//!
//! ```text
//! −E_q(z|x,w)[log p(x | z) + log p(w | z)] + KL(q(z | x, w) || N(0, I))
//! ```
//!
//! plus α (KL(q(z | x, w) || q(z | x)) + KL(q(z | x, w) || q(z | w))), which trains the unimodal
//! encoders toward the joint one (and the joint one toward them). The expectation takes
//! `samples` reparameterized draws from q(z | x, w); the three KL terms are analytic. During
//! warm-up all three carry the rising weight, as the prior's KL does in `Elbo`; α = 0 is the
//! ELBO of (x, w) alone (JMVAE-zero), which leaves the unimodal encoders untrained.

use super::{require_labelled, warmed_kl_weight, LossTerms, Objective, Step};
use crate::batch::Batch;
use crate::error::Result;
use crate::gaussian::DiagonalGaussian;
use crate::kernels::elementwise;
use crate::kernels::reduce::sum_f64;
use crate::kernels::rng::{fill_standard_normal_rows, Rng};
use crate::model::workspace::JointWorkspace;
use crate::model::{Jmvae, VaeWorkspace};
use crate::scalar::Scalar;

/// JMVAE-kl's objective.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JointElbo {
    /// Draws from q(z | x, w) per image.
    pub samples: usize,
    /// α: the weight of the unimodal encoders' KL terms.
    pub alpha: f64,
    /// β: the weight of all KL terms after warm-up; 1 is the paper's objective.
    pub kl_weight: f64,
    /// Epochs over which the KL terms' weight rises linearly from 0 to β; 0 for none.
    pub warmup_epochs: f64,
}

impl JointElbo {
    /// The paper's objective with `samples` draws and weight `alpha`.
    pub fn new(samples: usize, alpha: f64) -> Self {
        JointElbo {
            samples,
            alpha,
            kl_weight: 1.0,
            warmup_epochs: 0.0,
        }
    }
}

impl<T: Scalar> Objective<T, Jmvae<T>> for JointElbo {
    /// The terms report −log p(x | z) as `reconstruction`, −log p(w | z) as `classification` and
    /// the KL to the prior as `kl` (their sum is the negative joint ELBO); `objective` adds the
    /// weights and α's two divergences.
    fn loss_and_grad(
        &self,
        model: &mut Jmvae<T>,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        step: &Step,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        require_labelled(batch)?;
        let (x, rows) = (batch.x, batch.rows);
        let w = model.modality(batch.labels, batch.attributes);
        let weight = warmed_kl_weight(self.kl_weight, self.warmup_epochs, step);
        let latent = model.latent();
        let pixels = model.pixels();
        let samples = self.samples.max(1);
        let n = samples * rows;
        let scale = T::one() / T::of(samples as f64);

        // The three encoders (the joint one checks the batch) and their divergences.
        model.forward_joint(ws, x, w, rows)?;
        model.forward_image_encoder(ws, x, rows)?;
        model.forward_label_encoder(ws, w, rows)?;
        {
            let VaeWorkspace {
                encoder,
                eps,
                z,
                joint,
                ..
            } = &mut *ws;
            let q = DiagonalGaussian::new(encoder.output(), latent);
            joint.kl_image.resize(rows, T::zero());
            joint.kl_label.resize(rows, T::zero());
            q.kl_to(
                &DiagonalGaussian::new(joint.image_encoder.output(), latent),
                &mut joint.kl_image,
            );
            q.kl_to(
                &DiagonalGaussian::new(joint.label_encoder.output(), latent),
                &mut joint.kl_label,
            );
            // z ~ q(z | x, w), sample-major.
            eps.resize(n * latent, T::zero());
            fill_standard_normal_rows(rng, batch.noise_rows(1).as_ref(), latent, eps)?;
            z.resize(n * latent, T::zero());
            q.rsample(eps, z);
        }
        let kl = sum_f64(&ws.kl);
        let divergences = sum_f64(&ws.joint.kl_image) + sum_f64(&ws.joint.kl_label);

        // Both decoders: −log p(x | z) and −log p(w | z), with their logits' gradients.
        let values = model.params.values();
        model.decoder.forward(values, &ws.z, n, &mut ws.decoder)?;
        ws.nll.resize(n, T::zero());
        ws.d_logits.resize(n * pixels, T::zero());
        model.decoder.likelihood.nll(
            values,
            ws.decoder.output(),
            x,
            pixels,
            &mut ws.nll,
            Some((&mut ws.d_logits, scale)),
        );
        let reconstruction = sum_f64(&ws.nll) / samples as f64;
        let z = std::mem::take(&mut ws.z);
        let decoded = model.forward_label_decoder(ws, &z, n);
        ws.z = z;
        decoded?;
        model.label_nll(ws, w, n, Some(scale));
        let label_nll = sum_f64(&ws.joint.nll) / samples as f64;

        // Backward: both decoders to z, z to q(z | x, w), the KL terms to all three encoders.
        let VaeWorkspace {
            encoder,
            decoder,
            encoder_input,
            eps,
            z,
            d_logits,
            d_z,
            d_posterior,
            joint,
            ..
        } = ws;
        let JointWorkspace {
            image_encoder,
            label_encoder,
            label_decoder,
            one_hot,
            d_logits: d_label_logits,
            d_z: d_label_z,
            d_image_posterior,
            d_label_posterior,
            ..
        } = joint;
        let (values, grads) = model.params.split_mut();
        model.decoder.likelihood.backward_params(
            values,
            grads,
            decoder.output(),
            x,
            pixels,
            scale,
            None,
        );
        d_z.resize(n * latent, T::zero());
        model
            .decoder
            .backward(values, grads, z, n, decoder, d_logits, d_z)?;
        d_label_z.resize(n * latent, T::zero());
        model.label_decoder.backward_with_input(
            values,
            grads,
            z,
            n,
            label_decoder,
            d_label_logits,
            d_label_z,
        )?;
        elementwise::add_assign(d_z, d_label_z);
        let q = DiagonalGaussian::new(encoder.output(), latent);
        let q_image = DiagonalGaussian::new(image_encoder.output(), latent);
        let q_label = DiagonalGaussian::new(label_encoder.output(), latent);
        d_posterior.clear();
        d_posterior.resize(rows * 2 * latent, T::zero());
        q.backward_rsample(eps, d_z, d_posterior);
        q.backward_kl(None, T::of(weight), d_posterior);
        d_image_posterior.clear();
        d_image_posterior.resize(rows * 2 * latent, T::zero());
        d_label_posterior.clear();
        d_label_posterior.resize(rows * 2 * latent, T::zero());
        let divergence_weight = T::of(weight * self.alpha);
        q.backward_kl_to(&q_image, divergence_weight, d_posterior, d_image_posterior);
        q.backward_kl_to(&q_label, divergence_weight, d_posterior, d_label_posterior);
        // The joint encoder read `[x | w]`, still in its buffer.
        model.joint.backward(
            values,
            grads,
            encoder_input.as_slice(),
            rows,
            encoder,
            d_posterior,
        )?;
        model
            .image_encoder
            .backward(values, grads, x, rows, image_encoder, d_image_posterior)?;
        model.label_encoder.backward(
            values,
            grads,
            one_hot.as_slice(),
            rows,
            label_encoder,
            d_label_posterior,
        )?;
        Ok(LossTerms {
            images: rows,
            reconstruction,
            kl,
            classification: label_nll,
            objective: reconstruction + label_nll + weight * (kl + self.alpha * divergences),
            ..LossTerms::default()
        })
    }
}
