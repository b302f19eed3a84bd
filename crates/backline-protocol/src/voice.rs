//! Voice: calls between browsers (WebRTC, signalled through Backline), hold,
//! and the voice consultation with transfer and conference.
//!
//! Backline never touches audio: it keeps the call state, relays the
//! signalling (offer, answer, ICE candidates) only between the parties of
//! one call, and hands out the ICE server list.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// A contact call (the customer and an agent) or a consultation call (two agents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Contact,
    Consultation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Waiting for the callee to accept.
    Ringing,
    /// At least two parties connected.
    Active,
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// An agent (an account).
    Agent,
    /// The contact: a caller on the click-to-call page.
    Contact,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegState {
    Ringing,
    Connected,
    /// On hold: no audio either way.
    Held,
    Left,
}

/// One party of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct CallParty {
    /// An account id, or `contact:<call id>` for the caller.
    pub party_id: String,
    pub kind: PartyKind,
    pub display_name: String,
    pub state: LegState,
    /// The browser tab that answered (signalling goes to it only).
    pub device_id: Option<String>,
}

/// A call as its parties see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct CallView {
    pub id: String,
    pub kind: CallKind,
    pub state: CallState,
    /// The voice interaction the call belongs to.
    pub interaction_id: Option<String>,
    /// For a consultation call: the IM consultation it was started from.
    pub consultation_session_id: Option<String>,
    /// For a consultation call: the contact call that waits on hold meanwhile.
    pub contact_call_id: Option<String>,
    pub parties: Vec<CallParty>,
    pub created_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// `hung_up`, `rejected`, `no_answer`, `cancelled`, `transferred`, `abandoned`.
    pub ended_reason: Option<String>,
    /// While the contact is on hold: since when (both agents show the duration).
    pub hold_started_at: Option<i64>,
}

/// One ICE server for `RTCPeerConnection`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub credential: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct IceConfig {
    pub ice_servers: Vec<IceServer>,
}

/// `POST /calls/{id}/accept`.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct AcceptCallRequest {
    /// A random id of the answering browser tab.
    pub device_id: String,
}

/// `POST /public/calls`: the click-to-call page.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct PublicCallRequest {
    /// How the caller introduces themselves.
    pub name: String,
    /// A random id of the caller's tab.
    pub device_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
pub struct PublicCallResponse {
    pub call: CallView,
    /// The caller's credential for this call only (its socket `hello` token and REST bearer).
    pub caller_token: String,
    /// The caller's party id in the call.
    pub party_id: String,
}

/// WebRTC signalling between two parties of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: String,
        sdp_mid: Option<String>,
        sdp_mline_index: Option<u32>,
    },
}
