//! Writes an exported page: the explorer, its model and the WebAssembly module, in one folder
//! that works from `file://` and from any static host.
//!
//! A page opened from disk may not `fetch` files beside it, but it may load scripts. So the module
//! and the weights travel as scripts: gzip (the browser's own `DecompressionStream` undoes it),
//! then base64. The folder holds:
//! - `index.html`: the explorer page with the WebAssembly backend inlined;
//! - `vae-wasm.js`: the module (`window.VAE_WASM`);
//! - `model.js`: `config.json` as text, `model.safetensors` (and a stacked M2's M1), and what the
//!   page shows beside the model (`window.VAE_MODEL`).

use base64::Engine;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use vae::checkpoint::RunBytes;
use vae::metrics::EpochMetrics;
use vae::{Error, Result};

/// The module `build.rs` compiled, or why there is none.
const MODULE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vae_web.wasm"));
const MODULE_ERROR: &str = include_str!(concat!(env!("OUT_DIR"), "/vae_web.error"));

/// The page's WebAssembly backend, inlined into `index.html`.
const BACKEND: &str = include_str!("../assets/web-backend.js");

/// Where `index.html` loads the model and the module; the explorer page has it once.
const MARKER: &str = "<!-- an exported page loads its model and module here -->";

/// The files an export writes: a folder holding these (or nothing) may be written again.
const FILES: [&str; 3] = ["index.html", "vae-wasm.js", "model.js"];

/// What `index.html` says it was made by; a folder whose `index.html` lacks it is not replaced.
const GENERATOR: &str = "<meta name=\"generator\" content=\"vae export-web\">";

/// The WebAssembly module embedded in this build.
pub fn wasm_module() -> Result<&'static [u8]> {
    if MODULE.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "this build of vae has no WebAssembly module: {}",
            MODULE_ERROR.trim()
        )));
    }
    Ok(MODULE)
}

/// A model as an exported page carries it: its run directory's files, as bytes.
pub struct PageModel<'a> {
    /// `config.json` and `model.safetensors`.
    pub run: RunBytes<'a>,
    /// A stacked M2's M1: its `config.json` and `model.safetensors`.
    pub m1: Option<RunBytes<'a>>,
    /// The last epoch's numbers, shown on the page.
    pub metrics: Option<EpochMetrics>,
    /// Where the model came from, in words.
    pub source: String,
}

/// The files written, with their sizes in bytes.
#[derive(Debug)]
pub struct Exported {
    /// Each file's path and size.
    pub files: Vec<(PathBuf, u64)>,
}

impl Exported {
    /// The page's size: all its files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|(_, n)| n).sum()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    }
}

fn gzip_base64(bytes: &[u8]) -> Result<String> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    let gzip = Path::new("gzip");
    encoder.write_all(bytes).map_err(io(gzip))?;
    let gz = encoder.finish().map_err(io(gzip))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(gz))
}

fn text(bytes: &[u8], what: &str) -> Result<String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Error::InvalidArgument(format!("{what} is not UTF-8 text")))
}

fn run_json(run: &RunBytes, what: &str) -> Result<serde_json::Value> {
    Ok(json!({
        "config": text(run.config, &format!("{what}'s config.json"))?,
        "weights": gzip_base64(run.weights)?,
    }))
}

/// Refuses a folder that holds anything but an earlier export: an export never overwrites files
/// it did not write.
fn check_out(out: &Path) -> Result<()> {
    let refuse = |why: String| Err(Error::InvalidArgument(format!("{}: {why}", out.display())));
    let metadata = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(out)(e)),
    };
    if !metadata.is_dir() {
        return refuse("exists and is not a directory".into());
    }
    let mut ours = false;
    for entry in std::fs::read_dir(out).map_err(io(out))? {
        let name = entry.map_err(io(out))?.file_name();
        let name = name.to_string_lossy();
        if !FILES.contains(&name.as_ref()) {
            return refuse(format!(
                "holds {name}, which an export did not write; choose a new or empty directory"
            ));
        }
        ours = true;
    }
    // An index.html of ours is tens of kilobytes; a larger one is read no further.
    let written_by_us = || {
        vae::fs::read_bounded(&out.join("index.html"), 1 << 20)
            .is_ok_and(|index| String::from_utf8_lossy(&index).contains(GENERATOR))
    };
    if ours && !written_by_us() {
        return refuse(
            "its index.html was not written by vae export-web; choose a new or empty directory"
                .into(),
        );
    }
    Ok(())
}

/// Writes the page for `model` into `out` (created if missing; an earlier export there is
/// replaced, anything else refused). The model is loaded first, so a page is never written for
/// a model the page could not open.
pub fn export_page(model: &PageModel, out: &Path) -> Result<Exported> {
    let module = wasm_module()?;
    vae::checkpoint::load_model_from_bytes(model.run, model.m1, "the model")?;
    check_out(out)?;
    let page = vae_web_page()?;
    let model_js = json!({
        "run": run_json(&model.run, "the model")?,
        "m1": match &model.m1 {
            Some(m1) => run_json(m1, "M1")?,
            None => serde_json::Value::Null,
        },
        "about": { "metrics": model.metrics, "source": model.source },
    });
    let contents: [(&str, String); 3] = [
        ("index.html", page),
        (
            "vae-wasm.js",
            format!(
                "// The explorer's WebAssembly module (crates/vae-web), gzip then base64.\nwindow.VAE_WASM = \"{}\";\n",
                gzip_base64(module)?
            ),
        ),
        (
            "model.js",
            format!(
                "// The page's model: config.json as text, model.safetensors as gzip then base64.\nwindow.VAE_MODEL = {model_js};\n"
            ),
        ),
    ];
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut files = Vec::with_capacity(contents.len());
    for (name, content) in contents {
        let path = out.join(name);
        vae::fs::atomic_write(&path, content.as_bytes())?;
        files.push((path, content.len() as u64));
    }
    Ok(Exported { files })
}

/// The explorer page with the WebAssembly backend in place of the marker.
fn vae_web_page() -> Result<String> {
    let page = crate::EXPLORER_PAGE;
    if page.matches(MARKER).count() != 1 {
        return Err(Error::InvalidArgument(
            "the explorer page has lost its place for the WebAssembly backend".into(),
        ));
    }
    let scripts = format!(
        "{GENERATOR}\n<script src=\"vae-wasm.js\"></script>\n<script src=\"model.js\"></script>\n<script>\n{BACKEND}</script>"
    );
    Ok(page.replace(MARKER, &scripts))
}
