//! Accounts, status, the Team Communicator directory, IM sessions and transcripts.
//!
//! Ids are UUIDv7 strings. Timestamps are unix milliseconds (`i64`, a plain
//! `number` in TypeScript). Sequence numbers start at 1 and have no gaps.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// A role an account holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// "My Status". `offline` is never chosen: it is what others see while the
/// agent has no connected desktop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ready,
    NotReady,
    Away,
    Busy,
    Offline,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "ready",
            Status::NotReady => "not_ready",
            Status::Away => "away",
            Status::Busy => "busy",
            Status::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "ready" => Some(Status::Ready),
            "not_ready" => Some(Status::NotReady),
            "away" => Some(Status::Away),
            "busy" => Some(Status::Busy),
            "offline" => Some(Status::Offline),
            _ => None,
        }
    }
}

/// A group an account belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct GroupRef {
    pub id: String,
    pub name: String,
}

/// Per-user settings kept on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct Preferences {
    /// Text size of the IM view, in percent (50–200).
    pub zoom: u32,
}

/// The signed-in account, its status and its stream head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct Me {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub groups: Vec<GroupRef>,
    pub im_permitted: bool,
    /// The status the agent chose (never `offline`).
    pub status: Status,
    /// The Not Ready reason code, when `status` is `not_ready`.
    pub reason: Option<String>,
    pub preferences: Preferences,
    /// The latest event-stream seq at the time of the answer.
    pub head: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct SignInRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct SignInResponse {
    /// Opaque bearer token; the same value is set as the `backline_session` cookie.
    pub token: String,
    /// Unix milliseconds.
    pub expires_at: i64,
    pub me: Me,
}

/// How accounts sign in on this server (`GET /auth/methods`, public): the
/// sign-in page shows the password form and a "Sign in with …" button from it.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct SignInMethods {
    /// Whether the password form is offered (`auth.passwords`).
    pub passwords: bool,
    /// Single sign-on with an OpenID provider, when configured.
    pub sso: Option<SsoMethod>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct SsoMethod {
    /// The provider's name for the button: "Sign in with <display_name>".
    pub display_name: String,
    /// Where the browser goes to start the sign-in (`/api/v1/auth/oidc/start`).
    pub start_url: String,
}

/// The one-time code the callback put in the desktop's URL fragment (`#sso=…`).
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct SsoFinishRequest {
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct SetStatusRequest {
    pub status: Status,
    /// Required with `not_ready`: one of the codes of `GET /status-reasons`.
    #[serde(default)]
    #[ts(optional)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct SetPreferencesRequest {
    pub zoom: u32,
}

/// A Not Ready reason an administrator defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct StatusReason {
    pub code: String,
    pub label: String,
}

/// The Team Communicator's filter buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryFilter {
    #[default]
    All,
    Agents,
    Groups,
    Favourites,
    Recent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    User,
    Group,
}

/// What the caller may do with a directory target, as the server decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetAction {
    /// *Send an Instant Message*: both sides hold the IM permission.
    SendIm,
    /// *Start Instant Message Consultation* (in an interaction's context).
    StartImConsultation,
    /// *Start Voice Consultation* (in a voice interaction's context, to a
    /// target already in an IM consultation about it or any agent).
    StartVoiceConsultation,
    AddFavourite,
    RemoveFavourite,
}

/// One Team Communicator result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct DirectoryEntry {
    pub kind: TargetKind,
    pub id: String,
    pub display_name: String,
    /// Users only.
    pub username: Option<String>,
    /// Group names of a user.
    pub groups: Vec<String>,
    /// Effective status of a user (`offline` without a connected desktop).
    pub status: Option<Status>,
    pub reason: Option<String>,
    /// Number of members of a group.
    pub member_count: Option<u32>,
    pub favourite: bool,
    pub actions: Vec<TargetAction>,
    /// Actions that apply here but the caller may not take, with the
    /// refusal the server would give (the desktop shows them disabled).
    #[serde(default)]
    pub unavailable: Vec<UnavailableAction>,
}

/// A Team Communicator action shown disabled, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct UnavailableAction {
    pub action: TargetAction,
    /// The code a request for it is refused with (`im_not_permitted`).
    pub code: crate::ErrorCode,
    /// The refusal's message.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct DirectoryResponse {
    pub entries: Vec<DirectoryEntry>,
    /// In an interaction's context: the targets of its consultations still
    /// open (*Active Consultations*).
    pub active_consultations: Vec<DirectoryEntry>,
    /// The target to pre-select: the current consultation target, unless the
    /// search has text or a filter other than `all` was picked.
    pub preselected: Option<String>,
}

/// A colleague's effective status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct PresenceView {
    pub user_id: String,
    pub status: Status,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    NotConnected,
    Inviting,
    Connected,
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantState {
    /// Named in a session that has not sent its invitation yet (`not_connected`).
    NotInvited,
    /// Invitation pending (it may have timed out: see `invite_timed_out`).
    Invited,
    Joined,
    Rejected,
    Cancelled,
    Left,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    Initiator,
    Invitee,
    /// A supervisor of one of the consultation's groups who joined it
    /// (`POST /sessions/{id}/join`).
    Supervisor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct ParticipantView {
    pub user_id: String,
    pub display_name: String,
    pub role: ParticipantRole,
    pub state: ParticipantState,
    /// The invitation was not answered within the time-out; it stays pending.
    pub invite_timed_out: bool,
    /// Stable per-session colour slot (0, 1, 2 …) for the transcript.
    pub color: u32,
    /// Highest seq this participant marked delivered / read.
    pub delivered_seq: u64,
    pub read_seq: u64,
}

/// An IM session as one participant sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub state: SessionState,
    pub created_by: String,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    pub ended_by: Option<String>,
    pub participants: Vec<ParticipantView>,
    /// Seq of the latest transcript entry.
    pub last_seq: u64,
    /// Messages from others after the caller's read mark.
    pub unread: u32,
    /// The latest message, for previews and notifications.
    pub last_message: Option<TranscriptEntry>,
    /// For a consultation: the interaction it was opened from.
    pub parent_interaction_id: Option<String>,
    /// For a group consultation: where its offer to the group stands.
    #[serde(default)]
    #[ts(optional)]
    pub offer: Option<Box<OfferView>>,
    /// For an ended consultation about an interaction: the outcome its
    /// initiator recorded (none yet: the desktop asks for it).
    #[serde(default)]
    #[ts(optional)]
    pub outcome: Option<crate::interactions::ConsultationOutcome>,
}

/// A missed invitation: one that timed out and was never answered, kept
/// until the target replies to it or dismisses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct MissedView {
    /// The session as the target sees it (its interaction in `parent_interaction_id`).
    pub session: SessionView,
    /// The message the invitation carried.
    pub first_message: Option<TranscriptEntry>,
}

/// Where a group consultation's offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferState {
    /// Offered; nobody has accepted yet.
    Open,
    /// A member accepted (`taken_by`); everyone else's invitation was withdrawn.
    Taken,
    /// The initiator cancelled it, or the session ended untaken.
    Cancelled,
}

/// Whom a group offer's latest wave went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferStage {
    /// The group's Ready members.
    Members,
    /// The Ready members of the group's overflow group.
    Overflow,
    /// The group's supervisors.
    Supervisors,
}

/// A group consultation's offer: the session was offered to a group's members
/// in waves; the first to accept takes it. The members offered are the
/// session's invitees (`invited` pending, `rejected` declined, `cancelled`
/// withdrawn).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct OfferView {
    pub group_id: String,
    pub group_name: String,
    pub state: OfferState,
    pub stage: OfferStage,
    /// Waves sent so far.
    pub wave: u32,
    /// Members offered so far (every wave).
    pub offered: u32,
    /// Members who declined.
    pub declined: u32,
    /// When the offer was made (unix ms): the initiator's timer counts from it.
    pub started_at: i64,
    /// While open: when the current wave stops waiting and the offer widens.
    pub wave_expires_at: Option<i64>,
    /// Who took it.
    pub taken_by: Option<String>,
    pub taken_by_name: Option<String>,
    pub taken_at: Option<i64>,
    /// When it passed its group's answer-time target unanswered (unix ms):
    /// the supervisors' board marks it escalated from then on.
    pub escalated_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Message,
    Invited,
    Joined,
    Rejected,
    Cancelled,
    TimedOut,
    Left,
    Ended,
    /// A group offer's invitation was withdrawn from `subject` (taken by
    /// someone else, or the member went Not Ready or signed out).
    Withdrawn,
    /// A message from a supervisor to one participant (`subject`): only the
    /// two of them ever see it.
    Whisper,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Message => "message",
            EntryKind::Invited => "invited",
            EntryKind::Joined => "joined",
            EntryKind::Rejected => "rejected",
            EntryKind::Withdrawn => "withdrawn",
            EntryKind::Cancelled => "cancelled",
            EntryKind::TimedOut => "timed_out",
            EntryKind::Left => "left",
            EntryKind::Ended => "ended",
            EntryKind::Whisper => "whisper",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        Some(match s {
            "message" => EntryKind::Message,
            "invited" => EntryKind::Invited,
            "joined" => EntryKind::Joined,
            "withdrawn" => EntryKind::Withdrawn,
            "rejected" => EntryKind::Rejected,
            "cancelled" => EntryKind::Cancelled,
            "timed_out" => EntryKind::TimedOut,
            "left" => EntryKind::Left,
            "ended" => EntryKind::Ended,
            "whisper" => EntryKind::Whisper,
            _ => return None,
        })
    }
}

/// One committed transcript entry: a message or a system event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct TranscriptEntry {
    pub session_id: String,
    pub seq: u64,
    pub ts: i64,
    pub kind: EntryKind,
    /// Who wrote the message or caused the event.
    pub actor_id: String,
    pub actor_name: String,
    /// For `invited`, `joined`, `rejected`, `timed_out`, `left`: whom it concerns.
    pub subject_id: Option<String>,
    pub subject_name: Option<String>,
    /// Message text (messages only).
    pub text: Option<String>,
    /// The sender's idempotency key (messages only).
    pub client_msg_id: Option<String>,
    /// A redacted message: the administrator who redacted it (id and name)
    /// and when; its `text` is then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub redacted_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub redacted_by_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub redacted_at: Option<i64>,
}

/// A message to send.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct NewMessage {
    pub client_msg_id: String,
    pub text: String,
}

/// A supervisor's board (`GET /supervision/board`): the groups they
/// supervise with their members' status, and the open and waiting
/// consultations of those groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct SupervisionBoard {
    pub groups: Vec<BoardGroup>,
    pub consultations: Vec<BoardConsultation>,
}

/// A supervised group and its members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct BoardGroup {
    pub id: String,
    pub name: String,
    pub members: Vec<BoardMember>,
}

/// A member of a supervised group and their status (`offline` with no desktop connected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct BoardMember {
    pub user_id: String,
    pub display_name: String,
    pub status: Status,
    pub reason: Option<String>,
}

/// An open or waiting consultation on the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct BoardConsultation {
    /// The session as a participant would see it: state, participants
    /// (the initiator among them), the group offer if any.
    pub session: SessionView,
    /// The subject of the interaction it is about.
    pub interaction_subject: Option<String>,
    /// Waiting since (unix ms): when it was opened.
    pub waiting_since: i64,
    /// Connected since (unix ms): when its first invitee joined; none while it waits.
    pub connected_since: Option<i64>,
    /// When the contact of the interaction it is about was put on hold (unix
    /// ms), while the contact waits on hold; none otherwise.
    pub on_hold_since: Option<i64>,
}

/// A whisper: a supervisor's message to one participant of the session.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct WhisperRequest {
    /// The participant it is for (a joined participant other than the sender).
    pub to: String,
    pub client_msg_id: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct CreateSessionRequest {
    /// The user to invite, or a group: the session is then offered to the
    /// group's Ready members in waves, and the first to accept takes it
    /// (a group consultation needs `first_message`).
    pub target_id: String,
    /// Idempotency key: retrying with the same value returns the same session.
    #[serde(default)]
    #[ts(optional)]
    pub client_id: Option<String>,
    /// Travels inside the invitation.
    #[serde(default)]
    #[ts(optional)]
    pub first_message: Option<NewMessage>,
    /// Start `not_connected`; the first message sent invites the target.
    #[serde(default)]
    pub defer_invite: bool,
    /// Open a consultation about this interaction (the caller's own, active):
    /// the target may read its case data, contact and history once they accept.
    #[serde(default)]
    #[ts(optional)]
    pub parent_interaction_id: Option<String>,
}

/// The answer to a committed send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct MessageAck {
    pub session_id: String,
    pub client_msg_id: String,
    pub seq: u64,
    pub ts: i64,
    /// True when this send was a retry of one already committed.
    pub duplicate: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct TranscriptPage {
    pub entries: Vec<TranscriptEntry>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    Delivered,
    Read,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct MarkRequest {
    pub kind: MarkKind,
    pub seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypingState {
    Composing,
    Paused,
}

/// `GET /healthz` and `/readyz`.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct Health {
    pub status: String,
}
