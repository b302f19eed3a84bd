//! Sign-in, the caller's own account, status, preferences, the directory and the event stream.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use backline_protocol::events::EventPage;
use backline_protocol::model::{
    DirectoryFilter, DirectoryResponse, Me, PresenceView, SetPreferencesRequest, SetStatusRequest,
    SignInRequest, SignInResponse, StatusReason,
};
use backline_protocol::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::client_addr::ClientAddr;
use crate::error::{ApiResult, AppJson, AppQuery};
use crate::state::{request_token, AppState, Auth, SESSION_COOKIE};

/// # `POST /api/v1/auth/sign-in`
///
/// Checks the password (argon2id) and returns a new session token, also set as an HttpOnly cookie.
/// Repeated failures for a username or from a client address are answered
/// `rate_limited` with a `Retry-After` header, before the password is checked.
#[utoipa::path(post, path = "/auth/sign-in", tag = "auth", request_body = SignInRequest,
    responses((status = 200, body = SignInResponse), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    jar: CookieJar,
    AppJson(request): AppJson<SignInRequest>,
) -> ApiResult<(CookieJar, Json<SignInResponse>)> {
    let (token, expires_at, account) = state
        .backline
        .sign_in(&request.username, &request.password, from)
        .await?;
    let me = state.backline.me(&account.id).await?;
    let cookie = Cookie::build((SESSION_COOKIE, token.clone()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(state.config.auth.secure_cookie)
        .build();
    Ok((
        jar.add(cookie),
        Json(SignInResponse {
            token,
            expires_at,
            me,
        }),
    ))
}

/// # `POST /api/v1/auth/sign-out`
///
/// Revokes the session token and clears the cookie.
#[utoipa::path(post, path = "/auth/sign-out", tag = "auth", responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    request: axum::extract::Request,
) -> ApiResult<impl IntoResponse> {
    let (parts, _) = request.into_parts();
    if let Some(token) = request_token(&parts) {
        state.backline.sign_out(&token).await?;
    }
    let removal = Cookie::build((SESSION_COOKIE, "")).path("/").build();
    Ok((jar.remove(removal), StatusCode::NO_CONTENT))
}

/// # `GET /api/v1/me`
#[utoipa::path(get, path = "/me", tag = "me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn get_me(State(state): State<AppState>, Auth(account): Auth) -> ApiResult<Json<Me>> {
    Ok(Json(state.backline.me(&account.id).await?))
}

/// # `PUT /api/v1/me/status`
///
/// "My Status": tells the user's other desktops and every watcher.
#[utoipa::path(put, path = "/me/status", tag = "me", request_body = SetStatusRequest,
    responses((status = 200, body = Me), (status = 400, body = ErrorBody)))]
pub async fn set_status(
    State(state): State<AppState>,
    Auth(account): Auth,
    AppJson(request): AppJson<SetStatusRequest>,
) -> ApiResult<Json<Me>> {
    Ok(Json(
        state
            .backline
            .set_status(&account, request.status, request.reason)
            .await?,
    ))
}

/// # `PUT /api/v1/me/preferences`
#[utoipa::path(put, path = "/me/preferences", tag = "me", request_body = SetPreferencesRequest,
    responses((status = 200, body = Me), (status = 400, body = ErrorBody)))]
pub async fn set_preferences(
    State(state): State<AppState>,
    Auth(account): Auth,
    AppJson(request): AppJson<SetPreferencesRequest>,
) -> ApiResult<Json<Me>> {
    Ok(Json(
        state
            .backline
            .set_preferences(&account, request.zoom)
            .await?,
    ))
}

/// # `GET /api/v1/status-reasons`
#[utoipa::path(get, path = "/status-reasons", tag = "me", responses((status = 200, body = [StatusReason])))]
pub async fn status_reasons(
    State(state): State<AppState>,
    Auth(_caller): Auth,
) -> ApiResult<Json<Vec<StatusReason>>> {
    Ok(Json(state.backline.status_reasons().await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DirectoryQuery {
    /// Search text (display name, username or group); empty lists everyone.
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub filter: DirectoryFilter,
    /// At most this many results (1–200, default 50).
    pub limit: Option<usize>,
    /// Search in this interaction's context (consultation actions, Active Consultations).
    pub interaction_id: Option<String>,
}

/// # `GET /api/v1/directory`
///
/// The Team Communicator search.
#[utoipa::path(get, path = "/directory", tag = "directory", params(DirectoryQuery),
    responses((status = 200, body = DirectoryResponse), (status = 400, body = ErrorBody)))]
pub async fn directory(
    State(state): State<AppState>,
    Auth(account): Auth,
    AppQuery(query): AppQuery<DirectoryQuery>,
) -> ApiResult<Json<DirectoryResponse>> {
    let response = state
        .backline
        .directory(
            &account,
            &query.q,
            query.filter,
            query.limit.unwrap_or(50),
            query.interaction_id.as_deref(),
        )
        .await?;
    Ok(Json(response))
}

/// # `PUT /api/v1/favourites/{target_id}`
#[utoipa::path(put, path = "/favourites/{target_id}", tag = "directory", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn add_favourite(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(target_id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .backline
        .set_favourite(&account, &target_id, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `DELETE /api/v1/favourites/{target_id}`
#[utoipa::path(delete, path = "/favourites/{target_id}", tag = "directory", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_favourite(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(target_id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .backline
        .set_favourite(&account, &target_id, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PresenceQuery {
    /// Comma-separated user ids (at most 500).
    pub ids: String,
}

/// # `GET /api/v1/presence`
#[utoipa::path(get, path = "/presence", tag = "directory", params(PresenceQuery),
    responses((status = 200, body = [PresenceView])))]
pub async fn presence(
    State(state): State<AppState>,
    Auth(_caller): Auth,
    AppQuery(query): AppQuery<PresenceQuery>,
) -> ApiResult<Json<Vec<PresenceView>>> {
    let ids: Vec<String> = query
        .ids
        .split(',')
        .filter(|s| !s.is_empty())
        .take(500)
        .map(str::to_owned)
        .collect();
    Ok(Json(state.backline.presence(&ids).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Return events after this seq.
    #[serde(default)]
    pub after: u64,
    /// At most this many (1–1000, default 500).
    pub limit: Option<i64>,
}

/// # `GET /api/v1/events`
///
/// The caller's event stream over HTTP; `resume_gap` when `after` is older than the retention window.
#[utoipa::path(get, path = "/events", tag = "events", params(EventsQuery),
    responses((status = 200, body = EventPage), (status = 410, body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    Auth(account): Auth,
    AppQuery(query): AppQuery<EventsQuery>,
) -> ApiResult<Json<EventPage>> {
    let (events, head) = state
        .backline
        .events_page(&account.id, query.after, query.limit.unwrap_or(500))
        .await?;
    Ok(Json(EventPage { events, head }))
}
