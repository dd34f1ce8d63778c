//! A multi-layer perceptron: affine layers with an activation between them, the last one affine.

use super::labelled_rows::{LabelledScratch, MlpInput};
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
    /// The first layer's buffers for labelled rows sharing images.
    labelled: LabelledScratch<T>,
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
        self.forward_input(params, MlpInput::Dense(x), rows, buffers)
    }

    /// `forward` for either kind of input rows.
    pub fn forward_input<T: Scalar>(
        &self,
        params: &[T],
        x: MlpInput<'_, T>,
        rows: usize,
        buffers: &mut MlpBuffers<T>,
    ) -> Result<()> {
        match x {
            MlpInput::Dense(x) if x.len() != rows * self.in_dim() => {
                return Err(Error::shape("MLP input", rows * self.in_dim(), x.len()));
            }
            MlpInput::Labelled(l) if l.image_of_row.len() != rows => {
                return Err(Error::shape("MLP input rows", rows, l.image_of_row.len()));
            }
            _ => {}
        }
        let MlpBuffers {
            outputs, labelled, ..
        } = buffers;
        outputs.resize_with(self.layers.len(), Vec::new);
        for (i, layer) in self.layers.iter().enumerate() {
            let (before, rest) = outputs.split_at_mut(i);
            let out = &mut rest[0];
            out.resize(rows * layer.out_dim, T::zero());
            let activation = self.activation_after(i);
            match (before.last(), x) {
                (Some(input), _) => layer.forward(params, input, rows, activation, out)?,
                (None, MlpInput::Dense(x)) => layer.forward(params, x, rows, activation, out)?,
                (None, MlpInput::Labelled(l)) => {
                    layer.forward_labelled(params, &l, activation, labelled, out)?
                }
            }
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
        dx: Option<&mut [T]>,
    ) -> Result<()> {
        self.backward_input(
            params,
            grads,
            MlpInput::Dense(x),
            rows,
            buffers,
            d_output,
            dx,
        )
    }

    /// `backward` for either kind of input rows; labelled rows are data and get no `dx`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_input<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: MlpInput<'_, T>,
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
            labelled,
        } = buffers;
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate().rev() {
            let dy: &[T] = if i == last { d_output } else { grad };
            if i == 0 {
                match x {
                    MlpInput::Dense(x) => {
                        layer.backward(params, grads, x, dy, rows, dx.as_deref_mut())?
                    }
                    MlpInput::Labelled(l) if dx.is_none() => {
                        layer.backward_labelled(grads, &l, dy, labelled)?
                    }
                    MlpInput::Labelled(_) => {
                        return Err(Error::InvalidArgument(
                            "labelled input rows are data: they have no gradient".into(),
                        ))
                    }
                }
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
