//! `vae report` (and the end of `vae train`): report.html with every figure embedded.

use super::common::{open_model, test_split_for_model};
use crate::cli::ReportArgs;
use anyhow::{Context, Result};

pub use vae::report::EVALUATION_FILE;

pub fn run(args: ReportArgs) -> Result<()> {
    let (config, model, epoch) = open_model(&args.model)?;
    let (test, class_names) = test_split_for_model(&args.data, &config)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.model.join("report.html"));
    vae::report::write(
        &args.model,
        &out,
        &config,
        &model,
        epoch,
        &test,
        &class_names,
    )
    .with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}
