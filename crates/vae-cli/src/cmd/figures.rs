//! The pictures come from `vae::figures`; here are the checks that name the flag a user gave, made
//! before the library is asked.

use anyhow::{bail, Result};
use vae::data::Split;
use vae::Model;

pub use vae::figures::*;

/// Errors unless `index` names an image of the test split.
pub fn check_index(split: &Split, index: usize, flag: &str) -> Result<()> {
    if index >= split.len() {
        bail!(
            "{flag} {index} is beyond the {} test images (0..={})",
            split.len(),
            split.len().saturating_sub(1)
        );
    }
    Ok(())
}

/// Errors unless `--label` (when given) is one the model knows.
pub fn check_label(model: &Model<f32>, label: Option<u8>) -> Result<()> {
    match (model.classes(), label) {
        (_, None) => Ok(()),
        (0, Some(_)) => bail!(
            "--label needs a model with classes (trained with --model cvae, m2 or jmvae); this one has none"
        ),
        (classes, Some(l)) => Ok(vae::batch::check_label_range(&[l], classes)
            .map_err(|e| anyhow::anyhow!("--label {l}: {e}"))?),
    }
}
