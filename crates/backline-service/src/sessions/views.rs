//! A session as a participant sees it (with their own unread count), the
//! workspace, and transcript pages.

use backline_protocol::model::{
    EntryKind, ParticipantRole, ParticipantView, SessionView, TranscriptEntry, TranscriptPage,
};
use backline_protocol::ErrorCode;
use backline_store::rows::{EntryRow, ParticipantRow, SessionRow};
use backline_store::types as stored;
use backline_store::SessionId;
use backline_store::{offers, outcomes, sessions, transcript, UserId};

use crate::auth::Account;
use crate::error::{err, Result};
use crate::shared::states::{outcome, participant_state, session_state};
use crate::Backline;

use super::offers::offer_view;
use super::require_im;

pub(crate) fn entry_from_row(row: EntryRow) -> TranscriptEntry {
    TranscriptEntry {
        session_id: row.session_id.into_string(),
        seq: row.seq as u64,
        ts: row.ts,
        kind: EntryKind::parse(&row.kind).unwrap_or(EntryKind::Message),
        actor_id: row.actor_id.into_string(),
        actor_name: row.actor_name,
        subject_id: row.subject_id.map(UserId::into_string),
        subject_name: row.subject_name,
        text: row.body,
        client_msg_id: row.client_msg_id,
        redacted_by: row.redacted_by.map(UserId::into_string),
        redacted_by_name: row.redacted_by_name,
        redacted_at: row.redacted_at,
    }
}

/// A session's view as `viewer` sees it, read on `conn` (inside a write or on a read connection).
pub(super) async fn load_view<C>(
    conn: &mut C,
    session_id: &SessionId,
    viewer: &UserId,
) -> Result<Option<SessionView>>
where
    C: Send,
    for<'a> &'a mut C: backline_store::Exec,
{
    let Some(session) = sessions::get(&mut *conn, session_id).await? else {
        return Ok(None);
    };
    let participants = sessions::participants(&mut *conn, session_id).await?;
    let last_message = transcript::last_message(&mut *conn, session_id)
        .await?
        .map(entry_from_row);
    let read_seq = participants
        .iter()
        .find(|p| &p.user_id == viewer)
        .map(|p| p.read_seq)
        .unwrap_or(0);
    let unread = transcript::count_unread(&mut *conn, session_id, viewer, read_seq).await?;
    let offer = offers::get(&mut *conn, session_id)
        .await?
        .map(|offer| Box::new(offer_view(offer, &participants)));
    let outcome = match session.parent_interaction_id {
        Some(_) => outcomes::get(&mut *conn, session_id)
            .await?
            .map(|row| outcome(row.outcome)),
        None => None,
    };
    let mut view = build_view(session, participants, last_message, unread as u32);
    view.offer = offer;
    view.outcome = outcome;
    Ok(Some(view))
}

fn build_view(
    session: SessionRow,
    participants: Vec<ParticipantRow>,
    last_message: Option<TranscriptEntry>,
    unread: u32,
) -> SessionView {
    SessionView {
        id: session.id.into_string(),
        state: session_state(session.state),
        created_by: session.created_by.into_string(),
        created_at: session.created_at,
        ended_at: session.ended_at,
        ended_by: session.ended_by.map(UserId::into_string),
        participants: participants
            .into_iter()
            .map(|p| ParticipantView {
                user_id: p.user_id.into_string(),
                display_name: p.display_name,
                role: match p.role {
                    stored::ParticipantRole::Initiator => ParticipantRole::Initiator,
                    stored::ParticipantRole::Invitee => ParticipantRole::Invitee,
                    stored::ParticipantRole::Supervisor => ParticipantRole::Supervisor,
                },
                state: participant_state(p.state),
                invite_timed_out: p.invite_timed_out,
                color: p.color as u32,
                delivered_seq: p.delivered_seq as u64,
                read_seq: p.read_seq as u64,
            })
            .collect(),
        last_seq: session.last_seq as u64,
        unread,
        last_message,
        parent_interaction_id: session.parent_interaction_id.map(|id| id.into_string()),
        offer: None,
        outcome: None,
    }
}

impl Backline {
    /// One session as the caller sees it.
    pub async fn session(&self, caller: &Account, session_id: &str) -> Result<SessionView> {
        let session_id = &SessionId::from(session_id.to_owned());
        require_im(caller)?;
        let mut conn = self.read_conn().await?;
        let view = load_view(&mut conn, session_id, &caller.id)
            .await?
            .ok_or_else(|| {
                err(
                    ErrorCode::SessionNotFound,
                    format!("no session {session_id:?}"),
                )
            })?;
        if !view
            .participants
            .iter()
            .any(|p| p.user_id == caller.id.as_str())
        {
            return Err(err(
                ErrorCode::NotParticipant,
                "you do not take part in this session",
            ));
        }
        Ok(view)
    }

    /// The caller's workspace: sessions not yet *Done*, pending invitations included.
    pub async fn workspace(&self, caller: &Account) -> Result<Vec<SessionView>> {
        let ids = sessions::workspace(self.store().reader(), &caller.id).await?;
        let mut conn = self.read_conn().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(view) = load_view(&mut conn, &id, &caller.id).await? {
                out.push(view);
            }
        }
        Ok(out)
    }

    /// Pages through a session's transcript (participants only; a whisper
    /// only for its sender and its addressee).
    pub async fn transcript(
        &self,
        caller: &Account,
        session_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<TranscriptPage> {
        let session_id = &SessionId::from(session_id.to_owned());
        require_im(caller)?;
        let participants = sessions::participants(self.store().reader(), session_id).await?;
        if participants.is_empty() {
            return Err(err(
                ErrorCode::SessionNotFound,
                format!("no session {session_id:?}"),
            ));
        }
        if !participants.iter().any(|p| p.user_id == caller.id) {
            return Err(err(
                ErrorCode::NotParticipant,
                "you do not take part in this session",
            ));
        }
        let limit = limit.clamp(1, 500) as i64;
        let newest_first = before.is_some() && after.is_none();
        let rows = transcript::page_for(
            self.store().reader(),
            session_id,
            &caller.id,
            after.unwrap_or(0) as i64,
            before.map(|b| b as i64).unwrap_or(i64::MAX),
            limit + 1,
            newest_first,
        )
        .await?;
        let has_more = rows.len() as i64 > limit;
        let mut entries: Vec<TranscriptEntry> = rows.into_iter().map(entry_from_row).collect();
        if has_more {
            if newest_first {
                entries.remove(0);
            } else {
                entries.pop();
            }
        }
        Ok(TranscriptPage { entries, has_more })
    }
}
