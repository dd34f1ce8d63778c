//! `metrics.jsonl`: one line per epoch, written by training and read by plots and reports.

use crate::error::{Error, Result};
use crate::train::EpochReport;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One epoch's numbers, per image, in nats (ELBO values are negative; the loss is −ELBO).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    /// The training ELBO per image.
    #[serde(default = "not_a_number", skip_serializing_if = "is_nan")]
    pub train_elbo: f64,
    /// Its reconstruction term, E_q[log p(x | z)], negated (a VAE-GAN's error in its
    /// discriminator's features, ½ ‖Dis_l(x̃) − Dis_l(x)‖²).
    #[serde(default = "not_a_number", skip_serializing_if = "is_nan")]
    pub train_reconstruction: f64,
    /// Its KL term.
    #[serde(default = "not_a_number", skip_serializing_if = "is_nan")]
    pub train_kl: f64,
    /// The test ELBO per image.
    #[serde(default = "not_a_number", skip_serializing_if = "is_nan")]
    pub test_elbo: f64,
    /// Its reconstruction term, negated.
    #[serde(default = "not_a_number", skip_serializing_if = "is_nan")]
    pub test_reconstruction: f64,
    /// Its KL term.
    #[serde(default = "not_a_number", skip_serializing_if = "is_nan")]
    pub test_kl: f64,
    /// Seconds of the training pass.
    pub train_seconds: f64,
    /// Training images per second.
    pub images_per_second: f64,
    /// M2: the classifier's test error, a fraction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_error: Option<f64>,
    /// What training minimised, per image (the weighted or clamped KL, the IWAE bound): beside
    /// `train_elbo`, so runs with different objectives stay comparable. Absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_objective: Option<f64>,
    /// A GAN's discriminator loss per image over the training pass, and on the test split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_discriminator: Option<f64>,
    /// A GAN's generator loss per image over the training pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_generator: Option<f64>,
    /// The discriminator's loss on the test split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_discriminator: Option<f64>,
    /// The generator's loss against the discriminator, with the test split's batches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_generator: Option<f64>,
    /// Batches of the training pass on which the discriminator sat out (a VAE-GAN's
    /// equilibrium rule); absent where it stepped on every batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discriminator_held_back: Option<usize>,
    /// Batches on which the generator (a VAE-GAN's decoder) sat out; absent where none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_held_back: Option<usize>,
}

/// A model without an ELBO (a GAN) leaves its ELBO fields out of the file; they read back as
/// NaN.
fn not_a_number() -> f64 {
    f64::NAN
}

fn is_nan(value: &f64) -> bool {
    value.is_nan()
}

impl From<&EpochReport> for EpochMetrics {
    fn from(r: &EpochReport) -> Self {
        if r.adversarial {
            let (train_d, train_g) = r.train.adversarial_per_image();
            let (test_d, test_g) = r.test.adversarial_per_image();
            // A VAE-GAN's encoder has a KL and a reconstruction error (in the discriminator's
            // features, so no ELBO of the pixels); a GAN has neither.
            let encoded = |terms: &crate::loss_terms::LossTerms, value: f64| {
                if terms.kl > 0.0 {
                    value
                } else {
                    f64::NAN
                }
            };
            return EpochMetrics {
                epoch: r.epoch,
                train_elbo: f64::NAN,
                train_reconstruction: encoded(&r.train, r.train.reconstruction_per_image()),
                train_kl: encoded(&r.train, r.train.kl_per_image()),
                test_elbo: f64::NAN,
                test_reconstruction: encoded(&r.test, r.test.reconstruction_per_image()),
                test_kl: encoded(&r.test, r.test.kl_per_image()),
                train_seconds: r.train_seconds,
                images_per_second: r.images_per_second,
                test_error: None,
                train_objective: None,
                train_discriminator: Some(train_d),
                train_generator: Some(train_g),
                test_discriminator: Some(test_d),
                test_generator: Some(test_g),
                discriminator_held_back: Some(r.train.held_back[0]).filter(|&n| n > 0),
                generator_held_back: Some(r.train.held_back[1]).filter(|&n| n > 0),
            };
        }
        EpochMetrics {
            epoch: r.epoch,
            train_elbo: -r.train.negative_elbo_per_image(),
            train_reconstruction: r.train.reconstruction_per_image(),
            train_kl: r.train.kl_per_image(),
            test_elbo: -r.test.negative_elbo_per_image(),
            test_reconstruction: r.test.reconstruction_per_image(),
            test_kl: r.test.kl_per_image(),
            train_seconds: r.train_seconds,
            images_per_second: r.images_per_second,
            test_error: r.test.error_rate(),
            train_objective: Some(r.train.objective_per_image()),
            train_discriminator: None,
            train_generator: None,
            test_discriminator: None,
            test_generator: None,
            discriminator_held_back: None,
            generator_held_back: None,
        }
    }
}

/// Reads every line of a metrics file; a malformed line is an error naming its number.
pub fn read_metrics(path: &Path) -> Result<Vec<EpochMetrics>> {
    let bytes = crate::fs::read_bounded(path, crate::fs::LOG_LIMIT)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::bad_file(path, "not UTF-8 text"))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| Error::bad_file(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// The lines as written to `metrics.jsonl`.
pub fn to_jsonl(metrics: &[EpochMetrics]) -> String {
    metrics
        .iter()
        .filter_map(|m| serde_json::to_string(m).ok())
        .map(|line| line + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resumed run reads its earlier lines back and writes them again: each number must come
    /// back as the same f64, so the lines stay byte for byte what the first run wrote. These
    /// values are among those a parser that is only correct to within one ulp returns changed.
    #[test]
    fn lines_read_back_are_written_unchanged() {
        let line = r#"{"epoch":3,"train_elbo":-100.47215172171107,"train_seconds":231.40097516489666,"images_per_second":98.78108702314461}"#;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("metrics.jsonl");
        std::fs::write(&path, format!("{line}\n")).expect("write");
        let metrics = read_metrics(&path).expect("metrics");
        assert_eq!(
            metrics[0].train_elbo.to_bits(),
            (-100.47215172171107f64).to_bits()
        );
        assert_eq!(to_jsonl(&metrics), format!("{line}\n"));
    }

    /// The batches a network sat out appear in a GAN's line where there were any.
    #[test]
    fn held_back_batches_are_written_where_there_were_any() {
        let terms = |held_back| crate::loss_terms::LossTerms {
            images: 10,
            discriminator: 7.0,
            generator: 9.0,
            held_back,
            ..Default::default()
        };
        let line = |held_back| {
            let report = EpochReport {
                epoch: 1,
                train: terms(held_back),
                test: terms([0, 0]),
                train_seconds: 1.0,
                images_per_second: 10.0,
                adversarial: true,
            };
            to_jsonl(&[EpochMetrics::from(&report)])
        };
        let held = line([3, 0]);
        assert!(held.contains(r#""discriminator_held_back":3"#), "{held}");
        assert!(!held.contains("generator_held_back"), "{held}");
        assert!(!line([0, 0]).contains("held_back"));
    }
}
