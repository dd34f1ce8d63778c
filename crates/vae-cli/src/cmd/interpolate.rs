//! `vae interpolate`: decode the path between the encodings of two test images.

use super::common::{open_model, save_figure, test_split_for_model};
use super::figures;
use crate::cli::{InterpolateArgs, PathArg};
use anyhow::Result;
use vae::latent::Path;

pub fn run(args: InterpolateArgs) -> Result<()> {
    let (config, model, _) = open_model(&args.model)?;
    let (test, _) = test_split_for_model(&args.data, &config)?;
    let path = match args.path {
        PathArg::Linear => Path::Linear,
        PathArg::Slerp => Path::Slerp,
    };
    figures::check_index(&test, args.from, "--from")?;
    figures::check_index(&test, args.to, "--to")?;
    let image = figures::interpolation(
        &model,
        &test,
        args.from,
        args.to,
        args.steps,
        path,
        args.image.scale,
    )?;
    let out = save_figure(
        &image,
        args.image.out.as_deref(),
        &args.model,
        "interpolation.png",
    )?;
    println!(
        "wrote {} (test image {}, {} steps along a {} path, test image {})",
        out.display(),
        args.from,
        args.steps,
        match path {
            Path::Linear => "linear",
            Path::Slerp => "spherical (slerp)",
        },
        args.to
    );
    Ok(())
}
