//! `vae scatter`: the test set's encoder means in 2-D, coloured by label.

use super::common::{open_model, save_figure, test_split_for_model};
use super::figures::{self, Projection};
use crate::cli::{ProjectArg, ScatterArgs};
use anyhow::{bail, Result};

pub fn run(args: ScatterArgs) -> Result<()> {
    let (config, model, _) = open_model(&args.model)?;
    let projection = match (args.project, args.dims) {
        (Some(ProjectArg::Pca), Some(_)) => bail!("--dims cannot be combined with --project pca"),
        (_, Some((a, b))) => Projection::Dims(a, b),
        (Some(ProjectArg::Pca), None) => Projection::Pca,
        (Some(ProjectArg::Dims), None) => Projection::Dims(0, 1),
        (None, None) if model.latent() == 2 => Projection::Dims(0, 1),
        (None, None) => Projection::Pca,
    };
    if model.latent() < 2 {
        bail!(
            "a scatter plot needs a latent of at least 2 dimensions; this model has {}",
            model.latent()
        );
    }
    if args.limit == Some(0) {
        bail!("--limit must be at least 1");
    }
    let (test, class_names) = test_split_for_model(&args.data, &config)?;
    let limit = args.limit.unwrap_or(test.len());
    let image = figures::scatter(&model, &test, limit, &class_names, projection)?;
    let path = save_figure(
        &image.into(),
        args.out.as_deref(),
        &args.model,
        "scatter.png",
    )?;
    let axes = match projection {
        Projection::Dims(a, b) => format!("latent dimensions {a} and {b}"),
        Projection::Pca => "the first two principal components".to_string(),
    };
    println!(
        "wrote {} ({} test images, {axes})",
        path.display(),
        limit.min(test.len()),
    );
    Ok(())
}
