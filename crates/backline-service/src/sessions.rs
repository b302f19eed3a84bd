//! IM sessions: invitation, accept / reject / cancel / time-out, messages, end, done, marks, typing.
//!
//! Every state change runs as one write: it checks the state it reads inside
//! the transaction, appends transcript entries (per-session seq), and emits a
//! stream event to every participant who must hear of it. Participants are a
//! list, so a third colleague can be invited later without a new model.

use backline_protocol::events::EventBody;
use backline_protocol::frames::ServerFrame;
use backline_protocol::model::{
    CreateSessionRequest, EntryKind, MarkKind, MessageAck, ParticipantRole, ParticipantState,
    ParticipantView, SessionState, SessionView, TranscriptEntry, TranscriptPage, TypingState,
};
use backline_protocol::ErrorCode;
use backline_store::rows::{EntryRow, ParticipantRow, SessionRow};
use backline_store::types as stored;
use backline_store::WriteTx;
use backline_store::{interactions, now_ms, sessions, transcript, users};
use futures::future::BoxFuture;

use crate::auth::Account;
use crate::bus::BusMessage;
use crate::error::{err, Result};
use crate::stream::{emit, emit_many};
use crate::Backline;

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

pub(crate) fn entry_from_row(row: EntryRow) -> TranscriptEntry {
    TranscriptEntry {
        session_id: row.session_id,
        seq: row.seq as u64,
        ts: row.ts,
        kind: EntryKind::parse(&row.kind).unwrap_or(EntryKind::Message),
        actor_id: row.actor_id,
        actor_name: row.actor_name,
        subject_id: row.subject_id,
        subject_name: row.subject_name,
        text: row.body,
        client_msg_id: row.client_msg_id,
    }
}

/// Participants who hear of a session's changes: invited or joined.
fn is_active(p: &ParticipantRow) -> bool {
    p.state == stored::ParticipantState::Invited || p.state == stored::ParticipantState::Joined
}

/// A session's view as `viewer` sees it, read on `conn` (inside a write or on a read connection).
async fn load_view<C>(conn: &mut C, session_id: &str, viewer: &str) -> Result<Option<SessionView>>
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
        .find(|p| p.user_id == viewer)
        .map(|p| p.read_seq)
        .unwrap_or(0);
    let unread = transcript::count_unread(&mut *conn, session_id, viewer, read_seq).await?;
    Ok(Some(build_view(
        session,
        participants,
        last_message,
        unread as u32,
    )))
}

fn build_view(
    session: SessionRow,
    participants: Vec<ParticipantRow>,
    last_message: Option<TranscriptEntry>,
    unread: u32,
) -> SessionView {
    SessionView {
        id: session.id,
        state: session_state(session.state),
        created_by: session.created_by,
        created_at: session.created_at,
        ended_at: session.ended_at,
        ended_by: session.ended_by,
        participants: participants
            .into_iter()
            .map(|p| ParticipantView {
                user_id: p.user_id,
                display_name: p.display_name,
                role: if p.role == stored::ParticipantRole::Initiator {
                    ParticipantRole::Initiator
                } else {
                    ParticipantRole::Invitee
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
        parent_interaction_id: session.parent_interaction_id,
    }
}

/// One write's context: the connection, the time, and the bus messages to publish after commit.
struct Tx<'c> {
    conn: &'c mut WriteTx,
    now: i64,
    out: Vec<BusMessage>,
}

impl<'c> Tx<'c> {
    fn new(conn: &'c mut WriteTx) -> Tx<'c> {
        Tx {
            conn,
            now: now_ms(),
            out: Vec::new(),
        }
    }

    /// Loads a session and its participants, and the caller's participation.
    async fn load(
        &mut self,
        session_id: &str,
        caller: &str,
    ) -> Result<(SessionRow, Vec<ParticipantRow>, ParticipantRow)> {
        let session = sessions::get(&mut *self.conn, session_id)
            .await?
            .ok_or_else(|| {
                err(
                    ErrorCode::SessionNotFound,
                    format!("no session {session_id:?}"),
                )
            })?;
        let participants = sessions::participants(&mut *self.conn, session_id).await?;
        let me = participants
            .iter()
            .find(|p| p.user_id == caller)
            .cloned()
            .ok_or_else(|| {
                err(
                    ErrorCode::NotParticipant,
                    "you do not take part in this session",
                )
            })?;
        Ok((session, participants, me))
    }

    /// Loads a session in which the caller has a pending invitation (to accept
    /// or reject); returns its participants.
    async fn pending_invitation(
        &mut self,
        session_id: &str,
        caller: &str,
    ) -> Result<Vec<ParticipantRow>> {
        let (session, participants, part) = self.load(session_id, caller).await?;
        if session.state == stored::SessionState::Ended {
            return Err(err(ErrorCode::SessionEnded, "the session has ended"));
        }
        if part.state != stored::ParticipantState::Invited {
            return Err(err(
                ErrorCode::InvalidState,
                "you have no pending invitation in this session",
            ));
        }
        Ok(participants)
    }

    /// Ends the session by `actor`: its state, and the `ended` entry (returned, not yet emitted).
    async fn end(&mut self, session_id: &str, actor: (&str, &str)) -> Result<TranscriptEntry> {
        sessions::end(self.conn, session_id, self.now, actor.0).await?;
        self.entry(session_id, EntryKind::Ended, actor, None, None, None)
            .await
    }

    /// Appends a transcript entry and returns it (not yet emitted).
    #[allow(clippy::too_many_arguments)]
    async fn entry(
        &mut self,
        session_id: &str,
        kind: EntryKind,
        actor: (&str, &str),
        subject: Option<(&str, &str)>,
        text: Option<&str>,
        client_msg_id: Option<&str>,
    ) -> Result<TranscriptEntry> {
        let seq = sessions::next_seq(&mut *self.conn, session_id).await?;
        transcript::insert(
            &mut *self.conn,
            transcript::NewEntry {
                session_id,
                seq,
                ts: self.now,
                kind: kind.as_str(),
                actor_id: actor.0,
                subject_id: subject.map(|s| s.0),
                body: text,
                client_msg_id,
            },
        )
        .await?;
        Ok(TranscriptEntry {
            session_id: session_id.to_owned(),
            seq: seq as u64,
            ts: self.now,
            kind,
            actor_id: actor.0.to_owned(),
            actor_name: actor.1.to_owned(),
            subject_id: subject.map(|s| s.0.to_owned()),
            subject_name: subject.map(|s| s.1.to_owned()),
            text: text.map(str::to_owned),
            client_msg_id: client_msg_id.map(str::to_owned),
        })
    }

    /// Emits the session's current view to each recipient (each sees their own unread count).
    async fn notify(&mut self, session_id: &str, recipients: &[String]) -> Result<()> {
        for user in recipients {
            if let Some(session) = load_view(self.conn, session_id, user).await? {
                emit(
                    self.conn,
                    &mut self.out,
                    user,
                    self.now,
                    &EventBody::Session { session },
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn emit_entries(
        &mut self,
        entries: &[TranscriptEntry],
        recipients: &[String],
    ) -> Result<()> {
        for entry in entries {
            let body = EventBody::Transcript {
                session_id: entry.session_id.clone(),
                entry: entry.clone(),
            };
            emit_many(self.conn, &mut self.out, recipients, self.now, &body).await?;
        }
        Ok(())
    }

    async fn emit_to(&mut self, user: &str, body: EventBody) -> Result<()> {
        emit(self.conn, &mut self.out, user, self.now, &body).await?;
        Ok(())
    }

    async fn active(&mut self, session_id: &str) -> Result<Vec<String>> {
        Ok(sessions::participants(&mut *self.conn, session_id)
            .await?
            .iter()
            .filter(|p| is_active(p))
            .map(|p| p.user_id.clone())
            .collect())
    }

    /// For a consultation: queues the platform's webhook for a lifecycle step.
    async fn consultation_event(&mut self, session_id: &str, event_type: &str) -> Result<()> {
        let Some(session) = sessions::get(&mut *self.conn, session_id).await? else {
            return Ok(());
        };
        let Some(parent) = session.parent_interaction_id else {
            return Ok(());
        };
        let Some(interaction) = interactions::get(&mut *self.conn, &parent).await? else {
            return Ok(());
        };
        let consultation = crate::interactions::consultation_views(self.conn, &parent)
            .await?
            .into_iter()
            .find(|c| c.session_id == session_id);
        crate::interactions::enqueue_webhook(
            self.conn,
            &interaction,
            event_type,
            consultation,
            None,
            self.now,
        )
        .await
    }

    /// After a session ended: for a consultation, tells the platform and
    /// attaches the transcript to the parent interaction (and so to the
    /// contact's history), once.
    async fn session_ended(&mut self, session_id: &str) -> Result<()> {
        let Some(session) = sessions::get(&mut *self.conn, session_id).await? else {
            return Ok(());
        };
        let Some(parent) = session.parent_interaction_id else {
            return Ok(());
        };
        let entries =
            transcript::page(&mut *self.conn, session_id, 0, i64::MAX, 100_000, false).await?;
        // A consultation cancelled before its first message never reached
        // anyone: there is nothing to tell the platform or to keep.
        if !entries.iter().any(|e| e.kind == "invited") {
            return Ok(());
        }
        self.consultation_event(session_id, "consultation.ended")
            .await?;
        if !entries.iter().any(|e| e.kind == "message") {
            return Ok(());
        }
        let participants = sessions::participants(&mut *self.conn, session_id).await?;
        let names: Vec<&str> = participants
            .iter()
            .map(|p| p.display_name.as_str())
            .collect();
        let title = format!("IM consultation: {}", names.join(", "));
        let text = render_transcript(&entries);
        let attached = interactions::attach_transcript(
            self.conn,
            &parent,
            Some(session_id),
            &title,
            &text,
            self.now,
        )
        .await?;
        if attached {
            crate::interactions::reindex(self.conn, &parent).await?;
            if let Some(interaction) = interactions::get(&mut *self.conn, &parent).await? {
                let consultation = crate::interactions::consultation_views(self.conn, &parent)
                    .await?
                    .into_iter()
                    .find(|c| c.session_id == session_id);
                crate::interactions::enqueue_webhook(
                    self.conn,
                    &interaction,
                    "consultation.transcript_attached",
                    consultation,
                    Some(text),
                    self.now,
                )
                .await?;
            }
        }
        Ok(())
    }

    fn done<T>(self, value: T) -> Result<(T, Vec<BusMessage>)> {
        Ok((value, self.out))
    }
}

fn validate_text(text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(err(ErrorCode::EmptyMessage, "a message cannot be empty"));
    }
    if text.len() > max {
        return Err(err(
            ErrorCode::MessageTooLarge,
            format!(
                "a message is at most {max} bytes; this one has {}",
                text.len()
            ),
        ));
    }
    Ok(())
}

fn validate_client_id(name: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
        return Err(err(
            ErrorCode::InvalidRequest,
            format!("{name}: 1 to 64 printable characters"),
        ));
    }
    Ok(())
}

fn require_im(caller: &Account) -> Result<()> {
    if caller.im_permitted {
        Ok(())
    } else {
        Err(err(
            ErrorCode::ImNotPermitted,
            "your account does not have the Internal IM permission",
        ))
    }
}

/// A transcript as plain text: one line per entry, `[HH:MM:SS UTC] Name: text`.
fn render_transcript(entries: &[EntryRow]) -> String {
    let mut out = String::new();
    for entry in entries {
        let secs = entry.ts.div_euclid(1000);
        let time = format!(
            "{:02}:{:02}:{:02}",
            secs / 3600 % 24,
            secs / 60 % 60,
            secs % 60
        );
        let subject = entry.subject_name.as_deref().unwrap_or("");
        let line = match entry.kind.as_str() {
            "message" => format!(
                "{}: {}",
                entry.actor_name,
                entry.body.as_deref().unwrap_or("")
            ),
            "invited" => format!("{} invited {subject}", entry.actor_name),
            "joined" => format!("{} joined", entry.actor_name),
            "rejected" => format!("{} rejected the invitation", entry.actor_name),
            "cancelled" => format!("{} cancelled the invitation", entry.actor_name),
            "timed_out" => format!("the invitation to {subject} timed out"),
            "left" => format!("{} left", entry.actor_name),
            "ended" => format!("session ended by {}", entry.actor_name),
            other => other.to_owned(),
        };
        out.push_str(&format!("[{time} UTC] {line}\n"));
    }
    out
}

impl Backline {
    /// Opens an IM session with one target and (unless deferred) invites them.
    pub async fn create_session(
        &self,
        caller: &Account,
        request: CreateSessionRequest,
    ) -> Result<SessionView> {
        require_im(caller)?;
        if let Some(client_id) = &request.client_id {
            validate_client_id("client_id", client_id)?;
            if let Some(existing) =
                sessions::by_client_id(self.store().reader(), &caller.id, client_id).await?
            {
                return self.session(caller, &existing.id).await;
            }
        }
        if let Some(first) = &request.first_message {
            validate_client_id("first_message.client_msg_id", &first.client_msg_id)?;
            validate_text(&first.text, self.config().max_message_bytes)?;
        }
        self.check_rate(&caller.id)?;
        let target = users::get(self.store().reader(), &request.target_id)
            .await?
            .filter(|t| t.disabled == 0)
            .ok_or_else(|| {
                err(
                    ErrorCode::UserNotFound,
                    format!("no account {:?}", request.target_id),
                )
            })?;
        if target.id == caller.id {
            return Err(err(
                ErrorCode::InvalidRequest,
                "target_id: you cannot invite yourself",
            ));
        }
        if target.im_permitted == 0 {
            return Err(err(
                ErrorCode::ImNotPermitted,
                format!(
                    "{} does not have the Internal IM permission",
                    target.display_name
                ),
            ));
        }
        if let Some(parent) = &request.parent_interaction_id {
            let (row, access) = self
                .interaction_access(caller, parent, "start_consultation")
                .await?;
            if access != crate::interactions::Access::Owner {
                return Err(err(
                    ErrorCode::NotShared,
                    "only the interaction's agent starts a consultation about it",
                ));
            }
            if row.state == "ended" {
                return Err(err(ErrorCode::InvalidState, "the interaction has ended"));
            }
        }
        let defer = request.defer_invite && request.first_message.is_none();
        let parent = request.parent_interaction_id.clone();
        let session_id = uuid::Uuid::now_v7().to_string();
        let timeout_ms = self.config().invite_timeout_secs as i64 * 1000;
        let me = (caller.id.clone(), caller.display_name.clone());
        let them = (target.id.clone(), target.display_name.clone());
        let first = request.first_message.clone();
        let client_id = request.client_id.clone();
        let sid = session_id.clone();
        self.commit(move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                let now = tx.now;
                sessions::insert(
                    tx.conn,
                    sessions::NewSession {
                        id: &sid,
                        state: if defer {
                            stored::SessionState::NotConnected
                        } else {
                            stored::SessionState::Inviting
                        },
                        created_by: &me.0,
                        created_at: now,
                        client_id: client_id.as_deref(),
                        parent_interaction_id: parent.as_deref(),
                    },
                )
                .await?;
                sessions::insert_participant(
                    tx.conn,
                    sessions::NewParticipant {
                        session_id: &sid,
                        user_id: &me.0,
                        role: stored::ParticipantRole::Initiator,
                        state: stored::ParticipantState::Joined,
                        color: 0,
                        invited_at: None,
                        invite_expires_at: None,
                        joined_at: Some(now),
                    },
                )
                .await?;
                sessions::insert_participant(
                    tx.conn,
                    sessions::NewParticipant {
                        session_id: &sid,
                        user_id: &them.0,
                        role: stored::ParticipantRole::Invitee,
                        state: if defer {
                            stored::ParticipantState::NotInvited
                        } else {
                            stored::ParticipantState::Invited
                        },
                        color: 1,
                        invited_at: (!defer).then_some(now),
                        invite_expires_at: (!defer).then_some(now + timeout_ms),
                        joined_at: None,
                    },
                )
                .await?;
                let mut entries = Vec::new();
                let mut recipients = vec![me.0.clone()];
                if !defer {
                    recipients.push(them.0.clone());
                    entries.push(
                        tx.entry(
                            &sid,
                            EntryKind::Invited,
                            (&me.0, &me.1),
                            Some((&them.0, &them.1)),
                            None,
                            None,
                        )
                        .await?,
                    );
                    if let Some(first) = &first {
                        entries.push(
                            tx.entry(
                                &sid,
                                EntryKind::Message,
                                (&me.0, &me.1),
                                None,
                                Some(&first.text),
                                Some(&first.client_msg_id),
                            )
                            .await?,
                        );
                    }
                }
                tx.notify(&sid, &recipients).await?;
                tx.emit_entries(&entries, &recipients).await?;
                if !defer {
                    tx.consultation_event(&sid, "consultation.invited").await?;
                }
                tx.done(())
            })
        })
        .await?;
        self.session(caller, &session_id).await
    }

    /// One session as the caller sees it.
    pub async fn session(&self, caller: &Account, session_id: &str) -> Result<SessionView> {
        let mut conn = self.read_conn().await?;
        let view = load_view(&mut conn, session_id, &caller.id)
            .await?
            .ok_or_else(|| {
                err(
                    ErrorCode::SessionNotFound,
                    format!("no session {session_id:?}"),
                )
            })?;
        if !view.participants.iter().any(|p| p.user_id == caller.id) {
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

    /// Accepts the caller's pending invitation (timed out or not).
    pub async fn accept(&self, caller: &Account, session_id: &str) -> Result<SessionView> {
        require_im(caller)?;
        let (sid, me) = (
            session_id.to_owned(),
            (caller.id.clone(), caller.display_name.clone()),
        );
        self.commit(move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                tx.pending_invitation(&sid, &me.0).await?;
                sessions::set_participant_state(
                    tx.conn,
                    &sid,
                    &me.0,
                    stored::ParticipantState::Joined,
                    tx.now,
                )
                .await?;
                sessions::set_state(tx.conn, &sid, stored::SessionState::Connected).await?;
                let entry = tx
                    .entry(
                        &sid,
                        EntryKind::Joined,
                        (&me.0, &me.1),
                        Some((&me.0, &me.1)),
                        None,
                        None,
                    )
                    .await?;
                let recipients = tx.active(&sid).await?;
                tx.notify(&sid, &recipients).await?;
                tx.emit_entries(&[entry], &recipients).await?;
                tx.consultation_event(&sid, "consultation.accepted").await?;
                tx.done(())
            })
        })
        .await?;
        self.session(caller, session_id).await
    }

    /// Refuses the caller's pending invitation; the session leaves the caller's workspace.
    pub async fn reject(&self, caller: &Account, session_id: &str) -> Result<SessionView> {
        let (sid, me) = (
            session_id.to_owned(),
            (caller.id.clone(), caller.display_name.clone()),
        );
        self.commit(move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                let participants = tx.pending_invitation(&sid, &me.0).await?;
                let recipients: Vec<String> = participants
                    .iter()
                    .filter(|p| is_active(p))
                    .map(|p| p.user_id.clone())
                    .collect();
                sessions::set_participant_state(
                    tx.conn,
                    &sid,
                    &me.0,
                    stored::ParticipantState::Rejected,
                    tx.now,
                )
                .await?;
                sessions::set_done(tx.conn, &sid, &me.0).await?;
                let entry = tx
                    .entry(
                        &sid,
                        EntryKind::Rejected,
                        (&me.0, &me.1),
                        Some((&me.0, &me.1)),
                        None,
                        None,
                    )
                    .await?;
                // With nobody else invited or joined besides the initiator, the session is over.
                let others_engaged = participants
                    .iter()
                    .filter(|p| p.user_id != me.0 && p.role != stored::ParticipantRole::Initiator)
                    .any(is_active);
                let mut entries = vec![entry];
                if !others_engaged {
                    entries.push(tx.end(&sid, (&me.0, &me.1)).await?);
                }
                tx.notify(&sid, &recipients).await?;
                tx.emit_entries(&entries, &recipients).await?;
                tx.emit_to(
                    &me.0,
                    EventBody::SessionRemoved {
                        session_id: sid.clone(),
                    },
                )
                .await?;
                tx.consultation_event(&sid, "consultation.rejected").await?;
                if !others_engaged {
                    tx.session_ended(&sid).await?;
                }
                tx.done(())
            })
        })
        .await?;
        self.session(caller, session_id).await
    }

    /// Withdraws the caller's pending invitations (initiator only); without anyone joined the session ends.
    pub async fn cancel(&self, caller: &Account, session_id: &str) -> Result<SessionView> {
        let (sid, me) = (
            session_id.to_owned(),
            (caller.id.clone(), caller.display_name.clone()),
        );
        self.commit(move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                let (session, participants, part) = tx.load(&sid, &me.0).await?;
                if session.state == stored::SessionState::Ended {
                    return Err(err(ErrorCode::SessionEnded, "the session has ended"));
                }
                if part.role != stored::ParticipantRole::Initiator {
                    return Err(err(
                        ErrorCode::InvalidState,
                        "only the initiator can cancel the invitation",
                    ));
                }
                let pending: Vec<&ParticipantRow> = participants
                    .iter()
                    .filter(|p| {
                        p.state == stored::ParticipantState::Invited
                            || p.state == stored::ParticipantState::NotInvited
                    })
                    .collect();
                if pending.is_empty() {
                    return Err(err(
                        ErrorCode::InvalidState,
                        "there is no pending invitation to cancel",
                    ));
                }
                let recipients: Vec<String> = participants
                    .iter()
                    .filter(|p| is_active(p))
                    .map(|p| p.user_id.clone())
                    .collect();
                let mut entries = Vec::new();
                for p in &pending {
                    sessions::set_participant_state(
                        tx.conn,
                        &sid,
                        &p.user_id,
                        stored::ParticipantState::Cancelled,
                        tx.now,
                    )
                    .await?;
                    sessions::set_done(tx.conn, &sid, &p.user_id).await?;
                    if p.state == stored::ParticipantState::Invited {
                        entries.push(
                            tx.entry(
                                &sid,
                                EntryKind::Cancelled,
                                (&me.0, &me.1),
                                Some((&p.user_id, &p.display_name)),
                                None,
                                None,
                            )
                            .await?,
                        );
                    }
                }
                let anyone_joined = participants
                    .iter()
                    .any(|p| p.user_id != me.0 && p.state == stored::ParticipantState::Joined);
                if !anyone_joined {
                    entries.push(tx.end(&sid, (&me.0, &me.1)).await?);
                }
                tx.notify(&sid, &recipients).await?;
                tx.emit_entries(&entries, &recipients).await?;
                for p in pending
                    .iter()
                    .filter(|p| p.state == stored::ParticipantState::Invited)
                {
                    tx.emit_to(
                        &p.user_id,
                        EventBody::SessionRemoved {
                            session_id: sid.clone(),
                        },
                    )
                    .await?;
                }
                if pending
                    .iter()
                    .any(|p| p.state == stored::ParticipantState::Invited)
                {
                    tx.consultation_event(&sid, "consultation.cancelled")
                        .await?;
                }
                if !anyone_joined {
                    tx.session_ended(&sid).await?;
                }
                tx.done(())
            })
        })
        .await?;
        self.session(caller, session_id).await
    }

    /// *End Session*: ends it for everyone; pending invitations are withdrawn.
    pub async fn end_session(&self, caller: &Account, session_id: &str) -> Result<SessionView> {
        let (sid, me) = (
            session_id.to_owned(),
            (caller.id.clone(), caller.display_name.clone()),
        );
        self.commit(move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                let (session, participants, part) = tx.load(&sid, &me.0).await?;
                if session.state == stored::SessionState::Ended {
                    return Err(err(
                        ErrorCode::SessionEnded,
                        "the session has ended already",
                    ));
                }
                if part.state != stored::ParticipantState::Joined {
                    return Err(err(
                        ErrorCode::InvalidState,
                        "only a joined participant can end the session",
                    ));
                }
                let recipients: Vec<String> = participants
                    .iter()
                    .filter(|p| is_active(p))
                    .map(|p| p.user_id.clone())
                    .collect();
                let pending: Vec<&ParticipantRow> = participants
                    .iter()
                    .filter(|p| {
                        p.state == stored::ParticipantState::Invited
                            || p.state == stored::ParticipantState::NotInvited
                    })
                    .collect();
                for p in &pending {
                    sessions::set_participant_state(
                        tx.conn,
                        &sid,
                        &p.user_id,
                        stored::ParticipantState::Cancelled,
                        tx.now,
                    )
                    .await?;
                }
                let entry = tx.end(&sid, (&me.0, &me.1)).await?;
                tx.notify(&sid, &recipients).await?;
                tx.emit_entries(&[entry], &recipients).await?;
                tx.session_ended(&sid).await?;
                tx.done(())
            })
        })
        .await?;
        self.session(caller, session_id).await
    }

    /// *Done*: closes the session in the caller's workspace only. A session
    /// still open is first ended (a pending invitation is rejected, an
    /// unsent consultation cancelled); the transcript stays.
    pub async fn done(&self, caller: &Account, session_id: &str) -> Result<()> {
        let view = self.session(caller, session_id).await?;
        let me = view
            .participants
            .iter()
            .find(|p| p.user_id == caller.id)
            .cloned();
        if view.state != SessionState::Ended {
            match me.map(|p| (p.role, p.state)) {
                Some((_, ParticipantState::Invited)) => {
                    self.reject(caller, session_id).await?;
                }
                Some((ParticipantRole::Initiator, _)) if view.state != SessionState::Connected => {
                    self.cancel(caller, session_id).await?;
                }
                Some((_, ParticipantState::Joined)) => {
                    self.end_session(caller, session_id).await?;
                }
                _ => {}
            }
        }
        let (sid, user) = (session_id.to_owned(), caller.id.clone());
        self.commit(move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                sessions::set_done(tx.conn, &sid, &user).await?;
                tx.emit_to(
                    &user,
                    EventBody::SessionRemoved {
                        session_id: sid.clone(),
                    },
                )
                .await?;
                tx.done(())
            })
        })
        .await
    }

    /// Appends a message. A retry with the same `client_msg_id` returns the
    /// first acknowledgement and writes nothing.
    pub async fn send_message(
        &self,
        caller: &Account,
        session_id: &str,
        client_msg_id: &str,
        text: &str,
    ) -> Result<MessageAck> {
        self.start_send_message(caller, session_id, client_msg_id, text)
            .await?
            .await
    }

    /// Validates and queues a send; answers with what gives its
    /// acknowledgement once it committed. A socket reads its next frames
    /// meanwhile; sends it starts one after the other commit in that order.
    pub async fn start_send_message(
        &self,
        caller: &Account,
        session_id: &str,
        client_msg_id: &str,
        text: &str,
    ) -> Result<BoxFuture<'static, Result<MessageAck>>> {
        require_im(caller)?;
        validate_client_id("client_msg_id", client_msg_id)?;
        validate_text(text, self.config().max_message_bytes)?;
        self.check_rate(&caller.id)?;
        let timeout_ms = self.config().invite_timeout_secs as i64 * 1000;
        let (sid, me) = (
            session_id.to_owned(),
            (caller.id.clone(), caller.display_name.clone()),
        );
        let (cmid, body) = (client_msg_id.to_owned(), text.to_owned());
        let pending = self
            .enqueue_commit(move |conn| {
                Box::pin(async move {
                    let mut tx = Tx::new(conn);
                    // One round trip: the session, its participants, and an
                    // earlier message with this client id (a retry).
                    let context = sessions::load_for_send(&mut *tx.conn, &sid, &me.0, &cmid)
                        .await?
                        .ok_or_else(|| {
                            err(ErrorCode::SessionNotFound, format!("no session {sid:?}"))
                        })?;
                    if let Some((seq, ts, prior_body)) = context.prior {
                        if prior_body.as_deref() != Some(body.as_str()) {
                            return Err(err(
                                ErrorCode::IdempotencyConflict,
                                "client_msg_id was already used for a different message",
                            ));
                        }
                        let ack = MessageAck {
                            session_id: sid.clone(),
                            client_msg_id: cmid.clone(),
                            seq: seq as u64,
                            ts,
                            duplicate: true,
                        };
                        return tx.done(ack);
                    }
                    let (session, participants) = (context.session, context.participants);
                    let part = participants
                        .iter()
                        .find(|p| p.user_id == me.0)
                        .cloned()
                        .ok_or_else(|| {
                            err(
                                ErrorCode::NotParticipant,
                                "you do not take part in this session",
                            )
                        })?;
                    if session.state == stored::SessionState::Ended {
                        return Err(err(
                            ErrorCode::SessionEnded,
                            "the session has ended: no more messages",
                        ));
                    }
                    // Checked here, not only at sign-in: a permission withdrawn
                    // while a desktop stays connected takes effect at once.
                    let unpermitted = participants.iter().find(|p| {
                        !p.im_permitted
                            && (p.user_id == me.0
                                || is_active(p)
                                || p.state == stored::ParticipantState::NotInvited)
                    });
                    if let Some(p) = unpermitted {
                        return Err(err(
                            ErrorCode::ImNotPermitted,
                            format!(
                                "{} does not have the Internal IM permission",
                                p.display_name
                            ),
                        ));
                    }
                    if part.state != stored::ParticipantState::Joined {
                        return Err(err(
                            ErrorCode::InvalidState,
                            "accept the invitation before sending",
                        ));
                    }
                    let mut entries = Vec::new();
                    let mut invited = false;
                    // In a session not yet connected, the first message sends the invitation.
                    for p in participants
                        .iter()
                        .filter(|p| p.state == stored::ParticipantState::NotInvited)
                    {
                        sessions::invite(tx.conn, &sid, &p.user_id, tx.now, tx.now + timeout_ms)
                            .await?;
                        entries.push(
                            tx.entry(
                                &sid,
                                EntryKind::Invited,
                                (&me.0, &me.1),
                                Some((&p.user_id, &p.display_name)),
                                None,
                                None,
                            )
                            .await?,
                        );
                        invited = true;
                    }
                    if invited {
                        sessions::set_state(tx.conn, &sid, stored::SessionState::Inviting).await?;
                    }
                    let message = tx
                        .entry(
                            &sid,
                            EntryKind::Message,
                            (&me.0, &me.1),
                            None,
                            Some(&body),
                            Some(&cmid),
                        )
                        .await?;
                    let ack = MessageAck {
                        session_id: sid.clone(),
                        client_msg_id: cmid.clone(),
                        seq: message.seq,
                        ts: message.ts,
                        duplicate: false,
                    };
                    entries.push(message);
                    let recipients: Vec<String> = if invited {
                        tx.active(&sid).await?
                    } else {
                        participants
                            .iter()
                            .filter(|p| is_active(p))
                            .map(|p| p.user_id.clone())
                            .collect()
                    };
                    if invited {
                        tx.notify(&sid, &recipients).await?;
                    }
                    tx.emit_entries(&entries, &recipients).await?;
                    if invited {
                        tx.consultation_event(&sid, "consultation.invited").await?;
                    }
                    tx.done(ack)
                })
            })
            .await?;
        let store = self.store().clone();
        let (session_id, caller_id, client_msg_id) = (
            session_id.to_owned(),
            caller.id.clone(),
            client_msg_id.to_owned(),
        );
        Ok(Box::pin(async move {
            match pending.await {
                // Two nodes raced on the same retry: the unique index kept one; answer with it.
                Err(error) if !matches!(error, crate::ServiceError::Client { .. }) => {
                    match transcript::by_client_msg_id(
                        store.reader(),
                        &session_id,
                        &caller_id,
                        &client_msg_id,
                    )
                    .await?
                    {
                        Some(prior) => Ok(MessageAck {
                            session_id,
                            client_msg_id,
                            seq: prior.seq as u64,
                            ts: prior.ts,
                            duplicate: true,
                        }),
                        None => Err(error),
                    }
                }
                other => other,
            }
        }))
    }

    /// Raises the caller's delivered or read mark and tells the participants.
    pub async fn mark(
        &self,
        caller: &Account,
        session_id: &str,
        kind: MarkKind,
        seq: u64,
    ) -> Result<()> {
        let (sid, user) = (session_id.to_owned(), caller.id.clone());
        self.commit(move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                let (session, participants, _) = tx.load(&sid, &user).await?;
                if seq == 0 || seq > session.last_seq as u64 {
                    return Err(err(
                        ErrorCode::InvalidRequest,
                        format!("seq: must be between 1 and {}", session.last_seq),
                    ));
                }
                let raised =
                    sessions::raise_mark(tx.conn, &sid, &user, kind == MarkKind::Read, seq as i64)
                        .await?;
                if raised {
                    let body = EventBody::Mark {
                        session_id: sid.clone(),
                        user_id: user.clone(),
                        mark: kind,
                        seq,
                    };
                    for p in participants.iter().filter(|p| is_active(p)) {
                        tx.emit_to(&p.user_id, body.clone()).await?;
                    }
                }
                tx.done(())
            })
        })
        .await
    }

    /// Relays a typing indicator to the other participants' desktops (not stored).
    pub async fn typing(
        &self,
        caller: &Account,
        session_id: &str,
        state: TypingState,
    ) -> Result<()> {
        let participants = sessions::participants(self.store().reader(), session_id).await?;
        if participants.is_empty() {
            return Err(err(
                ErrorCode::SessionNotFound,
                format!("no session {session_id:?}"),
            ));
        }
        if !participants
            .iter()
            .any(|p| p.user_id == caller.id && p.state == stored::ParticipantState::Joined)
        {
            return Err(err(
                ErrorCode::NotParticipant,
                "you do not take part in this session",
            ));
        }
        let users: Vec<String> = participants
            .iter()
            .filter(|p| p.user_id != caller.id && is_active(p))
            .map(|p| p.user_id.clone())
            .collect();
        let frame = serde_json::to_string(&ServerFrame::Typing {
            session_id: session_id.to_owned(),
            user_id: caller.id.clone(),
            state,
        })
        .map_err(|e| crate::ServiceError::Internal(e.into()))?;
        self.bus().publish(vec![BusMessage::Frame { users, frame }]);
        Ok(())
    }

    /// Pages through a session's transcript (participants only).
    pub async fn transcript(
        &self,
        caller: &Account,
        session_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<TranscriptPage> {
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
        let rows = transcript::page(
            self.store().reader(),
            session_id,
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

    /// Marks one expired invitation timed out (the worker calls this). The
    /// invitation stays pending and can still be accepted or rejected.
    pub(crate) async fn time_out_invitation(&self, session_id: &str, user_id: &str) -> Result<()> {
        let (sid, user) = (session_id.to_owned(), user_id.to_owned());
        self.commit(move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                if !sessions::mark_timed_out(tx.conn, &sid, &user).await? {
                    return tx.done(());
                }
                let name = users::get(&mut *tx.conn, &user)
                    .await?
                    .map(|u| u.display_name)
                    .unwrap_or_default();
                let entry = tx
                    .entry(
                        &sid,
                        EntryKind::TimedOut,
                        (&user, &name),
                        Some((&user, &name)),
                        None,
                        None,
                    )
                    .await?;
                let recipients = tx.active(&sid).await?;
                tx.notify(&sid, &recipients).await?;
                tx.emit_entries(&[entry], &recipients).await?;
                tx.consultation_event(&sid, "consultation.timed_out")
                    .await?;
                tx.done(())
            })
        })
        .await
    }
}
