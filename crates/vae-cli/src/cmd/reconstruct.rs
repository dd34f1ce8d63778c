//! `vae reconstruct`: test images above their reconstructions through the encoder's mean.

use super::common::{open_model, save_figure, test_split_for_model};
use super::figures;
use crate::cli::ReconstructArgs;
use anyhow::{bail, Result};
use vae::kernels::rng::{permutation, stream, Purpose};

pub fn run(args: ReconstructArgs) -> Result<()> {
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    let (config, model, _) = open_model(&args.model)?;
    let (test, _) = test_split_for_model(&args.data, &config)?;
    if args.n > test.len() {
        bail!("--n {} is more than the {} test images", args.n, test.len());
    }
    let indices: Vec<usize> = match args.seed {
        Some(seed) => {
            permutation(&mut stream(seed, Purpose::Select, &[]), test.len())[..args.n].to_vec()
        }
        None => (0..args.n).collect(),
    };
    let image = figures::reconstructions(
        &model,
        &test,
        &indices,
        args.grid.columns.max(1),
        args.grid.scale,
    )?;
    let path = save_figure(
        &image,
        args.grid.out.as_deref(),
        &args.model,
        "reconstructions.png",
    )?;
    println!(
        "wrote {} ({} images, each above its reconstruction)",
        path.display(),
        args.n
    );
    Ok(())
}
