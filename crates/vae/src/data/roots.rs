//! Where data sets are looked for and downloaded to.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Directories searched for system-wide copies: Debian's `dataset-fashion-mnist` installs
/// `/usr/share/datasets/fashion-mnist/*.gz`.
const SYSTEM_ROOTS: [&str; 1] = ["/usr/share/datasets"];

/// Directories searched, in order: `--data-dir`, `$VAE_DATA_DIR`, the user cache directory, the
/// system copies. The first two may hold the files directly or in a `NAME/` sub-directory.
pub fn search_roots(data_dir: Option<&Path>) -> Vec<(PathBuf, bool)> {
    let mut roots = Vec::new();
    if let Some(dir) = data_dir {
        roots.push((dir.to_path_buf(), true));
    }
    if let Some(dir) = std::env::var_os("VAE_DATA_DIR").filter(|v| !v.is_empty()) {
        roots.push((PathBuf::from(dir), true));
    }
    if let Some(dir) = default_cache_root() {
        roots.push((dir, false));
    }
    roots.extend(SYSTEM_ROOTS.iter().map(|r| (PathBuf::from(r), false)));
    roots
}

/// `~/.cache/vae` on Linux (the platform cache directory elsewhere).
pub fn default_cache_root() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("vae"))
}

/// The directory `vae data fetch` writes to: `--data-dir`, else `$VAE_DATA_DIR`, else the cache.
pub fn download_root(data_dir: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = data_dir {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("VAE_DATA_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    default_cache_root().ok_or_else(|| {
        Error::InvalidArgument(
            "no cache directory is known here; pass --data-dir (data_dir= in Python)".into(),
        )
    })
}
