//! The per-user event stream: stored, numbered events every desktop of a user receives.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::model::{MarkKind, SessionView, Status, TranscriptEntry};

/// What happened, as one stream event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    /// A session the user takes part in was created or changed.
    Session { session: SessionView },
    /// A transcript entry was committed.
    Transcript {
        session_id: String,
        entry: TranscriptEntry,
    },
    /// An administrator redacted a message: `entry` replaces the one with its seq.
    TranscriptRedacted {
        session_id: String,
        entry: TranscriptEntry,
    },
    /// A participant marked messages up to `seq` delivered or read.
    Mark {
        session_id: String,
        user_id: String,
        mark: MarkKind,
        seq: u64,
    },
    /// The user pressed *Done* on the session (in this or another tab).
    SessionRemoved { session_id: String },
    /// The user replied to or dismissed a missed invitation (in this or another tab).
    MissedCleared { session_id: String },
    /// The user's own status changed.
    Status {
        status: Status,
        reason: Option<String>,
    },
    /// The user's preferences changed.
    Preferences { zoom: u32 },
    /// An interaction assigned to the user was created or changed.
    Interaction {
        interaction: crate::interactions::InteractionView,
    },
    /// A call the user is a party of rang, was answered, held, transferred, ended…
    Call { call: crate::voice::CallView },
    /// The supervision board of the user (a group supervisor) changed in
    /// these of their groups: a consultation was offered, widened, taken,
    /// escalated, joined, cancelled or ended, its contact was put on or
    /// taken off hold, or a member's status changed. The desktop reads
    /// `GET /supervision/board` again.
    BoardChanged { group_ids: Vec<String> },
}

/// One event of a user's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct StreamEvent {
    /// Per-user sequence number: 1, 2, 3 … without gaps.
    pub seq: u64,
    /// Unix milliseconds when the event was committed.
    pub ts: i64,
    pub event: EventBody,
}

/// `GET /events`: the stream over HTTP.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct EventPage {
    pub events: Vec<StreamEvent>,
    pub head: u64,
}
