//! `vae interpolate`: decode the path between the encodings of two test images.

use super::common::{open_model, save_figure, test_split_for_model};
use super::figures;
use crate::cli::{InterpolateArgs, PathArg};
use anyhow::Result;
use vae::latent::Path;

pub fn run(args: InterpolateArgs) -> Result<()> {
    let (config, model, _) = open_model(&args.model)?;
    let path = match args.path {
        PathArg::Linear => Path::Linear,
        PathArg::Slerp => Path::Slerp,
    };
    if !model.kind().has_encoder() {
        // A GAN has no encoder: walk between prior draws instead of test images.
        let rows = 8;
        let image = vae::figures::prior_interpolation(
            &model,
            rows,
            args.steps,
            path,
            args.seed,
            args.image.scale,
        )?;
        let out = save_figure(
            &image,
            args.image.out.as_deref(),
            &args.model,
            "interpolation.png",
        )?;
        println!(
            "wrote {} ({rows} walks of {} steps between prior draws z_a, z_b ~ N(0, I), seed {}: a GAN has no encoder to start from test images)",
            out.display(),
            args.steps,
            args.seed
        );
        return Ok(());
    }
    let (test, _) = test_split_for_model(&args.data, &config)?;
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
