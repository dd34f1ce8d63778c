//! The training loop: one plain loop for every model (`Trainable`) and its `Objective`. It returns
//! statistics through callbacks and prints nothing.

mod data;

pub use data::{evaluation_split, CodeData, Examples, SemiSupervised, TrainingData};

use crate::batch::RankShare;
use crate::collective::{Collective, SingleProcess};
use crate::config::{Precision, TrainConfig};
use crate::data::BatchLoader;
use crate::error::{Error, Result};
use crate::kernels::matmul::with_precision;
use crate::kernels::rng::{permutation, stream, Purpose};
use crate::objective::{LossTerms, Objective, Step, Trainable};
use crate::optim::{schedule, Optimizer};
use std::time::Instant;

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
    /// A GAN's running discriminator and generator losses per image, in place of the ELBO.
    pub adversarial: Option<(f64, f64)>,
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
    /// Whether the model is trained adversarially (a GAN): its terms are the discriminator's and
    /// the generator's losses, not an ELBO.
    pub adversarial: bool,
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
    on_batch: &mut dyn FnMut(&Progress) -> Result<()>,
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
    on_batch: &mut dyn FnMut(&Progress) -> Result<()>,
    on_epoch: &mut OnEpoch<'_, M>,
) -> Result<()> {
    config.validate()?;
    if config.precision == Precision::Bf16 && !crate::kernels::bf16::available() {
        return Err(Error::InvalidArgument(
            "bf16 precision needs a CPU with AVX512-BF16, which this one lacks: train in fp32 (the default)".into(),
        ));
    }
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
            adversarial: optimizer.group_count() > 1,
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
    on_batch: &mut dyn FnMut(&Progress) -> Result<()>,
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
        // Every rank draws the whole minibatch's noise and keeps its rows (`Batch::share`); a
        // model trained in phases (one per optimizer group) reads one stream through them all.
        let mut noise = stream(seed, Purpose::Noise, &coordinates);
        let lr = config.optimizer.lr
            * schedule::factor(
                config.optimizer.schedule,
                &Step {
                    epoch,
                    batch: b,
                    batches_per_epoch: batches,
                    phase: 0,
                },
                config.epochs,
            );
        let phases = optimizer.group_count();
        let mut terms = LossTerms::default();
        let mut first_phase = LossTerms::default();
        for phase in 0..phases {
            let step = Step {
                epoch,
                batch: b,
                batches_per_epoch: batches,
                phase,
            };
            // The step's products multiply in the configured precision; scoring stays fp32.
            let mut part = with_precision(config.precision, || {
                objective.loss_and_grad(model, workspace, &batch, &step, &mut noise)
            })?;
            if world.size() > 1 {
                // The gradient of the whole batch's loss is the sum of the ranks' shares.
                world.all_reduce_sum(model.parameters_mut().update_view().1)?;
                part = reduce_terms(world, &part)?;
            }
            let diverged = |what| Error::NonFinite {
                epoch: epoch + 1,
                batch: b + 1,
                what,
            };
            if !part.is_finite() {
                return Err(diverged("the loss"));
            }
            if phase == 0 {
                first_phase = part;
            }
            let (values, grads) = model.parameters_mut().update_view();
            let held_back = !objective.steps(phase, &first_phase);
            if held_back {
                // Held back on this batch: its weights and optimizer state stay as they are.
                grads.fill(0.0);
            } else {
                if phases > 1 {
                    optimizer.keep_only_group(phase, grads);
                }
                if let Some(max_norm) = config.optimizer.clip_norm {
                    // The bound is on the mean loss's gradient; the objective's is the batch's sum.
                    let images = part.images.max(1) as f64;
                    crate::kernels::update::clip_norm(grads, max_norm * images);
                }
                if !optimizer.step_group(phase, values, grads, lr)? {
                    return Err(diverged("a gradient"));
                }
            }
            // Every phase reads the same images: they count once.
            let images = terms.images.max(part.images);
            terms.add(&part);
            terms.images = images;
            if let Some(count) = terms.held_back.get_mut(phase).filter(|_| held_back) {
                *count += 1;
            }
        }
        totals.add(&terms);
        on_batch(&Progress {
            epoch: epoch + 1,
            batch: b + 1,
            batches,
            loss_per_image: totals.loss_per_image(),
            images: totals.images,
            adversarial: (phases > 1).then(|| totals.adversarial_per_image()),
        })?;
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
