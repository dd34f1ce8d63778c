//! What the training loop needs of a model, whatever it minimises.

use crate::batch::Batch;
use crate::error::Result;
use crate::kernels::rng::Rng;
use crate::loss_terms::LossTerms;
use crate::nn::{ParamGroup, Parameters};
use crate::scalar::Scalar;

/// A model the training loop can optimise: its parameters, and its loss on held-out data.
pub trait Trainable<T: Scalar> {
    /// Scratch buffers reused across steps, owned by the caller so the model can be shared.
    type Workspace: Default + Send;

    /// The parameters and their gradients.
    fn parameters(&self) -> &Parameters<T>;

    /// The parameters, to change.
    fn parameters_mut(&mut self) -> &mut Parameters<T>;

    /// The groups an optimizer steps in turn, one per phase of a training step: by default one,
    /// every learned value (batch normalization's running estimates are not learned).
    fn parameter_groups(&self) -> Vec<ParamGroup> {
        vec![ParamGroup::of("", self.parameters(), &[])]
    }

    /// The loss on held-out data, without gradients: the negative ELBO with `samples` draws
    /// (reconstruction loss, cross-entropy for models without one), and classification errors
    /// where the model classifies.
    fn held_out_loss(
        &self,
        workspace: &mut Self::Workspace,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms>;
}
