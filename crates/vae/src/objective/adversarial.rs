//! A GAN's objective (Goodfellow et al. 2014): each step is two phases on one batch, the
//! discriminator's loss −log D(x) − log(1 − D(G(z))) for the discriminator's parameter group,
//! then the generator's non-saturating −log D(G(z)) for the generator's (Sec. 3's suggestion, as
//! DCGAN and PyTorch's example train).

use super::{require_labelled, LossTerms, Objective, Step};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::kernels::rng::Rng;
use crate::model::{Gan, VaeWorkspace};
use crate::scalar::Scalar;

/// The adversarial game, phase 0 the discriminator's and phase 1 the generator's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Adversarial;

impl<T: Scalar> Objective<T, Gan<T>> for Adversarial {
    fn loss_and_grad(
        &self,
        model: &mut Gan<T>,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        step: &Step,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        require_labelled(batch)?;
        match step.phase {
            0 => model.discriminator_step(ws, batch, rng),
            1 => model.generator_step(ws),
            phase => Err(Error::InvalidArgument(format!(
                "a GAN's step has two phases, not {}",
                phase + 1
            ))),
        }
    }
}
