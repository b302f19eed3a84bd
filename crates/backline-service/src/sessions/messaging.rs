//! Messages (a retry with the same client id writes nothing), delivered and
//! read marks, and typing indicators.

use backline_protocol::events::EventBody;
use backline_protocol::frames::ServerFrame;
use backline_protocol::model::{EntryKind, MarkKind, MessageAck, TypingState};
use backline_protocol::ErrorCode;
use backline_store::types as stored;
use backline_store::SessionId;
use backline_store::UserId;
use backline_store::{sessions, transcript};
use backline_store::{Locks, SendKey};
use futures::future::BoxFuture;

use super::tx::{participation, Tx};
use super::{is_active, require_im, validate_client_id, validate_text};
use crate::auth::Account;
use crate::bus::BusMessage;
use crate::error::{err, Result};
use crate::Backline;

impl Backline {
    /// Appends a message. A retry with the same `client_msg_id` returns the
    /// first acknowledgement and writes nothing.
    pub async fn send_message(
        &self,
        caller: &Account,
        session_id: &str,
        client_msg_id: &str,
        text: &str,
    ) -> Result<MessageAck> {
        let session_id = &SessionId::from(session_id.to_owned());
        self.start_send_message(caller, session_id.as_str(), client_msg_id, text)
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
        let session_id = &SessionId::from(session_id.to_owned());
        require_im(caller)?;
        validate_client_id("client_msg_id", client_msg_id)?;
        validate_text(text, self.config().max_message_bytes)?;
        self.check_rate(caller.id.as_str())?;
        let timeout_ms = self.config().invite_timeout_secs as i64 * 1000;
        let (sid, me) = (
            session_id.to_owned(),
            (caller.id.clone(), caller.display_name.clone()),
        );
        let (cmid, body) = (client_msg_id.to_owned(), self.stored_text(text));
        let send = SendKey::new(&sid, &me.0, &cmid);
        let pending = self
            .enqueue_commit_with(Locks::session(session_id), Some(send), move |conn| {
                Box::pin(async move {
                    let mut tx = Tx::new(conn);
                    // The session, its participants, and an earlier message
                    // with this client id (a retry): one round trip, or none
                    // when the batch read it ahead.
                    let context = sessions::send_context(tx.conn, &sid, &me.0, &cmid)
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
                            session_id: sid.to_string(),
                            client_msg_id: cmid.clone(),
                            seq: seq as u64,
                            ts,
                            duplicate: true,
                        };
                        return tx.done(ack);
                    }
                    let (session, participants) = (context.session, context.participants);
                    let part = participation(&participants, &me.0)?;
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
                        session_id: sid.to_string(),
                        client_msg_id: cmid.clone(),
                        seq: message.seq,
                        ts: message.ts,
                        duplicate: false,
                    };
                    entries.push(message);
                    let recipients: Vec<UserId> = if invited {
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
                            session_id: session_id.into_string(),
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
        let session_id = &SessionId::from(session_id.to_owned());
        require_im(caller)?;
        let (sid, user) = (session_id.to_owned(), caller.id.clone());
        // Queued with its key: on PostgreSQL the batch reads the session
        // and its participants ahead and writes the mark with its appends.
        let key = SendKey::mark(session_id, &caller.id);
        let pending = self
            .enqueue_commit_with(Locks::session(session_id), Some(key), move |conn| {
                Box::pin(async move {
                    let mut tx = Tx::new(conn);
                    let (session, participants, _) = tx.load_for_mark(&sid, &user).await?;
                    if seq == 0 || seq > session.last_seq as u64 {
                        return Err(err(
                            ErrorCode::InvalidRequest,
                            format!("seq: must be between 1 and {}", session.last_seq),
                        ));
                    }
                    let raised = sessions::raise_mark(
                        tx.conn,
                        &sid,
                        &user,
                        kind == MarkKind::Read,
                        seq as i64,
                    )
                    .await?;
                    if raised {
                        let body = EventBody::Mark {
                            session_id: sid.to_string(),
                            user_id: user.to_string(),
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
            .await?;
        pending.await
    }

    /// Relays a typing indicator to the other participants' desktops (not stored).
    pub async fn typing(
        &self,
        caller: &Account,
        session_id: &str,
        state: TypingState,
    ) -> Result<()> {
        let session_id = &SessionId::from(session_id.to_owned());
        require_im(caller)?;
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
            .map(|p| p.user_id.to_string())
            .collect();
        let frame = serde_json::to_string(&ServerFrame::Typing {
            session_id: session_id.to_string(),
            user_id: caller.id.to_string(),
            state,
        })
        .map_err(|e| crate::ServiceError::Internal(e.into()))?;
        self.bus().publish(vec![BusMessage::Frame { users, frame }]);
        Ok(())
    }
}
