//! The reference classifier's loss: Σ −log q(y | x) over labelled images.

use super::{LossTerms, Objective, Step};
use crate::batch::Batch;
use crate::error::Result;
use crate::kernels::rng::Rng;
use crate::model::reference::cross_entropy;
use crate::model::{ClassifierWorkspace, ReferenceClassifier};
use crate::scalar::Scalar;

/// The reference classifier's objective: the mean cross-entropy of its class logits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrossEntropy;

impl<T: Scalar> Objective<T, ReferenceClassifier<T>> for CrossEntropy {
    fn loss_and_grad(
        &self,
        model: &mut ReferenceClassifier<T>,
        ws: &mut ClassifierWorkspace<T>,
        batch: &Batch<'_, T>,
        _step: &Step,
        _rng: &mut Rng,
    ) -> Result<LossTerms> {
        let (values, grads) = model.params.split_mut();
        let mut terms = cross_entropy(&model.net, values, ws, batch, Some(grads))?;
        terms.objective = terms.classification;
        Ok(terms)
    }
}
