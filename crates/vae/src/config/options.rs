//! A new run's options as a user gives them, each optional, and the one place that turns them
//! into a [`ModelConfig`] and a [`TrainConfig`]: the defaults a run takes where nothing is given,
//! and the refusals of options that do not go together. The command line (`vae train --latent
//! 2`) and the Python package (`vae.VAE(latent=2)`) both build their runs here; a refusal names
//! the option the way its caller spells it ([`Spelling`]).

use super::arch;
use super::defaults::{
    BURDA_ADAM_EPS, DEFAULT_DRAW, DEFAULT_FEATURE_WEIGHT, DEFAULT_GAN_LATENT, DEFAULT_HIDDEN,
    DEFAULT_JMVAE_ALPHA, DEFAULT_LABELS, DEFAULT_LR_GAMMA, DEFAULT_TOP_HIDDEN, GAN_BETAS, GAN_LR,
};
use super::image::ImageShape;
use super::model::{
    Attention, DrawConfig, Features, GaussianVariance, LabelModality, LayerLists, LikelihoodKind,
    ModelConfig, ModelKind, TopLayer,
};
use super::train::{
    Binarize, DecoderStatistics, LrSchedule, ObjectiveKind, OptimizerConfig, OptimizerKind,
    Precision, TrainConfig,
};
use crate::error::{Error, Result};
use crate::kernels::elementwise::Activation;
use crate::nn::spec;
use serde::de::DeserializeOwned;

/// Which member of the family a run trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// The VAE of Kingma & Welling 2013.
    #[default]
    Vae,
    /// The conditional VAE: encoder and decoder read the label.
    Cvae,
    /// The plain autoencoder.
    Ae,
    /// Kingma et al. 2014's semi-supervised M2.
    M2,
    /// Suzuki et al. 2016's joint multimodal VAE of the image and its label (JMVAE-kl).
    Jmvae,
    /// Gregor et al. 2015's DRAW: LSTMs that paint the image in steps, with attention.
    Draw,
    /// Goodfellow et al. 2014's GAN: dense generator and discriminator.
    Gan,
    /// Radford et al. 2016's DCGAN: convolutions, batch normalization, Leaky ReLU.
    Dcgan,
    /// Larsen et al. 2015's VAE-GAN: DCGAN's networks and an encoder, the reconstruction error
    /// measured in the discriminator's features.
    #[serde(rename = "vae-gan")]
    VaeGan,
}

impl Family {
    /// Whether the family trains against a discriminator.
    fn is_adversarial(self) -> bool {
        matches!(self, Family::Gan | Family::Dcgan | Family::VaeGan)
    }
}

/// The shorthand for the networks: dense layers, or convolutions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Dense hidden layers of the `hidden` widths.
    #[default]
    Mlp,
    /// Stride-2 convolutions of the `hidden` channels, mirrored by transposed ones.
    Conv,
}

/// The learning-rate schedule by name; the exponential one's factor is its own option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// See [`LrSchedule::Constant`].
    #[default]
    Constant,
    /// See [`LrSchedule::Burda`].
    Burda,
    /// See [`LrSchedule::Cosine`].
    Cosine,
    /// See [`LrSchedule::Exponential`].
    Exponential,
}

/// How a refusal spells an option: `--lr-gamma` on the command line, `lr_gamma` in Python.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// `--kl-warmup`, `--model m2`.
    Flags,
    /// `kl_warmup`, `model="m2"`.
    Keywords,
}

impl Spelling {
    /// The option `name` (written with underscores) as the caller spells it.
    pub fn option(self, name: &str) -> String {
        match self {
            Spelling::Flags => format!("--{}", name.replace('_', "-")),
            Spelling::Keywords => name.to_string(),
        }
    }

    /// The option `name` given the value `value`.
    pub fn given(self, name: &str, value: &str) -> String {
        match self {
            Spelling::Flags => format!("--{} {value}", name.replace('_', "-")),
            Spelling::Keywords => format!("{name}=\"{value}\""),
        }
    }
}

/// The names a choice accepts, as `parse_choice` lists them.
pub trait Choice: DeserializeOwned {
    /// Every accepted name.
    const NAMES: &'static [&'static str];
}

impl Choice for Family {
    const NAMES: &'static [&'static str] = &[
        "vae", "cvae", "ae", "m2", "jmvae", "draw", "gan", "dcgan", "vae-gan",
    ];
}
impl Choice for Arch {
    const NAMES: &'static [&'static str] = &["mlp", "conv"];
}
impl Choice for Schedule {
    const NAMES: &'static [&'static str] = &["constant", "burda", "cosine", "exponential"];
}
impl Choice for Activation {
    const NAMES: &'static [&'static str] = &["relu", "tanh", "softplus"];
}
impl Choice for LikelihoodKind {
    const NAMES: &'static [&'static str] = &["bernoulli", "gaussian"];
}
impl Choice for GaussianVariance {
    const NAMES: &'static [&'static str] = &["pixel", "image"];
}
impl Choice for Binarize {
    const NAMES: &'static [&'static str] = &["dynamic", "static", "none"];
}
impl Choice for ObjectiveKind {
    const NAMES: &'static [&'static str] = &["elbo", "iwae"];
}
impl Choice for Precision {
    const NAMES: &'static [&'static str] = &["fp32", "bf16"];
}
impl Choice for OptimizerKind {
    const NAMES: &'static [&'static str] = &["adam", "adagrad"];
}

/// The choice `text` names for the option `option`, or a refusal listing the names it accepts.
pub fn parse_choice<T: Choice>(option: &str, text: &str, spelling: Spelling) -> Result<T> {
    let known = T::NAMES.contains(&text);
    match serde_json::from_value(serde_json::Value::String(text.into())) {
        Ok(choice) if known => Ok(choice),
        _ => Err(Error::InvalidArgument(format!(
            "{} must be one of {}; got {text:?}",
            spelling.option(option),
            T::NAMES.join(", ")
        ))),
    }
}

/// How a data set trains when its run says nothing: its likelihood and binarization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataDefaults {
    /// Bernoulli for digits, Gaussian for faces and photographs.
    pub likelihood: LikelihoodKind,
    /// Dynamic for digits, none for faces and photographs.
    pub binarize: Binarize,
}

/// What a new run's caller may give, each `None` for the default. The names are the command
/// line's flags and the Python package's keywords.
#[allow(missing_docs)]
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub model: Option<Family>,
    pub labels: Option<usize>,
    pub alpha: Option<f64>,
    pub feature_weight: Option<f64>,
    pub equilibrium_margin: Option<f64>,
    pub real_weight: Option<f64>,
    pub classifier_hidden: Option<Vec<usize>>,
    pub active_threshold: Option<f64>,
    pub labelled_per_batch: Option<usize>,
    pub init_std: Option<f64>,
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub lr: Option<f64>,
    pub optimizer: Option<OptimizerKind>,
    pub weight_decay: Option<f64>,
    pub clip_norm: Option<f64>,
    pub lr_schedule: Option<Schedule>,
    pub lr_gamma: Option<f64>,
    pub eps: Option<f64>,
    pub arch: Option<Arch>,
    pub hidden: Option<Vec<usize>>,
    /// Every network written out (the command line's `--layers FILE`).
    pub layers: Option<LayerLists>,
    pub latent: Option<usize>,
    pub top_latent: Option<usize>,
    pub top_hidden: Option<Vec<usize>>,
    pub activation: Option<Activation>,
    pub likelihood: Option<LikelihoodKind>,
    pub gaussian_variance: Option<GaussianVariance>,
    pub binarize: Option<Binarize>,
    pub samples: Option<usize>,
    pub objective: Option<ObjectiveKind>,
    pub beta: Option<f64>,
    pub kl_warmup: Option<f64>,
    pub free_bits: Option<f64>,
    pub precision: Option<Precision>,
    pub seed: Option<u64>,
    /// DRAW: painting steps, LSTM units, the read and write grids' N, and whether to attend.
    pub steps: Option<usize>,
    pub lstm: Option<usize>,
    pub read: Option<usize>,
    pub write: Option<usize>,
    pub attention: Option<bool>,
}

/// What the options are built for: the images, their classes, the data set's defaults, and M1's
/// chosen codes when the model is an M2 on them.
#[derive(Clone, Debug)]
pub struct BuildFor {
    /// The images the data set holds.
    pub image: ImageShape,
    /// The classes it names (0 for none).
    pub classes: usize,
    /// Its likelihood and binarization.
    pub defaults: DataDefaults,
    /// M1 + M2: the codes of M1 this M2 reads.
    pub features: Option<Features>,
    /// The binary attributes the data set names (a folder's `attributes.csv`): a JMVAE models
    /// them as its w in place of the label.
    pub attributes: Vec<String>,
}

impl RunOptions {
    /// The model and its training these options describe for `target`, or a refusal naming the
    /// options that do not go together, spelled as `spelling` says.
    pub fn build(
        &self,
        target: &BuildFor,
        spelling: Spelling,
    ) -> Result<(ModelConfig, TrainConfig)> {
        let name = |option: &str| spelling.option(option);
        let refuse = |message: String| Err(Error::InvalidArgument(message));
        let family = self.model.unwrap_or_default();
        let on_codes = target.features.is_some();
        if on_codes {
            if family != Family::M2 {
                return refuse(format!(
                    "{} applies to {} only",
                    name("features"),
                    spelling.given("model", "m2")
                ));
            }
            let refused = [
                ("binarize", self.binarize.is_some()),
                ("likelihood", self.likelihood.is_some()),
                ("arch", self.arch.is_some()),
                ("gaussian_variance", self.gaussian_variance.is_some()),
                ("top_latent", self.top_latent.is_some()),
            ];
            if let Some((option, _)) = refused.iter().find(|(_, given)| *given) {
                return refuse(format!("{} does not apply with {}: M2 reads M1's codes (grey-level images in, a Gaussian on the codes out)", name(option), name("features")));
            }
        } else if self.active_threshold.is_some() {
            return refuse(format!(
                "{} applies with {} only",
                name("active_threshold"),
                name("features")
            ));
        }
        if !matches!(family, Family::M2 | Family::Jmvae) && self.alpha.is_some() {
            return refuse(format!(
                "{} applies to {} and {} only",
                name("alpha"),
                spelling.given("model", "m2"),
                spelling.given("model", "jmvae")
            ));
        }
        if family != Family::M2 {
            let given = [
                ("labels", self.labels.is_some()),
                ("classifier_hidden", self.classifier_hidden.is_some()),
                ("labelled_per_batch", self.labelled_per_batch.is_some()),
            ];
            if let Some((option, _)) = given.iter().find(|(_, given)| *given) {
                return refuse(format!(
                    "{} applies to {} only",
                    name(option),
                    spelling.given("model", "m2")
                ));
            }
        }
        self.check_draw_options(family, spelling)?;
        self.check_gan_options(family, spelling)?;
        let jmvae_on_attributes = family == Family::Jmvae && !target.attributes.is_empty();
        if target.classes == 0
            && !jmvae_on_attributes
            && matches!(family, Family::Cvae | Family::M2 | Family::Jmvae)
        {
            return refuse(format!(
                "{} needs labelled classes, and this data set has none",
                spelling.given("model", family_name(family))
            ));
        }
        let train = self.train_config(family, on_codes, target.defaults, spelling)?;
        let model = self.model_config(family, target, spelling)?;
        Ok((model, train))
    }

    fn train_config(
        &self,
        family: Family,
        on_codes: bool,
        data: DataDefaults,
        spelling: Spelling,
    ) -> Result<TrainConfig> {
        let mut optimizer =
            OptimizerConfig::default_for(self.optimizer.unwrap_or(OptimizerKind::Adam));
        let adversarial = family.is_adversarial();
        if adversarial {
            // Radford et al. 2016, Sec. 4: Adam, learning rate 0.0002, β1 = 0.5.
            optimizer.lr = GAN_LR;
            optimizer.betas = Some(GAN_BETAS);
        }
        optimizer.lr = self.lr.unwrap_or(optimizer.lr);
        optimizer.weight_decay = self.weight_decay.unwrap_or(0.0);
        optimizer.clip_norm = self.clip_norm;
        let schedule = self.lr_schedule.unwrap_or_default();
        if self.lr_gamma.is_some() && schedule != Schedule::Exponential {
            return Err(Error::InvalidArgument(format!(
                "{} applies to {} only",
                spelling.option("lr_gamma"),
                spelling.given("lr_schedule", "exponential")
            )));
        }
        optimizer.schedule = match schedule {
            Schedule::Constant => LrSchedule::Constant,
            Schedule::Burda => LrSchedule::Burda,
            Schedule::Cosine => LrSchedule::Cosine,
            Schedule::Exponential => LrSchedule::Exponential {
                gamma: self.lr_gamma.unwrap_or(DEFAULT_LR_GAMMA),
            },
        };
        optimizer.eps = match (self.eps, optimizer.schedule) {
            (Some(eps), _) => Some(eps),
            // Burda et al. 2015, Sec. 5: Adam with ε = 1e-4.
            (None, LrSchedule::Burda) => Some(BURDA_ADAM_EPS),
            (None, _) => None,
        };
        let defaults = TrainConfig::default();
        Ok(TrainConfig {
            epochs: self.epochs.unwrap_or(defaults.epochs),
            batch_size: self.batch_size.unwrap_or(defaults.batch_size),
            optimizer,
            seed: self.seed.unwrap_or(defaults.seed),
            binarize: match self.binarize {
                Some(binarize) => binarize,
                // A discriminator compares generated grey levels with real ones.
                None if adversarial => Binarize::None,
                // M1's codes are read from the grey levels.
                None if on_codes => Binarize::None,
                None => data.binarize,
            },
            samples: self.samples.unwrap_or(defaults.samples),
            objective: self.objective.unwrap_or_default(),
            beta: self.beta.unwrap_or(defaults.beta),
            kl_warmup: self.kl_warmup.unwrap_or(defaults.kl_warmup),
            free_bits: self.free_bits.unwrap_or(defaults.free_bits),
            labels: (family == Family::M2).then(|| self.labels.unwrap_or(DEFAULT_LABELS)),
            feature_weight: match family {
                Family::VaeGan => Some(self.feature_weight.unwrap_or(DEFAULT_FEATURE_WEIGHT)),
                _ => None,
            },
            equilibrium_margin: match family {
                Family::VaeGan => self.equilibrium_margin,
                _ => None,
            },
            decoder_statistics: (family == Family::VaeGan).then_some(DecoderStatistics::Prior),
            real_weight: match family {
                Family::VaeGan => self.real_weight,
                _ => None,
            },
            alpha: match family {
                Family::Jmvae => Some(self.alpha.unwrap_or(DEFAULT_JMVAE_ALPHA)),
                _ => self.alpha,
            },
            labelled_per_batch: self.labelled_per_batch,
            init_std: self.init_std,
            precision: self.precision.unwrap_or_default(),
        })
    }

    fn model_config(
        &self,
        family: Family,
        target: &BuildFor,
        spelling: Spelling,
    ) -> Result<ModelConfig> {
        let refuse = |message: String| Err(Error::InvalidArgument(message));
        let name = |option: &str| spelling.option(option);
        let model_defaults = ModelConfig::default();
        let hidden = self.hidden.clone().unwrap_or(DEFAULT_HIDDEN.to_vec());
        let activation = self.activation.unwrap_or(Activation::Relu);
        let image = target
            .features
            .as_ref()
            .map_or(target.image, Features::code_shape);
        let model = ModelConfig {
            kind: match family {
                Family::Vae | Family::Cvae => ModelKind::Vae,
                Family::Ae => ModelKind::Ae,
                Family::M2 => ModelKind::M2,
                Family::Jmvae => ModelKind::Jmvae,
                Family::Draw => ModelKind::Draw,
                Family::Gan => ModelKind::Gan,
                Family::Dcgan => ModelKind::Dcgan,
                Family::VaeGan => ModelKind::VaeGan,
            },
            image,
            classifier: (family == Family::M2).then(|| {
                spec::mlp(
                    self.classifier_hidden.as_deref().unwrap_or(&hidden),
                    activation,
                )
            }),
            latent: self.latent.unwrap_or(match family {
                Family::Draw => DEFAULT_DRAW.latent,
                Family::Gan | Family::Dcgan | Family::VaeGan => DEFAULT_GAN_LATENT,
                _ => model_defaults.latent,
            }),
            classes: match family {
                Family::Vae
                | Family::Ae
                | Family::Draw
                | Family::Gan
                | Family::Dcgan
                | Family::VaeGan => 0,
                Family::Jmvae if !target.attributes.is_empty() => 0,
                Family::Cvae | Family::M2 | Family::Jmvae => target.classes,
            },
            // The label's networks: dense layers of the `hidden` widths (the default widths
            // when `hidden` counts a convolution's channels or a file gives the networks).
            modality: (family == Family::Jmvae).then(|| {
                let widths = match (&self.layers, self.arch.unwrap_or_default()) {
                    (None, Arch::Mlp) => hidden.clone(),
                    _ => DEFAULT_HIDDEN.to_vec(),
                };
                let reversed: Vec<usize> = widths.iter().rev().copied().collect();
                LabelModality {
                    encoder: spec::mlp(&widths, activation),
                    decoder: spec::mlp(&reversed, activation),
                    attributes: target.attributes.clone(),
                }
            }),
            likelihood: match self.likelihood {
                Some(likelihood) => likelihood,
                None if target.features.is_some() => LikelihoodKind::GaussianIdentity,
                None => target.defaults.likelihood,
            },
            gaussian_variance: self.gaussian_variance.unwrap_or_default(),
            features: target.features.clone(),
            ..model_defaults
        };
        if family.is_adversarial() {
            let (generator, discriminator) = match family {
                Family::Gan => arch::gan(self.hidden.as_deref().unwrap_or(&arch::GAN_GENERATOR)),
                _ => arch::dcgan(image)?,
            };
            return Ok(ModelConfig {
                // Larsen et al.'s encoder reads the image as their discriminator does: the same
                // stride-2 convolutions.
                encoder: match family {
                    Family::VaeGan => discriminator.clone(),
                    _ => Vec::new(),
                },
                decoder: generator,
                discriminator: Some(discriminator),
                likelihood: LikelihoodKind::Bernoulli,
                ..model
            });
        }
        if family == Family::Draw {
            return Ok(ModelConfig {
                encoder: Vec::new(),
                decoder: Vec::new(),
                draw: Some(DrawConfig {
                    steps: self.steps.unwrap_or(DEFAULT_DRAW.steps),
                    lstm: self.lstm.unwrap_or(DEFAULT_DRAW.lstm),
                    attention: self.attention.unwrap_or(true).then(|| Attention {
                        read: self.read.unwrap_or(DEFAULT_DRAW.read),
                        write: self.write.unwrap_or(DEFAULT_DRAW.write),
                    }),
                }),
                ..model
            });
        }
        let model = match (&self.layers, self.arch.unwrap_or_default()) {
            (Some(_), _) if self.arch.is_some() => {
                return refuse(format!(
                    "{} cannot be combined with {}: the file gives every network",
                    name("arch"),
                    name("layers")
                ))
            }
            (Some(lists), _) => self.with_layer_lists(model, lists, spelling)?,
            (None, Arch::Mlp) => model.with_mlp(&hidden, activation),
            (None, Arch::Conv) if family == Family::M2 => {
                return refuse(format!(
                    "{} builds vae, cvae and ae models; m2 needs a dense first encoder layer",
                    spelling.given("arch", "conv")
                ))
            }
            (None, Arch::Conv) => model.with_conv(&hidden, activation)?,
        };
        match (self.top_latent, &self.top_hidden) {
            (None, None) => Ok(model),
            (None, Some(_)) => refuse(format!(
                "{} needs {}",
                name("top_hidden"),
                name("top_latent")
            )),
            (Some(_), _) if family != Family::Vae => refuse(format!(
                "{} builds a second stochastic layer for {} only",
                name("top_latent"),
                spelling.given("model", "vae")
            )),
            (Some(top_latent), top_hidden) => {
                let widths = top_hidden.clone().unwrap_or(DEFAULT_TOP_HIDDEN.to_vec());
                let reversed: Vec<usize> = widths.iter().rev().copied().collect();
                Ok(ModelConfig {
                    top: Some(TopLayer {
                        latent: top_latent,
                        encoder: spec::mlp(&widths, activation),
                        prior: spec::mlp(&reversed, activation),
                    }),
                    ..model
                })
            }
        }
    }

    /// A GAN has no ELBO, no likelihood and no encoder: the options about them are refused. A
    /// VAE-GAN has an encoder, but its reconstruction error is in the discriminator's features,
    /// not a likelihood, and its networks are DCGAN's.
    fn check_gan_options(&self, family: Family, spelling: Spelling) -> Result<()> {
        for (option, given) in [
            ("feature_weight", self.feature_weight.is_some()),
            ("equilibrium_margin", self.equilibrium_margin.is_some()),
            ("real_weight", self.real_weight.is_some()),
        ] {
            if family != Family::VaeGan && given {
                return Err(Error::InvalidArgument(format!(
                    "{} applies to {} only",
                    spelling.option(option),
                    spelling.given("model", "vae-gan")
                )));
            }
        }
        if !family.is_adversarial() {
            return Ok(());
        }
        let refused = [
            ("arch", self.arch.is_some()),
            ("layers", self.layers.is_some()),
            ("activation", self.activation.is_some()),
            ("hidden", self.hidden.is_some() && family != Family::Gan),
            ("top_latent", self.top_latent.is_some()),
            ("free_bits", self.free_bits.is_some()),
            ("beta", self.beta.is_some() && family != Family::VaeGan),
            ("kl_warmup", self.kl_warmup.is_some()),
            ("samples", self.samples.is_some()),
            ("objective", self.objective.is_some()),
            ("likelihood", self.likelihood.is_some()),
            ("gaussian_variance", self.gaussian_variance.is_some()),
        ];
        match refused.iter().find(|(_, given)| *given) {
            Some((option, _)) if family == Family::VaeGan => Err(Error::InvalidArgument(format!(
                "{} does not apply to {}: its networks are DCGAN's with an encoder, its reconstruction error is in the discriminator's features (weighed by {}), not a likelihood",
                spelling.option(option),
                spelling.given("model", family_name(family)),
                spelling.option("feature_weight"),
            ))),
            Some((option, _)) => Err(Error::InvalidArgument(format!(
                "{} does not apply to {}: a GAN has a generator and a discriminator, no encoder, likelihood or ELBO{}",
                spelling.option(option),
                spelling.given("model", family_name(family)),
                if family == Family::Gan { format!(" ({} sizes the generator)", spelling.option("hidden")) } else { String::new() }
            ))),
            None => Ok(()),
        }
    }

    /// DRAW's options apply to DRAW alone, and the other networks' options not to it.
    fn check_draw_options(&self, family: Family, spelling: Spelling) -> Result<()> {
        let name = |option: &str| spelling.option(option);
        let draw_given = [
            ("steps", self.steps.is_some()),
            ("lstm", self.lstm.is_some()),
            ("read", self.read.is_some()),
            ("write", self.write.is_some()),
            ("attention", self.attention.is_some()),
        ];
        let draw_option = draw_given.iter().find(|(_, given)| *given).map(|(o, _)| *o);
        if family != Family::Draw {
            return match draw_option {
                Some(option) => Err(Error::InvalidArgument(format!(
                    "{} applies to {} only",
                    if option == "attention" && spelling == Spelling::Flags {
                        "--no-attention".to_string()
                    } else {
                        name(option)
                    },
                    spelling.given("model", "draw")
                ))),
                None => Ok(()),
            };
        }
        let refused = [
            ("arch", self.arch.is_some()),
            ("hidden", self.hidden.is_some()),
            ("layers", self.layers.is_some()),
            ("activation", self.activation.is_some()),
            ("top_latent", self.top_latent.is_some()),
            ("free_bits", self.free_bits.is_some()),
            (
                "objective",
                self.objective.is_some_and(|o| o != ObjectiveKind::Elbo),
            ),
        ];
        if let Some((option, _)) = refused.iter().find(|(_, given)| *given) {
            return Err(Error::InvalidArgument(format!(
                "{} does not apply to {}: its networks are LSTMs of {} units, trained with the ELBO",
                name(option),
                spelling.given("model", "draw"),
                name("lstm")
            )));
        }
        if self.attention == Some(false) && (self.read.is_some() || self.write.is_some()) {
            return Err(Error::InvalidArgument(format!(
                "{} and {} size the attention grids, which a model without attention has not",
                name("read"),
                name("write")
            )));
        }
        Ok(())
    }

    /// The networks of a layer list in place of the `hidden` shorthand.
    fn with_layer_lists(
        &self,
        model: ModelConfig,
        lists: &LayerLists,
        spelling: Spelling,
    ) -> Result<ModelConfig> {
        let given = [
            ("hidden", self.hidden.is_some()),
            ("activation", self.activation.is_some()),
            ("classifier_hidden", self.classifier_hidden.is_some()),
        ];
        if let Some((option, _)) = given.iter().find(|(_, given)| *given) {
            return Err(Error::InvalidArgument(format!(
                "{} cannot be combined with {}: the file gives every network",
                spelling.option(option),
                spelling.option("layers")
            )));
        }
        let classifier = match model.kind {
            ModelKind::M2 => Some(
                lists
                    .classifier
                    .clone()
                    .unwrap_or_else(|| lists.encoder.clone()),
            ),
            _ => lists.classifier.clone(),
        };
        Ok(ModelConfig {
            encoder: lists.encoder.clone(),
            decoder: lists.decoder.clone(),
            classifier,
            ..model
        })
    }
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Vae => "vae",
        Family::Cvae => "cvae",
        Family::Ae => "ae",
        Family::M2 => "m2",
        Family::Jmvae => "jmvae",
        Family::Draw => "draw",
        Family::Gan => "gan",
        Family::Dcgan => "dcgan",
        Family::VaeGan => "vae-gan",
    }
}
