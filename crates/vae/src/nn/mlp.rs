//! A multi-layer perceptron: affine layers with an activation between them, the last one affine.

use super::linear::Linear;
use super::params::ParamBuilder;
use crate::error::{Error, Result};
use crate::kernels::elementwise::{activation_backward, Activation};
use crate::scalar::Scalar;

#[derive(Clone, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    activation: Activation,
}

/// What a forward pass keeps for the backward pass, reused across batches.
#[derive(Clone, Debug, Default)]
pub struct MlpBuffers<T> {
    /// Each layer's output `[rows, out_i]`, after its activation.
    outputs: Vec<Vec<T>>,
    /// Ping-pong gradient buffers for the backward pass.
    grad: Vec<T>,
    grad_next: Vec<T>,
}

impl<T: Scalar> MlpBuffers<T> {
    /// The last layer's output from the latest forward pass.
    pub fn output(&self) -> &[T] {
        self.outputs.last().map_or(&[], |v| v.as_slice())
    }
}

impl Mlp {
    /// Hidden layers `prefix.hidden.{i}` of the given widths, then the output layer built by
    /// `output(builder, last_width)`.
    pub fn new<T: Scalar>(
        b: &mut ParamBuilder<'_, T>,
        in_dim: usize,
        hidden: &[usize],
        activation: Activation,
        output: impl FnOnce(&mut ParamBuilder<'_, T>, usize) -> Linear,
    ) -> Self {
        let mut layers = Vec::with_capacity(hidden.len() + 1);
        let mut width = in_dim;
        for (i, &h) in hidden.iter().enumerate() {
            layers.push(Linear::new(&mut b.pp("hidden").pp(i), width, h));
            width = h;
        }
        layers.push(output(b, width));
        Mlp { layers, activation }
    }

    pub fn in_dim(&self) -> usize {
        self.layers.first().map_or(0, |l| l.in_dim)
    }

    pub fn out_dim(&self) -> usize {
        self.layers.last().map_or(0, |l| l.out_dim)
    }

    fn activation_after(&self, layer: usize) -> Activation {
        if layer + 1 == self.layers.len() {
            Activation::Identity
        } else {
            self.activation
        }
    }

    /// Runs `x [rows, in]` through every layer; the result is `buffers.output()` `[rows, out]`.
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        buffers: &mut MlpBuffers<T>,
    ) -> Result<()> {
        if x.len() != rows * self.in_dim() {
            return Err(Error::shape("MLP input", rows * self.in_dim(), x.len()));
        }
        buffers.outputs.resize_with(self.layers.len(), Vec::new);
        for (i, layer) in self.layers.iter().enumerate() {
            let (before, rest) = buffers.outputs.split_at_mut(i);
            let input = before.last().map_or(x, |v| v.as_slice());
            let out = &mut rest[0];
            out.resize(rows * layer.out_dim, T::zero());
            layer.forward(params, input, rows, self.activation_after(i), out)?;
        }
        Ok(())
    }

    /// Backpropagates `d_output` (gradient of the loss with respect to the last layer's output)
    /// through the layers kept by the latest `forward`, accumulating parameter gradients into
    /// `grads` and writing the input gradient to `dx` when asked.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: &[T],
        rows: usize,
        buffers: &mut MlpBuffers<T>,
        d_output: &[T],
        mut dx: Option<&mut [T]>,
    ) -> Result<()> {
        if buffers.outputs.len() != self.layers.len() {
            return Err(Error::shape(
                "MLP backward (forward not run)",
                self.layers.len(),
                buffers.outputs.len(),
            ));
        }
        let MlpBuffers {
            outputs,
            grad,
            grad_next,
        } = buffers;
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate().rev() {
            let dy: &[T] = if i == last { d_output } else { grad };
            if i == 0 {
                layer.backward(params, grads, x, dy, rows, dx.as_deref_mut())?;
            } else {
                let input = &outputs[i - 1];
                grad_next.resize(rows * layer.in_dim, T::zero());
                layer.backward(params, grads, input, dy, rows, Some(grad_next))?;
                activation_backward(grad_next, input, layer.in_dim, self.activation_after(i - 1));
                std::mem::swap(grad, grad_next);
            }
        }
        Ok(())
    }
}
