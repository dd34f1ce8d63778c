//! A run directory: `config.json`, `model.safetensors` (weights by module path, `[out, in]` linear
//! weights as PyTorch stores them), and for resuming `optimizer.safetensors` + `state.json`.
//!
//! A training checkpoint is saved as one unit through a small journal (`commit`): a crash or a
//! failed write at any instant leaves the previous complete set or the new one, and `recover`
//! (run by every save and resume) finishes or discards an interrupted save. The epoch recorded in
//! each file's metadata still lets a resume check that the set is consistent.

mod journal;
mod load;
mod tensors;

use journal::commit;
pub use journal::recover;
pub use load::*;
use tensors::{checkpoint_err, epoch_metadata, safetensors_bytes};

use crate::config::{ClassifierRunConfig, RunConfig};
use crate::error::Result;
use crate::fs::atomic_write;
use crate::model::{Model, ReferenceClassifier};
use crate::nn::Parameters;
use crate::objective::Trainable;
use crate::optim::Optimizer;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The run's configuration.
pub const CONFIG_FILE: &str = "config.json";
/// The model's weights, in PyTorch's layouts and module paths.
pub const MODEL_FILE: &str = "model.safetensors";
/// The optimizer's moments and step.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// Where training stands: epochs done, optimizer steps.
pub const STATE_FILE: &str = "state.json";
/// One JSON line per epoch's losses.
pub const METRICS_FILE: &str = "metrics.jsonl";

/// Where training stands, saved beside the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer updates made (by the first parameter group where there are several).
    pub optimizer_steps: u64,
    /// The updates made by each parameter group, where they differ (a VAE-GAN under the
    /// equilibrium rule holds a network back on some batches); absent where every group made
    /// `optimizer_steps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_steps: Option<Vec<u64>>,
    /// How the random streams are derived; nothing else is needed to continue them.
    pub rng: String,
}

impl TrainingState {
    /// The state after `epoch` epochs and `optimizer_steps` updates.
    pub fn new(epoch: usize, optimizer_steps: u64) -> Self {
        TrainingState {
            epoch,
            optimizer_steps,
            group_steps: None,
            rng: "counter-based: every stream is named by (seed, purpose, epoch, batch)".into(),
        }
    }
}

/// A safetensors header (JSON: names, shapes, offsets) above this is refused before it is parsed:
/// ours take about 100 bytes per tensor, and a 95 MB header cost 1.4 GB to parse.
pub(super) const MAX_SAFETENSORS_HEADER: u64 = 1 << 20;
/// The largest safetensors file read: Adam's two moments of the largest model allowed.
pub(super) const MAX_SAFETENSORS_FILE: u64 =
    2 * 4 * crate::config::MAX_PARAMETERS as u64 + MAX_SAFETENSORS_HEADER + 8;

/// Saves configuration, weights and training state as one unit: whatever the instant of a crash
/// or the point of a write failure, the directory afterwards holds the previous complete
/// checkpoint or the new one (see `commit`).
pub fn save(
    dir: &Path,
    config: &RunConfig,
    model: &Model<f32>,
    optimizer: &Optimizer<f32>,
    epoch: usize,
) -> Result<()> {
    let config_json =
        serde_json::to_vec_pretty(config).map_err(|e| checkpoint_err(dir, e.to_string()))?;
    let weights = parameter_bytes(dir, model.parameters(), epoch)?;
    let state: Vec<(String, Vec<usize>, &[f32])> = optimizer
        .state()
        .into_iter()
        .map(|(name, values)| (name, vec![values.len()], values))
        .collect();
    let moments = safetensors_bytes(&dir.join(OPTIMIZER_FILE), &state, epoch_metadata(epoch))?;
    let mut training = TrainingState::new(epoch, optimizer.steps());
    let group_steps = optimizer.group_steps();
    if group_steps.iter().any(|&s| s != training.optimizer_steps) {
        training.group_steps = Some(group_steps);
    }
    let training =
        serde_json::to_vec_pretty(&training).map_err(|e| checkpoint_err(dir, e.to_string()))?;
    commit(
        dir,
        &[
            (CONFIG_FILE, config_json),
            (MODEL_FILE, weights),
            (OPTIMIZER_FILE, moments),
            (STATE_FILE, training),
        ],
    )
}

/// Saves `config.json` and `model.safetensors` only (an exported model, no resume state).
pub fn save_model(dir: &Path, config: &RunConfig, model: &Model<f32>, epoch: usize) -> Result<()> {
    save_parameters(dir, config, model.parameters(), epoch)
}

/// Saves a reference classifier: `config.json` and `model.safetensors`.
pub fn save_classifier(
    dir: &Path,
    config: &ClassifierRunConfig,
    classifier: &ReferenceClassifier<f32>,
    epoch: usize,
) -> Result<()> {
    save_parameters(dir, config, classifier.parameters(), epoch)
}

fn save_parameters(
    dir: &Path,
    config: &impl Serialize,
    params: &Parameters<f32>,
    epoch: usize,
) -> Result<()> {
    let json = serde_json::to_vec_pretty(config).map_err(|e| checkpoint_err(dir, e.to_string()))?;
    atomic_write(&dir.join(CONFIG_FILE), &json)?;
    atomic_write(&dir.join(MODEL_FILE), &parameter_bytes(dir, params, epoch)?)
}

/// The parameters as safetensors bytes, named by module path.
fn parameter_bytes(dir: &Path, params: &Parameters<f32>, epoch: usize) -> Result<Vec<u8>> {
    let tensors: Vec<(String, Vec<usize>, &[f32])> = params
        .entries()
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                e.shape.clone(),
                &params.values()[e.range.clone()],
            )
        })
        .collect();
    safetensors_bytes(&dir.join(MODEL_FILE), &tensors, epoch_metadata(epoch))
}
