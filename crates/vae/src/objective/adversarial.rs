//! A GAN's objective (Goodfellow et al. 2014): each step is two phases on one batch, the
//! discriminator's loss −log D(x) − log(1 − D(G(z))) for the discriminator's parameter group,
//! then the generator's non-saturating −log D(G(z)) for the generator's (Sec. 3's suggestion, as
//! DCGAN and PyTorch's example train). VAE-GAN's (Larsen et al. 2015, Algorithm 1) has three
//! phases: the discriminator's, the decoder's and the encoder's losses (see `model::vae_gan`).

use super::{require_labelled, LossTerms, Objective, Step};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::kernels::rng::Rng;
use crate::model::{Gan, VaeGan, VaeWorkspace};
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

/// VAE-GAN's objective: a similarity learned by the discriminator in place of pixels. Phase 0
/// computes the gradients of all three losses at the same weights and steps the discriminator;
/// phases 1 and 2 step the decoder and the encoder with theirs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearnedSimilarity {
    /// γ: the feature error's weight against the GAN loss in the decoder's objective.
    pub feature_weight: f64,
    /// β: the KL's weight in the encoder's objective (1 in Larsen et al.).
    pub kl_weight: f64,
}

impl<T: Scalar> Objective<T, VaeGan<T>> for LearnedSimilarity {
    fn loss_and_grad(
        &self,
        model: &mut VaeGan<T>,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        step: &Step,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        require_labelled(batch)?;
        match step.phase {
            0 => model.step(ws, batch, self.feature_weight, self.kl_weight, rng),
            1 | 2 => model.kept_gradients(ws),
            phase => Err(Error::InvalidArgument(format!(
                "a VAE-GAN's step has three phases, not {}",
                phase + 1
            ))),
        }
    }
}
