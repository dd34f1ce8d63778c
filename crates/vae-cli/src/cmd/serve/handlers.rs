//! The endpoints: what each answers, with its input checked against the model.

use super::api::{blocking, internal, timed, with_workspace, ApiError};
use super::{Served, Shared, PAGE};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use vae::kernels::rng::{stream, Purpose};
use vae::latent::manifold_points;
use vae::render::{png_bytes, tile, GridLayout};
use vae::Generative;
use vae::Model;

/// Latent coordinates beyond this many prior standard deviations are refused: nothing there was
/// trained, and huge values only probe for overflow.
const Z_BOUND: f32 = 10.0;
const MAX_GRID: usize = 40;

pub(super) async fn page() -> Html<&'static str> {
    Html(PAGE)
}

pub(super) async fn model_info(State(s): State<Shared>) -> Json<Value> {
    let m = &s.config.model;
    Json(json!({
        "latent_dim": s.model.latent(),
        "conditional": m.classes > 0,
        "classes": m.classes,
        "class_names": if m.classes > 0 { s.class_names.clone() } else { Vec::new() },
        "dataset": s.config.dataset,
        "image": m.data_image(),
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
pub(super) struct DecodeRequest {
    z: Vec<f32>,
    label: Option<i64>,
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

pub(super) async fn decode(
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
pub(super) struct EncodeRequest {
    pixels: Vec<f32>,
    label: Option<i64>,
}

/// Importance samples per class when a conditional model guesses a drawing's label.
const LABEL_SAMPLES: usize = 32;

pub(super) async fn encode(
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
                // A fixed noise stream, so the same drawing always gets the same answer.
                let mut rng = stream(0, Purpose::Evaluate, &[]);
                let mut scores = Vec::new();
                model
                    .class_log_likelihoods(ws, &request.pixels, LABEL_SAMPLES, &mut rng, &mut scores)
                    .map_err(bad)?;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ManifoldQuery {
    label: Option<i64>,
    grid: Option<usize>,
}

pub(super) async fn manifold(
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
    vae::memory::decoding(s.model.config(), grid * grid)
        .check_available()
        .map_err(|e| ApiError::bad(e.to_string()))?;
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
