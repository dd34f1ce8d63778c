//! `vae train`'s flags as the library's `RunOptions`: the library turns them into a model and its
//! training, with its defaults, and names a refused flag as the command line spells it.

use crate::cli::TrainArgs;
use anyhow::{Context, Result};
use clap::ValueEnum;
use vae::config::options::{parse_choice, Choice};
use vae::config::{LayerLists, RunOptions, Spelling};

/// The options the flags give; `--layers FILE` read and parsed.
pub(super) fn run_options(args: &TrainArgs) -> Result<RunOptions> {
    let layers = match &args.layers {
        Some(path) => {
            let bytes = vae::fs::read_bounded(path, vae::fs::JSON_LIMIT)?;
            Some(LayerLists::from_json(&bytes).with_context(|| format!("{}", path.display()))?)
        }
        None => None,
    };
    Ok(RunOptions {
        model: choice("model", args.kind)?,
        labels: args.labels,
        alpha: args.alpha,
        feature_weight: args.feature_weight,
        equilibrium_margin: args.equilibrium_margin,
        real_weight: args.real_weight,
        classifier_hidden: args.classifier_hidden.clone(),
        active_threshold: args.active_threshold,
        labelled_per_batch: args.labelled_per_batch,
        init_std: args.init_std,
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        optimizer: choice("optimizer", args.optimizer)?,
        weight_decay: args.weight_decay,
        clip_norm: args.clip_norm,
        lr_schedule: choice("lr_schedule", args.lr_schedule)?,
        lr_gamma: args.lr_gamma,
        eps: args.eps,
        arch: choice("arch", args.arch)?,
        hidden: args.hidden.clone(),
        layers,
        latent: args.latent,
        top_latent: args.top_latent,
        top_hidden: args.top_hidden.clone(),
        activation: choice("activation", args.activation)?,
        likelihood: choice("likelihood", args.likelihood)?,
        gaussian_variance: choice("gaussian_variance", args.gaussian_variance)?,
        binarize: choice("binarize", args.binarize)?,
        samples: args.samples,
        objective: choice("objective", args.objective)?,
        beta: args.beta,
        kl_warmup: args.kl_warmup,
        free_bits: args.free_bits,
        precision: choice("precision", args.precision)?,
        seed: args.seed,
        steps: args.steps,
        lstm: args.lstm,
        read: args.read,
        write: args.write,
        attention: args.no_attention.then_some(false),
    })
}

/// A flag's value as the library's choice of the same name.
fn choice<A: ValueEnum, T: Choice>(option: &str, arg: Option<A>) -> Result<Option<T>> {
    let Some(arg) = arg else { return Ok(None) };
    let value = arg
        .to_possible_value()
        .context("a flag's value without a name")?;
    Ok(Some(parse_choice(
        option,
        value.get_name(),
        Spelling::Flags,
    )?))
}
