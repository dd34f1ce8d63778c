//! The objective each member of the VAE family trains with: the ELBO for the VAE and the
//! conditional VAE, the reconstruction loss for the autoencoder, eq. 9 for M2.

use super::{Elbo, LossTerms, Objective, Reconstruction, SemiSupervised, Step};
use crate::batch::Batch;
use crate::config::{ModelKind, TrainConfig};
use crate::error::{Error, Result};
use crate::kernels::rng::Rng;
use crate::model::{Model, VaeWorkspace};
use crate::scalar::Scalar;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VaeObjective {
    Elbo(Elbo),
    Reconstruction(Reconstruction),
    SemiSupervised(SemiSupervised),
}

impl VaeObjective {
    /// The objective for a model of `kind` trained as `train` says; `classification_weight` is
    /// M2's (from `TrainingData::semi_supervised`), ignored by the others.
    pub fn for_model(kind: ModelKind, train: &TrainConfig, classification_weight: f64) -> Self {
        let elbo = Elbo::new(train.samples);
        match kind {
            ModelKind::Vae => VaeObjective::Elbo(elbo),
            ModelKind::Ae => VaeObjective::Reconstruction(Reconstruction),
            ModelKind::M2 => VaeObjective::SemiSupervised(SemiSupervised {
                elbo,
                classification_weight,
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
        if batch.unlabelled > 0 && model.kind() != ModelKind::M2 {
            return Err(Error::InvalidArgument(
                "only the m2 model learns from unlabelled images".into(),
            ));
        }
        match (self, model) {
            (VaeObjective::Elbo(o), Model::Vae(m)) => o.loss_and_grad(m, ws, batch, step, rng),
            (VaeObjective::Reconstruction(o), Model::Autoencoder(m)) => {
                o.loss_and_grad(m, ws, batch, step, rng)
            }
            (VaeObjective::SemiSupervised(o), Model::M2(m)) => {
                o.loss_and_grad(m, ws, batch, step, rng)
            }
            (objective, model) => Err(Error::InvalidArgument(format!(
                "{objective:?} does not train a {:?} model",
                model.kind()
            ))),
        }
    }
}
