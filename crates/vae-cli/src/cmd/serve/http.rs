//! The HTTP plumbing: the listener, the routes, size limits, JSON errors, and running model work
//! off the reactor threads.

use super::handlers;
use super::Shared;
use anyhow::{Context, Result};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::cell::RefCell;
use std::time::{Duration, Instant};
use vae::model::VaeWorkspace;

/// Request bodies above this are refused with 413: a 64 x 64 RGB image as JSON fits easily.
const BODY_LIMIT: usize = 256 * 1024;

pub(super) async fn serve(state: Shared, host: &str, port: u16) -> Result<()> {
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
        .route("/", get(handlers::page))
        .route("/api/model", get(handlers::model_info))
        .route("/api/decode", post(handlers::decode))
        .route("/api/encode", post(handlers::encode))
        .route("/api/manifold", get(handlers::manifold))
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
pub(super) struct ApiError(pub(super) StatusCode, String);

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError(status, message.into())
    }

    pub(super) fn bad(message: impl Into<String>) -> Self {
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

thread_local! {
    /// Each compute thread keeps its own buffers, so decoding allocates nothing per request.
    static WORKSPACE: RefCell<VaeWorkspace<f32>> = RefCell::new(VaeWorkspace::default());
}

/// Runs `work` with this thread's workspace. The workspace is taken out for the duration, not
/// borrowed: a large decode runs parallel loops, and while it waits for them rayon may run another
/// request's job on this same thread, which then simply starts from an empty workspace.
pub(super) fn with_workspace<T>(work: impl FnOnce(&mut VaeWorkspace<f32>) -> T) -> T {
    let mut workspace = WORKSPACE.take();
    let result = work(&mut workspace);
    WORKSPACE.set(workspace);
    result
}

/// Runs model work on the rayon pool (one thread per core), off the reactor threads. A fixed
/// pool, unlike tokio's growing blocking pool, keeps 50 concurrent requests from becoming 50
/// threads fighting over two cores: the queue is FIFO and the tail latency stays short.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    timed(work).await.map(|(value, _)| value)
}

/// Time spent in the pool's queue and at work.
pub(super) struct Timing {
    pub(super) queued: Duration,
    pub(super) working: Duration,
}

/// `blocking`, also reporting how long the work waited and how long it ran.
pub(super) async fn timed<T: Send + 'static>(
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

pub(super) fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}
