//! Voice: contact calls and consultation calls, hold, transfer, conference,
//! WebRTC signalling relay, and the fallbacks that never leave a contact on
//! hold with nobody.
//!
//! Every change is one write: it updates the call rows, appends a line to the
//! interaction's call log (so every step lands in the contact's history),
//! tells every party (agents through their stream, the caller page through
//! an ephemeral frame) and queues the platform's webhook.
//!
//! Layout: `views` (a call as the wire shows it, a party's calls), `tx` (one
//! call write: the call log, webhooks, hold and retrieve, ending, Busy while
//! on a call, telling every party), `calls` (the click-to-call page, accept,
//! reject, hang up), `consultation` (hold, the voice consultation, transfer,
//! conference), `signalling` (ICE servers, the signal relay), `workers`
//! (ring time-outs, the on-hold fallback). Below: who acts on a call.

mod calls;
mod consultation;
mod signalling;
mod tx;
mod views;
mod workers;

pub use crate::shared::calls::contact_party_id;
pub(crate) use calls::RingingCallers;

use backline_protocol::ErrorCode;

use crate::auth::Account;
use crate::error::{err, Result};

/// Who is acting on a call.
#[derive(Debug, Clone)]
pub enum Actor {
    Agent(Account),
    /// The click-to-call page of one call.
    Caller {
        call_id: String,
        party_id: String,
    },
    /// Backline itself (time-outs, fallbacks).
    System,
}

impl Actor {
    fn party_id(&self) -> Option<&str> {
        match self {
            Actor::Agent(account) => Some(account.id.as_str()),
            Actor::Caller { party_id, .. } => Some(party_id),
            Actor::System => None,
        }
    }

    fn name(&self) -> &str {
        match self {
            Actor::Agent(account) => &account.display_name,
            Actor::Caller { .. } => "The contact",
            Actor::System => "Backline",
        }
    }
}

fn validate_device(device_id: &str) -> Result<()> {
    if device_id.is_empty()
        || device_id.len() > 100
        || !device_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(err(
            ErrorCode::InvalidRequest,
            "device_id: 1 to 100 letters, digits, '-' or '_'",
        ));
    }
    Ok(())
}
