//! `vae manifold`: the decoded latent grid of Kingma & Welling 2013, Fig. 4.

use super::common::{open_model, save_figure};
use super::figures;
use crate::cli::ManifoldArgs;
use anyhow::Result;

pub fn run(args: ManifoldArgs) -> Result<()> {
    let (_, model, _) = open_model(&args.model)?;
    figures::check_label(&model, args.label)?;
    let image = figures::manifold(&model, args.grid, args.dims, args.label, args.image.scale)?;
    let path = save_figure(
        &image,
        args.image.out.as_deref(),
        &args.model,
        "manifold.png",
    )?;
    println!(
        "wrote {} ({}x{} grid over latent dimensions {} and {})",
        path.display(),
        args.grid,
        args.grid,
        args.dims.0,
        args.dims.1
    );
    Ok(())
}
