//! Interactions (voice, chat, email), contacts, contact history, consultations,
//! the platform (integration) API and webhooks.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// The medium of an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    Voice,
    Chat,
    Email,
    InternalIm,
}

impl Media {
    pub fn as_str(self) -> &'static str {
        match self {
            Media::Voice => "voice",
            Media::Chat => "chat",
            Media::Email => "email",
            Media::InternalIm => "internal_im",
        }
    }

    pub fn parse(text: &str) -> Option<Media> {
        Some(match text {
            "voice" => Media::Voice,
            "chat" => Media::Chat,
            "email" => Media::Email,
            "internal_im" => Media::InternalIm,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionState {
    /// Assigned to the agent and in progress.
    Active,
    /// Finished (by the platform, or imported history).
    Ended,
}

/// One case-data pair. Case data is an ordered list of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CaseDataItem {
    pub key: String,
    pub value: String,
}

/// A contact: a customer of the contact center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct ContactView {
    pub id: String,
    /// The platform's own id for the contact, if any.
    pub external_id: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    /// Free attributes, in order (e.g. customer segment, language).
    pub attributes: Vec<CaseDataItem>,
}

/// A contact as the platform sends it: matched by `external_id` when given.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, ToSchema)]
pub struct ContactInput {
    #[serde(default)]
    #[ts(optional)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub attributes: Vec<CaseDataItem>,
}

/// A consultation opened from an interaction, as *Active Consultations* lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct ConsultationView {
    pub session_id: String,
    pub initiator_id: String,
    pub target_id: String,
    pub target_name: String,
    pub state: crate::model::SessionState,
    pub created_at: i64,
    /// What the consultation came to, once its initiator recorded it.
    #[serde(default)]
    #[ts(optional)]
    pub outcome: Option<OutcomeView>,
}

/// What a consultation about an interaction came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsultationOutcome {
    Answered,
    NeedsFollowUp,
    Transferred,
    NoAnswer,
}

impl ConsultationOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsultationOutcome::Answered => "answered",
            ConsultationOutcome::NeedsFollowUp => "needs_follow_up",
            ConsultationOutcome::Transferred => "transferred",
            ConsultationOutcome::NoAnswer => "no_answer",
        }
    }
}

/// A consultation's recorded outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct OutcomeView {
    pub outcome: ConsultationOutcome,
    pub note: Option<String>,
    pub recorded_by: String,
    pub recorded_at: i64,
}

/// `PUT /sessions/{id}/outcome`: the initiator records (or corrects) what an
/// ended consultation about an interaction came to.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct SetOutcomeRequest {
    pub outcome: ConsultationOutcome,
    /// At most 2,000 characters.
    #[serde(default)]
    #[ts(optional)]
    pub note: Option<String>,
}

/// An interaction as an authorised agent sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct InteractionView {
    pub id: String,
    pub external_id: Option<String>,
    pub media: Media,
    pub state: InteractionState,
    /// The agent the interaction is assigned to.
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub contact_id: Option<String>,
    /// "First Last" of the contact, for toolbars and the task bar.
    pub contact_name: Option<String>,
    pub subject: String,
    pub case_data: Vec<CaseDataItem>,
    pub outcome: Option<String>,
    pub notes: Option<String>,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    /// Consultations opened from this interaction, newest first (only for
    /// the assigned agent).
    pub consultations: Vec<ConsultationView>,
    /// True for a consultation target: everything here is read-only.
    pub read_only: bool,
}

/// One entry of a contact's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct HistoryItem {
    pub interaction_id: String,
    pub media: Media,
    pub state: InteractionState,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub subject: String,
    pub outcome: Option<String>,
    pub notes: Option<String>,
    /// Transcripts attached to the interaction (imported ones, consultations).
    pub transcripts: Vec<AttachedTranscript>,
    /// Short excerpts around the search matches, when searching.
    pub snippet: Option<Snippet>,
}

/// Excerpts of a history entry around its search matches: plain text (never
/// markup), with the matched words given as ranges into it.
///
/// At most three excerpts of at most 200 characters each, joined with
/// `" … "`; a leading or trailing `…` marks text cut off. Every word of the
/// query (folded: lower case, no accents; matched at the start of a word) is
/// highlighted where it occurs in the excerpts, the whole word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct Snippet {
    pub text: String,
    /// Matched words in `text`, in order and not overlapping.
    pub highlights: Vec<Highlight>,
}

/// A range of a [`Snippet`]'s text, in UTF-16 code units (JavaScript string
/// indices: `text.slice(start, end)`), `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct Highlight {
    pub start: u32,
    pub end: u32,
}

/// A transcript kept with an interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct AttachedTranscript {
    /// The consultation session it came from (none for imported ones).
    pub session_id: Option<String>,
    pub title: String,
    pub text: String,
    pub attached_at: i64,
    /// For a consultation: the outcome its initiator recorded.
    #[serde(default)]
    #[ts(optional)]
    pub outcome: Option<ConsultationOutcome>,
    #[serde(default)]
    #[ts(optional)]
    pub outcome_note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct HistoryPage {
    pub items: Vec<HistoryItem>,
}

/// `POST /platform/interactions`.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct CreateInteractionRequest {
    /// The platform's id of the interaction; a retry with the same id returns the same interaction.
    pub external_id: String,
    pub media: Media,
    /// Username or id of the agent it is assigned to.
    pub agent: String,
    #[serde(default)]
    #[ts(optional)]
    pub contact: Option<ContactInput>,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub case_data: Vec<CaseDataItem>,
}

/// `PATCH /platform/interactions/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, ToSchema)]
pub struct UpdateInteractionRequest {
    #[serde(default)]
    #[ts(optional)]
    pub subject: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub case_data: Option<Vec<CaseDataItem>>,
}

/// `POST /platform/interactions/{id}/end`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, ToSchema)]
pub struct EndInteractionRequest {
    #[serde(default)]
    #[ts(optional)]
    pub outcome: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub notes: Option<String>,
}

/// An integration credential (the platform's), as administrators see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct IntegrationView {
    pub id: String,
    pub name: String,
    pub webhook_url: Option<String>,
    /// What the integration's token may call.
    pub scopes: Vec<IntegrationScope>,
    pub created_at: i64,
}

/// What an integration's token may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationScope {
    /// The platform API (`/api/v1/platform/…`).
    Platform,
    /// Provisioning with SCIM 2.0 (`/scim/v2/…`): creates, changes, disables
    /// and deletes accounts and groups.
    Scim,
}

impl IntegrationScope {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationScope::Platform => "platform",
            IntegrationScope::Scim => "scim",
        }
    }

    pub fn parse(s: &str) -> Option<IntegrationScope> {
        match s {
            "platform" => Some(IntegrationScope::Platform),
            "scim" => Some(IntegrationScope::Scim),
            _ => None,
        }
    }
}

/// `POST /admin/integrations`: the token and the webhook secret are shown once.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct CreateIntegrationRequest {
    pub name: String,
    #[serde(default)]
    #[ts(optional)]
    pub webhook_url: Option<String>,
    /// What the token may call; `["platform"]` when absent.
    #[serde(default)]
    #[ts(optional)]
    pub scopes: Option<Vec<IntegrationScope>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct CreatedIntegration {
    pub integration: IntegrationView,
    /// Bearer token for `/api/v1/platform/…` and `/scim/v2/…`, as its scopes allow.
    pub token: String,
    /// Key of the HMAC-SHA256 signature of every webhook.
    pub webhook_secret: String,
}

/// The body of every webhook delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct WebhookEvent {
    /// Unique id of the event; a receiver de-duplicates retries by it.
    pub id: String,
    /// One of [`WEBHOOK_EVENTS`]: `interaction.*`, `consultation.*` or `voice_consultation.*`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Unix milliseconds when the change was committed.
    pub ts: i64,
    pub interaction_id: String,
    pub interaction_external_id: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub consultation: Option<ConsultationView>,
    #[serde(default)]
    #[ts(optional)]
    pub transcript: Option<String>,
}

/// An IM consultation about one of the contact's interactions, with its transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct ConsultationTranscript {
    pub interaction_id: String,
    pub session_id: String,
    pub entries: Vec<crate::model::TranscriptEntry>,
}

/// `GET /admin/contacts/{id}/export`: everything Backline holds about one
/// contact, for a subject-access request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct ContactExport {
    pub exported_at: i64,
    pub contact: ContactView,
    /// Its interactions (case data, outcome, notes), oldest first.
    pub interactions: Vec<InteractionView>,
    /// The transcripts attached to them (consultations, imported history, call logs).
    pub attached_transcripts: Vec<AttachedTranscript>,
    /// The consultations about them, with their full transcripts.
    pub consultations: Vec<ConsultationTranscript>,
    /// Audit entries about the contact or its interactions.
    pub audit: Vec<AuditEntry>,
}

/// `DELETE /admin/contacts/{id}`: what the erasure removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct ContactErasure {
    pub contact_id: String,
    pub interactions: u64,
}

/// One kind of webhook event: its `type`, what it says, and which of the
/// optional fields of [`WebhookEvent`] it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookEventType {
    pub name: &'static str,
    pub description: &'static str,
    /// `consultation` is present.
    pub consultation: bool,
    /// `transcript` is present.
    pub transcript: bool,
}

const fn event(
    name: &'static str,
    description: &'static str,
    consultation: bool,
    transcript: bool,
) -> WebhookEventType {
    WebhookEventType {
        name,
        description,
        consultation,
        transcript,
    }
}

/// Every webhook event Backline sends (the OpenAPI document's `webhooks`
/// lists them; a test checks that the service emits no other).
#[rustfmt::skip]
pub const WEBHOOK_EVENTS: &[WebhookEventType] = &[
    event("interaction.created", "An interaction was created (by the platform, or a click-to-call).", false, false),
    event("interaction.updated", "The platform changed an interaction (subject, case data, contact).", false, false),
    event("interaction.ended", "The interaction ended.", false, false),
    event("interaction.answered", "An agent answered the interaction's call.", false, false),
    event("interaction.held", "The contact was put on hold.", false, false),
    event("interaction.retrieved", "The contact was taken off hold.", false, false),
    event("interaction.transferred", "The call was transferred to the consulted agent.", false, false),
    event("interaction.conferenced", "The consulted agent joined the contact's call.", false, false),
    event("interaction.call_ended", "The contact's call ended.", false, false),
    event("consultation.invited", "An agent invited a colleague to an IM consultation about the interaction.", true, false),
    event("consultation.accepted", "The invitee accepted the IM consultation.", true, false),
    event("consultation.rejected", "The invitee rejected the IM consultation.", true, false),
    event("consultation.timed_out", "Nobody answered the IM consultation's invitation in time.", true, false),
    event("consultation.cancelled", "The inviting agent cancelled the IM consultation.", true, false),
    event("consultation.ended", "The IM consultation ended.", true, false),
    event("consultation.outcome", "The initiator recorded the ended IM consultation's outcome (`outcome`, `outcome_note`).", true, false),
    event("consultation.transcript_attached", "The ended IM consultation's transcript was attached to the interaction (`transcript` holds its text).", true, true),
    event("voice_consultation.started", "An agent put the contact on hold and called a colleague.", false, false),
    event("voice_consultation.accepted", "The consulted agent answered.", false, false),
    event("voice_consultation.ended", "The voice consultation was ended by an agent.", false, false),
    event("voice_consultation.rejected", "The consulted agent rejected the call.", false, false),
    event("voice_consultation.no_answer", "The consulted agent did not answer in time.", false, false),
    event("voice_consultation.hung_up", "An agent hung up the voice consultation.", false, false),
    event("voice_consultation.transferred", "The voice consultation ended in a transfer.", false, false),
    event("voice_consultation.conferenced", "The voice consultation ended in a conference.", false, false),
];

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub ts: i64,
    pub actor_id: String,
    pub action: String,
    pub resource: String,
    pub allowed: bool,
    pub detail: String,
}
