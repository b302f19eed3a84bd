//! A call as the wire shows it, and the calls of a party.

use backline_protocol::voice::{CallKind, CallParty, CallState, CallView, LegState, PartyKind};
use backline_protocol::ErrorCode;
use backline_store::calls;
use backline_store::rows::{CallPartyRow, CallRow};
use backline_store::types as stored;
use backline_store::CallId;

use crate::auth::Account;
use crate::error::{err, Result};
use crate::Backline;

fn call_state(state: stored::CallState) -> CallState {
    match state {
        stored::CallState::Ringing => CallState::Ringing,
        stored::CallState::Active => CallState::Active,
        stored::CallState::Ended => CallState::Ended,
    }
}

fn leg_state(state: stored::PartyState) -> LegState {
    match state {
        stored::PartyState::Ringing => LegState::Ringing,
        stored::PartyState::Connected => LegState::Connected,
        stored::PartyState::Held => LegState::Held,
        stored::PartyState::Left => LegState::Left,
    }
}

fn view(call: &CallRow, parties: &[CallPartyRow]) -> CallView {
    CallView {
        id: call.id.to_string(),
        kind: if call.kind == stored::CallKind::Consultation {
            CallKind::Consultation
        } else {
            CallKind::Contact
        },
        state: call_state(call.state),
        interaction_id: call.interaction_id.as_ref().map(|id| id.to_string()),
        consultation_session_id: call
            .consultation_session_id
            .as_ref()
            .map(|id| id.to_string()),
        contact_call_id: call.contact_call_id.as_ref().map(|id| id.to_string()),
        parties: parties
            .iter()
            .map(|p| CallParty {
                party_id: p.party_id.clone(),
                kind: if p.kind == stored::PartyKind::Contact {
                    PartyKind::Contact
                } else {
                    PartyKind::Agent
                },
                display_name: p.display_name.clone(),
                state: leg_state(p.state),
                device_id: p.device_id.clone(),
            })
            .collect(),
        created_at: call.created_at,
        answered_at: call.answered_at,
        ended_at: call.ended_at,
        ended_reason: call.ended_reason.clone(),
        hold_started_at: call.hold_started_at,
    }
}

/// A call's view; a consultation call shows its contact call's hold start,
/// so that both agents see how long the contact has been waiting.
pub(super) async fn load_view<E: backline_store::Exec>(
    executor: E,
    call: &CallRow,
    parties: &[CallPartyRow],
) -> Result<CallView> {
    let mut call_view = view(call, parties);
    if call.kind == stored::CallKind::Consultation && call.state != stored::CallState::Ended {
        if let Some(contact_call_id) = &call.contact_call_id {
            if let Some(contact_call) = calls::get(executor, contact_call_id).await? {
                call_view.hold_started_at = contact_call.hold_started_at;
            }
        }
    }
    Ok(call_view)
}

impl Backline {
    /// A call's current state (no access check: callers of this check it).
    pub async fn call_view(&self, call_id: &str) -> Result<CallView> {
        self.view_of_call(&CallId::from(call_id.to_owned())).await
    }

    /// A call's current state, by its typed id.
    pub(crate) async fn view_of_call(&self, call_id: &CallId) -> Result<CallView> {
        let call = calls::get(self.store().reader(), call_id)
            .await?
            .ok_or_else(|| err(ErrorCode::CallNotFound, format!("no call {call_id:?}")))?;
        let parties = calls::parties(self.store().reader(), call_id).await?;
        load_view(self.store().reader(), &call, &parties).await
    }

    /// The account's calls that have not ended.
    pub async fn my_calls(&self, account: &Account) -> Result<Vec<CallView>> {
        let mut out = Vec::new();
        for call in calls::active_for_party(self.store().reader(), account.id.as_str()).await? {
            let parties = calls::parties(self.store().reader(), &call.id).await?;
            out.push(load_view(self.store().reader(), &call, &parties).await?);
        }
        Ok(out)
    }
}
