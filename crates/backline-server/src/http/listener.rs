//! The accept loop: HTTP/1.1 with upgrades (the WebSocket) on hyper, under a
//! cap on open connections and a header-read time-out, with a graceful drain.
//!
//! - **Cap.** Every connection holds a permit of a semaphore for as long as its
//!   socket is open — an upgraded WebSocket too, because the permit travels
//!   inside the connection's I/O object. Past the cap a new connection is
//!   answered `503` and closed at once, and the listener logs that it is full at
//!   most once every [`FULL_LOG_EVERY`], with the count of refused connections.
//! - **Time-outs.** hyper closes a connection that has not sent a complete
//!   request head within the header-read time-out, counted from when it opened
//!   or from its previous response: so a connection that sends nothing, sends
//!   slowly, or sits idle between requests is closed. An upgraded WebSocket has
//!   left hyper's HTTP state machine and is not affected (it has its own pings).
//! - **Drain.** On shutdown the loop stops accepting, asks every connection to
//!   close after its current request, and resolves once every permit is back.
//!
//! HTTP/1.1 only: the proxy or load balancer in front speaks HTTP/2 and TLS to
//! browsers. (hyper-util's version-sniffing `auto` builder waits for a client's
//! first bytes without any time-out, which is what an idle flood exploits.)

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tower::Service;

/// The longest the listener stays silent about refusing connections.
pub const FULL_LOG_EVERY: Duration = Duration::from_secs(10);

/// File descriptors kept free beside the connections: the store, NATS, the
/// second listener, files.
const RESERVED_FDS: u64 = 256;

/// What a refused connection reads before it is closed.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\
retry-after: 1\r\ncontent-length: 0\r\n\r\n";

/// A listener's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// Raises the soft open-file limit to the hard one, and returns the connection
/// cap that fits in it (`configured`, or less with a warning).
pub fn fit_to_open_file_limit(configured: usize, others: usize) -> usize {
    let soft = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(soft) => soft,
        Err(error) => {
            tracing::warn!(error.message = %error, "cannot read or raise the open-file limit");
            return configured;
        }
    };
    let room = soft.saturating_sub(RESERVED_FDS + others as u64) as usize;
    if configured > room {
        tracing::warn!(
            http.max_connections = configured,
            open_file_limit = soft,
            cap = room.max(1),
            "http.max_connections does not fit in the open-file limit (raise `ulimit -n` / LimitNOFILE); lowering the cap"
        );
        return room.max(1);
    }
    configured
}

/// Serves `router` on `listener` until `shutdown` is cancelled and every
/// connection has closed.
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut refused: u64 = 0;
    let mut last_full_log: Option<Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tracing::error!(listener = name, error.message = %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            let _ = stream.try_write(REFUSAL);
            drop(stream);
            metrics::counter!("backline_http_connections_refused_total", "listener" => name)
                .increment(1);
            refused += 1;
            if last_full_log.is_none_or(|at| at.elapsed() >= FULL_LOG_EVERY) {
                tracing::warn!(
                    listener = name,
                    max_connections = max,
                    refused,
                    "connection limit reached (http.max_connections): refusing new connections"
                );
                last_full_log = Some(Instant::now());
                refused = 0;
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = connection_service(&mut make_service, peer).await;
        let io = TokioIo::new(Counted {
            stream,
            _permit: permit,
        });
        let http = http.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let connection = http
                .serve_connection(io, TowerToHyperService::new(service))
                .with_upgrades();
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%peer, error.message = %error, "connection closed");
            }
        });
    }
    drop(listener);
    // Every connection, WebSocket included, gives its permit back when it closes.
    let _ = permits.acquire_many(max as u32).await;
}

/// The router for one connection, with its peer address (`ConnectInfo`).
async fn connection_service(
    make_service: &mut IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    peer: SocketAddr,
) -> <IntoMakeServiceWithConnectInfo<Router, SocketAddr> as Service<SocketAddr>>::Response {
    let result: Result<_, Infallible> = make_service.call(peer).await;
    match result {
        Ok(service) => service,
    }
}

/// A TCP stream that holds its connection's permit until it is dropped (after
/// an upgrade, the WebSocket owns it).
struct Counted {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
