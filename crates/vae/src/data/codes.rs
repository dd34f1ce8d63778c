//! Another model's codes as data (M1 + M2, Kingma et al. 2014): per image, the posterior
//! q(z | x) = N(mean, diag(exp(log_var))) of M1's encoder. A training batch is a fresh draw from
//! it; a held-out batch is its mean.

/// Every image's posterior under another model, with its label.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Codes {
    /// Values per image.
    pub dims: usize,
    /// `[len, 2 dims]`: each row the means, then the log-variances.
    pub posterior: Vec<f32>,
    /// A label per image.
    pub labels: Vec<u8>,
    /// Whether a batch is a draw from the posterior (training) or its mean (held out).
    pub sampled: bool,
}

impl Codes {
    /// How many images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Row `index`'s means then log-variances.
    pub fn row(&self, index: usize) -> &[f32] {
        let width = 2 * self.dims;
        &self.posterior[index * width..(index + 1) * width]
    }

    /// The means of every row, `[len, dims]`.
    pub fn means(&self) -> impl Iterator<Item = &[f32]> {
        self.posterior
            .chunks_exact(2 * self.dims.max(1))
            .map(|row| &row[..self.dims])
    }
}
