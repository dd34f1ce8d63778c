//! 2-D convolution and transposed convolution over channel-last images, as matrix products.
//!
//! A convolution gathers every receptive field into a row (`im2col`) and multiplies by the weight
//! `[out, in · k · k]`: one product for the whole batch, whose `[positions, out]` result is already
//! the channel-last output. A transposed convolution is the convolution's adjoint: each input
//! pixel times the weight `[in, out · k · k]` gives the field it spreads over, and `col2im` adds
//! the fields into the output. Weights keep PyTorch's layouts, `Conv2d.weight [out, in, kh, kw]`
//! and `ConvTranspose2d.weight [in, out, kh, kw]`, and PyTorch's default initialisation.

use super::params::{Init, ParamBuilder};
use super::scratch::grown;
use crate::error::{Error, Result};
use crate::kernels::conv::{col2im, im2col, ConvGeometry};
use crate::kernels::elementwise::{bias_activation, Activation};
use crate::kernels::matmul::{matmul, MatRef};
use crate::kernels::reduce::add_column_sums;
use crate::scalar::Scalar;
use std::ops::Range;

/// `[height, width, channels]` of one image.
pub type Shape3 = (usize, usize, usize);

/// The most values the receptive-field buffer holds (16 MiB of f32): larger batches go through a
/// layer in blocks of images. A training minibatch of the presets fits in one block; scoring
/// thousands of importance samples at once would otherwise take hundreds of megabytes.
const FIELD_BUDGET: usize = 1 << 22;

/// The most values of receptive fields a convolution keeps from its forward pass for its backward
/// pass (32 MiB of f32): a batch whose fields take several blocks keeps them all when they fit
/// this, so the weights' gradient reads them instead of gathering them again. The products still
/// run block by block, so keeping them changes no result.
const KEPT_BUDGET: usize = 1 << 23;

/// Splits `images` images, whose receptive fields take `fields` values each, into blocks that fit
/// the budget: `(first image, images)` of each.
fn blocks(images: usize, fields: usize) -> impl Iterator<Item = (usize, usize)> {
    let per_block = (FIELD_BUDGET / fields.max(1)).max(1);
    (0..images)
        .step_by(per_block)
        .map(move |first| (first, per_block.min(images - first)))
}

fn check_rows<T>(what: &'static str, data: &[T], images: usize, per_image: usize) -> Result<()> {
    if data.len() != images * per_image {
        return Err(Error::shape(what, images * per_image, data.len()));
    }
    Ok(())
}

/// A convolution layer, `torch.nn.Conv2d`: weight `[out, in, k, k]` and a bias per output channel.
#[derive(Clone, Debug)]
pub struct Conv2d {
    /// The field over the input.
    pub geometry: ConvGeometry,
    /// Output channels.
    pub out_channels: usize,
    weight: Range<usize>,
    bias: Range<usize>,
}

impl Conv2d {
    /// `prefix.weight [out, in, k, k]` and `prefix.bias [out]`, uniform in ±1/√(in · k²) as
    /// `nn.Conv2d` initialises them.
    pub fn new<T: Scalar>(
        b: &mut ParamBuilder<'_, T>,
        geometry: ConvGeometry,
        out_channels: usize,
    ) -> Self {
        let k = geometry.kernel;
        let bound = 1.0 / (geometry.field_len() as f64).sqrt();
        let weight = b.add(
            "weight",
            &[out_channels, geometry.channels, k, k],
            Init::Uniform(bound),
        );
        let bias = b.add("bias", &[out_channels], Init::Uniform(bound));
        Conv2d {
            geometry,
            out_channels,
            weight,
            bias,
        }
    }

    /// Values per input row.
    pub fn in_dim(&self) -> usize {
        self.geometry.image_len()
    }

    /// The output's shape, channel-last.
    pub fn out_shape(&self) -> Shape3 {
        let g = &self.geometry;
        (g.out_height, g.out_width, self.out_channels)
    }

    /// Values per output row.
    pub fn out_dim(&self) -> usize {
        self.geometry.positions() * self.out_channels
    }

    /// Multiply-adds per row.
    pub fn macs(&self) -> usize {
        self.out_dim() * self.geometry.field_len()
    }

    fn weight<'p, T>(&self, params: &'p [T]) -> MatRef<'p, T> {
        let g = &self.geometry;
        MatRef::new(
            &params[self.weight.clone()],
            self.out_channels,
            g.field_len(),
        )
    }

    /// `y [images, out_h, out_w, out] = activation(conv(x) + b)`. The receptive fields are
    /// gathered into `fields`, this layer's own buffer, which afterwards holds the whole batch's
    /// fields, block after block, when they fit `KEPT_BUDGET`: the backward pass then reads them
    /// instead of gathering them again. Returns whether they do.
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        images: usize,
        activation: Activation,
        fields: &mut Vec<T>,
        y: &mut [T],
    ) -> Result<bool> {
        check_rows("convolution input", x, images, self.in_dim())?;
        check_rows("convolution output", y, images, self.out_dim())?;
        let g = &self.geometry;
        let per_image = g.positions() * g.field_len();
        let keep = images
            .checked_mul(per_image)
            .is_some_and(|all| all <= KEPT_BUDGET);
        for (first, n) in blocks(images, per_image) {
            let rows = n * g.positions();
            let cols = if keep {
                &mut grown(fields, images * per_image)[first * per_image..][..n * per_image]
            } else {
                grown(fields, n * per_image)
            };
            im2col(g, &x[first * self.in_dim()..][..n * self.in_dim()], cols)?;
            matmul(
                &mut y[first * self.out_dim()..][..n * self.out_dim()],
                MatRef::new(cols, rows, g.field_len()),
                self.weight(params).t(),
                false,
            )?;
        }
        bias_activation(y, &params[self.bias.clone()], activation);
        Ok(keep)
    }

    /// Accumulates `dW += dyᵀ · cols` and `db += Σ dy`; writes `dx` when asked. `dy` is the
    /// gradient with respect to the pre-activation output. `fields` is this layer's buffer; with
    /// `fields_kept` it still holds the fields of `x` from `forward`, block after block. It is
    /// overwritten here.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: &[T],
        dy: &[T],
        images: usize,
        fields: &mut Vec<T>,
        fields_kept: bool,
        mut dx: Option<&mut [T]>,
    ) -> Result<()> {
        check_rows("convolution input", x, images, self.in_dim())?;
        check_rows("convolution output gradient", dy, images, self.out_dim())?;
        let g = &self.geometry;
        // Empty `grads`: the weights are held fixed and only the input's gradient is wanted.
        let weights = !grads.is_empty();
        if weights {
            add_column_sums(&mut grads[self.bias.clone()], dy);
        }
        let per_image = g.positions() * g.field_len();
        // Kept fields are the whole batch's, gathered from this very `x`.
        let kept = fields_kept && fields.len() >= images * per_image;
        for (first, n) in blocks(images, per_image) {
            let rows = n * g.positions();
            let cols = if kept {
                &mut fields[first * per_image..][..n * per_image]
            } else {
                grown(fields, n * per_image)
            };
            let dy = MatRef::new(
                &dy[first * self.out_dim()..][..n * self.out_dim()],
                rows,
                self.out_channels,
            );
            if weights {
                if !kept {
                    im2col(g, &x[first * self.in_dim()..][..n * self.in_dim()], cols)?;
                }
                matmul(
                    &mut grads[self.weight.clone()],
                    dy.t(),
                    MatRef::new(cols, rows, g.field_len()),
                    true,
                )?;
            }
            if let Some(dx) = dx.as_deref_mut() {
                // The fields are no longer needed: they receive dy · W, then scatter into dx.
                check_rows("convolution input gradient", dx, images, self.in_dim())?;
                matmul(cols, dy, self.weight(params), false)?;
                let dx = &mut dx[first * self.in_dim()..][..n * self.in_dim()];
                col2im(g, cols, dx, false)?;
            }
        }
        Ok(())
    }
}

/// A transposed convolution layer, `torch.nn.ConvTranspose2d`: weight `[in, out, k, k]` and a bias
/// per output channel.
#[derive(Clone, Debug)]
pub struct ConvTranspose2d {
    /// The field over the output: this layer is the adjoint of a convolution of the output.
    pub geometry: ConvGeometry,
    /// Input channels.
    pub in_channels: usize,
    weight: Range<usize>,
    bias: Range<usize>,
}

impl ConvTranspose2d {
    /// `prefix.weight [in, out, k, k]` and `prefix.bias [out]`, uniform in ±1/√(out · k²) as
    /// `nn.ConvTranspose2d` initialises them. `geometry` is the field over the output image.
    pub fn new<T: Scalar>(
        b: &mut ParamBuilder<'_, T>,
        geometry: ConvGeometry,
        in_channels: usize,
    ) -> Self {
        let k = geometry.kernel;
        let bound = 1.0 / (geometry.field_len() as f64).sqrt();
        let weight = b.add(
            "weight",
            &[in_channels, geometry.channels, k, k],
            Init::Uniform(bound),
        );
        let bias = b.add("bias", &[geometry.channels], Init::Uniform(bound));
        ConvTranspose2d {
            geometry,
            in_channels,
            weight,
            bias,
        }
    }

    /// Values per input row.
    pub fn in_dim(&self) -> usize {
        self.geometry.positions() * self.in_channels
    }

    /// The output's shape, channel-last.
    pub fn out_shape(&self) -> Shape3 {
        let g = &self.geometry;
        (g.in_height, g.in_width, g.channels)
    }

    /// Values per output row.
    pub fn out_dim(&self) -> usize {
        self.geometry.image_len()
    }

    /// Multiply-adds per row.
    pub fn macs(&self) -> usize {
        self.in_dim() * self.geometry.field_len()
    }

    fn weight<'p, T>(&self, params: &'p [T]) -> MatRef<'p, T> {
        let g = &self.geometry;
        MatRef::new(
            &params[self.weight.clone()],
            self.in_channels,
            g.field_len(),
        )
    }

    /// `y = activation(convᵀ(x) + b)`; `cols` is scratch.
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        images: usize,
        activation: Activation,
        cols: &mut Vec<T>,
        y: &mut [T],
    ) -> Result<()> {
        check_rows("transposed convolution input", x, images, self.in_dim())?;
        check_rows("transposed convolution output", y, images, self.out_dim())?;
        let g = &self.geometry;
        for (first, n) in blocks(images, g.positions() * g.field_len()) {
            let rows = n * g.positions();
            let cols = grown(cols, rows * g.field_len());
            let x = MatRef::new(
                &x[first * self.in_dim()..][..n * self.in_dim()],
                rows,
                self.in_channels,
            );
            matmul(cols, x, self.weight(params), false)?;
            let y = &mut y[first * self.out_dim()..][..n * self.out_dim()];
            col2im(g, cols, y, false)?;
        }
        bias_activation(y, &params[self.bias.clone()], activation);
        Ok(())
    }

    /// Accumulates `dW += xᵀ · im2col(dy)` and `db += Σ dy`; writes `dx = im2col(dy) · Wᵀ` when
    /// asked.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: &[T],
        dy: &[T],
        images: usize,
        cols: &mut Vec<T>,
        mut dx: Option<&mut [T]>,
    ) -> Result<()> {
        check_rows("transposed convolution input", x, images, self.in_dim())?;
        check_rows(
            "transposed convolution output gradient",
            dy,
            images,
            self.out_dim(),
        )?;
        let g = &self.geometry;
        // Empty `grads`: the weights are held fixed and only the input's gradient is wanted.
        let weights = !grads.is_empty();
        if weights {
            add_column_sums(&mut grads[self.bias.clone()], dy);
        }
        for (first, n) in blocks(images, g.positions() * g.field_len()) {
            let rows = n * g.positions();
            let cols = grown(cols, rows * g.field_len());
            im2col(g, &dy[first * self.out_dim()..][..n * self.out_dim()], cols)?;
            let fields = MatRef::new(cols, rows, g.field_len());
            let x = MatRef::new(
                &x[first * self.in_dim()..][..n * self.in_dim()],
                rows,
                self.in_channels,
            );
            if weights {
                matmul(&mut grads[self.weight.clone()], x.t(), fields, true)?;
            }
            if let Some(dx) = dx.as_deref_mut() {
                check_rows(
                    "transposed convolution input gradient",
                    dx,
                    images,
                    self.in_dim(),
                )?;
                let dx = &mut dx[first * self.in_dim()..][..n * self.in_dim()];
                matmul(dx, fields, self.weight(params).t(), false)?;
            }
        }
        Ok(())
    }
}
