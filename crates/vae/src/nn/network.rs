//! A sequential network built from a layer list (`nn::spec`), with a head added by the model.
//!
//! Shapes are followed through the list when the network is built, so a list that cannot work is
//! refused then, with the layer named. Each activation that follows a product is fused into the
//! product's output pass, activations in a row after it form one chain that keeps two batches
//! of values however long it is, and flatten and reshape cost nothing.

use super::batch_norm::Mode;
use super::layer::{build, At, Built, Kept, Layer, LayerScratch, NetworkInput};
use super::linear::Linear;
use super::params::ParamBuilder;
use super::scratch::grown;
use super::spec::LayerSpec;
use crate::error::{Error, Result};
use crate::kernels::elementwise::Activation;
use crate::scalar::Scalar;

/// A sequential network: its layers, built from a layer list, with the shapes they read and write.
#[derive(Clone, Debug)]
pub struct Network {
    layers: Vec<Layer>,
    in_shape: Vec<usize>,
    out_shape: Vec<usize>,
}

/// What a forward pass keeps for the backward pass, reused across batches.
#[derive(Clone, Debug, Default)]
pub struct NetworkBuffers<T> {
    /// Each layer's output `[rows, out_i]`, after its fused activation.
    outputs: Vec<Vec<T>>,
    /// Ping-pong gradient buffers for the backward pass.
    grad: Vec<T>,
    grad_next: Vec<T>,
    /// Buffers the layers use within a call (labelled rows, convolution fields).
    scratch: LayerScratch<T>,
    /// Each layer's buffer kept from the forward pass for the backward pass.
    kept: Vec<Kept<T>>,
}

impl<T: Scalar> NetworkBuffers<T> {
    /// The last layer's output from the latest forward pass.
    pub fn output(&self) -> &[T] {
        self.outputs.last().map_or(&[], |v| v.as_slice())
    }

    /// The output of the layer before the last from the latest forward pass (the features a
    /// head reads), if there are two layers or more.
    pub fn penultimate(&self) -> Option<&[T]> {
        let n = self.outputs.len();
        (n >= 2).then(|| self.outputs[n - 2].as_slice())
    }

    /// The values these buffers hold (their lengths, not capacities): what a forward and
    /// backward pass keep.
    pub fn held_values(&self) -> usize {
        let outputs: usize = self.outputs.iter().map(Vec::len).sum();
        let kept: usize = self.kept.iter().map(Kept::len).sum();
        outputs + kept + self.grad.len() + self.grad_next.len() + self.scratch.len()
    }
}

/// The head a model puts on a network's body: a dense layer reading the body's output as a flat
/// row, given the body's output shape; or none, when the body already computes what is needed.
pub type Head<'h, T> = dyn FnMut(&mut ParamBuilder<'_, T>, &[usize]) -> Option<Linear> + 'h;

impl Network {
    /// The layers of `list` reading rows of `in_shape`, weights registered under `b`'s prefix, then
    /// `head(builder, shape)` when given (it reads the body's output flat, whatever its shape).
    /// `name` (`encoder`, ...) labels errors.
    pub fn build<T: Scalar>(
        b: &mut ParamBuilder<'_, T>,
        name: &str,
        in_shape: &[usize],
        list: &[LayerSpec],
        head: Option<&mut Head<'_, T>>,
    ) -> Result<Self> {
        if in_shape.is_empty() || in_shape.contains(&0) {
            return Err(Error::Config(format!(
                "{name}: input shape {in_shape:?} has no values"
            )));
        }
        let mut layers: Vec<Layer> = Vec::with_capacity(list.len() + 1);
        let mut shape = in_shape.to_vec();
        let mut linear_index = 0;
        // Whether the entry before was a product that no activation has been fused into yet.
        let mut fusable = false;
        for (index, spec) in list.iter().enumerate() {
            let at = At {
                network: name,
                index,
                kind: spec.kind(),
            };
            match build(spec, b, &shape, linear_index, fusable, &at)? {
                // An activation after another that follows no product joins it in a chain.
                Built::Layer(Layer::Activation(next), out)
                    if layers
                        .last_mut()
                        .is_some_and(|last| last.extend_chain(next)) =>
                {
                    shape = out;
                    fusable = false;
                }
                Built::Layer(layer, out) => {
                    fusable = layer.is_product();
                    linear_index += usize::from(fusable);
                    layers.push(layer);
                    shape = out;
                }
                Built::Fuse(activation) => {
                    if let Some(fused) = layers.last_mut().and_then(Layer::fused_activation_mut) {
                        *fused = activation;
                    }
                    fusable = false;
                }
                Built::View(out) => {
                    shape = out;
                    fusable = false;
                }
            }
        }
        if let Some(linear) = head.and_then(|head| head(b, &shape)) {
            shape = vec![linear.out_dim];
            layers.push(Layer::Linear(linear, Activation::Identity));
        }
        if layers.is_empty() {
            return Err(Error::Config(format!(
                "{name}: the layer list computes nothing"
            )));
        }
        Ok(Network {
            layers,
            in_shape: in_shape.to_vec(),
            out_shape: shape,
        })
    }

    /// Values per input row.
    pub fn in_dim(&self) -> usize {
        self.in_shape.iter().product()
    }

    /// Values per output row.
    pub fn out_dim(&self) -> usize {
        self.out_shape.iter().product()
    }

    /// The output's shape.
    pub fn out_shape(&self) -> &[usize] {
        &self.out_shape
    }

    /// Multiply-adds of one row's forward pass through the products.
    pub fn macs_per_row(&self) -> usize {
        self.layers.iter().map(Layer::macs).sum()
    }

    /// Runs `x [rows, in]` through every layer; the result is `buffers.output()` `[rows, out]`.
    /// A network with batch normalization refuses: it runs through `forward_in`, which names the
    /// mode.
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
    ) -> Result<()> {
        self.run(params, NetworkInput::Dense(x), rows, None, buffers)
    }

    /// `forward` in `mode`: batch normalization on the batch's statistics (which stay pending
    /// until `commit_statistics`) or on its running estimates.
    pub fn forward_in<T: Scalar>(
        &self,
        mode: Mode,
        params: &[T],
        x: &[T],
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
    ) -> Result<()> {
        self.run(params, NetworkInput::Dense(x), rows, Some(mode), buffers)
    }

    /// Whether a forward pass needs a mode: the network holds batch normalization.
    pub fn has_modes(&self) -> bool {
        self.layers.iter().any(Layer::is_batch_norm)
    }

    /// Folds the batch statistics the latest training-mode forward pass left into the running
    /// estimates of every batch normalization layer, as PyTorch does during that pass. Once per
    /// forward pass: a second call changes nothing.
    pub fn commit_statistics<T: Scalar>(
        &self,
        params: &mut [T],
        buffers: &mut NetworkBuffers<T>,
    ) -> Result<()> {
        for (layer, kept) in self.layers.iter().zip(buffers.kept.iter_mut()) {
            layer.commit_statistics(params, kept)?;
        }
        Ok(())
    }

    /// `forward` for either kind of input rows.
    pub fn forward_input<T: Scalar>(
        &self,
        params: &[T],
        x: NetworkInput<'_, T>,
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
    ) -> Result<()> {
        self.run(params, x, rows, None, buffers)
    }

    fn run<T: Scalar>(
        &self,
        params: &[T],
        x: NetworkInput<'_, T>,
        rows: usize,
        mode: Option<Mode>,
        buffers: &mut NetworkBuffers<T>,
    ) -> Result<()> {
        match x {
            NetworkInput::Dense(x) if x.len() != rows * self.in_dim() => {
                return Err(Error::shape("network input", rows * self.in_dim(), x.len()));
            }
            NetworkInput::Labelled(l) if l.image_of_row.len() != rows => {
                return Err(Error::shape(
                    "network input rows",
                    rows,
                    l.image_of_row.len(),
                ));
            }
            _ => {}
        }
        let NetworkBuffers {
            outputs,
            scratch,
            kept,
            ..
        } = buffers;
        outputs.resize_with(self.layers.len(), Vec::new);
        kept.resize_with(self.layers.len(), Kept::default);
        let mut width = self.in_dim();
        for (i, layer) in self.layers.iter().enumerate() {
            let (before, rest) = outputs.split_at_mut(i);
            let out = &mut rest[0];
            let (_, out_dim) = layer.dims(width);
            out.resize(rows * out_dim, T::zero());
            let input = match before.last() {
                Some(previous) => NetworkInput::Dense(previous.as_slice()),
                None => x,
            };
            layer.forward(params, input, rows, mode, scratch, &mut kept[i], out)?;
            width = out_dim;
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
        buffers: &mut NetworkBuffers<T>,
        d_output: &[T],
        dx: Option<&mut [T]>,
    ) -> Result<()> {
        self.backward_input(
            params,
            grads,
            NetworkInput::Dense(x),
            rows,
            buffers,
            d_output,
            dx,
        )
    }

    /// The gradient with respect to the input `x` alone, `dx`, for `d_output`: the network is
    /// held fixed and its weights' gradients are not computed (a discriminator the generator's
    /// loss passes through).
    pub fn input_gradient<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
        d_output: &[T],
        dx: &mut [T],
    ) -> Result<()> {
        self.backward_input(
            params,
            &mut [],
            NetworkInput::Dense(x),
            rows,
            buffers,
            d_output,
            Some(dx),
        )
    }

    /// `backward` for either kind of input rows; labelled rows are data and get no `dx`. Empty
    /// `grads` asks for the input's gradient alone (see `input_gradient`).
    #[allow(clippy::too_many_arguments)]
    pub fn backward_input<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: NetworkInput<'_, T>,
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
        d_output: &[T],
        mut dx: Option<&mut [T]>,
    ) -> Result<()> {
        if buffers.outputs.len() != self.layers.len() {
            return Err(Error::shape(
                "network backward (forward not run)",
                self.layers.len(),
                buffers.outputs.len(),
            ));
        }
        if d_output.len() != rows * self.out_dim() {
            return Err(Error::shape(
                "network output gradient",
                rows * self.out_dim(),
                d_output.len(),
            ));
        }
        let NetworkBuffers {
            outputs,
            grad,
            grad_next,
            scratch,
            kept,
        } = buffers;
        kept.resize_with(self.layers.len(), Kept::default);
        let last = self.layers.len() - 1;
        // The gradient buffers only grow (`grown`): their first `grad_len` values are live.
        let mut grad_len = 0;
        for (i, layer) in self.layers.iter().enumerate().rev() {
            let y = &outputs[i];
            let out_dim = y.len() / rows.max(1);
            // `grad` holds the gradient with respect to this layer's output; the last layer reads
            // `d_output` where it has no activation to undo.
            let from_output = i == last && !layer.has_fused_activation();
            if !from_output {
                if i == last {
                    grad_len = d_output.len();
                    grown(grad, grad_len).copy_from_slice(d_output);
                }
                layer.activation_backward(&mut grad[..grad_len], y, out_dim);
            }
            let dy: &[T] = if from_output {
                d_output
            } else {
                &grad[..grad_len]
            };
            let input = match i {
                0 => x,
                _ => NetworkInput::Dense(outputs[i - 1].as_slice()),
            };
            // The first layer's input gradient goes to the caller, the others' to the next layer.
            let in_len = (i > 0).then(|| outputs[i - 1].len());
            let layer_dx = match in_len {
                None => dx.as_deref_mut(),
                Some(len) => Some(grown(grad_next, len)),
            };
            layer.backward(
                params,
                grads,
                input,
                y,
                dy,
                rows,
                scratch,
                &mut kept[i],
                layer_dx,
            )?;
            if let Some(len) = in_len {
                std::mem::swap(grad, grad_next);
                grad_len = len;
            }
        }
        Ok(())
    }
}
