//! What every endpoint shares: the JSON error, the compute pool and its workspaces, and running
//! model work off the reactor threads, timed.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::cell::RefCell;
use std::time::{Duration, Instant};
use vae::model::VaeWorkspace;

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

/// The explorer refuses bad input with `InvalidArgument` (a 422); anything else is the server's
/// fault (a 500).
impl From<vae::Error> for ApiError {
    fn from(e: vae::Error) -> Self {
        match e {
            vae::Error::InvalidArgument(message) => ApiError::bad(message),
            other => internal(other),
        }
    }
}

/// The compute pool requests run on (`vae serve --threads`); rayon's global pool until it is set.
pub(super) static COMPUTE: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();

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

/// Runs model work on the compute pool (one thread per core, or `--threads`), off the reactor
/// threads. A fixed
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
    let job = move || {
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
    };
    match COMPUTE.get() {
        Some(pool) => pool.spawn_fifo(job),
        None => rayon::spawn_fifo(job),
    }
    receiver
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the worker stopped"))?
}

pub(super) fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}
