//! p(x | z): a network (the layer list), with a dense `output` head to the logits unless the list
//! ends with the image's shape, read through the likelihood.

use crate::config::ImageShape;
use crate::error::Result;
use crate::likelihood::Likelihood;
use crate::nn::{LayerSpec, Linear, Network, NetworkBuffers, ParamBuilder};
use crate::scalar::Scalar;

/// p(x | z): a network whose output parameterizes the likelihood.
#[derive(Clone, Debug)]
pub struct Decoder {
    net: Network,
    /// Bernoulli or Gaussian, with the Gaussian's own parameters.
    pub likelihood: Likelihood,
}

impl Decoder {
    /// The layers of `layers` under the builder's prefix, the head `output`, and the
    /// likelihood's own parameters. A body that ends with the image's own shape `[height, width,
    /// channels]` (a transposed convolution, say) computes the logits itself and gets no head.
    pub fn new<T: Scalar>(
        b: &mut ParamBuilder<'_, T>,
        in_dim: usize,
        layers: &[LayerSpec],
        image: ImageShape,
        likelihood: impl FnOnce(&mut ParamBuilder<'_, T>) -> Likelihood,
    ) -> Result<Self> {
        let pixels = image.len();
        let image_shape = [image.height, image.width, image.channels];
        let mut head = |b: &mut ParamBuilder<'_, T>, shape: &[usize]| {
            (shape != image_shape)
                .then(|| Linear::new(&mut b.pp("output"), shape.iter().product(), pixels))
        };
        let net = Network::build(b, "decoder", &[in_dim], layers, Some(&mut head))?;
        let likelihood = likelihood(b);
        Ok(Decoder { net, likelihood })
    }

    /// The network, head included.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Values per image.
    pub fn pixels(&self) -> usize {
        self.net.out_dim()
    }

    /// Decodes `z [rows, latent]` to logits `[rows, pixels]`, kept in `buffers.output()`.
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        z: &[T],
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
    ) -> Result<()> {
        self.net.forward(params, z, rows, buffers)
    }

    /// Backpropagates `d_logits` into the weights and writes the gradient with respect to z.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        z: &[T],
        rows: usize,
        buffers: &mut NetworkBuffers<T>,
        d_logits: &[T],
        d_z: &mut [T],
    ) -> Result<()> {
        self.net
            .backward(params, grads, z, rows, buffers, d_logits, Some(d_z))
    }
}
