//! The endpoints: each reads its request, asks the library's explorer (which checks the input
//! against the model), and answers JSON or PNG.

use super::api::{blocking, internal, timed, with_workspace, ApiError};
use super::{Shared, PAGE};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use vae::explore::ModelInfo;
use vae::render::{png_bytes, tile, GridLayout};
use vae::ImageShape;

pub(super) async fn page() -> Html<&'static str> {
    Html(PAGE)
}

pub(super) async fn model_info(State(s): State<Shared>) -> Result<Json<ModelInfo>, ApiError> {
    s.info().map(Json).map_err(internal)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecodeRequest {
    z: Vec<f32>,
    label: Option<i64>,
}

/// Images as one PNG, `columns` per row.
fn to_png(shape: ImageShape, pixels: &[f32], columns: usize) -> Result<Vec<u8>, ApiError> {
    let layout = GridLayout {
        columns,
        scale: 1,
        separator: 0,
    };
    let image = tile(pixels, shape, layout).map_err(internal)?;
    png_bytes(&image).map_err(internal)
}

pub(super) async fn decode(
    State(s): State<Shared>,
    payload: Result<Json<DecodeRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = payload?;
    s.check_latent(&request.z)?;
    let labels = s.label(request.label)?;
    let shared = s.clone();
    let (png, timing) = timed(move || {
        with_workspace(|ws| {
            let mut out = Vec::new();
            shared.decode(ws, &request.z, &labels, &mut out)?;
            to_png(shared.image(), &out, 1)
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

pub(super) async fn encode(
    State(s): State<Shared>,
    payload: Result<Json<EncodeRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(request) = payload?;
    let shared = s.clone();
    blocking(move || {
        with_workspace(|ws| {
            let encoding = shared.encode(ws, &request.pixels, request.label)?;
            let png = to_png(shared.image(), &encoding.reconstruction, 1)?;
            let mut answer = serde_json::to_value(&encoding).map_err(internal)?;
            answer["reconstruction_png"] = json!(format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(png)
            ));
            Ok(Json(answer))
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
    let grid = query.grid.unwrap_or(20);
    let shared = s.clone();
    let png = blocking(move || {
        let mut images = Vec::new();
        with_workspace(|ws| shared.manifold(ws, grid, query.label, &mut images))?;
        to_png(shared.image(), &images, grid)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}
