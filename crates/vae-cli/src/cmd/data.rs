//! `vae data fetch` and `vae data list`.

use crate::cli::DataCommand;
use anyhow::{Context, Result};
use vae::data::datasets::{download_root, locate, read_verified, NAMED};
use vae::data::fetch::fetch;
use vae::data::{frey, DatasetSpec};

pub fn run(command: DataCommand) -> Result<()> {
    match command {
        DataCommand::Fetch { name, data_dir } => {
            let spec = DatasetSpec::parse(&name)?;
            if let DatasetSpec::Frey = spec {
                let root = download_root(data_dir.as_deref())?;
                let path = frey::fetch(&root, &mut |line| eprintln!("{line}"))
                    .with_context(|| format!("fetching {name}"))?;
                println!("frey: verified, in {}", path.display());
                return Ok(());
            }
            let DatasetSpec::Named(dataset) = spec else {
                anyhow::bail!(
                    "`{name}` is a local directory, not a data set that can be downloaded"
                );
            };
            let root = download_root(data_dir.as_deref())?;
            let report = fetch(dataset, &root, &mut |line| eprintln!("{line}"))
                .with_context(|| format!("fetching {name}"))?;
            for (file, source) in &report.fetched {
                println!("{file}: verified, from {source}");
            }
            println!(
                "{}: {} files fetched, {} already present, in {}",
                dataset.name,
                report.fetched.len(),
                report.already_present,
                report.directory.display()
            );
            Ok(())
        }
        DataCommand::List { data_dir } => {
            for dataset in NAMED {
                println!("{}", dataset.name);
                for file in &dataset.files {
                    match locate(dataset, file, data_dir.as_deref()) {
                        // Found is not enough: a corrupt or truncated copy is named as such.
                        Some(path) => match read_verified(dataset, file, &path) {
                            Ok(_) => println!("  {:<26} {} (verified)", file.name, path.display()),
                            Err(e) => println!("  {:<26} unusable: {e}", file.name),
                        },
                        None => println!(
                            "  {:<26} missing (vae data fetch {})",
                            file.name, dataset.name
                        ),
                    }
                }
            }
            println!("frey");
            match frey::locate(data_dir.as_deref()) {
                Some(path) => match frey::verify(&path) {
                    Ok(()) => println!("  {:<26} {} (verified)", frey::FILE, path.display()),
                    Err(e) => println!("  {:<26} unusable: {e}", frey::FILE),
                },
                None => println!("  {:<26} missing (vae data fetch frey)", frey::FILE),
            }
            Ok(())
        }
    }
}
