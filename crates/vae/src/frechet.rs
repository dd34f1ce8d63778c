//! A sharpness number: the Fréchet distance between generated and real images in the feature
//! space of our reference classifier (its penultimate layer), in the manner of Heusel et al.
//! 2017's FID. It is **not** the Inception-based FID of the literature: the features are those of
//! a small network (an MLP, or a few convolutions and dense layers) trained on the data set
//! itself, so the number compares our models with one another on one data set and one
//! classifier, never with published FIDs.
//!
//! Each set of features is summarised by its mean and covariance, and the distance between the two
//! Gaussians is `‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½)`. The test split's own distance to
//! as many training images is the floor a perfect generator would reach.
//!
//! Sharpness alone rewards a model that ignores its input; for a model with an encoder the same
//! classifier also reads its reconstructions of the test images, and the fraction it labels as
//! the image's own label says whether they stay recognisable.

use crate::config::ModelConfig;
use crate::data::Split;
use crate::error::{Error, Result};
use crate::kernels::convert::append_grey_levels;
use crate::kernels::rng::{stream, Purpose};
use crate::model::{ClassifierWorkspace, Generative, Model, ReferenceClassifier, VaeWorkspace};
use nalgebra::{DMatrix, DVector};

/// Images classified or drawn per pass.
const CHUNK: usize = 500;

/// The most samples a distance may ask for.
pub const MAX_SAMPLES: usize = 100_000;

/// The mean and covariance (divided by n − 1, as `numpy.cov`) of a set of feature vectors.
#[derive(Clone, Debug)]
pub struct FeatureMoments {
    /// How many vectors.
    pub count: usize,
    /// Their mean.
    pub mean: DVector<f64>,
    /// Their covariance.
    pub covariance: DMatrix<f64>,
}

impl FeatureMoments {
    /// The moments of `features`, `[count, dim]` row-major.
    pub fn of(features: &[f32], dim: usize) -> Result<Self> {
        let count = features.len() / dim.max(1);
        if dim == 0 || count < 2 || count * dim != features.len() {
            return Err(Error::InvalidArgument(format!(
                "moments need at least 2 feature vectors of a whole width; got {} values of width {dim}",
                features.len()
            )));
        }
        let mut x = DMatrix::<f64>::from_fn(count, dim, |r, c| f64::from(features[r * dim + c]));
        let mean = DVector::from_fn(dim, |c, _| x.column(c).sum() / count as f64);
        for (c, mut column) in x.column_iter_mut().enumerate() {
            column.add_scalar_mut(-mean[c]);
        }
        let covariance = x.tr_mul(&x) / (count - 1) as f64;
        Ok(FeatureMoments {
            count,
            mean,
            covariance,
        })
    }
}

/// The Fréchet distance between the Gaussians of `a` and `b`: `‖μa − μb‖² + Tr(Σa) + Tr(Σb) −
/// 2 Tr((Σa^½ Σb Σa^½)^½)`, the square roots through symmetric eigendecompositions (negative
/// eigenvalues from rounding taken as 0).
pub fn distance(a: &FeatureMoments, b: &FeatureMoments) -> Result<f64> {
    if a.mean.len() != b.mean.len() {
        return Err(Error::shape("feature width", a.mean.len(), b.mean.len()));
    }
    let diff = &a.mean - &b.mean;
    let root_a = symmetric_sqrt(&a.covariance);
    let middle = &root_a * &b.covariance * &root_a;
    let middle = (&middle + middle.transpose()) * 0.5;
    let cross: f64 = middle
        .symmetric_eigenvalues()
        .iter()
        .map(|&l| l.max(0.0).sqrt())
        .sum();
    let d = diff.dot(&diff) + a.covariance.trace() + b.covariance.trace() - 2.0 * cross;
    if !d.is_finite() {
        return Err(Error::InvalidArgument(
            "the Fréchet distance is not a finite number: the features hold NaN or infinities"
                .into(),
        ));
    }
    Ok(d.max(0.0))
}

/// `S^½` of a symmetric positive semi-definite `S`.
fn symmetric_sqrt(s: &DMatrix<f64>) -> DMatrix<f64> {
    let symmetric = (s + s.transpose()) * 0.5;
    let eigen = symmetric.symmetric_eigen();
    let roots = eigen.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eigen.eigenvectors * DMatrix::from_diagonal(&roots) * eigen.eigenvectors.transpose()
}

/// What `sharpness` measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sharpness {
    /// The Fréchet distance between `samples` generated images and as many test images.
    pub distance: f64,
    /// The distance between those test images and as many training images: what real images
    /// score.
    pub floor: f64,
    /// Images on each side.
    pub samples: usize,
    /// The width of the classifier's feature space.
    pub features: usize,
    /// The seed of the generated images' draws.
    pub seed: u64,
    /// For a model with an encoder: the fraction of its reconstructions (through the encoder's
    /// mean) of those test images that the classifier labels as the image's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconstruction_accuracy: Option<f64>,
    /// The fraction of those test images themselves it labels correctly: what the
    /// reconstructions' accuracy is measured against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
}

/// The features of `images [n, pixels]` (grey levels in [0, 1]), `[n, width]`.
fn features_of(
    classifier: &ReferenceClassifier<f32>,
    images: &[f32],
    pixels: usize,
) -> Result<(Vec<f32>, usize)> {
    let mut ws = ClassifierWorkspace::default();
    let mut out = Vec::new();
    let mut chunk = Vec::new();
    let mut width = 0;
    for rows in images.chunks(CHUNK * pixels) {
        width = classifier.features(&mut ws, rows, rows.len() / pixels, &mut chunk)?;
        out.extend_from_slice(&chunk);
    }
    Ok((out, width))
}

/// The fraction of `images [n, pixels]` that `classifier` labels as `labels` says.
fn accuracy(
    classifier: &ReferenceClassifier<f32>,
    images: &[f32],
    labels: &[u8],
    pixels: usize,
) -> Result<f64> {
    let mut ws = ClassifierWorkspace::default();
    let mut predicted = Vec::new();
    let mut right = 0usize;
    for (rows, truth) in images.chunks(CHUNK * pixels).zip(labels.chunks(CHUNK)) {
        classifier.predict(&mut ws, rows, truth.len(), &mut predicted)?;
        right += predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    }
    Ok(right as f64 / labels.len().max(1) as f64)
}

/// `model`'s reconstructions of `images [n, pixels]` through the encoder's mean.
fn reconstructions(model: &Model<f32>, images: &[f32], pixels: usize) -> Result<Vec<f32>> {
    let mut ws = VaeWorkspace::default();
    let mut out = Vec::with_capacity(images.len());
    let mut chunk = Vec::new();
    for rows in images.chunks(CHUNK * pixels) {
        model.reconstruct(&mut ws, rows, &[], rows.len() / pixels, &mut chunk)?;
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The first `n` images of `split` as grey levels.
fn grey(split: &Split, n: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(n * split.shape.len());
    for i in 0..n {
        append_grey_levels(split.image(i), &mut out);
    }
    out
}

/// The Fréchet distance of `model`'s samples (prior draws from the stream `(seed, Sample)`) to
/// the first `samples` test images, in `classifier`'s features, with the floor: the same test
/// images against the first `samples` training images; for a model with an encoder, how many of
/// its reconstructions of those test images the classifier reads as their labels.
pub fn sharpness(
    model: &Model<f32>,
    classifier: &ReferenceClassifier<f32>,
    test: &Split,
    train: &Split,
    samples: usize,
    seed: u64,
) -> Result<Sharpness> {
    let config: &ModelConfig = model.config();
    if classifier.config().image != config.image || test.shape != config.image {
        return Err(Error::InvalidArgument(format!(
            "the classifier reads {} images, the model draws {} and the test split holds {}",
            classifier.config().image,
            config.image,
            test.shape
        )));
    }
    if !(2..=MAX_SAMPLES).contains(&samples) || samples > test.len() || samples > train.len() {
        return Err(Error::InvalidArgument(format!(
            "samples must lie in 2..={} and within both splits ({} test, {} training images); got {samples}",
            MAX_SAMPLES,
            test.len(),
            train.len()
        )));
    }
    if model.classes() > 0 {
        return Err(Error::InvalidArgument(
            "the Fréchet distance is measured for unconditional models".into(),
        ));
    }
    let pixels = config.image.len();
    let mut generated = Vec::with_capacity(samples * pixels);
    let mut ws = VaeWorkspace::default();
    let mut rng = stream(seed, Purpose::Sample, &[]);
    let mut chunk = Vec::new();
    let mut left = samples;
    while left > 0 {
        let n = left.min(CHUNK);
        model.sample(&mut ws, n, &[], &mut rng, &mut chunk)?;
        generated.extend_from_slice(&chunk);
        left -= n;
    }
    let (fake, width) = features_of(classifier, &generated, pixels)?;
    let test_images = grey(test, samples);
    let labels = test.labels.get(..samples).unwrap_or_default();
    let (reconstruction_accuracy, test_accuracy) =
        if config.kind.has_encoder() && !labels.is_empty() {
            let rebuilt = reconstructions(model, &test_images, pixels)?;
            (
                Some(accuracy(classifier, &rebuilt, labels, pixels)?),
                Some(accuracy(classifier, &test_images, labels, pixels)?),
            )
        } else {
            (None, None)
        };
    let (real, _) = features_of(classifier, &test_images, pixels)?;
    let (train_features, _) = features_of(classifier, &grey(train, samples), pixels)?;
    let real = FeatureMoments::of(&real, width)?;
    Ok(Sharpness {
        distance: distance(&FeatureMoments::of(&fake, width)?, &real)?,
        floor: distance(&FeatureMoments::of(&train_features, width)?, &real)?,
        samples,
        features: width,
        seed,
        reconstruction_accuracy,
        test_accuracy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two Gaussians with known moments: the distance against its closed form, written with
    /// diagonal covariances where every square root is explicit.
    #[test]
    fn matches_the_closed_form_for_diagonal_gaussians() {
        let moments = |mean: &[f64], var: &[f64]| FeatureMoments {
            count: 10,
            mean: DVector::from_column_slice(mean),
            covariance: DMatrix::from_diagonal(&DVector::from_column_slice(var)),
        };
        let a = moments(&[0.0, 1.0, -2.0], &[1.0, 4.0, 0.25]);
        let b = moments(&[1.0, 1.0, 0.0], &[9.0, 1.0, 0.25]);
        // ‖μa − μb‖² = 1 + 0 + 4; Σ (σa − σb)² = (1 − 3)² + (2 − 1)² + 0.
        let expected = 5.0 + 4.0 + 1.0;
        assert!((distance(&a, &b).unwrap() - expected).abs() < 1e-12);
        assert!(distance(&a, &a).unwrap().abs() < 1e-12);
    }

    /// A rotated (non-diagonal) pair: the distance does not depend on the basis.
    #[test]
    fn is_invariant_under_a_rotation() {
        let (c, s) = (0.6f64, 0.8f64);
        let r = DMatrix::from_row_slice(2, 2, &[c, -s, s, c]);
        let da = DMatrix::from_diagonal(&DVector::from_column_slice(&[2.0, 0.5]));
        let db = DMatrix::from_diagonal(&DVector::from_column_slice(&[1.0, 3.0]));
        let rotate = |m: &DMatrix<f64>| &r * m * r.transpose();
        let plain = distance(
            &FeatureMoments {
                count: 3,
                mean: DVector::from_column_slice(&[1.0, 0.0]),
                covariance: da.clone(),
            },
            &FeatureMoments {
                count: 3,
                mean: DVector::from_column_slice(&[0.0, 2.0]),
                covariance: db.clone(),
            },
        )
        .unwrap();
        let rotated = distance(
            &FeatureMoments {
                count: 3,
                mean: &r * DVector::from_column_slice(&[1.0, 0.0]),
                covariance: rotate(&da),
            },
            &FeatureMoments {
                count: 3,
                mean: &r * DVector::from_column_slice(&[0.0, 2.0]),
                covariance: rotate(&db),
            },
        )
        .unwrap();
        assert!((plain - rotated).abs() < 1e-10, "{plain} vs {rotated}");
    }

    /// The moments of a handful of vectors against numpy.cov's definition.
    #[test]
    fn moments_divide_by_n_minus_one() {
        let f = [1.0f32, 2.0, 3.0, 6.0, 5.0, 1.0];
        let m = FeatureMoments::of(&f, 2).unwrap();
        assert_eq!(m.mean.as_slice(), &[3.0, 3.0]);
        // x: 1, 3, 5 → var 4; y: 2, 6, 1 → var 7; cov(x, y) = ((−2)(−1) + 0·3 + 2·(−2)) / 2 = −1.
        assert!((m.covariance[(0, 0)] - 4.0).abs() < 1e-12);
        assert!((m.covariance[(1, 1)] - 7.0).abs() < 1e-12);
        assert!((m.covariance[(0, 1)] + 1.0).abs() < 1e-12);
        assert!(FeatureMoments::of(&f[..2], 2).is_err());
    }
}
