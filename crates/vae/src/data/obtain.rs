//! A data set by name, downloaded first when it is not on this machine.

use super::datasets::{download_root, load, missing_files, Dataset, DatasetSpec};
use super::fetch::fetch;
use super::folder::{FolderOptions, FolderReport};
use super::frey;
use crate::error::Result;
use std::path::Path;

/// Loads the data set `spec` names (`mnist`, `fashion-mnist`, `frey`, `idx:DIR`, `folder:DIR`),
/// searching `data_dir` first; a named data set or Frey Face that is missing is downloaded into
/// `data_dir` (or the user's cache) and checked against its checksums first. `say` is given a
/// line for each step of a download. A folder's report lists the files it skipped.
pub fn obtain(
    spec: &str,
    data_dir: Option<&Path>,
    folder: &FolderOptions,
    say: &mut dyn FnMut(&str),
) -> Result<(Dataset, Option<FolderReport>)> {
    match DatasetSpec::parse(spec)? {
        DatasetSpec::Named(named) => {
            let missing = missing_files(named, data_dir);
            if !missing.is_empty() {
                let root = download_root(data_dir)?;
                say(&format!(
                    "{} is not on this machine ({} missing); downloading into {}",
                    named.name,
                    missing.join(", "),
                    root.join(named.name).display()
                ));
                let report = fetch(named, &root, &mut |line| say(&format!("  {line}")))?;
                say(&format!(
                    "  fetched {} files into {}",
                    report.fetched.len(),
                    report.directory.display()
                ));
            }
        }
        DatasetSpec::Frey if frey::locate(data_dir).is_none() => {
            let root = download_root(data_dir)?;
            say(&format!(
                "frey is not on this machine; downloading into {}",
                root.join(frey::NAME).display()
            ));
            frey::fetch(&root, &mut |line| say(&format!("  {line}")))?;
        }
        _ => {}
    }
    load(spec, data_dir, folder)
}
