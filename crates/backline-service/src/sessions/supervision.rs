//! Supervision: a supervisor of one of a consultation's groups joins it (a
//! participant with the `supervisor` role, announced to everyone in it) and
//! whispers to one participant: a transcript entry of kind `whisper` that
//! only its sender and its addressee ever receive or read.
//!
//! Who may join: a supervisor (`group_supervisors`) of the group the
//! consultation was offered to, or of a group its initiator or one of its
//! invitees belongs to. Once joined, the sharing rule treats the supervisor
//! like a target who accepted: the case data is readable while the
//! consultation is open and for the grace period after it.
//!
//! The board (`GET /supervision/board`) lists the groups the caller
//! supervises with their members' status, and the consultations not yet
//! ended that the caller may join (escalated ones marked, a contact on hold
//! with since when). Every change it shows appends a `board_changed` event
//! to the supervisors' streams in its own write (`shared::board`); the
//! desktop reads the board again when one arrives.

use backline_protocol::model::{
    BoardConsultation, BoardGroup, BoardMember, EntryKind, MessageAck, SessionView,
    SupervisionBoard, WhisperRequest,
};
use backline_protocol::ErrorCode;
use backline_store::types as stored;
use backline_store::SessionId;
use backline_store::{calls, groups, interactions, sessions, transcript, users};
use backline_store::{InteractionId, Locks, UserId};

use super::tx::Tx;
use super::views::load_view;
use super::{require_im, validate_client_id, validate_text};
use crate::auth::Account;
use crate::error::{err, Result};
use crate::Backline;

impl Backline {
    /// Joins an IM consultation as its supervisor; everyone in it sees
    /// "Name (supervisor) joined". Joining again answers the session as it is.
    pub async fn join_as_supervisor(
        &self,
        caller: &Account,
        session_id: &str,
    ) -> Result<SessionView> {
        let session_id = &SessionId::from(session_id.to_owned());
        require_im(caller)?;
        let (sid, me) = (
            session_id.to_owned(),
            (caller.id.clone(), caller.display_name.clone()),
        );
        let locks = self.session_locks(session_id).await?;
        self.commit_locking(locks, move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                let session = sessions::get(&mut *tx.conn, &sid).await?.ok_or_else(|| {
                    err(ErrorCode::SessionNotFound, format!("no session {sid:?}"))
                })?;
                if !sessions::may_supervise(&mut *tx.conn, &sid, &me.0).await? {
                    return Err(err(
                        ErrorCode::Forbidden,
                        "only a supervisor of a group this consultation was offered to, or of a \
                         participant's group, can join it",
                    ));
                }
                if session.parent_interaction_id.is_none() {
                    return Err(err(
                        ErrorCode::InvalidState,
                        "only a consultation about an interaction can be joined by a supervisor",
                    ));
                }
                if session.state == stored::SessionState::Ended {
                    return Err(err(ErrorCode::SessionEnded, "the session has ended"));
                }
                let participants = sessions::participants(&mut *tx.conn, &sid).await?;
                if let Some(part) = participants.iter().find(|p| p.user_id == me.0) {
                    if part.role == stored::ParticipantRole::Supervisor {
                        let view = load_view(tx.conn, &sid, &me.0).await?;
                        return tx.done(view.expect("the session exists"));
                    }
                    return Err(err(
                        ErrorCode::InvalidState,
                        "you already take part in this session",
                    ));
                }
                let color = participants.iter().map(|p| p.color + 1).max().unwrap_or(0);
                sessions::insert_participant(
                    tx.conn,
                    sessions::NewParticipant {
                        session_id: &sid,
                        user_id: &me.0,
                        role: stored::ParticipantRole::Supervisor,
                        state: stored::ParticipantState::Joined,
                        color,
                        invited_at: None,
                        invite_expires_at: None,
                        joined_at: Some(tx.now),
                    },
                )
                .await?;
                let text = format!("{} (supervisor) joined", me.1);
                let entry = tx
                    .entry(
                        &sid,
                        EntryKind::Joined,
                        (&me.0, &me.1),
                        None,
                        Some(&text),
                        None,
                    )
                    .await?;
                let recipients = tx.active(&sid).await?;
                tx.notify(&sid, &recipients).await?;
                tx.emit_entries(&[entry], &recipients).await?;
                let view = load_view(tx.conn, &sid, &me.0).await?;
                tx.done(view.expect("the session exists"))
            })
        })
        .await
    }

    /// A supervisor's message to one joined participant: stored in the
    /// transcript as a `whisper`, sent to the supervisor and the addressee
    /// only. A retry with the same `client_msg_id` writes nothing.
    pub async fn whisper(
        &self,
        caller: &Account,
        session_id: &str,
        request: WhisperRequest,
    ) -> Result<MessageAck> {
        let session_id = &SessionId::from(session_id.to_owned());
        require_im(caller)?;
        validate_client_id("client_msg_id", &request.client_msg_id)?;
        validate_text(&request.text, self.config().max_message_bytes)?;
        self.check_rate(caller.id.as_str())?;
        let (sid, me) = (
            session_id.to_owned(),
            (caller.id.clone(), caller.display_name.clone()),
        );
        let (to, cmid, body) = (
            UserId::from(request.to),
            request.client_msg_id,
            self.stored_text(&request.text),
        );
        self.commit_locking(Locks::session(session_id), move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                let (session, participants, part) = tx.load(&sid, &me.0).await?;
                if part.role != stored::ParticipantRole::Supervisor
                    || part.state != stored::ParticipantState::Joined
                {
                    return Err(err(
                        ErrorCode::Forbidden,
                        "only a supervisor who joined the session can whisper",
                    ));
                }
                if let Some(prior) =
                    transcript::by_client_msg_id(&mut *tx.conn, &sid, &me.0, &cmid).await?
                {
                    if prior.kind != EntryKind::Whisper.as_str()
                        || prior.body.as_deref() != Some(body.as_str())
                        || prior.subject_id.as_ref() != Some(&to)
                    {
                        return Err(err(
                            ErrorCode::IdempotencyConflict,
                            "client_msg_id was already used for a different message",
                        ));
                    }
                    let ack = MessageAck {
                        session_id: sid.to_string(),
                        client_msg_id: cmid.clone(),
                        seq: prior.seq as u64,
                        ts: prior.ts,
                        duplicate: true,
                    };
                    return tx.done(ack);
                }
                if session.state == stored::SessionState::Ended {
                    return Err(err(
                        ErrorCode::SessionEnded,
                        "the session has ended: no more messages",
                    ));
                }
                let addressee = participants
                    .iter()
                    .find(|p| {
                        p.user_id == to
                            && p.user_id != me.0
                            && p.state == stored::ParticipantState::Joined
                    })
                    .ok_or_else(|| {
                        err(
                            ErrorCode::InvalidRequest,
                            "to: must be a joined participant of this session other than you",
                        )
                    })?;
                let entry = tx
                    .entry(
                        &sid,
                        EntryKind::Whisper,
                        (&me.0, &me.1),
                        Some((&addressee.user_id, &addressee.display_name)),
                        Some(&body),
                        Some(&cmid),
                    )
                    .await?;
                let ack = MessageAck {
                    session_id: sid.to_string(),
                    client_msg_id: cmid.clone(),
                    seq: entry.seq,
                    ts: entry.ts,
                    duplicate: false,
                };
                let recipients = [me.0.clone(), addressee.user_id.clone()];
                tx.emit_entries(&[entry], &recipients).await?;
                tx.done(ack)
            })
        })
        .await
    }

    /// The caller's supervision board: the groups they supervise with each
    /// member's status, and the open and waiting consultations they may
    /// join (at most 200, oldest first). Empty for someone who supervises
    /// no group.
    pub async fn supervision_board(&self, caller: &Account) -> Result<SupervisionBoard> {
        let reader = self.store().reader();
        let mut groups_out = Vec::new();
        for group in groups::supervised_by(reader, &caller.id).await? {
            let ids = groups::members(reader, &group.id).await?;
            let mut members: Vec<BoardMember> = users::get_many(reader, &ids)
                .await?
                .iter()
                .map(|row| {
                    let (status, reason) = self.effective_status(row);
                    BoardMember {
                        user_id: row.id.to_string(),
                        display_name: row.display_name.clone(),
                        status,
                        reason,
                    }
                })
                .collect();
            members.sort_by(|a, b| a.display_name.cmp(&b.display_name));
            groups_out.push(BoardGroup {
                id: group.id.into_string(),
                name: group.name,
                members,
            });
        }
        let mut consultations = Vec::new();
        let mut conn = self.read_conn().await?;
        for (id, connected_since) in sessions::supervised(reader, &caller.id, 200).await? {
            let Some(session) = load_view(&mut conn, &id, &caller.id).await? else {
                continue;
            };
            let (interaction_subject, on_hold_since) = match &session.parent_interaction_id {
                Some(parent) => {
                    let parent = &InteractionId::from(parent.clone());
                    (
                        interactions::get(reader, parent).await?.map(|i| i.subject),
                        calls::held_since(reader, parent).await?,
                    )
                }
                None => (None, None),
            };
            consultations.push(BoardConsultation {
                waiting_since: session.created_at,
                connected_since,
                interaction_subject,
                on_hold_since,
                session,
            });
        }
        Ok(SupervisionBoard {
            groups: groups_out,
            consultations,
        })
    }
}
