//! The affine layer `y = x · Wᵀ + b` with PyTorch's `[out, in]` weight layout.

use super::params::{Init, ParamBuilder};
use crate::error::Result;
use crate::kernels::elementwise::{bias_activation, Activation};
use crate::kernels::matmul::{matmul, MatRef};
use crate::kernels::reduce::add_column_sums;
use crate::scalar::Scalar;
use std::ops::Range;

#[derive(Clone, Debug)]
pub struct Linear {
    pub in_dim: usize,
    pub out_dim: usize,
    pub(super) weight: Range<usize>,
    pub(super) bias: Range<usize>,
}

impl Linear {
    /// `prefix.weight` `[out, in]` and `prefix.bias` `[out]`, initialised as `nn.Linear`.
    pub fn new<T: Scalar>(b: &mut ParamBuilder<'_, T>, in_dim: usize, out_dim: usize) -> Self {
        let bound = 1.0 / (in_dim as f64).sqrt();
        let weight = b.add("weight", &[out_dim, in_dim], Init::Uniform(bound));
        let bias = b.add("bias", &[out_dim], Init::Uniform(bound));
        Linear {
            in_dim,
            out_dim,
            weight,
            bias,
        }
    }

    /// Several layers reading the same input (`mean` and `log_var` of an encoder), each saved under
    /// its own name but stored as adjacent rows of one weight so a single product computes all.
    pub fn heads<T: Scalar>(
        b: &mut ParamBuilder<'_, T>,
        names: &[&str],
        in_dim: usize,
        out_each: usize,
    ) -> Self {
        let bound = 1.0 / (in_dim as f64).sqrt();
        let weights: Vec<_> = names
            .iter()
            .map(|name| {
                b.pp(name)
                    .add("weight", &[out_each, in_dim], Init::Uniform(bound))
            })
            .collect();
        let biases: Vec<_> = names
            .iter()
            .map(|name| b.pp(name).add("bias", &[out_each], Init::Uniform(bound)))
            .collect();
        let span = |ranges: &[Range<usize>]| match (ranges.first(), ranges.last()) {
            (Some(first), Some(last)) => first.start..last.end,
            _ => 0..0,
        };
        Linear {
            in_dim,
            out_dim: out_each * names.len(),
            weight: span(&weights),
            bias: span(&biases),
        }
    }

    /// `y[rows, out] = activation(x[rows, in] · Wᵀ + b)`.
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        activation: Activation,
        y: &mut [T],
    ) -> Result<()> {
        let w = &params[self.weight.clone()];
        matmul(
            y,
            MatRef::new(x, rows, self.in_dim),
            MatRef::new(w, self.out_dim, self.in_dim).t(),
            false,
        )?;
        bias_activation(y, &params[self.bias.clone()], activation);
        Ok(())
    }

    /// Accumulates `dW += dyᵀ · x` and `db += Σ_rows dy`; writes `dx = dy · W` when asked.
    /// `dy` is the gradient with respect to the pre-activation output.
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: &[T],
        dy: &[T],
        rows: usize,
        dx: Option<&mut [T]>,
    ) -> Result<()> {
        matmul(
            &mut grads[self.weight.clone()],
            MatRef::new(dy, rows, self.out_dim).t(),
            MatRef::new(x, rows, self.in_dim),
            true,
        )?;
        add_column_sums(&mut grads[self.bias.clone()], dy);
        if let Some(dx) = dx {
            matmul(
                dx,
                MatRef::new(dy, rows, self.out_dim),
                MatRef::new(&params[self.weight.clone()], self.out_dim, self.in_dim),
                false,
            )?;
        }
        Ok(())
    }
}
