// Generated from crates/backline-protocol by `UPDATE_GENERATED=1 cargo test -p backline-protocol`.
// Do not edit by hand.

export type ErrorCode = "malformed_request" | "unknown_frame_type" | "invalid_request" | "empty_message" | "message_too_large" | "payload_too_large" | "unauthenticated" | "session_expired" | "invalid_credentials" | "account_disabled" | "password_sign_in_disabled" | "sso_not_configured" | "sso_state_invalid" | "sso_provider_error" | "sso_token_invalid" | "sso_not_permitted" | "forbidden" | "im_not_permitted" | "not_participant" | "origin_not_allowed" | "not_call_party" | "not_shared" | "user_not_found" | "group_not_found" | "session_not_found" | "interaction_not_found" | "contact_not_found" | "call_not_found" | "message_not_found" | "legal_hold_not_found" | "integration_not_found" | "delivery_not_found" | "not_found" | "session_ended" | "call_ended" | "invalid_state" | "already_exists" | "under_legal_hold" | "offer_taken" | "idempotency_conflict" | "no_agent_available" | "rate_limited" | "resume_gap" | "slow_consumer" | "unavailable" | "shutting_down" | "request_timeout" | "internal";

export type ErrorBody = { code: ErrorCode, message: string, };

export type Role = "agent" | "supervisor" | "admin";

export type Status = "ready" | "not_ready" | "away" | "busy" | "offline";

export type GroupRef = { id: string, name: string, };

export type Preferences = { 
/**
 * Text size of the IM view, in percent (50–200).
 */
zoom: number, };

export type Me = { id: string, username: string, display_name: string, roles: Array<Role>, groups: Array<GroupRef>, im_permitted: boolean, 
/**
 * The status the agent chose (never `offline`).
 */
status: Status, 
/**
 * The Not Ready reason code, when `status` is `not_ready`.
 */
reason: string | null, preferences: Preferences, 
/**
 * The latest event-stream seq at the time of the answer.
 */
head: number, };

export type SignInRequest = { username: string, password: string, };

export type SignInResponse = { 
/**
 * Opaque bearer token; the same value is set as the `backline_session` cookie.
 */
token: string, 
/**
 * Unix milliseconds.
 */
expires_at: number, me: Me, };

export type SignInMethods = { 
/**
 * Whether the password form is offered (`auth.passwords`).
 */
passwords: boolean, 
/**
 * Single sign-on with an OpenID provider, when configured.
 */
sso: SsoMethod | null, };

export type SsoMethod = { 
/**
 * The provider's name for the button: "Sign in with <display_name>".
 */
display_name: string, 
/**
 * Where the browser goes to start the sign-in (`/api/v1/auth/oidc/start`).
 */
start_url: string, };

export type SsoFinishRequest = { code: string, };

export type SetStatusRequest = { status: Status, 
/**
 * Required with `not_ready`: one of the codes of `GET /status-reasons`.
 */
reason?: string, };

export type SetPreferencesRequest = { zoom: number, };

export type StatusReason = { code: string, label: string, };

export type DirectoryFilter = "all" | "agents" | "groups" | "favourites" | "recent";

export type TargetKind = "user" | "group";

export type TargetAction = "send_im" | "start_im_consultation" | "start_voice_consultation" | "add_favourite" | "remove_favourite";

export type DirectoryEntry = { kind: TargetKind, id: string, display_name: string, 
/**
 * Users only.
 */
username: string | null, 
/**
 * Group names of a user.
 */
groups: Array<string>, 
/**
 * Effective status of a user (`offline` without a connected desktop).
 */
status: Status | null, reason: string | null, 
/**
 * Number of members of a group.
 */
member_count: number | null, favourite: boolean, actions: Array<TargetAction>, 
/**
 * Actions that apply here but the caller may not take, with the
 * refusal the server would give (the desktop shows them disabled).
 */
unavailable: Array<UnavailableAction>, };

export type UnavailableAction = { action: TargetAction, 
/**
 * The code a request for it is refused with (`im_not_permitted`).
 */
code: ErrorCode, 
/**
 * The refusal's message.
 */
reason: string, };

export type DirectoryResponse = { entries: Array<DirectoryEntry>, 
/**
 * In an interaction's context: the targets of its consultations still
 * open (*Active Consultations*).
 */
active_consultations: Array<DirectoryEntry>, 
/**
 * The target to pre-select: the current consultation target, unless the
 * search has text or a filter other than `all` was picked.
 */
preselected: string | null, };

export type PresenceView = { user_id: string, status: Status, reason: string | null, };

export type SessionState = "not_connected" | "inviting" | "connected" | "ended";

export type ParticipantState = "not_invited" | "invited" | "joined" | "rejected" | "cancelled" | "left";

export type ParticipantRole = "initiator" | "invitee" | "supervisor";

export type ParticipantView = { user_id: string, display_name: string, role: ParticipantRole, state: ParticipantState, 
/**
 * The invitation was not answered within the time-out; it stays pending.
 */
invite_timed_out: boolean, 
/**
 * Stable per-session colour slot (0, 1, 2 …) for the transcript.
 */
color: number, 
/**
 * Highest seq this participant marked delivered / read.
 */
delivered_seq: number, read_seq: number, };

export type SessionView = { id: string, state: SessionState, created_by: string, created_at: number, ended_at: number | null, ended_by: string | null, participants: Array<ParticipantView>, 
/**
 * Seq of the latest transcript entry.
 */
last_seq: number, 
/**
 * Messages from others after the caller's read mark.
 */
unread: number, 
/**
 * The latest message, for previews and notifications.
 */
last_message: TranscriptEntry | null, 
/**
 * For a consultation: the interaction it was opened from.
 */
parent_interaction_id: string | null, 
/**
 * For a group consultation: where its offer to the group stands.
 */
offer?: OfferView, 
/**
 * For an ended consultation about an interaction: the outcome its
 * initiator recorded (none yet: the desktop asks for it).
 */
outcome?: ConsultationOutcome, };

export type OfferState = "open" | "taken" | "cancelled";

export type OfferStage = "members" | "overflow" | "supervisors";

export type OfferView = { group_id: string, group_name: string, state: OfferState, stage: OfferStage, 
/**
 * Waves sent so far.
 */
wave: number, 
/**
 * Members offered so far (every wave).
 */
offered: number, 
/**
 * Members who declined.
 */
declined: number, 
/**
 * When the offer was made (unix ms): the initiator's timer counts from it.
 */
started_at: number, 
/**
 * While open: when the current wave stops waiting and the offer widens.
 */
wave_expires_at: number | null, 
/**
 * Who took it.
 */
taken_by: string | null, taken_by_name: string | null, taken_at: number | null, 
/**
 * When it passed its group's answer-time target unanswered (unix ms):
 * the supervisors' board marks it escalated from then on.
 */
escalated_at: number | null, };

export type MissedView = { 
/**
 * The session as the target sees it (its interaction in `parent_interaction_id`).
 */
session: SessionView, 
/**
 * The message the invitation carried.
 */
first_message: TranscriptEntry | null, };

export type EntryKind = "message" | "invited" | "joined" | "rejected" | "cancelled" | "timed_out" | "left" | "ended" | "withdrawn" | "whisper";

export type TranscriptEntry = { session_id: string, seq: number, ts: number, kind: EntryKind, 
/**
 * Who wrote the message or caused the event.
 */
actor_id: string, actor_name: string, 
/**
 * For `invited`, `joined`, `rejected`, `timed_out`, `left`: whom it concerns.
 */
subject_id: string | null, subject_name: string | null, 
/**
 * Message text (messages only).
 */
text: string | null, 
/**
 * The sender's idempotency key (messages only).
 */
client_msg_id: string | null, 
/**
 * A redacted message: the administrator who redacted it (id and name)
 * and when; its `text` is then empty.
 */
redacted_by?: string, redacted_by_name?: string, redacted_at?: number, };

export type NewMessage = { client_msg_id: string, text: string, };

export type WhisperRequest = { 
/**
 * The participant it is for (a joined participant other than the sender).
 */
to: string, client_msg_id: string, text: string, };

export type SupervisionBoard = { groups: Array<BoardGroup>, consultations: Array<BoardConsultation>, };

export type BoardGroup = { id: string, name: string, members: Array<BoardMember>, };

export type BoardMember = { user_id: string, display_name: string, status: Status, reason: string | null, };

export type BoardConsultation = { 
/**
 * The session as a participant would see it: state, participants
 * (the initiator among them), the group offer if any.
 */
session: SessionView, 
/**
 * The subject of the interaction it is about.
 */
interaction_subject: string | null, 
/**
 * Waiting since (unix ms): when it was opened.
 */
waiting_since: number, 
/**
 * Connected since (unix ms): when its first invitee joined; none while it waits.
 */
connected_since: number | null, 
/**
 * When the contact of the interaction it is about was put on hold (unix
 * ms), while the contact waits on hold; none otherwise.
 */
on_hold_since: number | null, };

export type CreateSessionRequest = { 
/**
 * The user to invite, or a group: the session is then offered to the
 * group's Ready members in waves, and the first to accept takes it
 * (a group consultation needs `first_message`).
 */
target_id: string, 
/**
 * Idempotency key: retrying with the same value returns the same session.
 */
client_id?: string, 
/**
 * Travels inside the invitation.
 */
first_message?: NewMessage, 
/**
 * Start `not_connected`; the first message sent invites the target.
 */
defer_invite: boolean, 
/**
 * Open a consultation about this interaction (the caller's own, active):
 * the target may read its case data, contact and history once they accept.
 */
parent_interaction_id?: string, };

export type MessageAck = { session_id: string, client_msg_id: string, seq: number, ts: number, 
/**
 * True when this send was a retry of one already committed.
 */
duplicate: boolean, };

export type TranscriptPage = { entries: Array<TranscriptEntry>, has_more: boolean, };

export type MarkKind = "delivered" | "read";

export type MarkRequest = { kind: MarkKind, seq: number, };

export type TypingState = "composing" | "paused";

export type Health = { status: string, };

export type Media = "voice" | "chat" | "email" | "internal_im";

export type InteractionState = "active" | "ended";

export type CaseDataItem = { key: string, value: string, };

export type ContactView = { id: string, 
/**
 * The platform's own id for the contact, if any.
 */
external_id: string | null, first_name: string, last_name: string, phones: Array<string>, emails: Array<string>, 
/**
 * Free attributes, in order (e.g. customer segment, language).
 */
attributes: Array<CaseDataItem>, };

export type ContactInput = { external_id?: string, first_name: string, last_name: string, phones: Array<string>, emails: Array<string>, attributes: Array<CaseDataItem>, };

export type ConsultationView = { session_id: string, initiator_id: string, target_id: string, target_name: string, state: SessionState, created_at: number, 
/**
 * What the consultation came to, once its initiator recorded it.
 */
outcome?: OutcomeView, };

export type ConsultationOutcome = "answered" | "needs_follow_up" | "transferred" | "no_answer";

export type OutcomeView = { outcome: ConsultationOutcome, note: string | null, recorded_by: string, recorded_at: number, };

export type SetOutcomeRequest = { outcome: ConsultationOutcome, 
/**
 * At most 2,000 characters.
 */
note?: string, };

export type InteractionView = { id: string, external_id: string | null, media: Media, state: InteractionState, 
/**
 * The agent the interaction is assigned to.
 */
agent_id: string | null, agent_name: string | null, contact_id: string | null, 
/**
 * "First Last" of the contact, for toolbars and the task bar.
 */
contact_name: string | null, subject: string, case_data: Array<CaseDataItem>, outcome: string | null, notes: string | null, created_at: number, ended_at: number | null, 
/**
 * Consultations opened from this interaction, newest first (only for
 * the assigned agent).
 */
consultations: Array<ConsultationView>, 
/**
 * True for a consultation target: everything here is read-only.
 */
read_only: boolean, };

export type AttachedTranscript = { 
/**
 * The consultation session it came from (none for imported ones).
 */
session_id: string | null, title: string, text: string, attached_at: number, 
/**
 * For a consultation: the outcome its initiator recorded.
 */
outcome?: ConsultationOutcome, outcome_note?: string, };

export type HistoryItem = { interaction_id: string, media: Media, state: InteractionState, created_at: number, ended_at: number | null, agent_id: string | null, agent_name: string | null, subject: string, outcome: string | null, notes: string | null, 
/**
 * Transcripts attached to the interaction (imported ones, consultations).
 */
transcripts: Array<AttachedTranscript>, 
/**
 * Short excerpts around the search matches, when searching.
 */
snippet: Snippet | null, };

export type Snippet = { text: string, 
/**
 * Matched words in `text`, in order and not overlapping.
 */
highlights: Array<Highlight>, };

export type Highlight = { start: number, end: number, };

export type HistoryPage = { items: Array<HistoryItem>, };

export type CreateInteractionRequest = { 
/**
 * The platform's id of the interaction; a retry with the same id returns the same interaction.
 */
external_id: string, media: Media, 
/**
 * Username or id of the agent it is assigned to.
 */
agent: string, contact?: ContactInput, subject: string, case_data: Array<CaseDataItem>, };

export type UpdateInteractionRequest = { subject?: string, case_data?: Array<CaseDataItem>, };

export type EndInteractionRequest = { outcome?: string, notes?: string, };

export type IntegrationView = { id: string, name: string, webhook_url: string | null, 
/**
 * What the integration's token may call.
 */
scopes: Array<IntegrationScope>, created_at: number, };

export type IntegrationScope = "platform" | "scim";

export type CreateIntegrationRequest = { name: string, webhook_url?: string, 
/**
 * What the token may call; `["platform"]` when absent.
 */
scopes?: Array<IntegrationScope>, };

export type CreatedIntegration = { integration: IntegrationView, 
/**
 * Bearer token for `/api/v1/platform/…` and `/scim/v2/…`, as its scopes allow.
 */
token: string, 
/**
 * Key of the HMAC-SHA256 signature of every webhook.
 */
webhook_secret: string, };

export type WebhookEvent = { 
/**
 * Unique id of the event; a receiver de-duplicates retries by it.
 */
id: string, 
/**
 * One of [`WEBHOOK_EVENTS`]: `interaction.*`, `consultation.*` or `voice_consultation.*`.
 */
type: string, 
/**
 * Unix milliseconds when the change was committed.
 */
ts: number, interaction_id: string, interaction_external_id: string | null, consultation?: ConsultationView, transcript?: string, };

export type ConsultationTranscript = { interaction_id: string, session_id: string, entries: Array<TranscriptEntry>, };

export type ContactExport = { exported_at: number, contact: ContactView, 
/**
 * Its interactions (case data, outcome, notes), oldest first.
 */
interactions: Array<InteractionView>, 
/**
 * The transcripts attached to them (consultations, imported history, call logs).
 */
attached_transcripts: Array<AttachedTranscript>, 
/**
 * The consultations about them, with their full transcripts.
 */
consultations: Array<ConsultationTranscript>, 
/**
 * Audit entries about the contact or its interactions.
 */
audit: Array<AuditEntry>, };

export type ContactErasure = { contact_id: string, interactions: number, };

export type AuditEntry = { id: string, ts: number, actor_id: string, action: string, resource: string, allowed: boolean, detail: string, };

export type CallKind = "contact" | "consultation";

export type CallState = "ringing" | "active" | "ended";

export type PartyKind = "agent" | "contact";

export type LegState = "ringing" | "connected" | "held" | "left";

export type CallParty = { 
/**
 * An account id, or `contact:<call id>` for the caller.
 */
party_id: string, kind: PartyKind, display_name: string, state: LegState, 
/**
 * The browser tab that answered (signalling goes to it only).
 */
device_id: string | null, };

export type CallView = { id: string, kind: CallKind, state: CallState, 
/**
 * The voice interaction the call belongs to.
 */
interaction_id: string | null, 
/**
 * For a consultation call: the IM consultation it was started from.
 */
consultation_session_id: string | null, 
/**
 * For a consultation call: the contact call that waits on hold meanwhile.
 */
contact_call_id: string | null, parties: Array<CallParty>, created_at: number, answered_at: number | null, ended_at: number | null, 
/**
 * `hung_up`, `rejected`, `no_answer`, `cancelled`, `transferred`, `abandoned`.
 */
ended_reason: string | null, 
/**
 * While the contact is on hold: since when (both agents show the duration).
 */
hold_started_at: number | null, };

export type IceServer = { urls: Array<string>, username: string | null, credential: string | null, };

export type IceConfig = { ice_servers: Array<IceServer>, };

export type AcceptCallRequest = { 
/**
 * A random id of the answering browser tab.
 */
device_id: string, };

export type PublicCallRequest = { 
/**
 * How the caller introduces themselves.
 */
name: string, 
/**
 * A random id of the caller's tab.
 */
device_id: string, };

export type PublicCallResponse = { call: CallView, 
/**
 * The caller's credential for this call only (its socket `hello` token and REST bearer).
 */
caller_token: string, 
/**
 * The caller's party id in the call.
 */
party_id: string, };

export type Signal = { "kind": "offer", sdp: string, } | { "kind": "answer", sdp: string, } | { "kind": "candidate", candidate: string, sdp_mid: string | null, sdp_mline_index: number | null, };

export type EventBody = { "kind": "session", session: SessionView, } | { "kind": "transcript", session_id: string, entry: TranscriptEntry, } | { "kind": "transcript_redacted", session_id: string, entry: TranscriptEntry, } | { "kind": "mark", session_id: string, user_id: string, mark: MarkKind, seq: number, } | { "kind": "session_removed", session_id: string, } | { "kind": "missed_cleared", session_id: string, } | { "kind": "status", status: Status, reason: string | null, } | { "kind": "preferences", zoom: number, } | { "kind": "interaction", interaction: InteractionView, } | { "kind": "call", call: CallView, } | { "kind": "board_changed", group_ids: Array<string>, };

export type StreamEvent = { 
/**
 * Per-user sequence number: 1, 2, 3 … without gaps.
 */
seq: number, 
/**
 * Unix milliseconds when the event was committed.
 */
ts: number, event: EventBody, };

export type EventPage = { events: Array<StreamEvent>, head: number, };

export type ClientFrame = { "type": "hello", token?: string, 
/**
 * The last stream seq this desktop processed; omit to start at the head.
 */
last_seq?: number, } | { "type": "send", rid: string, session_id: string, client_msg_id: string, text: string, } | { "type": "typing", session_id: string, state: TypingState, } | { "type": "mark", rid?: string, session_id: string, kind: MarkKind, seq: number, } | { "type": "watch", user_ids: Array<string>, } | { "type": "signal", call_id: string, 
/**
 * The party id of the recipient.
 */
to: string, signal: Signal, } | { "type": "ping", rid?: string, };

export type ServerFrame = { "type": "caller_welcome", call: CallView, party_id: string, } | { "type": "call", call: CallView, } | { "type": "signal", call_id: string, from: string, 
/**
 * The recipient tab (`device_id`); other tabs of the same user ignore it.
 */
to_device: string | null, signal: Signal, } | { "type": "welcome", me: Me, 
/**
 * Latest stream seq when the connection was authenticated.
 */
head: number, 
/**
 * Id of the node serving this connection.
 */
node: string, } | { "type": "event", seq: number, ts: number, event: EventBody, } | { "type": "resume_gap", oldest: number, head: number, } | { "type": "presence", user_id: string, status: Status, reason: string | null, } | { "type": "typing", session_id: string, user_id: string, state: TypingState, } | { "type": "ack", rid: string, ack: MessageAck, } | { "type": "ok", rid: string, } | { "type": "pong", rid: string | null, } | { "type": "error", rid: string | null, code: ErrorCode, message: string, };

export type UserView = { id: string, username: string, display_name: string, roles: Array<Role>, groups: Array<GroupRef>, im_permitted: boolean, disabled: boolean, };

export type CreateUserRequest = { username: string, display_name: string, password: string, roles: Array<Role>, im_permitted: boolean, };

export type UpdateUserRequest = { display_name?: string, password?: string, roles?: Array<Role>, im_permitted?: boolean, disabled?: boolean, };

export type GroupView = { id: string, name: string, 
/**
 * Member user ids.
 */
members: Array<string>, 
/**
 * Supervisor user ids: the last wave of an unanswered group consultation.
 */
supervisors: Array<string>, 
/**
 * Members offered a group consultation per wave.
 */
wave_size: number, 
/**
 * Seconds a wave waits for an answer before the offer widens.
 */
answer_secs: number, 
/**
 * The group offered a consultation when no member of this one can take it.
 */
overflow_group_id: string | null, 
/**
 * The answer-time target: seconds a group consultation may wait
 * unanswered before it escalates (marked on the supervisors' board);
 * 0 for none.
 */
escalate_secs: number, 
/**
 * Whether an escalated consultation is offered to the group's
 * supervisors at once (otherwise they are offered it last, after the
 * waves and the overflow group).
 */
escalate_to_supervisors: boolean, };

export type CreateGroupRequest = { name: string, };

export type UpdateGroupRequest = { 
/**
 * 1–100.
 */
wave_size?: number, 
/**
 * 1–3600.
 */
answer_secs?: number, 
/**
 * A group id (not this one), or `""` for none.
 */
overflow_group_id?: string, 
/**
 * 0–86400: the answer-time target in seconds, 0 for none.
 */
escalate_secs?: number, 
/**
 * Offer an escalated consultation to the group's supervisors at once.
 */
escalate_to_supervisors?: boolean, };

export type ConsultationReport = { 
/**
 * Unix ms, inclusive.
 */
from: number, 
/**
 * Unix ms, exclusive.
 */
to: number, groups: Array<GroupFigures>, };

export type GroupFigures = { group_id: string, group_name: string, 
/**
 * Consultations offered to the group.
 */
consultations: number, 
/**
 * Taken by a member.
 */
taken: number, 
/**
 * Closed untaken (cancelled, or the session ended).
 */
abandoned: number, 
/**
 * Still offered.
 */
open: number, 
/**
 * Seconds from the offer to the accept, over the taken ones (none without any).
 */
accept_p50_secs: number | null, accept_p90_secs: number | null, 
/**
 * Seconds from the accept to the end, over the taken ones that ended.
 */
duration_p50_secs: number | null, duration_p90_secs: number | null, 
/**
 * Recorded outcomes.
 */
answered: number, needs_follow_up: number, transferred: number, no_answer: number, };

export type CreateStatusReasonRequest = { code: string, label: string, };

export type RedactRequest = { 
/**
 * Why, kept in the audit log.
 */
reason?: string, };

export type HoldTarget = "contact" | "interaction";

export type LegalHoldRequest = { 
/**
 * Why (a case or matter reference), at most 1000 bytes.
 */
reason: string, };

export type LegalHoldView = { target_kind: HoldTarget, target_id: string, reason: string, 
/**
 * The administrator who placed it.
 */
placed_by: string, placed_at: number, };

export type RetentionRequest = { 
/**
 * Count what would be deleted, delete nothing.
 */
dry_run?: boolean, };

export type RetentionReport = { dry_run: boolean, 
/**
 * Ended IM sessions with their transcripts.
 */
transcripts: number, 
/**
 * Ended interactions with their attached transcripts and calls.
 */
interactions: number, audit: number, };

export type RotatedIntegration = { integration: IntegrationView, 
/**
 * The new bearer token (`…/token`).
 */
token?: string, 
/**
 * The new key of the webhooks' HMAC-SHA256 signature (`…/webhook-secret`).
 */
webhook_secret?: string, };

export type DeliveryState = "pending" | "delivered" | "failed";

export type WebhookDelivery = { 
/**
 * The event's id (the body's `id` and `X-Backline-Delivery`).
 */
id: string, event_type: string, interaction_id: string, 
/**
 * When the change was committed (unix ms).
 */
created_at: number, state: DeliveryState, 
/**
 * Attempts made so far.
 */
attempts: number, 
/**
 * When a pending event is tried next (unix ms).
 */
next_attempt_at: number | null, delivered_at: number | null, failed_at: number | null, 
/**
 * Why the latest failed attempt failed (`HTTP 500`, a connection error …).
 */
last_error: string | null, };

export type WebhookDeliveryPage = { deliveries: Array<WebhookDelivery>, 
/**
 * Older deliveries exist: ask again with `before` = the last one's id.
 */
has_more: boolean, };

export const ERROR_CODES: readonly ErrorCode[] = [
  "malformed_request",
  "unknown_frame_type",
  "invalid_request",
  "empty_message",
  "message_too_large",
  "payload_too_large",
  "unauthenticated",
  "session_expired",
  "invalid_credentials",
  "account_disabled",
  "password_sign_in_disabled",
  "sso_not_configured",
  "sso_state_invalid",
  "sso_provider_error",
  "sso_token_invalid",
  "sso_not_permitted",
  "forbidden",
  "im_not_permitted",
  "not_participant",
  "origin_not_allowed",
  "not_call_party",
  "not_shared",
  "user_not_found",
  "group_not_found",
  "session_not_found",
  "interaction_not_found",
  "contact_not_found",
  "call_not_found",
  "message_not_found",
  "legal_hold_not_found",
  "integration_not_found",
  "delivery_not_found",
  "not_found",
  "session_ended",
  "call_ended",
  "invalid_state",
  "already_exists",
  "under_legal_hold",
  "offer_taken",
  "idempotency_conflict",
  "no_agent_available",
  "rate_limited",
  "resume_gap",
  "slow_consumer",
  "unavailable",
  "shutting_down",
  "request_timeout",
  "internal",
];
