//! The model's architecture: image shape, latent size, classes, the layer lists of its networks
//! and the decoder's likelihood.

use super::image::ImageShape;
use crate::error::{Error, Result};
use crate::kernels::elementwise::Activation;
use crate::nn::spec::{self, LayerSpec};
use serde::{Deserialize, Serialize};

/// The decoder's observation model p(x | z).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LikelihoodKind {
    /// Independent Bernoulli pixels on logits: a true likelihood for binary data.
    Bernoulli,
    /// Independent Gaussian pixels, mean sigmoid(logits), learned per-pixel log-variance.
    Gaussian,
    /// Independent Gaussian values, mean = the logits themselves, learned per-value log-variance:
    /// for unbounded values, M1's codes under a stacked M2.
    #[serde(rename = "gaussian-identity")]
    GaussianIdentity,
}

impl LikelihoodKind {
    /// Whether the decoder has a learned log-variance.
    pub fn is_gaussian(self) -> bool {
        matches!(
            self,
            LikelihoodKind::Gaussian | LikelihoodKind::GaussianIdentity
        )
    }
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
    /// The VAE of Kingma & Welling 2013 (conditional with classes, two-layer with a top layer).
    #[default]
    Vae,
    /// Deterministic code z = f(x), reconstruction loss only: no noise, no KL.
    Ae,
    /// Classifier q(y | x), encoder q(z | x, y), decoder p(x | y, z); learns from few labels.
    M2,
    /// The joint multimodal VAE of Suzuki, Nakayama & Matsuo 2016 (JMVAE-kl): one z for the image
    /// x and its label w, encoders q(z | x, w), q(z | x) and q(z | w), decoders p(x | z) and
    /// p(w | z).
    Jmvae,
    /// DRAW, the recurrent VAE of Gregor et al. 2015: an encoder and a decoder LSTM paint the
    /// image on a canvas over `steps` steps, with a latent z_t per step (see [`DrawConfig`]).
    Draw,
    /// The GAN of Goodfellow et al. 2014: a generator from z (the `decoder` list) against a
    /// discriminator (the `discriminator` list), dense networks.
    Gan,
    /// DCGAN, Radford et al. 2016: the GAN with (transposed) convolutions, batch normalization and
    /// Leaky ReLU.
    Dcgan,
    /// VAE-GAN, Larsen et al. 2015: a VAE whose reconstruction error is measured in the features
    /// of a discriminator (the end of the `discriminator` list), trained against it as a GAN.
    #[serde(rename = "vae-gan")]
    VaeGan,
}

impl ModelKind {
    /// Whether this kind is trained adversarially (GAN, DCGAN, VAE-GAN).
    pub fn is_adversarial(self) -> bool {
        matches!(self, ModelKind::Gan | ModelKind::Dcgan | ModelKind::VaeGan)
    }

    /// Whether this kind maps images to z (every kind but GAN and DCGAN).
    pub fn has_encoder(self) -> bool {
        !matches!(self, ModelKind::Gan | ModelKind::Dcgan)
    }
}

/// The model's architecture. Each network is a layer list (`nn::spec`); the model adds the head its
/// distribution needs, so sizes set here (latent, classes, pixels) are never written twice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Which member of the family.
    #[serde(default)]
    pub kind: ModelKind,
    /// The images it reads and draws.
    pub image: ImageShape,
    /// The size of z (of z1 for a two-layer VAE).
    pub latent: usize,
    /// Label classes for a conditional VAE (the one-hot label is appended to the inputs of
    /// encoder and decoder); 0 for an unconditional one.
    #[serde(default)]
    pub classes: usize,
    /// q(z | x)'s body, reading the flat image (with the one-hot label when conditional); the
    /// model adds the dense heads `mean` and `log_var` (`code` for the autoencoder).
    pub encoder: Vec<LayerSpec>,
    /// p(x | z)'s body, reading z (with the label); the model adds the dense head `output`, one
    /// logit per pixel value.
    pub decoder: Vec<LayerSpec>,
    /// M2's q(y | x) body, reading the flat image; the model adds the dense head `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier: Option<Vec<LayerSpec>>,
    /// p(x | z): Bernoulli or Gaussian.
    pub likelihood: LikelihoodKind,
    /// Per-pixel or per-image log-variance, for the Gaussian likelihood.
    #[serde(default)]
    pub gaussian_variance: GaussianVariance,
    /// Floor on the Gaussian decoder's log-variance, so the density cannot grow without bound.
    #[serde(default = "default_min_log_var")]
    pub min_log_var: f64,
    /// A second stochastic layer above `latent` (Burda et al. 2015, Sec. 5): q(z2 | z1) and the
    /// prior p(z1 | z2) replacing N(0, I) on z1; z2 ~ N(0, I). Unconditional VAEs only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<TopLayer>,
    /// M1 + M2: this M2 reads the codes of a trained VAE (M1), not pixels; `image` is then `1 x
    /// codes x 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Features>,
    /// JMVAE: the networks of the label modality, q(z | w) and p(w | z).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modality: Option<LabelModality>,
    /// DRAW: its steps, LSTMs and attention; `latent` is then the size of each step's z_t, and
    /// `encoder` and `decoder` are empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draw: Option<DrawConfig>,
    /// GAN, DCGAN and VAE-GAN: the discriminator's body, reading the image; the model adds a
    /// dense head `output` (one logit) unless the list ends with one value. The generator is
    /// `decoder`, reading z; `encoder` is empty but for a VAE-GAN, whose reconstruction error is
    /// measured in the output of this list (Larsen et al.'s Dis_l).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discriminator: Option<Vec<LayerSpec>>,
}

/// DRAW's recurrence (Gregor et al. 2015, Sec. 2): `steps` steps of an encoder LSTM reading the
/// image and the error image through `read`, a Gaussian q(z_t | h_enc_t), and a decoder LSTM
/// adding `write(h_dec_t)` to the canvas. The weights are PyTorch's `nn.LSTMCell` `encoder.` and
/// `decoder.`, the dense heads `mean.` and `log_var.` on h_enc, `write.` (and with attention
/// `read_window.` and `write_window.`, five numbers each) on h_dec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawConfig {
    /// T, the painting steps.
    pub steps: usize,
    /// Hidden units of each LSTM.
    pub lstm: usize,
    /// The selective attention of Sec. 3.2; without it the encoder reads the whole image and the
    /// error image, and `write` is a dense layer onto the whole canvas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<Attention>,
}

/// The sizes of DRAW's read and write grids, N x N filters each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attention {
    /// N of the read grid: the encoder reads 2 N² values per channel (image and error image).
    pub read: usize,
    /// N of the write grid: the decoder writes an N x N patch per channel.
    pub write: usize,
}

/// The most painting steps a DRAW may take.
pub const MAX_DRAW_STEPS: usize = 1024;

impl DrawConfig {
    /// What the encoder LSTM reads per step: the read (the image and the error image, whole or
    /// through the read grid), then the decoder's previous output.
    pub fn read_width(&self, image: ImageShape) -> usize {
        2 * match self.attention {
            Some(a) => a.read * a.read * image.channels,
            None => image.len(),
        }
    }

    /// What the decoder writes per step: the whole canvas, or one patch.
    pub fn write_width(&self, image: ImageShape) -> usize {
        match self.attention {
            Some(a) => a.write * a.write * image.channels,
            None => image.len(),
        }
    }
}

/// The label as a second modality of a JMVAE (Suzuki et al. 2016): q(z | w)'s body, reading the
/// one-hot label, and p(w | z)'s body, reading z; the model adds q(z | w)'s dense `mean` and
/// `log_var` heads (under `label_encoder.`) and p(w | z)'s `output` head of one logit per class,
/// read through a softmax (under `label_decoder.`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelModality {
    /// q(z | w)'s body.
    pub encoder: Vec<LayerSpec>,
    /// p(w | z)'s body.
    pub decoder: Vec<LayerSpec>,
    /// The names of binary attributes when w is a vector of them (a folder's `attributes.csv`),
    /// with independent Bernoulli p(w | z); empty when w is the one-hot label, with a softmax
    /// p(w | z) over `classes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
}

/// Where a stacked M2's inputs come from (Kingma, Rezende, Mohamed & Welling 2014, Sec. 3.2, M1 +
/// M2): the posterior of a trained VAE, M1, over the images; a fresh draw z1 ~ q(z1 | x) per
/// training step, the means when scoring.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Features {
    /// M1's run directory.
    pub run: std::path::PathBuf,
    /// SHA-256 of M1's `model.safetensors` when this model was trained: a changed M1 is refused.
    pub sha256: String,
    /// SHA-256 of M1's `config.json` when this model was trained: M1's weights read through
    /// another configuration (another activation, say) are refused too. Absent in runs written
    /// before it was recorded, which are checked by their weights alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_sha256: Option<String>,
    /// The images M1 reads.
    pub image: ImageShape,
    /// M1's latent size.
    pub latent: usize,
    /// The code dimensions M2 reads, in order: those whose posterior mean varies across the
    /// training images with a standard deviation above `threshold`.
    pub active: Vec<usize>,
    /// The standard deviation below which a code dimension is dropped.
    pub threshold: f64,
    /// The training-set mean of every code dimension's posterior mean: what the dimensions M2
    /// does not read are set to when its codes are drawn through M1's decoder.
    pub fill: Vec<f64>,
}

impl Features {
    /// The shape M2 reads the selected codes as.
    pub fn code_shape(&self) -> ImageShape {
        ImageShape {
            height: 1,
            width: self.active.len(),
            channels: 1,
        }
    }

    pub(super) fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::Config(format!("features: {what}")));
        if self.latent == 0 || self.active.is_empty() {
            return bad("M1's latent and the selected codes must not be empty".into());
        }
        if !self.active.windows(2).all(|w| w[0] < w[1])
            || self.active.last().is_some_and(|&d| d >= self.latent)
        {
            return bad(format!(
                "active dimensions must increase and lie below M1's latent size {}",
                self.latent
            ));
        }
        if self.fill.len() != self.latent || !self.fill.iter().all(|v| v.is_finite()) {
            return bad(format!(
                "fill needs {} finite values, one per code dimension",
                self.latent
            ));
        }
        if !(self.threshold.is_finite() && self.threshold >= 0.0) {
            return bad(format!(
                "threshold {} is not a finite value >= 0",
                self.threshold
            ));
        }
        let hex = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex(&self.sha256) {
            return bad("sha256 is not 64 hexadecimal digits".into());
        }
        if self.config_sha256.as_deref().is_some_and(|h| !hex(h)) {
            return bad("config_sha256 is not 64 hexadecimal digits".into());
        }
        if self.image.is_empty() {
            return bad(format!("image shape {} has no pixels", self.image));
        }
        Ok(())
    }
}
/// The second stochastic layer z2 of a two-layer VAE: its size, q(z2 | z1)'s body and p(z1 |
/// z2)'s body; the model adds the dense `mean` and `log_var` heads of each Gaussian.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopLayer {
    /// The size of z2.
    pub latent: usize,
    /// q(z2 | z1), reading z1: weights under `top.encoder.`.
    pub encoder: Vec<LayerSpec>,
    /// p(z1 | z2), reading z2: weights under `top.prior.`.
    pub prior: Vec<LayerSpec>,
}

/// The Gaussian decoder's variance floor, as a log-variance, must lie in this range.
pub const MIN_LOG_VAR_RANGE: (f64, f64) = (-30.0, 30.0);

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
            latent: 20,
            classes: 0,
            encoder: spec::mlp(&super::DEFAULT_HIDDEN, Activation::Relu),
            decoder: spec::mlp(&super::DEFAULT_HIDDEN, Activation::Relu),
            classifier: None,
            likelihood: LikelihoodKind::Bernoulli,
            gaussian_variance: GaussianVariance::Pixel,
            min_log_var: default_min_log_var(),
            top: None,
            features: None,
            modality: None,
            draw: None,
            discriminator: None,
        }
    }
}

/// The networks of a model written by hand, as `vae train --layers FILE` reads them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerLists {
    /// The encoder's body.
    pub encoder: Vec<LayerSpec>,
    /// The decoder's body.
    pub decoder: Vec<LayerSpec>,
    /// M2's classifier; the encoder's list when absent.
    #[serde(default)]
    pub classifier: Option<Vec<LayerSpec>>,
}

impl LayerLists {
    /// Parses a layer-list file.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::Config(format!("layer lists: {e}")))
    }
}

/// The most parameters a model may hold: 2^30 f32 values, 4 GiB.
pub const MAX_PARAMETERS: usize = 1 << 30;

/// Head names the models add, which a list's own layers cannot take.
pub const ENCODER_HEADS: [&str; 3] = ["mean", "log_var", "code"];
/// The decoder's and classifier's head name, which a list's own layers cannot take.
pub const OUTPUT_HEAD: [&str; 1] = ["output"];

impl ModelConfig {
    /// The convolutional preset for this config's image (`config::arch::conv`), with dense
    /// layers of `hidden` widths between the convolutions and the latent.
    pub fn with_conv(mut self, hidden: &[usize], activation: Activation) -> Result<Self> {
        let (encoder, decoder) = super::arch::conv(self.image, hidden, activation)?;
        self.encoder = encoder;
        self.decoder = decoder;
        Ok(self)
    }

    /// MLP encoder and decoder in the `--hidden` shorthand: the encoder's hidden widths `hidden`,
    /// the decoder's the same reversed.
    pub fn with_mlp(mut self, hidden: &[usize], activation: Activation) -> Self {
        let reversed: Vec<usize> = hidden.iter().rev().copied().collect();
        self.encoder = spec::mlp(hidden, activation);
        self.decoder = spec::mlp(&reversed, activation);
        self
    }

    /// What the encoder reads per image: the pixels with the one-hot label when conditional (see
    /// [`ImageShape::network_input`]), with w when a JMVAE's joint encoder.
    pub fn encoder_input_shape(&self) -> Vec<usize> {
        self.image.network_input(&self.encoder, self.joint_width())
    }

    /// The binary attributes a JMVAE's w holds (empty when w is the label).
    pub fn attributes(&self) -> &[String] {
        self.modality.as_ref().map_or(&[], |m| &m.attributes)
    }

    /// Values the encoder reads beside the image: a JMVAE's w (the one-hot label or the
    /// attributes), a conditional model's one-hot label, else none.
    pub fn joint_width(&self) -> usize {
        match self.attributes().len() {
            0 => self.classes,
            n => n,
        }
    }

    /// The dense products of a model whose networks are dense layers only, as (inputs, outputs):
    /// the encoder's layers and its head (`[mean | log_var]`, or the code), then the decoder's
    /// layers and its head; the decoder's count as the second value. `None` when a network has a
    /// convolution. What a benchmark of the model's products times.
    pub fn dense_products(&self) -> Option<(Vec<(usize, usize)>, usize)> {
        fn dense(
            layers: &[LayerSpec],
            inputs: usize,
            head: usize,
            out: &mut Vec<(usize, usize)>,
        ) -> Option<()> {
            let mut width = inputs;
            for layer in layers {
                match layer {
                    LayerSpec::Linear { out: o, .. } => {
                        out.push((width, *o));
                        width = *o;
                    }
                    LayerSpec::Conv2d { .. } | LayerSpec::ConvTranspose2d { .. } => return None,
                    _ => {}
                }
            }
            out.push((width, head));
            Some(())
        }
        let heads = if self.kind == ModelKind::Ae { 1 } else { 2 };
        let mut products = Vec::new();
        dense(
            &self.encoder,
            self.image.len() + self.classes,
            heads * self.latent,
            &mut products,
        )?;
        let encoder = products.len();
        dense(
            &self.decoder,
            self.decoder_input(),
            self.image.len(),
            &mut products,
        )?;
        Some((products.clone(), products.len() - encoder))
    }

    /// Values the decoder reads per row: z, then the one-hot label when conditional (a JMVAE's
    /// p(x | z) reads z alone).
    pub fn decoder_input(&self) -> usize {
        self.latent + self.decoder_classes()
    }

    /// Label classes the decoder reads one-hot: a conditional VAE's and M2's; none for a JMVAE,
    /// whose label is data it generates.
    pub fn decoder_classes(&self) -> usize {
        if self.kind == ModelKind::Jmvae {
            0
        } else {
            self.classes
        }
    }

    /// Which member of the family, in words: `VAE`, `conditional VAE (10 classes)`, `plain
    /// autoencoder`, `semi-supervised M2 (10 classes)`.
    pub fn kind_name(&self) -> String {
        match self.kind {
            ModelKind::Draw => match &self.draw {
                Some(DrawConfig {
                    steps,
                    attention: Some(a),
                    ..
                }) => format!(
                    "DRAW ({steps} steps, read {0}x{0}, write {1}x{1} attention)",
                    a.read, a.write
                ),
                Some(d) => format!("DRAW ({} steps, no attention)", d.steps),
                None => "DRAW".into(),
            },
            ModelKind::Ae => "plain autoencoder".to_string(),
            ModelKind::Gan => "GAN".to_string(),
            ModelKind::Dcgan => "DCGAN".to_string(),
            ModelKind::VaeGan => "VAE-GAN".to_string(),
            ModelKind::Jmvae if !self.attributes().is_empty() => format!(
                "JMVAE (image and {} binary attributes in one latent space)",
                self.attributes().len()
            ),
            ModelKind::Jmvae => format!(
                "JMVAE (image and label, {} classes, in one latent space)",
                self.classes
            ),
            ModelKind::M2 => match &self.features {
                Some(f) => format!(
                    "stacked M1 + M2 ({} classes, on {} of M1's {} codes)",
                    self.classes,
                    f.active.len(),
                    f.latent
                ),
                None => format!("semi-supervised M2 ({} classes)", self.classes),
            },
            ModelKind::Vae if self.classes > 0 => {
                format!("conditional VAE ({} classes)", self.classes)
            }
            ModelKind::Vae => match &self.top {
                Some(top) => format!(
                    "VAE with two stochastic layers (z2 {}: q(z2|z1) [{}], p(z1|z2) [{}])",
                    top.latent,
                    spec::describe(&top.encoder),
                    spec::describe(&top.prior)
                ),
                None => "VAE".into(),
            },
        }
    }

    /// The images the model reads: M1's for a stacked M2, else `image`.
    pub fn data_image(&self) -> ImageShape {
        self.features.as_ref().map_or(self.image, |f| f.image)
    }

    /// The model in one line: kind, networks and likelihood.
    pub fn describe(&self) -> String {
        if self.kind.is_adversarial() {
            // No likelihood: the generator's images are sigmoid of its output layer.
            return format!("{} {}", self.kind_name(), self.describe_networks());
        }
        format!(
            "{} {} ({:?} decoder)",
            self.kind_name(),
            self.describe_networks(),
            self.likelihood
        )
    }

    /// A one-line description of the networks: `784-400-20 relu, decoder mirrored` for the
    /// shorthand, each list spelled out otherwise.
    pub fn describe_networks(&self) -> String {
        if let (Some(discriminator), ModelKind::VaeGan) = (&self.discriminator, self.kind) {
            return format!(
                "encoder [{}], z of {}, decoder [{}], discriminator [{}]",
                spec::describe(&self.encoder),
                self.latent,
                spec::describe(&self.decoder),
                spec::describe(discriminator)
            );
        }
        if let Some(discriminator) = &self.discriminator {
            return format!(
                "z of {}, generator [{}], discriminator [{}]",
                self.latent,
                spec::describe(&self.decoder),
                spec::describe(discriminator)
            );
        }
        if let Some(draw) = &self.draw {
            return format!(
                "LSTMs of {} units, z_t of {} per step",
                draw.lstm, self.latent
            );
        }
        let reversed = |layers: &[LayerSpec]| {
            spec::mlp_widths(layers).map(|(w, a)| (w.into_iter().rev().collect::<Vec<_>>(), a))
        };
        let mirrored = spec::mlp_widths(&self.encoder).is_some()
            && reversed(&self.encoder) == spec::mlp_widths(&self.decoder);
        match spec::mlp_widths(&self.encoder) {
            Some((widths, activation)) if mirrored => {
                let widths: Vec<String> = std::iter::once(self.image.len())
                    .chain(widths)
                    .chain(std::iter::once(self.latent))
                    .map(|w| w.to_string())
                    .collect();
                let activation = activation.map_or(String::new(), |a| format!(" {a:?}"));
                format!(
                    "{}{}, decoder mirrored",
                    widths.join("-"),
                    activation.to_lowercase()
                )
            }
            _ => format!(
                "encoder [{}], latent {}, decoder [{}]",
                spec::describe(&self.encoder),
                self.latent,
                spec::describe(&self.decoder)
            ),
        }
    }
}
