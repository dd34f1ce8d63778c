//! The model built into the binary: a conditional VAE with a 2-D latent on MNIST, what
//! `vae serve` and `vae export-web` explore when no run directory is given.

use vae::checkpoint::RunBytes;
use vae::metrics::EpochMetrics;

/// Its run directory's files.
pub const MODEL: RunBytes<'static> = RunBytes {
    config: include_bytes!("../../assets/default-model/config.json"),
    weights: include_bytes!("../../assets/default-model/model.safetensors"),
};
const METRICS: &str = include_str!("../../assets/default-model/metrics.jsonl");

/// Where it comes from, in words.
pub const SOURCE: &str = "the built-in conditional MNIST model";

/// Its last epoch's numbers.
pub fn last_metrics() -> Option<EpochMetrics> {
    METRICS
        .lines()
        .map(serde_json::from_str::<EpochMetrics>)
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .and_then(|m| m.last().copied())
}
