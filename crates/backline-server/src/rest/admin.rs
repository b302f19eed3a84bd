//! Administration: accounts, groups and Not Ready reasons (admin role only).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use backline_protocol::admin::{
    AuditQuery, CreateGroupRequest, CreateStatusReasonRequest, CreateUserRequest, DeliveryState,
    GroupView, RotatedIntegration, UpdateGroupRequest, UpdateUserRequest, UserView,
    WebhookDelivery, WebhookDeliveryPage,
};
use backline_protocol::model::StatusReason;
use backline_protocol::{ErrorBody, ErrorCode};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, AppJson, AppQuery};
use crate::state::{Admin, AppState};

/// # `GET /api/v1/admin/users`
#[utoipa::path(get, path = "/admin/users", tag = "admin", responses((status = 200, body = [UserView]), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    Admin(_admin): Admin,
) -> ApiResult<Json<Vec<UserView>>> {
    Ok(Json(state.backline.list_users().await?))
}

/// # `POST /api/v1/admin/users`
#[utoipa::path(post, path = "/admin/users", tag = "admin", request_body = CreateUserRequest,
    responses((status = 201, body = UserView), (status = 409, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    AppJson(request): AppJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.backline.create_user(Some(&admin), request).await?),
    ))
}

/// # `PATCH /api/v1/admin/users/{id}`
///
/// Changes the fields present. Disabling an account or changing its password signs it out everywhere.
#[utoipa::path(patch, path = "/admin/users/{id}", tag = "admin", request_body = UpdateUserRequest,
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    AppJson(request): AppJson<UpdateUserRequest>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(
        state.backline.update_user_as(&admin, &id, request).await?,
    ))
}

/// # `GET /api/v1/admin/groups`
#[utoipa::path(get, path = "/admin/groups", tag = "admin", responses((status = 200, body = [GroupView])))]
pub async fn list_groups(
    State(state): State<AppState>,
    Admin(_admin): Admin,
) -> ApiResult<Json<Vec<GroupView>>> {
    Ok(Json(state.backline.list_groups().await?))
}

/// # `POST /api/v1/admin/groups`
#[utoipa::path(post, path = "/admin/groups", tag = "admin", request_body = CreateGroupRequest,
    responses((status = 201, body = GroupView), (status = 409, body = ErrorBody)))]
pub async fn create_group(
    State(state): State<AppState>,
    Admin(admin): Admin,
    AppJson(request): AppJson<CreateGroupRequest>,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .backline
                .create_group(Some(&admin), &request.name)
                .await?,
        ),
    ))
}

/// # `PATCH /api/v1/admin/groups/{id}`
///
/// A group's consultation offer settings: wave size, answer time, overflow
/// group, the answer-time target after which an unanswered consultation
/// escalates, and whether escalation offers it to the supervisors at once.
#[utoipa::path(patch, path = "/admin/groups/{id}", tag = "admin", request_body = UpdateGroupRequest,
    responses((status = 200, body = GroupView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_group(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    AppJson(request): AppJson<UpdateGroupRequest>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(
        state
            .backline
            .update_group(Some(&admin), &id, request)
            .await?,
    ))
}

/// # `PUT /api/v1/admin/groups/{id}/supervisors/{user_id}`
#[utoipa::path(put, path = "/admin/groups/{id}/supervisors/{user_id}", tag = "admin", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn add_supervisor(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .backline
        .set_group_supervisor(Some(&admin), &id, &user_id, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `DELETE /api/v1/admin/groups/{id}/supervisors/{user_id}`
#[utoipa::path(delete, path = "/admin/groups/{id}/supervisors/{user_id}", tag = "admin", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_supervisor(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .backline
        .set_group_supervisor(Some(&admin), &id, &user_id, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `PUT /api/v1/admin/groups/{id}/members/{user_id}`
#[utoipa::path(put, path = "/admin/groups/{id}/members/{user_id}", tag = "admin", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn add_member(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .backline
        .set_group_member(Some(&admin), &id, &user_id, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `DELETE /api/v1/admin/groups/{id}/members/{user_id}`
#[utoipa::path(delete, path = "/admin/groups/{id}/members/{user_id}", tag = "admin", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .backline
        .set_group_member(Some(&admin), &id, &user_id, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `GET /api/v1/admin/status-reasons`
#[utoipa::path(get, path = "/admin/status-reasons", tag = "admin", responses((status = 200, body = [StatusReason])))]
pub async fn list_reasons(
    State(state): State<AppState>,
    Admin(_admin): Admin,
) -> ApiResult<Json<Vec<StatusReason>>> {
    Ok(Json(state.backline.status_reasons().await?))
}

/// # `POST /api/v1/admin/status-reasons`
#[utoipa::path(post, path = "/admin/status-reasons", tag = "admin", request_body = CreateStatusReasonRequest,
    responses((status = 201, body = StatusReason), (status = 409, body = ErrorBody)))]
pub async fn create_reason(
    State(state): State<AppState>,
    Admin(admin): Admin,
    AppJson(request): AppJson<CreateStatusReasonRequest>,
) -> ApiResult<(StatusCode, Json<StatusReason>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .backline
                .create_status_reason(Some(&admin), &request.code, &request.label)
                .await?,
        ),
    ))
}

/// # `GET /api/v1/admin/integrations`
#[utoipa::path(get, path = "/admin/integrations", tag = "admin",
    responses((status = 200, body = [backline_protocol::interactions::IntegrationView])))]
pub async fn list_integrations(
    State(state): State<AppState>,
    Admin(_admin): Admin,
) -> ApiResult<Json<Vec<backline_protocol::interactions::IntegrationView>>> {
    Ok(Json(state.backline.list_integrations().await?))
}

/// # `POST /api/v1/admin/integrations`
///
/// Creates a platform credential; the token and the webhook secret are shown only in this answer.
#[utoipa::path(post, path = "/admin/integrations", tag = "admin",
    request_body = backline_protocol::interactions::CreateIntegrationRequest,
    responses((status = 201, body = backline_protocol::interactions::CreatedIntegration), (status = 409, body = ErrorBody)))]
pub async fn create_integration(
    State(state): State<AppState>,
    Admin(admin): Admin,
    AppJson(request): AppJson<backline_protocol::interactions::CreateIntegrationRequest>,
) -> ApiResult<(
    StatusCode,
    Json<backline_protocol::interactions::CreatedIntegration>,
)> {
    let created = state
        .backline
        .create_integration(
            Some(&admin),
            &request.name,
            request.webhook_url,
            request.scopes,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// # `GET /api/v1/admin/audit`
///
/// The audit log, newest first: sign-ins, administrators' changes, reads of
/// shared interaction data that were refused or made as a supervisor or in the
/// grace period after a consultation ended, among others. Filters narrow it;
/// a full page (`limit` entries) may have more after its last entry (`before`).
#[utoipa::path(get, path = "/admin/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = [backline_protocol::interactions::AuditEntry]),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit_log(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    AppQuery(query): AppQuery<AuditQuery>,
) -> ApiResult<Json<Vec<backline_protocol::interactions::AuditEntry>>> {
    Ok(Json(state.backline.audit_search(query).await?))
}

/// # `POST /api/v1/admin/integrations/{id}/token`
///
/// Replaces the integration's token: the old one is refused from now on; the
/// new one is shown only in this answer. Audited.
#[utoipa::path(post, path = "/admin/integrations/{id}/token", tag = "admin",
    responses((status = 200, body = RotatedIntegration), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_integration_token(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<RotatedIntegration>> {
    Ok(Json(
        state.backline.rotate_integration_token(&admin, &id).await?,
    ))
}

/// # `POST /api/v1/admin/integrations/{id}/webhook-secret`
///
/// Replaces the key of the webhooks' signature: every attempt from now on,
/// queued events included, is signed with the new one, shown only in this
/// answer. Audited.
#[utoipa::path(post, path = "/admin/integrations/{id}/webhook-secret", tag = "admin",
    responses((status = 200, body = RotatedIntegration), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_webhook_secret(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<RotatedIntegration>> {
    Ok(Json(
        state.backline.rotate_webhook_secret(&admin, &id).await?,
    ))
}

/// `GET /admin/integrations/{id}/deliveries`' filters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DeliveriesQuery {
    /// `pending` (waiting for its first or next attempt), `delivered` or `failed` (given up).
    pub state: Option<String>,
    /// The next page: events older than this one (the last one of the previous page).
    pub before: Option<String>,
    /// At most this many (1–200, default 50).
    pub limit: Option<u32>,
}

/// # `GET /api/v1/admin/integrations/{id}/deliveries`
///
/// The integration's webhook events, newest first, each with where its
/// delivery stands: attempts, the next one, the last failure.
#[utoipa::path(get, path = "/admin/integrations/{id}/deliveries", tag = "admin", params(DeliveriesQuery),
    responses((status = 200, body = WebhookDeliveryPage), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
    AppQuery(query): AppQuery<DeliveriesQuery>,
) -> ApiResult<Json<WebhookDeliveryPage>> {
    let filter = match query.state.as_deref() {
        None | Some("") => None,
        Some(text) => Some(DeliveryState::parse(text).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                "state: \"pending\", \"delivered\" or \"failed\"",
            )
        })?),
    };
    let limit = match query.limit {
        None => 50,
        Some(n) if (1..=200).contains(&n) => n,
        Some(_) => return Err(ApiError::new(ErrorCode::InvalidRequest, "limit: 1 to 200")),
    };
    let before = query.before.filter(|b| !b.is_empty());
    Ok(Json(
        state
            .backline
            .webhook_deliveries(&id, filter, before.as_deref(), limit)
            .await?,
    ))
}

/// # `POST /api/v1/admin/integrations/{id}/deliveries/{delivery_id}/redeliver`
///
/// Sends the event again, now: a failed one (given up) is tried again, a
/// pending one without waiting for its back-off, a delivered one a second
/// time (receivers de-duplicate by the event id). Audited.
#[utoipa::path(post, path = "/admin/integrations/{id}/deliveries/{delivery_id}/redeliver", tag = "admin",
    responses((status = 200, body = WebhookDelivery), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn redeliver(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((id, delivery_id)): Path<(String, String)>,
) -> ApiResult<Json<WebhookDelivery>> {
    Ok(Json(
        state
            .backline
            .redeliver_webhook(&admin, &id, &delivery_id)
            .await?,
    ))
}

/// # `POST /api/v1/admin/sessions/{id}/messages/{seq}/redact`
///
/// Replaces a message's text (administrators only): the entry keeps its seq
/// and gains `redacted_by`/`redacted_at`; the redaction is audited and every
/// participant's desktops get a `transcript_redacted` event. Redacting it
/// again answers the entry as it is.
#[utoipa::path(post, path = "/admin/sessions/{id}/messages/{seq}/redact", tag = "admin",
    request_body = backline_protocol::admin::RedactRequest,
    responses((status = 200, body = backline_protocol::model::TranscriptEntry),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn redact_message(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((id, seq)): Path<(String, String)>,
    AppJson(request): AppJson<backline_protocol::admin::RedactRequest>,
) -> ApiResult<Json<backline_protocol::model::TranscriptEntry>> {
    let seq: u64 = seq.parse().map_err(|_| {
        crate::error::ApiError::new(
            backline_protocol::ErrorCode::InvalidRequest,
            "seq: a message's sequence number (1, 2, 3 …)",
        )
    })?;
    Ok(Json(
        state
            .backline
            .redact_message(&admin, &id, seq, request.reason)
            .await?,
    ))
}

/// # `POST /api/v1/admin/retention/run`
///
/// Deletes what is past its configured age (`compliance.*_retention_days`)
/// and not under a legal hold; with `dry_run` only counts it. Audited.
#[utoipa::path(post, path = "/admin/retention/run", tag = "admin",
    request_body = backline_protocol::admin::RetentionRequest,
    responses((status = 200, body = backline_protocol::admin::RetentionReport), (status = 403, body = ErrorBody)))]
pub async fn run_retention(
    State(state): State<AppState>,
    Admin(admin): Admin,
    AppJson(request): AppJson<backline_protocol::admin::RetentionRequest>,
) -> ApiResult<Json<backline_protocol::admin::RetentionReport>> {
    let dry_run = request.dry_run.unwrap_or(false);
    Ok(Json(
        state.backline.run_retention(Some(&admin), dry_run).await?,
    ))
}

/// # `GET /api/v1/admin/legal-holds`
#[utoipa::path(get, path = "/admin/legal-holds", tag = "admin",
    responses((status = 200, body = [backline_protocol::admin::LegalHoldView]), (status = 403, body = ErrorBody)))]
pub async fn list_legal_holds(
    State(state): State<AppState>,
    Admin(_admin): Admin,
) -> ApiResult<Json<Vec<backline_protocol::admin::LegalHoldView>>> {
    Ok(Json(state.backline.legal_holds().await?))
}

fn hold_target(kind: &str) -> Result<backline_protocol::admin::HoldTarget, crate::error::ApiError> {
    match kind {
        "contact" => Ok(backline_protocol::admin::HoldTarget::Contact),
        "interaction" => Ok(backline_protocol::admin::HoldTarget::Interaction),
        _ => Err(crate::error::ApiError::new(
            backline_protocol::ErrorCode::InvalidRequest,
            "kind: \"contact\" or \"interaction\"",
        )),
    }
}

/// # `PUT /api/v1/admin/legal-holds/{kind}/{id}`
///
/// Places a legal hold on a contact or an interaction (`kind`): retention
/// and erasure leave it alone until it is lifted. Audited; placing it again
/// answers the standing hold.
#[utoipa::path(put, path = "/admin/legal-holds/{kind}/{id}", tag = "admin",
    request_body = backline_protocol::admin::LegalHoldRequest,
    responses((status = 200, body = backline_protocol::admin::LegalHoldView),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn place_legal_hold(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((kind, id)): Path<(String, String)>,
    AppJson(request): AppJson<backline_protocol::admin::LegalHoldRequest>,
) -> ApiResult<Json<backline_protocol::admin::LegalHoldView>> {
    let kind = hold_target(&kind)?;
    Ok(Json(
        state
            .backline
            .place_legal_hold(&admin, kind, &id, &request.reason)
            .await?,
    ))
}

/// # `DELETE /api/v1/admin/legal-holds/{kind}/{id}`
///
/// Lifts a legal hold. Audited.
#[utoipa::path(delete, path = "/admin/legal-holds/{kind}/{id}", tag = "admin",
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn lift_legal_hold(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((kind, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let kind = hold_target(&kind)?;
    state.backline.lift_legal_hold(&admin, kind, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `GET /api/v1/admin/contacts/{id}/export`
///
/// Everything about one contact (JSON), for a subject-access request: the
/// contact, its interactions with case data, attached transcripts, the
/// consultations' transcripts, audit entries about it. Audited.
#[utoipa::path(get, path = "/admin/contacts/{id}/export", tag = "admin",
    responses((status = 200, body = backline_protocol::interactions::ContactExport),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export_contact(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<backline_protocol::interactions::ContactExport>> {
    Ok(Json(state.backline.export_contact(&admin, &id).await?))
}

/// # `DELETE /api/v1/admin/contacts/{id}`
///
/// Erases a contact, its interactions and the consultations about them;
/// refused (`under_legal_hold`) while it or one of its interactions is held. Audited.
#[utoipa::path(delete, path = "/admin/contacts/{id}", tag = "admin",
    responses((status = 200, body = backline_protocol::interactions::ContactErasure),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn erase_contact(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<backline_protocol::interactions::ContactErasure>> {
    Ok(Json(state.backline.erase_contact(&admin, &id).await?))
}
