//! `vae serve`: the latent-space explorer (after Kingma's "Digit Fantasies") and the JSON API it
//! uses. The only file that knows HTTP.
//!
//! - `GET  /`              the page (all assets inlined, nothing loaded from the network)
//! - `GET  /api/model`     `{"latent_dim", "conditional", "classes", "class_names", "dataset", "image", "metrics"}`
//! - `POST /api/decode`    `{"z": [...], "label": 3}` -> the decoded image as PNG
//! - `POST /api/encode`    `{"pixels": [...], "label": 3}` -> `{"mean", "log_var", "label", "reconstruction", ...}`;
//!   a conditional model asked without a label picks the class under which the image is likeliest
//! - `GET  /api/manifold`  `?label=3&grid=20` -> the decoded manifold as PNG (2-D latents only)

use super::common::open_model;
use crate::cli::ServeArgs;
use anyhow::{Context, Result};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vae::latent::manifold_points;
use vae::metrics::{read_metrics, EpochMetrics};
use vae::model::VaeWorkspace;
use vae::render::{png_bytes, tile, GridLayout};
use vae::{Model, RunConfig};

const PAGE: &str = include_str!("../../assets/explorer.html");
const DEFAULT_CONFIG: &[u8] = include_bytes!("../../assets/default-model/config.json");
const DEFAULT_WEIGHTS: &[u8] = include_bytes!("../../assets/default-model/model.safetensors");
const DEFAULT_METRICS: &str = include_str!("../../assets/default-model/metrics.jsonl");

/// Request bodies above this are refused with 413: a 64 x 64 RGB image as JSON fits easily.
const BODY_LIMIT: usize = 256 * 1024;
/// Latent coordinates beyond this many prior standard deviations are refused: nothing there was
/// trained, and huge values only probe for overflow.
const Z_BOUND: f32 = 10.0;
const MAX_GRID: usize = 40;

struct Served {
    config: RunConfig,
    model: Model<f32>,
    class_names: Vec<String>,
    metrics: Option<EpochMetrics>,
    source: String,
}

type Shared = Arc<Served>;

pub fn run(args: ServeArgs) -> Result<()> {
    let served = load(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(Arc::new(served), &args.host, args.port))
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

async fn serve(state: Shared, host: &str, port: u16) -> Result<()> {
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| format!("listening on {host}:{port}"))?;
    let address = listener.local_addr()?;
    println!(
        "serving {} at http://{address}/ (Ctrl-C to stop)",
        state.source
    );
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            println!("shutting down");
        })
        .await
        .context("serving")
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/model", get(model_info))
        .route("/api/decode", post(decode))
        .route("/api/encode", post(encode))
        .route("/api/manifold", get(manifold))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such page or endpoint") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(refuse_announced_oversize))
        .with_state(state)
}

/// Refuses a body whose announced length is over the limit before reading any of it. (The body
/// limit alone reads 256 KiB before it answers, while the client is still sending.)
async fn refuse_announced_oversize(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match announced {
        Some(length) if length > BODY_LIMIT as u64 => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body of {length} bytes is over the length limit of {BODY_LIMIT}"),
        )
        .into_response(),
        _ => next.run(request).await,
    }
}

/// A 4xx (or 500) answer with a JSON body `{"error": message}`.
struct ApiError(StatusCode, String);

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError(status, message.into())
    }

    fn bad(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::new(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, rejection.body_text())
    }
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn model_info(State(s): State<Shared>) -> Json<Value> {
    let m = &s.config.model;
    Json(json!({
        "latent_dim": m.latent,
        "conditional": m.classes > 0,
        "classes": m.classes,
        "class_names": if m.classes > 0 { s.class_names.clone() } else { Vec::new() },
        "dataset": s.config.dataset,
        "image": m.image,
        "metrics": s.metrics,
        "source": s.source,
    }))
}

/// Checks the label against the model: required for a conditional model, refused otherwise.
fn label_for(s: &Served, label: Option<i64>) -> Result<Vec<u8>, ApiError> {
    let classes = s.model.classes();
    match (classes, label) {
        (0, None) => Ok(Vec::new()),
        (0, Some(_)) => Err(ApiError::bad(
            "this model is not conditional: omit \"label\"",
        )),
        (_, None) => Err(ApiError::bad(format!(
            "this model is conditional: give a \"label\" in 0..={}",
            classes - 1
        ))),
        (_, Some(l)) => {
            let out_of_range =
                || ApiError::bad(format!("label {l} is out of range 0..={}", classes - 1));
            let label = u8::try_from(l).map_err(|_| out_of_range())?;
            s.model
                .check_labels(&[label], 1)
                .map_err(|e| ApiError::bad(e.to_string()))?;
            Ok(vec![label])
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecodeRequest {
    z: Vec<f32>,
    label: Option<i64>,
}

thread_local! {
    /// Each compute thread keeps its own buffers, so decoding allocates nothing per request.
    static WORKSPACE: RefCell<VaeWorkspace<f32>> = RefCell::new(VaeWorkspace::default());
}

/// Runs `work` with this thread's workspace. The workspace is taken out for the duration, not
/// borrowed: a large decode runs parallel loops, and while it waits for them rayon may run another
/// request's job on this same thread, which then simply starts from an empty workspace.
fn with_workspace<T>(work: impl FnOnce(&mut VaeWorkspace<f32>) -> T) -> T {
    let mut workspace = WORKSPACE.take();
    let result = work(&mut workspace);
    WORKSPACE.set(workspace);
    result
}

/// Runs model work on the rayon pool (one thread per core), off the reactor threads. A fixed
/// pool, unlike tokio's growing blocking pool, keeps 50 concurrent requests from becoming 50
/// threads fighting over two cores: the queue is FIFO and the tail latency stays short.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    timed(work).await.map(|(value, _)| value)
}

/// Time spent in the pool's queue and at work.
struct Timing {
    queued: Duration,
    working: Duration,
}

/// `blocking`, also reporting how long the work waited and how long it ran.
async fn timed<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<(T, Timing), ApiError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let submitted = Instant::now();
    rayon::spawn_fifo(move || {
        let started = Instant::now();
        // A panic would abort the whole server from inside rayon; answer 500 instead.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|_| {
                Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the request failed inside the model",
                ))
            });
        let timing = Timing {
            queued: started - submitted,
            working: started.elapsed(),
        };
        let _ = sender.send(result.map(|value| (value, timing)));
    });
    receiver
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the worker stopped"))?
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// One image as PNG bytes.
fn to_png(model: &Model<f32>, pixels: &[f32]) -> Result<Vec<u8>, ApiError> {
    let layout = GridLayout {
        columns: 1,
        scale: 1,
        separator: 0,
    };
    let image = tile(pixels, model.config().image, layout).map_err(internal)?;
    png_bytes(&image).map_err(internal)
}

async fn decode(
    State(s): State<Shared>,
    payload: Result<Json<DecodeRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = payload?;
    let latent = s.model.latent();
    if request.z.len() != latent {
        return Err(ApiError::bad(format!(
            "\"z\" has {} values; this model's latent has {latent}",
            request.z.len()
        )));
    }
    if let Some(bad) = request
        .z
        .iter()
        .find(|v| !v.is_finite() || v.abs() > Z_BOUND)
    {
        return Err(ApiError::bad(format!(
            "latent value {bad} is outside [-{Z_BOUND}, {Z_BOUND}]"
        )));
    }
    let labels = label_for(&s, request.label)?;
    let shared = s.clone();
    let (png, timing) = timed(move || {
        with_workspace(|ws| {
            let mut out = Vec::new();
            shared
                .model
                .decode(ws, &request.z, &labels, 1, &mut out)
                .map_err(|e| ApiError::bad(e.to_string()))?;
            to_png(&shared.model, &out)
        })
    })
    .await?;
    // Server-Timing (W3C): the wait for a compute thread, then the decode itself, PNG included.
    let timing = format!(
        "queue;dur={:.3}, decode;dur={:.3}",
        timing.queued.as_secs_f64() * 1e3,
        timing.working.as_secs_f64() * 1e3
    );
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_string()),
            (header::HeaderName::from_static("server-timing"), timing),
        ],
        png,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EncodeRequest {
    pixels: Vec<f32>,
    label: Option<i64>,
}

/// Importance samples per class when a conditional model guesses a drawing's label.
const LABEL_SAMPLES: usize = 32;

async fn encode(
    State(s): State<Shared>,
    payload: Result<Json<EncodeRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(request) = payload?;
    let shape = s.model.config().image;
    if request.pixels.len() != shape.len() {
        return Err(ApiError::bad(format!(
            "\"pixels\" has {} values; this model's images are {} ({} values, row-major, channel-last)",
            request.pixels.len(),
            shape,
            shape.len()
        )));
    }
    if let Some(bad) = request.pixels.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(ApiError::bad(format!(
            "pixel value {bad} is outside [0, 1]"
        )));
    }
    // A conditional model asked without a label reads the drawing as the class it explains best.
    let guess = s.model.classes() > 0 && request.label.is_none();
    let labels = if guess {
        Vec::new()
    } else {
        label_for(&s, request.label)?
    };
    let shared = s.clone();
    blocking(move || {
        with_workspace(|ws| {
            let model = &shared.model;
            let bad = |e: vae::Error| ApiError::bad(e.to_string());
            let (labels, scores) = if guess {
                let scores = class_scores(model, ws, &request.pixels).map_err(bad)?;
                let best = scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(c, _)| c);
                (vec![best as u8], Some(scores))
            } else {
                (labels, None)
            };
            let latent = model.latent();
            let mut posterior = Vec::new();
            model.encode(ws, &request.pixels, &labels, 1, &mut posterior).map_err(bad)?;
            let (mean, log_var) = posterior.split_at(latent);
            let mut reconstruction = Vec::new();
            model.decode(ws, mean, &labels, 1, &mut reconstruction).map_err(bad)?;
            let png = to_png(model, &reconstruction)?;
            Ok(Json(json!({
                "mean": mean,
                "log_var": log_var,
                "label": labels.first(),
                "label_log_likelihoods": scores,
                "reconstruction": reconstruction,
                "reconstruction_png": format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)),
            })))
        })
    })
    .await
}

/// log p(x | y) for every class y, importance-sampled: the conditional VAE as a generative
/// classifier, with a fixed noise stream so the same drawing always gets the same answer.
fn class_scores(
    model: &Model<f32>,
    ws: &mut VaeWorkspace<f32>,
    pixels: &[f32],
) -> vae::Result<Vec<f64>> {
    let classes = model.classes();
    let x: Vec<f32> = pixels
        .iter()
        .copied()
        .cycle()
        .take(pixels.len() * classes)
        .collect();
    let labels: Vec<u8> = (0..classes as u8).collect();
    let mut scores = Vec::with_capacity(classes);
    let mut rng = vae::kernels::rng::stream(0, vae::kernels::rng::Purpose::Evaluate, &[]);
    model.score(
        ws,
        &x,
        &labels,
        classes,
        LABEL_SAMPLES,
        &mut rng,
        &mut scores,
    )?;
    Ok(scores.iter().map(|s| s.log_likelihood).collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifoldQuery {
    label: Option<i64>,
    grid: Option<usize>,
}

async fn manifold(
    State(s): State<Shared>,
    query: Result<Query<ManifoldQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    if s.model.latent() != 2 {
        return Err(ApiError::bad(format!(
            "the manifold pad needs a 2-D latent; this model has {}",
            s.model.latent()
        )));
    }
    let grid = query.grid.unwrap_or(20);
    if !(2..=MAX_GRID).contains(&grid) {
        return Err(ApiError::bad(format!(
            "grid {grid} must be between 2 and {MAX_GRID}"
        )));
    }
    let label = label_for(&s, query.label)?;
    let shared = s.clone();
    let png = blocking(move || {
        let model = &shared.model;
        let z = manifold_points(grid, 2, (0, 1)).map_err(|e| ApiError::bad(e.to_string()))?;
        let labels = label.first().map_or(Vec::new(), |&l| vec![l; grid * grid]);
        let mut images = Vec::new();
        with_workspace(|ws| model.decode(ws, &z, &labels, grid * grid, &mut images))
            .map_err(internal)?;
        let image = tile(
            &images,
            model.config().image,
            GridLayout {
                columns: grid,
                scale: 1,
                separator: 0,
            },
        )
        .map_err(internal)?;
        png_bytes(&image).map_err(internal)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}
