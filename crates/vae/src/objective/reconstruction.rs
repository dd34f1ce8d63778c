//! The plain autoencoder's loss: −log p(x | z = f(x)) with a deterministic code, no noise and no
//! KL. The same networks and likelihood as the VAE, so the two compare term for term.

use super::{LossTerms, Objective, Step};
use crate::batch::Batch;
use crate::error::Result;
use crate::kernels::reduce::sum_f64;
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
        model.forward_step(ws, x, rows)?;
        model.backward_step(ws, x, rows)?;
        let reconstruction = sum_f64(&ws.nll);
        Ok(LossTerms {
            images: rows,
            reconstruction,
            objective: reconstruction,
            ..LossTerms::default()
        })
    }
}
