//! A run directory: `config.json`, `model.safetensors` (weights by module path, `[out, in]` linear
//! weights as PyTorch stores them), and for resuming `optimizer.safetensors` + `state.json`.
//!
//! A training checkpoint is saved as one unit through a small journal (`commit`): a crash or a
//! failed write at any instant leaves the previous complete set or the new one, and `recover`
//! (run by every save and resume) finishes or discards an interrupted save. The epoch recorded in
//! each file's metadata still lets a resume check that the set is consistent.

use crate::config::{ClassifierRunConfig, Features, RunConfig};
use crate::error::{Error, Result};
use crate::fs::sha256_hex;
use crate::fs::{atomic_write, fault_point, sync_dir};
use crate::kernels::reduce::all_finite;
use crate::model::{Model, ReferenceClassifier};
use crate::nn::Parameters;
use crate::objective::Trainable;
use crate::optim::Optimizer;
use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
    /// Optimizer updates made.
    pub optimizer_steps: u64,
    /// How the random streams are derived; nothing else is needed to continue them.
    pub rng: String,
}

impl TrainingState {
    /// The state after `epoch` epochs and `optimizer_steps` updates.
    pub fn new(epoch: usize, optimizer_steps: u64) -> Self {
        TrainingState {
            epoch,
            optimizer_steps,
            rng: "counter-based: every stream is named by (seed, purpose, epoch, batch)".into(),
        }
    }
}

/// A safetensors header (JSON: names, shapes, offsets) above this is refused before it is parsed:
/// ours take about 100 bytes per tensor, and a 95 MB header cost 1.4 GB to parse.
const MAX_SAFETENSORS_HEADER: u64 = 1 << 20;
/// The largest safetensors file read: Adam's two moments of the largest model allowed.
const MAX_SAFETENSORS_FILE: u64 =
    2 * 4 * crate::config::MAX_PARAMETERS as u64 + MAX_SAFETENSORS_HEADER + 8;

/// A JSON file of the run directory.
fn read(path: &Path) -> Result<Vec<u8>> {
    crate::fs::read_bounded(path, crate::fs::JSON_LIMIT)
}

fn check_header_length(bytes: &[u8], path: &Path) -> Result<()> {
    let length = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| checkpoint_err(path, "not a safetensors file: shorter than 8 bytes"))?;
    if length > MAX_SAFETENSORS_HEADER {
        return Err(checkpoint_err(
            path,
            format!("safetensors header of {length} bytes is over the limit of {MAX_SAFETENSORS_HEADER}"),
        ));
    }
    Ok(())
}

fn checkpoint_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn to_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Serialises named f32 tensors with `metadata`; `path` names them in errors.
fn safetensors_bytes(
    path: &Path,
    tensors: &[(String, Vec<usize>, &[f32])],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    // A checkpoint is the state a run can go back to: never one that holds NaN or infinity.
    for (name, _, values) in tensors {
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(checkpoint_err(
                path,
                format!("not saved: tensor `{name}` holds {bad}; the previous checkpoint is kept"),
            ));
        }
    }
    let bytes: Vec<Vec<u8>> = tensors.iter().map(|(_, _, v)| to_bytes(v)).collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|view| (name.clone(), view))
                .map_err(|e| checkpoint_err(path, e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, &Some(metadata)).map_err(|e| checkpoint_err(path, e.to_string()))
}

/// Reads every tensor of a safetensors file as `(name, shape, values)` plus its metadata.
type Tensors = Vec<(String, Vec<usize>, Vec<f32>)>;
fn read_safetensors(path: &Path) -> Result<(Tensors, HashMap<String, String>)> {
    parse_safetensors(&crate::fs::read_bounded(path, MAX_SAFETENSORS_FILE)?, path)
}

/// Parses safetensors bytes, their header length checked before anything is parsed; `path` names
/// them in errors.
/// A safetensors error in words (the crate's own message is its variant's name).
fn describe(e: &SafeTensorError) -> String {
    match e {
        SafeTensorError::InvalidHeader
        | SafeTensorError::InvalidHeaderStart
        | SafeTensorError::InvalidHeaderDeserialization => "its JSON header is malformed".into(),
        SafeTensorError::HeaderTooLarge => "its header is larger than allowed".into(),
        SafeTensorError::HeaderTooSmall | SafeTensorError::InvalidHeaderLength => {
            "the file is shorter than its header says (truncated?)".into()
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            "its tensors need more bytes than the file holds (truncated?)".into()
        }
        SafeTensorError::TensorNotFound(name) => format!("no tensor `{name}`"),
        SafeTensorError::TensorInvalidInfo | SafeTensorError::InvalidTensorView(..) => {
            "a tensor's shape does not match its bytes".into()
        }
        SafeTensorError::InvalidOffset(name) => format!("tensor `{name}` has invalid offsets"),
        SafeTensorError::ValidationOverflow => "a tensor's size overflows".into(),
        SafeTensorError::IoError(e) => e.to_string(),
        SafeTensorError::JsonError(e) => format!("its JSON header is malformed: {e}"),
    }
}

fn parse_safetensors(bytes: &[u8], path: &Path) -> Result<(Tensors, HashMap<String, String>)> {
    check_header_length(bytes, path)?;
    let not_safetensors = |e: SafeTensorError| {
        checkpoint_err(path, format!("not a safetensors file: {}", describe(&e)))
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(not_safetensors)?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let file = SafeTensors::deserialize(bytes).map_err(not_safetensors)?;
    let mut tensors = Vec::new();
    for (name, view) in file.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(checkpoint_err(
                path,
                format!("tensor `{name}` is {:?}, expected F32", view.dtype()),
            ));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.push((name, view.shape().to_vec(), values));
    }
    Ok((tensors, metadata))
}

/// One key only: safetensors writes its metadata map in hash order, and a single key keeps the
/// file's bytes reproducible.
fn epoch_metadata(epoch: usize) -> HashMap<String, String> {
    HashMap::from([("epoch".to_string(), epoch.to_string())])
}

fn metadata_epoch(path: &Path, metadata: &HashMap<String, String>) -> Result<usize> {
    metadata
        .get("epoch")
        .and_then(|e| e.parse().ok())
        .ok_or_else(|| checkpoint_err(path, "metadata has no epoch"))
}

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
        .map(|(name, values)| (name.to_string(), vec![values.len()], values))
        .collect();
    let moments = safetensors_bytes(&dir.join(OPTIMIZER_FILE), &state, epoch_metadata(epoch))?;
    let training = TrainingState::new(epoch, optimizer.steps());
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

/// Lists the files of a checkpoint whose new versions are complete (`.NAME.next`, all synced):
/// once it exists the save goes forward, before it the save never happened.
const COMMIT_FILE: &str = ".checkpoint-commit";

fn next_path(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join(format!(".{name}.next"))
}

/// Writes `files` into `dir` as one unit, a small journal: every new file goes to `.NAME.next`
/// (written and synced), then `.checkpoint-commit` names them, then each is renamed into place
/// and the journal removed. A crash before the journal leaves the previous files untouched (the
/// `.next` files are discarded later); a crash after it is finished by `recover`.
fn commit(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
    recover(dir)?;
    for (name, bytes) in files {
        atomic_write(&next_path(dir, name), bytes)?;
    }
    sync_dir(dir)?;
    let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    atomic_write(&dir.join(COMMIT_FILE), names.join("\n").as_bytes())?;
    sync_dir(dir)?;
    apply(dir)
}

/// Renames the journal's `.next` files into place and removes the journal.
fn apply(dir: &Path) -> Result<()> {
    let journal = dir.join(COMMIT_FILE);
    let names = crate::fs::read_bounded(&journal, crate::fs::JSON_LIMIT)?;
    let names = String::from_utf8_lossy(&names);
    for name in names.lines().filter(|n| !n.is_empty()) {
        if name.contains('/') || name.starts_with('.') {
            return Err(checkpoint_err(
                &journal,
                format!("names `{name}`, not a checkpoint file"),
            ));
        }
        let next = next_path(dir, name);
        if next.exists() {
            fault_point(&next)?;
            std::fs::rename(&next, dir.join(name)).map_err(|e| Error::io(&next, e))?;
        }
    }
    sync_dir(dir)?;
    fault_point(&journal)?;
    std::fs::remove_file(&journal).map_err(|e| Error::io(&journal, e))?;
    sync_dir(dir)
}

/// Brings a run directory back to one complete checkpoint after an interrupted save: finishes a
/// save whose journal was written, discards one that had not got that far, and removes stale
/// temporary files.
pub fn recover(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    if dir.join(COMMIT_FILE).is_file() {
        apply(dir)?;
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && (name.ends_with(".next") || name.contains(".tmp-")) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
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

/// Reads and validates `config.json`.
pub fn load_config(dir: &Path) -> Result<RunConfig> {
    let (path, bytes) = read_config(dir)?;
    parse_config(&bytes, &path)
}

/// The path and bytes of DIR's `config.json`. Missing is said so; present but not a file (a
/// pipe, a directory) is refused as what it is.
fn read_config(dir: &Path) -> Result<(PathBuf, Vec<u8>)> {
    let path = dir.join(CONFIG_FILE);
    if std::fs::metadata(&path).is_err() {
        return Err(checkpoint_err(
            dir,
            format!("not a model directory: {CONFIG_FILE} is missing"),
        ));
    }
    let bytes = read(&path)?;
    Ok((path, bytes))
}

fn parse_config(bytes: &[u8], path: &Path) -> Result<RunConfig> {
    if is_classifier(bytes) {
        return Err(checkpoint_err(
            path,
            "this is a reference classifier (from `vae classifier train`), not a generative model",
        ));
    }
    let config = RunConfig::from_json(bytes).map_err(|e| checkpoint_err(path, e.to_string()))?;
    config
        .validate()
        .map_err(|e| checkpoint_err(path, e.to_string()))?;
    Ok(config)
}

/// Rebuilds the model from `config.json` and loads `model.safetensors` into it, checking every
/// tensor's name and shape. Returns the epoch recorded with the weights.
/// A stacked M2 comes back paired with its M1 (`Model::Stacked`), read from the run directory its
/// configuration names and checked against the SHA-256 recorded there.
pub fn load_model(dir: &Path) -> Result<(RunConfig, Model<f32>, usize)> {
    let config = load_config(dir)?;
    let path = dir.join(MODEL_FILE);
    let (model, epoch) = model_from_tensors(&config, read_safetensors(&path)?, &path)?;
    Ok((config, model, epoch))
}

/// A model loaded as the M1 of a stacked M2, with the SHA-256 of the very bytes its
/// configuration and weights were read from (how the M2 names its M1): hashing what was loaded
/// leaves no moment in which a file could change between the two.
pub struct HashedModel {
    /// The M1's configuration.
    pub config: RunConfig,
    /// The M1.
    pub model: Model<f32>,
    /// SHA-256 of `model.safetensors`.
    pub sha256: String,
    /// SHA-256 of `config.json`.
    pub config_sha256: String,
}

/// `load_model` for the M1 of a stacked M2, with the checksums of what was read.
pub fn load_model_hashed(dir: &Path) -> Result<HashedModel> {
    let (config, config_sha256) = load_config_hashed(dir)?;
    let path = dir.join(MODEL_FILE);
    let bytes = crate::fs::read_bounded(&path, MAX_SAFETENSORS_FILE)?;
    let sha256 = sha256_hex(&bytes);
    let (model, _) = model_from_tensors(&config, parse_safetensors(&bytes, &path)?, &path)?;
    Ok(HashedModel {
        config,
        model,
        sha256,
        config_sha256,
    })
}

/// `load_config` with the SHA-256 of the bytes it was parsed from.
fn load_config_hashed(dir: &Path) -> Result<(RunConfig, String)> {
    let (path, bytes) = read_config(dir)?;
    Ok((parse_config(&bytes, &path)?, sha256_hex(&bytes)))
}

/// The M1 of a stacked M2 whose configuration is `by`: present, unchanged, and a plain model.
pub fn load_m1(features: &Features, by: &Path) -> Result<Model<f32>> {
    let dir = &features.run;
    let weights = dir.join(MODEL_FILE);
    if !weights.is_file() {
        return Err(checkpoint_err(
            by,
            format!(
                "this M2 reads the codes of the M1 in {}, and {} is missing there",
                dir.display(),
                MODEL_FILE
            ),
        ));
    }
    let bytes = crate::fs::read_bounded(&weights, MAX_SAFETENSORS_FILE)?;
    let actual = sha256_hex(&bytes);
    if actual != features.sha256 {
        return Err(checkpoint_err(
            &weights,
            format!(
                "M1 has changed since M2 was trained on its codes (SHA-256 {actual}, M2 recorded {})",
                features.sha256
            ),
        ));
    }
    let (config, config_sha256) = load_config_hashed(dir)?;
    if let Some(recorded) = &features.config_sha256 {
        if &config_sha256 != recorded {
            return Err(checkpoint_err(
                &dir.join(CONFIG_FILE),
                format!(
                    "M1's configuration has changed since M2 was trained on its codes (SHA-256 {config_sha256}, M2 recorded {recorded})"
                ),
            ));
        }
    }
    if config.model.features.is_some() {
        return Err(checkpoint_err(
            &dir.join(CONFIG_FILE),
            "M1 is itself a stacked model; M1 + M2 stacks one level",
        ));
    }
    let (model, _) = model_from_tensors(&config, parse_safetensors(&bytes, &weights)?, &weights)?;
    Ok(model)
}

/// The same from bytes already in memory (a model embedded in a binary); `name` labels errors.
pub fn load_model_from_bytes(
    config: &[u8],
    weights: &[u8],
    name: &str,
) -> Result<(RunConfig, Model<f32>, usize)> {
    let path = Path::new(name);
    let config = parse_config(config, &path.join(CONFIG_FILE))?;
    let weights_path = path.join(MODEL_FILE);
    let (model, epoch) = model_from_tensors(
        &config,
        parse_safetensors(weights, &weights_path)?,
        &weights_path,
    )?;
    Ok((config, model, epoch))
}

fn is_classifier(config_bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(config_bytes)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_owned)))
        .is_some_and(|k| k == ClassifierRunConfig::KIND)
}

/// Reads a reference classifier written by `save_classifier`.
pub fn load_classifier(dir: &Path) -> Result<(ClassifierRunConfig, ReferenceClassifier<f32>)> {
    let path = dir.join(CONFIG_FILE);
    if !path.is_file() {
        return Err(checkpoint_err(
            dir,
            format!("not a classifier directory: {CONFIG_FILE} is missing"),
        ));
    }
    let bytes = read(&path)?;
    if !is_classifier(&bytes) {
        return Err(checkpoint_err(
            &path,
            "not a reference classifier (train one with `vae classifier train`)",
        ));
    }
    let config =
        ClassifierRunConfig::from_json(&bytes).map_err(|e| checkpoint_err(&path, e.to_string()))?;
    config
        .validate()
        .map_err(|e| checkpoint_err(&path, e.to_string()))?;
    let mut classifier = ReferenceClassifier::new(&config.classifier, 0)
        .map_err(|e| checkpoint_err(&path, e.to_string()))?;
    let weights = dir.join(MODEL_FILE);
    load_parameters(
        classifier.parameters_mut(),
        read_safetensors(&weights)?,
        &weights,
    )?;
    Ok((config, classifier))
}

fn model_from_tensors(
    config: &RunConfig,
    tensors: (Tensors, HashMap<String, String>),
    path: &Path,
) -> Result<(Model<f32>, usize)> {
    // The configuration is checked against the file before anything is built: a config.json
    // claiming networks far larger than the weights file is an error, not gigabytes allocated.
    // Near the file's size the model is built, and the tensor-by-tensor check names the mismatch.
    let held: usize = tensors.0.iter().map(|(_, _, values)| values.len()).sum();
    let affordable = held.saturating_mul(4).max(1 << 24);
    match config.model.parameter_count() {
        Some(claimed) if claimed <= affordable => {}
        claimed => {
            return Err(checkpoint_err(
                path,
                format!(
                    "config.json describes networks of {} parameters; this file holds {held}",
                    claimed.map_or("more than 2^64".to_string(), |n| n.to_string())
                ),
            ))
        }
    }
    let mut model = Model::<f32>::new(&config.model, 0)?;
    let epoch = load_parameters(model.parameters_mut(), tensors, path)?;
    // A stacked M2 is paired with its M1, named by the config.json beside these weights.
    let model = match &config.model.features {
        Some(features) => model.stack(load_m1(features, &path.with_file_name(CONFIG_FILE))?)?,
        None => model,
    };
    Ok((model, epoch))
}

/// Fills `params` from the tensors, checking every name and shape; returns the saved epoch.
fn load_parameters(
    params: &mut Parameters<f32>,
    (tensors, metadata): (Tensors, HashMap<String, String>),
    path: &Path,
) -> Result<usize> {
    let entries = params.entries().to_vec();
    for (name, shape, values) in &tensors {
        let Some(entry) = entries.iter().find(|e| &e.name == name) else {
            return Err(checkpoint_err(
                path,
                format!("unexpected tensor `{name}` for this configuration"),
            ));
        };
        if &entry.shape != shape {
            return Err(checkpoint_err(
                path,
                format!(
                    "tensor `{name}` has shape {shape:?}, the configuration needs {:?}",
                    entry.shape
                ),
            ));
        }
        if !all_finite(values) {
            return Err(checkpoint_err(
                path,
                format!("tensor `{name}` holds NaN or infinite values"),
            ));
        }
        params.values_mut()[entry.range.clone()].copy_from_slice(values);
    }
    if let Some(missing) = entries
        .iter()
        .find(|e| !tensors.iter().any(|(n, _, _)| n == &e.name))
    {
        return Err(checkpoint_err(
            path,
            format!("tensor `{}` is missing", missing.name),
        ));
    }
    metadata_epoch(path, &metadata)
}

/// Everything needed to continue training where it stopped.
pub struct Resume {
    /// The run's configuration.
    pub config: RunConfig,
    /// The model as saved.
    pub model: Model<f32>,
    /// The optimizer with its moments.
    pub optimizer: Optimizer<f32>,
    /// Where training stopped.
    pub state: TrainingState,
}

/// Reads the checkpoint in `dir` to continue training it, after finishing or clearing an
/// interrupted save there (`recover`): for the one process that writes the run.
pub fn load_for_resume(dir: &Path) -> Result<Resume> {
    recover(dir)?;
    read_for_resume(dir)
}

/// Reads the checkpoint in `dir` to continue training it, as it is on disk: for a process that
/// does not write the run (an MPI rank other than the writer, once the writer has recovered it),
/// so that only one process ever renames or removes its files.
pub fn read_for_resume(dir: &Path) -> Result<Resume> {
    let (config, model, model_epoch) = load_model(dir)?;
    let state_path = dir.join(STATE_FILE);
    if !state_path.is_file() {
        return Err(checkpoint_err(
            dir,
            format!("{STATE_FILE} is missing: this model cannot be resumed"),
        ));
    }
    let state: TrainingState = serde_json::from_slice(&read(&state_path)?)
        .map_err(|e| checkpoint_err(&state_path, e.to_string()))?;
    let opt_path = dir.join(OPTIMIZER_FILE);
    let (tensors, metadata) = read_safetensors(&opt_path)?;
    let opt_epoch = metadata_epoch(&opt_path, &metadata)?;
    if model_epoch != state.epoch || opt_epoch != state.epoch {
        return Err(checkpoint_err(
            dir,
            format!(
                "files from different epochs (weights {model_epoch}, optimizer {opt_epoch}, state {}): an interrupted save?",
                state.epoch
            ),
        ));
    }
    let mut optimizer = Optimizer::new(config.train.optimizer, model.parameters().len());
    if let Some((name, _, _)) = tensors.iter().find(|(_, _, v)| !all_finite(v)) {
        return Err(checkpoint_err(
            &opt_path,
            format!("optimizer state `{name}` holds NaN or infinite values"),
        ));
    }
    let tensors: Vec<(String, Vec<f32>)> = tensors.into_iter().map(|(n, _, v)| (n, v)).collect();
    optimizer
        .restore(state.optimizer_steps, &tensors)
        .map_err(|e| checkpoint_err(&opt_path, e.to_string()))?;
    Ok(Resume {
        config,
        model,
        optimizer,
        state,
    })
}
