//! 2-D convolution and transposed convolution over channel-last images, as matrix products.
//!
//! A convolution gathers every receptive field into a row (`im2col`) and multiplies by the weight
//! `[out, in · k · k]`: one product for the whole batch, whose `[positions, out]` result is already
//! the channel-last output. A transposed convolution is the convolution's adjoint: each input
//! pixel times the weight `[in, out · k · k]` gives the field it spreads over, and `col2im` adds
//! the fields into the output. Weights keep PyTorch's layouts, `Conv2d.weight [out, in, kh, kw]`
//! and `ConvTranspose2d.weight [in, out, kh, kw]`, and PyTorch's default initialisation.

use super::params::{Init, ParamBuilder};
use crate::error::Result;
use crate::kernels::conv::{col2im, im2col, ConvGeometry};
use crate::kernels::elementwise::{bias_activation, Activation};
use crate::kernels::matmul::{matmul, MatRef};
use crate::kernels::reduce::add_column_sums;
use crate::scalar::Scalar;
use std::ops::Range;

/// `[height, width, channels]` of one image.
pub type Shape3 = (usize, usize, usize);

#[derive(Clone, Debug)]
pub struct Conv2d {
    /// The field over the input.
    pub geometry: ConvGeometry,
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

    pub fn in_dim(&self) -> usize {
        self.geometry.image_len()
    }

    pub fn out_shape(&self) -> Shape3 {
        let g = &self.geometry;
        (g.out_height, g.out_width, self.out_channels)
    }

    pub fn out_dim(&self) -> usize {
        self.geometry.positions() * self.out_channels
    }

    pub fn macs(&self) -> usize {
        self.out_dim() * self.geometry.field_len()
    }

    /// `y [images, out_h, out_w, out] = activation(conv(x) + b)`; `cols` is scratch.
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        images: usize,
        activation: Activation,
        cols: &mut Vec<T>,
        y: &mut [T],
    ) -> Result<()> {
        let g = &self.geometry;
        let rows = images * g.positions();
        cols.resize(rows * g.field_len(), T::zero());
        im2col(g, x, cols)?;
        matmul(
            y,
            MatRef::new(cols, rows, g.field_len()),
            MatRef::new(
                &params[self.weight.clone()],
                self.out_channels,
                g.field_len(),
            )
            .t(),
            false,
        )?;
        bias_activation(y, &params[self.bias.clone()], activation);
        Ok(())
    }

    /// Accumulates `dW += dyᵀ · cols` and `db += Σ dy`; writes `dx` when asked. `dy` is the
    /// gradient with respect to the pre-activation output.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: &[T],
        dy: &[T],
        images: usize,
        cols: &mut Vec<T>,
        dx: Option<&mut [T]>,
    ) -> Result<()> {
        let g = &self.geometry;
        let rows = images * g.positions();
        cols.resize(rows * g.field_len(), T::zero());
        im2col(g, x, cols)?;
        matmul(
            &mut grads[self.weight.clone()],
            MatRef::new(dy, rows, self.out_channels).t(),
            MatRef::new(cols, rows, g.field_len()),
            true,
        )?;
        add_column_sums(&mut grads[self.bias.clone()], dy);
        if let Some(dx) = dx {
            // The columns are no longer needed: they receive dy · W, then scatter into dx.
            matmul(
                cols,
                MatRef::new(dy, rows, self.out_channels),
                MatRef::new(
                    &params[self.weight.clone()],
                    self.out_channels,
                    g.field_len(),
                ),
                false,
            )?;
            col2im(g, cols, dx, false)?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub struct ConvTranspose2d {
    /// The field over the output: this layer is the adjoint of a convolution of the output.
    pub geometry: ConvGeometry,
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

    pub fn in_dim(&self) -> usize {
        self.geometry.positions() * self.in_channels
    }

    pub fn out_shape(&self) -> Shape3 {
        let g = &self.geometry;
        (g.in_height, g.in_width, g.channels)
    }

    pub fn out_dim(&self) -> usize {
        self.geometry.image_len()
    }

    pub fn macs(&self) -> usize {
        self.in_dim() * self.geometry.field_len()
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
        let g = &self.geometry;
        let rows = images * g.positions();
        cols.resize(rows * g.field_len(), T::zero());
        matmul(
            cols,
            MatRef::new(x, rows, self.in_channels),
            MatRef::new(
                &params[self.weight.clone()],
                self.in_channels,
                g.field_len(),
            ),
            false,
        )?;
        col2im(g, cols, y, false)?;
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
        dx: Option<&mut [T]>,
    ) -> Result<()> {
        let g = &self.geometry;
        let rows = images * g.positions();
        cols.resize(rows * g.field_len(), T::zero());
        im2col(g, dy, cols)?;
        matmul(
            &mut grads[self.weight.clone()],
            MatRef::new(x, rows, self.in_channels).t(),
            MatRef::new(cols, rows, g.field_len()),
            true,
        )?;
        add_column_sums(&mut grads[self.bias.clone()], dy);
        if let Some(dx) = dx {
            matmul(
                dx,
                MatRef::new(cols, rows, g.field_len()),
                MatRef::new(
                    &params[self.weight.clone()],
                    self.in_channels,
                    g.field_len(),
                )
                .t(),
                false,
            )?;
        }
        Ok(())
    }
}
