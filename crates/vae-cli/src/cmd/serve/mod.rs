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

use super::common::open_model;
use crate::cli::ServeArgs;
use anyhow::{Context, Result};
use std::sync::Arc;
use vae::metrics::{read_metrics, EpochMetrics};
use vae::{Model, RunConfig};

pub(super) const PAGE: &str = include_str!("../../../assets/explorer.html");
const DEFAULT_CONFIG: &[u8] = include_bytes!("../../../assets/default-model/config.json");
const DEFAULT_WEIGHTS: &[u8] = include_bytes!("../../../assets/default-model/model.safetensors");
const DEFAULT_METRICS: &str = include_str!("../../../assets/default-model/metrics.jsonl");
pub(super) struct Served {
    pub(super) config: RunConfig,
    pub(super) model: Model<f32>,
    pub(super) class_names: Vec<String>,
    pub(super) metrics: Option<EpochMetrics>,
    pub(super) source: String,
}

pub(super) type Shared = Arc<Served>;

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

fn load(args: &ServeArgs) -> Result<Served> {
    let (config, model, metrics, source) = match &args.model {
        Some(dir) => {
            let (config, model, _) = open_model(dir)?;
            let metrics = read_metrics(&dir.join(vae::checkpoint::METRICS_FILE)).ok();
            (config, model, metrics, dir.display().to_string())
        }
        None => {
            let (config, model, _) = vae::checkpoint::load_model_from_bytes(
                DEFAULT_CONFIG,
                DEFAULT_WEIGHTS,
                "built-in model",
            )?;
            let metrics = DEFAULT_METRICS
                .lines()
                .map(serde_json::from_str::<EpochMetrics>)
                .collect::<std::result::Result<Vec<_>, _>>()
                .ok();
            (
                config,
                model,
                metrics,
                "the built-in conditional MNIST model".to_string(),
            )
        }
    };
    let class_names = class_names(&config);
    Ok(Served {
        metrics: metrics.and_then(|m| m.last().copied()),
        config,
        model,
        class_names,
        source,
    })
}

/// Names for the labels of a conditional model, without loading its data set.
fn class_names(config: &RunConfig) -> Vec<String> {
    use vae::data::DatasetSpec;
    match DatasetSpec::parse(&config.dataset) {
        Ok(DatasetSpec::Named(named)) => named.class_names.iter().map(|s| s.to_string()).collect(),
        _ => (0..config.model.classes).map(|c| c.to_string()).collect(),
    }
}
