//! M2 of Kingma, Rezende, Mohamed & Welling 2014 ("Semi-supervised learning with deep generative
//! models"): the conditional VAE p(x | y, z) p(y) p(z) with a classifier q(y | x), trained on a few
//! labelled images and many unlabelled ones.
//!
//! What it minimises is in `objective::semi_supervised`; here are its classifier, the rows
//! repeated over classes, and its score.

use super::classifier::argmax_rows;
use super::vae::{Vae, VaeWorkspace};
use super::ImageScore;
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::kernels::reduce::log_sum_exp;
use crate::kernels::rng::Rng;
use crate::scalar::Scalar;

pub(crate) fn no_classifier() -> Error {
    Error::InvalidArgument("this model has no classifier (only m2 models do)".into())
}

impl<T: Scalar> Vae<T> {
    fn classifier_or_err(&self) -> Result<&super::Classifier> {
        self.classifier.as_ref().ok_or_else(no_classifier)
    }

    /// log q(y | x) `[rows, classes]` into `ws.log_probs`.
    pub(crate) fn class_log_probs(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
    ) -> Result<()> {
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
    pub(crate) fn expand_over_classes(&self, ws: &mut VaeWorkspace<T>, batch: &Batch<'_, T>) {
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
