//! Row types, one per table, each read by column name (`row_struct!`).
//!
//! Booleans are BIGINT 0/1 (the portable subset); helpers turn them into `bool`.

use crate::db::row_struct;
use crate::ids::{CallId, ContactId, GroupId, IntegrationId, InteractionId, SessionId, UserId};
use crate::types::{
    CallKind, CallState, ConsultationOutcome, OfferStage, OfferState, ParticipantRole,
    ParticipantState, PartyKind, PartyState, SessionState,
};

row_struct! {
/// `users`.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    /// Comma-separated role names.
    pub roles: String,
    pub im_permitted: i64,
    pub disabled: i64,
    pub status: String,
    pub status_reason: Option<String>,
    pub zoom: i64,
    pub stream_head: i64,
}
}

row_struct! {
/// `user_groups`.
#[derive(Debug, Clone)]
pub struct GroupRow {
    pub id: GroupId,
    pub name: String,
}
}

row_struct! {
/// A group's consultation offer settings (`user_groups`).
#[derive(Debug, Clone)]
pub struct GroupSettingsRow {
    pub id: GroupId,
    pub name: String,
    /// Members offered per wave (at least 1).
    pub wave_size: i64,
    /// How long a wave waits for an answer before the offer widens.
    pub answer_secs: i64,
    pub overflow_group_id: Option<GroupId>,
    /// The answer-time target: seconds before an unanswered offer escalates (0: none).
    pub escalate_secs: i64,
    /// 1: an escalated offer goes to the group's supervisors at once.
    pub escalate_to_supervisors: i64,
}
}

row_struct! {
/// `group_offers` with the group's name and the name of who took it.
#[derive(Debug, Clone)]
pub struct OfferRow {
    pub session_id: SessionId,
    pub group_id: GroupId,
    pub group_name: String,
    pub state: OfferState,
    pub stage: OfferStage,
    pub wave: i64,
    pub wave_expires_at: i64,
    pub taken_by: Option<UserId>,
    pub taken_by_name: Option<String>,
    pub taken_at: Option<i64>,
    pub created_at: i64,
    /// When it passed its group's answer-time target unanswered.
    pub escalated_at: Option<i64>,
}
}

row_struct! {
/// One group offer for a report: its group, how it went, its outcome.
#[derive(Debug, Clone)]
pub struct OfferReportRow {
    pub group_id: GroupId,
    pub group_name: String,
    pub state: OfferState,
    pub created_at: i64,
    pub taken_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub outcome: Option<ConsultationOutcome>,
}
}

row_struct! {
/// `consultation_outcomes`.
#[derive(Debug, Clone)]
pub struct OutcomeRow {
    pub session_id: SessionId,
    pub outcome: ConsultationOutcome,
    pub note: Option<String>,
    pub recorded_by: UserId,
    pub recorded_at: i64,
}
}

row_struct! {
/// `auth_tokens` joined with the account's `disabled` flag.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub user_id: UserId,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}
}

row_struct! {
/// `status_reasons`.
#[derive(Debug, Clone)]
pub struct ReasonRow {
    pub code: String,
    pub label: String,
}
}

row_struct! {
/// `im_sessions`.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: SessionId,
    pub state: SessionState,
    pub created_by: UserId,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    pub ended_by: Option<UserId>,
    pub last_seq: i64,
    pub parent_interaction_id: Option<InteractionId>,
}
}

row_struct! {
/// `session_participants` joined with the participant's display name.
#[derive(Debug, Clone)]
pub struct ParticipantRow {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub display_name: String,
    /// The account's Internal IM permission, read with the participation.
    pub im_permitted: bool,
    pub role: ParticipantRole,
    pub state: ParticipantState,
    pub color: i64,
    pub invite_timed_out: bool,
    pub invite_expires_at: Option<i64>,
    pub done: bool,
    pub delivered_seq: i64,
    pub read_seq: i64,
}
}

row_struct! {
/// `transcript` joined with actor and subject display names.
#[derive(Debug, Clone)]
pub struct EntryRow {
    pub session_id: SessionId,
    pub seq: i64,
    pub ts: i64,
    pub kind: String,
    pub actor_id: UserId,
    pub actor_name: String,
    pub subject_id: Option<UserId>,
    pub subject_name: Option<String>,
    pub body: Option<String>,
    pub client_msg_id: Option<String>,
    /// Who redacted the message, their name, and when (`None` when not redacted).
    pub redacted_by: Option<UserId>,
    pub redacted_by_name: Option<String>,
    pub redacted_at: Option<i64>,
}
}

row_struct! {
/// `user_events`.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub ts: i64,
    pub payload: String,
}
}

row_struct! {
/// `integrations`.
#[derive(Debug, Clone)]
pub struct IntegrationRow {
    pub id: IntegrationId,
    pub name: String,
    pub webhook_url: Option<String>,
    pub webhook_secret: String,
    /// Comma-separated scopes: `platform`, `scim`.
    pub scopes: String,
    pub created_at: i64,
}
}

row_struct! {
/// `scim_users`: an account as a SCIM resource.
#[derive(Debug, Clone)]
pub struct ScimUserRow {
    pub user_id: UserId,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}
}

row_struct! {
/// `scim_groups`: a group as a SCIM resource.
#[derive(Debug, Clone)]
pub struct ScimGroupRow {
    pub group_id: GroupId,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}
}

row_struct! {
/// `contacts`; `phones`, `emails` and `attributes` are JSON arrays.
#[derive(Debug, Clone)]
pub struct ContactRow {
    pub id: ContactId,
    pub external_id: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub phones: String,
    pub emails: String,
    pub attributes: String,
}
}

row_struct! {
/// `interactions` joined with the agent's and the contact's names.
#[derive(Debug, Clone)]
pub struct InteractionRow {
    pub id: InteractionId,
    pub integration_id: Option<IntegrationId>,
    pub external_id: Option<String>,
    pub media: String,
    pub state: String,
    pub agent_id: Option<UserId>,
    pub agent_name: Option<String>,
    pub contact_id: Option<ContactId>,
    pub contact_first_name: Option<String>,
    pub contact_last_name: Option<String>,
    pub subject: String,
    /// JSON array of `{key, value}`.
    pub case_data: String,
    pub outcome: Option<String>,
    pub notes: Option<String>,
    pub agent_done: i64,
    pub created_at: i64,
    pub ended_at: Option<i64>,
}
}

row_struct! {
/// `interaction_transcripts`.
#[derive(Debug, Clone)]
pub struct AttachedTranscriptRow {
    pub interaction_id: InteractionId,
    pub position: i64,
    /// A consultation's session id, or another transcript's key (`call:<id>`
    /// for a call log): text, not a [`SessionId`].
    pub session_id: Option<String>,
    pub title: String,
    pub body: String,
    pub attached_at: i64,
    /// For a consultation: the outcome its initiator recorded.
    pub outcome: Option<ConsultationOutcome>,
    pub outcome_note: Option<String>,
}
}

row_struct! {
/// `audit_log`.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: String,
    pub ts: i64,
    pub actor_id: String,
    pub action: String,
    pub resource: String,
    pub allowed: i64,
    pub detail: String,
}
}

row_struct! {
/// `webhook_outbox` joined with the integration's URL and secret.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: String,
    pub integration_id: IntegrationId,
    pub interaction_id: InteractionId,
    pub event_type: String,
    pub payload: String,
    pub created_at: i64,
    pub attempts: i64,
    pub webhook_url: Option<String>,
    pub webhook_secret: String,
}
}

row_struct! {
/// `webhook_outbox`: an event and where its delivery stands.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: String,
    pub integration_id: IntegrationId,
    pub interaction_id: InteractionId,
    pub event_type: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub last_error: Option<String>,
}
}

row_struct! {
/// `calls`.
#[derive(Debug, Clone)]
pub struct CallRow {
    pub id: CallId,
    pub kind: CallKind,
    pub state: CallState,
    pub interaction_id: Option<InteractionId>,
    pub consultation_session_id: Option<SessionId>,
    pub contact_call_id: Option<CallId>,
    pub created_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub ended_reason: Option<String>,
    pub hold_started_at: Option<i64>,
    pub ring_expires_at: Option<i64>,
    pub orphaned_since: Option<i64>,
}
}

row_struct! {
/// `call_parties`.
#[derive(Debug, Clone)]
pub struct CallPartyRow {
    pub call_id: CallId,
    pub party_id: String,
    pub position: i64,
    pub kind: PartyKind,
    pub display_name: String,
    pub state: PartyState,
    pub device_id: Option<String>,
}
}

row_struct! {
/// `legal_holds`: a contact or an interaction that retention and erasure leave alone.
#[derive(Debug, Clone, PartialEq)]
pub struct LegalHoldRow {
    pub target_kind: String,
    pub target_id: String,
    pub reason: String,
    pub placed_by: UserId,
    pub placed_at: i64,
}
}

row_struct! {
/// What the callback of a sign-in with an OpenID provider needs back (`oidc_logins`).
#[derive(Debug, Clone)]
pub struct OidcLoginRow {
    pub nonce: String,
    pub pkce_verifier: String,
}
}
