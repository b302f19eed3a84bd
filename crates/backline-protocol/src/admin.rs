//! Administration bodies: accounts, groups and Not Ready reasons.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::model::{GroupRef, Role};

/// An account as administrators see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub groups: Vec<GroupRef>,
    pub im_permitted: bool,
    pub disabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct CreateUserRequest {
    pub username: String,
    pub display_name: String,
    pub password: String,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default = "default_true")]
    pub im_permitted: bool,
}

fn default_true() -> bool {
    true
}

/// Only the fields present change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, ToSchema)]
pub struct UpdateUserRequest {
    #[serde(default)]
    #[ts(optional)]
    pub display_name: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub password: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub roles: Option<Vec<Role>>,
    #[serde(default)]
    #[ts(optional)]
    pub im_permitted: Option<bool>,
    #[serde(default)]
    #[ts(optional)]
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    /// Member user ids.
    pub members: Vec<String>,
    /// Supervisor user ids: the last wave of an unanswered group consultation.
    pub supervisors: Vec<String>,
    /// Members offered a group consultation per wave.
    pub wave_size: u32,
    /// Seconds a wave waits for an answer before the offer widens.
    pub answer_secs: u32,
    /// The group offered a consultation when no member of this one can take it.
    pub overflow_group_id: Option<String>,
    /// The answer-time target: seconds a group consultation may wait
    /// unanswered before it escalates (marked on the supervisors' board);
    /// 0 for none.
    pub escalate_secs: u32,
    /// Whether an escalated consultation is offered to the group's
    /// supervisors at once (otherwise they are offered it last, after the
    /// waves and the overflow group).
    pub escalate_to_supervisors: bool,
}

/// Changes a group's consultation offer settings; absent fields stay.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, ToSchema)]
pub struct UpdateGroupRequest {
    /// 1–100.
    #[serde(default)]
    #[ts(optional)]
    pub wave_size: Option<u32>,
    /// 1–3600.
    #[serde(default)]
    #[ts(optional)]
    pub answer_secs: Option<u32>,
    /// A group id (not this one), or `""` for none.
    #[serde(default)]
    #[ts(optional)]
    pub overflow_group_id: Option<String>,
    /// 0–86400: the answer-time target in seconds, 0 for none.
    #[serde(default)]
    #[ts(optional)]
    pub escalate_secs: Option<u32>,
    /// Offer an escalated consultation to the group's supervisors at once.
    #[serde(default)]
    #[ts(optional)]
    pub escalate_to_supervisors: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct CreateGroupRequest {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct CreateStatusReasonRequest {
    pub code: String,
    pub label: String,
}

/// `POST /admin/sessions/{id}/messages/{seq}/redact`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, ToSchema)]
pub struct RedactRequest {
    /// Why, kept in the audit log.
    #[serde(default)]
    #[ts(optional)]
    pub reason: Option<String>,
}

/// What a legal hold names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldTarget {
    Contact,
    Interaction,
}

/// `PUT /admin/legal-holds/{kind}/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct LegalHoldRequest {
    /// Why (a case or matter reference), at most 1000 bytes.
    pub reason: String,
}

/// A legal hold: retention and erasure leave its target alone while it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct LegalHoldView {
    pub target_kind: HoldTarget,
    pub target_id: String,
    pub reason: String,
    /// The administrator who placed it.
    pub placed_by: String,
    pub placed_at: i64,
}

/// `POST /admin/retention/run`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, ToSchema)]
pub struct RetentionRequest {
    /// Count what would be deleted, delete nothing.
    #[serde(default)]
    #[ts(optional)]
    pub dry_run: Option<bool>,
}

/// What a retention run deleted (or, dry, would delete), per kind; a kind
/// whose age is not configured (0) counts 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct RetentionReport {
    pub dry_run: bool,
    /// Ended IM sessions with their transcripts.
    pub transcripts: u64,
    /// Ended interactions with their attached transcripts and calls.
    pub interactions: u64,
    pub audit: u64,
}

/// `GET /reports/consultations`: group consultations offered in `[from, to)`, per group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct ConsultationReport {
    /// Unix ms, inclusive.
    pub from: i64,
    /// Unix ms, exclusive.
    pub to: i64,
    pub groups: Vec<GroupFigures>,
}

/// One group's figures in a consultation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct GroupFigures {
    pub group_id: String,
    pub group_name: String,
    /// Consultations offered to the group.
    pub consultations: u32,
    /// Taken by a member.
    pub taken: u32,
    /// Closed untaken (cancelled, or the session ended).
    pub abandoned: u32,
    /// Still offered.
    pub open: u32,
    /// Seconds from the offer to the accept, over the taken ones (none without any).
    pub accept_p50_secs: Option<f64>,
    pub accept_p90_secs: Option<f64>,
    /// Seconds from the accept to the end, over the taken ones that ended.
    pub duration_p50_secs: Option<f64>,
    pub duration_p90_secs: Option<f64>,
    /// Recorded outcomes.
    pub answered: u32,
    pub needs_follow_up: u32,
    pub transferred: u32,
    pub no_answer: u32,
}

/// `GET /admin/audit`'s filters; every one given narrows the answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Any of these actions, comma-separated (`sign_in`, `read_case_data`, `user_updated` …).
    pub action: Option<String>,
    /// Who acted: an account id, `integration:<id>`, `address:<ip>` or `system`.
    pub actor: Option<String>,
    /// What it was about: `interaction:<id>`, `user:<id>`, `group:<id>`, `integration:<id>` …
    pub resource: Option<String>,
    /// Only refused (`false`) or only allowed (`true`) attempts.
    pub allowed: Option<bool>,
    /// From this time (unix ms, inclusive).
    pub from: Option<i64>,
    /// Before this time (unix ms, exclusive).
    pub to: Option<i64>,
    /// The next page: entries older than this entry id (the last one of the previous page).
    pub before: Option<String>,
    /// At most this many (1–500, default 500).
    pub limit: Option<u32>,
}

/// `POST /admin/integrations/{id}/token` and `POST /admin/integrations/{id}/webhook-secret`:
/// the integration and its new credential, shown only in this answer. The
/// old one stops working at once.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct RotatedIntegration {
    pub integration: crate::interactions::IntegrationView,
    /// The new bearer token (`…/token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub token: Option<String>,
    /// The new key of the webhooks' HMAC-SHA256 signature (`…/webhook-secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub webhook_secret: Option<String>,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not sent yet, or failed and waiting for its next attempt.
    Pending,
    Delivered,
    /// Given up after 24 hours of failed attempts.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// One webhook event of an integration and its delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct WebhookDelivery {
    /// The event's id (the body's `id` and `X-Backline-Delivery`).
    pub id: String,
    pub event_type: String,
    pub interaction_id: String,
    /// When the change was committed (unix ms).
    pub created_at: i64,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When a pending event is tried next (unix ms).
    pub next_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub failed_at: Option<i64>,
    /// Why the latest failed attempt failed (`HTTP 500`, a connection error …).
    pub last_error: Option<String>,
}

/// `GET /admin/integrations/{id}/deliveries`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct WebhookDeliveryPage {
    pub deliveries: Vec<WebhookDelivery>,
    /// Older deliveries exist: ask again with `before` = the last one's id.
    pub has_more: bool,
}
