//! Connections: accepting them, bounding how many and for how long, and closing them all on
//! Ctrl-C. A slow or idle client costs one descriptor for at most the timeout; a full server
//! closes new connections at once instead of letting them queue in the kernel.

use anyhow::{Context, Result};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// How long connections get to finish their requests after Ctrl-C before they are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Serves `app` on `listener` until Ctrl-C, then stops accepting, asks every open connection to
/// close after its current request, and returns within `SHUTDOWN_GRACE` whatever the clients do.
pub(super) async fn serve_connections(
    listener: TcpListener,
    app: Router,
    head_timeout: Duration,
    max_connections: usize,
) -> Result<()> {
    let (stop, stopped) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut connections = JoinSet::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            signal = &mut ctrl_c => {
                signal.context("waiting for Ctrl-C")?;
                break;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        connections.spawn(connection(stream, app.clone(), head_timeout, stopped.clone(), slot));
                    }
                    Err(_) => drop(stream), // full: closed at once, the client sees a reset
                },
                // Out of descriptors or similar: transient, so wait for connections to close.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    println!("shutting down");
    let _ = stop.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
    Ok(())
}

/// One HTTP/1.1 connection. hyper's header-read timeout runs whenever the connection waits for a
/// request head, so it bounds both a half-sent head and an idle keep-alive connection.
async fn connection(
    stream: TcpStream,
    app: Router,
    head_timeout: Duration,
    mut stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(head_timeout)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stop.wait_for(|stopping| *stopping) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}
