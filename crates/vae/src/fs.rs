//! Files written whole or not at all.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// readers see the old file or the new one, never a torn one.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    fault_point(path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp, mut file) = create_temporary(&dir, &name).map_err(|e| Error::io(path, e))?;
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        fault_point(path).map_err(|e| std::io::Error::other(e.to_string()))?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// What a path that is not a regular file is, for the error that refuses it.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe (FIFO), not a regular file";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device, not a regular file";
        }
        if t.is_socket() {
            return "a socket, not a regular file";
        }
    }
    if meta.is_dir() {
        "a directory, not a regular file"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading only if it is a regular file (a symbolic link to one is followed).
/// A named pipe, a device or a directory is refused before anything waits on it: the path is
/// looked at first, and then opened without blocking (`O_NONBLOCK`, which changes nothing for a
/// regular file) and looked at again, so a pipe put in its place in between cannot hold the
/// process either.
pub fn open_regular(path: &Path) -> Result<std::fs::File> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::bad_file(path, kind_of(&meta)));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::bad_file(path, kind_of(&meta)));
    }
    Ok(file)
}

/// Reads a whole file with [`open_regular`]'s checks and no size bound of its own (for files whose
/// size is checked by their reader, such as data sets).
pub fn read_regular(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// Opens (creating it if missing) a file this program writes in place inside a run directory,
/// such as the training lock, without following a symbolic link planted at its name: a link is
/// refused, so a file outside the directory is never truncated or written. Never truncated on
/// opening.
pub fn open_own_file(path: &Path) -> Result<std::fs::File> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() {
            return Err(Error::bad_file(
                path,
                "is a symbolic link; refusing to write through it (remove it)",
            ));
        }
        if !meta.is_file() {
            return Err(Error::bad_file(path, kind_of(&meta)));
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return Error::bad_file(
                path,
                "is a symbolic link; refusing to write through it (remove it)",
            );
        }
        Error::io(path, e)
    })?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::bad_file(path, kind_of(&meta)));
    }
    Ok(file)
}

/// Reads a whole file that must be a regular file of at most `limit` bytes: a link to
/// `/dev/zero`, a pipe or a file grown past any sensible size is refused before it is read.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = open_regular(path)?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.len() > limit {
        return Err(Error::bad_file(
            path,
            format!(
                "{} bytes, over the limit of {limit} for this file",
                meta.len()
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::bad_file(
            path,
            format!("grew past the limit of {limit} bytes while being read"),
        ));
    }
    Ok(bytes)
}

/// Limits for `read_bounded`: small JSON files (configurations, training state, layer lists)...
pub const JSON_LIMIT: u64 = 16 << 20;
/// ...and logs (`metrics.jsonl`: a line per epoch).
pub const LOG_LIMIT: u64 = 256 << 20;

/// A new file `.NAME.tmp-PID-N` in `dir`, created exclusively (`O_EXCL`: an existing file or a
/// planted symbolic link at that name is never opened or followed), N unpredictable.
fn create_temporary(dir: &Path, name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::hash::{BuildHasher, Hasher};
    let mut last = None;
    for attempt in 0..16u64 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(attempt);
        let tmp = dir.join(format!(
            ".{name}.tmp-{}-{:016x}",
            std::process::id(),
            hasher.finish()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

/// Flushes a directory's entries (the renames in it) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// A test hook for crash safety: with `VAE_FAULT_AT=N` in the environment, the N-th file
/// operation of this process (1-based, counting each write and each rename of a save) aborts the
/// process (`VAE_FAULT=abort`, the default: a crash at that instant) or fails with an I/O error
/// (`VAE_FAULT=error`: a full disk). Without the variable it does nothing.
pub fn fault_point(path: &Path) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::OnceLock;
    static AT: OnceLock<Option<(usize, bool)>> = OnceLock::new();
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let at = AT.get_or_init(|| {
        let n = std::env::var("VAE_FAULT_AT").ok()?.parse().ok()?;
        let abort = std::env::var("VAE_FAULT").map_or(true, |m| m != "error");
        Some((n, abort))
    });
    let Some((n, abort)) = *at else {
        return Ok(());
    };
    if COUNT.fetch_add(1, Ordering::SeqCst) + 1 == n {
        if abort {
            std::process::abort();
        }
        return Err(Error::io(
            path,
            std::io::Error::other("injected fault (VAE_FAULT_AT): no space left on device"),
        ));
    }
    Ok(())
}

/// The SHA-256 of `bytes`, in lowercase hexadecimal: how data files and checkpoints are checked.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

/// `bytes` in lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symbolic link planted where a temporary file could be expected is neither followed nor
    /// replaced: its target keeps its contents.
    #[test]
    fn temporaries_do_not_follow_planted_links() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("vae-fs-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let victim = dir.join("victim");
        std::fs::write(&victim, b"keep").map_err(|e| Error::io(&victim, e))?;
        let planted = dir.join(format!(".config.json.tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&planted);
        std::os::unix::fs::symlink(&victim, &planted).map_err(|e| Error::io(&planted, e))?;
        atomic_write(&dir.join("config.json"), b"new")?;
        assert_eq!(
            std::fs::read(&victim).map_err(|e| Error::io(&victim, e))?,
            b"keep"
        );
        assert_eq!(
            std::fs::read(dir.join("config.json")).map_err(|e| Error::io(&dir, e))?,
            b"new"
        );
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
