//! Held-out evaluation in nats per image: the ELBO with its two terms, and log p(x) estimated by
//! importance sampling with K samples (Burda et al. 2015), with its standard error.

use crate::data::{BatchLoader, Split};
use crate::error::{Error, Result};
use crate::kernels::rng::{stream, Purpose};
use crate::model::vae::SCORE_ROWS;
use crate::model::{ImageScore, Vae, VaeWorkspace};
use serde::{Deserialize, Serialize};

/// Images encoded together; their K samples are decoded in blocks of `SCORE_ROWS` rows.
const MIN_IMAGES_PER_CHUNK: usize = 16;
const MAX_IMAGES_PER_CHUNK: usize = 500;

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean ELBO per image (the negative of the training loss).
    pub elbo: f64,
    /// Mean −E_q[log p(x | z)], estimated with the K samples.
    pub reconstruction: f64,
    pub kl: f64,
    /// Mean importance-weighted estimate of log p(x).
    pub log_likelihood: f64,
    /// Standard error of that mean over the images.
    pub log_likelihood_stderr: f64,
    pub iw_samples: usize,
    pub images: usize,
}

/// Scores every image of `split` (already binarized as in training) with `k` importance samples.
/// `progress(done, total)` is called after each chunk of images.
pub fn evaluate(
    model: &Vae<f32>,
    split: &Split,
    k: usize,
    seed: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Evaluation> {
    if k == 0 {
        return Err(Error::InvalidArgument(
            "--iw-samples must be at least 1".into(),
        ));
    }
    if split.is_empty() {
        return Err(Error::InvalidArgument(
            "nothing to evaluate: the split is empty".into(),
        ));
    }
    let images_per_chunk = (SCORE_ROWS / k).clamp(MIN_IMAGES_PER_CHUNK, MAX_IMAGES_PER_CHUNK);
    let mut workspace = VaeWorkspace::default();
    let mut loader = BatchLoader::default();
    let mut scores: Vec<ImageScore> = Vec::with_capacity(split.len());
    let indices: Vec<usize> = (0..split.len()).collect();
    for (c, chunk) in indices.chunks(images_per_chunk).enumerate() {
        let batch = loader.load(split, chunk, None);
        let mut noise = stream(seed, Purpose::Evaluate, &[k as u64, c as u64]);
        model.score(
            &mut workspace,
            batch.x,
            batch.labels,
            batch.rows,
            k,
            &mut noise,
            &mut scores,
        )?;
        progress(scores.len(), split.len());
    }
    Ok(summarise(&scores, k))
}

fn summarise(scores: &[ImageScore], k: usize) -> Evaluation {
    let n = scores.len() as f64;
    let mean = |f: fn(&ImageScore) -> f64| scores.iter().map(f).sum::<f64>() / n;
    let reconstruction = mean(|s| s.reconstruction);
    let kl = mean(|s| s.kl);
    let log_likelihood = mean(|s| s.log_likelihood);
    let variance = scores
        .iter()
        .map(|s| (s.log_likelihood - log_likelihood).powi(2))
        .sum::<f64>()
        / (n - 1.0).max(1.0);
    Evaluation {
        elbo: -(reconstruction + kl),
        reconstruction,
        kl,
        log_likelihood,
        log_likelihood_stderr: (variance / n).sqrt(),
        iw_samples: k,
        images: scores.len(),
    }
}
