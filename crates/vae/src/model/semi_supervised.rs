//! M2 of Kingma, Rezende, Mohamed & Welling 2014 ("Semi-supervised learning with deep generative
//! models"): the conditional VAE p(x | y, z) p(y) p(z) with a classifier q(y | x), trained on a few
//! labelled images and many unlabelled ones.
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

use super::classifier::argmax_rows;
use super::vae::{ElboRows, SharedImages, Vae, VaeWorkspace};
use super::ImageScore;
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::kernels::reduce::log_sum_exp;
use crate::kernels::rng::Rng;
use crate::objective::LossTerms;
use crate::scalar::Scalar;

fn no_classifier() -> Error {
    Error::InvalidArgument("this model has no classifier (only m2 models do)".into())
}

impl<T: Scalar> Vae<T> {
    fn classifier_or_err(&self) -> Result<&super::Classifier> {
        self.classifier.as_ref().ok_or_else(no_classifier)
    }

    /// log q(y | x) `[rows, classes]` into `ws.log_probs`.
    fn class_log_probs(&self, ws: &mut VaeWorkspace<T>, x: &[T], rows: usize) -> Result<()> {
        self.check_images(x, rows)?;
        let classifier = self.classifier_or_err()?;
        classifier.forward(
            self.params.values(),
            x,
            rows,
            &mut ws.classifier,
            &mut ws.log_probs,
        )
    }

    /// M2's prediction argmax_y q(y | x) for each image of `x [rows, pixels]`.
    pub fn classify(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        self.class_log_probs(ws, x, rows)?;
        out.clear();
        out.extend(argmax_rows(&ws.log_probs, self.classes()));
        Ok(())
    }

    /// `x` with each of the first `unlabelled` rows repeated once per class (labels 0..C, weights
    /// q(y | x)), then the labelled rows with their own labels and weight 1, into `ws`, with the
    /// image each row repeats.
    fn expand_over_classes(&self, ws: &mut VaeWorkspace<T>, batch: &Batch<'_, T>) {
        let (pixels, classes) = (self.pixels(), self.classes());
        let u = batch.unlabelled;
        let VaeWorkspace {
            expanded_x,
            expanded_labels,
            row_weights,
            image_of_row,
            log_probs,
            ..
        } = ws;
        expanded_x.clear();
        expanded_labels.clear();
        row_weights.clear();
        image_of_row.clear();
        for (r, image) in batch.x.chunks_exact(pixels).take(u).enumerate() {
            for c in 0..classes {
                expanded_x.extend_from_slice(image);
                expanded_labels.push(c as u8);
                row_weights.push(log_probs[r * classes + c].exp());
                image_of_row.push(r);
            }
        }
        expanded_x.extend_from_slice(&batch.x[u * pixels..]);
        expanded_labels.extend_from_slice(&batch.labels[u..]);
        row_weights.extend(std::iter::repeat_n(T::one(), batch.rows - u));
        image_of_row.extend(u..batch.rows);
    }

    /// The M2 objective of the module comment over one batch, its gradient accumulated into the
    /// parameters' gradients.
    pub(super) fn semi_supervised_loss_and_grad(
        &mut self,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let (rows, u, classes) = (batch.rows, batch.unlabelled, self.classes());
        if u > rows {
            return Err(Error::InvalidArgument(format!(
                "{u} unlabelled rows in a batch of {rows}"
            )));
        }
        if batch.labels.len() != rows {
            return Err(Error::shape("batch labels", rows, batch.labels.len()));
        }
        self.check_labels(&batch.labels[u..], rows - u)?;
        let weight = T::of(batch.classification_weight);
        self.class_log_probs(ws, batch.x, rows)?;
        self.expand_over_classes(ws, batch);
        let expanded_rows = u * classes + (rows - u);
        let x = std::mem::take(&mut ws.expanded_x);
        let labels = std::mem::take(&mut ws.expanded_labels);
        let weights = std::mem::take(&mut ws.row_weights);
        let image_of_row = std::mem::take(&mut ws.image_of_row);
        let Vae {
            params,
            encoder,
            decoder,
            classifier,
            ..
        } = self;
        let expanded = ElboRows {
            x: &x,
            labels: &labels,
            rows: expanded_rows,
            weights: Some(&weights),
            shared: Some(SharedImages {
                images: batch.x,
                image_of_row: &image_of_row,
            }),
        };
        let result = Vae::elbo_and_grad(
            params, encoder, decoder, classes, ws, &expanded, samples, rng,
        );
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
            classifier: classifier_buffers,
            ..
        } = ws;
        d_class_logits.clear();
        d_class_logits.resize(rows * classes, T::zero());
        for r in 0..rows {
            let lp = &log_probs[r * classes..(r + 1) * classes];
            let d = &mut d_class_logits[r * classes..(r + 1) * classes];
            if r < u {
                let f = &row_loss[r * classes..(r + 1) * classes];
                let g = |c: usize| f[c] + lp[c];
                let mean: T = (0..classes).map(|c| lp[c].exp() * g(c)).sum();
                for c in 0..classes {
                    d[c] = lp[c].exp() * (g(c) - mean);
                    terms.kl += (lp[c].exp() * lp[c]).as_f64();
                }
            } else {
                let y = batch.labels[r] as usize;
                for c in 0..classes {
                    let target = if c == y { T::one() } else { T::zero() };
                    d[c] = weight * (lp[c].exp() - target);
                }
                terms.classification += (weight * -lp[y]).as_f64();
                terms.classified += 1;
                let predicted = argmax_rows(lp, classes).next().map(usize::from);
                terms.errors += usize::from(predicted != Some(y));
            }
        }
        let classifier = classifier.as_ref().ok_or_else(no_classifier)?;
        let (values, grads) = params.split_mut();
        classifier.backward(
            values,
            grads,
            batch.x,
            rows,
            classifier_buffers,
            d_class_logits,
        )?;
        Ok(terms)
    }

    /// M2's score: log p(x) = log Σ_y p(y) p(x | y), each p(x | y) importance-sampled with `k`
    /// samples; the ELBO terms are −U(x)'s, averaged under q(y | x).
    pub(super) fn score_marginal(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        let classes = self.classes();
        self.class_log_probs(ws, x, rows)?;
        let labels = vec![0u8; rows];
        let batch = Batch {
            unlabelled: rows,
            ..Batch::new(x, &labels, rows)
        };
        self.expand_over_classes(ws, &batch);
        let expanded_x = std::mem::take(&mut ws.expanded_x);
        let expanded_labels = std::mem::take(&mut ws.expanded_labels);
        let mut per_class = Vec::with_capacity(rows * classes);
        let result = self.score_given_labels(
            ws,
            &expanded_x,
            &expanded_labels,
            rows * classes,
            k,
            rng,
            &mut per_class,
        );
        ws.expanded_x = expanded_x;
        ws.expanded_labels = expanded_labels;
        result?;
        let log_c = (classes as f64).ln();
        for (r, scores) in per_class.chunks_exact(classes).enumerate() {
            let lp = &ws.log_probs[r * classes..(r + 1) * classes];
            let mut score = ImageScore {
                reconstruction: 0.0,
                kl: log_c,
                log_likelihood: 0.0,
            };
            for (s, &l) in scores.iter().zip(lp) {
                let (l, pi) = (l.as_f64(), l.exp().as_f64());
                score.reconstruction += pi * s.reconstruction;
                score.kl += pi * (s.kl + l);
            }
            let joint: Vec<f64> = scores.iter().map(|s| s.log_likelihood).collect();
            score.log_likelihood = log_sum_exp(&joint) - log_c;
            out.push(score);
        }
        Ok(())
    }
}
