//! q(y | x): a network (the layer list) with a dense `output` head from an image to class logits, read through a softmax. M2's inference network
//! for the label (Kingma, Rezende, Mohamed & Welling 2014, eq. 4).

use crate::error::Result;
use crate::kernels::loss::log_softmax;
use crate::kernels::reduce::argmax;
use crate::nn::{LayerSpec, Linear, Network, NetworkBuffers, ParamBuilder};
use crate::scalar::Scalar;

/// q(y | x): a network and its dense head, one logit per class.
#[derive(Clone, Debug)]
pub struct Classifier {
    net: Network,
    classes: usize,
}

impl Classifier {
    /// The layers of `layers` and the head `output` under the builder's prefix.
    pub fn new<T: Scalar>(
        b: &mut ParamBuilder<'_, T>,
        in_shape: &[usize],
        layers: &[LayerSpec],
        classes: usize,
    ) -> Result<Self> {
        let mut head = |b: &mut ParamBuilder<'_, T>, shape: &[usize]| {
            Some(Linear::new(
                &mut b.pp("output"),
                shape.iter().product(),
                classes,
            ))
        };
        let net = Network::build(b, "classifier", in_shape, layers, Some(&mut head))?;
        Ok(Classifier { net, classes })
    }

    /// The network, head included.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// How many classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// log q(y | x) for `x [rows, in]` into `log_probs` `[rows, classes]`; the logits stay in
    /// `buffers` for the backward pass.
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
        log_probs: &mut Vec<T>,
    ) -> Result<()> {
        self.net.forward(params, x, rows, buffers)?;
        log_probs.resize(rows * self.classes, T::zero());
        log_softmax(buffers.output(), self.classes, log_probs);
        Ok(())
    }

    /// Backpropagates `d_logits` `[rows, classes]` into the classifier's weights.
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: &[T],
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
        d_logits: &[T],
    ) -> Result<()> {
        self.net
            .backward(params, grads, x, rows, buffers, d_logits, None)
    }

    /// `backward` for a classifier whose input is itself a sample (JMVAE's p(w | z) reads z):
    /// also writes the gradient with respect to its input rows into `dx`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_with_input<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: &[T],
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
        d_logits: &[T],
        dx: &mut [T],
    ) -> Result<()> {
        self.net
            .backward(params, grads, x, rows, buffers, d_logits, Some(dx))
    }
}

/// The most probable class of each row of `log_probs` `[rows, classes]`.
pub fn argmax_rows<T: Scalar>(log_probs: &[T], classes: usize) -> impl Iterator<Item = u8> + '_ {
    log_probs.chunks_exact(classes).map(|row| argmax(row) as u8)
}
