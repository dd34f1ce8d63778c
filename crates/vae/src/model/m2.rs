//! M2 of Kingma, Rezende, Mohamed & Welling 2014 ("Semi-supervised learning with deep generative
//! models"): the conditional VAE p(x | y, z) p(y) p(z) with a classifier q(y | x), trained on a few
//! labelled images and many unlabelled ones.
//!
//! What it minimises is in `objective::semi_supervised`; here are its classifier, the rows
//! repeated over classes, and its score.

use super::classifier::argmax_rows;
use super::parts::check_samples;
use super::vae::{Vae, VaeWorkspace};
use super::workspace::score_terms;
use super::{Classifier, ImageScore};
use super::{Generative, Trainable};
use crate::batch::{mismatches, Batch};
use crate::config::{ModelConfig, ModelKind};
use crate::error::{Error, Result};
use crate::kernels::reduce::log_sum_exp;
use crate::kernels::rng::Rng;
use crate::kernels::rows;
use crate::loss_terms::LossTerms;
use crate::nn::Parameters;
use crate::scalar::Scalar;

/// The error for asking a model without q(y | x) to classify.
pub(crate) fn no_classifier() -> Error {
    Error::InvalidArgument("this model has no classifier (only m2 models do)".into())
}

/// The conditional VAE `vae` with the classifier q(y | x), whose weights live in the same store.
#[derive(Clone, Debug)]
pub struct M2<T> {
    pub(crate) vae: Vae<T>,
    pub(crate) classifier: Classifier,
}

impl<T: Scalar> M2<T> {
    /// A freshly initialised M2: encoder, decoder, then `classifier.*`, drawn from the stream
    /// `(seed, Init)`.
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let layers = match (config.kind, &config.classifier) {
            (ModelKind::M2, Some(layers)) => layers,
            _ => {
                return Err(Error::Config(format!(
                    "a {:?} model without a classifier is not M2",
                    config.kind
                )))
            }
        };
        let (in_shape, classes) = (config.image.network_input(layers, 0), config.classes);
        let (vae, classifier) = Vae::build(config, seed, |b| {
            Classifier::new(&mut b.pp("classifier"), &in_shape, layers, classes)
        })?;
        Ok(M2 { vae, classifier })
    }

    /// The conditional VAE p(x | y, z), q(z | x, y) inside M2.
    pub fn vae(&self) -> &Vae<T> {
        &self.vae
    }

    /// The conditional VAE, for its objective's passes.
    pub(crate) fn vae_mut(&mut self) -> &mut Vae<T> {
        &mut self.vae
    }

    /// The same model in another precision.
    pub fn cast<U: Scalar>(&self) -> M2<U> {
        M2 {
            vae: self.vae.cast(),
            classifier: self.classifier.clone(),
        }
    }

    /// Floating-point operations of one image's forward pass through the products.
    pub fn forward_flops_per_image(&self) -> f64 {
        self.vae.forward_flops_per_image() + 2.0 * self.classifier.network().macs_per_row() as f64
    }

    /// log q(y | x) `[rows, classes]` into `ws.log_probs`.
    pub(crate) fn class_log_probs(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
    ) -> Result<()> {
        self.vae.check_images(x, rows)?;
        self.classifier.forward(
            self.vae.params.values(),
            x,
            rows,
            &mut ws.classifier,
            &mut ws.log_probs,
        )
    }

    /// The backward pass through q(y | x) of the latest `class_log_probs` (the same `x`), from
    /// the gradient with respect to its logits in `ws.d_class_logits`.
    pub(crate) fn backward_classifier(
        &mut self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
    ) -> Result<()> {
        let (values, grads) = self.vae.params.split_mut();
        self.classifier.backward(
            values,
            grads,
            x,
            rows,
            &mut ws.classifier,
            &ws.d_class_logits,
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
        out.extend(argmax_rows(&ws.log_probs, self.vae.classes()));
        Ok(())
    }

    /// `x` with each of the first `unlabelled` rows repeated once per class (labels 0..C, weights
    /// q(y | x)), then the labelled rows with their own labels and weight 1, into `ws`, with the
    /// image each row repeats.
    pub(crate) fn expand_over_classes(&self, ws: &mut VaeWorkspace<T>, batch: &Batch<'_, T>) {
        let (pixels, classes) = (self.vae.pixels(), self.vae.classes());
        let VaeWorkspace {
            expanded_x,
            expanded_labels,
            row_weights,
            image_of_row,
            log_probs,
            ..
        } = ws;
        let expanded = rows::Expanded {
            x: expanded_x,
            labels: expanded_labels,
            weights: row_weights,
            image_of_row,
        };
        rows::repeat_over_classes(
            batch.x,
            batch.labels,
            batch.rows,
            pixels,
            batch.unlabelled,
            classes,
            log_probs,
            expanded,
        );
    }
}

impl<T: Scalar> Trainable<T> for M2<T> {
    type Workspace = VaeWorkspace<T>;

    fn parameters(&self) -> &Parameters<T> {
        &self.vae.params
    }

    fn parameters_mut(&mut self) -> &mut Parameters<T> {
        &mut self.vae.params
    }

    /// The held-out −U(x) of eq. 7, and q(y | x)'s errors against the true labels.
    fn held_out_loss(
        &self,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let mut scores = Vec::with_capacity(batch.rows);
        self.score(ws, batch.x, &[], batch.rows, samples, rng, &mut scores)?;
        let mut terms = score_terms(&scores);
        let mut predicted = Vec::with_capacity(batch.rows);
        self.classify(ws, batch.x, batch.rows, &mut predicted)?;
        terms.classified = batch.rows;
        terms.errors = mismatches(&predicted, batch.labels);
        Ok(terms)
    }
}

/// M2 encodes and decodes as its conditional VAE; its score sums over the labels.
impl<T: Scalar> Generative<T> for M2<T> {
    fn config(&self) -> &ModelConfig {
        &self.vae.config
    }

    fn encode(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.vae.encode(ws, x, labels, rows, out)
    }

    fn encode_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.vae.encode_means(ws, x, labels, rows, out)
    }

    fn decode(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.vae.decode(ws, z, labels, rows, out)
    }

    /// M2's score: log p(x) = log Σ_y p(y) p(x | y), each p(x | y) importance-sampled with `k`
    /// samples; the ELBO terms are −U(x)'s, averaged under q(y | x).
    #[allow(clippy::too_many_arguments)]
    fn score(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        check_samples(k)?;
        let classes = self.vae.classes();
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
        let result = self.vae.score_given_labels(
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
