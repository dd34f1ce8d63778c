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
use std::sync::Arc;
use std::time::{Duration, Instant};
use vae::model::VaeWorkspace;

/// Request bodies above this are refused with 413: a 64 x 64 RGB image as JSON fits easily.
const BODY_LIMIT: usize = 256 * 1024;

/// What a client may hold: how long it may take, how many connect at once, which host names
/// it may address the server by.
pub(super) struct Limits {
    pub(super) timeout: Duration,
    pub(super) max_connections: usize,
    pub(super) hosts: AllowedHosts,
}

pub(super) async fn serve(state: Shared, host: &str, port: u16, limits: Limits) -> Result<()> {
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| format!("listening on {host}:{port}"))?;
    let address = listener.local_addr()?;
    println!(
        "serving {} at http://{address}/ (Ctrl-C to stop)",
        state.source
    );
    let app = router(state, Arc::new(limits.hosts), limits.timeout);
    super::listener::serve_connections(listener, app, limits.timeout, limits.max_connections).await
}

fn router(state: Shared, hosts: Arc<AllowedHosts>, body_timeout: Duration) -> Router {
    Router::new()
        .route("/", get(handlers::page))
        .route("/api/model", get(handlers::model_info))
        .route("/api/decode", post(handlers::decode))
        .route("/api/encode", post(handlers::encode))
        .route("/api/manifold", get(handlers::manifold))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such page or endpoint") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            body_timeout,
            read_body_in_time,
        ))
        .layer(middleware::from_fn(refuse_announced_oversize))
        .layer(middleware::from_fn_with_state(hosts, check_host))
        .with_state(state)
}

/// The host names the server answers to. A web page can make a browser send requests to a
/// loopback server under a name of its own (DNS rebinding); the browser still names that host in
/// the `Host` header, so refusing unknown names closes the hole. IP literals cannot be rebound.
pub(super) struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    pub(super) fn new(listen_host: &str, extra: &[String]) -> Self {
        let mut names: Vec<String> = extra.iter().map(|n| n.to_ascii_lowercase()).collect();
        names.push(listen_host.to_ascii_lowercase());
        names.push("localhost".to_string());
        AllowedHosts(names)
    }

    fn allows(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        name.parse::<std::net::IpAddr>().is_ok()
            || name.ends_with(".localhost")
            || self.0.contains(&name)
    }
}

/// The name part of a `Host` header: `[::1]:8080` -> `::1`, `example.org:80` -> `example.org`.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

async fn check_host(
    axum::extract::State(hosts): axum::extract::State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    // RFC 9112, Sec. 3.2: exactly one Host header, and for a request in absolute form
    // (`GET http://name/path`) the authority of the target is the host the request is for.
    let mut headers = request.headers().get_all(header::HOST).iter();
    let (first, second) = (headers.next(), headers.next());
    if second.is_some() {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "the request has more than one Host header",
        )
        .into_response();
    }
    let header_host = match first.map(|v| v.to_str()) {
        Some(Ok(host)) if !host.trim().is_empty() => Some(host.trim().to_string()),
        Some(_) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "the request's Host header is not a host name",
            )
            .into_response()
        }
        None => None,
    };
    let target_host = request.uri().authority().map(|a| a.to_string());
    // Every name the request gives must be one this server answers to.
    let named: Vec<String> = target_host
        .iter()
        .chain(header_host.iter())
        .cloned()
        .collect();
    let host = named
        .iter()
        .find(|h| !hosts.allows(h))
        .or(named.first())
        .cloned();
    match host {
        None => {
            ApiError::new(StatusCode::BAD_REQUEST, "the request has no Host header").into_response()
        }
        Some(host) if !hosts.allows(&host) => {
            let shown: String = host.chars().filter(|c| !c.is_control()).take(100).collect();
            ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "this server does not answer to the host name `{shown}`; start it with \
                     `vae serve --allow-host {}` to allow that name",
                    host_name(&shown)
                ),
            )
            .into_response()
        }
        Some(_) => next.run(request).await,
    }
}

/// Reads the whole body (at most the body limit) within `limit`, so a client that sends its
/// headers and then trickles the body holds the connection no longer than one sending nothing.
async fn read_body_in_time(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(limit, axum::body::to_bytes(body, BODY_LIMIT)).await {
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body did not arrive within {} s", limit.as_secs()),
        )
        .into_response(),
        Ok(Err(_)) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body could not be read: over the length limit of {BODY_LIMIT} bytes, or cut off"),
        )
        .into_response(),
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
    }
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
