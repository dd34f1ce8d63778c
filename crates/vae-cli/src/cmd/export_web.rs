//! `vae export-web`: the explorer as a folder that opens from disk or any static host, its model
//! decoded in the browser by the library compiled to WebAssembly.

use super::built_in;
use super::common::{last_epoch, open_model};
use crate::cli::ExportWebArgs;
use anyhow::{Context, Result};
use vae::checkpoint::{read_run_bytes, RunBytes};
use vae_web::{export_page, PageModel};

pub fn run(args: ExportWebArgs) -> Result<()> {
    let exported = match &args.model {
        Some(dir) => {
            // The same checks and errors as `vae serve --model DIR`.
            let (config, _, _) = open_model(dir)?;
            let (run_config, run_weights) = read_run_bytes(dir)?;
            let m1 = match &config.model.features {
                Some(features) => Some(read_run_bytes(&features.run)?),
                None => None,
            };
            // The directory's name only: a published page need not tell where it was made.
            let name = dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| dir.display().to_string());
            let page = PageModel {
                run: RunBytes {
                    config: &run_config,
                    weights: &run_weights,
                },
                m1: m1
                    .as_ref()
                    .map(|(config, weights)| RunBytes { config, weights }),
                metrics: last_epoch(dir),
                source: format!("run directory {name}"),
            };
            export_page(&page, &args.out)
        }
        None => {
            let page = PageModel {
                run: built_in::MODEL,
                m1: None,
                metrics: built_in::last_metrics(),
                source: built_in::SOURCE.to_string(),
            };
            export_page(&page, &args.out)
        }
    }
    .with_context(|| format!("exporting the explorer to {}", args.out.display()))?;
    for (path, bytes) in &exported.files {
        println!("wrote {} ({})", path.display(), megabytes(*bytes));
    }
    println!(
        "the page is {}; open {} in a browser, or put the folder on any static host",
        megabytes(exported.bytes()),
        args.out.join("index.html").display()
    );
    Ok(())
}

fn megabytes(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}
