//! An interaction as the wire shows it, with its consultations (*Active
//! Consultations*), read inside a write or on a read connection.

use backline_protocol::interactions::{ConsultationView, InteractionState, InteractionView, Media};
use backline_protocol::ErrorCode;
use backline_store::rows::InteractionRow;
use backline_store::types as stored;
use backline_store::UserId;
use backline_store::{interactions, outcomes, sessions, InteractionId};

use crate::error::{err, Result};
use crate::shared::access::Access;
use crate::shared::parse_list;
use crate::shared::states::{outcome_view, session_state};

fn contact_name(row: &InteractionRow) -> Option<String> {
    match (&row.contact_first_name, &row.contact_last_name) {
        (None, None) => None,
        (first, last) => Some(
            format!(
                "{} {}",
                first.as_deref().unwrap_or(""),
                last.as_deref().unwrap_or("")
            )
            .trim()
            .to_owned(),
        ),
    }
}

pub(crate) fn interaction_state(row: &InteractionRow) -> InteractionState {
    if row.state == "ended" {
        InteractionState::Ended
    } else {
        InteractionState::Active
    }
}

pub(crate) fn base_view(
    row: &InteractionRow,
    consultations: Vec<ConsultationView>,
    read_only: bool,
) -> InteractionView {
    InteractionView {
        id: row.id.to_string(),
        external_id: row.external_id.clone(),
        media: Media::parse(&row.media).unwrap_or(Media::Voice),
        state: interaction_state(row),
        agent_id: row.agent_id.as_ref().map(UserId::to_string),
        agent_name: row.agent_name.clone(),
        contact_id: row.contact_id.as_ref().map(|id| id.to_string()),
        contact_name: contact_name(row),
        subject: row.subject.clone(),
        case_data: parse_list(&row.case_data),
        outcome: row.outcome.clone(),
        notes: row.notes.clone(),
        created_at: row.created_at,
        ended_at: row.ended_at,
        consultations,
        read_only,
    }
}

/// The consultations of an interaction, as *Active Consultations* shows them.
pub(crate) async fn consultation_views<C>(
    conn: &mut C,
    interaction_id: &InteractionId,
) -> Result<Vec<ConsultationView>>
where
    C: Send,
    for<'a> &'a mut C: backline_store::Exec,
{
    let mut out = Vec::new();
    for session in sessions::consultations(&mut *conn, interaction_id).await? {
        let participants = sessions::participants(&mut *conn, &session.id).await?;
        // A group consultation has several invitees: the one who took it
        // is the target once someone did.
        let invitees = || {
            participants
                .iter()
                .filter(|p| p.role == stored::ParticipantRole::Invitee)
        };
        let target = invitees()
            .find(|p| p.state == stored::ParticipantState::Joined)
            .or_else(|| invitees().next());
        if let Some(target) = target {
            out.push(ConsultationView {
                session_id: session.id.to_string(),
                initiator_id: session.created_by.to_string(),
                target_id: target.user_id.to_string(),
                target_name: target.display_name.clone(),
                state: session_state(session.state),
                created_at: session.created_at,
                outcome: outcomes::get(&mut *conn, &session.id)
                    .await?
                    .map(outcome_view),
            });
        }
    }
    Ok(out)
}

/// Loads and renders an interaction inside a write or on a read connection.
pub(crate) async fn load_view<C>(
    conn: &mut C,
    id: &InteractionId,
    access: Access,
) -> Result<InteractionView>
where
    C: Send,
    for<'a> &'a mut C: backline_store::Exec,
{
    let row = interactions::get(&mut *conn, id).await?.ok_or_else(|| {
        err(
            ErrorCode::InteractionNotFound,
            format!("no interaction {id:?}"),
        )
    })?;
    let consultations = match access {
        Access::Owner => consultation_views(conn, id).await?,
        Access::ConsultTarget => Vec::new(),
    };
    Ok(base_view(
        &row,
        consultations,
        access == Access::ConsultTarget,
    ))
}
