//! The journal that makes a checkpoint's files one unit: written beside, committed, renamed.

use super::tensors::checkpoint_err;
use crate::error::Error;
use crate::error::Result;
use crate::fs::atomic_write;
use crate::fs::fault_point;
use crate::fs::sync_dir;
use std::path::Path;

/// Lists the files of a checkpoint whose new versions are complete (`.NAME.next`, all synced):
/// once it exists the save goes forward, before it the save never happened.
const COMMIT_FILE: &str = ".checkpoint-commit";

pub(super) fn next_path(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join(format!(".{name}.next"))
}

/// Writes `files` into `dir` as one unit, a small journal: every new file goes to `.NAME.next`
/// (written and synced), then `.checkpoint-commit` names them, then each is renamed into place
/// and the journal removed. A crash before the journal leaves the previous files untouched (the
/// `.next` files are discarded later); a crash after it is finished by `recover`.
pub(super) fn commit(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
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
pub(super) fn apply(dir: &Path) -> Result<()> {
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
