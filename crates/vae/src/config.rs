//! Everything needed to rebuild a model and repeat its training, saved as `config.json` beside the
//! weights. Validated once, here, so the rest of the code can trust it.

use crate::error::{Error, Result};
use crate::kernels::elementwise::Activation;
use serde::{Deserialize, Serialize};

/// Height x width x channels of one image; pixels are stored channel-last (`[h, w, c]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageShape {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl ImageShape {
    pub const MNIST: ImageShape = ImageShape {
        height: 28,
        width: 28,
        channels: 1,
    };

    /// Values per image.
    pub fn len(&self) -> usize {
        self.height * self.width * self.channels
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.height, self.width, self.channels)
    }
}

/// The decoder's observation model p(x | z).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LikelihoodKind {
    /// Independent Bernoulli pixels on logits: a true likelihood for binary data.
    Bernoulli,
    /// Independent Gaussian pixels, mean sigmoid(logits), learned per-pixel log-variance.
    Gaussian,
}

/// What the Gaussian decoder's learned log-variance belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GaussianVariance {
    /// One per pixel.
    #[default]
    Pixel,
    /// One for the whole image, shared by its pixels.
    Image,
}

/// Which member of the family: the VAE (conditional when `classes > 0`), the plain autoencoder
/// with the same networks, or the semi-supervised M2 of Kingma, Rezende, Mohamed & Welling 2014.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    #[default]
    Vae,
    /// Deterministic code z = f(x), reconstruction loss only: no noise, no KL.
    Ae,
    /// Classifier q(y | x), encoder q(z | x, y), decoder p(x | y, z); learns from few labels.
    M2,
}

/// The model's architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    #[serde(default)]
    pub kind: ModelKind,
    pub image: ImageShape,
    /// Hidden widths of the encoder; the decoder mirrors them.
    pub hidden: Vec<usize>,
    pub latent: usize,
    /// Label classes for a conditional VAE (the one-hot label is appended to the inputs of
    /// encoder and decoder); 0 for an unconditional one.
    #[serde(default)]
    pub classes: usize,
    /// Hidden widths of M2's classifier q(y | x).
    #[serde(default)]
    pub classifier_hidden: Vec<usize>,
    pub activation: Activation,
    pub likelihood: LikelihoodKind,
    /// Per-pixel or per-image log-variance, for the Gaussian likelihood.
    #[serde(default)]
    pub gaussian_variance: GaussianVariance,
    /// Floor on the Gaussian decoder's log-variance, so the density cannot grow without bound.
    #[serde(default = "default_min_log_var")]
    pub min_log_var: f64,
}

fn default_min_log_var() -> f64 {
    // Variance 1e-4: a standard deviation of 1% of the pixel range.
    (1e-4f64).ln()
}

impl Default for ModelConfig {
    /// The pytorch/examples VAE: 784-400-20, ReLU, Bernoulli decoder.
    fn default() -> Self {
        ModelConfig {
            kind: ModelKind::Vae,
            image: ImageShape::MNIST,
            hidden: vec![400],
            latent: 20,
            classes: 0,
            classifier_hidden: Vec::new(),
            activation: Activation::Relu,
            likelihood: LikelihoodKind::Bernoulli,
            gaussian_variance: GaussianVariance::Pixel,
            min_log_var: default_min_log_var(),
        }
    }
}

impl ModelConfig {
    /// Floating-point operations of one image's forward pass through the matrix products
    /// (2 per multiply-add), encoder and decoder: the unit the benchmarks count in.
    pub fn forward_flops_per_image(&self) -> f64 {
        let mut widths = vec![self.image.len() + self.classes];
        widths.extend(&self.hidden);
        let mut encoder: f64 = widths.windows(2).map(|w| (w[0] * w[1]) as f64).sum();
        encoder += (widths[widths.len() - 1] * 2 * self.latent) as f64;
        let mut decoder_widths = vec![self.latent + self.classes];
        decoder_widths.extend(self.hidden.iter().rev());
        decoder_widths.push(self.image.len());
        let decoder: f64 = decoder_widths
            .windows(2)
            .map(|w| (w[0] * w[1]) as f64)
            .sum();
        2.0 * (encoder + decoder)
    }

    pub fn validate(&self) -> Result<()> {
        if self.image.is_empty() {
            return Err(Error::Config(format!(
                "image shape {} has no pixels",
                self.image
            )));
        }
        if self.latent == 0 {
            return Err(Error::Config("latent size must be at least 1".into()));
        }
        if let Some(pos) = self.hidden.iter().position(|&h| h == 0) {
            return Err(Error::Config(format!("hidden layer {pos} has width 0")));
        }
        if self.classes == 1 || self.classes > 256 {
            return Err(Error::Config(format!(
                "a conditional model needs 2 to 256 classes, not {}",
                self.classes
            )));
        }
        match self.kind {
            ModelKind::Ae if self.classes > 0 => {
                return Err(Error::Config(
                    "the plain autoencoder is unconditional: classes must be 0".into(),
                ))
            }
            ModelKind::M2 if self.classes == 0 => {
                return Err(Error::Config(
                    "the M2 model needs labelled classes (classes >= 2)".into(),
                ))
            }
            _ => {}
        }
        if self.kind != ModelKind::M2 && !self.classifier_hidden.is_empty() {
            return Err(Error::Config(
                "classifier_hidden applies to the m2 model only".into(),
            ));
        }
        if let Some(pos) = self.classifier_hidden.iter().position(|&h| h == 0) {
            return Err(Error::Config(format!(
                "classifier hidden layer {pos} has width 0"
            )));
        }
        if self.activation == Activation::Identity && !self.hidden.is_empty() {
            return Err(Error::Config(
                "hidden layers need a nonlinearity (relu or tanh)".into(),
            ));
        }
        if !self.min_log_var.is_finite() {
            return Err(Error::Config(format!(
                "min_log_var {} is not finite",
                self.min_log_var
            )));
        }
        Ok(())
    }
}

/// How grey levels in [0, 1] become training targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Binarize {
    /// A fresh Bernoulli draw per epoch (Burda et al. 2015); the test set is binarized once.
    Dynamic,
    /// One Bernoulli draw per image, fixed for the whole run.
    Static,
    /// Train on grey levels, as pytorch/examples does.
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Adam,
    Adagrad,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    pub kind: OptimizerKind,
    pub lr: f64,
    /// L2 penalty added to the gradient, as PyTorch's `weight_decay`.
    pub weight_decay: f64,
}

impl OptimizerConfig {
    /// PyTorch's defaults: Adam 1e-3, Adagrad 1e-2.
    pub fn default_for(kind: OptimizerKind) -> Self {
        let lr = match kind {
            OptimizerKind::Adam => 1e-3,
            OptimizerKind::Adagrad => 1e-2,
        };
        OptimizerConfig {
            kind,
            lr,
            weight_decay: 0.0,
        }
    }
}

/// How the model is trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: OptimizerConfig,
    pub seed: u64,
    pub binarize: Binarize,
    /// Latent samples per image in the ELBO estimate (L in Kingma & Welling 2013, eq. 7).
    pub samples: usize,
    /// M2: the size of the class-balanced labelled subset; the other training images are used
    /// without their labels.
    #[serde(default)]
    pub labels: Option<usize>,
    /// M2: the weight α of the classification term α · E[−log q(y | x)] over labelled data
    /// (Kingma et al. 2014, eq. 9); `None` is the paper's 0.1 · N, N the training images.
    #[serde(default)]
    pub alpha: Option<f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 128,
            optimizer: OptimizerConfig::default_for(OptimizerKind::Adam),
            seed: 0,
            binarize: Binarize::Dynamic,
            samples: 1,
            labels: None,
            alpha: None,
        }
    }
}

impl TrainConfig {
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::Config("epochs must be at least 1".into()));
        }
        if self.batch_size == 0 {
            return Err(Error::Config("batch size must be at least 1".into()));
        }
        if self.samples == 0 {
            return Err(Error::Config("samples must be at least 1".into()));
        }
        let lr = self.optimizer.lr;
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::Config(format!(
                "learning rate {lr} must be positive and finite"
            )));
        }
        if self.labels == Some(0) {
            return Err(Error::Config("labels must be at least 1".into()));
        }
        if let Some(alpha) = self.alpha {
            if !(alpha.is_finite() && alpha >= 0.0) {
                return Err(Error::Config(format!(
                    "alpha {alpha} must be non-negative and finite"
                )));
            }
        }
        let wd = self.optimizer.weight_decay;
        if !(wd.is_finite() && wd >= 0.0) {
            return Err(Error::Config(format!(
                "weight decay {wd} must be non-negative and finite"
            )));
        }
        Ok(())
    }
}

/// `config.json`: the model, its training, and the data it was trained on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Bumped when the checkpoint layout changes.
    pub format: u32,
    /// Data set specification as given to `--dataset` (`mnist`, `fashion-mnist`, `frey`,
    /// `idx:DIR`, `folder:DIR`).
    pub dataset: String,
    /// How a `folder:` data set is converted and split (unused by the others).
    #[serde(default)]
    pub folder: crate::data::folder::FolderOptions,
    pub model: ModelConfig,
    pub train: TrainConfig,
}

impl RunConfig {
    pub const FORMAT: u32 = 1;

    pub fn validate(&self) -> Result<()> {
        if self.format != Self::FORMAT {
            return Err(Error::Config(format!(
                "checkpoint format {} is not supported (this build reads format {})",
                self.format,
                Self::FORMAT
            )));
        }
        self.model.validate()?;
        self.train.validate()
    }
}

/// The reference classifier that scores generated images: an MLP from pixels to class logits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    pub image: ImageShape,
    pub hidden: Vec<usize>,
    pub classes: usize,
    pub activation: Activation,
}

/// `config.json` of a reference classifier's directory. `kind` tells it apart from a model's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierRunConfig {
    pub format: u32,
    /// Always `"classifier"`.
    pub kind: String,
    pub dataset: String,
    #[serde(default)]
    pub folder: crate::data::folder::FolderOptions,
    pub classifier: ClassifierConfig,
    pub train: TrainConfig,
}

impl ClassifierRunConfig {
    pub const KIND: &'static str = "classifier";

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
        if c.image.is_empty() || c.classes < 2 || c.hidden.contains(&0) {
            return Err(Error::Config(format!(
                "classifier for {} images, hidden {:?}, {} classes is not a valid network",
                c.image, c.hidden, c.classes
            )));
        }
        self.train.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_flops_of_the_default_model() {
        // 784-400-(20+20) encoder, 20-400-784 decoder: 2 * (313600 + 16000 + 8000 + 313600).
        assert_eq!(
            ModelConfig::default().forward_flops_per_image(),
            1_302_400.0
        );
    }
}
