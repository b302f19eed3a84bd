//! The REST API under `/api/v1`, its OpenAPI document, and the operational endpoints.

pub mod account;
pub mod admin;
pub mod docs;
pub mod interactions;
pub mod reports;
pub mod scim;
pub mod sessions;
pub mod voice;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use backline_protocol::model::Health;
use backline_protocol::ErrorCode;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Backline API",
        description = "Internal IM and consultation for contact centers. \
        Errors are `{code, message}`; the codes are listed in docs/protocol.md. The live event \
        stream is the WebSocket at /api/v1/ws (see docs/protocol.md)."
    ),
    components(schemas(
        backline_protocol::ErrorCode,
        backline_protocol::interactions::WebhookEvent
    ))
)]
struct ApiDoc;

/// The `/api/v1` routes and the OpenAPI document describing them.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(account::sign_in))
        .routes(routes!(account::sign_out))
        .routes(routes!(account::sign_in_methods))
        .routes(routes!(account::sso_start))
        .routes(routes!(account::sso_callback))
        .routes(routes!(account::sso_finish))
        .routes(routes!(account::get_me))
        .routes(routes!(account::set_status))
        .routes(routes!(account::set_preferences))
        .routes(routes!(account::status_reasons))
        .routes(routes!(account::directory))
        .routes(routes!(account::add_favourite, account::remove_favourite))
        .routes(routes!(account::presence))
        .routes(routes!(account::events))
        .routes(routes!(sessions::list_sessions, sessions::create_session))
        .routes(routes!(sessions::get_session))
        .routes(routes!(sessions::accept_session))
        .routes(routes!(sessions::reject_session))
        .routes(routes!(sessions::cancel_session))
        .routes(routes!(sessions::end_session))
        .routes(routes!(sessions::done_session))
        .routes(routes!(sessions::send_message))
        .routes(routes!(sessions::join_session))
        .routes(routes!(sessions::whisper))
        .routes(routes!(sessions::supervision_board))
        .routes(routes!(sessions::transcript))
        .routes(routes!(sessions::mark))
        .routes(routes!(sessions::set_outcome))
        .routes(routes!(sessions::list_missed))
        .routes(routes!(sessions::reply_missed))
        .routes(routes!(sessions::dismiss_missed))
        .routes(routes!(admin::list_users, admin::create_user))
        .routes(routes!(admin::update_user))
        .routes(routes!(admin::list_groups, admin::create_group))
        .routes(routes!(admin::update_group))
        .routes(routes!(admin::add_member, admin::remove_member))
        .routes(routes!(admin::add_supervisor, admin::remove_supervisor))
        .routes(routes!(admin::list_reasons, admin::create_reason))
        .routes(routes!(admin::list_integrations, admin::create_integration))
        .routes(routes!(admin::rotate_integration_token))
        .routes(routes!(admin::rotate_webhook_secret))
        .routes(routes!(admin::list_deliveries))
        .routes(routes!(admin::redeliver))
        .routes(routes!(admin::audit_log))
        .routes(routes!(admin::redact_message))
        .routes(routes!(admin::run_retention))
        .routes(routes!(admin::list_legal_holds))
        .routes(routes!(admin::place_legal_hold, admin::lift_legal_hold))
        .routes(routes!(admin::export_contact))
        .routes(routes!(admin::erase_contact))
        .routes(routes!(reports::consultations))
        .routes(routes!(interactions::list_interactions))
        .routes(routes!(interactions::get_interaction))
        .routes(routes!(interactions::interaction_done))
        .routes(routes!(interactions::interaction_contact))
        .routes(routes!(interactions::interaction_history))
        .routes(routes!(interactions::platform_create_interaction))
        .routes(routes!(interactions::platform_update_interaction))
        .routes(routes!(interactions::platform_end_interaction))
        .routes(routes!(interactions::platform_upsert_contact))
        .routes(routes!(voice::ice_servers))
        .routes(routes!(voice::list_calls))
        .routes(routes!(voice::accept_call))
        .routes(routes!(voice::reject_call))
        .routes(routes!(voice::hang_up))
        .routes(routes!(voice::hold))
        .routes(routes!(voice::retrieve))
        .routes(routes!(voice::start_voice_consultation))
        .routes(routes!(voice::end_consultation))
        .routes(routes!(voice::complete_transfer))
        .routes(routes!(voice::complete_conference))
        .routes(routes!(voice::public_call))
        .routes(routes!(voice::public_call_state))
        .routes(routes!(voice::public_hang_up))
        .split_for_parts();
    let mut openapi = openapi;
    openapi.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    (router, openapi)
}

/// `/healthz`, `/readyz`, and `/metrics` on the main listener: served only
/// with `metrics.token` set, and then only to a request bearing it.
pub fn ops() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(public_metrics))
}

/// The second listener's routes (`metrics.bind`, a private address):
/// `/metrics` needs the token only when one is configured.
pub fn private_ops() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(private_metrics))
}

async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let started = std::time::Instant::now();
    let result = state.backline.store().ping().await;
    metrics::histogram!("backline_store_ping_seconds").record(started.elapsed().as_secs_f64());
    match result {
        Ok(()) => Ok(Json(Health {
            status: "ready".into(),
        })),
        Err(error) => {
            tracing::warn!(error.message = %error, "readiness check failed");
            Err(ApiError::new(
                ErrorCode::Unavailable,
                format!("the store is not ready: {error}"),
            ))
        }
    }
}

async fn public_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.config.metrics.token.is_empty() {
        return ApiError::new(
            ErrorCode::NotFound,
            "metrics are served on metrics.bind, or here when metrics.token is set",
        )
        .into_response();
    }
    metrics(state, &headers)
}

async fn private_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    metrics(state, &headers)
}

/// The Prometheus text, to a request bearing `metrics.token` when one is set.
fn metrics(state: AppState, headers: &HeaderMap) -> Response {
    if !metrics_token_ok(headers, &state.config.metrics.token) {
        let mut response = ApiError::new(
            ErrorCode::Unauthenticated,
            "/metrics needs \"Authorization: Bearer <metrics.token>\"",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        return response;
    }
    let stats = state.backline.store().writer_stats();
    metrics::gauge!("backline_store_batches").set(stats.batches as f64);
    metrics::gauge!("backline_store_writes").set(stats.writes as f64);
    metrics::gauge!("backline_store_savepoints").set(stats.savepoints as f64);
    metrics::gauge!("backline_store_wal_checkpoints").set(stats.wal_checkpoints as f64);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Whether the request bears the metrics token (any request, when none is
/// configured); compared in constant time.
fn metrics_token_ok(headers: &HeaderMap, token: &str) -> bool {
    use subtle::ConstantTimeEq;
    if token.is_empty() {
        return true;
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
}

/// Unknown `/api/…` routes answer `not_found` in the error format.
pub async fn api_not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}
