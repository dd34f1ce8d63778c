//! Any member of the family, as a run directory holds it: what commands load, draw and score
//! without caring which kind they were given. Each arm forwards to its own type; what a kind
//! cannot do (classify without a classifier) is an error, not a branch inside one struct.

use super::{
    Autoencoder, Draw, Gan, Hvae, ImageScore, Jmvae, Stacked, Vae, VaeGan, VaeWorkspace, M2,
};
use super::{Generative, Trainable};
use crate::batch::Batch;
use crate::config::{ModelConfig, ModelKind};
use crate::error::{Error, Result};
use crate::kernels::rng::Rng;
use crate::loss_terms::LossTerms;
use crate::nn::Parameters;
use crate::scalar::Scalar;

/// Any member of the family, as a run directory holds it.
#[derive(Clone, Debug)]
pub enum Model<T> {
    /// The VAE, conditional when it has classes.
    Vae(Vae<T>),
    /// The plain autoencoder.
    Autoencoder(Autoencoder<T>),
    /// The semi-supervised M2.
    M2(M2<T>),
    /// The VAE with a second stochastic layer.
    Hvae(Hvae<T>),
    /// M2 on the codes of a VAE, M1 (Kingma et al. 2014's M1 + M2).
    Stacked(Box<Stacked<T>>),
    /// The joint multimodal VAE of an image and its label (Suzuki et al. 2016).
    Jmvae(Jmvae<T>),
    /// DRAW, the recurrent VAE that paints in steps (Gregor et al. 2015).
    Draw(Draw<T>),
    /// A GAN or DCGAN: generator and discriminator (Goodfellow et al. 2014, Radford et al. 2016).
    Gan(Gan<T>),
    /// A VAE-GAN: encoder, decoder and discriminator (Larsen et al. 2015).
    VaeGan(VaeGan<T>),
}

/// `$model.$method(...)` on whichever kind `$self` holds.
macro_rules! each {
    ($self:expr, $model:ident => $body:expr) => {
        match $self {
            Model::Vae($model) => $body,
            Model::Autoencoder($model) => $body,
            Model::M2($model) => $body,
            Model::Hvae($model) => $body,
            Model::Stacked($model) => $body,
            Model::Jmvae($model) => $body,
            Model::Draw($model) => $body,
            Model::Gan($model) => $body,
            Model::VaeGan($model) => $body,
        }
    };
}

impl<T: Scalar> Model<T> {
    /// A freshly initialised model of `config.kind`; weights are drawn from `(seed, Init)`.
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self> {
        Ok(match config.kind {
            ModelKind::Vae if config.top.is_some() => Model::Hvae(Hvae::new(config, seed)?),
            ModelKind::Vae => Model::Vae(Vae::new(config, seed)?),
            ModelKind::Ae => Model::Autoencoder(Autoencoder::new(config, seed)?),
            ModelKind::M2 => Model::M2(M2::new(config, seed)?),
            ModelKind::Jmvae => Model::Jmvae(Jmvae::new(config, seed)?),
            ModelKind::Draw => Model::Draw(Draw::new(config, seed)?),
            ModelKind::Gan | ModelKind::Dcgan => Model::Gan(Gan::new(config, seed)?),
            ModelKind::VaeGan => Model::VaeGan(VaeGan::new(config, seed)?),
        })
    }

    /// The model described by `config` with the given weights (from a checkpoint); a stacked M2
    /// comes back as the M2 on codes, which `stack` pairs with its M1.
    pub fn from_parameters(config: &ModelConfig, params: Parameters<T>) -> Result<Self> {
        let mut model = Model::new(config, 0)?;
        if params.entries() != model.parameters().entries() {
            return Err(Error::Config(
                "weights do not match the architecture in the configuration".into(),
            ));
        }
        *model.parameters_mut() = params;
        Ok(model)
    }

    /// The model's configuration (M2's with M1's image shape, for M1 + M2).
    pub fn config(&self) -> &ModelConfig {
        match self {
            Model::Vae(m) => &m.config,
            Model::Autoencoder(m) => &m.config,
            Model::M2(m) => &m.vae.config,
            Model::Hvae(m) => &m.config,
            Model::Stacked(m) => m.config(),
            Model::Jmvae(m) => &m.config,
            Model::Draw(m) => &m.config,
            Model::Gan(m) => &m.config,
            Model::VaeGan(m) => &m.config,
        }
    }

    /// Pairs an M2 trained on codes with its M1 (see `model::stacked`).
    pub fn stack(self, m1: Model<T>) -> Result<Self> {
        match (m1, self) {
            (Model::Vae(m1), Model::M2(m2)) => Ok(Model::Stacked(Box::new(Stacked::new(m1, m2)?))),
            (m1, m2) => Err(Error::Config(format!(
                "M1 + M2 pairs a VAE with an M2, not a {} with a {}",
                m1.config().kind_name(),
                m2.config().kind_name()
            ))),
        }
    }

    /// Which member of the family.
    pub fn kind(&self) -> ModelKind {
        self.config().kind
    }

    /// The latent the prior N(0, I) is on, which `decode`, `sample` and `encode` use: z (z2 for
    /// a two-layer VAE).
    pub fn latent(&self) -> usize {
        match self {
            Model::Hvae(m) => m.latent(),
            Model::Draw(m) => m.latent(),
            _ => self.config().latent,
        }
    }

    /// Values per image.
    pub fn pixels(&self) -> usize {
        self.config().image.len()
    }

    /// Label classes the model is conditioned on; 0 for an unconditional model.
    pub fn classes(&self) -> usize {
        self.config().classes
    }

    /// Floating-point operations of one image's forward pass through the products (2 per
    /// multiply-add): the unit the benchmarks count in.
    pub fn forward_flops_per_image(&self) -> f64 {
        each!(self, m => m.forward_flops_per_image())
    }

    /// The same model in another precision.
    pub fn cast<U: Scalar>(&self) -> Model<U> {
        match self {
            Model::Vae(m) => Model::Vae(m.cast()),
            Model::Autoencoder(m) => Model::Autoencoder(m.cast()),
            Model::M2(m) => Model::M2(m.cast()),
            Model::Hvae(m) => Model::Hvae(m.cast()),
            Model::Stacked(m) => Model::Stacked(Box::new(m.cast())),
            Model::Jmvae(m) => Model::Jmvae(m.cast()),
            Model::Draw(m) => Model::Draw(m.cast()),
            Model::Gan(m) => Model::Gan(m.cast()),
            Model::VaeGan(m) => Model::VaeGan(m.cast()),
        }
    }

    /// Conditional models need one label in range per row; others ignore labels.
    pub fn check_labels(&self, labels: &[u8], rows: usize) -> Result<()> {
        super::parts::check_labels(labels, rows, self.decoder_classes())
    }

    /// The classes the decoder is conditioned on: a JMVAE's labels are data it generates, so
    /// it decodes without them (0), as an unconditional model does.
    pub fn decoder_classes(&self) -> usize {
        self.config().decoder_classes()
    }

    /// The JMVAE inside, or an error naming what this model is.
    pub fn jmvae(&self) -> Result<&Jmvae<T>> {
        match self {
            Model::Jmvae(m) => Ok(m),
            other => Err(Error::InvalidArgument(format!(
                "this is a {}, not a jmvae model",
                other.config().kind_name()
            ))),
        }
    }

    /// The GAN inside, or an error naming what this model is.
    pub fn gan(&self) -> Result<&Gan<T>> {
        match self {
            Model::Gan(m) => Ok(m),
            other => Err(Error::InvalidArgument(format!(
                "this is a {}, not a gan or dcgan model",
                other.config().kind_name()
            ))),
        }
    }

    /// The DRAW inside, or an error naming what this model is.
    pub fn draw(&self) -> Result<&Draw<T>> {
        match self {
            Model::Draw(m) => Ok(m),
            other => Err(Error::InvalidArgument(format!(
                "this is a {}, not a draw model",
                other.config().kind_name()
            ))),
        }
    }

    /// log p(x | y) for every class y of one image (conditional models; see
    /// `Vae::class_log_likelihoods`).
    pub fn class_log_likelihoods(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<f64>,
    ) -> Result<()> {
        match self {
            Model::Vae(m) => m.class_log_likelihoods(ws, x, k, rng, out),
            Model::M2(m) => m.vae.class_log_likelihoods(ws, x, k, rng, out),
            Model::Stacked(m) => m.class_log_likelihoods(ws, x, k, rng, out),
            Model::Autoencoder(_)
            | Model::Hvae(_)
            | Model::Jmvae(_)
            | Model::Draw(_)
            | Model::Gan(_)
            | Model::VaeGan(_) => Err(Error::InvalidArgument(
                "only a conditional model has a likelihood per class".into(),
            )),
        }
    }

    /// M2's prediction argmax_y q(y | x) for each image (a JMVAE's argmax_y p(y | z) at the mean
    /// of q(z | x)); an error for the other kinds.
    pub fn classify(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        match self {
            Model::M2(m) => m.classify(ws, x, rows, out),
            Model::Stacked(m) => m.classify(ws, x, rows, out),
            Model::Jmvae(m) => m.infer_labels(ws, x, rows, out),
            _ => Err(super::m2::no_classifier()),
        }
    }
}

impl<T: Scalar> Generative<T> for Model<T> {
    fn config(&self) -> &ModelConfig {
        Model::config(self)
    }

    fn latent(&self) -> usize {
        Model::latent(self)
    }

    fn encode(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        each!(self, m => m.encode(ws, x, labels, rows, out))
    }

    fn encode_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        each!(self, m => m.encode_means(ws, x, labels, rows, out))
    }

    fn decode(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        each!(self, m => m.decode(ws, z, labels, rows, out))
    }

    fn score(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        each!(self, m => m.score(ws, x, labels, rows, k, rng, out))
    }

    /// Each kind's own draws: a JMVAE draws from q(z | y) when given labels.
    fn sample(
        &self,
        ws: &mut VaeWorkspace<T>,
        n: usize,
        labels: &[u8],
        rng: &mut Rng,
        out: &mut Vec<T>,
    ) -> Result<()> {
        each!(self, m => m.sample(ws, n, labels, rng, out))
    }
}

impl<T: Scalar> Trainable<T> for Model<T> {
    type Workspace = VaeWorkspace<T>;

    fn parameters(&self) -> &Parameters<T> {
        each!(self, m => m.parameters())
    }

    fn parameters_mut(&mut self) -> &mut Parameters<T> {
        each!(self, m => m.parameters_mut())
    }

    fn parameter_groups(&self) -> Vec<crate::nn::ParamGroup> {
        each!(self, m => m.parameter_groups())
    }

    fn held_out_loss(
        &self,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        each!(self, m => m.held_out_loss(ws, batch, samples, rng))
    }
}
