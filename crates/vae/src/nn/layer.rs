//! One executable layer of a network, built from a layer-list entry once its input shape is known.
//!
//! Adding a layer kind means a kernel in `kernels/`, a file in `nn/` with its forward and backward,
//! a `LayerSpec` variant, and one arm in each `match` below.

use super::batch_norm::{BatchNorm, Mode};
use super::conv::{Conv2d, ConvTranspose2d};
use super::labelled_rows::{LabelledRows, LabelledScratch};
use super::linear::Linear;
use super::params::ParamBuilder;
use super::spec::LayerSpec;
use crate::error::{Error, Result};
use crate::kernels::elementwise::{
    activation_backward, activation_in_place, activation_into, multiply_into, Activation,
};
use crate::scalar::Scalar;

/// What a network's first layer reads: plain rows, or labelled rows sharing images.
#[derive(Clone, Copy, Debug)]
pub enum NetworkInput<'a, T> {
    /// Rows of values `[rows, in]`.
    Dense(&'a [T]),
    /// Rows that share images, each with its own label (M2's expansion over classes).
    Labelled(LabelledRows<'a, T>),
}

impl<'a, T> From<&'a [T]> for NetworkInput<'a, T> {
    fn from(x: &'a [T]) -> Self {
        NetworkInput::Dense(x)
    }
}

/// A layer that computes (flatten and reshape only relabel the shape and are not layers here).
/// A product carries the activation that follows it in the list, fused into its output pass.
#[derive(Clone, Debug)]
pub enum Layer {
    /// A dense layer and the activation fused into its output.
    Linear(Linear, Activation),
    /// A convolution and its fused activation.
    Conv(Conv2d, Activation),
    /// A transposed convolution and its fused activation.
    ConvTranspose(ConvTranspose2d, Activation),
    /// An activation that follows no product.
    Activation(Activation),
    /// Activations in a row after the one a product took, applied in place: the layer keeps its
    /// output and the product of the activations' derivatives, two batches of values however
    /// long the chain, and its backward pass multiplies by that product.
    Chain(Vec<Activation>),
    /// Batch normalization, in the mode each forward pass names, and the activation fused into
    /// its output.
    BatchNorm(BatchNorm, Activation),
}

/// A layer's own buffer, kept from its forward pass for its backward pass: a convolution's
/// receptive fields, so they are gathered once per step instead of twice.
#[derive(Clone, Debug, Default)]
pub struct Kept<T> {
    values: Vec<T>,
    /// Whether `values` holds what the latest forward pass left for the backward pass.
    valid: bool,
    /// The mode of the latest forward pass, for a layer that has one.
    mode: Option<Mode>,
    /// Whether a training-mode batch normalization holds statistics not yet folded into its
    /// running estimates.
    pending: bool,
}

impl<T> Kept<T> {
    /// The values kept.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Buffers a layer uses within one call, reused across batches.
#[derive(Clone, Debug, Default)]
pub struct LayerScratch<T> {
    /// The first layer's buffers for labelled rows sharing images.
    pub(super) labelled: LabelledScratch<T>,
    /// A convolution's receptive fields, one row per output position.
    pub(super) cols: Vec<T>,
    /// A dense layer's weight, transposed for the forward product.
    pub(super) weight_t: Vec<T>,
}

/// Shape bookkeeping while a list is built: where we are, for error messages.
pub(super) struct At<'a> {
    pub network: &'a str,
    pub index: usize,
    pub kind: &'a str,
}

impl<T> LayerScratch<T> {
    /// The values held.
    pub fn len(&self) -> usize {
        self.labelled.len() + self.cols.len() + self.weight_t.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl At<'_> {
    pub fn error(&self, reason: impl std::fmt::Display) -> Error {
        Error::Config(format!(
            "{} layer {} ({}): {reason}",
            self.network, self.index, self.kind
        ))
    }
}

/// What one entry of the list becomes: a new layer, an activation to fuse into the previous
/// product, or only a new shape.
pub(super) enum Built {
    Layer(Layer, Vec<usize>),
    Fuse(Activation),
    View(Vec<usize>),
}

/// Builds `spec` reading `shape`; `linear_index` counts the layers with weights before it, for
/// default names; `after_product` says whether an activation here can fuse into the layer before.
pub(super) fn build<T: Scalar>(
    spec: &LayerSpec,
    b: &mut ParamBuilder<'_, T>,
    shape: &[usize],
    linear_index: usize,
    after_product: bool,
    at: &At<'_>,
) -> Result<Built> {
    let plan = spec.plan(shape).map_err(|reason| at.error(reason))?;
    let name = || {
        spec.name()
            .map_or_else(|| format!("hidden.{linear_index}"), str::to_string)
    };
    Ok(match (spec, plan.geometry) {
        (LayerSpec::Linear { out, .. }, _) => {
            let linear = Linear::new(&mut b.pp(name()), shape[0], *out);
            Built::Layer(Layer::Linear(linear, Activation::Identity), plan.shape)
        }
        (LayerSpec::Conv2d { out, .. }, Some(geometry)) => {
            let conv = Conv2d::new(&mut b.pp(name()), geometry, *out);
            Built::Layer(Layer::Conv(conv, Activation::Identity), plan.shape)
        }
        (LayerSpec::ConvTranspose2d { .. }, Some(geometry)) => {
            let conv = ConvTranspose2d::new(&mut b.pp(name()), geometry, shape[2]);
            Built::Layer(Layer::ConvTranspose(conv, Activation::Identity), plan.shape)
        }
        (LayerSpec::BatchNorm { .. }, _) => {
            let channels = *shape.last().unwrap_or(&0);
            let norm = BatchNorm::new(&mut b.pp(name()), channels);
            Built::Layer(Layer::BatchNorm(norm, Activation::Identity), plan.shape)
        }
        (
            LayerSpec::Relu | LayerSpec::Tanh | LayerSpec::Softplus | LayerSpec::LeakyRelu { .. },
            _,
        ) => {
            let activation = spec.activation().unwrap_or(Activation::Identity);
            if after_product {
                Built::Fuse(activation)
            } else {
                Built::Layer(Layer::Activation(activation), plan.shape)
            }
        }
        _ => Built::View(plan.shape),
    })
}

impl Layer {
    /// Values per row read and written.
    pub fn dims(&self, in_dim: usize) -> (usize, usize) {
        match self {
            Layer::Linear(l, _) => (l.in_dim, l.out_dim),
            Layer::Conv(c, _) => (c.in_dim(), c.out_dim()),
            Layer::ConvTranspose(c, _) => (c.in_dim(), c.out_dim()),
            Layer::Activation(_) | Layer::Chain(_) | Layer::BatchNorm(..) => (in_dim, in_dim),
        }
    }

    /// Multiply-adds per row.
    pub fn macs(&self) -> usize {
        match self {
            Layer::Linear(l, _) => l.in_dim * l.out_dim,
            Layer::Conv(c, _) => c.macs(),
            Layer::ConvTranspose(c, _) => c.macs(),
            Layer::Activation(_) | Layer::Chain(_) | Layer::BatchNorm(..) => 0,
        }
    }

    /// `y [rows, out] = layer(x)`; `kept` is this layer's buffer for its backward pass. `mode`
    /// is required by batch normalization and ignored by the other layers.
    #[allow(clippy::too_many_arguments)]
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        x: NetworkInput<'_, T>,
        rows: usize,
        mode: Option<Mode>,
        scratch: &mut LayerScratch<T>,
        kept: &mut Kept<T>,
        y: &mut [T],
    ) -> Result<()> {
        kept.valid = false;
        kept.pending = false;
        kept.mode = mode;
        match (self, x) {
            (Layer::BatchNorm(norm, act), NetworkInput::Dense(x)) => {
                let Some(mode) = mode else {
                    return Err(Error::InvalidArgument(
                        "a network with batch normalization runs in a mode: training or evaluation"
                            .into(),
                    ));
                };
                norm.forward(params, x, mode, *act, &mut kept.values, y)?;
                kept.valid = mode == Mode::Train;
                kept.pending = kept.valid;
                Ok(())
            }
            (Layer::Linear(l, act), NetworkInput::Dense(x)) => {
                l.forward(params, x, rows, *act, &mut scratch.weight_t, y)
            }
            (Layer::Linear(l, act), NetworkInput::Labelled(x)) => {
                l.forward_labelled(params, &x, *act, &mut scratch.labelled, y)
            }
            (Layer::Conv(c, act), NetworkInput::Dense(x)) => {
                kept.valid = c.forward(params, x, rows, *act, &mut kept.values, y)?;
                Ok(())
            }
            (Layer::ConvTranspose(c, act), NetworkInput::Dense(x)) => {
                c.forward(params, x, rows, *act, &mut scratch.cols, y)
            }
            (Layer::Activation(act), NetworkInput::Dense(x)) => {
                activation_into(x, y, y.len() / rows.max(1), *act);
                Ok(())
            }
            (Layer::Chain(chain), NetworkInput::Dense(x)) => {
                let cols = y.len() / rows.max(1);
                let derivative = &mut kept.values;
                derivative.clear();
                derivative.resize(y.len(), T::one());
                for (i, &act) in chain.iter().enumerate() {
                    if i == 0 {
                        activation_into(x, y, cols, act);
                    } else {
                        activation_in_place(y, cols, act);
                    }
                    activation_backward(derivative, y, cols, act);
                }
                kept.valid = true;
                Ok(())
            }
            (_, NetworkInput::Labelled(_)) => Err(Error::InvalidArgument(
                "labelled input rows must enter a linear layer".into(),
            )),
        }
    }

    /// The fused activation's backward, in place: `dy` (gradient with respect to the output
    /// `y`) becomes the gradient with respect to the pre-activation.
    pub fn activation_backward<T: Scalar>(&self, dy: &mut [T], y: &[T], out_dim: usize) {
        if let Some(act) = self.fused_activation() {
            activation_backward(dy, y, out_dim, act);
        }
    }

    fn fused_activation(&self) -> Option<Activation> {
        match self {
            Layer::Linear(_, act)
            | Layer::Conv(_, act)
            | Layer::ConvTranspose(_, act)
            | Layer::BatchNorm(_, act) => Some(*act),
            Layer::Activation(_) | Layer::Chain(_) => None,
        }
    }

    /// The activation fused into this product's output, to be set while the list is built.
    pub(super) fn fused_activation_mut(&mut self) -> Option<&mut Activation> {
        match self {
            Layer::Linear(_, act)
            | Layer::Conv(_, act)
            | Layer::ConvTranspose(_, act)
            | Layer::BatchNorm(_, act) => Some(act),
            Layer::Activation(_) | Layer::Chain(_) => None,
        }
    }

    /// Whether an activation that follows can be fused into this layer's output pass: a
    /// product, or batch normalization.
    pub(super) fn is_product(&self) -> bool {
        matches!(
            self,
            Layer::Linear(..) | Layer::Conv(..) | Layer::ConvTranspose(..) | Layer::BatchNorm(..)
        )
    }

    /// Appends `next`, an activation that follows this one with no product between, making a
    /// chain; `false` (and nothing changed) when this layer is a product.
    pub(super) fn extend_chain(&mut self, next: Activation) -> bool {
        match self {
            Layer::Activation(first) => {
                *self = Layer::Chain(vec![*first, next]);
                true
            }
            Layer::Chain(chain) => {
                chain.push(next);
                true
            }
            _ => false,
        }
    }

    /// Folds a training-mode batch normalization's pending statistics into its running
    /// estimates; other layers, and one already folded, are left alone.
    pub fn commit_statistics<T: Scalar>(&self, params: &mut [T], kept: &mut Kept<T>) -> Result<()> {
        if let (Layer::BatchNorm(norm, _), true) = (self, kept.pending) {
            norm.commit(params, &kept.values)?;
            kept.pending = false;
        }
        Ok(())
    }

    /// Whether this layer normalises with batch statistics in training mode.
    pub fn is_batch_norm(&self) -> bool {
        matches!(self, Layer::BatchNorm(..))
    }

    /// Whether `activation_backward` changes anything.
    pub fn has_fused_activation(&self) -> bool {
        self.fused_activation()
            .is_some_and(|act| act != Activation::Identity)
    }

    /// Accumulates the parameter gradients for pre-activation gradient `dy`, writing the input
    /// gradient to `dx` when asked. For an activation layer `dy` is the output gradient and `y`
    /// its output.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: NetworkInput<'_, T>,
        y: &[T],
        dy: &[T],
        rows: usize,
        scratch: &mut LayerScratch<T>,
        kept: &mut Kept<T>,
        dx: Option<&mut [T]>,
    ) -> Result<()> {
        // Whatever was kept is used (and overwritten) now.
        let kept_valid = std::mem::take(&mut kept.valid);
        match (self, x) {
            (Layer::BatchNorm(norm, _), NetworkInput::Dense(x)) => {
                let mode = kept.mode.ok_or_else(|| {
                    Error::InvalidArgument(
                        "batch normalization's backward pass needs its forward pass first".into(),
                    )
                })?;
                if mode == Mode::Train && !kept_valid {
                    return Err(Error::InvalidArgument(
                        "batch normalization's backward pass needs its forward pass first".into(),
                    ));
                }
                norm.backward(params, grads, x, dy, mode, &kept.values, dx)?;
                // Its statistics are only read: another backward pass through the same forward
                // pass (a discriminator's gradient for two losses) may use them again.
                kept.valid = kept_valid;
                Ok(())
            }
            (Layer::Linear(l, _), NetworkInput::Dense(x)) => {
                l.backward(params, grads, x, dy, rows, dx)
            }
            (Layer::Linear(l, _), NetworkInput::Labelled(x)) if dx.is_none() => {
                l.backward_labelled(grads, &x, dy, &mut scratch.labelled)
            }
            (Layer::Conv(c, _), NetworkInput::Dense(x)) => {
                c.backward(params, grads, x, dy, rows, &mut kept.values, kept_valid, dx)
            }
            (Layer::ConvTranspose(c, _), NetworkInput::Dense(x)) => {
                c.backward(params, grads, x, dy, rows, &mut scratch.cols, dx)
            }
            (Layer::Activation(act), NetworkInput::Dense(_)) => {
                if let Some(dx) = dx {
                    dx.copy_from_slice(dy);
                    activation_backward(dx, y, dy.len() / rows.max(1), *act);
                }
                Ok(())
            }
            (Layer::Chain(_), NetworkInput::Dense(_)) => {
                if !kept_valid || kept.values.len() != dy.len() {
                    return Err(Error::InvalidArgument(
                        "an activation chain's backward pass needs its forward pass first".into(),
                    ));
                }
                if let Some(dx) = dx {
                    multiply_into(dy, &kept.values, dx, dy.len() / rows.max(1));
                }
                kept.valid = true;
                Ok(())
            }
            (_, NetworkInput::Labelled(_)) => Err(Error::InvalidArgument(
                "labelled input rows are data: they have no gradient".into(),
            )),
        }
    }
}
