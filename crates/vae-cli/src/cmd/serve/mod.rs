//! `vae serve`: the latent-space explorer (after Kingma's "Digit Fantasies") and the JSON API it
//! uses. `serve/http.rs` is the only file that knows HTTP; `serve/handlers.rs` answers the
//! endpoints with what `serve/api.rs` gives them all; this file loads the model.
//!
//! - `GET  /`              the page (all assets inlined, nothing loaded from the network)
//! - `GET  /api/model`     `{"latent_dim", "conditional", "classes", "class_names", "dataset", "image", "metrics"}`
//! - `POST /api/decode`    `{"z": [...], "label": 3}` -> the decoded image as PNG
//! - `POST /api/encode`    `{"pixels": [...], "label": 3}` -> `{"mean", "log_var", "label", "reconstruction", ...}`;
//!   a conditional model asked without a label picks the class under which the image is likeliest
//! - `GET  /api/manifold`  `?label=3&grid=20` -> the decoded manifold as PNG (2-D latents only)

mod api;
mod handlers;
mod http;
mod listener;

use super::built_in;
use super::common::{last_epoch, open_model};
use crate::cli::ServeArgs;
use anyhow::{Context, Result};
use std::sync::Arc;
use vae::explore::Explorer;

pub(super) const PAGE: &str = vae_web::EXPLORER_PAGE;
pub(super) type Shared = Arc<Explorer>;

pub fn run(args: ServeArgs) -> Result<()> {
    let pool = super::common::thread_pool(args.threads)?;
    let threads = pool.current_num_threads();
    // Set once per process; a second call (none today) keeps the first pool.
    let _ = api::COMPUTE.set(pool);
    let served = load(&args)?;
    eprintln!(
        "decoding on {}",
        super::common::count(threads, "compute thread")
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let limits = http::Limits {
        timeout: std::time::Duration::from_secs(args.timeout),
        max_connections: args.max_connections as usize,
        hosts: http::AllowedHosts::new(&args.host, &args.allow_hosts),
    };
    runtime.block_on(http::serve(Arc::new(served), &args.host, args.port, limits))
}

fn load(args: &ServeArgs) -> Result<Explorer> {
    let (config, model, metrics, source) = match &args.model {
        Some(dir) => {
            let (config, model, _) = open_model(dir)?;
            (config, model, last_epoch(dir), dir.display().to_string())
        }
        None => {
            let (config, model, _) =
                vae::checkpoint::load_model_from_bytes(built_in::MODEL, None, "built-in model")?;
            (
                config,
                model,
                built_in::last_metrics(),
                built_in::SOURCE.to_string(),
            )
        }
    };
    Ok(Explorer::new(config, model, metrics, source))
}
