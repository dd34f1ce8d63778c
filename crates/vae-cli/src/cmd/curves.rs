//! `vae curves`: ELBO and its terms per epoch, from metrics.jsonl.

use super::common::save_figure;
use super::figures;
use crate::cli::CurvesArgs;
use anyhow::{Context, Result};

pub fn run(args: CurvesArgs) -> Result<()> {
    let image = figures::curves(&args.model)
        .with_context(|| format!("reading the metrics of {}", args.model.display()))?;
    let path = save_figure(
        &image.into(),
        args.out.as_deref(),
        &args.model,
        "curves.png",
    )?;
    println!("wrote {}", path.display());
    Ok(())
}
