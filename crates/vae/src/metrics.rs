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
    pub train_elbo: f64,
    /// Its reconstruction term, E_q[log p(x | z)], negated.
    pub train_reconstruction: f64,
    /// Its KL term.
    pub train_kl: f64,
    /// The test ELBO per image.
    pub test_elbo: f64,
    /// Its reconstruction term, negated.
    pub test_reconstruction: f64,
    /// Its KL term.
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
}

impl From<&EpochReport> for EpochMetrics {
    fn from(r: &EpochReport) -> Self {
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
