//! Held-out evaluation in nats per image: the ELBO with its two terms, and log p(x) estimated by
//! importance sampling with K samples (Burda et al. 2015), with its standard error.

use crate::batch::mismatches;
use crate::collective::{Collective, SingleProcess};
use crate::config::ModelKind;
use crate::data::{BatchLoader, Split};
use crate::error::{Error, Result};
use crate::kernels::gaussian::{accumulate_mean_statistics, accumulate_posterior_statistics};
use crate::kernels::rng::{stream, Purpose};
use crate::model::vae::SCORE_ROWS;
use crate::model::Generative;
use crate::model::{
    ClassifierWorkspace, ImageScore, JointScore, Model, ReferenceClassifier, VaeWorkspace,
};
use serde::{Deserialize, Serialize};

/// Images encoded together; their K samples are decoded in blocks of `SCORE_ROWS` rows.
const MIN_IMAGES_PER_CHUNK: usize = 16;
const MAX_IMAGES_PER_CHUNK: usize = 500;

/// What `evaluate` measures on a split: the ELBO and its terms, the importance-weighted log p(x)
/// with its standard error, and for M2 the classifier's error.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean ELBO per image (the negative of the training loss).
    pub elbo: f64,
    /// Mean −E_q[log p(x | z)], estimated with the K samples.
    pub reconstruction: f64,
    /// Mean KL(q(z | x) || p(z)), analytic.
    pub kl: f64,
    /// Mean importance-weighted estimate of log p(x).
    pub log_likelihood: f64,
    /// Standard error of that mean over the images.
    pub log_likelihood_stderr: f64,
    /// Importance samples per image, K.
    pub iw_samples: usize,
    /// Images scored.
    pub images: usize,
    /// M2: the classifier's error rate on these images, a fraction; JMVAE: how often the label
    /// p(w | z) reads at the mean of q(z | x) is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification_error: Option<f64>,
    /// JMVAE: the mean log p(x, w) of the images with their labels, importance-sampled from
    /// q(z | x, w) with K samples, and its standard error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joint_log_likelihood: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub joint_log_likelihood_stderr: Option<f64>,
    /// JMVAE: the mean log p(x | w) = log p(x, w) − log p(w), log p(w) importance-sampled from
    /// q(z | w) with K samples, and its standard error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_log_likelihood: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub conditional_log_likelihood_stderr: Option<f64>,
    /// Conditional models scored by a reference classifier: per label, the fraction of samples
    /// drawn with that label that it reads as that label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_accuracy: Option<Vec<f64>>,
    /// Per latent dimension, the mean KL(q(z_d | x) ‖ N(0, 1)) over the images (stochastic
    /// encoders only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kl_per_dimension: Option<Vec<f64>>,
    /// Per latent dimension, the variance over the images of the posterior mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_variance_per_dimension: Option<Vec<f64>>,
    /// Dimensions whose posterior mean varies across the images with variance above
    /// `ACTIVE_UNIT_VARIANCE`: the active units of Burda et al. 2015, Sec. 5.2. With two
    /// stochastic layers, those of the top layer z2 (the latent pictures walk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_units: Option<usize>,
    /// Two stochastic layers: the active units of the lower layer z1, by the means of q(z1 | x)
    /// (Burda et al.'s Table 1 counts both layers' units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_active_units: Option<usize>,
    /// Two stochastic layers: per dimension of z1, the variance over the images of the mean of
    /// q(z1 | x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_mean_variance_per_dimension: Option<Vec<f64>>,
}

impl Evaluation {
    /// How often samples drawn with a label were read as it, over all labels (the mean of
    /// `conditional_accuracy`), when that was measured.
    pub fn conditional_accuracy_mean(&self) -> Option<f64> {
        let accuracy = self.conditional_accuracy.as_ref()?;
        Some(accuracy.iter().sum::<f64>() / accuracy.len().max(1) as f64)
    }
}

/// The most importance samples per image `evaluate` takes: its buffers grow with K (one log-weight
/// per sample and image of a chunk), and the literature's K = 5000 is far below.
pub const MAX_IW_SAMPLES: usize = 1_000_000;

/// Burda et al. 2015, Sec. 5.2: a unit is active when the variance over the data of its posterior
/// mean exceeds 10^−2.
pub const ACTIVE_UNIT_VARIANCE: f64 = 1e-2;

/// Scores every image of `split` (already binarized as in training) with `k` importance samples.
/// `progress(done, total)` is called after each chunk of images.
pub fn evaluate(
    model: &Model<f32>,
    split: &Split,
    k: usize,
    seed: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Evaluation> {
    evaluate_across(&SingleProcess, model, split, k, seed, progress)
}

/// `evaluate` with the chunks of images dealt out among the ranks of `world` in turn. Each
/// chunk keeps its noise stream and every rank ends with every image's score in order, so the
/// ELBO, log p(x) and its standard error equal one process's bit for bit; the posterior
/// statistics (active units) are summed in another order.
pub fn evaluate_across(
    world: &dyn Collective,
    model: &Model<f32>,
    split: &Split,
    k: usize,
    seed: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Evaluation> {
    if k == 0 {
        return Err(Error::InvalidArgument(
            "importance samples must be at least 1".into(),
        ));
    }
    if k > MAX_IW_SAMPLES {
        return Err(Error::InvalidArgument(format!(
            "{k} importance samples is more than the {MAX_IW_SAMPLES} this scorer takes"
        )));
    }
    if split.is_empty() {
        return Err(Error::InvalidArgument(
            "nothing to evaluate: the split is empty".into(),
        ));
    }
    let images_per_chunk = (SCORE_ROWS / k).clamp(MIN_IMAGES_PER_CHUNK, MAX_IMAGES_PER_CHUNK);
    let decoded_at_once = images_per_chunk
        .saturating_mul(k)
        .min(SCORE_ROWS.max(images_per_chunk));
    crate::memory::scoring(model.config(), images_per_chunk, decoded_at_once, k)
        .check_available()?;
    let mut workspace = VaeWorkspace::default();
    let mut loader = BatchLoader::default();
    let mut scores: Vec<ImageScore> = Vec::with_capacity(split.len());
    let indices: Vec<usize> = (0..split.len()).collect();
    let classifies = matches!(model.kind(), ModelKind::M2 | ModelKind::Jmvae);
    let joint = match model {
        Model::Jmvae(m) => Some(m),
        _ => None,
    };
    // JMVAE: per image, log p(x, w) and log p(w).
    let mut joint_scores = Vec::new();
    let stochastic = model.kind() != ModelKind::Ae;
    let (mut predicted, mut errors) = (Vec::new(), 0usize);
    let latent = model.latent();
    let (mut posterior, mut sum_mean, mut sum_mean_sq, mut sum_kl) = (
        Vec::new(),
        vec![0f64; latent],
        vec![0f64; latent],
        vec![0f64; latent],
    );
    // Two stochastic layers: the sums of the means of q(z1 | x) and of their squares.
    let lower = match model {
        Model::Hvae(m) => Some(m),
        _ => None,
    };
    let lower_latent = lower.map_or(0, |m| m.lower_latent());
    let (mut lower_sum_mean, mut lower_sum_mean_sq) =
        (vec![0f64; lower_latent], vec![0f64; lower_latent]);
    // This rank's images' scores, in place among all the images'.
    let mut all_scores = vec![[0f64; 5]; if world.size() > 1 { split.len() } else { 0 }];
    let mut done = 0;
    for (c, chunk) in indices.chunks(images_per_chunk).enumerate() {
        done += chunk.len();
        if c % world.size() != world.rank() {
            continue;
        }
        let batch = loader.load(split, chunk, None);
        let mut noise = stream(seed, Purpose::Evaluate, &[k as u64, c as u64]);
        let first = scores.len();
        model.score(
            &mut workspace,
            batch.x,
            batch.labels,
            batch.rows,
            k,
            &mut noise,
            &mut scores,
        )?;
        if let Some(m) = joint {
            let mut noise = stream(seed, Purpose::Evaluate, &[k as u64, c as u64, 1]);
            m.joint_scores(
                &mut workspace,
                batch.x,
                m.modality(batch.labels, batch.attributes),
                batch.rows,
                k,
                &mut noise,
                &mut joint_scores,
            )?;
        }
        if world.size() > 1 {
            for (i, (slot, s)) in all_scores[chunk[0]..]
                .iter_mut()
                .zip(&scores[first..])
                .enumerate()
            {
                let j = joint_scores
                    .get(first + i)
                    .map_or([0.0; 2], |j| [j.joint, j.label]);
                *slot = [s.reconstruction, s.kl, s.log_likelihood, j[0], j[1]];
            }
        }
        if stochastic {
            model.encode(
                &mut workspace,
                batch.x,
                batch.labels,
                batch.rows,
                &mut posterior,
            )?;
            accumulate_posterior_statistics(
                &posterior,
                latent,
                &mut sum_mean,
                &mut sum_mean_sq,
                &mut sum_kl,
            );
        }
        if let Some(m) = lower {
            m.encode_lower(&mut workspace, batch.x, batch.rows, &mut posterior)?;
            // Only the means: z1's prior is p(z1 | z2), so a KL to N(0, I) would mean nothing.
            accumulate_mean_statistics(
                &posterior,
                lower_latent,
                &mut lower_sum_mean,
                &mut lower_sum_mean_sq,
            );
        }
        if classifies {
            match joint {
                Some(m) => {
                    m.infer(&mut workspace, batch.x, batch.rows, &mut predicted)?;
                    let truth = m.modality(batch.labels, batch.attributes).values();
                    errors += mismatches(&predicted, truth);
                }
                None => {
                    model.classify(&mut workspace, batch.x, batch.rows, &mut predicted)?;
                    errors += mismatches(&predicted, batch.labels);
                }
            }
        }
        progress(done, split.len());
    }
    if world.size() > 1 {
        let mut flat: Vec<f64> = all_scores.iter().flatten().copied().collect();
        world.all_reduce_sum_f64(&mut flat)?;
        scores = flat
            .chunks_exact(5)
            .map(|s| ImageScore {
                reconstruction: s[0],
                kl: s[1],
                log_likelihood: s[2],
            })
            .collect();
        if joint.is_some() {
            joint_scores = flat
                .chunks_exact(5)
                .map(|s| JointScore {
                    joint: s[3],
                    label: s[4],
                })
                .collect();
        }
        let mut sums: Vec<f64> = [errors as f64]
            .into_iter()
            .chain(sum_mean.iter().copied())
            .chain(sum_mean_sq.iter().copied())
            .chain(sum_kl.iter().copied())
            .chain(lower_sum_mean.iter().copied())
            .chain(lower_sum_mean_sq.iter().copied())
            .collect();
        world.all_reduce_sum_f64(&mut sums)?;
        errors = sums[0] as usize;
        sum_mean.copy_from_slice(&sums[1..1 + latent]);
        sum_mean_sq.copy_from_slice(&sums[1 + latent..1 + 2 * latent]);
        sum_kl.copy_from_slice(&sums[1 + 2 * latent..1 + 3 * latent]);
        let lower_sums = &sums[1 + 3 * latent..];
        lower_sum_mean.copy_from_slice(&lower_sums[..lower_latent]);
        lower_sum_mean_sq.copy_from_slice(&lower_sums[lower_latent..]);
    }
    let mut evaluation = summarise(&scores, k);
    // A JMVAE of attributes reads each attribute of each image: its errors are per value.
    let read = split.len() * joint.map_or(1, |m| m.attributes().len().max(1));
    evaluation.classification_error = classifies.then(|| errors as f64 / read as f64);
    if joint.is_some() {
        let (mean, stderr) = mean_and_stderr(joint_scores.iter().map(|s| s.joint));
        evaluation.joint_log_likelihood = Some(mean);
        evaluation.joint_log_likelihood_stderr = Some(stderr);
        let (mean, stderr) = mean_and_stderr(joint_scores.iter().map(JointScore::conditional));
        evaluation.conditional_log_likelihood = Some(mean);
        evaluation.conditional_log_likelihood_stderr = Some(stderr);
    }
    if stochastic {
        let n = split.len() as f64;
        let variance = mean_variance(&sum_mean, &sum_mean_sq, n);
        evaluation.active_units = Some(active_units(&variance));
        evaluation.kl_per_dimension = Some(sum_kl.iter().map(|s| s / n).collect());
        evaluation.mean_variance_per_dimension = Some(variance);
    }
    if lower.is_some() {
        let variance = mean_variance(&lower_sum_mean, &lower_sum_mean_sq, split.len() as f64);
        evaluation.lower_active_units = Some(active_units(&variance));
        evaluation.lower_mean_variance_per_dimension = Some(variance);
    }
    Ok(evaluation)
}

/// Per dimension, the variance over `n` images of the posterior mean, from the sums of the
/// means and of their squares.
fn mean_variance(sum_mean: &[f64], sum_mean_sq: &[f64], n: f64) -> Vec<f64> {
    sum_mean
        .iter()
        .zip(sum_mean_sq)
        .map(|(s, s2)| (s2 / n - (s / n).powi(2)).max(0.0))
        .collect()
}

/// The dimensions whose posterior-mean variance is above `ACTIVE_UNIT_VARIANCE`.
fn active_units(variance: &[f64]) -> usize {
    variance
        .iter()
        .filter(|&&v| v > ACTIVE_UNIT_VARIANCE)
        .count()
}

/// How often `per_class` images generated for each class (prior draws z ~ N(0, I) decoded with
/// that label) are read as that class by the reference `classifier`; one fraction per class.
pub fn conditional_accuracy(
    model: &Model<f32>,
    classifier: &ReferenceClassifier<f32>,
    per_class: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    let classes = model.classes();
    if classes == 0 {
        return Err(Error::InvalidArgument(
            "generation by class needs a conditional model (cvae, m2 or jmvae); this one is unconditional"
                .into(),
        ));
    }
    let c = classifier.config();
    if c.classes != classes || c.image != model.config().image {
        return Err(Error::InvalidArgument(format!(
            "the classifier reads {} images in {} classes, the model makes {} images in {classes}",
            c.image,
            c.classes,
            model.config().image
        )));
    }
    if per_class == 0 {
        return Err(Error::InvalidArgument(
            "samples per class must be at least 1".into(),
        ));
    }
    let (mut ws, mut classifier_ws) = (VaeWorkspace::default(), ClassifierWorkspace::default());
    let (mut images, mut predicted) = (Vec::new(), Vec::new());
    let mut accuracy = Vec::with_capacity(classes);
    for label in (0..classes).map(|c| c as u8) {
        let mut correct = 0;
        for (chunk, first) in (0..per_class).step_by(MAX_IMAGES_PER_CHUNK).enumerate() {
            let n = MAX_IMAGES_PER_CHUNK.min(per_class - first);
            let mut rng = stream(seed, Purpose::Sample, &[label as u64, chunk as u64]);
            model.sample(&mut ws, n, &vec![label; n], &mut rng, &mut images)?;
            classifier.predict(&mut classifier_ws, &images, n, &mut predicted)?;
            correct += predicted.iter().filter(|&&p| p == label).count();
        }
        accuracy.push(correct as f64 / per_class as f64);
    }
    Ok(accuracy)
}

/// The mean of `values` and its standard error.
fn mean_and_stderr(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    let variance = values.map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, (variance / n).sqrt())
}

fn summarise(scores: &[ImageScore], k: usize) -> Evaluation {
    let n = scores.len() as f64;
    let mean = |f: fn(&ImageScore) -> f64| scores.iter().map(f).sum::<f64>() / n;
    let reconstruction = mean(|s| s.reconstruction);
    let kl = mean(|s| s.kl);
    let (log_likelihood, log_likelihood_stderr) =
        mean_and_stderr(scores.iter().map(|s| s.log_likelihood));
    Evaluation {
        elbo: -(reconstruction + kl),
        reconstruction,
        kl,
        log_likelihood,
        log_likelihood_stderr,
        iw_samples: k,
        images: scores.len(),
        classification_error: None,
        joint_log_likelihood: None,
        joint_log_likelihood_stderr: None,
        conditional_log_likelihood: None,
        conditional_log_likelihood_stderr: None,
        conditional_accuracy: None,
        kl_per_dimension: None,
        mean_variance_per_dimension: None,
        active_units: None,
        lower_active_units: None,
        lower_mean_variance_per_dimension: None,
    }
}
