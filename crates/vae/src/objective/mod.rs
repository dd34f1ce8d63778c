//! What training minimises, apart from the models it is minimised for.
//!
//! A model ([`Trainable`], in `model`) says how to encode, decode and score and owns its parameters; an
//! [`Objective`] turns a batch into a loss and its gradient by composing the model's passes. The
//! training loop hands the objective the [`Step`], so weights that change during training (KL
//! warm-up, schedules) live in the objective, not in the batch.
//!
//! - [`elbo`]: the negative ELBO of Kingma & Welling 2013, with β, KL warm-up and free bits.
//! - [`iwae`]: the importance-weighted bound of Burda et al. 2015, trained with its exact gradient.
//! - [`reconstruction`]: the plain autoencoder's reconstruction loss.
//! - [`semi_supervised`]: M2's eq. 9 (Kingma et al. 2014), labelled and unlabelled rows.
//! - [`joint`]: JMVAE-kl (Suzuki et al. 2016): the ELBO of an image and its label, with the
//!   unimodal encoders pulled toward the joint one.
//! - [`adversarial`]: a GAN's discriminator and generator losses, one per phase of a step.
//! - [`cross_entropy`]: the reference classifier's −log q(y | x).
//! - [`family`]: which of these a model of the VAE family trains with.

pub mod adversarial;
pub mod cross_entropy;
pub mod elbo;
pub mod family;
pub mod hierarchical;
pub mod iwae;
pub mod joint;
pub mod reconstruction;
pub mod semi_supervised;

pub use crate::loss_terms::LossTerms;
pub use crate::model::Trainable;
pub use adversarial::{Adversarial, LearnedSimilarity};
pub use cross_entropy::CrossEntropy;
pub use elbo::Elbo;
pub use family::VaeObjective;
pub use iwae::Iwae;
pub use joint::JointElbo;
pub use reconstruction::Reconstruction;
pub use semi_supervised::SemiSupervised;

use crate::batch::Batch;
use crate::error::Result;
use crate::kernels::rng::Rng;
use crate::scalar::Scalar;

/// Errors unless every row of `batch` is labelled: only M2's objective reads unlabelled rows.
pub fn require_labelled<T>(batch: &Batch<'_, T>) -> Result<()> {
    if batch.unlabelled > 0 {
        return Err(crate::error::Error::InvalidArgument(
            "only the m2 model learns from unlabelled images".into(),
        ));
    }
    Ok(())
}

/// Where training stands when a batch is taken: what schedules read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// 0-based epoch.
    pub epoch: usize,
    /// 0-based batch within the epoch.
    pub batch: usize,
    /// Batches per epoch.
    pub batches_per_epoch: usize,
    /// Which of the model's parameter groups this pass trains (0 for a model with one): a GAN's
    /// step is a discriminator phase, then a generator phase, on the same batch.
    pub phase: usize,
}

impl Step {
    /// Optimizer steps taken before this one.
    pub fn index(&self) -> u64 {
        (self.epoch * self.batches_per_epoch + self.batch) as u64
    }

    /// Training progress in epochs, fractional within an epoch (0 at the first step).
    pub fn epochs(&self) -> f64 {
        self.epoch as f64 + self.batch as f64 / self.batches_per_epoch.max(1) as f64
    }
}

/// The KL weight at `step`: `beta`, or during a warm-up of `warmup_epochs` epochs
/// `beta` · (epochs trained / warm-up epochs), rising step by step from 0 (Bowman et al. 2016;
/// Sønderby et al. 2016).
pub fn warmed_kl_weight(beta: f64, warmup_epochs: f64, step: &Step) -> f64 {
    if warmup_epochs > 0.0 && step.epochs() < warmup_epochs {
        beta * step.epochs() / warmup_epochs
    } else {
        beta
    }
}

/// What is minimised for models of type `M`.
pub trait Objective<T: Scalar, M: Trainable<T>> {
    /// The summed loss over the batch, its gradient accumulated into the model's parameter
    /// gradients. `rng` supplies the step's noise.
    fn loss_and_grad(
        &self,
        model: &mut M,
        workspace: &mut M::Workspace,
        batch: &Batch<'_, T>,
        step: &Step,
        rng: &mut Rng,
    ) -> Result<LossTerms>;

    /// Whether the optimizer steps phase `phase`'s parameter group on this batch, given what
    /// the batch's first phase reported (summed over every process, so all decide alike). A
    /// group held back keeps its weights and its optimizer state; its gradient is dropped.
    fn steps(&self, _phase: usize, _first_phase: &LossTerms) -> bool {
        true
    }
}
