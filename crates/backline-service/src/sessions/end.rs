//! Ending a session: *End Session* for everyone, *Done* for the caller's
//! workspace.

use backline_protocol::events::EventBody;
use backline_protocol::model::{ParticipantRole, ParticipantState, SessionState, SessionView};
use backline_protocol::ErrorCode;
use backline_store::rows::ParticipantRow;
use backline_store::sessions;
use backline_store::types as stored;
use backline_store::Locks;
use backline_store::SessionId;
use backline_store::UserId;

use super::tx::Tx;
use super::{is_active, require_im};
use crate::auth::Account;
use crate::error::{err, Result};
use crate::Backline;

impl Backline {
    /// *End Session*: ends it for everyone; pending invitations are withdrawn.
    pub async fn end_session(&self, caller: &Account, session_id: &str) -> Result<SessionView> {
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
                let recipients: Vec<UserId> = participants
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
        self.session(caller, session_id.as_str()).await
    }

    /// *Done*: closes the session in the caller's workspace only. A session
    /// still open is first ended (a pending invitation is rejected, an
    /// unsent consultation cancelled); the transcript stays.
    pub async fn done(&self, caller: &Account, session_id: &str) -> Result<()> {
        let session_id = &SessionId::from(session_id.to_owned());
        require_im(caller)?;
        let view = self.session(caller, session_id.as_str()).await?;
        let me = view
            .participants
            .iter()
            .find(|p| p.user_id == caller.id.as_str())
            .cloned();
        if view.state != SessionState::Ended {
            match me.map(|p| (p.role, p.state)) {
                Some((_, ParticipantState::Invited)) => {
                    self.reject(caller, session_id.as_str()).await?;
                }
                Some((ParticipantRole::Initiator, _)) if view.state != SessionState::Connected => {
                    self.cancel(caller, session_id.as_str()).await?;
                }
                Some((_, ParticipantState::Joined)) => {
                    self.end_session(caller, session_id.as_str()).await?;
                }
                _ => {}
            }
        }
        let (sid, user) = (session_id.to_owned(), caller.id.clone());
        self.commit_locking(Locks::session(session_id), move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                sessions::set_done(tx.conn, &sid, &user).await?;
                tx.emit_to(
                    &user,
                    EventBody::SessionRemoved {
                        session_id: sid.to_string(),
                    },
                )
                .await?;
                tx.done(())
            })
        })
        .await
    }
}
