//! IM sessions: create, read, accept / reject / cancel / end / done, messages, transcript, marks.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use backline_protocol::interactions::{OutcomeView, SetOutcomeRequest};
use backline_protocol::model::{
    CreateSessionRequest, MarkRequest, MessageAck, MissedView, NewMessage, SessionView,
    SupervisionBoard, TranscriptPage, WhisperRequest,
};
use backline_protocol::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, AppJson, AppQuery};
use crate::state::{AppState, Auth};

/// # `GET /api/v1/sessions`
///
/// The caller's workspace: sessions not yet *Done*, pending invitations included.
#[utoipa::path(get, path = "/sessions", tag = "sessions", responses((status = 200, body = [SessionView])))]
pub async fn list_sessions(
    State(state): State<AppState>,
    Auth(account): Auth,
) -> ApiResult<Json<Vec<SessionView>>> {
    Ok(Json(state.backline.workspace(&account).await?))
}

/// # `POST /api/v1/sessions`
///
/// Opens an IM session and invites the target (with `first_message` in the invitation).
#[utoipa::path(post, path = "/sessions", tag = "sessions", request_body = CreateSessionRequest,
    responses((status = 201, body = SessionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_session(
    State(state): State<AppState>,
    Auth(account): Auth,
    AppJson(request): AppJson<CreateSessionRequest>,
) -> ApiResult<(StatusCode, Json<SessionView>)> {
    let view = state.backline.create_session(&account, request).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// # `GET /api/v1/sessions/{id}`
#[utoipa::path(get, path = "/sessions/{id}", tag = "sessions",
    responses((status = 200, body = SessionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_session(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(state.backline.session(&account, &id).await?))
}

/// # `POST /api/v1/sessions/{id}/accept`
#[utoipa::path(post, path = "/sessions/{id}/accept", tag = "sessions",
    responses((status = 200, body = SessionView), (status = 409, body = ErrorBody)))]
pub async fn accept_session(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(state.backline.accept(&account, &id).await?))
}

/// # `POST /api/v1/sessions/{id}/reject`
#[utoipa::path(post, path = "/sessions/{id}/reject", tag = "sessions",
    responses((status = 200, body = SessionView), (status = 409, body = ErrorBody)))]
pub async fn reject_session(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(state.backline.reject(&account, &id).await?))
}

/// # `POST /api/v1/sessions/{id}/cancel`
#[utoipa::path(post, path = "/sessions/{id}/cancel", tag = "sessions",
    responses((status = 200, body = SessionView), (status = 409, body = ErrorBody)))]
pub async fn cancel_session(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(state.backline.cancel(&account, &id).await?))
}

/// # `POST /api/v1/sessions/{id}/end`
///
/// *End Session*: ends it for every participant.
#[utoipa::path(post, path = "/sessions/{id}/end", tag = "sessions",
    responses((status = 200, body = SessionView), (status = 409, body = ErrorBody)))]
pub async fn end_session(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(state.backline.end_session(&account, &id).await?))
}

/// # `POST /api/v1/sessions/{id}/done`
///
/// *Done*: removes the session from the caller's workspace (ending it first if still open).
#[utoipa::path(post, path = "/sessions/{id}/done", tag = "sessions", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn done_session(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.backline.done(&account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /api/v1/sessions/{id}/messages`
///
/// Appends a message; answered once it is committed. A retry with the same `client_msg_id` returns the first answer.
#[utoipa::path(post, path = "/sessions/{id}/messages", tag = "sessions", request_body = NewMessage,
    responses((status = 200, body = MessageAck), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn send_message(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
    AppJson(message): AppJson<NewMessage>,
) -> ApiResult<Json<MessageAck>> {
    Ok(Json(
        state
            .backline
            .send_message(&account, &id, &message.client_msg_id, &message.text)
            .await?,
    ))
}

/// # `POST /api/v1/sessions/{id}/join`
///
/// A supervisor joins an IM consultation: a supervisor of the group it was
/// offered to, or of a group its initiator or an invitee belongs to. Everyone
/// in it sees "Name (supervisor) joined"; joining again answers the session.
#[utoipa::path(post, path = "/sessions/{id}/join", tag = "sessions",
    responses((status = 200, body = SessionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn join_session(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(
        state.backline.join_as_supervisor(&account, &id).await?,
    ))
}

/// # `POST /api/v1/sessions/{id}/whisper`
///
/// A joined supervisor's message to one participant (`to`): only the two of
/// them receive it or read it in the transcript, as a `whisper` entry.
#[utoipa::path(post, path = "/sessions/{id}/whisper", tag = "sessions", request_body = WhisperRequest,
    responses((status = 200, body = MessageAck), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn whisper(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
    AppJson(request): AppJson<WhisperRequest>,
) -> ApiResult<Json<MessageAck>> {
    Ok(Json(state.backline.whisper(&account, &id, request).await?))
}

/// # `GET /api/v1/supervision/board`
///
/// The caller's supervision board: the groups they supervise with each
/// member's status, and the open and waiting consultations they may join
/// (escalated ones marked, a contact on hold with since when). Each change
/// of it appends `board_changed` to the supervisor's event stream; the
/// desktop then reads it again.
#[utoipa::path(get, path = "/supervision/board", tag = "sessions",
    responses((status = 200, body = SupervisionBoard)))]
pub async fn supervision_board(
    State(state): State<AppState>,
    Auth(account): Auth,
) -> ApiResult<Json<SupervisionBoard>> {
    Ok(Json(state.backline.supervision_board(&account).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TranscriptQuery {
    /// Entries after this seq (ascending from there).
    pub after: Option<u64>,
    /// Entries before this seq (the newest ones before it).
    pub before: Option<u64>,
    /// At most this many (1–500, default 100).
    pub limit: Option<usize>,
}

/// # `GET /api/v1/sessions/{id}/transcript`
#[utoipa::path(get, path = "/sessions/{id}/transcript", tag = "sessions", params(TranscriptQuery),
    responses((status = 200, body = TranscriptPage), (status = 403, body = ErrorBody)))]
pub async fn transcript(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
    AppQuery(query): AppQuery<TranscriptQuery>,
) -> ApiResult<Json<TranscriptPage>> {
    Ok(Json(
        state
            .backline
            .transcript(
                &account,
                &id,
                query.after,
                query.before,
                query.limit.unwrap_or(100),
            )
            .await?,
    ))
}

/// # `POST /api/v1/sessions/{id}/marks`
#[utoipa::path(post, path = "/sessions/{id}/marks", tag = "sessions", request_body = MarkRequest,
    responses((status = 204), (status = 400, body = ErrorBody)))]
pub async fn mark(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
    AppJson(request): AppJson<MarkRequest>,
) -> ApiResult<StatusCode> {
    state
        .backline
        .mark(&account, &id, request.kind, request.seq)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `PUT /api/v1/sessions/{id}/outcome`
///
/// The initiator records what an ended consultation about an interaction came to.
#[utoipa::path(put, path = "/sessions/{id}/outcome", tag = "sessions", request_body = SetOutcomeRequest,
    responses((status = 200, body = OutcomeView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn set_outcome(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
    AppJson(request): AppJson<SetOutcomeRequest>,
) -> ApiResult<Json<OutcomeView>> {
    Ok(Json(
        state.backline.set_outcome(&account, &id, request).await?,
    ))
}

/// # `GET /api/v1/missed`
///
/// The caller's missed invitations: timed out, never answered, not yet replied to or dismissed.
#[utoipa::path(get, path = "/missed", tag = "sessions", responses((status = 200, body = [MissedView])))]
pub async fn list_missed(
    State(state): State<AppState>,
    Auth(account): Auth,
) -> ApiResult<Json<Vec<MissedView>>> {
    Ok(Json(state.backline.missed(&account).await?))
}

/// # `POST /api/v1/missed/{id}/reply`
///
/// Accepts the invitation while it is pending, else opens a session with its initiator.
#[utoipa::path(post, path = "/missed/{id}/reply", tag = "sessions",
    responses((status = 200, body = SessionView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reply_missed(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(state.backline.reply_missed(&account, &id).await?))
}

/// # `POST /api/v1/missed/{id}/dismiss`
#[utoipa::path(post, path = "/missed/{id}/dismiss", tag = "sessions", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn dismiss_missed(
    State(state): State<AppState>,
    Auth(account): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.backline.dismiss_missed(&account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
