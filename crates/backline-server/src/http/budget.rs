//! The per-request time budget of the REST API (`http.request_timeout_secs`).
//!
//! It covers the whole request, reading the body included, so a client that
//! trickles a body cannot hold a handler forever. A request over budget is
//! answered `request_timeout` (503); a write it started may still commit, as
//! with any answer lost on the way. The WebSocket is not under this budget.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use backline_protocol::ErrorCode;

use crate::error::ApiError;

/// Middleware: answers `request_timeout` when the inner service takes longer than the budget.
pub async fn time_budget(State(budget): State<Duration>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(budget, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("backline_http_request_timeouts_total").increment(1);
            tracing::warn!(%method, %path, budget_secs = budget.as_secs(), "a request exceeded its time budget");
            ApiError::new(
                ErrorCode::RequestTimeout,
                format!(
                    "the request took longer than {} s (http.request_timeout_secs); retry",
                    budget.as_secs()
                ),
            )
            .into_response()
        }
    }
}
