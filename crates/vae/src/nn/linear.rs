//! The affine layer `y = x · Wᵀ + b` with PyTorch's `[out, in]` weight layout.

use super::params::{Init, ParamBuilder};
use super::scratch::grown;
use crate::error::Result;
use crate::kernels::elementwise::{bias_activation, Activation};
use crate::kernels::matmul::{matmul, products_in_bf16, MatRef};
use crate::kernels::reduce::add_column_sums;
use crate::kernels::transpose::transpose;
use crate::scalar::Scalar;
use std::ops::Range;

/// The forward product runs on a transposed copy of weights at least this large (a 64 x 64
/// layer) and for at least this many rows: below either the copy costs more than it saves.
const TRANSPOSE_MIN_WEIGHTS: usize = 1 << 12;
const TRANSPOSE_MIN_ROWS: usize = 16;

/// Whether the forward product of `rows` rows by a weight of `weights` values runs on a transposed
/// copy of the weight.
pub fn forward_transposes_weight(rows: usize, weights: usize) -> bool {
    rows >= TRANSPOSE_MIN_ROWS && weights >= TRANSPOSE_MIN_WEIGHTS
}

/// `y [rows, out] = x [rows, in] · Wᵀ` for a weight stored `[out, in]`, as the forward pass runs
/// it: on a transposed copy of W in `weight_t` where `forward_transposes_weight` says so.
pub fn forward_product<T: Scalar>(
    y: &mut [T],
    x: &[T],
    rows: usize,
    w: &[T],
    (in_dim, out_dim): (usize, usize),
    weight_t: &mut Vec<T>,
) -> Result<()> {
    let x = MatRef::new(x, rows, in_dim);
    // bf16 products pack the weight themselves; the fp32 copy would only cost time.
    if forward_transposes_weight(rows, w.len()) && !products_in_bf16() {
        let weight_t = grown(weight_t, w.len());
        transpose(w, out_dim, in_dim, weight_t)?;
        matmul(y, x, MatRef::new(weight_t, in_dim, out_dim), false)
    } else {
        matmul(y, x, MatRef::new(w, out_dim, in_dim).t(), false)
    }
}

/// A dense layer, `torch.nn.Linear`: weight `[out, in]` and bias `[out]`.
#[derive(Clone, Debug)]
pub struct Linear {
    /// Input units.
    pub in_dim: usize,
    /// Output units.
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

    /// `y[rows, out] = activation(x[rows, in] · Wᵀ + b)`. The weight is first copied transposed
    /// into `weight_t` (unless the layer or the batch is tiny): `gemm` repacks a right operand
    /// read as `Wᵀ` on every call, at about twice the cost of the copy (`vae bench --shapes` times
    /// both). `gemm` packs both layouts into the same panels, so the product is the same, bit for
    /// bit (a test below checks it).
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        activation: Activation,
        weight_t: &mut Vec<T>,
        y: &mut [T],
    ) -> Result<()> {
        let w = &params[self.weight.clone()];
        forward_product(y, x, rows, w, (self.in_dim, self.out_dim), weight_t)?;
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
        // Empty `grads`: the weights are held fixed and only the input's gradient is wanted.
        if !grads.is_empty() {
            matmul(
                &mut grads[self.weight.clone()],
                MatRef::new(dy, rows, self.out_dim).t(),
                MatRef::new(x, rows, self.in_dim),
                true,
            )?;
            add_column_sums(&mut grads[self.bias.clone()], dy);
        }
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

impl Linear {
    /// Where the bias lies in the parameters, for a model that sets its initial value.
    pub fn bias_range(&self) -> Range<usize> {
        self.bias.clone()
    }

    /// Adds the input's gradient `dy · W` to `dx [rows, in]`, given `dy` with respect to the
    /// pre-activation output: for a layer whose weights' gradients are taken later, over many
    /// steps at once.
    pub fn input_grad<T: Scalar>(
        &self,
        params: &[T],
        dy: &[T],
        rows: usize,
        dx: &mut [T],
    ) -> Result<()> {
        matmul(
            dx,
            MatRef::new(dy, rows, self.out_dim),
            MatRef::new(&params[self.weight.clone()], self.out_dim, self.in_dim),
            true,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::rng::{stream, Purpose};
    use crate::nn::{ParamBuilder, Parameters};

    /// A layer large enough for the transposed copy gives the bits of the product on the stored
    /// weight read transposed, and both agree with the definition.
    #[test]
    fn forward_on_the_transposed_copy_is_the_same_product() -> Result<()> {
        let (rows, in_dim, out_dim) = (TRANSPOSE_MIN_ROWS + 3, 260, 300);
        assert!(in_dim * out_dim >= TRANSPOSE_MIN_WEIGHTS);
        let mut params = Parameters::<f32>::default();
        let mut rng = stream(3, Purpose::Init, &[]);
        let layer = Linear::new(
            &mut ParamBuilder::new(&mut params, &mut rng),
            in_dim,
            out_dim,
        );
        let x: Vec<f32> = (0..rows * in_dim)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let mut y = vec![0f32; rows * out_dim];
        let mut weight_t = Vec::new();
        layer.forward(
            params.values(),
            &x,
            rows,
            Activation::Identity,
            &mut weight_t,
            &mut y,
        )?;
        assert!(weight_t.len() >= in_dim * out_dim, "the copy was used");
        let (w, b) = (
            &params.values()[layer.weight.clone()],
            &params.values()[layer.bias.clone()],
        );
        let mut stored = vec![0f32; rows * out_dim];
        matmul(
            &mut stored,
            MatRef::new(&x, rows, in_dim),
            MatRef::new(w, out_dim, in_dim).t(),
            false,
        )?;
        bias_activation(&mut stored, b, Activation::Identity);
        assert!(y
            .iter()
            .zip(&stored)
            .all(|(p, q)| p.to_bits() == q.to_bits()));
        for r in 0..rows {
            for o in 0..out_dim {
                let exact: f64 = b[o] as f64
                    + (0..in_dim)
                        .map(|i| x[r * in_dim + i] as f64 * w[o * in_dim + i] as f64)
                        .sum::<f64>();
                assert!((y[r * out_dim + o] as f64 - exact).abs() < 1e-4, "{r},{o}");
            }
        }
        Ok(())
    }
}
