//! How a data set is read, where that is part of the run's configuration.

use serde::{Deserialize, Serialize};

/// How a folder becomes tensors; saved in `config.json` so every command rebuilds the same data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderOptions {
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Rows every image is scaled to.
    pub height: usize,
    /// Columns every image is scaled to.
    pub width: usize,
    /// Seed of the train/test split.
    pub split_seed: u64,
}

impl Default for FolderOptions {
    fn default() -> Self {
        FolderOptions {
            channels: 3,
            height: 32,
            width: 32,
            split_seed: 0,
        }
    }
}
