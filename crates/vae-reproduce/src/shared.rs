//! Training runs shared between targets (M1 under every M1 + M2 row), adopted from a target's
//! own directory when one trained them first, and the commands a run was started with.

use crate::command::{display, path_arg, quoted, strings};
use crate::target::Budget;
use crate::Options;
use anyhow::{Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `vae train --dataset DATASET ARGS --epochs EPOCHS --out RUN_DIR`, with `--threads` and
/// `--data-dir`: the command that starts a run of a target, `@RUN` arguments made paths.
pub(crate) fn train_command(
    dataset: &str,
    a: &[String],
    runs: &[(&str, PathBuf)],
    dir: &Path,
    epochs: usize,
    run_dir: &Path,
    args: &Options,
) -> Vec<String> {
    let mut c = strings(&["train", "--dataset", dataset]);
    for arg in a {
        c.push(match arg.strip_prefix('@') {
            Some(other) => path_arg(&run_path(runs, dir, other)),
            None => arg.clone(),
        });
    }
    c.extend(strings(&["--epochs", &epochs.to_string(), "--out"]));
    c.push(path_arg(run_dir));
    with_shared(c, args)
}

/// A run that became shared after this target had begun it in its own directory (an earlier
/// version of `vae reproduce` kept it there) moves to the shared place, finished or not, instead
/// of being trained again from scratch: when the command kept beside it is the one the shared run
/// would start with (but for `--out`, `--threads` and `--data-dir`), the directory is renamed and
/// its command file follows, `--out` rewritten. A run made otherwise is left where it is, and
/// said so.
pub(crate) fn adopt_private_run(
    private: &Path,
    shared: &Path,
    run: &str,
    previous: &[String],
    fresh: &dyn Fn(&Path) -> Vec<String>,
) -> Result<()> {
    if trained_epochs(private)?.is_none() {
        return Ok(());
    }
    // The words of a command but those that may differ between two invocations of a target.
    let essential = |line: &str| -> Vec<String> {
        let mut words = line.split(' ');
        let mut kept = Vec::new();
        while let Some(word) = words.next() {
            if word == "--threads" || word == "--data-dir" {
                words.next();
            } else {
                kept.push(word.to_string());
            }
        }
        kept
    };
    let recorded = original_command(private, previous)
        .filter(|c| essential(c) == essential(&display(&fresh(private))));
    let Some(recorded) = recorded else {
        println!(
            "   {run}: {} was trained before this run was shared, by another command than the \
             shared run's; left there",
            private.display()
        );
        return Ok(());
    };
    // Not while a `vae train` still writes into it.
    let _held = hold_run(private, run)?;
    if let Some(parent) = shared.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    // The command first: stopped before the rename, the next call adopts the run again and
    // rewrites it; after, the moved run already has it.
    let from = format!(" --out {}", quoted(&path_arg(private)));
    let to = format!(" --out {}", quoted(&path_arg(shared)));
    vae::fs::atomic_write(
        &command_file(shared),
        recorded.replacen(&from, &to, 1).as_bytes(),
    )?;
    std::fs::rename(private, shared)
        .with_context(|| format!("moving {} to {}", private.display(), shared.display()))?;
    match std::fs::remove_file(command_file(private)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", command_file(private).display()))
        }
        _ => {}
    }
    println!(
        "   {run}: moved {}, trained before this run was shared, to {}",
        private.display(),
        shared.display()
    );
    Ok(())
}

/// The lock of the run in `run_dir`, once no other process trains it (waiting for it, and saying
/// so, while one does).
pub(crate) fn hold_run(run_dir: &Path, run: &str) -> Result<vae::run_dir::RunLock> {
    use vae::run_dir::RunLock;
    match RunLock::acquire(run_dir) {
        Ok(held) => Ok(held),
        Err(vae::Error::RunLocked { holder, .. }) => {
            println!("   {run}: another process{holder} is training this run; waiting for it");
            Ok(RunLock::wait(run_dir)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// A shared run that another process trains (two targets that share it started side by side):
/// waits for that trainer to end, so the caller goes on from what it left, finished or not,
/// instead of a second `vae train` failing on the run's lock.
pub(crate) fn wait_for_other_trainer(run_dir: &Path, run: &str) -> Result<()> {
    drop(hold_run(run_dir, run)?);
    Ok(())
}

/// Where runs shared among targets live: one directory per budget and data set, so a target run
/// with `--dataset` never finds a run made on other data.
pub(crate) fn shared_dir(out: &Path, budget: Budget, dataset: &str) -> PathBuf {
    let slug: String = dataset
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.join("shared").join(budget.name()).join(slug)
}

/// The directory of the run named `run`: where this target put it, else its own directory.
pub(crate) fn run_path(runs: &[(&str, PathBuf)], dir: &Path, run: &str) -> PathBuf {
    runs.iter()
        .find(|(name, _)| *name == run)
        .map_or_else(|| dir.join(run), |(_, path)| path.clone())
}

/// The file beside a run directory that holds the command which started it.
pub(crate) fn command_file(run_dir: &Path) -> PathBuf {
    let mut name = run_dir.as_os_str().to_owned();
    name.push(".command");
    PathBuf::from(name)
}

/// The command that started the run in `run_dir`: from the file beside it, else from the
/// commands an earlier `result.json` of the target recorded (runs made before the file was kept).
pub(crate) fn original_command(run_dir: &Path, previous: &[String]) -> Option<String> {
    if let Ok(bytes) = vae::fs::read_bounded(&command_file(run_dir), vae::fs::JSON_LIMIT) {
        return Some(String::from_utf8_lossy(&bytes).trim().to_string());
    }
    let path = path_arg(run_dir);
    previous
        .iter()
        .find(|c| {
            let words: Vec<&str> = c.split(' ').collect();
            c.starts_with("vae train ")
                && words
                    .windows(2)
                    .any(|w| (w[0] == "--out" || w[0] == "--resume") && w[1] == path)
        })
        .cloned()
}

/// The commands an earlier `result.json` of the target recorded (none when there is no
/// readable one).
pub(crate) fn previous_commands(file: &Path) -> Vec<String> {
    vae::fs::read_bounded(file, vae::fs::JSON_LIMIT)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|r| {
            r.get("commands")?.as_array().map(|c| {
                c.iter()
                    .filter_map(|c| c.as_str().map(String::from))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// The epochs a run directory has completed, or None when it holds no resumable run.
pub(crate) fn trained_epochs(dir: &Path) -> Result<Option<usize>> {
    let state = dir.join(vae::checkpoint::STATE_FILE);
    if !state.is_file() {
        return Ok(None);
    }
    let bytes = vae::fs::read_bounded(&state, vae::fs::JSON_LIMIT)?;
    let value: Value =
        serde_json::from_slice(&bytes).with_context(|| format!("reading {}", state.display()))?;
    Ok(value
        .get("epoch")
        .and_then(Value::as_u64)
        .map(|e| e as usize))
}

/// `--threads` and `--data-dir`, passed on to training and evaluation (the pictures of these
/// targets read no data).
pub(crate) fn with_shared(mut command: Vec<String>, args: &Options) -> Vec<String> {
    if let Some(threads) = args.threads {
        command.extend(strings(&["--threads", &threads.to_string()]));
    }
    if let Some(dir) = &args.data_dir {
        command.push("--data-dir".into());
        command.push(path_arg(dir));
    }
    command
}
