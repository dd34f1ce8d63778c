//! q(z | x): a network (the layer list) with a dense head whose output row is `[mean | log_var]` of a diagonal Gaussian, or, for the
//! plain autoencoder, the deterministic code z = f(x).

use crate::error::{Error, Result};
use crate::gaussian::DiagonalGaussian;
use crate::nn::{LayerSpec, Linear, Mode, Network, NetworkBuffers, NetworkInput, ParamBuilder};
use crate::scalar::Scalar;

/// q(z | x): a network and the dense heads of the Gaussian's mean and log-variance (the code for
/// the autoencoder).
#[derive(Clone, Debug)]
pub struct Encoder {
    net: Network,
    latent: usize,
    /// False for the autoencoder: one head `encoder.code`, no variance.
    stochastic: bool,
}

impl Encoder {
    /// The layers of `layers` reading `in_shape` under the builder's prefix
    /// (`encoder.hidden.{i}` for the shorthand), then the heads `mean` and `log_var` reading the
    /// body's output flat, computed as one product; a deterministic encoder has the single head
    /// `code`.
    pub fn new<T: Scalar>(
        b: &mut ParamBuilder<'_, T>,
        in_shape: &[usize],
        layers: &[LayerSpec],
        latent: usize,
        stochastic: bool,
    ) -> Result<Self> {
        let heads: &[&str] = if stochastic {
            &["mean", "log_var"]
        } else {
            &["code"]
        };
        let mut head = |b: &mut ParamBuilder<'_, T>, shape: &[usize]| {
            Some(Linear::heads(b, heads, shape.iter().product(), latent))
        };
        let net = Network::build(b, "encoder", in_shape, layers, Some(&mut head))?;
        Ok(Encoder {
            net,
            latent,
            stochastic,
        })
    }

    /// The network, heads included.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// The latent size.
    pub fn latent(&self) -> usize {
        self.latent
    }

    /// Encodes `x [rows, in]` (or labelled rows sharing images); the distribution borrows
    /// `buffers`.
    pub fn forward<'b, 'x, T: Scalar>(
        &self,
        params: &[T],
        x: impl Into<NetworkInput<'x, T>>,
        rows: usize,
        buffers: &'b mut NetworkBuffers<T>,
    ) -> Result<DiagonalGaussian<'b, T>> {
        if !self.stochastic {
            return Err(Error::InvalidArgument(
                "a deterministic encoder has no posterior distribution".into(),
            ));
        }
        self.net.forward_input(params, x.into(), rows, buffers)?;
        Ok(DiagonalGaussian::new(buffers.output(), self.latent))
    }

    /// `forward` in `mode`, for an encoder holding batch normalization (a VAE-GAN's): in training
    /// mode the batch statistics stay pending until the network's `commit_statistics`.
    pub fn forward_in<'b, T: Scalar>(
        &self,
        mode: Mode,
        params: &[T],
        x: &[T],
        rows: usize,
        buffers: &'b mut NetworkBuffers<T>,
    ) -> Result<DiagonalGaussian<'b, T>> {
        if !self.stochastic {
            return Err(Error::InvalidArgument(
                "a deterministic encoder has no posterior distribution".into(),
            ));
        }
        self.net.forward_in(mode, params, x, rows, buffers)?;
        Ok(DiagonalGaussian::new(buffers.output(), self.latent))
    }

    /// The deterministic code `[rows, latent]` of `x [rows, in]`, borrowing `buffers`.
    pub fn forward_code<'b, T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        buffers: &'b mut NetworkBuffers<T>,
    ) -> Result<&'b [T]> {
        if self.stochastic {
            return Err(Error::InvalidArgument(
                "a variational encoder has no deterministic code".into(),
            ));
        }
        self.net.forward(params, x, rows, buffers)?;
        Ok(buffers.output())
    }

    /// `backward` for an encoder whose input is itself a sample (q(z2 | z1), p(z1 | z2)): also
    /// writes the gradient with respect to its input rows into `dx`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_with_input<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: &[T],
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
        d_params: &[T],
        dx: &mut [T],
    ) -> Result<()> {
        self.net
            .backward(params, grads, x, rows, buffers, d_params, Some(dx))
    }

    /// Backpropagates `d_params` (`[rows, 2 latent]`, gradient with respect to mean and
    /// log-variance; `[rows, latent]` for a deterministic code) into the encoder's weights. The input gradient is not needed.
    pub fn backward<'x, T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: impl Into<NetworkInput<'x, T>>,
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
        d_params: &[T],
    ) -> Result<()> {
        self.net
            .backward_input(params, grads, x.into(), rows, buffers, d_params, None)
    }
}
