//! The latent-space explorer as a web page that carries its own model: the library's decoder and
//! encoder compiled to WebAssembly, so the page needs no server and opens from disk.
//!
//! - `abi`: what the WebAssembly module exports to the page's JavaScript (a small C ABI over
//!   linear memory; compiled natively too, where its tests run).
//! - `export` (native only): writes the page's folder for a model: `index.html` (the explorer,
//!   the same page `vae serve` answers with), the module and the weights. The module is built by
//!   this crate's `build.rs` for `wasm32-unknown-unknown` and embedded here.

pub mod abi;
#[cfg(not(target_arch = "wasm32"))]
mod export;
#[cfg(not(target_arch = "wasm32"))]
pub use export::{export_page, wasm_module, Exported, PageModel};

/// The explorer page: `vae serve` answers it as is; an exported page adds its model and module.
pub const EXPLORER_PAGE: &str = include_str!("../assets/explorer.html");
