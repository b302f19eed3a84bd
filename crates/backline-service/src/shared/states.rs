//! Store enums as the wire shows them, for every area that renders a session.

use backline_protocol::interactions::{ConsultationOutcome, OutcomeView};
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

pub(crate) fn outcome(outcome: stored::ConsultationOutcome) -> ConsultationOutcome {
    match outcome {
        stored::ConsultationOutcome::Answered => ConsultationOutcome::Answered,
        stored::ConsultationOutcome::NeedsFollowUp => ConsultationOutcome::NeedsFollowUp,
        stored::ConsultationOutcome::Transferred => ConsultationOutcome::Transferred,
        stored::ConsultationOutcome::NoAnswer => ConsultationOutcome::NoAnswer,
    }
}

pub(crate) fn stored_outcome(outcome: ConsultationOutcome) -> stored::ConsultationOutcome {
    match outcome {
        ConsultationOutcome::Answered => stored::ConsultationOutcome::Answered,
        ConsultationOutcome::NeedsFollowUp => stored::ConsultationOutcome::NeedsFollowUp,
        ConsultationOutcome::Transferred => stored::ConsultationOutcome::Transferred,
        ConsultationOutcome::NoAnswer => stored::ConsultationOutcome::NoAnswer,
    }
}

pub(crate) fn outcome_view(row: backline_store::rows::OutcomeRow) -> OutcomeView {
    OutcomeView {
        outcome: outcome(row.outcome),
        note: row.note,
        recorded_by: row.recorded_by.into_string(),
        recorded_at: row.recorded_at,
    }
}
