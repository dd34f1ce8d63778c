//! How a model is trained: epochs, batches, optimizer, binarization, M2's labels.

use crate::error::{Error, Result};
pub use crate::kernels::matmul::Precision;
use serde::{Deserialize, Serialize};

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

/// Which optimizer updates the parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (Kingma & Ba 2015) as `torch.optim.Adam`.
    Adam,
    /// Adagrad (Duchi et al. 2011) as `torch.optim.Adagrad`, Kingma & Welling 2013's choice.
    Adagrad,
}

/// The optimizer and its settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Adam or Adagrad.
    pub kind: OptimizerKind,
    /// The base learning rate; the schedule scales it.
    pub lr: f64,
    /// L2 penalty added to the gradient, as PyTorch's `weight_decay`.
    pub weight_decay: f64,
    /// The denominator's ε; `None` is PyTorch's (Adam 1e-8, Adagrad 1e-10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
    /// How the learning rate changes over training.
    #[serde(default, skip_serializing_if = "LrSchedule::is_constant")]
    pub schedule: LrSchedule,
    /// The most the gradient of the batch's mean loss may measure (its L2 norm over every
    /// parameter), rescaled to this norm when longer, as PyTorch's `clip_grad_norm_`; none when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_norm: Option<f64>,
    /// Adam's β1 and β2; `None` is PyTorch's (0.9, 0.999). DCGAN trains with β1 = 0.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub betas: Option<[f64; 2]>,
}

/// The learning rate over training, as a factor on the base rate, step by step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum LrSchedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Burda, Grosse & Salakhutdinov 2015, Sec. 5: 3^i passes at the base rate times 10^(−i/7),
    /// i = 0..7 (3,280 passes), then the last rate.
    Burda,
    /// Half a cosine from the base rate to 0 over the run's epochs (Loshchilov & Hutter 2017,
    /// without restarts).
    Cosine,
    /// The base rate times `gamma` per epoch, continuously within an epoch.
    Exponential {
        /// The factor per epoch.
        gamma: f64,
    },
}

impl LrSchedule {
    /// Whether the rate never changes.
    pub fn is_constant(&self) -> bool {
        *self == LrSchedule::Constant
    }
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
            clip_norm: None,
            betas: None,
            eps: None,
            schedule: LrSchedule::Constant,
        }
    }
}

/// How the model is trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training set in all (a resumed run trains the rest).
    pub epochs: usize,
    /// Images per minibatch.
    pub batch_size: usize,
    /// The optimizer and its learning-rate schedule.
    pub optimizer: OptimizerConfig,
    /// Names every random stream of the run: initialisation, shuffling, binarization, noise.
    pub seed: u64,
    /// How grey-level images become the binary data a Bernoulli decoder models.
    pub binarize: Binarize,
    /// Latent samples per image: averaged in the ELBO estimate (L in Kingma & Welling 2013,
    /// eq. 7), or the K of the IWAE bound.
    pub samples: usize,
    /// M2: the size of the class-balanced labelled subset; the other training images are used
    /// without their labels.
    #[serde(default)]
    pub labels: Option<usize>,
    /// M2: the weight α of the classification term α · E[−log q(y | x)] over labelled data
    /// (Kingma et al. 2014, eq. 9); `None` is the paper's 0.1 · N, N the training images.
    #[serde(default)]
    pub alpha: Option<f64>,
    /// VAE-GAN: γ, the weight of the reconstruction error in the discriminator's features
    /// against the GAN loss in the decoder's objective (Larsen et al. 2015, Sec. 2.3); `None`
    /// for other models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_weight: Option<f64>,
    /// VAE-GAN: the margin of the equilibrium rule of Larsen et al.'s code (a network whose
    /// opponent is out of balance sits the batch out; see `objective::LearnedSimilarity`);
    /// `None` steps every network on every batch, as the paper's Algorithm 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equilibrium_margin: Option<f64>,
    /// VAE-GAN: the decoder passes its running statistics follow; `None` for other models, and
    /// for VAE-GAN runs written before the choice existed (both passes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder_statistics: Option<DecoderStatistics>,
    /// VAE-GAN: w, the real images' share of the discriminator's loss, the rest split evenly
    /// between the reconstructions and the prior's samples (Larsen et al.'s code: 0.5); `None`
    /// sums the three terms, as the paper's Algorithm 1 writes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_weight: Option<f64>,
    /// What is minimised: the ELBO with `samples` draws averaged, or the IWAE bound with
    /// `samples` importance samples (Burda et al. 2015).
    #[serde(default)]
    pub objective: ObjectiveKind,
    /// β, the KL term's weight (Higgins et al. 2017); 1 is the ELBO.
    #[serde(default = "one")]
    pub beta: f64,
    /// Epochs over which the KL weight rises linearly from 0 to β, step by step; 0 for none.
    #[serde(default)]
    pub kl_warmup: f64,
    /// λ: the batch-mean KL of each latent dimension counts at least λ nats (Kingma et al.
    /// 2016, eq. 15); 0 for none.
    #[serde(default)]
    pub free_bits: f64,
    /// M2: labelled images in every batch, beside `batch_size` unlabelled ones; `None` is
    /// `min(batch_size, labels)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labelled_per_batch: Option<usize>,
    /// Weights drawn from N(0, init_std²) and biases 0 (Kingma et al. 2014's released code uses
    /// 1e-3); `None` is PyTorch's default initialisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_std: Option<f64>,
    /// What the training step's matrix products multiply in: fp32, or bf16 with fp32 sums on a
    /// CPU with AVX512-BF16. Weights, gradients, the optimizer and scoring stay fp32. Absent
    /// (fp32) in older files.
    #[serde(default, skip_serializing_if = "is_fp32")]
    pub precision: Precision,
}

/// The most latent samples per image a training step takes (the IWAE literature uses up to 5000).
pub const MAX_SAMPLES: usize = 100_000;

fn one() -> f64 {
    1.0
}

/// VAE-GAN: which of the decoder's two training passes its batch normalization's running
/// statistics follow. They only matter in evaluation mode (samples, reconstructions, the Fréchet
/// distance); training normalises every pass with its own batch's statistics either way, so the
/// weights are the same under both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecoderStatistics {
    /// The pass on z ~ q(z | x) and the pass on z_p ~ N(0, I), in the order they ran, as a
    /// PyTorch module running both would keep them. The estimates then describe neither
    /// distribution of z when the two differ; run directories written before the choice existed
    /// trained so.
    Both,
    /// The pass on z_p ~ N(0, I) alone: the decoder as a generator, the distribution samples
    /// are drawn from, as a DCGAN's generator keeps them.
    Prior,
}

/// The training objective of a VAE.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectiveKind {
    /// The negative ELBO averaged over `samples` draws (Kingma & Welling 2013, eq. 10).
    #[default]
    Elbo,
    /// The negative importance-weighted bound with `samples` draws (Burda et al. 2015).
    Iwae,
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
            feature_weight: None,
            equilibrium_margin: None,
            decoder_statistics: None,
            real_weight: None,
            objective: ObjectiveKind::Elbo,
            beta: 1.0,
            kl_warmup: 0.0,
            free_bits: 0.0,
            labelled_per_batch: None,
            init_std: None,
            precision: Precision::F32,
        }
    }
}

fn is_fp32(precision: &Precision) -> bool {
    *precision == Precision::F32
}

impl TrainConfig {
    /// M2's labelled images per batch when `labels` images keep their labels.
    pub fn labelled_per_batch(&self, labels: usize) -> usize {
        self.labelled_per_batch
            .unwrap_or(self.batch_size)
            .min(labels)
            .max(1)
    }

    /// Refuses values training cannot use (no epochs, an empty batch, too many samples, a free-bits
    /// λ with the IWAE bound, ...), naming the value.
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
        if self.samples > MAX_SAMPLES {
            return Err(Error::Config(format!(
                "{} latent samples per image is more than the {MAX_SAMPLES} training takes",
                self.samples
            )));
        }
        let lr = self.optimizer.lr;
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::Config(format!(
                "learning rate {lr:?} must be positive and finite"
            )));
        }
        if self.labels == Some(0) {
            return Err(Error::Config("labels must be at least 1".into()));
        }
        if self.labelled_per_batch == Some(0) {
            return Err(Error::Config(
                "labelled_per_batch must be at least 1".into(),
            ));
        }
        if let Some(std) = self.init_std {
            if !(std.is_finite() && std > 0.0) {
                return Err(Error::Config(format!(
                    "init_std {std:?} must be positive and finite"
                )));
            }
        }
        if let Some(gamma) = self.feature_weight {
            if !(gamma.is_finite() && gamma >= 0.0) {
                return Err(Error::Config(format!(
                    "feature_weight {gamma:?} must be non-negative and finite"
                )));
            }
        }
        if let Some(margin) = self.equilibrium_margin {
            if !(margin.is_finite() && margin >= 0.0) {
                return Err(Error::Config(format!(
                    "equilibrium_margin {margin:?} must be non-negative and finite"
                )));
            }
        }
        if let Some(w) = self.real_weight {
            if !(w > 0.0 && w < 1.0) {
                return Err(Error::Config(format!(
                    "real_weight {w:?} must lie strictly between 0 and 1"
                )));
            }
        }
        if let Some(alpha) = self.alpha {
            if !(alpha.is_finite() && alpha >= 0.0) {
                return Err(Error::Config(format!(
                    "alpha {alpha:?} must be non-negative and finite"
                )));
            }
        }
        for (name, value) in [
            ("beta", self.beta),
            ("kl_warmup", self.kl_warmup),
            ("free_bits", self.free_bits),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::Config(format!(
                    "{name} {value:?} must be non-negative and finite"
                )));
            }
        }
        if self.objective == ObjectiveKind::Iwae && self.free_bits > 0.0 {
            return Err(Error::Config(
                "free bits clamp the ELBO's KL term; the IWAE bound has none".into(),
            ));
        }
        if let Some(eps) = self.optimizer.eps {
            if !(eps.is_finite() && eps > 0.0) {
                return Err(Error::Config(format!(
                    "optimizer eps {eps:?} must be positive and finite"
                )));
            }
        }
        if let LrSchedule::Exponential { gamma } = self.optimizer.schedule {
            if !(gamma.is_finite() && gamma > 0.0 && gamma <= 1.0) {
                return Err(Error::Config(format!(
                    "the exponential schedule's gamma {gamma:?} must be in (0, 1]"
                )));
            }
        }
        if let Some(clip) = self.optimizer.clip_norm {
            if !(clip.is_finite() && clip > 0.0) {
                return Err(Error::Config(format!(
                    "the gradient norm bound {clip:?} must be positive and finite"
                )));
            }
        }
        let wd = self.optimizer.weight_decay;
        if !(wd.is_finite() && wd >= 0.0) {
            return Err(Error::Config(format!(
                "weight decay {wd:?} must be non-negative and finite"
            )));
        }
        Ok(())
    }
}
