//! Reading a run directory back: its configuration, its model (and M1, a classifier), what a
//! resume needs.

use super::journal::recover;
use super::tensors::{
    checkpoint_err, metadata_epoch, parse_safetensors, read, read_safetensors, Tensors,
};
use super::{
    TrainingState, CONFIG_FILE, MAX_SAFETENSORS_FILE, MODEL_FILE, OPTIMIZER_FILE, STATE_FILE,
};
use crate::config::ClassifierRunConfig;
use crate::config::Features;
use crate::config::RunConfig;
use crate::error::Result;
use crate::fs::sha256_hex;
use crate::kernels::reduce::all_finite;
use crate::model::Model;
use crate::model::ReferenceClassifier;
use crate::nn::Parameters;
use crate::objective::Trainable;
use crate::optim::Optimizer;
use std::collections::HashMap;
use std::path::Path;
use std::path::PathBuf;

/// Reads and validates `config.json`.
pub fn load_config(dir: &Path) -> Result<RunConfig> {
    let (path, bytes) = read_config(dir)?;
    parse_config(&bytes, &path)
}

/// The path and bytes of DIR's `config.json`. Missing is said so; present but not a file (a
/// pipe, a directory) is refused as what it is.
pub(super) fn read_config(dir: &Path) -> Result<(PathBuf, Vec<u8>)> {
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

pub(super) fn parse_config(bytes: &[u8], path: &Path) -> Result<RunConfig> {
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
    let (model, epoch) =
        model_from_tensors(&config, read_safetensors(&path)?, &path, M1From::Directory)?;
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
    let (model, _) = model_from_tensors(
        &config,
        parse_safetensors(&bytes, &path)?,
        &path,
        M1From::Directory,
    )?;
    Ok(HashedModel {
        config,
        model,
        sha256,
        config_sha256,
    })
}

/// `load_config` with the SHA-256 of the bytes it was parsed from.
pub(super) fn load_config_hashed(dir: &Path) -> Result<(RunConfig, String)> {
    let (path, bytes) = read_config(dir)?;
    Ok((parse_config(&bytes, &path)?, sha256_hex(&bytes)))
}

/// A run directory's `config.json` and `model.safetensors`, as bytes already in memory.
#[derive(Clone, Copy, Debug)]
pub struct RunBytes<'a> {
    /// `config.json`.
    pub config: &'a [u8],
    /// `model.safetensors`.
    pub weights: &'a [u8],
}

/// Where a stacked M2's M1 comes from: the run directory its configuration names, or bytes
/// handed over with it (a page that carries both models).
#[derive(Clone, Copy)]
enum M1From<'a> {
    Directory,
    Bytes(RunBytes<'a>),
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
    let (config, bytes) = read_run_bytes(dir)?;
    let run = RunBytes {
        config: &config,
        weights: &bytes,
    };
    m1_from_bytes(features, run, &dir.join(CONFIG_FILE), &weights)
}

/// The bytes of a run directory's `config.json` and `model.safetensors`, in that order, each read
/// bounded: what `load_model` parses, for a caller that passes the files on.
pub fn read_run_bytes(dir: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let weights = crate::fs::read_bounded(&dir.join(MODEL_FILE), MAX_SAFETENSORS_FILE)?;
    let (_, config) = read_config(dir)?;
    Ok((config, weights))
}

/// The M1 from its two files' bytes, checked against the SHA-256s the M2 recorded; the paths
/// label errors.
fn m1_from_bytes(
    features: &Features,
    run: RunBytes,
    config_path: &Path,
    weights_path: &Path,
) -> Result<Model<f32>> {
    let actual = sha256_hex(run.weights);
    if actual != features.sha256 {
        return Err(checkpoint_err(
            weights_path,
            format!(
                "M1 has changed since M2 was trained on its codes (SHA-256 {actual}, M2 recorded {})",
                features.sha256
            ),
        ));
    }
    let config = parse_config(run.config, config_path)?;
    let config_sha256 = sha256_hex(run.config);
    if let Some(recorded) = &features.config_sha256 {
        if &config_sha256 != recorded {
            return Err(checkpoint_err(
                config_path,
                format!(
                    "M1's configuration has changed since M2 was trained on its codes (SHA-256 {config_sha256}, M2 recorded {recorded})"
                ),
            ));
        }
    }
    if config.model.features.is_some() {
        return Err(checkpoint_err(
            config_path,
            "M1 is itself a stacked model; M1 + M2 stacks one level",
        ));
    }
    let tensors = parse_safetensors(run.weights, weights_path)?;
    let (model, _) = model_from_tensors(&config, tensors, weights_path, M1From::Directory)?;
    Ok(model)
}

/// The same from bytes already in memory (a model embedded in a binary or a page); `name`
/// labels errors. A stacked M2 needs its M1's bytes in `m1`.
pub fn load_model_from_bytes(
    run: RunBytes,
    m1: Option<RunBytes>,
    name: &str,
) -> Result<(RunConfig, Model<f32>, usize)> {
    let path = Path::new(name);
    let config = parse_config(run.config, &path.join(CONFIG_FILE))?;
    let weights_path = path.join(MODEL_FILE);
    let m1 =
        match (m1, &config.model.features) {
            (Some(m1), Some(_)) => M1From::Bytes(m1),
            (None, Some(_)) => return Err(checkpoint_err(
                &path.join(CONFIG_FILE),
                "this is a stacked M2: its M1's config.json and model.safetensors are needed too",
            )),
            (Some(_), None) => {
                return Err(checkpoint_err(
                    &path.join(CONFIG_FILE),
                    "an M1 was given, but this model is not a stacked M2",
                ))
            }
            (None, None) => M1From::Directory,
        };
    let (model, epoch) = model_from_tensors(
        &config,
        parse_safetensors(run.weights, &weights_path)?,
        &weights_path,
        m1,
    )?;
    Ok((config, model, epoch))
}

pub(super) fn is_classifier(config_bytes: &[u8]) -> bool {
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
    m1: M1From,
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
    let by = path.with_file_name(CONFIG_FILE);
    let model = match (&config.model.features, m1) {
        (Some(features), M1From::Directory) => model.stack(load_m1(features, &by)?)?,
        (Some(features), M1From::Bytes(run)) => {
            let m1_dir = Path::new("M1");
            let m1 = m1_from_bytes(
                features,
                run,
                &m1_dir.join(CONFIG_FILE),
                &m1_dir.join(MODEL_FILE),
            )?;
            model.stack(m1)?
        }
        (None, _) => model,
    };
    Ok((model, epoch))
}

/// Fills `params` from the tensors, checking every name and shape; returns the saved epoch.
pub(super) fn load_parameters(
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
    let mut optimizer = Optimizer::with_groups(config.train.optimizer, model.parameter_groups());
    if let Some((name, _, _)) = tensors.iter().find(|(_, _, v)| !all_finite(v)) {
        return Err(checkpoint_err(
            &opt_path,
            format!("optimizer state `{name}` holds NaN or infinite values"),
        ));
    }
    let tensors: Vec<(String, Vec<f32>)> = tensors.into_iter().map(|(n, _, v)| (n, v)).collect();
    optimizer
        .restore(
            state.optimizer_steps,
            state.group_steps.as_deref(),
            &tensors,
        )
        .map_err(|e| checkpoint_err(&opt_path, e.to_string()))?;
    Ok(Resume {
        config,
        model,
        optimizer,
        state,
    })
}
