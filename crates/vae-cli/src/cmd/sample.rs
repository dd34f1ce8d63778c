//! `vae sample`: decode draws from the prior N(0, I).

use super::common::{open_model, write_grid};
use crate::cli::SampleArgs;
use anyhow::{bail, Result};
use vae::kernels::rng::{stream, Purpose};
use vae::model::VaeWorkspace;

pub fn run(args: SampleArgs) -> Result<()> {
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    let (config, model, _) = open_model(&args.model)?;
    let mut images = Vec::new();
    model.sample(
        &mut VaeWorkspace::default(),
        args.n,
        &mut stream(args.seed, Purpose::Sample, &[]),
        &mut images,
    )?;
    let path = write_grid(
        &images,
        config.model.image,
        &args.grid,
        args.model.join("samples.png"),
    )?;
    println!("wrote {} ({} samples)", path.display(), args.n);
    Ok(())
}
