//! `vae traverse`: one row per latent dimension, swept around the encoding of one test image.

use super::common::{open_model, save_figure, test_split_for_model};
use super::figures;
use crate::cli::TraverseArgs;
use anyhow::Result;

pub fn run(args: TraverseArgs) -> Result<()> {
    let (config, model, _) = open_model(&args.model)?;
    let (test, _) = test_split_for_model(&args.data, &config)?;
    figures::check_index(&test, args.image, "--image")?;
    if args.steps == 0 || !(args.range.is_finite() && args.range > 0.0) {
        anyhow::bail!("--steps must be at least 1 and --range positive and finite");
    }
    let image = figures::traversal(
        &model,
        &test,
        args.image,
        args.steps,
        args.range,
        args.output.scale,
    )?;
    let out = save_figure(
        &image,
        args.output.out.as_deref(),
        &args.model,
        "traverse.png",
    )?;
    println!(
        "wrote {} ({} rows, one per latent dimension, each swept over [-{2}, {2}] from test image {3})",
        out.display(),
        model.latent(),
        args.range,
        args.image
    );
    Ok(())
}
