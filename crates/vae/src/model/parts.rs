//! What the members of the family share: building their encoder and decoder, checking inputs,
//! and decoding rows (with the one-hot label when conditional).

use super::{Decoder, Encoder, VaeWorkspace};
use crate::batch::check_label_range;
use crate::config::{ModelConfig, ModelKind};
use crate::error::{Error, Result};
use crate::kernels::rows;
use crate::likelihood::Likelihood;
use crate::nn::ParamBuilder;
use crate::scalar::Scalar;

/// How a conditional network reads the label with its input rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LabelJoin {
    /// One-hot columns after each row of `width` values (a dense first layer).
    Row(usize),
    /// One-hot planes after the channels of every pixel of each channel-last image (a
    /// convolution first).
    Planes { width: usize, channels: usize },
}

impl LabelJoin {
    /// How the encoder of `config` reads the label.
    pub(crate) fn encoder(config: &ModelConfig) -> Self {
        let image = config.image;
        if crate::config::reads_image(&config.encoder) {
            LabelJoin::Planes {
                width: image.len(),
                channels: image.channels,
            }
        } else {
            LabelJoin::Row(image.len())
        }
    }
}

/// The rows of `x` with the one-hot code of each row's label joined as `join` says; row `r` takes
/// `labels[r % labels.len()]`, so the S samples of an image share its label. Returns `x` itself
/// when there are no classes.
pub(crate) fn with_one_hot<'a, T: Scalar>(
    x: &'a [T],
    join: LabelJoin,
    labels: &[u8],
    classes: usize,
    buffer: &'a mut Vec<T>,
) -> &'a [T] {
    if classes == 0 {
        return x;
    }
    match join {
        LabelJoin::Row(width) => rows::append_one_hot(x, width, labels, classes, buffer),
        LabelJoin::Planes { width, channels } => {
            rows::append_one_hot_planes(x, width, channels, labels, classes, buffer)
        }
    }
    buffer
}

/// Encoder and decoder of `config` under `encoder.` and `decoder.`: stochastic for the VAE and
/// M2, a deterministic code for the autoencoder.
pub(crate) fn networks<T: Scalar>(
    b: &mut ParamBuilder<'_, T>,
    config: &ModelConfig,
) -> Result<(Encoder, Decoder)> {
    let pixels = config.image.len();
    let encoder = Encoder::new(
        &mut b.pp("encoder"),
        &config.encoder_input_shape(),
        &config.encoder,
        config.latent,
        config.kind != ModelKind::Ae,
    )?;
    let decoder = Decoder::new(
        &mut b.pp("decoder"),
        config.decoder_input(),
        &config.decoder,
        config.image,
        |b| {
            Likelihood::new(
                b,
                config.likelihood,
                config.gaussian_variance,
                pixels,
                config.min_log_var,
            )
        },
    )?;
    Ok((encoder, decoder))
}

/// Floating-point operations of one image's forward pass through encoder and decoder products
/// (2 per multiply-add).
pub(crate) fn forward_flops(encoder: &Encoder, decoder: &Decoder) -> f64 {
    let macs = encoder.network().macs_per_row() + decoder.network().macs_per_row();
    2.0 * macs as f64
}

pub(crate) fn check_samples(k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::InvalidArgument(
            "importance samples must be at least 1".into(),
        ));
    }
    Ok(())
}

/// `rows · k` values, refused before any buffer of that size is taken when the product
/// overflows or exceeds `limit`.
pub(crate) fn checked_samples(rows: usize, k: usize, limit: usize) -> Result<usize> {
    match rows.checked_mul(k) {
        Some(n) if n <= limit => Ok(n),
        _ => Err(Error::InvalidArgument(format!(
            "{k} samples for each of {rows} images: more than {limit} sample rows at once"
        ))),
    }
}

/// `x` must hold `rows` images of `pixels` values.
pub(crate) fn check_images<T>(x: &[T], rows: usize, pixels: usize) -> Result<()> {
    if x.len() != rows * pixels {
        return Err(Error::shape("batch of images", rows * pixels, x.len()));
    }
    Ok(())
}

/// A model conditioned on `classes` labels needs one in range per row; 0 classes ignore labels.
pub(crate) fn check_labels(labels: &[u8], rows: usize, classes: usize) -> Result<()> {
    if classes == 0 {
        return Ok(());
    }
    if labels.len() != rows {
        return Err(Error::InvalidArgument(format!(
            "a conditional model needs one label per image: {} labels for {rows} images",
            labels.len()
        )));
    }
    check_label_range(labels, classes)
}

/// The decoder's means for `z [rows, latent]` (with the labels when conditional), `[rows,
/// pixels]` into `out`; labels already checked.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_rows<T: Scalar>(
    decoder: &Decoder,
    config: &ModelConfig,
    values: &[T],
    ws: &mut VaeWorkspace<T>,
    z: &[T],
    labels: &[u8],
    rows: usize,
    out: &mut Vec<T>,
) -> Result<()> {
    let latent = config.latent;
    if z.len() != rows * latent {
        return Err(Error::shape("latent batch", rows * latent, z.len()));
    }
    if let Some(bad) = z.iter().find(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "latent value {bad:?} is not finite"
        )));
    }
    let input = with_one_hot(
        z,
        LabelJoin::Row(latent),
        labels,
        config.decoder_classes(),
        &mut ws.decoder_input,
    );
    decoder.forward(values, input, rows, &mut ws.decoder)?;
    out.resize(rows * config.image.len(), T::zero());
    decoder.likelihood.mean(ws.decoder.output(), out);
    Ok(())
}
