//! One executable layer of a network, built from a layer-list entry once its input shape is known.
//!
//! Adding a layer kind means a kernel in `kernels/`, a file in `nn/` with its forward and backward,
//! a `LayerSpec` variant, and one arm in each `match` below.

use super::labelled_rows::{LabelledRows, LabelledScratch};
use super::linear::Linear;
use super::params::ParamBuilder;
use super::spec::LayerSpec;
use crate::error::{Error, Result};
use crate::kernels::elementwise::{activation_backward, activation_into, Activation};
use crate::scalar::Scalar;

/// What a network's first layer reads: plain rows, or labelled rows sharing images.
#[derive(Clone, Copy, Debug)]
pub enum NetworkInput<'a, T> {
    Dense(&'a [T]),
    Labelled(LabelledRows<'a, T>),
}

impl<'a, T> From<&'a [T]> for NetworkInput<'a, T> {
    fn from(x: &'a [T]) -> Self {
        NetworkInput::Dense(x)
    }
}

/// A layer that computes (flatten and reshape only relabel the shape and are not layers here).
#[derive(Clone, Debug)]
pub enum Layer {
    /// A product, with the activation that follows it in the list fused into its output pass.
    Linear(Linear, Activation),
    /// An activation that follows no product.
    Activation(Activation),
}

/// Shape bookkeeping while a list is built: where we are, for error messages.
pub(super) struct At<'a> {
    pub network: &'a str,
    pub index: usize,
    pub kind: &'a str,
}

impl At<'_> {
    pub fn error(&self, reason: impl std::fmt::Display) -> Error {
        Error::Config(format!(
            "{} layer {} ({}): {reason}",
            self.network, self.index, self.kind
        ))
    }
}

fn flat(shape: &[usize], at: &At<'_>) -> Result<usize> {
    match shape {
        [width] => Ok(*width),
        _ => Err(at.error(format!(
            "needs a flat input, got {shape:?}: put a {{\"type\": \"flatten\"}} layer before it"
        ))),
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
    Ok(match spec {
        LayerSpec::Linear { name, out } => {
            let in_dim = flat(shape, at)?;
            let name = name
                .clone()
                .unwrap_or_else(|| format!("hidden.{linear_index}"));
            let linear = Linear::new(&mut b.pp(name), in_dim, *out);
            Built::Layer(Layer::Linear(linear, Activation::Identity), vec![*out])
        }
        LayerSpec::Relu | LayerSpec::Tanh | LayerSpec::Softplus => {
            let activation = spec.activation().unwrap_or(Activation::Identity);
            if after_product {
                Built::Fuse(activation)
            } else {
                Built::Layer(Layer::Activation(activation), shape.to_vec())
            }
        }
        LayerSpec::Flatten => Built::View(vec![shape.iter().product()]),
        LayerSpec::Reshape { shape: to } => {
            let (from, into): (usize, usize) = (shape.iter().product(), to.iter().product());
            if from != into {
                return Err(at.error(format!(
                    "{shape:?} ({from} values) cannot be viewed as {to:?} ({into} values)"
                )));
            }
            Built::View(to.clone())
        }
    })
}

impl Layer {
    /// Values per row read and written.
    pub fn dims(&self, in_dim: usize) -> (usize, usize) {
        match self {
            Layer::Linear(l, _) => (l.in_dim, l.out_dim),
            Layer::Activation(_) => (in_dim, in_dim),
        }
    }

    /// Multiply-adds per row.
    pub fn macs(&self) -> usize {
        match self {
            Layer::Linear(l, _) => l.in_dim * l.out_dim,
            Layer::Activation(_) => 0,
        }
    }

    /// `y [rows, out] = layer(x)`.
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        x: NetworkInput<'_, T>,
        rows: usize,
        scratch: &mut LabelledScratch<T>,
        y: &mut [T],
    ) -> Result<()> {
        match (self, x) {
            (Layer::Linear(l, act), NetworkInput::Dense(x)) => l.forward(params, x, rows, *act, y),
            (Layer::Linear(l, act), NetworkInput::Labelled(x)) => {
                l.forward_labelled(params, &x, *act, scratch, y)
            }
            (Layer::Activation(act), NetworkInput::Dense(x)) => {
                activation_into(x, y, y.len() / rows.max(1), *act);
                Ok(())
            }
            (Layer::Activation(_), NetworkInput::Labelled(_)) => Err(Error::InvalidArgument(
                "labelled input rows must enter a linear layer".into(),
            )),
        }
    }

    /// The fused activation's backward, in place: `dy` (gradient with respect to the output
    /// `y`) becomes the gradient with respect to the pre-activation.
    pub fn activation_backward<T: Scalar>(&self, dy: &mut [T], y: &[T], out_dim: usize) {
        if let Layer::Linear(_, act) = self {
            activation_backward(dy, y, out_dim, *act);
        }
    }

    /// Whether `activation_backward` changes anything.
    pub fn has_fused_activation(&self) -> bool {
        matches!(self, Layer::Linear(_, act) if *act != Activation::Identity)
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
        scratch: &mut LabelledScratch<T>,
        dx: Option<&mut [T]>,
    ) -> Result<()> {
        match (self, x) {
            (Layer::Linear(l, _), NetworkInput::Dense(x)) => {
                l.backward(params, grads, x, dy, rows, dx)
            }
            (Layer::Linear(l, _), NetworkInput::Labelled(x)) if dx.is_none() => {
                l.backward_labelled(grads, &x, dy, scratch)
            }
            (Layer::Activation(act), NetworkInput::Dense(_)) => {
                if let Some(dx) = dx {
                    dx.copy_from_slice(dy);
                    activation_backward(dx, y, dy.len() / rows.max(1), *act);
                }
                Ok(())
            }
            (_, NetworkInput::Labelled(_)) => Err(Error::InvalidArgument(
                "labelled input rows are data: they have no gradient".into(),
            )),
        }
    }
}
