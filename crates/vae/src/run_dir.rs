//! A run directory as training keeps it: where a new run goes, and after each epoch the metrics
//! and the checkpoint, written at a bounded cadence.

use crate::checkpoint::{self, METRICS_FILE};
use crate::config::RunConfig;
use crate::data::DatasetSpec;
use crate::error::{Error, Result};
use crate::fs::atomic_write;
use crate::metrics::{read_metrics, to_jsonl, EpochMetrics};
use crate::model::Model;
use crate::optim::Optimizer;
use crate::train::EpochReport;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Checkpoints before the last epoch are written at most this often: thousands of sub-second
/// epochs (Frey) would otherwise spend their time in fsync.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(30);

/// The short name of a data set for run directories: `mnist`, `frey`, or the folder's name.
pub fn run_name(spec: &DatasetSpec) -> String {
    match spec {
        DatasetSpec::Named(named) => named.name.to_string(),
        DatasetSpec::Frey => crate::data::frey::NAME.to_string(),
        DatasetSpec::IdxDir(dir) | DatasetSpec::Folder(dir) => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "images".into()),
    }
}

/// `root/NAME-1`, `root/NAME-2`, ...: the first that does not exist yet.
pub fn next_run_dir(root: &Path, name: &str) -> PathBuf {
    (1..)
        .map(|n| root.join(format!("{name}-{n}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| root.join(name))
}

/// What training writes into its directory after every epoch.
pub struct RunWriter {
    dir: PathBuf,
    config: RunConfig,
    metrics: Vec<EpochMetrics>,
    last_save: Option<Instant>,
    every: Duration,
}

impl RunWriter {
    /// A writer for a new run in `dir`.
    pub fn new(dir: PathBuf, config: RunConfig) -> Self {
        RunWriter {
            dir,
            config,
            metrics: Vec::new(),
            last_save: None,
            every: CHECKPOINT_EVERY,
        }
    }

    /// A writer continuing the run saved in `from` after `epoch` epochs, into `dir`: the
    /// metrics already written are kept up to that epoch (lines past it come from a save that
    /// did not finish).
    pub fn resuming(dir: PathBuf, config: RunConfig, from: &Path, epoch: usize) -> Result<Self> {
        let mut metrics = match read_metrics(&from.join(METRICS_FILE)) {
            Ok(m) => m,
            Err(Error::Io { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        metrics.retain(|m| m.epoch <= epoch);
        Ok(RunWriter {
            metrics,
            ..RunWriter::new(dir, config)
        })
    }

    /// Checkpoint at most every `every` before the last epoch.
    pub fn every(mut self, every: Duration) -> Self {
        self.every = every;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// Records the epoch's metrics; after the last epoch, and before it when `every` has passed
    /// since the last save, writes `metrics.jsonl` and the checkpoint. Returns whether it saved.
    pub fn record(
        &mut self,
        model: &Model<f32>,
        optimizer: &Optimizer<f32>,
        report: &EpochReport,
    ) -> Result<bool> {
        self.metrics.push(EpochMetrics::from(report));
        let last = report.epoch == self.config.train.epochs;
        if !(last || self.last_save.is_none_or(|t| t.elapsed() >= self.every)) {
            return Ok(false);
        }
        atomic_write(
            &self.dir.join(METRICS_FILE),
            to_jsonl(&self.metrics).as_bytes(),
        )?;
        checkpoint::save(&self.dir, &self.config, model, optimizer, report.epoch)?;
        self.last_save = Some(Instant::now());
        Ok(true)
    }
}
