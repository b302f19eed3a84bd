//! Shared state of the HTTP layer, and the extractor of the signed-in account.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use backline_protocol::ErrorCode;
use backline_service::auth::Account;
use backline_service::Backline;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::error::ApiError;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "backline_session";

#[derive(Clone)]
pub struct AppState {
    pub backline: Backline,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
}

/// The session token of a request: bearer header first, then the cookie.
pub fn request_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        if let Some(token) = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
            return Some(token.trim().to_owned());
        }
    }
    CookieJar::from_headers(&parts.headers)
        .get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
}

/// The signed-in account; rejects with `unauthenticated` / `session_expired`.
pub struct Auth(pub Account);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = request_token(parts).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "sign in first: no session token",
            )
        })?;
        Ok(Auth(state.backline.authenticate(&token).await?))
    }
}

/// A signed-in administrator; rejects others with `forbidden`.
pub struct Admin(pub Account);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(account) = Auth::from_request_parts(parts, state).await?;
        if !account.is_admin() {
            return Err(ApiError::new(ErrorCode::Forbidden, "administrators only"));
        }
        Ok(Admin(account))
    }
}
