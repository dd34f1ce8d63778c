//! Vector arithmetic on latent points (Radford et al. 2016, Fig. 7): the mean latent of a few
//! images of each of three classes A, B and C, and A − B + C decoded, with small perturbations
//! of it. A model with an encoder takes its points from test images of each label (the means of
//! q(z | x)); a GAN, which has none, from prior draws the reference classifier reads as each class.

use super::{check_picture, decode, encode, grid};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::kernels::rng::{stream, Purpose, Rng};
use crate::model::{ClassifierWorkspace, Generative, Model, ReferenceClassifier, VaeWorkspace};
use crate::render::tile;
use image::DynamicImage;
use rand::Rng as _;

/// Prior draws read by the classifier before a class is given up as never drawn.
const MAX_DRAWS: usize = 20_000;

/// Perturbed versions of A − B + C shown beside it.
const VARIATIONS: usize = 8;

/// The half-width of the uniform noise added to A − B + C for its variations (their ±0.25).
const NOISE: f32 = 0.25;

/// Where the latent points of each class come from.
pub enum Exemplars<'a> {
    /// Test images with each label, through the encoder's mean.
    Encoded(&'a Split),
    /// Prior draws, assigned to classes by a reference classifier reading their images.
    Classified(&'a ReferenceClassifier<f32>),
}

/// The figure: a row per class A, B, C (the decoded mean of its `average` exemplars, then the
/// exemplars themselves) and a last row with A − B + C decoded, then its variations with uniform
/// noise of ±0.25 on every coordinate. Draws come from the stream `(seed, Sample)`.
pub fn arithmetic(
    model: &Model<f32>,
    exemplars: Exemplars<'_>,
    classes: [u8; 3],
    average: usize,
    seed: u64,
    scale: u32,
) -> Result<DynamicImage> {
    if average == 0 || average > VARIATIONS {
        return Err(Error::InvalidArgument(format!(
            "average between 1 and {VARIATIONS} exemplars per class, not {average}"
        )));
    }
    if model.classes() > 0 {
        return Err(Error::InvalidArgument(
            "latent arithmetic is drawn for unconditional models".into(),
        ));
    }
    let columns = 1 + VARIATIONS;
    check_picture(model, 4 * columns, scale)?;
    let latent = model.latent();
    let mut rng = stream(seed, Purpose::Sample, &[]);
    let points = match exemplars {
        Exemplars::Encoded(split) => encoded(model, split, classes, average)?,
        Exemplars::Classified(classifier) => {
            classified(model, classifier, classes, average, &mut rng)?
        }
    };
    // points: for each class, `average` latent points.
    let mean = |c: usize| -> Vec<f32> {
        let mut m = vec![0.0f32; latent];
        for p in points[c].chunks_exact(latent) {
            for (a, &v) in m.iter_mut().zip(p) {
                *a += v / average as f32;
            }
        }
        m
    };
    let means: Vec<Vec<f32>> = (0..3).map(mean).collect();
    let result: Vec<f32> = (0..latent)
        .map(|i| means[0][i] - means[1][i] + means[2][i])
        .collect();
    let mut z = Vec::with_capacity(4 * columns * latent);
    for c in 0..3 {
        z.extend_from_slice(&means[c]);
        z.extend_from_slice(&points[c]);
        // Rows are padded with the mean where fewer exemplars than columns are averaged.
        for _ in average..VARIATIONS {
            z.extend_from_slice(&means[c]);
        }
    }
    z.extend_from_slice(&result);
    for _ in 0..VARIATIONS {
        z.extend(result.iter().map(|&v| v + rng.gen_range(-NOISE..NOISE)));
    }
    let images = decode(model, &z, None)?;
    tile(&images, model.config().image, grid(columns, scale))
}

/// The encoder's means of the first `average` test images with each label.
fn encoded(
    model: &Model<f32>,
    split: &Split,
    classes: [u8; 3],
    average: usize,
) -> Result<Vec<Vec<f32>>> {
    classes
        .iter()
        .map(|&class| {
            let chosen: Vec<usize> = (0..split.len())
                .filter(|&i| split.labels.get(i) == Some(&class))
                .take(average)
                .collect();
            if chosen.len() < average {
                return Err(Error::InvalidArgument(format!(
                    "the test split has {} images labelled {class}; {average} are averaged",
                    chosen.len()
                )));
            }
            encode(model, split, &chosen)
        })
        .collect()
}

/// The first `average` prior draws the classifier reads as each class.
fn classified(
    model: &Model<f32>,
    classifier: &ReferenceClassifier<f32>,
    classes: [u8; 3],
    average: usize,
    rng: &mut Rng,
) -> Result<Vec<Vec<f32>>> {
    if classifier.config().image != model.config().image {
        return Err(Error::InvalidArgument(format!(
            "the classifier reads {} images and the model draws {}",
            classifier.config().image,
            model.config().image
        )));
    }
    if let Some(&bad) = classes
        .iter()
        .find(|&&c| usize::from(c) >= classifier.config().classes)
    {
        return Err(Error::InvalidArgument(format!(
            "class {bad} is beyond the classifier's {} classes",
            classifier.config().classes
        )));
    }
    let latent = model.latent();
    let mut points: Vec<Vec<f32>> = vec![Vec::new(); 3];
    let (mut ws, mut cws) = (VaeWorkspace::default(), ClassifierWorkspace::default());
    let (mut images, mut predicted) = (Vec::new(), Vec::new());
    let batch = 500;
    let mut drawn = 0;
    while points.iter().any(|p| p.len() < average * latent) {
        if drawn >= MAX_DRAWS {
            return Err(Error::InvalidArgument(format!(
                "of {MAX_DRAWS} prior draws the classifier read fewer than {average} as each of the classes {classes:?}"
            )));
        }
        let mut z = vec![0.0f32; batch * latent];
        crate::kernels::rng::fill_standard_normal(rng, &mut z);
        model.decode(&mut ws, &z, &[], batch, &mut images)?;
        classifier.predict(&mut cws, &images, batch, &mut predicted)?;
        for (row, &label) in predicted.iter().enumerate() {
            for (c, &class) in classes.iter().enumerate() {
                if label == class && points[c].len() < average * latent {
                    points[c].extend_from_slice(&z[row * latent..][..latent]);
                }
            }
        }
        drawn += batch;
    }
    Ok(points)
}
