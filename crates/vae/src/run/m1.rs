//! M1 of M1 + M2: the trained VAE whose codes an M2 reads.

use crate::checkpoint;
use crate::config::{Features, RunConfig};
use crate::data::{Codes, Dataset};
use crate::error::{Error, Result};
use crate::model::stacked::{active_dimensions, encode_split};
use crate::model::{Model, Vae};
use std::path::{Path, PathBuf};

/// M1 of M1 + M2 (Kingma et al. 2014): the trained VAE whose codes an M2 reads, as loaded from its
/// run directory, with the checksums that tie the M2 to it.
#[derive(Clone, Debug)]
pub struct M1 {
    /// The VAE.
    pub vae: Vae<f32>,
    /// Its run's configuration.
    pub config: RunConfig,
    /// Where it was loaded from.
    pub dir: PathBuf,
    /// SHA-256 of its `model.safetensors`.
    pub sha256: String,
    /// SHA-256 of its `config.json`.
    pub config_sha256: String,
}

impl M1 {
    /// Loads M1 from its run directory: an unconditional one-layer VAE.
    pub fn load(dir: &Path) -> Result<M1> {
        let loaded = checkpoint::load_model_hashed(dir)?;
        match loaded.model {
            Model::Vae(vae) if vae.classes() == 0 => Ok(M1 {
                vae,
                config: loaded.config,
                dir: dir.to_path_buf(),
                sha256: loaded.sha256,
                config_sha256: loaded.config_sha256,
            }),
            model => Err(Error::Config(format!(
                "{}: M1 must be an unconditional one-layer VAE (model vae), not a {}",
                dir.display(),
                model.config().kind_name()
            ))),
        }
    }

    /// The code dimensions an M2 reads from M1 on the training images of `dataset` (those whose
    /// posterior mean varies with a standard deviation above `threshold`), with M1's codes of
    /// those images.
    pub fn features(&self, dataset: &Dataset, threshold: f64) -> Result<(Features, Codes)> {
        if !(threshold.is_finite() && threshold >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "the active threshold {threshold} must be a finite value >= 0"
            )));
        }
        if dataset.shape != self.vae.config().image {
            return Err(Error::InvalidArgument(format!(
                "M1 reads {} images, and {} has {}",
                self.vae.config().image,
                dataset.name,
                dataset.shape
            )));
        }
        let codes = encode_split(&self.vae, &dataset.train)?;
        let (active, fill) = active_dimensions(&codes, threshold);
        if active.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "no code dimension of M1 ({}) varies with s.d. above the active threshold {threshold}: M1 has collapsed, or the threshold is too high",
                self.dir.display()
            )));
        }
        let run = std::fs::canonicalize(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let features = Features {
            sha256: self.sha256.clone(),
            config_sha256: Some(self.config_sha256.clone()),
            run,
            image: self.vae.config().image,
            latent: self.vae.latent(),
            active,
            threshold,
            fill,
        };
        Ok((features, codes))
    }
}
