//! The HTTP server: accepts connections up to `max_connections`, serves each with hyper (over
//! TLS when `use_ssl` is on), and on shutdown stops accepting and lets in-flight requests
//! finish within a bound.
//!
//! Every request has a deadline (`request_timeout`) for its headers and its body together,
//! counted from the moment its connection is ready for it, and its headers are at most
//! `MAX_HEADER_BYTES`: a client that sends slowly, or not at all, holds a connection slot
//! for that long and no longer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::access_log::AccessUser;
use crate::app::App;
use crate::router;
use crate::tls::ReloadableAcceptor;
use http_body_util::BodyExt;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

use crate::body::Deadline;

/// How long in-flight requests may take to finish once shutdown starts.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// A client that has not finished its TLS handshake by then is dropped (slow-loris).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// The most a request's line and headers may take: more is answered 431 by hyper. hyper's
/// own default (about 400 KB) held that much per connection for any client.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

pub async fn run(
    listener: TcpListener,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
    max_connections: usize,
    tls: Option<Arc<ReloadableAcceptor>>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(max_connections));
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    log::warn!("accepting a connection failed: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let app = Arc::clone(&app);
        let watcher = graceful.watcher();
        // Taken per connection: after a SIGHUP, new connections get the new certificate.
        let tls = tls.as_ref().map(|t| t.current());
        // The TLS handshake runs in the connection's own task, so that a slow client does not
        // hold up the accept loop.
        tokio::spawn(async move {
            match tls {
                None => serve(stream, peer, app, watcher).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve(stream, peer, app, watcher).await,
                        Ok(Err(err)) => log::debug!("TLS handshake with {peer} failed: {err}"),
                        Err(_) => log::debug!("TLS handshake with {peer} timed out"),
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => log::debug!("every connection is closed"),
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => {
            log::warn!("some requests were still running {DRAIN_TIMEOUT:?} after shutdown began; closing them");
        }
    }
}

/// Serves HTTP/1.1 on one connection, plain or TLS.
async fn serve<S>(stream: S, peer: SocketAddr, app: Arc<App>, watcher: Watcher)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let timeout = Duration::from_secs(app.config.request_timeout_secs);
    // When the connection became ready for its next request: at accept, then after each
    // answer. hyper times the headers from there; the body must arrive by the same deadline.
    let ready_since = Arc::new(Mutex::new(Instant::now()));
    let service = service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        let app = Arc::clone(&app);
        let ready_since = Arc::clone(&ready_since);
        async move {
            let since = ready_since
                .lock()
                .map(|at| *at)
                .unwrap_or_else(|_| Instant::now());
            request.extensions_mut().insert(Deadline(since + timeout));
            let response = handle_logged(app, request.map(BodyExt::boxed), peer).await;
            if let Ok(mut at) = ready_since.lock() {
                *at = Instant::now();
            }
            Ok::<_, Infallible>(response)
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .max_buf_size(MAX_HEADER_BYTES)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(err) = watcher.watch(connection).await {
        log::debug!("connection from {peer}: {err}");
    }
}

/// [`router::handle`], and the request's line in the access log when there is one.
async fn handle_logged(
    app: Arc<App>,
    request: hyper::Request<crate::body::Body>,
    peer: SocketAddr,
) -> crate::response::HttpResponse {
    let Some(access_log) = app.access_log.clone() else {
        return router::handle(app, request, peer).await;
    };
    let started = std::time::Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let user_agent = request
        .headers()
        .get(hyper::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let mut response = router::handle(app, request, peer).await;
    let user = response
        .extensions_mut()
        .remove::<AccessUser>()
        .unwrap_or_default();
    let bytes = hyper::body::Body::size_hint(response.body())
        .exact()
        .unwrap_or(0);
    access_log.record(&crate::access_log::AccessRecord {
        peer,
        method: &method,
        path: &path,
        user: user.0.as_deref(),
        status: response.status().as_u16(),
        bytes,
        duration: started.elapsed(),
        user_agent: user_agent.as_deref(),
    });
    response
}

/// The address to print for a client, with its scheme.
pub fn display_address(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{addr}")
}
