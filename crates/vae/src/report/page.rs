//! `report.html` of a run: which figures it shows, drawn from the model, its test split and its
//! metrics, and the page written.

use super::{html, Figure, ReportInput};
use crate::checkpoint::METRICS_FILE;
use crate::config::RunConfig;
use crate::data::Split;
use crate::error::Result;
use crate::eval::Evaluation;
use crate::figures::{
    analogy, curves, interpolation, manifold, reconstructions, samples, scatter, Projection,
};
use crate::fs::atomic_write;
use crate::latent;
use crate::metrics::read_metrics;
use crate::model::Model;
use crate::render::png_bytes;
use std::path::Path;

/// `eval.json`: written by `vae eval` after scoring the full test split, read by the report.
pub const EVALUATION_FILE: &str = "eval.json";

/// Builds every figure of the run in `dir` (its model, trained `epoch` epochs, and its test split
/// `test` with the names of its labels) and writes the page to `out`: the training curves, samples,
/// reconstructions, the manifold and the latent scatter (a latent of 2 or more), analogies
/// (conditional models) and an interpolation, with `metrics.jsonl` and `eval.json` when present.
pub fn write(
    dir: &Path,
    out: &Path,
    config: &RunConfig,
    model: &Model<f32>,
    epoch: usize,
    test: &Split,
    class_names: &[String],
) -> Result<()> {
    // A run without metrics yet has an empty history; a metrics file that is there but cannot
    // be read (a pipe, corrupt lines) is an error, not a report without curves.
    let metrics_file = dir.join(METRICS_FILE);
    let metrics = if std::fs::symlink_metadata(&metrics_file).is_ok() {
        read_metrics(&metrics_file)?
    } else {
        Vec::new()
    };
    let evaluation: Option<Evaluation> =
        crate::fs::read_bounded(&dir.join(EVALUATION_FILE), crate::fs::JSON_LIMIT)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
    let png = |image: &image::DynamicImage| png_bytes(image);
    let mut figures = Vec::new();
    let adversarial = model.kind().is_adversarial();
    if !metrics.is_empty() {
        figures.push(Figure {
            title: "Training curves".into(),
            caption: if adversarial {
                "The discriminator's and the generator's losses per image on the training set (running mean over each epoch) and the test set (networks in evaluation mode).".into()
            } else {
                "ELBO per image on the training set (running mean over each epoch) and the test set, and its two terms.".into()
            },
            png: png(&curves(dir)?.into())?,
        });
    }
    figures.push(Figure {
        title: "Samples".into(),
        caption: if adversarial {
            "64 draws z ~ N(0, I), through the generator.".into()
        } else {
            "64 draws z ~ N(0, I), decoded to the mean of p(x|z).".into()
        },
        png: png(&samples(model, 64, None, config.train.seed, 8, 2)?)?,
    });
    if !model.kind().has_encoder() {
        // A GAN has no encoder: no reconstructions, scatter or interpolation between images.
        if model.latent() >= 2 {
            figures.push(Figure {
                title: "Manifold".into(),
                caption: "A 20 x 20 grid over latent dimensions 0 and 1, the others held at 0, spaced by the inverse Gaussian CDF, through the generator.".into(),
                png: png(&manifold(model, 20, (0, 1), None, 1)?)?,
            });
        }
        let page = html(&ReportInput {
            run: &dir.display().to_string(),
            config,
            epoch,
            metrics: &metrics,
            evaluation: evaluation.as_ref(),
            figures: &figures,
        });
        return atomic_write(out, page.as_bytes());
    }
    let first: Vec<usize> = (0..32.min(test.len())).collect();
    figures.push(Figure {
        title: "Reconstructions".into(),
        caption: "Test images (odd rows) above their reconstructions through the encoder's mean (even rows).".into(),
        png: png(&reconstructions(model, test, &first, 8, 2)?)?,
    });
    if model.latent() >= 2 {
        let what = if model.latent() == 2 {
            "the whole 2-D latent space"
        } else {
            "latent dimensions 0 and 1, the others held at 0"
        };
        figures.push(Figure {
            title: "Manifold".into(),
            caption: format!("A 20 x 20 grid over {what}, spaced by the inverse Gaussian CDF (Kingma & Welling 2013, Fig. 4)."),
            png: png(&manifold(model, 20, (0, 1), None, 1)?)?,
        });
        let projection = if model.latent() == 2 {
            Projection::Dims(0, 1)
        } else {
            Projection::Pca
        };
        figures.push(Figure {
            title: "Latent scatter".into(),
            caption: "Encoder means of the test set, coloured by label.".into(),
            png: png(&scatter(model, test, test.len(), class_names, projection)?.into())?,
        });
    }
    if model.classes() > 0 {
        let rows: Vec<usize> = (0..8.min(test.len())).collect();
        figures.push(Figure {
            title: "Analogies".into(),
            caption: "Each test image, then its encoding z ~ q(z|x,y) under its own label decoded with every label in turn: the same style, another class (Kingma et al. 2014, Fig. 1).".into(),
            png: png(&analogy(model, test, &rows, 2)?)?,
        });
    }
    // Interpolate from the first test image to the first one with another label.
    let other = (1..test.len())
        .find(|&i| test.labels[i] != test.labels[0])
        .unwrap_or(test.len().min(2) - 1);
    figures.push(Figure {
        title: "Interpolation".into(),
        caption: format!("Test image 0, ten points on the straight line between its encoding and that of test image {other}, then test image {other}."),
        png: png(&interpolation(model, test, 0, other, 10, latent::Path::Linear, 2)?)?,
    });
    let page = html(&ReportInput {
        run: &dir.display().to_string(),
        config,
        epoch,
        metrics: &metrics,
        evaluation: evaluation.as_ref(),
        figures: &figures,
    });
    atomic_write(out, page.as_bytes())
}
