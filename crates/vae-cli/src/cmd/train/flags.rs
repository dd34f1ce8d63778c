//! A run from `vae train`'s flags: a fresh one (its directory, its folder options, its
//! configuration) or a resumed one (only the epochs, threads, data directory and output may be
//! given).

use super::options::run_options;
use crate::cli::TrainArgs;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use vae::checkpoint;
use vae::collective::Collective;
use vae::config::{BuildFor, Spelling, DEFAULT_ACTIVE_THRESHOLD};
use vae::data::folder::FolderOptions;
use vae::data::{Dataset, DatasetSpec};
use vae::run::{MemoryLimit, Observer, ResumeOptions, Run, M1};
use vae::run_dir::{next_run_dir, run_name};
use vae::RunConfig;

/// The directory a new run writes to; refuses one that already holds a run.
pub(super) fn fresh_dir(args: &TrainArgs, spec: &str) -> Result<PathBuf> {
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => next_run_dir(Path::new("runs"), &run_name(&DatasetSpec::parse(spec)?)),
    };
    if dir.join(checkpoint::CONFIG_FILE).exists() {
        bail!(
            "{} already holds a run; pass --resume {} to continue it, or choose another --out",
            dir.display(),
            dir.display()
        );
    }
    Ok(dir)
}

/// `--channels` and `--size` for a `folder:` data set (refused for the others); the split uses
/// the run's seed.
pub(super) fn folder_options(args: &TrainArgs, spec: &str) -> Result<FolderOptions> {
    let is_folder = matches!(DatasetSpec::parse(spec)?, DatasetSpec::Folder(_));
    if !is_folder && (args.channels.is_some() || args.size.is_some()) {
        bail!(
            "--channels and --size apply to folder: data sets only; {spec} has a fixed image shape"
        );
    }
    let defaults = FolderOptions::default();
    let (height, width) = args.size.unwrap_or((defaults.height, defaults.width));
    Ok(FolderOptions {
        channels: args.channels.unwrap_or(defaults.channels),
        height,
        width,
        split_seed: args.seed.unwrap_or(0),
    })
}

/// A new run from the command-line options, for the images of `dataset`; with `m1`, an M2 on
/// M1's codes.
pub(super) fn fresh(
    args: &TrainArgs,
    spec: String,
    folder: FolderOptions,
    dataset: &Dataset,
    m1: Option<M1>,
    dir: PathBuf,
    max_memory: Option<MemoryLimit>,
) -> Result<Run> {
    let parsed = DatasetSpec::parse(&spec)?;
    let (features, m1) = match m1 {
        Some(m1) => {
            let threshold = args.active_threshold.unwrap_or(DEFAULT_ACTIVE_THRESHOLD);
            let (features, codes) = m1
                .features(dataset, threshold)
                .context("choosing M1's code dimensions (--features, --active-threshold)")?;
            (Some(features), Some((m1, Some(codes))))
        }
        None => (None, None),
    };
    let target = BuildFor {
        image: dataset.shape,
        classes: dataset.class_names.len(),
        defaults: parsed.defaults(),
        features,
        attributes: dataset.attribute_names.clone(),
    };
    let (model, train) = run_options(args)?.build(&target, Spelling::Flags)?;
    let config = RunConfig {
        format: RunConfig::FORMAT,
        dataset: spec,
        folder,
        model,
        train,
        // Remembered, so `vae eval`, the pictures and `--resume` find the data again.
        data_dir: match &args.data.data_dir {
            Some(dir) => Some(
                std::fs::canonicalize(dir)
                    .with_context(|| format!("resolving --data-dir {}", dir.display()))?,
            ),
            None => None,
        },
    };
    Ok(Run::create(config, dir, m1, max_memory)?)
}

pub(super) fn resume(
    args: &TrainArgs,
    dir: &Path,
    max_memory: Option<MemoryLimit>,
    world: &dyn Collective,
    observer: &mut dyn Observer,
) -> Result<Run> {
    let fixed = [
        ("--dataset", args.data.dataset.is_some()),
        ("--model", args.kind.is_some()),
        ("--labels", args.labels.is_some()),
        ("--alpha", args.alpha.is_some()),
        ("--feature-weight", args.feature_weight.is_some()),
        ("--equilibrium-margin", args.equilibrium_margin.is_some()),
        ("--real-weight", args.real_weight.is_some()),
        ("--classifier-hidden", args.classifier_hidden.is_some()),
        ("--layers", args.layers.is_some()),
        ("--channels", args.channels.is_some()),
        ("--size", args.size.is_some()),
        ("--gaussian-variance", args.gaussian_variance.is_some()),
        ("--batch-size", args.batch_size.is_some()),
        ("--lr", args.lr.is_some()),
        ("--optimizer", args.optimizer.is_some()),
        ("--weight-decay", args.weight_decay.is_some()),
        ("--clip-norm", args.clip_norm.is_some()),
        ("--lr-schedule", args.lr_schedule.is_some()),
        ("--lr-gamma", args.lr_gamma.is_some()),
        ("--eps", args.eps.is_some()),
        ("--arch", args.arch.is_some()),
        ("--hidden", args.hidden.is_some()),
        ("--latent", args.latent.is_some()),
        ("--top-latent", args.top_latent.is_some()),
        ("--top-hidden", args.top_hidden.is_some()),
        ("--activation", args.activation.is_some()),
        ("--likelihood", args.likelihood.is_some()),
        ("--binarize", args.binarize.is_some()),
        ("--samples", args.samples.is_some()),
        ("--objective", args.objective.is_some()),
        ("--beta", args.beta.is_some()),
        ("--kl-warmup", args.kl_warmup.is_some()),
        ("--free-bits", args.free_bits.is_some()),
        ("--seed", args.seed.is_some()),
        ("--features", args.features.is_some()),
        ("--active-threshold", args.active_threshold.is_some()),
        ("--labelled-per-batch", args.labelled_per_batch.is_some()),
        ("--init-std", args.init_std.is_some()),
        ("--steps", args.steps.is_some()),
        ("--lstm", args.lstm.is_some()),
        ("--read", args.read.is_some()),
        ("--write", args.write.is_some()),
        ("--no-attention", args.no_attention),
    ];
    let given: Vec<&str> = fixed.iter().filter(|(_, g)| *g).map(|(f, _)| *f).collect();
    if !given.is_empty() {
        bail!(
            "{} cannot change when resuming: the run's config.json fixes them (only --epochs, --threads, --data-dir and --out may be given)",
            given.join(", ")
        );
    }
    let options = ResumeOptions {
        epochs: args.epochs,
        out: args.out.clone(),
        max_memory,
    };
    Run::resume(dir, &options, world, observer)
        .with_context(|| format!("resuming {}", dir.display()))
}

/// The bound `--max-memory` sets on a training step's memory, when given.
pub(super) fn max_memory(text: Option<&str>) -> Result<Option<MemoryLimit>> {
    Ok(match text {
        Some(text) => Some((vae::memory::parse_size(text)?, "set by --max-memory")),
        None => None,
    })
}
