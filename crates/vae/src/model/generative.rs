//! What every model of the family does, whatever it is: encode images, decode latent points,
//! draw from the prior, reconstruct, and score images. `Model` forwards each call to the kind it
//! holds; drawing and reconstructing are the same for every kind, written once here.

use super::{ImageScore, VaeWorkspace};
use crate::config::ModelConfig;
use crate::error::Result;
use crate::kernels::rng::{fill_standard_normal, Rng};
use crate::scalar::Scalar;

/// A generative model: q(z | x) to encode, p(x | z) to decode, the prior N(0, I) to draw from.
/// Labels are read by conditional models (one per row) and ignored by the others.
pub trait Generative<T: Scalar> {
    /// Its configuration.
    fn config(&self) -> &ModelConfig;

    /// The size of the latent the prior N(0, I) is on, which `decode`, `sample` and `encode`
    /// use (z2 for a two-layer VAE).
    fn latent(&self) -> usize {
        self.config().latent
    }

    /// q(z | x) for `x [rows, pixels]` (q(z | x, y) with the labels when conditional): `[rows, 2
    /// latent]` into `out`, each row the means then the log-variances (−∞ for the autoencoder's
    /// deterministic code).
    fn encode(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()>;

    /// The encoder's means (the autoencoder's code), `[rows, latent]` into `out`.
    fn encode_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()>;

    /// Decoded images (means of p(x | z, y), in [0, 1]) for `z [rows, latent]`.
    fn decode(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()>;

    /// Per-image ELBO terms and the importance-weighted log p(x) with `k` samples per image,
    /// appended to `out`: log p(x | y) for a conditional VAE; M2 sums over y and ignores
    /// `labels`; the autoencoder's score is its reconstruction loss, with KL 0 and log p(x) NaN.
    #[allow(clippy::too_many_arguments)]
    fn score(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<ImageScore>,
    ) -> Result<()>;

    /// `n` images decoded from prior draws z ~ N(0, I) (one for each of `labels` when
    /// conditional), `[n, pixels]` into `out`. The autoencoder's are scribbles: nothing asks its
    /// codes to fill the prior.
    fn sample(
        &self,
        ws: &mut VaeWorkspace<T>,
        n: usize,
        labels: &[u8],
        rng: &mut Rng,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mut z = vec![T::zero(); n * self.latent()];
        fill_standard_normal(rng, &mut z);
        self.decode(ws, &z, labels, n, out)
    }

    /// Reconstructions through the encoder's mean (no sampling): decode(mean of q(z | x)).
    fn reconstruct(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mut means = std::mem::take(&mut ws.means);
        let result = self
            .encode_means(ws, x, labels, rows, &mut means)
            .and_then(|()| self.decode(ws, &means, labels, rows, out));
        ws.means = means;
        result
    }
}
