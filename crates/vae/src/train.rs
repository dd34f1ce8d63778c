//! The training loop: one plain loop for every model (`Trainable`) and its `Objective`. It returns
//! statistics through callbacks and prints nothing.

use crate::batch::RankShare;
use crate::collective::{Collective, SingleProcess};
use crate::config::{Binarize, TrainConfig};
use crate::data::{BatchLoader, Codes, Dataset, LabelledSubset, Split};
use crate::error::{Error, Result};
use crate::kernels::rng::{permutation, stream, Purpose};
use crate::objective::{LossTerms, Objective, Step, Trainable};
use crate::optim::{schedule, Optimizer};
use std::time::Instant;

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
    fn epoch_pool(&self) -> Vec<usize> {
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

/// Where an epoch stands, reported after every batch.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// 1-based.
    pub epoch: usize,
    /// 1-based, within the epoch.
    pub batch: usize,
    /// Batches in the epoch.
    pub batches: usize,
    /// Running negative ELBO per image over the epoch so far.
    pub loss_per_image: f64,
    /// Images trained on so far in the epoch.
    pub images: usize,
}

/// One finished epoch.
#[derive(Clone, Copy, Debug)]
pub struct EpochReport {
    /// 1-based: epochs completed so far.
    pub epoch: usize,
    /// The training pass's terms, summed over the epoch's images.
    pub train: LossTerms,
    /// The test split's terms after the epoch.
    pub test: LossTerms,
    /// Seconds spent in the training pass (not the test pass).
    pub train_seconds: f64,
    /// Training images per second of `train_seconds`.
    pub images_per_second: f64,
}

/// Called after every epoch with the model, the optimizer and the epoch's numbers: where a caller
/// saves checkpoints and metrics. An error stops training.
pub type OnEpoch<'a, M> = dyn FnMut(&M, &Optimizer<f32>, &EpochReport) -> Result<()> + 'a;

/// Trains from epoch `start_epoch` (epochs completed so far) to `config.epochs`.
/// Every random draw comes from a stream named by the seed, epoch and batch, so a run resumed
/// at an epoch boundary continues exactly as an uninterrupted one.
#[allow(clippy::too_many_arguments)]
pub fn train<M: Trainable<f32>, O: Objective<f32, M>>(
    model: &mut M,
    objective: &O,
    optimizer: &mut Optimizer<f32>,
    data: &TrainingData,
    config: &TrainConfig,
    start_epoch: usize,
    on_batch: &mut dyn FnMut(&Progress),
    on_epoch: &mut OnEpoch<'_, M>,
) -> Result<()> {
    train_across(
        &SingleProcess,
        model,
        objective,
        optimizer,
        data,
        config,
        start_epoch,
        on_batch,
        on_epoch,
    )
}

/// `train` shared among the processes of `world` (data parallelism): every rank holds the whole
/// model, starting from rank 0's weights; each minibatch of `batch_size` images is drawn as one
/// process draws it and split among the ranks (its unlabelled and its labelled images alike),
/// each rank computes the gradient of its share, the gradients and loss sums are summed across
/// ranks, and every rank takes the same optimizer step. Held-out batches are dealt out in turn.
/// Each rank draws the whole minibatch's noise and keeps its rows, so a run on N ranks is the
/// one-process run up to the order of the gradient sums (float rounding), except that free bits
/// clamp each rank's share of the per-dimension KL. With one process this is `train`.
#[allow(clippy::too_many_arguments)]
pub fn train_across<M: Trainable<f32>, O: Objective<f32, M>>(
    world: &dyn Collective,
    model: &mut M,
    objective: &O,
    optimizer: &mut Optimizer<f32>,
    data: &TrainingData,
    config: &TrainConfig,
    start_epoch: usize,
    on_batch: &mut dyn FnMut(&Progress),
    on_epoch: &mut OnEpoch<'_, M>,
) -> Result<()> {
    config.validate()?;
    if world.size() > 1 {
        world.broadcast(model.parameters_mut().values_mut())?;
    }
    let mut workspace = M::Workspace::default();
    let mut loader = BatchLoader::default();
    for epoch in start_epoch..config.epochs {
        let started = Instant::now();
        let train = train_epoch(
            world,
            model,
            objective,
            optimizer,
            &mut workspace,
            &mut loader,
            data,
            config,
            epoch,
            on_batch,
        )?;
        let train_seconds = started.elapsed().as_secs_f64();
        let test = evaluate_loss_across(
            world,
            model,
            &mut workspace,
            &mut loader,
            data.test_examples(),
            config.batch_size.max(500),
            config.seed,
        )?;
        let report = EpochReport {
            epoch: epoch + 1,
            train,
            test,
            train_seconds,
            images_per_second: train.images as f64 / train_seconds.max(1e-9),
        };
        on_epoch(model, optimizer, &report)?;
    }
    Ok(())
}

/// One pass over the shuffled training set. `epoch` is 0-based.
#[allow(clippy::too_many_arguments)]
fn train_epoch<M: Trainable<f32>, O: Objective<f32, M>>(
    world: &dyn Collective,
    model: &mut M,
    objective: &O,
    optimizer: &mut Optimizer<f32>,
    workspace: &mut M::Workspace,
    loader: &mut BatchLoader,
    data: &TrainingData,
    config: &TrainConfig,
    epoch: usize,
    on_batch: &mut dyn FnMut(&Progress),
) -> Result<LossTerms> {
    let seed = config.seed;
    let pool = data.epoch_pool();
    let order: Vec<usize> = permutation(
        &mut stream(seed, Purpose::Shuffle, &[epoch as u64]),
        pool.len(),
    )
    .into_iter()
    .map(|i| pool[i])
    .collect();
    // Labelled images added to every batch of unlabelled ones.
    let extra = data
        .semi_supervised
        .as_ref()
        .filter(|s| !s.subset.unlabelled.is_empty());
    let batches = order.len().div_ceil(config.batch_size);
    let mut totals = LossTerms::default();
    let mut indices = Vec::new();
    let mut share = RankShare::default();
    for (b, chunk) in order.chunks(config.batch_size).enumerate() {
        let coordinates = [epoch as u64, b as u64];
        indices.clear();
        indices.extend_from_slice(chunk);
        if let Some(s) = extra {
            let labelled = &s.subset.labelled;
            let draw = permutation(
                &mut stream(seed, Purpose::Select, &coordinates),
                labelled.len(),
            );
            indices.extend(
                draw.iter()
                    .take(config.labelled_per_batch(labelled.len()))
                    .map(|&i| labelled[i]),
            );
        }
        let mut binarize = data
            .dynamic
            .then(|| stream(seed, Purpose::Binarize, &coordinates));
        let mut batch = match &data.codes {
            Some(codes) => {
                let mut draw = stream(seed, Purpose::Features, &coordinates);
                loader.load_codes(&codes.train, &indices, Some(&mut draw))
            }
            None => loader.load(&data.train, &indices, binarize.as_mut()),
        };
        if extra.is_some() {
            batch.unlabelled = chunk.len();
        }
        if world.size() > 1 {
            batch = share.of(&batch, world.rank(), world.size());
        }
        if b == 0 {
            // Afterwards each optimizer step leaves the gradients zeroed.
            model.parameters_mut().zero_grads();
        }
        // Every rank draws the whole minibatch's noise and keeps its rows (`Batch::share`).
        let mut noise = stream(seed, Purpose::Noise, &coordinates);
        let step = Step {
            epoch,
            batch: b,
            batches_per_epoch: batches,
        };
        let mut terms = objective.loss_and_grad(model, workspace, &batch, &step, &mut noise)?;
        if world.size() > 1 {
            // The gradient of the whole batch's loss is the sum of the ranks' shares.
            world.all_reduce_sum(model.parameters_mut().update_view().1)?;
            terms = reduce_terms(world, &terms)?;
        }
        let diverged = |what| Error::NonFinite {
            epoch: epoch + 1,
            batch: b + 1,
            what,
        };
        if !(terms.loss().is_finite() && terms.objective.is_finite()) {
            return Err(diverged("the loss"));
        }
        let lr =
            config.optimizer.lr * schedule::factor(config.optimizer.schedule, &step, config.epochs);
        let (values, grads) = model.parameters_mut().update_view();
        if !optimizer.step_with_lr(values, grads, lr)? {
            return Err(diverged("a gradient"));
        }
        totals.add(&terms);
        on_batch(&Progress {
            epoch: epoch + 1,
            batch: b + 1,
            batches,
            loss_per_image: totals.loss_per_image(),
            images: totals.images,
        });
    }
    Ok(totals)
}

/// `terms` summed over the ranks of `world`.
fn reduce_terms(world: &dyn Collective, terms: &LossTerms) -> Result<LossTerms> {
    let mut sums = terms.to_sums();
    world.all_reduce_sum_f64(&mut sums)?;
    Ok(LossTerms::from_sums(&sums))
}

/// The one-sample negative ELBO over held-out data, with fixed noise so epochs are comparable.
pub fn evaluate_loss<M: Trainable<f32>>(
    model: &M,
    workspace: &mut M::Workspace,
    loader: &mut BatchLoader,
    examples: Examples<'_>,
    batch_size: usize,
    seed: u64,
) -> Result<LossTerms> {
    evaluate_loss_across(
        &SingleProcess,
        model,
        workspace,
        loader,
        examples,
        batch_size,
        seed,
    )
}

/// `evaluate_loss` with the batches dealt out among the ranks of `world` in turn and the sums
/// reduced; each batch keeps its noise stream, so only the order of the final sums differs from
/// one process.
pub fn evaluate_loss_across<M: Trainable<f32>>(
    world: &dyn Collective,
    model: &M,
    workspace: &mut M::Workspace,
    loader: &mut BatchLoader,
    examples: Examples<'_>,
    batch_size: usize,
    seed: u64,
) -> Result<LossTerms> {
    let mut totals = LossTerms::default();
    let indices: Vec<usize> = (0..examples.len()).collect();
    for (b, chunk) in indices.chunks(batch_size.max(1)).enumerate() {
        if b % world.size() != world.rank() {
            continue;
        }
        let batch = match examples {
            Examples::Images(split) => loader.load(split, chunk, None),
            Examples::Codes(codes) => loader.load_codes(codes, chunk, None),
        };
        let mut noise = stream(seed, Purpose::Evaluate, &[b as u64]);
        totals.add(&model.held_out_loss(workspace, &batch, 1, &mut noise)?);
    }
    if world.size() > 1 {
        totals = reduce_terms(world, &totals)?;
    }
    Ok(totals)
}
