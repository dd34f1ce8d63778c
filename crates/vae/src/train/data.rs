//! The data a run trains on: the splits after binarization, M2's labelled subset, M1's codes.

use crate::config::{Binarize, TrainConfig};
use crate::data::{Codes, Dataset, LabelledSubset, Split};
use crate::error::{Error, Result};
use crate::kernels::rng::{stream, Purpose};

/// The training and test splits after the chosen binarization.
#[derive(Clone, Debug)]
pub struct TrainingData {
    /// The training split (binarized once when the binarization is static).
    pub train: Split,
    /// Fixed for the whole run (binarized once when training on binary data), so test numbers are
    /// comparable across epochs and across models.
    pub test: Split,
    /// Whether each training batch is drawn afresh from the grey levels.
    pub dynamic: bool,
    /// Semi-supervised training: which training images keep their labels.
    pub semi_supervised: Option<SemiSupervised>,
    /// M1 + M2: the images as M1's codes, which the model reads instead of pixels.
    pub codes: Option<CodeData>,
}

/// The training and test images as another model's codes (`model::stacked`): training batches
/// are fresh draws from each image's posterior, test batches its means.
#[derive(Clone, Debug)]
pub struct CodeData {
    /// The training images' codes, drawn afresh each batch.
    pub train: Codes,
    /// The test images' codes, read as their means.
    pub test: Codes,
}

/// What a pass over held-out data reads.
#[derive(Clone, Copy, Debug)]
pub enum Examples<'a> {
    /// Images of a split.
    Images(&'a Split),
    /// Another model's codes of them.
    Codes(&'a Codes),
}

impl Examples<'_> {
    /// How many examples.
    pub fn len(&self) -> usize {
        match self {
            Examples::Images(split) => split.len(),
            Examples::Codes(codes) => codes.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How M2 sees the training set: an epoch is one pass over the unlabelled images, and every batch
/// also takes `batch size` labelled images (all of them when there are fewer), drawn afresh, so the
/// few labels are seen at every step.
#[derive(Clone, Debug)]
pub struct SemiSupervised {
    /// The labelled images and their class-balanced draw.
    pub subset: LabelledSubset,
    /// The weight of each labelled row's −log q(y | x) in a batch's loss (see `semi_supervised`).
    pub classification_weight: f64,
}

impl TrainingData {
    /// The splits of `dataset` as training reads them: `binarize` applied with streams named by
    /// `seed` (a static binarization once here, a dynamic one batch by batch), the test split
    /// fixed.
    pub fn prepare(dataset: Dataset, binarize: Binarize, seed: u64) -> Self {
        let test = evaluation_split(dataset.test, binarize);
        match binarize {
            Binarize::None => TrainingData {
                train: dataset.train,
                test,
                dynamic: false,
                semi_supervised: None,
                codes: None,
            },
            Binarize::Dynamic => TrainingData {
                train: dataset.train,
                test,
                dynamic: true,
                semi_supervised: None,
                codes: None,
            },
            Binarize::Static => TrainingData {
                train: dataset
                    .train
                    .binarized(&mut stream(seed, Purpose::Binarize, &[u64::MAX])),
                test,
                dynamic: false,
                semi_supervised: None,
                codes: None,
            },
        }
    }

    /// Keeps the labels of `labels` training images, `labels / classes` per class chosen with
    /// the seed; α defaults to Kingma et al.'s 0.1 · N.
    ///
    /// Eq. 9 of the paper, J = Σ_unlabelled −U + Σ_labelled −L + α · mean_labelled(−log q(y | x)),
    /// is estimated per batch of `b_u` unlabelled and `b_l` labelled images at the unlabelled
    /// images' scale, so each labelled −log q(y | x) weighs α · b_u / (N_u · b_l): about 0.1 with
    /// the defaults. The labelled images' own bound −L counts 1 each, like an unlabelled image's:
    /// more than eq. 9 gives it, so that the decoder learns what the labels mean from the start.
    pub fn semi_supervised(
        mut self,
        labels: usize,
        classes: usize,
        alpha: Option<f64>,
        config: &TrainConfig,
    ) -> Result<Self> {
        let (batch_size, seed) = (config.batch_size, config.seed);
        let subset = LabelledSubset::balanced(
            &self.train.labels,
            labels,
            classes,
            &mut stream(seed, Purpose::Select, &[u64::MAX]),
        )?;
        let alpha = alpha.unwrap_or(0.1 * self.train.len() as f64);
        let unlabelled = subset.unlabelled.len();
        let classification_weight = if unlabelled == 0 {
            // Every image labelled: batches estimate J at the labelled images' scale.
            alpha / labels as f64
        } else {
            let labelled_per_batch = config.labelled_per_batch(labels);
            alpha * batch_size as f64 / (unlabelled as f64 * labelled_per_batch as f64)
        };
        self.semi_supervised = Some(SemiSupervised {
            classification_weight,
            subset,
        });
        Ok(self)
    }

    /// The same data as `train` and `test`, codes of the training and test images in order:
    /// training batches draw from their posteriors, test batches take the means.
    pub fn with_codes(mut self, mut train: Codes, mut test: Codes) -> Result<Self> {
        if train.len() != self.train.len() || test.len() != self.test.len() {
            return Err(Error::InvalidArgument(format!(
                "{} training and {} test codes for {} and {} images",
                train.len(),
                test.len(),
                self.train.len(),
                self.test.len()
            )));
        }
        (train.sampled, test.sampled) = (true, false);
        self.dynamic = false;
        self.codes = Some(CodeData { train, test });
        Ok(self)
    }

    /// The held-out data, as the model reads it.
    pub fn test_examples(&self) -> Examples<'_> {
        match &self.codes {
            Some(codes) => Examples::Codes(&codes.test),
            None => Examples::Images(&self.test),
        }
    }

    /// M2's weight of each labelled row's −log q(y | x); 0 without semi-supervised training.
    pub fn classification_weight(&self) -> f64 {
        self.semi_supervised
            .as_ref()
            .map_or(0.0, |s| s.classification_weight)
    }

    /// The images one epoch passes over, in index order.
    pub(super) fn epoch_pool(&self) -> Vec<usize> {
        match &self.semi_supervised {
            Some(s) if !s.subset.unlabelled.is_empty() => s.subset.unlabelled.clone(),
            Some(s) => s.subset.labelled.clone(),
            None => (0..self.train.len()).collect(),
        }
    }

    /// Training steps per epoch at this batch size.
    pub fn batches_per_epoch(&self, batch_size: usize) -> usize {
        self.epoch_pool().len().div_ceil(batch_size.max(1))
    }
}

/// A split as it is scored: grey levels for models trained on grey levels, otherwise one fixed
/// binarization that does not depend on the training seed, so every model trained on binary data
/// is scored on the same binary images.
pub fn evaluation_split(split: Split, binarize: Binarize) -> Split {
    match binarize {
        Binarize::None => split,
        Binarize::Dynamic | Binarize::Static => {
            split.binarized(&mut stream(0, Purpose::TestBinarize, &[]))
        }
    }
}
