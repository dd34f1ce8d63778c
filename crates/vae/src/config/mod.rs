//! Everything needed to rebuild a model and repeat its training, saved as `config.json` beside the
//! weights. Validated once, here, so the rest of the code can trust it.

pub mod arch;
mod checks;
mod data;
pub mod defaults;
mod image;
mod model;
pub mod options;
mod train;
mod upgrade;

pub use data::FolderOptions;
pub use defaults::*;
pub use image::{reads_image, ImageShape};
pub use model::{
    Attention, DrawConfig, Features, GaussianVariance, LabelModality, LayerLists, LikelihoodKind,
    ModelConfig, ModelKind, TopLayer, ENCODER_HEADS, MAX_DRAW_STEPS, MAX_PARAMETERS,
    MIN_LOG_VAR_RANGE, OUTPUT_HEAD,
};
pub use options::{Arch, BuildFor, DataDefaults, Family, RunOptions, Schedule, Spelling};
pub use train::{
    Binarize, DecoderStatistics, LrSchedule, ObjectiveKind, OptimizerConfig, OptimizerKind,
    Precision, TrainConfig,
};

use crate::error::{Error, Result};
use crate::nn::spec::{self, LayerSpec};
use serde::{Deserialize, Serialize};

/// `config.json`: the model, its training, and the data it was trained on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Bumped when the checkpoint layout changes.
    pub format: u32,
    /// Data set specification as given to `--dataset` (`mnist`, `fashion-mnist`, `frey`,
    /// `idx:DIR`, `folder:DIR`).
    pub dataset: String,
    /// How a `folder:` data set is converted and split (unused by the others).
    #[serde(default)]
    pub folder: FolderOptions,
    /// The model's architecture.
    pub model: ModelConfig,
    /// How it is trained.
    pub train: TrainConfig,
    /// The directory the data were read from when training began (`--data-dir`, made
    /// absolute), where later commands on the run look first when they are given none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<std::path::PathBuf>,
}

impl RunConfig {
    /// 2: networks as layer lists (format 1 had `hidden` and `activation`; `upgrade` reads it).
    pub const FORMAT: u32 = 2;

    /// A run of `model` trained as `train` says on the data set `spec` names (`mnist`,
    /// `fashion-mnist`, `frey`, `idx:DIR`, `folder:DIR` with default folder options).
    pub fn new(spec: impl Into<String>, model: ModelConfig, train: TrainConfig) -> Self {
        RunConfig {
            format: Self::FORMAT,
            dataset: spec.into(),
            folder: FolderOptions::default(),
            model,
            train,
            data_dir: None,
        }
    }

    /// Parses `config.json`, upgrading older formats first.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| Error::Config(e.to_string()))?;
        serde_json::from_value(upgrade::run_config(value)?)
            .map_err(|e| Error::Config(e.to_string()))
    }

    /// Refuses a configuration that cannot be trained or loaded: an unknown format, then the
    /// model's and training's own checks.
    pub fn validate(&self) -> Result<()> {
        if self.format != Self::FORMAT {
            return Err(Error::Config(format!(
                "checkpoint format {} is not supported (this build reads formats 1 to {})",
                self.format,
                Self::FORMAT
            )));
        }
        self.model.validate()?;
        self.train.validate()?;
        let t = &self.train;
        let family_objective = t.objective != ObjectiveKind::Elbo
            || t.beta != 1.0
            || t.kl_warmup > 0.0
            || t.free_bits > 0.0;
        let jmvae_objective = t.objective != ObjectiveKind::Elbo || t.free_bits > 0.0;
        if self.model.kind == ModelKind::Jmvae && jmvae_objective {
            return Err(Error::Config(
                "the jmvae model trains with JMVAE-kl, which takes beta and KL warm-up but not the IWAE objective or free bits".into(),
            ));
        }
        let vae_gan_objective =
            t.objective != ObjectiveKind::Elbo || t.kl_warmup > 0.0 || t.free_bits > 0.0;
        if self.model.kind == ModelKind::VaeGan && vae_gan_objective {
            return Err(Error::Config(
                "the vae-gan model trains with Larsen et al.'s three losses, which take beta (the encoder's KL weight) but not the IWAE objective, KL warm-up or free bits".into(),
            ));
        }
        for (option, given) in [
            ("decoder_statistics", t.decoder_statistics.is_some()),
            ("real_weight", t.real_weight.is_some()),
        ] {
            if given && self.model.kind != ModelKind::VaeGan {
                return Err(Error::Config(format!(
                    "{option} applies to the vae-gan model, not {}",
                    self.model.kind_name()
                )));
            }
        }
        if family_objective
            && !matches!(
                self.model.kind,
                ModelKind::Vae | ModelKind::Jmvae | ModelKind::VaeGan
            )
        {
            return Err(Error::Config(format!(
                "the IWAE objective, beta, KL warm-up and free bits train the vae and cvae models (beta and KL warm-up the jmvae model too, beta the vae-gan model), not {}",
                self.model.kind_name()
            )));
        }
        if t.free_bits > 0.0 && self.model.top.is_some() {
            return Err(Error::Config(
                "free bits apply to the one-layer VAE; a two-layer VAE takes beta and KL warm-up"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// The reference classifier that scores generated images: a network from pixels to class logits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    /// The images it reads.
    pub image: ImageShape,
    /// The body; the model adds the dense head `output`, one logit per class.
    pub layers: Vec<LayerSpec>,
    /// How many classes it tells apart.
    pub classes: usize,
}

/// `config.json` of a reference classifier's directory. `kind` tells it apart from a model's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierRunConfig {
    /// The checkpoint format, as for a model.
    pub format: u32,
    /// Always `"classifier"`.
    pub kind: String,
    /// The data set it was trained on.
    pub dataset: String,
    /// How a `folder:` data set is converted and split.
    #[serde(default)]
    pub folder: FolderOptions,
    /// The network.
    pub classifier: ClassifierConfig,
    /// How it was trained.
    pub train: TrainConfig,
}

impl ClassifierRunConfig {
    /// The `kind` a classifier's `config.json` carries.
    pub const KIND: &'static str = "classifier";

    /// Parses a classifier's `config.json`, upgrading older formats first.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| Error::Config(e.to_string()))?;
        serde_json::from_value(upgrade::classifier_run_config(value)?)
            .map_err(|e| Error::Config(e.to_string()))
    }

    /// Refuses a classifier that cannot be built or trained.
    pub fn validate(&self) -> Result<()> {
        if self.format != RunConfig::FORMAT || self.kind != Self::KIND {
            return Err(Error::Config(format!(
                "not a reference classifier of format {} (kind {:?}, format {})",
                RunConfig::FORMAT,
                self.kind,
                self.format
            )));
        }
        let c = &self.classifier;
        if c.image.is_empty() || c.classes < 2 {
            return Err(Error::Config(format!(
                "classifier for {} images, {} classes is not a valid network",
                c.image, c.classes
            )));
        }
        spec::validate(&c.layers, "classifier", &OUTPUT_HEAD)?;
        self.train.validate()
    }
}
