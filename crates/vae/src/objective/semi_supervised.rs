//! M2's objective (Kingma, Rezende, Mohamed & Welling 2014).
//!
//! Per labelled image (eq. 6, with its classification term, eq. 9):
//!   −L(x, y) + α' · (−log q(y | x)),   −L(x, y) = −E_q(z|x,y)[log p(x | y, z)] + KL_z − log p(y),
//! and per unlabelled image (eq. 7), y summed out exactly over the classes:
//!   −U(x) = Σ_y q(y | x) · (−L(x, y)) − H(q(y | x)).
//! With p(y) uniform over C classes, −log p(y) = log C, and log C − H(q) = KL(q(y | x) ‖ p(y)):
//! that is where the label's part of the KL comes from.
//!
//! Gradient through q(y | x) (logits a, π = softmax(a)), for one unlabelled image with
//! g_y = −L(x, y) + log π_y: ∂(−U)/∂a_k = π_k (g_k − Σ_y π_y g_y); the entropy's own
//! Σ_y ∂π_y/∂a_k vanishes because the π sum to one.

use super::elbo::{Elbo, ElboRows, SharedImages};
use super::{LossTerms, Objective, Step};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::kernels::loss::m2_class_logit_grad;
use crate::kernels::rng::Rng;
use crate::model::{VaeWorkspace, M2};
use crate::scalar::Scalar;

/// Eq. 9: the labelled and unlabelled bounds, and α's classification term.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SemiSupervised {
    /// The bound of each (row, label) pair.
    pub elbo: Elbo,
    /// The weight of each labelled row's −log q(y | x) in a batch's loss (see
    /// `train::TrainingData::semi_supervised` for how it follows from α).
    pub classification_weight: f64,
}

impl<T: Scalar> Objective<T, M2<T>> for SemiSupervised {
    /// The objective of the module comment over one batch, its gradient accumulated into the
    /// model's gradients.
    fn loss_and_grad(
        &self,
        model: &mut M2<T>,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        step: &Step,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let (rows, u, classes) = (batch.rows, batch.unlabelled, model.vae().classes());
        if u > rows {
            return Err(Error::InvalidArgument(format!(
                "{u} unlabelled rows in a batch of {rows}"
            )));
        }
        if batch.labels.len() != rows {
            return Err(Error::shape("batch labels", rows, batch.labels.len()));
        }
        model.vae().check_labels(&batch.labels[u..], rows - u)?;
        let weight = T::of(self.classification_weight);
        model.class_log_probs(ws, batch.x, rows)?;
        model.expand_over_classes(ws, batch);
        let expanded_rows = u * classes + (rows - u);
        let x = std::mem::take(&mut ws.expanded_x);
        let labels = std::mem::take(&mut ws.expanded_labels);
        let weights = std::mem::take(&mut ws.row_weights);
        let image_of_row = std::mem::take(&mut ws.image_of_row);
        let expanded = ElboRows {
            x: &x,
            labels: &labels,
            rows: expanded_rows,
            weights: Some(&weights),
            shared: Some(SharedImages {
                images: batch.x,
                image_of_row: &image_of_row,
            }),
            noise_rows: batch.noise_rows(classes),
        };
        let result = self
            .elbo
            .rows_loss_and_grad(model.vae_mut(), ws, &expanded, step, rng);
        ws.expanded_x = x;
        ws.expanded_labels = labels;
        ws.row_weights = weights;
        ws.image_of_row = image_of_row;
        let mut terms = result?;
        terms.images = rows;
        // −log p(y) for every image.
        terms.kl += rows as f64 * (classes as f64).ln();

        let VaeWorkspace {
            log_probs,
            d_class_logits,
            row_loss,
            ..
        } = ws;
        d_class_logits.clear();
        d_class_logits.resize(rows * classes, T::zero());
        let counted = m2_class_logit_grad(
            log_probs,
            row_loss,
            batch.labels,
            u,
            classes,
            weight,
            d_class_logits,
            &mut terms.kl,
            &mut terms.classification,
        );
        terms.classified += counted.classified;
        terms.errors += counted.errors;
        model.backward_classifier(ws, batch.x, rows)?;
        // Eq. 9 as a whole: its KL weight is 1, so the objective is the loss itself.
        terms.objective = terms.loss();
        Ok(terms)
    }
}
