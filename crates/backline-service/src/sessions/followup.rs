//! After an invitation or a consultation: the *Missed* list (invitations
//! that timed out unanswered, until replied to or dismissed) and a
//! consultation's outcome.

use backline_protocol::events::EventBody;
use backline_protocol::interactions::{OutcomeView, SetOutcomeRequest};
use backline_protocol::model::{CreateSessionRequest, EntryKind, MissedView, SessionView};
use backline_protocol::ErrorCode;
use backline_store::types as stored;
use backline_store::Locks;
use backline_store::SessionId;
use backline_store::{outcomes, sessions, transcript};

use super::require_im;
use super::tx::Tx;
use super::views::{entry_from_row, load_view};
use crate::auth::Account;
use crate::error::{err, Result};
use crate::shared::states::{outcome_view, stored_outcome};
use crate::Backline;

/// The longest note an outcome takes, in characters.
const MAX_NOTE_CHARS: usize = 2000;

impl Backline {
    /// The caller's missed invitations, newest first, each with the message it carried.
    pub async fn missed(&self, caller: &Account) -> Result<Vec<MissedView>> {
        require_im(caller)?;
        let ids = sessions::missed(self.store().reader(), &caller.id).await?;
        let mut conn = self.read_conn().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(session) = load_view(&mut conn, &id, &caller.id).await? else {
                continue;
            };
            let first_message = transcript::page(&mut conn, &id, 0, i64::MAX, 20, false)
                .await?
                .into_iter()
                .find(|e| e.kind == EntryKind::Message.as_str())
                .map(entry_from_row);
            out.push(MissedView {
                session,
                first_message,
            });
        }
        Ok(out)
    }

    /// *Reply* to a missed invitation: accepts it while it is still pending;
    /// otherwise opens a new session with its initiator, who is invited (so
    /// told). Either way it leaves the Missed list. Answers the session opened.
    pub async fn reply_missed(&self, caller: &Account, session_id: &str) -> Result<SessionView> {
        let session_id = &SessionId::from(session_id.to_owned());
        let view = self.missed_session(caller, session_id).await?;
        let mine = view
            .participants
            .iter()
            .find(|p| p.user_id == caller.id.as_str())
            .map(|p| p.state);
        let opened = if mine == Some(backline_protocol::model::ParticipantState::Invited)
            && view.state != backline_protocol::model::SessionState::Ended
        {
            self.accept(caller, session_id.as_str()).await?
        } else {
            let request = CreateSessionRequest {
                target_id: view.created_by.clone(),
                client_id: Some(format!("reply-{session_id}")),
                first_message: None,
                defer_invite: false,
                parent_interaction_id: None,
            };
            self.create_session(caller, request).await?
        };
        self.clear_missed(caller, session_id).await?;
        Ok(opened)
    }

    /// *Dismiss* a missed invitation.
    pub async fn dismiss_missed(&self, caller: &Account, session_id: &str) -> Result<()> {
        let session_id = &SessionId::from(session_id.to_owned());
        self.missed_session(caller, session_id).await?;
        self.clear_missed(caller, session_id).await
    }

    /// The session of one of the caller's missed invitations (`not_found` otherwise).
    async fn missed_session(
        &self,
        caller: &Account,
        session_id: &SessionId,
    ) -> Result<SessionView> {
        require_im(caller)?;
        let missed = sessions::missed(self.store().reader(), &caller.id).await?;
        if !missed.iter().any(|id| id == session_id) {
            return Err(err(
                ErrorCode::NotFound,
                format!("no missed invitation in session {session_id:?}"),
            ));
        }
        let mut conn = self.read_conn().await?;
        load_view(&mut conn, session_id, &caller.id)
            .await?
            .ok_or_else(|| {
                err(
                    ErrorCode::SessionNotFound,
                    format!("no session {session_id:?}"),
                )
            })
    }

    async fn clear_missed(&self, caller: &Account, session_id: &SessionId) -> Result<()> {
        let (sid, me) = (session_id.to_owned(), caller.id.clone());
        self.commit_locking(Locks::users(&[&caller.id]), move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                if sessions::clear_missed(tx.conn, &sid, &me).await? {
                    tx.emit_to(
                        &me,
                        EventBody::MissedCleared {
                            session_id: sid.to_string(),
                        },
                    )
                    .await?;
                }
                tx.done(())
            })
        })
        .await
    }

    /// Records what an ended consultation about an interaction came to (its
    /// initiator only; recording again replaces it). The platform hears of
    /// it (`consultation.outcome`), and it shows in the contact's history.
    pub async fn set_outcome(
        &self,
        caller: &Account,
        session_id: &str,
        request: SetOutcomeRequest,
    ) -> Result<OutcomeView> {
        let session_id = &SessionId::from(session_id.to_owned());
        require_im(caller)?;
        let note = request
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
        {
            return Err(err(
                ErrorCode::InvalidRequest,
                format!("note: at most {MAX_NOTE_CHARS} characters"),
            ));
        }
        let outcome = request.outcome;
        let (sid, me) = (session_id.to_owned(), caller.id.clone());
        let view = self
            .commit_locking(Locks::session(session_id), move |conn| {
                Box::pin(async move {
                    let mut tx = Tx::new(conn);
                    let (session, _, part) = tx.load(&sid, &me).await?;
                    if part.role != stored::ParticipantRole::Initiator {
                        return Err(err(
                            ErrorCode::InvalidState,
                            "only the consultation's initiator records its outcome",
                        ));
                    }
                    if session.parent_interaction_id.is_none() {
                        return Err(err(
                            ErrorCode::InvalidState,
                            "only a consultation about an interaction has an outcome",
                        ));
                    }
                    if session.state != stored::SessionState::Ended {
                        return Err(err(
                            ErrorCode::InvalidState,
                            "the consultation has not ended yet",
                        ));
                    }
                    outcomes::record(
                        tx.conn,
                        &sid,
                        stored_outcome(outcome),
                        note.as_deref(),
                        &me,
                        tx.now,
                    )
                    .await?;
                    let row = outcomes::get(&mut *tx.conn, &sid).await?.ok_or_else(|| {
                        err(ErrorCode::Internal, "the outcome just written is gone")
                    })?;
                    tx.notify(&sid, std::slice::from_ref(&me)).await?;
                    tx.consultation_event(&sid, "consultation.outcome").await?;
                    tx.done(outcome_view(row))
                })
            })
            .await?;
        metrics::counter!("backline_consultation_outcomes_total", "outcome" => outcome.as_str())
            .increment(1);
        Ok(view)
    }
}
