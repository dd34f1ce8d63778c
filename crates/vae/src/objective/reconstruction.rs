//! The plain autoencoder's loss: −log p(x | z = f(x)) with a deterministic code, no noise and no
//! KL. The same networks and likelihood as the VAE, so the two compare term for term.

use super::{LossTerms, Objective, Step};
use crate::batch::Batch;
use crate::error::Result;
use crate::kernels::rng::Rng;
use crate::model::{Autoencoder, VaeWorkspace};
use crate::scalar::Scalar;

/// The reconstruction loss summed over the batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reconstruction;

impl<T: Scalar> Objective<T, Autoencoder<T>> for Reconstruction {
    /// The autoencoder's loss: −log p(x | z = f(x)) summed over the batch, its gradient
    /// accumulated into the parameters' gradients.
    fn loss_and_grad(
        &self,
        model: &mut Autoencoder<T>,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        _step: &Step,
        _rng: &mut Rng,
    ) -> Result<LossTerms> {
        model.check_images(batch.x, batch.rows)?;
        let (x, rows) = (batch.x, batch.rows);
        let (latent, pixels) = (model.latent(), model.pixels());
        let Autoencoder {
            params,
            encoder,
            decoder,
            ..
        } = model;
        let (values, grads) = params.split_mut();
        let VaeWorkspace {
            encoder: encoder_buffers,
            decoder: decoder_buffers,
            z,
            nll,
            d_logits,
            d_z,
            ..
        } = ws;
        let code = encoder.forward_code(values, x, rows, encoder_buffers)?;
        z.clear();
        z.extend_from_slice(code);
        decoder.forward(values, z, rows, decoder_buffers)?;
        let logits = decoder_buffers.output();
        nll.resize(rows, T::zero());
        d_logits.resize(rows * pixels, T::zero());
        decoder
            .likelihood
            .nll(values, logits, x, pixels, nll, Some((d_logits, T::one())));
        decoder
            .likelihood
            .backward_params(values, grads, logits, x, pixels, T::one(), None);
        d_z.resize(rows * latent, T::zero());
        decoder.backward(values, grads, z, rows, decoder_buffers, d_logits, d_z)?;
        encoder.backward(values, grads, x, rows, encoder_buffers, d_z)?;
        let reconstruction: f64 = nll.iter().map(|v| v.as_f64()).sum();
        Ok(LossTerms {
            images: rows,
            reconstruction,
            objective: reconstruction,
            ..LossTerms::default()
        })
    }
}
