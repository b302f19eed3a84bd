//! Voice: ICE servers, call control, the voice consultation, and the click-to-call page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use backline_protocol::voice::{
    AcceptCallRequest, CallView, IceConfig, PublicCallRequest, PublicCallResponse,
};
use backline_protocol::{ErrorBody, ErrorCode};
use backline_service::voice::Actor;

use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult, AppJson};
use crate::state::{request_token, AppState, Auth};

/// # `GET /api/v1/voice/ice-servers`
#[utoipa::path(get, path = "/voice/ice-servers", tag = "voice", responses((status = 200, body = IceConfig)))]
pub async fn ice_servers(State(state): State<AppState>, Auth(account): Auth) -> Json<IceConfig> {
    Json(state.backline.ice_config(&account))
}

/// # `GET /api/v1/calls`
///
/// The caller's calls that have not ended.
#[utoipa::path(get, path = "/calls", tag = "voice", responses((status = 200, body = [CallView])))]
pub async fn list_calls(
    State(state): State<AppState>,
    Auth(account): Auth,
) -> ApiResult<Json<Vec<CallView>>> {
    Ok(Json(state.backline.my_calls(&account).await?))
}

/// # `POST /api/v1/calls/{id}/accept`
#[utoipa::path(post, path = "/calls/{id}/accept", tag = "voice", request_body = AcceptCallRequest,
    responses((status = 200, body = CallView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn accept_call(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
    AppJson(request): AppJson<AcceptCallRequest>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(
        state
            .backline
            .accept_call(&account, &id, &request.device_id)
            .await?,
    ))
}

/// # `POST /api/v1/calls/{id}/reject`
#[utoipa::path(post, path = "/calls/{id}/reject", tag = "voice", responses((status = 200, body = CallView), (status = 409, body = ErrorBody)))]
pub async fn reject_call(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(state.backline.reject_call(&account, &id).await?))
}

/// # `POST /api/v1/calls/{id}/hang-up`
#[utoipa::path(post, path = "/calls/{id}/hang-up", tag = "voice", responses((status = 200, body = CallView), (status = 403, body = ErrorBody)))]
pub async fn hang_up(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(
        state.backline.hang_up(Actor::Agent(account), &id).await?,
    ))
}

/// # `POST /api/v1/calls/{id}/hold`
///
/// Puts the contact on hold: no audio either way.
#[utoipa::path(post, path = "/calls/{id}/hold", tag = "voice", responses((status = 200, body = CallView), (status = 409, body = ErrorBody)))]
pub async fn hold(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(
        state.backline.set_contact_hold(&account, &id, true).await?,
    ))
}

/// # `POST /api/v1/calls/{id}/retrieve`
#[utoipa::path(post, path = "/calls/{id}/retrieve", tag = "voice", responses((status = 200, body = CallView), (status = 409, body = ErrorBody)))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(
        state
            .backline
            .set_contact_hold(&account, &id, false)
            .await?,
    ))
}

/// # `POST /api/v1/sessions/{id}/voice-consultation`
///
/// *Start Voice Consultation* from an IM consultation: the contact is put on hold and the target rings.
#[utoipa::path(post, path = "/sessions/{id}/voice-consultation", tag = "voice", request_body = AcceptCallRequest,
    responses((status = 200, body = CallView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn start_voice_consultation(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
    AppJson(request): AppJson<AcceptCallRequest>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(
        state
            .backline
            .start_voice_consultation(&account, &id, &request.device_id)
            .await?,
    ))
}

/// # `POST /api/v1/calls/{id}/end-consultation`
#[utoipa::path(post, path = "/calls/{id}/end-consultation", tag = "voice", responses((status = 200, body = CallView), (status = 409, body = ErrorBody)))]
pub async fn end_consultation(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(state.backline.end_consultation(&account, &id).await?))
}

/// # `POST /api/v1/calls/{id}/complete-transfer`
#[utoipa::path(post, path = "/calls/{id}/complete-transfer", tag = "voice", responses((status = 200, body = CallView), (status = 409, body = ErrorBody)))]
pub async fn complete_transfer(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(
        state
            .backline
            .complete_consultation(Actor::Agent(account), &id, true)
            .await?,
    ))
}

/// # `POST /api/v1/calls/{id}/complete-conference`
#[utoipa::path(post, path = "/calls/{id}/complete-conference", tag = "voice", responses((status = 200, body = CallView), (status = 409, body = ErrorBody)))]
pub async fn complete_conference(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(
        state
            .backline
            .complete_consultation(Actor::Agent(account), &id, false)
            .await?,
    ))
}

/// # `POST /api/v1/public/calls`
///
/// The click-to-call page: calls a Ready agent. No sign-in; the answer carries the caller's token.
/// A caller (client address and `device_id`) whose call still rings gets that call back (200).
/// Each client address has its own budget of new calls (`rate_limited` with `Retry-After`).
#[utoipa::path(post, path = "/public/calls", tag = "voice", request_body = PublicCallRequest,
    responses((status = 201, body = PublicCallResponse), (status = 200, body = PublicCallResponse),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn public_call(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    AppJson(request): AppJson<PublicCallRequest>,
) -> ApiResult<(StatusCode, Json<PublicCallResponse>)> {
    let backline = &state.backline;
    if let Some(ringing) = backline
        .ringing_public_call(address, &request.device_id)
        .await?
    {
        return Ok((StatusCode::OK, Json(ringing)));
    }
    if let Err(wait) = backline.admit_public_call(address) {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            "too many calls from your address: please retry in a moment",
        )
        .retry_after(wait));
    }
    let created = backline
        .public_call(&request.name, &request.device_id, address)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

fn caller_token(request: axum::extract::Request) -> ApiResult<String> {
    let (parts, _) = request.into_parts();
    request_token(&parts)
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "the caller token is required"))
}

/// # `GET /api/v1/public/calls/{id}`
#[utoipa::path(get, path = "/public/calls/{id}", tag = "voice", responses((status = 200, body = CallView), (status = 401, body = ErrorBody)))]
pub async fn public_call_state(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> ApiResult<Json<CallView>> {
    let token = caller_token(request)?;
    Ok(Json(state.backline.caller_call(&token, &id).await?))
}

/// # `POST /api/v1/public/calls/{id}/hang-up`
#[utoipa::path(post, path = "/public/calls/{id}/hang-up", tag = "voice", responses((status = 200, body = CallView), (status = 401, body = ErrorBody)))]
pub async fn public_hang_up(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> ApiResult<Json<CallView>> {
    let token = caller_token(request)?;
    state.backline.caller_call(&token, &id).await?;
    let actor = Actor::Caller {
        call_id: id.clone(),
        party_id: backline_service::voice::contact_party_id(&id),
    };
    Ok(Json(state.backline.hang_up(actor, &id).await?))
}
