//! `vae traverse`: one row per latent dimension, swept around the encoding of one test image.

use super::common::{dataset_for_model, open_model, save_figure};
use super::figures;
use crate::cli::TraverseArgs;
use anyhow::Result;
use vae::train::evaluation_split;

pub fn run(args: TraverseArgs) -> Result<()> {
    let (config, model, _) = open_model(&args.model)?;
    let dataset = dataset_for_model(&args.data, &config)?;
    let test = evaluation_split(dataset.test, config.train.binarize);
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
