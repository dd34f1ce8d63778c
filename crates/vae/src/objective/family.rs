//! The objective each member of the VAE family trains with: the ELBO for the VAE and the
//! conditional VAE (with β, warm-up and free bits) or the IWAE bound (with β and warm-up), the reconstruction loss
//! for the autoencoder, eq. 9 for M2, JMVAE-kl for the JMVAE.

use super::{
    require_labelled, Adversarial, Elbo, Iwae, JointElbo, LearnedSimilarity, LossTerms, Objective,
    Reconstruction, SemiSupervised, Step,
};
use crate::batch::Batch;
use crate::config::{DecoderStatistics, ModelKind, ObjectiveKind, TrainConfig};
use crate::error::{Error, Result};
use crate::kernels::rng::Rng;
use crate::model::{Model, VaeWorkspace};
use crate::scalar::Scalar;

/// The objective a model of the family trains with, chosen from its kind and training
/// configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VaeObjective {
    /// The negative ELBO (the VAE and conditional VAE).
    Elbo(Elbo),
    /// The negative IWAE bound.
    Iwae(Iwae),
    /// The reconstruction loss (the autoencoder).
    Reconstruction(Reconstruction),
    /// M2's objective, eq. 9 of Kingma et al. 2014.
    SemiSupervised(SemiSupervised),
    /// JMVAE-kl, Suzuki et al. 2016, eq. 5.
    Joint(JointElbo),
    /// A GAN's two phases: the discriminator's loss, then the generator's.
    Adversarial(Adversarial),
    /// VAE-GAN's three phases: the discriminator's, the decoder's and the encoder's losses.
    LearnedSimilarity(LearnedSimilarity),
}

impl VaeObjective {
    /// The objective for a model of `kind` trained as `train` says; `classification_weight` is
    /// M2's (from `TrainingData::semi_supervised`), ignored by the others.
    pub fn for_model(kind: ModelKind, train: &TrainConfig, classification_weight: f64) -> Self {
        let elbo = Elbo::new(train.samples);
        match (kind, train.objective) {
            (ModelKind::Vae | ModelKind::Draw, ObjectiveKind::Iwae) => VaeObjective::Iwae(Iwae {
                kl_weight: train.beta,
                warmup_epochs: train.kl_warmup,
                ..Iwae::new(train.samples)
            }),
            (ModelKind::Vae | ModelKind::Draw, ObjectiveKind::Elbo) => VaeObjective::Elbo(Elbo {
                kl_weight: train.beta,
                warmup_epochs: train.kl_warmup,
                free_bits: train.free_bits,
                ..elbo
            }),
            (ModelKind::Ae, _) => VaeObjective::Reconstruction(Reconstruction),
            (ModelKind::Gan | ModelKind::Dcgan, _) => VaeObjective::Adversarial(Adversarial),
            (ModelKind::VaeGan, _) => VaeObjective::LearnedSimilarity(LearnedSimilarity {
                feature_weight: train
                    .feature_weight
                    .unwrap_or(crate::config::DEFAULT_FEATURE_WEIGHT),
                kl_weight: train.beta,
                equilibrium_margin: train.equilibrium_margin,
                decoder_statistics: train.decoder_statistics.unwrap_or(DecoderStatistics::Both),
                real_weight: train.real_weight,
            }),
            (ModelKind::M2, _) => VaeObjective::SemiSupervised(SemiSupervised {
                elbo,
                classification_weight,
            }),
            (ModelKind::Jmvae, _) => VaeObjective::Joint(JointElbo {
                kl_weight: train.beta,
                warmup_epochs: train.kl_warmup,
                ..JointElbo::new(
                    train.samples,
                    train.alpha.unwrap_or(crate::config::DEFAULT_JMVAE_ALPHA),
                )
            }),
        }
    }
}

impl<T: Scalar> Objective<T, Model<T>> for VaeObjective {
    fn loss_and_grad(
        &self,
        model: &mut Model<T>,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        step: &Step,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        if model.kind() != ModelKind::M2 {
            require_labelled(batch)?;
        }
        match (self, model) {
            (VaeObjective::Elbo(o), Model::Vae(m)) => o.loss_and_grad(m, ws, batch, step, rng),
            (VaeObjective::Iwae(o), Model::Vae(m)) => o.loss_and_grad(m, ws, batch, step, rng),
            (VaeObjective::Elbo(o), Model::Hvae(m)) => o.loss_and_grad(m, ws, batch, step, rng),
            (VaeObjective::Elbo(o), Model::Draw(m)) => o.loss_and_grad(m, ws, batch, step, rng),
            (VaeObjective::Iwae(o), Model::Hvae(m)) => o.loss_and_grad(m, ws, batch, step, rng),
            (VaeObjective::Reconstruction(o), Model::Autoencoder(m)) => {
                o.loss_and_grad(m, ws, batch, step, rng)
            }
            (VaeObjective::SemiSupervised(o), Model::M2(m)) => {
                o.loss_and_grad(m, ws, batch, step, rng)
            }
            (VaeObjective::Joint(o), Model::Jmvae(m)) => o.loss_and_grad(m, ws, batch, step, rng),
            (VaeObjective::Adversarial(o), Model::Gan(m)) => {
                o.loss_and_grad(m, ws, batch, step, rng)
            }
            (VaeObjective::LearnedSimilarity(o), Model::VaeGan(m)) => {
                o.loss_and_grad(m, ws, batch, step, rng)
            }
            (objective, model) => Err(Error::InvalidArgument(format!(
                "{objective:?} does not train a {:?} model",
                model.kind()
            ))),
        }
    }

    fn steps(&self, phase: usize, first_phase: &LossTerms) -> bool {
        match self {
            VaeObjective::LearnedSimilarity(o) => o.updates(phase, first_phase),
            _ => true,
        }
    }
}
