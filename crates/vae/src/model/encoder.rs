//! q(z | x): an MLP whose output row is `[mean | log_var]` of a diagonal Gaussian, or, for the
//! plain autoencoder, the deterministic code z = f(x).

use crate::error::{Error, Result};
use crate::gaussian::DiagonalGaussian;
use crate::kernels::elementwise::Activation;
use crate::nn::{Linear, Mlp, MlpBuffers, MlpInput, ParamBuilder};
use crate::scalar::Scalar;

#[derive(Clone, Debug)]
pub struct Encoder {
    mlp: Mlp,
    latent: usize,
    /// False for the autoencoder: one head `encoder.code`, no variance.
    stochastic: bool,
}

impl Encoder {
    /// `encoder.hidden.{i}`, then the heads `encoder.mean` and `encoder.log_var`, computed as one
    /// product; a deterministic encoder has the single head `encoder.code`.
    pub fn new<T: Scalar>(
        b: &mut ParamBuilder<'_, T>,
        in_dim: usize,
        hidden: &[usize],
        latent: usize,
        activation: Activation,
        stochastic: bool,
    ) -> Self {
        let heads: &[&str] = if stochastic {
            &["mean", "log_var"]
        } else {
            &["code"]
        };
        let mlp = Mlp::new(b, in_dim, hidden, activation, |b, width| {
            Linear::heads(b, heads, width, latent)
        });
        Encoder {
            mlp,
            latent,
            stochastic,
        }
    }

    pub fn latent(&self) -> usize {
        self.latent
    }

    /// Encodes `x [rows, in]` (or labelled rows sharing images); the distribution borrows
    /// `buffers`.
    pub fn forward<'b, 'x, T: Scalar>(
        &self,
        params: &[T],
        x: impl Into<MlpInput<'x, T>>,
        rows: usize,
        buffers: &'b mut MlpBuffers<T>,
    ) -> Result<DiagonalGaussian<'b, T>> {
        if !self.stochastic {
            return Err(Error::InvalidArgument(
                "a deterministic encoder has no posterior distribution".into(),
            ));
        }
        self.mlp.forward_input(params, x.into(), rows, buffers)?;
        Ok(DiagonalGaussian::new(buffers.output(), self.latent))
    }

    /// The deterministic code `[rows, latent]` of `x [rows, in]`, borrowing `buffers`.
    pub fn forward_code<'b, T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        buffers: &'b mut MlpBuffers<T>,
    ) -> Result<&'b [T]> {
        if self.stochastic {
            return Err(Error::InvalidArgument(
                "a variational encoder has no deterministic code".into(),
            ));
        }
        self.mlp.forward(params, x, rows, buffers)?;
        Ok(buffers.output())
    }

    /// Backpropagates `d_params` (`[rows, 2 latent]`, gradient with respect to mean and
    /// log-variance; `[rows, latent]` for a deterministic code) into the encoder's weights. The input gradient is not needed.
    pub fn backward<'x, T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: impl Into<MlpInput<'x, T>>,
        rows: usize,
        buffers: &mut MlpBuffers<T>,
        d_params: &[T],
    ) -> Result<()> {
        self.mlp
            .backward_input(params, grads, x.into(), rows, buffers, d_params, None)
    }
}
