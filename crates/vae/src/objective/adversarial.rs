//! A GAN's objective (Goodfellow et al. 2014): each step is two phases on one batch, the
//! discriminator's loss −log D(x) − log(1 − D(G(z))) for the discriminator's parameter group,
//! then the generator's non-saturating −log D(G(z)) for the generator's (Sec. 3's suggestion, as
//! DCGAN and PyTorch's example train). VAE-GAN's (Larsen et al. 2015, Algorithm 1) has three
//! phases: the discriminator's, the decoder's and the encoder's losses (see `model::vae_gan`).

use super::{require_labelled, LossTerms, Objective, Step};
use crate::batch::Batch;
use crate::config::DecoderStatistics;
use crate::error::{Error, Result};
use crate::kernels::rng::Rng;
use crate::model::{Gan, LossWeights, VaeGan, VaeWorkspace};
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
    /// The margin m of the equilibrium rule, or `None` to step every network on every batch.
    /// With it, a batch on which the discriminator's mean loss on real images or on fakes is
    /// below `EQUILIBRIUM − m` (it wins too easily) leaves the discriminator as it is, and one on
    /// which either is above `EQUILIBRIUM + m` (it is losing) leaves the decoder; if both would
    /// be held, both step. The encoder always steps. This is the rule of Larsen et al.'s
    /// published code, with its margin 0.4, that keeps the two players level.
    pub equilibrium_margin: Option<f64>,
    /// The decoder passes its batch normalization's running statistics follow.
    pub decoder_statistics: DecoderStatistics,
    /// w: the real images' share of the discriminator's loss, the rest split evenly between the
    /// reconstructions and the prior's samples (Larsen et al.'s code: 0.5, there
    /// `real_vs_gen_weight`); `None` sums the three terms, as Algorithm 1 writes them.
    pub real_weight: Option<f64>,
}

/// The discriminator's mean loss per image at which the equilibrium rule centres its margin
/// (Larsen et al.'s code: 0.68, near ln 2 ≈ 0.693, the loss of a discriminator that cannot tell
/// real from fake and says ½ for both).
pub const EQUILIBRIUM: f64 = 0.68;

impl LearnedSimilarity {
    /// Whether phase `phase` (0 the discriminator, 1 the decoder, 2 the encoder) steps its
    /// network on a batch whose first phase reported `first_phase`: the equilibrium rule.
    pub fn updates(&self, phase: usize, first_phase: &LossTerms) -> bool {
        let Some(margin) = self.equilibrium_margin else {
            return true;
        };
        let images = first_phase.images.max(1) as f64;
        let real = first_phase.discriminator_real / images;
        // Two fakes per image: the reconstruction x̃ and the prior's sample x_p.
        let fake = (first_phase.discriminator - first_phase.discriminator_real) / (2.0 * images);
        let winning = real < EQUILIBRIUM - margin || fake < EQUILIBRIUM - margin;
        let losing = real > EQUILIBRIUM + margin || fake > EQUILIBRIUM + margin;
        match phase {
            0 => !winning || losing,
            1 => !losing || winning,
            _ => true,
        }
    }
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
            0 => model.step(
                ws,
                batch,
                &LossWeights {
                    feature: self.feature_weight,
                    kl: self.kl_weight,
                    real: self.real_weight,
                },
                self.decoder_statistics,
                rng,
            ),
            1 | 2 => model.kept_gradients(ws),
            phase => Err(Error::InvalidArgument(format!(
                "a VAE-GAN's step has three phases, not {}",
                phase + 1
            ))),
        }
    }

    fn steps(&self, phase: usize, first_phase: &LossTerms) -> bool {
        self.updates(phase, first_phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First-phase terms of 10 images with the discriminator's mean loss `real` on real images
    /// and `fake` on each of the two fakes.
    fn terms(real: f64, fake: f64) -> LossTerms {
        LossTerms {
            images: 10,
            discriminator_real: 10.0 * real,
            discriminator: 10.0 * real + 20.0 * fake,
            ..LossTerms::default()
        }
    }

    #[test]
    fn the_equilibrium_rule_holds_the_player_out_of_balance() {
        let rule = |margin| LearnedSimilarity {
            feature_weight: 0.01,
            kl_weight: 1.0,
            equilibrium_margin: margin,
            decoder_statistics: DecoderStatistics::Prior,
            real_weight: None,
        };
        let steps = |margin, real, fake| -> Vec<bool> {
            (0..3)
                .map(|phase| rule(margin).updates(phase, &terms(real, fake)))
                .collect()
        };
        let m = Some(0.4);
        assert_eq!(steps(m, 0.7, 0.7), [true, true, true], "level");
        assert_eq!(steps(m, 0.2, 0.7), [false, true, true], "D wins on real");
        assert_eq!(steps(m, 0.7, 0.2), [false, true, true], "D wins on fakes");
        assert_eq!(steps(m, 1.2, 0.7), [true, false, true], "D loses on real");
        assert_eq!(steps(m, 0.7, 1.2), [true, false, true], "D loses on fakes");
        assert_eq!(
            steps(m, 0.2, 1.2),
            [true, true, true],
            "both held: both step"
        );
        assert_eq!(steps(None, 0.01, 5.0), [true, true, true], "no rule");
    }
}
