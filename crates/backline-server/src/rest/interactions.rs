//! Interactions for agents (with the sharing rule), and the platform (integration) API.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use backline_protocol::interactions::{
    ContactInput, ContactView, CreateInteractionRequest, EndInteractionRequest, HistoryPage,
    InteractionView, Media, UpdateInteractionRequest,
};
use backline_protocol::{ErrorBody, ErrorCode};
use backline_service::interactions::{HistorySearch, Integration};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, AppJson, AppQuery};
use crate::state::{request_token, AppState, Auth};

/// The platform integration a request comes from (`Authorization: Bearer bli_…`).
pub struct Platform(pub Integration);

impl FromRequestParts<AppState> for Platform {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = request_token(parts).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "an integration token is required",
            )
        })?;
        let integration = state.backline.authenticate_integration(&token).await?;
        integration.require(backline_protocol::interactions::IntegrationScope::Platform)?;
        Ok(Platform(integration))
    }
}

/// # `GET /api/v1/interactions`
///
/// The caller's interactions not yet closed with *Done*.
#[utoipa::path(get, path = "/interactions", tag = "interactions", responses((status = 200, body = [InteractionView])))]
pub async fn list_interactions(
    State(state): State<AppState>,
    Auth(account): Auth,
) -> ApiResult<Json<Vec<InteractionView>>> {
    Ok(Json(state.backline.my_interactions(&account).await?))
}

/// # `GET /api/v1/interactions/{id}`
///
/// The interaction with its case data: its agent, or a target who accepted a consultation about it (read-only).
#[utoipa::path(get, path = "/interactions/{id}", tag = "interactions",
    responses((status = 200, body = InteractionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_interaction(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<InteractionView>> {
    Ok(Json(state.backline.interaction(&account, &id).await?))
}

/// # `POST /api/v1/interactions/{id}/done`
#[utoipa::path(post, path = "/interactions/{id}/done", tag = "interactions",
    responses((status = 204), (status = 409, body = ErrorBody)))]
pub async fn interaction_done(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.backline.interaction_done(&account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `GET /api/v1/interactions/{id}/contact`
#[utoipa::path(get, path = "/interactions/{id}/contact", tag = "interactions",
    responses((status = 200, body = ContactView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn interaction_contact(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ContactView>> {
    Ok(Json(
        state.backline.interaction_contact(&account, &id).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// Full-text search over subject, outcome, notes and transcripts (prefix, case- and accent-insensitive).
    #[serde(default)]
    pub q: String,
    /// `voice`, `chat`, `email` or `internal_im`.
    #[param(value_type = Option<String>)]
    pub media: Option<Media>,
    /// From this time (unix ms, inclusive).
    pub from: Option<i64>,
    /// Up to this time (unix ms, inclusive).
    pub to: Option<i64>,
    /// Only interactions handled by this account id.
    pub agent: Option<String>,
    /// At most this many (1–200, default 50).
    pub limit: Option<usize>,
}

/// # `GET /api/v1/interactions/{id}/history`
///
/// The contact's history, newest first, searched (quick search: `q`; advanced: `media`, `from`, `to`, `agent`).
#[utoipa::path(get, path = "/interactions/{id}/history", tag = "interactions", params(HistoryQuery),
    responses((status = 200, body = HistoryPage), (status = 403, body = ErrorBody)))]
pub async fn interaction_history(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
    AppQuery(query): AppQuery<HistoryQuery>,
) -> ApiResult<Json<HistoryPage>> {
    let search = HistorySearch {
        text: query.q,
        media: query.media,
        from: query.from,
        to: query.to,
        agent_id: query.agent.filter(|a| !a.is_empty()),
        limit: query.limit.unwrap_or(50),
    };
    Ok(Json(
        state
            .backline
            .interaction_history(&account, &id, search)
            .await?,
    ))
}

/// # `POST /api/v1/platform/interactions`
///
/// Creates an interaction assigned to an agent (answers 200 with the existing one when `external_id` repeats).
#[utoipa::path(post, path = "/platform/interactions", tag = "platform", request_body = CreateInteractionRequest,
    responses((status = 201, body = InteractionView), (status = 200, body = InteractionView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn platform_create_interaction(
    State(state): State<AppState>,
    Platform(integration): Platform,
    AppJson(request): AppJson<CreateInteractionRequest>,
) -> ApiResult<(StatusCode, Json<InteractionView>)> {
    let (view, created) = state
        .backline
        .platform_create_interaction(&integration, request)
        .await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(view),
    ))
}

/// # `PATCH /api/v1/platform/interactions/{id}`
#[utoipa::path(patch, path = "/platform/interactions/{id}", tag = "platform", request_body = UpdateInteractionRequest,
    responses((status = 200, body = InteractionView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn platform_update_interaction(
    State(state): State<AppState>,
    Platform(integration): Platform,
    Path(id): Path<String>,
    AppJson(request): AppJson<UpdateInteractionRequest>,
) -> ApiResult<Json<InteractionView>> {
    Ok(Json(
        state
            .backline
            .platform_update_interaction(&integration, &id, request)
            .await?,
    ))
}

/// # `POST /api/v1/platform/interactions/{id}/end`
#[utoipa::path(post, path = "/platform/interactions/{id}/end", tag = "platform", request_body = EndInteractionRequest,
    responses((status = 200, body = InteractionView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn platform_end_interaction(
    State(state): State<AppState>,
    Platform(integration): Platform,
    Path(id): Path<String>,
    AppJson(request): AppJson<EndInteractionRequest>,
) -> ApiResult<Json<InteractionView>> {
    Ok(Json(
        state
            .backline
            .platform_end_interaction(&integration, &id, request)
            .await?,
    ))
}

/// # `PUT /api/v1/platform/contacts`
///
/// Creates or updates a contact (matched by `external_id`).
#[utoipa::path(put, path = "/platform/contacts", tag = "platform", request_body = ContactInput,
    responses((status = 200, body = ContactView), (status = 400, body = ErrorBody)))]
pub async fn platform_upsert_contact(
    State(state): State<AppState>,
    Platform(_integration): Platform,
    AppJson(request): AppJson<ContactInput>,
) -> ApiResult<Json<ContactView>> {
    Ok(Json(state.backline.platform_upsert_contact(request).await?))
}
