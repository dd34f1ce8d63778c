//! A run directory as training keeps it: where a new run goes, the lock its one writer holds, and
//! after each epoch the metrics and the checkpoint, written at a bounded cadence.

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

/// The file a training process locks in its run directory.
pub const LOCK_FILE: &str = "train.lock";

/// An exclusive advisory lock (`flock`) on `DIR/train.lock`, held while one process trains into
/// DIR. A second `vae train` into the same directory (a resume started twice, or a `vae reproduce`
/// restarted while the child of the first still trains) stops with an error instead of both
/// writing the same checkpoint. The operating system drops the lock when its process ends, however
/// it ends, so a crash leaves none behind.
pub enum RunLock {
    /// The lock, held until the file is closed.
    Held(std::fs::File),
    /// The file system cannot lock files (some network mounts): training goes on unguarded.
    Unavailable(std::io::Error),
}

impl RunLock {
    /// Takes the lock of the existing directory DIR, writing this process's id into the file for
    /// the error another process would print.
    pub fn acquire(dir: &Path) -> Result<RunLock> {
        use std::fs::TryLockError;
        use std::io::{Read, Write};
        let (path, mut file) = open_lock_file(dir)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                // Whatever the file holds is only quoted, and only a few bytes of it are read.
                let mut head = [0u8; 16];
                let n = file.read(&mut head).unwrap_or(0);
                let holder = std::str::from_utf8(&head[..n])
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok())
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                return Err(Error::RunLocked { path, holder });
            }
            Err(TryLockError::Error(e)) => return Ok(RunLock::Unavailable(e)),
        }
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(|e| Error::io(&path, e))?;
        Ok(RunLock::Held(file))
    }

    /// Blocks until no other process holds the lock of the existing directory DIR, then holds it
    /// (without writing into the file: a waiter only wants to know the other trainer has ended).
    pub fn wait(dir: &Path) -> Result<RunLock> {
        let (_, file) = open_lock_file(dir)?;
        match file.lock() {
            Ok(()) => Ok(RunLock::Held(file)),
            Err(e) => Ok(RunLock::Unavailable(e)),
        }
    }
}

/// DIR's lock file, created if missing and never truncated on opening (it may be held).
fn open_lock_file(dir: &Path) -> Result<(PathBuf, std::fs::File)> {
    let path = dir.join(LOCK_FILE);
    let file = crate::fs::open_own_file(&path)?;
    Ok((path, file))
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

    /// Where the run is written.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The run's configuration.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// Makes the next `record` save, however recently the last save was.
    pub fn save_next(&mut self) {
        self.last_save = None;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_lets_go() {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("run");
        std::fs::create_dir(&dir).expect("run dir");
        let first = RunLock::acquire(&dir).expect("the first lock");
        assert!(matches!(first, RunLock::Held(_)), "tmpfs locks files");
        // flock conflicts between two opens of the file, in one process as across two.
        match RunLock::acquire(&dir) {
            Err(e @ Error::RunLocked { .. }) => {
                let message = e.to_string();
                let pid = format!("(pid {})", std::process::id());
                assert!(message.contains(&pid), "{message}");
                assert!(message.contains(LOCK_FILE), "{message}");
            }
            Err(e) => panic!("another error: {e}"),
            Ok(_) => panic!("a second lock on a held run"),
        }
        drop(first);
        assert!(matches!(RunLock::acquire(&dir), Ok(RunLock::Held(_))));
    }

    #[test]
    fn a_waiter_goes_on_when_the_holder_lets_go() {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().to_path_buf();
        let first = RunLock::acquire(&dir).expect("the first lock");
        let (done, finished) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let lock = RunLock::wait(&dir);
            done.send(()).expect("send");
            lock
        });
        let timeout = std::time::Duration::from_millis(300);
        assert!(finished.recv_timeout(timeout).is_err(), "waited for no one");
        drop(first);
        assert!(finished.recv_timeout(10 * timeout).is_ok(), "still waiting");
        let second = waiter.join().expect("the waiter");
        assert!(matches!(second, Ok(RunLock::Held(_))));
        // The waiter holds the lock now.
        assert!(matches!(
            RunLock::acquire(root.path()),
            Err(Error::RunLocked { .. })
        ));
    }

    #[test]
    fn a_lock_file_left_by_an_ended_process_does_not_block() {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::write(root.path().join(LOCK_FILE), "not a pid\n").expect("write");
        assert!(matches!(
            RunLock::acquire(root.path()),
            Ok(RunLock::Held(_))
        ));
        let text = std::fs::read_to_string(root.path().join(LOCK_FILE)).expect("read");
        assert_eq!(text, format!("{}\n", std::process::id()));
    }
}
