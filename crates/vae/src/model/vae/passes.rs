//! The VAE's passes, which its objectives (`objective::elbo`, `objective::iwae`, M2's) put
//! together: encode the rows, draw latent points, decode them with the likelihood's terms, and
//! the backward passes of the decoder and the encoder. An objective only decides the weights.

use super::Vae;
use crate::error::Result;
use crate::gaussian::DiagonalGaussian;
use crate::kernels::rng::{fill_standard_normal_rows, Rng, RowShare};
use crate::kernels::rows;
use crate::model::parts::{with_one_hot, LabelJoin};
use crate::model::VaeWorkspace;
use crate::nn::{LabelledRows, NetworkInput};
use crate::scalar::Scalar;

/// The distinct images `[images, pixels]` behind a batch's rows, and the one each row reads.
#[derive(Clone, Copy, Debug)]
pub struct SharedImages<'a, T> {
    /// The distinct images.
    pub images: &'a [T],
    /// For each row, the image it reads.
    pub image_of_row: &'a [usize],
}

impl<T: Scalar> Vae<T> {
    /// The encoder's input for `x`'s rows: with the one-hot label appended when conditional
    /// (written into `buffer`), or, when the rows repeat images (M2), the distinct images read
    /// once each.
    fn encoder_input<'a>(
        &self,
        x: &'a [T],
        labels: &'a [u8],
        shared: Option<SharedImages<'a, T>>,
        buffer: &'a mut Vec<T>,
    ) -> NetworkInput<'a, T> {
        let classes = self.classes();
        match shared {
            Some(s) if classes > 0 => labelled(s, labels, classes),
            _ => {
                let join = LabelJoin::encoder(&self.config);
                NetworkInput::Dense(with_one_hot(x, join, labels, classes, buffer))
            }
        }
    }

    /// q(z | x) of `rows` rows (with their labels when conditional), left in `ws.encoder`, and
    /// each row's analytic KL(q(z | x) || N(0, I)) in `ws.kl`.
    pub(crate) fn forward_encoder(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        shared: Option<SharedImages<'_, T>>,
    ) -> Result<()> {
        let VaeWorkspace {
            encoder,
            encoder_input,
            kl,
            ..
        } = ws;
        let input = self.encoder_input(x, labels, shared, encoder_input);
        let q = self
            .encoder
            .forward(self.params.values(), input, rows, encoder)?;
        kl.resize(rows, T::zero());
        q.kl_to_standard_normal(kl);
        Ok(())
    }

    /// Draws `n` latent rows from the q(z | x) in `ws.encoder` (sample-major: row `i` of image
    /// `i % rows`), the noise taken from `rng` in `ws.eps` and z = μ + σ ε in `ws.z`. With
    /// `share`, the rows are one process's share of a minibatch and keep their rows of its noise.
    pub(crate) fn draw_latent(
        &self,
        ws: &mut VaeWorkspace<T>,
        n: usize,
        rng: &mut Rng,
        share: Option<&RowShare>,
    ) -> Result<()> {
        let latent = self.latent();
        ws.eps.resize(n * latent, T::zero());
        fill_standard_normal_rows(rng, share, latent, &mut ws.eps)?;
        ws.z.resize(n * latent, T::zero());
        DiagonalGaussian::new(ws.encoder.output(), latent).rsample(&ws.eps, &mut ws.z);
        Ok(())
    }

    /// Decodes the `n` rows of `ws.z` (with their labels when conditional) and leaves each row's
    /// −log p(x | z) against its image of `x` in `ws.nll`; with `gradient`, also its gradient
    /// with respect to the logits times that factor in `ws.d_logits`.
    pub(crate) fn forward_decoder(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        n: usize,
        gradient: Option<T>,
    ) -> Result<()> {
        let VaeWorkspace {
            decoder,
            decoder_input,
            z,
            nll,
            d_logits,
            ..
        } = ws;
        let (values, latent) = (self.params.values(), self.latent());
        let input = with_one_hot(
            z,
            LabelJoin::Row(latent),
            labels,
            self.classes(),
            decoder_input,
        );
        self.decoder.forward(values, input, n, decoder)?;
        let pixels = self.decoder.pixels();
        nll.resize(n, T::zero());
        let d = gradient.map(|factor| {
            d_logits.resize(n * pixels, T::zero());
            (&mut d_logits[..], factor)
        });
        self.decoder
            .likelihood
            .nll(values, decoder.output(), x, pixels, nll, d);
        Ok(())
    }

    /// The backward pass through the likelihood and the decoder of the latest `forward_decoder`
    /// (asked for its gradient), row `r` weighted by `weights[r % len]` (1 when `None`) and the
    /// likelihood's own parameters by `scale` too; the gradient with respect to z in `ws.d_z`.
    pub(crate) fn backward_decoder(
        &mut self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        n: usize,
        scale: T,
        weights: Option<&[T]>,
    ) -> Result<()> {
        let (latent, classes, pixels) = (self.latent(), self.classes(), self.decoder.pixels());
        let VaeWorkspace {
            decoder,
            decoder_input,
            z,
            d_logits,
            d_decoder_input,
            d_z,
            ..
        } = ws;
        let (values, grads) = self.params.split_mut();
        if let Some(w) = weights {
            rows::scale_rows(d_logits, pixels, w);
        }
        let logits = decoder.output();
        self.decoder
            .likelihood
            .backward_params(values, grads, logits, x, pixels, scale, weights);
        // The decoder read `[z | one-hot y]` when conditional, z itself otherwise.
        let input: &[T] = if classes == 0 { z } else { decoder_input };
        let width = latent + classes;
        d_decoder_input.resize(n * width, T::zero());
        self.decoder
            .backward(values, grads, input, n, decoder, d_logits, d_decoder_input)?;
        // Only the z part of the decoder's input gradient flows on; the label is data.
        if classes == 0 {
            d_z.clear();
            d_z.extend_from_slice(d_decoder_input);
        } else {
            rows::take_columns(d_decoder_input, width, latent, d_z);
        }
        Ok(())
    }

    /// The backward pass through the encoder of the latest `forward_encoder` (the same rows),
    /// from the gradient with respect to q(z | x)'s parameters in `ws.d_posterior`.
    pub(crate) fn backward_encoder(
        &mut self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        shared: Option<SharedImages<'_, T>>,
    ) -> Result<()> {
        let classes = self.classes();
        let VaeWorkspace {
            encoder,
            encoder_input,
            d_posterior,
            ..
        } = ws;
        // The input `forward_encoder` built: the labelled rows, x itself, or `[x | one-hot y]`
        // still in the buffer.
        let input = match shared {
            Some(s) if classes > 0 => labelled(s, labels, classes),
            _ if classes == 0 => NetworkInput::Dense(x),
            _ => NetworkInput::Dense(encoder_input.as_slice()),
        };
        let (values, grads) = self.params.split_mut();
        self.encoder
            .backward(values, grads, input, rows, encoder, d_posterior)
    }
}

/// Rows that repeat `shared`'s images, each with its own label: the encoder reads each image once.
fn labelled<'a, T>(
    shared: SharedImages<'a, T>,
    labels: &'a [u8],
    classes: usize,
) -> NetworkInput<'a, T> {
    NetworkInput::Labelled(LabelledRows {
        images: shared.images,
        image_of_row: shared.image_of_row,
        labels,
        classes,
    })
}
