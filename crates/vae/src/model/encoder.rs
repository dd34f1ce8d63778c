//! q(z | x): an MLP whose output row is `[mean | log_var]` of a diagonal Gaussian.

use crate::error::Result;
use crate::gaussian::DiagonalGaussian;
use crate::kernels::elementwise::Activation;
use crate::nn::{Linear, Mlp, MlpBuffers, ParamBuilder};
use crate::scalar::Scalar;

#[derive(Clone, Debug)]
pub struct Encoder {
    mlp: Mlp,
    latent: usize,
}

impl Encoder {
    /// `encoder.hidden.{i}`, then the heads `encoder.mean` and `encoder.log_var`, computed as one
    /// product.
    pub fn new<T: Scalar>(
        b: &mut ParamBuilder<'_, T>,
        in_dim: usize,
        hidden: &[usize],
        latent: usize,
        activation: Activation,
    ) -> Self {
        let mlp = Mlp::new(b, in_dim, hidden, activation, |b, width| {
            Linear::heads(b, &["mean", "log_var"], width, latent)
        });
        Encoder { mlp, latent }
    }

    pub fn latent(&self) -> usize {
        self.latent
    }

    /// Encodes `x [rows, in]`; the distribution borrows `buffers`.
    pub fn forward<'b, T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        buffers: &'b mut MlpBuffers<T>,
    ) -> Result<DiagonalGaussian<'b, T>> {
        self.mlp.forward(params, x, rows, buffers)?;
        Ok(DiagonalGaussian::new(buffers.output(), self.latent))
    }

    /// Backpropagates `d_params` (`[rows, 2 latent]`, gradient with respect to mean and
    /// log-variance) into the encoder's weights. The input gradient is not needed.
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: &[T],
        rows: usize,
        buffers: &mut MlpBuffers<T>,
        d_params: &[T],
    ) -> Result<()> {
        self.mlp
            .backward(params, grads, x, rows, buffers, d_params, None)
    }
}
