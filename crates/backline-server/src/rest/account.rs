//! Sign-in, the caller's own account, status, preferences, the directory and the event stream.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use backline_protocol::events::EventPage;
use backline_protocol::model::{
    DirectoryFilter, DirectoryResponse, Me, PresenceView, SetPreferencesRequest, SetStatusRequest,
    SignInMethods, SignInRequest, SignInResponse, SsoFinishRequest, SsoMethod, StatusReason,
};
use backline_protocol::ErrorBody;
use backline_service::auth::Account;
use backline_service::sso::SsoCallback;
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
    signed_in(&state, jar, token, expires_at, account).await
}

/// The answer to a sign-in: the token, also set as the HttpOnly session cookie.
async fn signed_in(
    state: &AppState,
    jar: CookieJar,
    token: String,
    expires_at: i64,
    account: Account,
) -> ApiResult<(CookieJar, Json<SignInResponse>)> {
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

/// Where the browser starts a sign-in with the identity provider.
const SSO_START: &str = "/api/v1/auth/oidc/start";

/// # `GET /api/v1/auth/methods`
///
/// How accounts sign in here (public): whether the password form is offered,
/// and the identity provider's button when single sign-on is configured.
#[utoipa::path(get, path = "/auth/methods", tag = "auth", responses((status = 200, body = SignInMethods)))]
pub async fn sign_in_methods(State(state): State<AppState>) -> Json<SignInMethods> {
    Json(SignInMethods {
        passwords: state.config.auth.passwords,
        sso: state.backline.sso_display_name().map(|name| SsoMethod {
            display_name: name.to_owned(),
            start_url: SSO_START.to_owned(),
        }),
    })
}

/// # `GET /api/v1/auth/oidc/start`
///
/// Starts a sign-in with the identity provider: answers `303` to the
/// provider's authorization URL (authorization code, PKCE S256, a single-use
/// `state` and a nonce kept by the server for 10 minutes).
#[utoipa::path(get, path = "/auth/oidc/start", tag = "auth",
    responses((status = 303, description = "to the identity provider"),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 502, body = ErrorBody)))]
pub async fn sso_start(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    jar: CookieJar,
) -> ApiResult<Response> {
    let start = state.backline.sso_start(from).await?;
    // The browser keeps the state until the provider sends it back: only it
    // may finish this sign-in. `Lax`, since it comes back by a top-level
    // navigation from the provider's site; only the sign-in routes see it.
    let cookie = Cookie::build((SSO_STATE_COOKIE, start.browser_state))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/api/v1/auth/oidc")
        .max_age(time::Duration::minutes(10))
        .secure(state.config.auth.secure_cookie)
        .build();
    Ok(no_store(
        (jar.add(cookie), Redirect::to(&start.url)).into_response(),
    ))
}

/// The cookie that binds a sign-in with the identity provider to its browser.
const SSO_STATE_COOKIE: &str = "backline_sso_state";

#[derive(Debug, Deserialize, IntoParams)]
pub struct SsoCallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub iss: Option<String>,
}

/// # `GET /api/v1/auth/oidc/callback`
///
/// The identity provider sends the browser back here. The `state` is used
/// once; the code is exchanged and the ID token validated; the account is
/// created or updated from its claims (`oidc.rules`). Answers `303` to the
/// desktop with a one-time code in the fragment (`/#sso=<code>`, never sent
/// to a server nor in a `Referer`), which the desktop trades at
/// `POST /auth/oidc/finish`; a refusal goes to `/#sso_error=<code>&message=<text>`
/// with a code of the error table (and is audited).
#[utoipa::path(get, path = "/auth/oidc/callback", tag = "auth", params(SsoCallbackQuery),
    responses((status = 303, description = "to the desktop, with `#sso=…` or `#sso_error=…`")))]
pub async fn sso_callback(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    jar: CookieJar,
    AppQuery(query): AppQuery<SsoCallbackQuery>,
) -> Response {
    let callback = SsoCallback {
        browser_state: jar.get(SSO_STATE_COOKIE).map(|c| c.value().to_owned()),
        code: query.code,
        state: query.state,
        error: query.error,
        error_description: query.error_description,
        iss: query.iss,
    };
    let target = match state.backline.sso_callback(callback, from).await {
        Ok(code) => format!("/#sso={}", fragment_escape(&code)),
        Err(error) => format!(
            "/#sso_error={}&message={}",
            error.code().as_str(),
            fragment_escape(&error.public_message())
        ),
    };
    no_store(Redirect::to(&target).into_response())
}

/// # `POST /api/v1/auth/oidc/finish`
///
/// Trades the callback's one-time code (valid 60 s, once) for a session token,
/// as a password sign-in answers.
#[utoipa::path(post, path = "/auth/oidc/finish", tag = "auth", request_body = SsoFinishRequest,
    responses((status = 200, body = SignInResponse), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn sso_finish(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    jar: CookieJar,
    AppJson(request): AppJson<SsoFinishRequest>,
) -> ApiResult<(CookieJar, Json<SignInResponse>)> {
    let (token, expires_at, account) = state.backline.sso_finish(&request.code, from).await?;
    signed_in(&state, jar, token, expires_at, account).await
}

/// Answers that carry sign-in secrets are never cached.
fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// Percent-encodes all but unreserved characters, for a URL fragment.
fn fragment_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
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
