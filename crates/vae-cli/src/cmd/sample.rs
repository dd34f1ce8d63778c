//! `vae sample`: decode draws from the prior N(0, I).

use super::common::{open_model, save_figure};
use super::figures;
use crate::cli::SampleArgs;
use anyhow::{bail, Result};

pub fn run(args: SampleArgs) -> Result<()> {
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    let (_, model, _) = open_model(&args.model)?;
    let image = match &args.attributes {
        Some(on) => {
            if args.label.is_some() {
                bail!("give --label or --attributes, not both");
            }
            vae::figures::samples_with_attributes(
                &model,
                args.n,
                on,
                args.seed,
                args.grid.columns,
                args.grid.scale,
            )
            .map_err(|e| anyhow::anyhow!("--attributes: {e}"))?
        }
        None => {
            figures::check_label(&model, args.label)?;
            figures::samples(
                &model,
                args.n,
                args.label,
                args.seed,
                args.grid.columns,
                args.grid.scale,
            )?
        }
    };
    let path = save_figure(&image, args.grid.out.as_deref(), &args.model, "samples.png")?;
    println!("wrote {} ({} samples)", path.display(), args.n);
    Ok(())
}
