//! `vae curves`: ELBO and its terms per epoch, from metrics.jsonl; with `--by-samples`, the bound
//! of one or more runs against the training samples evaluated (Kingma & Welling 2013, Fig. 2).

use super::common::save_figure;
use super::figures;
use crate::cli::CurvesArgs;
use anyhow::{bail, Context, Result};

pub fn run(args: CurvesArgs) -> Result<()> {
    let Some(first) = args.model.first() else {
        bail!("--model names no run");
    };
    let image = if args.by_samples {
        figures::bound_by_samples(&args.model, &args.title).with_context(|| {
            format!(
                "reading the metrics of {}",
                args.model
                    .iter()
                    .map(|m| m.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?
    } else {
        if args.model.len() > 1 {
            bail!("several runs are drawn side by side with --by-samples");
        }
        figures::curves(first)
            .with_context(|| format!("reading the metrics of {}", first.display()))?
    };
    let path = save_figure(&image.into(), args.out.as_deref(), first, "curves.png")?;
    println!("wrote {}", path.display());
    Ok(())
}
