//! The model and its training as the flags describe them: the step from `vae train`'s options to
//! the library's `ModelConfig` and `TrainConfig`, defaults taken from `vae::config`.

use crate::cli::{
    ActivationArg, ArchArg, BinarizeArg, LikelihoodArg, ModelArg, ObjectiveArg, OptimizerArg,
    ScheduleArg, TrainArgs, VarianceArg,
};
use anyhow::{bail, Context, Result};
use std::path::Path;
use vae::config::{
    Features, LrSchedule, ObjectiveKind, TopLayer, BURDA_ADAM_EPS, DEFAULT_HIDDEN, DEFAULT_LABELS,
    DEFAULT_LR_GAMMA, DEFAULT_TOP_HIDDEN,
};
use vae::data::DatasetSpec;
use vae::nn::spec;
use vae::{
    Activation, Binarize, GaussianVariance, ImageShape, LayerLists, LikelihoodKind, ModelConfig,
    ModelKind, OptimizerConfig, OptimizerKind, TrainConfig,
};

/// How a model of `kind` trains, from the flags; `on_codes` when it reads M1's codes.
pub(super) fn train_config(
    args: &TrainArgs,
    kind: ModelArg,
    on_codes: bool,
    parsed: &DatasetSpec,
) -> Result<TrainConfig> {
    let optimizer_kind = match args.optimizer.unwrap_or(OptimizerArg::Adam) {
        OptimizerArg::Adam => OptimizerKind::Adam,
        OptimizerArg::Adagrad => OptimizerKind::Adagrad,
    };
    let mut optimizer = OptimizerConfig::default_for(optimizer_kind);
    optimizer.lr = args.lr.unwrap_or(optimizer.lr);
    optimizer.weight_decay = args.weight_decay.unwrap_or(0.0);
    if args.lr_gamma.is_some() && args.lr_schedule != Some(ScheduleArg::Exponential) {
        bail!("--lr-gamma applies to --lr-schedule exponential only");
    }
    optimizer.schedule = match args.lr_schedule.unwrap_or(ScheduleArg::Constant) {
        ScheduleArg::Constant => LrSchedule::Constant,
        ScheduleArg::Burda => LrSchedule::Burda,
        ScheduleArg::Cosine => LrSchedule::Cosine,
        ScheduleArg::Exponential => LrSchedule::Exponential {
            gamma: args.lr_gamma.unwrap_or(DEFAULT_LR_GAMMA),
        },
    };
    optimizer.eps = match (args.eps, optimizer.schedule) {
        (Some(eps), _) => Some(eps),
        // Burda et al. 2015, Sec. 5: Adam with ε = 1e-4.
        (None, LrSchedule::Burda) => Some(BURDA_ADAM_EPS),
        (None, _) => None,
    };
    let defaults = TrainConfig::default();
    let train = TrainConfig {
        epochs: args.epochs.unwrap_or(defaults.epochs),
        batch_size: args.batch_size.unwrap_or(defaults.batch_size),
        optimizer,
        seed: args.seed.unwrap_or(defaults.seed),
        binarize: match args.binarize {
            // M1's codes are read from the grey levels.
            None if on_codes => Binarize::None,
            None => parsed.default_binarize(),
            Some(BinarizeArg::Dynamic) => Binarize::Dynamic,
            Some(BinarizeArg::Static) => Binarize::Static,
            Some(BinarizeArg::None) => Binarize::None,
        },
        samples: args.samples.unwrap_or(defaults.samples),
        objective: match args.objective {
            None | Some(ObjectiveArg::Elbo) => ObjectiveKind::Elbo,
            Some(ObjectiveArg::Iwae) => ObjectiveKind::Iwae,
        },
        beta: args.beta.unwrap_or(defaults.beta),
        kl_warmup: args.kl_warmup.unwrap_or(defaults.kl_warmup),
        free_bits: args.free_bits.unwrap_or(defaults.free_bits),
        labels: (kind == ModelArg::M2).then(|| args.labels.unwrap_or(DEFAULT_LABELS)),
        alpha: args.alpha,
        labelled_per_batch: args.labelled_per_batch,
        init_std: args.init_std,
    };
    Ok(train)
}

/// The model of `kind` the flags describe, for images of `image` with `classes` classes; on
/// M1's codes when `features` is given.
pub(super) fn model_config(
    args: &TrainArgs,
    kind: ModelArg,
    image: ImageShape,
    classes: usize,
    features: Option<Features>,
    parsed: &DatasetSpec,
) -> Result<ModelConfig> {
    let model_defaults = ModelConfig::default();
    let hidden = args.hidden.clone().unwrap_or(DEFAULT_HIDDEN.to_vec());
    let activation = match args.activation.unwrap_or(ActivationArg::Relu) {
        ActivationArg::Relu => Activation::Relu,
        ActivationArg::Tanh => Activation::Tanh,
        ActivationArg::Softplus => Activation::Softplus,
    };
    let model = ModelConfig {
        kind: match kind {
            ModelArg::Vae | ModelArg::Cvae => ModelKind::Vae,
            ModelArg::Ae => ModelKind::Ae,
            ModelArg::M2 => ModelKind::M2,
        },
        image,
        classifier: match kind {
            ModelArg::M2 => Some(spec::mlp(
                args.classifier_hidden.as_deref().unwrap_or(&hidden),
                activation,
            )),
            _ => None,
        },
        latent: args.latent.unwrap_or(model_defaults.latent),
        classes: match kind {
            ModelArg::Vae | ModelArg::Ae => 0,
            ModelArg::Cvae | ModelArg::M2 => classes,
        },
        likelihood: match args.likelihood {
            None if features.is_some() => LikelihoodKind::GaussianIdentity,
            None => parsed.default_likelihood(),
            Some(LikelihoodArg::Bernoulli) => LikelihoodKind::Bernoulli,
            Some(LikelihoodArg::Gaussian) => LikelihoodKind::Gaussian,
        },
        gaussian_variance: match args.gaussian_variance.unwrap_or(VarianceArg::Pixel) {
            VarianceArg::Pixel => GaussianVariance::Pixel,
            VarianceArg::Image => GaussianVariance::Image,
        },
        features,
        ..model_defaults
    };
    let model = match (&args.layers, args.arch.unwrap_or(ArchArg::Mlp)) {
        (Some(_), _) if args.arch.is_some() => {
            bail!("--arch cannot be combined with --layers: the file gives every network")
        }
        (Some(path), _) => with_layer_lists(model, path, args)?,
        (None, ArchArg::Mlp) => model.with_mlp(&hidden, activation),
        (None, ArchArg::Conv) if kind == ModelArg::M2 => {
            bail!(
                "--arch conv builds vae, cvae and ae models; m2 needs a dense first encoder layer"
            )
        }
        (None, ArchArg::Conv) => model.with_conv(&hidden, activation)?,
    };
    let model = match (args.top_latent, &args.top_hidden) {
        (None, None) => model,
        (None, Some(_)) => bail!("--top-hidden needs --top-latent"),
        (Some(_), _) if kind != ModelArg::Vae => {
            bail!("--top-latent builds a second stochastic layer for --model vae only")
        }
        (Some(top_latent), top_hidden) => {
            let widths = top_hidden.clone().unwrap_or(DEFAULT_TOP_HIDDEN.to_vec());
            let reversed: Vec<usize> = widths.iter().rev().copied().collect();
            ModelConfig {
                top: Some(TopLayer {
                    latent: top_latent,
                    encoder: spec::mlp(&widths, activation),
                    prior: spec::mlp(&reversed, activation),
                }),
                ..model
            }
        }
    };
    Ok(model)
}

/// The networks of `--layers FILE` in place of the `--hidden` shorthand.
fn with_layer_lists(model: ModelConfig, path: &Path, args: &TrainArgs) -> Result<ModelConfig> {
    let given = [
        ("--hidden", args.hidden.is_some()),
        ("--activation", args.activation.is_some()),
        ("--classifier-hidden", args.classifier_hidden.is_some()),
    ];
    if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
        bail!("{flag} cannot be combined with --layers: the file gives every network");
    }
    let bytes = vae::fs::read_bounded(path, vae::fs::JSON_LIMIT)?;
    let lists = LayerLists::from_json(&bytes).with_context(|| format!("{}", path.display()))?;
    let classifier = match model.kind {
        ModelKind::M2 => Some(lists.classifier.unwrap_or_else(|| lists.encoder.clone())),
        _ => lists.classifier,
    };
    Ok(ModelConfig {
        encoder: lists.encoder,
        decoder: lists.decoder,
        classifier,
        ..model
    })
}
