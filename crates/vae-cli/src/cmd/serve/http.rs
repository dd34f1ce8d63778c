//! The HTTP plumbing: the listener, the routes, size limits and host checks.

use super::api::ApiError;
use super::handlers;
use super::Shared;
use anyhow::{Context, Result};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

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
