//! Generative adversarial networks: GAN (Goodfellow et al. 2014, dense networks) and DCGAN
//! (Radford et al. 2016, convolutions with batch normalization and Leaky ReLU). A generator G
//! maps z ~ N(0, I) to an image, sigmoid of its output layer; a discriminator D maps an image
//! to one logit, the log-odds that it is real.
//!
//! A training step has two phases on the same batch, each updating one network with its own
//! optimizer state (the loop's parameter groups): the discriminator minimises
//! −log D(x) − log(1 − D(G(z))) on real images and fresh fakes, then the generator minimises the
//! non-saturating −log D(G(z)) on the same fakes through the updated discriminator, as PyTorch's
//! DCGAN example does. Both networks run in training mode throughout; sampling and held-out
//! losses run them in evaluation mode.

use super::{Generative, ImageScore, Trainable, VaeWorkspace};
use crate::batch::Batch;
use crate::config::{ImageShape, ModelConfig, ModelKind};
use crate::error::{Error, Result};
use crate::kernels::elementwise::{sigmoid_backward, sigmoid_into};
use crate::kernels::loss::{bce_with_logit, bce_with_logits};
use crate::kernels::rng::{fill_standard_normal, stream, Purpose, Rng};
use crate::loss_terms::LossTerms;
use crate::nn::{
    LayerSpec, Linear, Mode, Network, NetworkBuffers, ParamBuilder, ParamGroup, Parameters,
};
use crate::scalar::Scalar;

/// A GAN or DCGAN: generator and discriminator over one parameter store, under `generator.`
/// and `discriminator.`.
#[derive(Clone, Debug)]
pub struct Gan<T> {
    /// The architecture; `decoder` is the generator's body, `discriminator` the discriminator's.
    pub config: ModelConfig,
    params: Parameters<T>,
    generator: Network,
    discriminator: Network,
}

/// A GAN's buffers, reused across steps.
#[derive(Clone, Debug, Default)]
pub struct GanWorkspace<T> {
    generator: NetworkBuffers<T>,
    discriminator: NetworkBuffers<T>,
    /// The batch's z, and G(z) in [0, 1], kept from the discriminator's phase for the
    /// generator's.
    z: Vec<T>,
    fake: Vec<T>,
    /// Gradients: with respect to D's logits, to D's input, to G's output logits.
    d_logits: Vec<T>,
    d_image: Vec<T>,
    d_generated: Vec<T>,
}

impl<T: Scalar> Gan<T> {
    /// A freshly initialised GAN; weights are drawn from the stream `(seed, Init)` as
    /// PyTorch's layers draw theirs (DCGAN's N(0, 0.02) is not applied: `init_std` does that).
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        if !matches!(config.kind, ModelKind::Gan | ModelKind::Dcgan) {
            return Err(Error::Config(format!(
                "a {} model is not a GAN",
                config.kind_name()
            )));
        }
        let Some(layers) = &config.discriminator else {
            return Err(Error::Config(
                "a GAN needs a discriminator layer list".into(),
            ));
        };
        let mut params = Parameters::default();
        let mut rng = stream(seed, Purpose::Init, &[]);
        let mut b = ParamBuilder::new(&mut params, &mut rng);
        let generator = build_generator(&mut b.pp("generator"), config, "generator")?;
        let discriminator = build_discriminator(&mut b.pp("discriminator"), config.image, layers)?;
        Ok(Gan {
            config: config.clone(),
            params,
            generator,
            discriminator,
        })
    }

    /// Floating-point operations of one image through the generator and the discriminator.
    pub fn forward_flops_per_image(&self) -> f64 {
        2.0 * (self.generator.macs_per_row() + self.discriminator.macs_per_row()) as f64
    }

    /// The same model in another precision.
    pub fn cast<U: Scalar>(&self) -> Gan<U> {
        Gan {
            config: self.config.clone(),
            params: self.params.cast(),
            generator: self.generator.clone(),
            discriminator: self.discriminator.clone(),
        }
    }

    /// The generator and the discriminator networks.
    pub fn networks(&self) -> (&Network, &Network) {
        (&self.generator, &self.discriminator)
    }

    /// G(z) in [0, 1] for `z [rows, latent]` into `out`, in `mode`; in training mode the
    /// generator's batch statistics are folded into its running estimates.
    fn generate(&mut self, mode: Mode, ws: &mut GanWorkspace<T>, rows: usize) -> Result<()> {
        self.generator
            .forward_in(mode, self.params.values(), &ws.z, rows, &mut ws.generator)?;
        if mode == Mode::Train {
            self.generator
                .commit_statistics(self.params.values_mut(), &mut ws.generator)?;
        }
        let logits = ws.generator.output();
        ws.fake.resize(logits.len(), T::zero());
        sigmoid_into(logits, &mut ws.fake);
        Ok(())
    }

    /// D's loss on `x` labelled real or fake, summed, with the gradient with respect to its
    /// logits in `ws.d_logits`; in training mode its batch statistics are committed.
    fn discriminate(
        &mut self,
        mode: Mode,
        ws: &mut GanWorkspace<T>,
        x: &[T],
        rows: usize,
        real: bool,
    ) -> Result<f64> {
        self.discriminator.forward_in(
            mode,
            self.params.values(),
            x,
            rows,
            &mut ws.discriminator,
        )?;
        if mode == Mode::Train {
            self.discriminator
                .commit_statistics(self.params.values_mut(), &mut ws.discriminator)?;
        }
        Ok(bce_with_logits(
            ws.discriminator.output(),
            real,
            &mut ws.d_logits,
        ))
    }

    /// Backpropagates `ws.d_logits` through D (kept by the latest `discriminate`): into its
    /// weights, or with `to_input` into `ws.d_image` alone.
    fn discriminator_backward(
        &mut self,
        ws: &mut GanWorkspace<T>,
        x: &[T],
        rows: usize,
        to_input: bool,
    ) -> Result<()> {
        let GanWorkspace {
            discriminator,
            d_logits,
            d_image,
            ..
        } = ws;
        d_image.resize(x.len(), T::zero());
        let (values, grads) = self.params.split_mut();
        if to_input {
            // The generator's phase: D is held fixed, so its weights' gradients are not taken.
            return self.discriminator.input_gradient(
                values,
                x,
                rows,
                discriminator,
                d_logits,
                d_image,
            );
        }
        self.discriminator
            .backward(values, grads, x, rows, discriminator, d_logits, None)
    }

    /// The discriminator's phase: fresh z from `rng`, G(z) kept for the generator's phase, D's
    /// loss on the real rows and the fakes, and its gradient in D's weights.
    pub fn discriminator_step(
        &mut self,
        workspace: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let ws = &mut workspace.gan;
        let rows = batch.rows;
        ws.z.resize(rows * self.config.latent, T::zero());
        fill_standard_normal(rng, &mut ws.z);
        self.generate(Mode::Train, ws, rows)?;
        let real = self.discriminate(Mode::Train, ws, batch.x, rows, true)?;
        self.discriminator_backward(ws, batch.x, rows, false)?;
        let fake = std::mem::take(&mut ws.fake);
        let result = self
            .discriminate(Mode::Train, ws, &fake, rows, false)
            .and_then(|loss| {
                self.discriminator_backward(ws, &fake, rows, false)?;
                Ok(loss)
            });
        ws.fake = fake;
        Ok(LossTerms {
            images: rows,
            discriminator: real + result?,
            discriminator_real: real,
            ..LossTerms::default()
        })
    }

    /// The generator's phase on the fakes the discriminator's phase kept: −log D(G(z)) through
    /// the updated D (held fixed: its weights' gradients are not taken), backpropagated into G's
    /// weights.
    pub fn generator_step(&mut self, workspace: &mut VaeWorkspace<T>) -> Result<LossTerms> {
        let ws = &mut workspace.gan;
        let pixels = self.config.image.len();
        let rows = ws.fake.len() / pixels.max(1);
        if rows == 0 || ws.z.len() != rows * self.config.latent {
            return Err(Error::InvalidArgument(
                "the generator's phase follows the discriminator's on the same batch".into(),
            ));
        }
        let fake = std::mem::take(&mut ws.fake);
        let result = self
            .discriminate(Mode::Train, ws, &fake, rows, true)
            .and_then(|loss| {
                self.discriminator_backward(ws, &fake, rows, true)?;
                Ok(loss)
            });
        sigmoid_backward(&ws.d_image, &fake, &mut ws.d_generated);
        ws.fake = fake;
        let loss = result?;
        let GanWorkspace {
            generator,
            z,
            d_generated,
            ..
        } = ws;
        let (values, grads) = self.params.split_mut();
        self.generator
            .backward(values, grads, z, rows, generator, d_generated, None)?;
        Ok(LossTerms {
            images: rows,
            generator: loss,
            ..LossTerms::default()
        })
    }
}

/// G: reads z, the layer list `decoder`, then a dense `output` head to the pixels unless the list
/// ends with the image's shape. `name` labels errors.
pub(super) fn build_generator<T: Scalar>(
    b: &mut ParamBuilder<'_, T>,
    config: &ModelConfig,
    name: &str,
) -> Result<Network> {
    let image = config.image;
    let pixels = image.len();
    let image_shape = [image.height, image.width, image.channels];
    let mut head = |b: &mut ParamBuilder<'_, T>, shape: &[usize]| {
        (shape != image_shape)
            .then(|| Linear::new(&mut b.pp("output"), shape.iter().product(), pixels))
    };
    Network::build(b, name, &[config.latent], &config.decoder, Some(&mut head))
}

/// D: reads the image (flat, or `[height, width, channels]` when its first layer with weights is
/// a convolution), then a dense `output` head to one logit unless the list ends with one value.
fn build_discriminator<T: Scalar>(
    b: &mut ParamBuilder<'_, T>,
    image: ImageShape,
    layers: &[LayerSpec],
) -> Result<Network> {
    let mut head = |b: &mut ParamBuilder<'_, T>, shape: &[usize]| {
        let width: usize = shape.iter().product();
        (width != 1).then(|| Linear::new(&mut b.pp("output"), width, 1))
    };
    Network::build(
        b,
        "discriminator",
        &image.network_input(layers, 0),
        layers,
        Some(&mut head),
    )
}

impl<T: Scalar> Trainable<T> for Gan<T> {
    type Workspace = VaeWorkspace<T>;

    fn parameters(&self) -> &Parameters<T> {
        &self.params
    }

    fn parameters_mut(&mut self) -> &mut Parameters<T> {
        &mut self.params
    }

    /// The discriminator, then the generator: the two phases of a step.
    fn parameter_groups(&self) -> Vec<ParamGroup> {
        vec![
            ParamGroup::of("discriminator", &self.params, &["discriminator"]),
            ParamGroup::of("generator", &self.params, &["generator"]),
        ]
    }

    /// Both losses on held-out images, the networks in evaluation mode, z from `rng`.
    fn held_out_loss(
        &self,
        workspace: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        _samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        // Evaluation mode changes nothing, so a copy is not needed: the passes below only read.
        let ws = &mut workspace.gan;
        let rows = batch.rows;
        ws.z.resize(rows * self.config.latent, T::zero());
        fill_standard_normal(rng, &mut ws.z);
        let values = self.params.values();
        self.generator
            .forward_in(Mode::Eval, values, &ws.z, rows, &mut ws.generator)?;
        let logits = ws.generator.output();
        ws.fake.resize(logits.len(), T::zero());
        sigmoid_into(logits, &mut ws.fake);
        let mut terms = LossTerms {
            images: rows,
            ..LossTerms::default()
        };
        self.discriminator
            .forward_in(Mode::Eval, values, batch.x, rows, &mut ws.discriminator)?;
        for &l in ws.discriminator.output() {
            terms.discriminator_real += bce_with_logit(l.as_f64(), true);
        }
        terms.discriminator = terms.discriminator_real;
        self.discriminator
            .forward_in(Mode::Eval, values, &ws.fake, rows, &mut ws.discriminator)?;
        for &l in ws.discriminator.output() {
            terms.discriminator += bce_with_logit(l.as_f64(), false);
            terms.generator += bce_with_logit(l.as_f64(), true);
        }
        Ok(terms)
    }
}

fn no_encoder() -> Error {
    Error::InvalidArgument(
        "a GAN has no encoder: it draws images from z but cannot map an image to z".into(),
    )
}

impl<T: Scalar> Generative<T> for Gan<T> {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn encode(
        &self,
        _ws: &mut VaeWorkspace<T>,
        _x: &[T],
        _labels: &[u8],
        _rows: usize,
        _out: &mut Vec<T>,
    ) -> Result<()> {
        Err(no_encoder())
    }

    fn encode_means(
        &self,
        _ws: &mut VaeWorkspace<T>,
        _x: &[T],
        _labels: &[u8],
        _rows: usize,
        _out: &mut Vec<T>,
    ) -> Result<()> {
        Err(no_encoder())
    }

    /// G(z) with the generator in evaluation mode.
    fn decode(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        if z.len() != rows * self.config.latent {
            return Err(Error::shape(
                "latent points",
                rows * self.config.latent,
                z.len(),
            ));
        }
        let buffers = &mut ws.gan.generator;
        self.generator
            .forward_in(Mode::Eval, self.params.values(), z, rows, buffers)?;
        out.resize(buffers.output().len(), T::zero());
        sigmoid_into(buffers.output(), out);
        Ok(())
    }

    fn score(
        &self,
        _ws: &mut VaeWorkspace<T>,
        _x: &[T],
        _labels: &[u8],
        _rows: usize,
        _k: usize,
        _rng: &mut Rng,
        _out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        Err(Error::InvalidArgument(
            "a GAN has no likelihood to score images with: compare GANs by their Fréchet distance (vae eval --fid)".into(),
        ))
    }
}
