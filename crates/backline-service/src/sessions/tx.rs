//! One session write's context: the connection, the time and the bus
//! messages to publish after commit; transcript entries and notifications;
//! for a consultation, the platform's webhooks and the transcript attached
//! to the parent interaction when it ends.

use backline_protocol::events::EventBody;
use backline_protocol::model::{EntryKind, TranscriptEntry};
use backline_protocol::ErrorCode;
use backline_store::rows::{EntryRow, ParticipantRow, SessionRow};
use backline_store::types as stored;
use backline_store::{interactions, now_ms, offers, sessions, transcript, InteractionId};
use backline_store::{SessionId, UserId, WriteTx};

use super::is_active;
use super::views::load_view;
use crate::bus::BusMessage;
use crate::error::{err, Result};
use crate::shared::announce::enqueue_webhook;
use crate::shared::board::BoardNotices;
use crate::shared::contacts::reindex;
use crate::shared::views::consultation_views;
use crate::stream::{emit, emit_many};

/// One write's context: the connection, the time, and the bus messages to publish after commit.
pub(super) struct Tx<'c> {
    pub(super) conn: &'c mut WriteTx,
    pub(super) now: i64,
    out: Vec<BusMessage>,
    board: BoardNotices,
}

impl<'c> Tx<'c> {
    pub(super) fn new(conn: &'c mut WriteTx) -> Tx<'c> {
        Tx {
            conn,
            now: now_ms(),
            out: Vec::new(),
            board: BoardNotices::default(),
        }
    }

    /// Inserts a new session and its initiator, joined.
    pub(super) async fn open(
        &mut self,
        session_id: &SessionId,
        state: stored::SessionState,
        initiator: &UserId,
        client_id: Option<&str>,
        parent_interaction_id: Option<&InteractionId>,
    ) -> Result<()> {
        sessions::insert(
            self.conn,
            sessions::NewSession {
                id: session_id,
                state,
                created_by: initiator,
                created_at: self.now,
                client_id,
                parent_interaction_id,
            },
        )
        .await?;
        sessions::insert_participant(
            self.conn,
            sessions::NewParticipant {
                session_id,
                user_id: initiator,
                role: stored::ParticipantRole::Initiator,
                state: stored::ParticipantState::Joined,
                color: 0,
                invited_at: None,
                invite_expires_at: None,
                joined_at: Some(self.now),
            },
        )
        .await?;
        Ok(())
    }

    /// Loads a session and its participants, and the caller's participation.
    pub(super) async fn load(
        &mut self,
        session_id: &SessionId,
        caller: &UserId,
    ) -> Result<(SessionRow, Vec<ParticipantRow>, ParticipantRow)> {
        let session = sessions::get(&mut *self.conn, session_id).await?;
        let participants = match &session {
            Some(_) => sessions::participants(&mut *self.conn, session_id).await?,
            None => Vec::new(),
        };
        with_caller(session_id, session.map(|s| (s, participants)), caller)
    }

    /// Like [`Tx::load`], for a mark: from the batch's read-ahead when the
    /// writer has one (`sessions::mark_context`).
    pub(super) async fn load_for_mark(
        &mut self,
        session_id: &SessionId,
        caller: &UserId,
    ) -> Result<(SessionRow, Vec<ParticipantRow>, ParticipantRow)> {
        let loaded = sessions::mark_context(self.conn, session_id, caller).await?;
        with_caller(session_id, loaded, caller)
    }

    /// Loads a session in which the caller has a pending invitation (to accept
    /// or reject); returns its participants.
    pub(super) async fn pending_invitation(
        &mut self,
        session_id: &SessionId,
        caller: &UserId,
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
    pub(super) async fn end(
        &mut self,
        session_id: &SessionId,
        actor: (&UserId, &str),
    ) -> Result<TranscriptEntry> {
        sessions::end(self.conn, session_id, self.now, actor.0).await?;
        // A group offer still open closes with its session.
        offers::cancel(self.conn, session_id).await?;
        self.entry(session_id, EntryKind::Ended, actor, None, None, None)
            .await
    }

    /// Appends a transcript entry and returns it (not yet emitted).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn entry(
        &mut self,
        session_id: &SessionId,
        kind: EntryKind,
        actor: (&UserId, &str),
        subject: Option<(&UserId, &str)>,
        text: Option<&str>,
        client_msg_id: Option<&str>,
    ) -> Result<TranscriptEntry> {
        let seq = transcript::append(
            &mut *self.conn,
            transcript::AppendEntry {
                session_id,
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
            session_id: session_id.to_string(),
            seq: seq as u64,
            ts: self.now,
            kind,
            actor_id: actor.0.to_string(),
            actor_name: actor.1.to_owned(),
            subject_id: subject.map(|s| s.0.to_string()),
            subject_name: subject.map(|s| s.1.to_owned()),
            text: text.map(str::to_owned),
            client_msg_id: client_msg_id.map(str::to_owned),
            redacted_by: None,
            redacted_by_name: None,
            redacted_at: None,
        })
    }

    /// Emits the session's current view to each recipient (each sees their
    /// own unread count), and tells the supervisors whose board shows it.
    pub(super) async fn notify(
        &mut self,
        session_id: &SessionId,
        recipients: &[UserId],
    ) -> Result<()> {
        self.board
            .session(self.conn, &mut self.out, self.now, session_id)
            .await?;
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

    pub(super) async fn emit_entries(
        &mut self,
        entries: &[TranscriptEntry],
        recipients: &[UserId],
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

    pub(super) async fn emit_to_all(&mut self, users: &[UserId], body: EventBody) -> Result<()> {
        emit_many(self.conn, &mut self.out, users, self.now, &body).await
    }

    pub(super) async fn emit_to(&mut self, user: &UserId, body: EventBody) -> Result<()> {
        emit(self.conn, &mut self.out, user, self.now, &body).await?;
        Ok(())
    }

    pub(super) async fn active(&mut self, session_id: &SessionId) -> Result<Vec<UserId>> {
        Ok(sessions::participants(&mut *self.conn, session_id)
            .await?
            .iter()
            .filter(|p| is_active(p))
            .map(|p| p.user_id.clone())
            .collect())
    }

    /// For a consultation: queues the platform's webhook for a lifecycle step.
    pub(super) async fn consultation_event(
        &mut self,
        session_id: &SessionId,
        event_type: &str,
    ) -> Result<()> {
        let Some(session) = sessions::get(&mut *self.conn, session_id).await? else {
            return Ok(());
        };
        let Some(parent) = session.parent_interaction_id else {
            return Ok(());
        };
        let Some(interaction) = interactions::get(&mut *self.conn, &parent).await? else {
            return Ok(());
        };
        let consultation = consultation_views(self.conn, &parent)
            .await?
            .into_iter()
            .find(|c| c.session_id == session_id.as_str());
        enqueue_webhook(
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
    pub(super) async fn session_ended(&mut self, session_id: &SessionId) -> Result<()> {
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
            Some(session_id.as_str()),
            &title,
            &text,
            self.now,
        )
        .await?;
        if attached {
            reindex(self.conn, &parent).await?;
            if let Some(interaction) = interactions::get(&mut *self.conn, &parent).await? {
                let consultation = consultation_views(self.conn, &parent)
                    .await?
                    .into_iter()
                    .find(|c| c.session_id == session_id.as_str());
                enqueue_webhook(
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

    pub(super) fn done<T>(self, value: T) -> Result<(T, Vec<BusMessage>)> {
        Ok((value, self.out))
    }
}

/// A session loaded with its participants, and the caller's participation:
/// `session_not_found` without the session, `not_participant` without the caller.
fn with_caller(
    session_id: &SessionId,
    loaded: Option<(SessionRow, Vec<ParticipantRow>)>,
    caller: &UserId,
) -> Result<(SessionRow, Vec<ParticipantRow>, ParticipantRow)> {
    let (session, participants) = loaded.ok_or_else(|| {
        err(
            ErrorCode::SessionNotFound,
            format!("no session {session_id:?}"),
        )
    })?;
    let me = participation(&participants, caller)?;
    Ok((session, participants, me))
}

/// The caller's participation in a session: `not_participant` without it.
pub(super) fn participation(
    participants: &[ParticipantRow],
    caller: &UserId,
) -> Result<ParticipantRow> {
    participants
        .iter()
        .find(|p| &p.user_id == caller)
        .cloned()
        .ok_or_else(|| {
            err(
                ErrorCode::NotParticipant,
                "you do not take part in this session",
            )
        })
}

/// A transcript as plain text: one line per entry, `[HH:MM:SS UTC] Name: text`.
pub(super) fn render_transcript(entries: &[EntryRow]) -> String {
    let mut out = String::new();
    // A whisper is for its sender and its addressee only: never attached.
    for entry in entries.iter().filter(|e| e.kind != "whisper") {
        let secs = entry.ts.div_euclid(1000);
        let time = format!(
            "{:02}:{:02}:{:02}",
            secs / 3600 % 24,
            secs / 60 % 60,
            secs % 60
        );
        let subject = entry.subject_name.as_deref().unwrap_or("");
        let line = match entry.kind.as_str() {
            "message" => match &entry.redacted_by_name {
                Some(by) => format!("{}: (message redacted by {by})", entry.actor_name),
                None => format!(
                    "{}: {}",
                    entry.actor_name,
                    entry.body.as_deref().unwrap_or("")
                ),
            },
            "invited" => format!("{} invited {subject}", entry.actor_name),
            "joined" => match &entry.body {
                // A supervisor's join names itself: "Judy Jensen (supervisor) joined".
                Some(text) => text.clone(),
                None => format!("{} joined", entry.actor_name),
            },
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
