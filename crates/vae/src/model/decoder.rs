//! p(x | z): an MLP from the latent to logits, read through the likelihood.

use crate::error::Result;
use crate::kernels::elementwise::Activation;
use crate::likelihood::Likelihood;
use crate::nn::{Linear, Mlp, MlpBuffers, ParamBuilder};
use crate::scalar::Scalar;

#[derive(Clone, Debug)]
pub struct Decoder {
    mlp: Mlp,
    pub likelihood: Likelihood,
}

impl Decoder {
    /// `decoder.hidden.{i}`, `decoder.output`, and the likelihood's own parameters.
    pub fn new<T: Scalar>(
        b: &mut ParamBuilder<'_, T>,
        latent: usize,
        hidden: &[usize],
        pixels: usize,
        activation: Activation,
        likelihood: impl FnOnce(&mut ParamBuilder<'_, T>) -> Likelihood,
    ) -> Self {
        let mlp = Mlp::new(b, latent, hidden, activation, |b, width| {
            Linear::new(&mut b.pp("output"), width, pixels)
        });
        let likelihood = likelihood(b);
        Decoder { mlp, likelihood }
    }

    pub fn pixels(&self) -> usize {
        self.mlp.out_dim()
    }

    /// Decodes `z [rows, latent]` to logits `[rows, pixels]`, kept in `buffers.output()`.
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        z: &[T],
        rows: usize,
        buffers: &mut MlpBuffers<T>,
    ) -> Result<()> {
        self.mlp.forward(params, z, rows, buffers)
    }

    /// Backpropagates `d_logits` into the weights and writes the gradient with respect to z.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        z: &[T],
        rows: usize,
        buffers: &mut MlpBuffers<T>,
        d_logits: &[T],
        d_z: &mut [T],
    ) -> Result<()> {
        self.mlp
            .backward(params, grads, z, rows, buffers, d_logits, Some(d_z))
    }
}
