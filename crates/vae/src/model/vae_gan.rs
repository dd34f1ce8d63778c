//! VAE-GAN (Larsen et al. 2015, "Autoencoding beyond pixels using a learned similarity
//! metric"): a VAE whose decoder is also a GAN's generator, and whose reconstruction error is
//! measured in the features Dis_l(x) of a discriminator rather than in pixels. Dis_l here is the
//! output of the `discriminator` layer list, before its dense logit head; p(Dis_l(x) | z) is a
//! Gaussian of unit variance around Dis_l(x̃), so −log p = ½ ‖Dis_l(x̃) − Dis_l(x)‖² (eq. 6, the
//! constant left out).
//!
//! Algorithm 1 on a batch x, with z ~ q(z | x), x̃ = Dec(z), z_p ~ N(0, I), x_p = Dec(z_p):
//! - the discriminator minimises −log D(x) − log(1 − D(x̃)) − log(1 − D(x_p)), or with a real
//!   images' weight w (Larsen et al.'s code: 0.5) w · (−log D(x)) + (1 − w)/2 · (−log(1 − D(x̃))
//!   − log(1 − D(x_p)));
//! - the decoder minimises γ · ½ ‖Dis_l(x̃) − Dis_l(x)‖² − log D(x̃) − log D(x_p) (the
//!   non-saturating form of the GAN term, as the GAN here trains);
//! - the encoder minimises β · KL(q(z | x) || N(0, I)) + ½ ‖Dis_l(x̃) − Dis_l(x)‖² (β = 1 in
//!   the paper; a larger β pulls q(z | x) toward the prior the samples are drawn from).
//!
//! No gradient of the GAN loss reaches the encoder and none of the feature error reaches the
//! discriminator's weights (Sec. 2.3). As in the algorithm, the three gradients are taken at the
//! same weights, from one forward pass: the training loop's first phase computes them all and
//! steps the discriminator; its second and third take the decoder's and the encoder's from what
//! the first kept. Every network runs in training mode during a step (batch statistics, folded
//! into the running estimates once per pass) and in evaluation mode elsewhere. The decoder's
//! estimates follow its pass on z_p alone, or both its passes (`config::DecoderStatistics`):
//! when q(z | x) is far from N(0, I), the two passes' statistics differ, and estimates mixing
//! them fit neither the samples nor the reconstructions.

use super::gan::build_generator;
use super::{Encoder, Generative, ImageScore, Trainable, VaeWorkspace};
use crate::batch::Batch;
use crate::config::{DecoderStatistics, ModelConfig, ModelKind};
use crate::error::{Error, Result};
use crate::gaussian::DiagonalGaussian;
use crate::kernels::elementwise::{scale, sigmoid_backward, sigmoid_into};
use crate::kernels::loss::bce_with_logits;
use crate::kernels::rng::{fill_standard_normal, stream, Purpose, Rng};
use crate::loss_terms::LossTerms;
use crate::nn::{Linear, Mode, Network, NetworkBuffers, ParamBuilder, ParamGroup, Parameters};
use crate::scalar::Scalar;

/// A VAE-GAN: encoder, decoder and discriminator over one parameter store, under `encoder.`,
/// `decoder.` and `discriminator.`.
#[derive(Clone, Debug)]
pub struct VaeGan<T> {
    /// The architecture: `encoder`, `decoder` and `discriminator` lists.
    pub config: ModelConfig,
    params: Parameters<T>,
    encoder: Encoder,
    decoder: Network,
    /// Dis_l: the discriminator's layer list.
    features: Network,
    /// The dense head from Dis_l to D's logit.
    head: Network,
}

/// The weights of VAE-GAN's losses in a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossWeights {
    /// γ: the feature error's weight against the GAN loss in the decoder's objective.
    pub feature: f64,
    /// β: the KL's weight in the encoder's objective.
    pub kl: f64,
    /// w: the real images' share of the discriminator's loss, the rest split evenly between
    /// x̃ and x_p; `None` sums the three terms, as Algorithm 1 writes them.
    pub real: Option<f64>,
}

impl LossWeights {
    /// The factors of the discriminator's loss on x and on each of x̃ and x_p.
    fn discriminator(&self) -> (f64, f64) {
        match self.real {
            Some(w) => (w, 0.5 * (1.0 - w)),
            None => (1.0, 1.0),
        }
    }
}

/// One pass through the discriminator: its features and its head.
#[derive(Clone, Debug, Default)]
struct Discriminated<T> {
    features: NetworkBuffers<T>,
    head: NetworkBuffers<T>,
}

/// A VAE-GAN's buffers, reused across steps.
#[derive(Clone, Debug, Default)]
pub struct VaeGanWorkspace<T> {
    encoder: NetworkBuffers<T>,
    /// The decoder's passes on z and on z_p.
    decoder: NetworkBuffers<T>,
    prior_decoder: NetworkBuffers<T>,
    /// The discriminator's passes on x, x̃ and x_p.
    real: Discriminated<T>,
    recon: Discriminated<T>,
    prior: Discriminated<T>,
    eps: Vec<T>,
    z: Vec<T>,
    z_prior: Vec<T>,
    /// x̃ and x_p in [0, 1].
    recon_images: Vec<T>,
    prior_images: Vec<T>,
    kl: Vec<T>,
    /// Dis_l(x̃) − Dis_l(x): the feature error's gradient with respect to Dis_l(x̃).
    feature_error: Vec<T>,
    d_logits: Vec<T>,
    d_features: Vec<T>,
    /// Gradients with respect to an image, for the decoder's loss and for the encoder's.
    d_image: Vec<T>,
    d_image_encoder: Vec<T>,
    d_decoder: Vec<T>,
    d_z: Vec<T>,
    d_posterior: Vec<T>,
    /// Every group's gradient from the first phase, for the phases after it.
    kept_grads: Vec<T>,
    kept_rows: usize,
    phases_left: usize,
}

/// ½ ‖a − b‖² summed over every row, with a − b in `error`.
fn feature_error<T: Scalar>(a: &[T], b: &[T], error: &mut Vec<T>) -> f64 {
    error.clear();
    let mut loss = 0.0;
    for (&u, &v) in a.iter().zip(b) {
        let d = u - v;
        loss += 0.5 * d.as_f64() * d.as_f64();
        error.push(d);
    }
    loss
}

impl<T: Scalar> VaeGan<T> {
    /// A freshly initialised VAE-GAN; weights are drawn from the stream `(seed, Init)` as
    /// PyTorch's layers draw theirs, encoder first, then decoder and discriminator.
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        if config.kind != ModelKind::VaeGan {
            return Err(Error::Config(format!(
                "a {} model is not a VAE-GAN",
                config.kind_name()
            )));
        }
        let Some(layers) = &config.discriminator else {
            return Err(Error::Config(
                "a VAE-GAN needs a discriminator layer list".into(),
            ));
        };
        let image = config.image;
        let mut params = Parameters::default();
        let mut rng = stream(seed, Purpose::Init, &[]);
        let mut b = ParamBuilder::new(&mut params, &mut rng);
        let encoder = Encoder::new(
            &mut b.pp("encoder"),
            &image.network_input(&config.encoder, 0),
            &config.encoder,
            config.latent,
            true,
        )?;
        let decoder = build_generator(&mut b.pp("decoder"), config, "decoder")?;
        let mut d = b.pp("discriminator");
        let features = Network::build(
            &mut d,
            "discriminator",
            &image.network_input(layers, 0),
            layers,
            None,
        )?;
        let width = features.out_dim();
        if width < 2 {
            return Err(Error::Config(
                "a VAE-GAN compares images in the features its discriminator's layer list ends with; this list ends with one value: end it before the logit (the model adds the dense head)".into(),
            ));
        }
        let mut logit = |b: &mut ParamBuilder<'_, T>, _: &[usize]| {
            Some(Linear::new(&mut b.pp("output"), width, 1))
        };
        let head = Network::build(&mut d, "discriminator", &[width], &[], Some(&mut logit))?;
        Ok(VaeGan {
            config: config.clone(),
            params,
            encoder,
            decoder,
            features,
            head,
        })
    }

    /// Floating-point operations of one image through the encoder, the decoder and the
    /// discriminator.
    pub fn forward_flops_per_image(&self) -> f64 {
        let macs = self.encoder.network().macs_per_row()
            + self.decoder.macs_per_row()
            + self.features.macs_per_row()
            + self.head.macs_per_row();
        2.0 * macs as f64
    }

    /// The same model in another precision.
    pub fn cast<U: Scalar>(&self) -> VaeGan<U> {
        VaeGan {
            config: self.config.clone(),
            params: self.params.cast(),
            encoder: self.encoder.clone(),
            decoder: self.decoder.clone(),
            features: self.features.clone(),
            head: self.head.clone(),
        }
    }

    /// The encoder, decoder, discriminator body (Dis_l) and discriminator head networks.
    pub fn networks(&self) -> [&Network; 4] {
        [
            self.encoder.network(),
            &self.decoder,
            &self.features,
            &self.head,
        ]
    }

    /// Dec(z) in [0, 1] into `out`, in `mode` (the statistics not committed).
    fn run_decoder(
        &self,
        mode: Mode,
        z: &[T],
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.decoder
            .forward_in(mode, self.params.values(), z, rows, buffers)?;
        out.resize(buffers.output().len(), T::zero());
        sigmoid_into(buffers.output(), out);
        Ok(())
    }

    /// Dis_l(x) and D's logit for `x`, in `mode` (the statistics not committed).
    fn run_discriminator(
        &self,
        mode: Mode,
        buffers: &mut Discriminated<T>,
        x: &[T],
        rows: usize,
    ) -> Result<()> {
        let values = self.params.values();
        self.features
            .forward_in(mode, values, x, rows, &mut buffers.features)?;
        self.head.forward_in(
            mode,
            values,
            buffers.features.output(),
            rows,
            &mut buffers.head,
        )
    }

    /// The forward pass of a step in `mode`, the batch statistics left pending: q(z | x), ε and
    /// then z_p from `rng`, z = μ + σ ε, x̃ = Dec(z), x_p = Dec(z_p), and the discriminator on x,
    /// x̃ and x_p. Returns Σ KL(q(z | x) || N(0, I)) and the feature error Σ ½ ‖Dis_l(x̃) −
    /// Dis_l(x)‖², its gradient Dis_l(x̃) − Dis_l(x) kept in `ws.feature_error`.
    fn forward(
        &self,
        mode: Mode,
        ws: &mut VaeGanWorkspace<T>,
        x: &[T],
        rows: usize,
        rng: &mut Rng,
    ) -> Result<(f64, f64)> {
        let latent = self.config.latent;
        let q = self
            .encoder
            .forward_in(mode, self.params.values(), x, rows, &mut ws.encoder)?;
        ws.eps.resize(rows * latent, T::zero());
        fill_standard_normal(rng, &mut ws.eps);
        ws.z.resize(rows * latent, T::zero());
        q.rsample(&ws.eps, &mut ws.z);
        ws.kl.resize(rows, T::zero());
        q.kl_to_standard_normal(&mut ws.kl);
        let kl = ws.kl.iter().map(|v| v.as_f64()).sum();
        ws.z_prior.resize(rows * latent, T::zero());
        fill_standard_normal(rng, &mut ws.z_prior);
        self.run_decoder(mode, &ws.z, rows, &mut ws.decoder, &mut ws.recon_images)?;
        self.run_decoder(
            mode,
            &ws.z_prior,
            rows,
            &mut ws.prior_decoder,
            &mut ws.prior_images,
        )?;
        self.run_discriminator(mode, &mut ws.real, x, rows)?;
        self.run_discriminator(mode, &mut ws.recon, &ws.recon_images, rows)?;
        self.run_discriminator(mode, &mut ws.prior, &ws.prior_images, rows)?;
        let error = feature_error(
            ws.recon.features.output(),
            ws.real.features.output(),
            &mut ws.feature_error,
        );
        Ok((kl, error))
    }

    /// Folds the batch statistics of a training-mode `forward` into the running estimates, pass
    /// by pass in the order they ran (as PyTorch does during each pass); the decoder's from the
    /// passes `decoder` names.
    fn commit_statistics(
        &mut self,
        ws: &mut VaeGanWorkspace<T>,
        decoder: DecoderStatistics,
    ) -> Result<()> {
        let values = self.params.values_mut();
        self.encoder
            .network()
            .commit_statistics(values, &mut ws.encoder)?;
        if decoder == DecoderStatistics::Both {
            self.decoder.commit_statistics(values, &mut ws.decoder)?;
        }
        self.decoder
            .commit_statistics(values, &mut ws.prior_decoder)?;
        for pass in [&mut ws.real, &mut ws.recon, &mut ws.prior] {
            self.features
                .commit_statistics(values, &mut pass.features)?;
            self.head.commit_statistics(values, &mut pass.head)?;
        }
        Ok(())
    }

    /// Backpropagates `d_logits` into the discriminator's weights from its latest pass on `x`.
    fn discriminator_backward(
        &mut self,
        buffers: &mut Discriminated<T>,
        x: &[T],
        rows: usize,
        d_logits: &[T],
        d_features: &mut Vec<T>,
    ) -> Result<()> {
        let (values, grads) = self.params.split_mut();
        let Discriminated { features, head } = buffers;
        d_features.resize(rows * self.features.out_dim(), T::zero());
        self.head.backward(
            values,
            grads,
            features.output(),
            rows,
            head,
            d_logits,
            Some(d_features),
        )?;
        self.features
            .backward(values, grads, x, rows, features, d_features, None)
    }

    /// The gradient with respect to the input `x` of the discriminator's latest pass, held
    /// fixed, for the logits' gradient `d_logits` plus `scale` times `d_features` at Dis_l, into
    /// `dx`.
    #[allow(clippy::too_many_arguments)]
    fn discriminator_input_gradient(
        &self,
        buffers: &mut Discriminated<T>,
        x: &[T],
        rows: usize,
        d_logits: Option<&[T]>,
        d_features: Option<(&[T], T)>,
        scratch: &mut Vec<T>,
        dx: &mut Vec<T>,
    ) -> Result<()> {
        let values = self.params.values();
        let Discriminated { features, head } = buffers;
        scratch.clear();
        scratch.resize(rows * self.features.out_dim(), T::zero());
        if let Some(d_logits) = d_logits {
            self.head
                .input_gradient(values, features.output(), rows, head, d_logits, scratch)?;
        }
        if let Some((extra, scale)) = d_features {
            for (d, &e) in scratch.iter_mut().zip(extra) {
                *d += scale * e;
            }
        }
        dx.resize(x.len(), T::zero());
        self.features
            .input_gradient(values, x, rows, features, scratch, dx)
    }

    /// The first phase of a step: the forward pass of Algorithm 1 on `batch` (ε and then z_p
    /// from `rng`), every network's gradient of its own loss weighted by `weights`, the
    /// decoder's running statistics following the passes `statistics` names. The gradients of
    /// the decoder and the encoder are kept for the phases after it. The losses reported are
    /// unweighted: the discriminator's sums its three terms.
    pub fn step(
        &mut self,
        workspace: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        weights: &LossWeights,
        statistics: DecoderStatistics,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let ws = &mut workspace.vae_gan;
        let (x, rows, latent) = (batch.x, batch.rows, self.config.latent);
        ws.phases_left = 0;

        let mut terms = LossTerms {
            images: rows,
            ..LossTerms::default()
        };
        (terms.kl, terms.reconstruction) = self.forward(Mode::Train, ws, x, rows, rng)?;
        self.commit_statistics(ws, statistics)?;

        // The discriminator's loss: x real, x̃ and x_p fake.
        let (real_factor, fake_factor) = weights.discriminator();
        terms.discriminator_real = bce_with_logits(ws.real.head.output(), true, &mut ws.d_logits);
        terms.discriminator = terms.discriminator_real;
        scale(&mut ws.d_logits, T::of(real_factor));
        self.discriminator_backward(&mut ws.real, x, rows, &ws.d_logits, &mut ws.d_features)?;
        terms.discriminator += bce_with_logits(ws.recon.head.output(), false, &mut ws.d_logits);
        scale(&mut ws.d_logits, T::of(fake_factor));
        self.discriminator_backward(
            &mut ws.recon,
            &ws.recon_images,
            rows,
            &ws.d_logits,
            &mut ws.d_features,
        )?;
        terms.discriminator += bce_with_logits(ws.prior.head.output(), false, &mut ws.d_logits);
        scale(&mut ws.d_logits, T::of(fake_factor));
        self.discriminator_backward(
            &mut ws.prior,
            &ws.prior_images,
            rows,
            &ws.d_logits,
            &mut ws.d_features,
        )?;

        // The decoder's loss on x̃: −log D(x̃) + γ · feature error, through D held fixed.
        terms.generator += bce_with_logits(ws.recon.head.output(), true, &mut ws.d_logits);
        self.discriminator_input_gradient(
            &mut ws.recon,
            &ws.recon_images,
            rows,
            Some(&ws.d_logits),
            Some((&ws.feature_error, T::of(weights.feature))),
            &mut ws.d_features,
            &mut ws.d_image,
        )?;
        sigmoid_backward(&ws.d_image, &ws.recon_images, &mut ws.d_decoder);
        {
            let (values, grads) = self.params.split_mut();
            self.decoder.backward(
                values,
                grads,
                &ws.z,
                rows,
                &mut ws.decoder,
                &ws.d_decoder,
                None,
            )?;
        }
        // The encoder's: the feature error alone, through D and the decoder held fixed.
        self.discriminator_input_gradient(
            &mut ws.recon,
            &ws.recon_images,
            rows,
            None,
            Some((&ws.feature_error, T::one())),
            &mut ws.d_features,
            &mut ws.d_image_encoder,
        )?;
        sigmoid_backward(&ws.d_image_encoder, &ws.recon_images, &mut ws.d_decoder);
        ws.d_z.resize(rows * latent, T::zero());
        self.decoder.input_gradient(
            self.params.values(),
            &ws.z,
            rows,
            &mut ws.decoder,
            &ws.d_decoder,
            &mut ws.d_z,
        )?;

        // The decoder's loss on x_p: −log D(x_p).
        terms.generator += bce_with_logits(ws.prior.head.output(), true, &mut ws.d_logits);
        self.discriminator_input_gradient(
            &mut ws.prior,
            &ws.prior_images,
            rows,
            Some(&ws.d_logits),
            None,
            &mut ws.d_features,
            &mut ws.d_image,
        )?;
        sigmoid_backward(&ws.d_image, &ws.prior_images, &mut ws.d_decoder);
        {
            let (values, grads) = self.params.split_mut();
            self.decoder.backward(
                values,
                grads,
                &ws.z_prior,
                rows,
                &mut ws.prior_decoder,
                &ws.d_decoder,
                None,
            )?;
        }

        // The encoder: β · KL + feature error, through z = μ + σ ε.
        ws.d_posterior.clear();
        ws.d_posterior.resize(rows * 2 * latent, T::zero());
        let q = DiagonalGaussian::new(ws.encoder.output(), latent);
        q.backward_rsample(&ws.eps, &ws.d_z, &mut ws.d_posterior);
        q.backward_kl(None, T::of(weights.kl), &mut ws.d_posterior);
        let (values, grads) = self.params.split_mut();
        self.encoder
            .backward(values, grads, x, rows, &mut ws.encoder, &ws.d_posterior)?;

        ws.kept_grads.clear();
        ws.kept_grads.extend_from_slice(self.params.grads());
        ws.kept_rows = rows;
        ws.phases_left = 2;
        Ok(terms)
    }

    /// The phases after the first: every group's gradient as the first phase computed it (the
    /// loop keeps this phase's group's).
    pub fn kept_gradients(&mut self, workspace: &mut VaeWorkspace<T>) -> Result<LossTerms> {
        let ws = &mut workspace.vae_gan;
        let (_, grads) = self.params.update_view();
        if ws.phases_left == 0 || ws.kept_grads.len() != grads.len() {
            return Err(Error::InvalidArgument(
                "a VAE-GAN's decoder and encoder phases follow its discriminator's on the same batch"
                    .into(),
            ));
        }
        grads.copy_from_slice(&ws.kept_grads);
        ws.phases_left -= 1;
        Ok(LossTerms {
            images: ws.kept_rows,
            ..LossTerms::default()
        })
    }
}

impl<T: Scalar> Trainable<T> for VaeGan<T> {
    type Workspace = VaeWorkspace<T>;

    fn parameters(&self) -> &Parameters<T> {
        &self.params
    }

    fn parameters_mut(&mut self) -> &mut Parameters<T> {
        &mut self.params
    }

    /// The discriminator, the decoder, the encoder: the three phases of a step.
    fn parameter_groups(&self) -> Vec<ParamGroup> {
        vec![
            ParamGroup::of("discriminator", &self.params, &["discriminator"]),
            ParamGroup::of("decoder", &self.params, &["decoder"]),
            ParamGroup::of("encoder", &self.params, &["encoder"]),
        ]
    }

    /// Every loss of a step on held-out images, the networks in evaluation mode, ε then z_p
    /// from `rng`: the feature error as the reconstruction term, the KL, the discriminator's and
    /// the decoder's GAN losses.
    fn held_out_loss(
        &self,
        workspace: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        _samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let ws = &mut workspace.vae_gan;
        let (x, rows) = (batch.x, batch.rows);
        let mut terms = LossTerms {
            images: rows,
            ..LossTerms::default()
        };
        (terms.kl, terms.reconstruction) = self.forward(Mode::Eval, ws, x, rows, rng)?;
        terms.discriminator_real = bce_with_logits(ws.real.head.output(), true, &mut ws.d_logits);
        terms.discriminator = terms.discriminator_real
            + bce_with_logits(ws.recon.head.output(), false, &mut ws.d_logits)
            + bce_with_logits(ws.prior.head.output(), false, &mut ws.d_logits);
        terms.generator = bce_with_logits(ws.recon.head.output(), true, &mut ws.d_logits)
            + bce_with_logits(ws.prior.head.output(), true, &mut ws.d_logits);
        Ok(terms)
    }
}

impl<T: Scalar> VaeGan<T> {
    /// q(z | x) with the encoder in evaluation mode, borrowing the workspace's buffers.
    fn posterior<'b>(
        &self,
        ws: &'b mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
    ) -> Result<DiagonalGaussian<'b, T>> {
        self.encoder.forward_in(
            Mode::Eval,
            self.params.values(),
            x,
            rows,
            &mut ws.vae_gan.encoder,
        )
    }
}

impl<T: Scalar> Generative<T> for VaeGan<T> {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// q(z | x) with the encoder in evaluation mode.
    fn encode(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let q = self.posterior(ws, x, rows)?;
        out.clear();
        out.extend_from_slice(q.params());
        Ok(())
    }

    fn encode_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let q = self.posterior(ws, x, rows)?;
        out.resize(rows * self.config.latent, T::zero());
        q.means_into(out);
        Ok(())
    }

    /// Dec(z) with the decoder in evaluation mode.
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
        self.run_decoder(Mode::Eval, z, rows, &mut ws.vae_gan.decoder, out)
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
            "a VAE-GAN has no likelihood of pixels to score images with (its reconstruction error is in the discriminator's features): compare it by its Fréchet distance (vae fid) and its reconstructions".into(),
        ))
    }
}
