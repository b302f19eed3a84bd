//! Store enums as the wire shows them, for every area that renders a session.

use backline_protocol::model::{ParticipantState, SessionState};
use backline_store::types as stored;

pub(crate) fn participant_state(state: stored::ParticipantState) -> ParticipantState {
    match state {
        stored::ParticipantState::NotInvited => ParticipantState::NotInvited,
        stored::ParticipantState::Invited => ParticipantState::Invited,
        stored::ParticipantState::Joined => ParticipantState::Joined,
        stored::ParticipantState::Rejected => ParticipantState::Rejected,
        stored::ParticipantState::Cancelled => ParticipantState::Cancelled,
        stored::ParticipantState::Left => ParticipantState::Left,
    }
}

pub(crate) fn session_state(state: stored::SessionState) -> SessionState {
    match state {
        stored::SessionState::NotConnected => SessionState::NotConnected,
        stored::SessionState::Inviting => SessionState::Inviting,
        stored::SessionState::Connected => SessionState::Connected,
        stored::SessionState::Ended => SessionState::Ended,
    }
}
