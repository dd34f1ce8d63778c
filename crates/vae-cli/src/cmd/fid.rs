//! `vae fid`: the Fréchet distance of a model's samples to the test images in the reference
//! classifier's features, with its floor, kept as `fid.json` in the run directory.

use super::common::{dataset_for_model, open_model, thread_pool};
use crate::cli::FidArgs;
use anyhow::{bail, Context, Result};
use std::time::Instant;
use vae::frechet::{sharpness, Sharpness};
use vae::machine::Provenance;

/// What `fid.json` holds: the distance, its floor, and where they were measured.
#[derive(serde::Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    sharpness: &'a Sharpness,
    /// The model's training epochs.
    epoch: usize,
    /// The classifier's run directory, as given.
    classifier: String,
    /// What the number is and is not.
    note: String,
    machine: Provenance,
}

/// The file `vae fid` keeps in the model's run directory.
pub const FID_FILE: &str = "fid.json";

pub fn run(args: FidArgs) -> Result<()> {
    let pool = thread_pool(args.threads)?;
    let (config, model, epoch) = open_model(&args.model)?;
    let (classifier_config, classifier) = vae::checkpoint::load_classifier(&args.classifier)
        .with_context(|| format!("opening classifier {}", args.classifier.display()))?;
    if classifier_config.dataset != config.dataset && args.data.dataset.is_none() {
        bail!(
            "the classifier was trained on {} and the model on {}: the features must be those of the model's data set",
            classifier_config.dataset,
            config.dataset
        );
    }
    // Both sides are grey levels: generated images are means or sigmoid outputs.
    let dataset = dataset_for_model(&args.data, &config)?;
    let started = Instant::now();
    let result = pool.install(|| {
        sharpness(
            &model,
            &classifier,
            &dataset.test,
            &dataset.train,
            args.samples,
            args.seed,
        )
    })?;
    println!(
        "{} (epoch {epoch}) against {} test images, features of width {} from {}:",
        args.model.display(),
        result.samples,
        result.features,
        args.classifier.display()
    );
    println!(
        "  Fréchet distance {:10.3}   (lower is sharper; test vs training images: {:.3})",
        result.distance, result.floor
    );
    if let (Some(rebuilt), Some(test)) = (result.reconstruction_accuracy, result.test_accuracy) {
        println!(
            "  reconstructions read as their label: {:.2}%   (the test images themselves: {:.2}%)",
            100.0 * rebuilt,
            100.0 * test
        );
    }
    println!(
        "  in {:.1} s; our reference classifier's features, not Inception's: comparable between our models on this data set only",
        started.elapsed().as_secs_f64()
    );
    let record = Record {
        sharpness: &result,
        epoch,
        classifier: args.classifier.display().to_string(),
        note: format!(
            "Fréchet distance in the penultimate layer of the reference classifier ({} trained on this data set), not the Inception-based FID",
            if classifier_config.classifier.layers.iter().any(|l| l.reads_image()) {
                "a convolutional network"
            } else {
                "an MLP"
            }
        ),
        machine: Provenance::now(pool.current_num_threads()),
    };
    let json = serde_json::to_vec_pretty(&record)?;
    vae::fs::atomic_write(&args.model.join(FID_FILE), &json)
        .map_err(|e| anyhow::anyhow!("the result above could not be saved: {e}"))?;
    Ok(())
}
