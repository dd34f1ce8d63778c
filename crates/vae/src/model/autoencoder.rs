//! The plain autoencoder: the VAE's networks with a deterministic code z = f(x), trained on the
//! reconstruction loss alone (`objective::reconstruction`): no noise, no KL. Beside the VAE it
//! shows what the KL term buys: a code space the prior can be decoded from.

use super::parts::{check_images, check_samples, decode_rows, forward_flops, networks};
use super::workspace::score_terms;
use super::{Decoder, Encoder, ImageScore, VaeWorkspace};
use super::{Generative, Trainable};
use crate::batch::Batch;
use crate::config::{ModelConfig, ModelKind};
use crate::error::{Error, Result};
use crate::kernels::rng::{stream, Purpose, Rng};
use crate::kernels::rows;
use crate::loss_terms::LossTerms;
use crate::nn::{ParamBuilder, Parameters};
use crate::scalar::Scalar;

/// The plain autoencoder: a deterministic code z = f(x) and the VAE's decoder, trained on the
/// reconstruction loss alone.
#[derive(Clone, Debug)]
pub struct Autoencoder<T> {
    pub(crate) config: ModelConfig,
    pub(crate) params: Parameters<T>,
    pub(crate) encoder: Encoder,
    pub(crate) decoder: Decoder,
}

impl<T: Scalar> Autoencoder<T> {
    /// A freshly initialised autoencoder; weights are drawn from the stream `(seed, Init)`.
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        if config.kind != ModelKind::Ae {
            return Err(Error::Config(format!(
                "a {:?} model is not the plain autoencoder",
                config.kind
            )));
        }
        let mut params = Parameters::default();
        let mut rng = stream(seed, Purpose::Init, &[]);
        let (encoder, decoder) = networks(&mut ParamBuilder::new(&mut params, &mut rng), config)?;
        Ok(Autoencoder {
            config: config.clone(),
            params,
            encoder,
            decoder,
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The code's size.
    pub fn latent(&self) -> usize {
        self.config.latent
    }

    /// Values per image.
    pub fn pixels(&self) -> usize {
        self.config.image.len()
    }

    pub(crate) fn check_images(&self, x: &[T], rows: usize) -> Result<()> {
        check_images(x, rows, self.pixels())
    }

    /// Floating-point operations of one image's forward pass through the products.
    pub fn forward_flops_per_image(&self) -> f64 {
        forward_flops(&self.encoder, &self.decoder)
    }

    /// The same model in another precision.
    pub fn cast<U: Scalar>(&self) -> Autoencoder<U> {
        Autoencoder {
            config: self.config.clone(),
            params: self.params.cast(),
            encoder: self.encoder.clone(),
            decoder: self.decoder.clone(),
        }
    }
}

impl<T: Scalar> Autoencoder<T> {
    /// The reconstruction step's forward pass: the code f(x) of `x`'s rows in `ws.z`, decoded,
    /// each row's −log p(x | f(x)) in `ws.nll` and its gradient with respect to the logits in
    /// `ws.d_logits`.
    pub(crate) fn forward_step(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
    ) -> Result<()> {
        let values = self.params.values();
        let pixels = self.pixels();
        let VaeWorkspace {
            encoder,
            decoder,
            z,
            nll,
            d_logits,
            ..
        } = ws;
        let code = self.encoder.forward_code(values, x, rows, encoder)?;
        z.clear();
        z.extend_from_slice(code);
        self.decoder.forward(values, z, rows, decoder)?;
        nll.resize(rows, T::zero());
        d_logits.resize(rows * pixels, T::zero());
        self.decoder.likelihood.nll(
            values,
            decoder.output(),
            x,
            pixels,
            nll,
            Some((d_logits, T::one())),
        );
        Ok(())
    }

    /// The backward pass of the latest `forward_step` (the same `x`) through the likelihood, the
    /// decoder and the encoder.
    pub(crate) fn backward_step(
        &mut self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
    ) -> Result<()> {
        let (latent, pixels) = (self.latent(), self.pixels());
        let (values, grads) = self.params.split_mut();
        let VaeWorkspace {
            encoder,
            decoder,
            z,
            d_logits,
            d_z,
            ..
        } = ws;
        let logits = decoder.output();
        self.decoder
            .likelihood
            .backward_params(values, grads, logits, x, pixels, T::one(), None);
        d_z.resize(rows * latent, T::zero());
        self.decoder
            .backward(values, grads, z, rows, decoder, d_logits, d_z)?;
        self.encoder.backward(values, grads, x, rows, encoder, d_z)
    }
}

impl<T: Scalar> Trainable<T> for Autoencoder<T> {
    type Workspace = VaeWorkspace<T>;

    fn parameters(&self) -> &Parameters<T> {
        &self.params
    }

    fn parameters_mut(&mut self) -> &mut Parameters<T> {
        &mut self.params
    }

    fn held_out_loss(
        &self,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let mut scores = Vec::with_capacity(batch.rows);
        self.score(ws, batch.x, &[], batch.rows, samples, rng, &mut scores)?;
        Ok(score_terms(&scores))
    }
}

impl<T: Scalar> Generative<T> for Autoencoder<T> {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The autoencoder has no likelihood: its score is the reconstruction loss, with KL 0 and
    /// log p(x) NaN.
    #[allow(clippy::too_many_arguments)]
    fn score(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        k: usize,
        _rng: &mut Rng,
        out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        check_samples(k)?;
        self.check_images(x, rows)?;
        let values = self.params.values();
        let code = self
            .encoder
            .forward_code(values, x, rows, &mut ws.encoder)?;
        self.decoder.forward(values, code, rows, &mut ws.decoder)?;
        ws.nll.resize(rows, T::zero());
        self.decoder.likelihood.nll(
            values,
            ws.decoder.output(),
            x,
            self.pixels(),
            &mut ws.nll,
            None,
        );
        out.extend(ws.nll.iter().map(|v| ImageScore {
            reconstruction: v.as_f64(),
            kl: 0.0,
            log_likelihood: f64::NAN,
        }));
        Ok(())
    }

    /// The code of each image of `x [rows, pixels]`, `[rows, latent]` into `out`.
    fn encode_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.check_images(x, rows)?;
        let code = self
            .encoder
            .forward_code(self.params.values(), x, rows, &mut ws.encoder)?;
        out.clear();
        out.extend_from_slice(code);
        Ok(())
    }

    /// The code as a Gaussian of variance 0, so encoding reads as the VAE's does: `[rows, 2
    /// latent]`, each row the code then log-variances −∞.
    fn encode(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mut code = std::mem::take(&mut ws.point_mass);
        let result = self.encode_means(ws, x, &[], rows, &mut code);
        if result.is_ok() {
            rows::point_mass(&code, self.latent(), out);
        }
        ws.point_mass = code;
        result
    }

    /// Decoded images for `z [rows, latent]`.
    fn decode(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        decode_rows(
            &self.decoder,
            &self.config,
            self.params.values(),
            ws,
            z,
            &[],
            rows,
            out,
        )
    }
}
