//! Building and running the server: store → service → workers → router → listener.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;
use axum::Router;
use backline_service::Backline;
use backline_store::{Store, StoreOptions};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::http::listener::{self, Limits};
use crate::state::AppState;
use crate::{http, rest, web, ws};

/// Latencies on a message's path, as histograms rather than summaries: a
/// summary's quantiles cover a rolling window of one process, while buckets
/// add up across nodes and give a p99 over any interval (`histogram_quantile`).
const PATH_LATENCIES: [&str; 5] = [
    "backline_send_seconds",
    "backline_store_commit_seconds",
    "backline_store_commit_statement_seconds",
    "backline_store_writer_checkpoint_seconds",
    "backline_store_ping_seconds",
];

/// Their buckets, in seconds: fine below 10 ms, where the targets are.
const PATH_LATENCY_BUCKETS: [f64; 20] = [
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The metrics recorder is process-global; tests build several apps in one process.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PATH_LATENCIES
                .iter()
                .try_fold(PrometheusBuilder::new(), |builder, name| {
                    builder.set_buckets_for_metric(
                        Matcher::Full((*name).into()),
                        &PATH_LATENCY_BUCKETS,
                    )
                })
                .expect("the buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (embedding); keep going with ours for rendering.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Opens the store (running migrations) and builds the service.
pub async fn open_backline(config: &Config) -> anyhow::Result<Backline> {
    let url = config.database_url();
    if url.starts_with("sqlite:") && config.database.url.is_empty() {
        let dir = &config.server.data_dir;
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!("cannot create the data directory {}: {e}", dir.display())
        })?;
    }
    tracing::info!(database = %redact(&url), "opening the store");
    let mut options = StoreOptions::new(url);
    options.max_read_connections = config.database.max_read_connections;
    let store = Store::open(&options).await?;
    Backline::new(config.service(), store).await
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

/// The whole router.
pub fn app(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (api, mut openapi) = rest::api();
    let (scim, scim_openapi) = rest::scim::routes();
    openapi.paths.paths.extend(scim_openapi.paths.paths);
    let openapi_json = Arc::new(rest::docs::document(&openapi).to_string());
    let api = api.route(
        "/openapi.json",
        get(move || {
            let body = openapi_json.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body.as_str().to_owned(),
                )
            }
        }),
    );
    let frame_limit = state.config.limits.max_frame_bytes;
    let budget = Duration::from_secs(state.config.http.request_timeout_secs);
    // The budget wraps the REST routes only: `/ws` and the fallback are added after it.
    let api = api
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::origin::refuse_cross_origin_changes,
        ))
        .layer(middleware::from_fn_with_state(
            budget,
            http::budget::time_budget,
        ))
        .route("/ws", get(ws::upgrade))
        .fallback(rest::api_not_found);
    let mut router =
        Router::new()
            .nest(
                "/api/v1",
                api.layer(DefaultBodyLimit::max(frame_limit))
                    .layer(axum::middleware::from_fn(crate::error::refuse_nul_in_uri)),
            )
            .route(
                "/api/openapi.json",
                get(|| async { axum::response::Redirect::permanent("/api/v1/openapi.json") }),
            )
            .nest(
                "/scim/v2",
                scim.layer(DefaultBodyLimit::max(frame_limit)).layer(
                    middleware::from_fn_with_state(budget, http::budget::time_budget),
                ),
            )
            .merge(rest::docs::ui())
            .merge(rest::ops());
    router = if state.config.web.assets.is_empty() {
        router.fallback(web::embedded)
    } else {
        let dir = std::path::PathBuf::from(&state.config.web.assets);
        router
            .fallback_service(ServeDir::new(&dir).fallback(ServeFile::new(dir.join("index.html"))))
    };
    (finish(router, state), openapi)
}

/// The second listener's router: health checks and metrics.
pub fn private_app(state: AppState) -> Router {
    finish(rest::private_ops(), state)
}

/// The layers every answer goes through.
fn finish(router: Router<AppState>, state: AppState) -> Router {
    let router = router
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http());
    http::headers::secure(router, state.config.http.hsts).with_state(state)
}

/// Binds with a listen backlog of 4096 (the default 1024 overflows when
/// thousands of desktops reconnect at once after a restart, and each
/// overflowed connection waits a full SYN retry).
async fn bind(address: &str) -> anyhow::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(address).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(addr) {
            Ok(()) => return Ok(socket.listen(4096)?),
            Err(error) => last_error = Some(error),
        }
    }
    Err(match last_error {
        Some(error) => anyhow::anyhow!("cannot listen on {address}: {error}"),
        None => anyhow::anyhow!("{address} names no address to listen on"),
    })
}

/// Connections the second listener (`metrics.bind`) holds at once.
const PRIVATE_MAX_CONNECTIONS: usize = 64;

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    limits: Limits,
    /// The second listener (`metrics.bind`) and its router.
    private: Option<(TcpListener, Router)>,
    backline: Backline,
    grace: Duration,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Opens the store, starts the workers, binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let backline = open_backline(&config).await?;
        Self::with_backline(config, backline).await
    }

    /// Like `build`, with a service already opened (the demo loader uses it).
    pub async fn with_backline(config: Config, backline: Backline) -> anyhow::Result<Application> {
        let workers = backline.spawn_workers();
        let state = AppState {
            backline: backline.clone(),
            config: Arc::new(config.clone()),
            metrics: metrics_handle(),
        };
        let (router, _) = app(state.clone());
        let listener = bind(&config.server.bind).await?;
        tracing::info!(url = %format!("http://{}", listener.local_addr()?), node = backline.bus().node(), "Backline is listening");
        let private = if config.metrics.bind.is_empty() {
            None
        } else {
            let private = bind(&config.metrics.bind).await.context("metrics.bind")?;
            tracing::info!(url = %format!("http://{}", private.local_addr()?), "metrics and health checks are served");
            Some((private, private_app(state)))
        };
        let limits = Limits {
            max_connections: listener::fit_to_open_file_limit(
                config.http.max_connections,
                PRIVATE_MAX_CONNECTIONS,
            ),
            header_read_timeout: Duration::from_secs(config.http.header_read_timeout_secs),
        };
        Ok(Application {
            listener,
            router,
            limits,
            private,
            backline,
            grace: Duration::from_secs(config.server.shutdown_grace_secs),
            workers,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    /// The address of the second listener (`metrics.bind`), if any.
    pub fn private_addr(&self) -> Option<SocketAddr> {
        self.private
            .as_ref()
            .map(|(listener, _)| listener.local_addr().expect("bound listener"))
    }

    pub fn backline(&self) -> &Backline {
        &self.backline
    }

    /// Serves until `shutdown` resolves, then closes sockets (1001), waits for
    /// them to drain (bounded by the grace period) and closes the store.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let token = self.backline.shutdown_token().clone();
        let hub = self.backline.hub().clone();
        let stopping = token.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: closing desktop connections");
            stopping.cancel();
            hub.kill_all();
        });
        let main = listener::serve(
            "main",
            self.listener,
            self.router,
            self.limits,
            token.clone(),
        );
        let private = async {
            if let Some((listener, router)) = self.private {
                let limits = Limits {
                    max_connections: PRIVATE_MAX_CONNECTIONS,
                    ..self.limits
                };
                listener::serve("metrics", listener, router, limits, token.clone()).await;
            }
        };
        let grace = self.grace;
        tokio::select! {
            _ = futures::future::join(main, private) => {}
            _ = async { token.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!("connections did not drain in time; stopping anyway");
            }
        }
        for worker in self.workers {
            worker.abort();
        }
        self.backline.store().close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
