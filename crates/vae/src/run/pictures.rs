//! What a run draws when it has trained: samples, reconstructions and its report.

use super::Run;
use crate::data::Split;
use crate::error::Result;
use crate::figures;
use crate::render::save_png;
use crate::report;
use std::path::PathBuf;

impl Run {
    /// Draws the run's pictures into its directory: `samples.png` (64 prior draws),
    /// `reconstructions.png` (32 images of `test` over their reconstructions; not for a GAN or
    /// DCGAN, which have no encoder) and `report.html` (every figure, with `class_names` naming the labels);
    /// the files written, in that order.
    pub fn write_pictures(&self, test: &Split, class_names: &[String]) -> Result<Vec<PathBuf>> {
        let (model, dir) = (&self.model, &self.dir);
        let mut files = vec![dir.join("samples.png")];
        save_png(
            &figures::samples(model, 64, None, self.config.train.seed, 8, 2)?,
            &files[0],
        )?;
        if model.kind().has_encoder() {
            let first: Vec<usize> = (0..32.min(test.len())).collect();
            let path = dir.join("reconstructions.png");
            save_png(&figures::reconstructions(model, test, &first, 8, 2)?, &path)?;
            files.push(path);
        }
        let epoch = self.start_epoch;
        let page = dir.join("report.html");
        report::write(dir, &page, &self.config, model, epoch, test, class_names)?;
        files.push(page);
        Ok(files)
    }
}
