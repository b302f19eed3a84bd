//! Opening a session and its invitations: create (a consultation too),
//! accept, reject, cancel, and the worker's time-out.

use std::collections::HashSet;

use backline_protocol::events::EventBody;
use backline_protocol::model::{CreateSessionRequest, EntryKind, SessionView};
use backline_protocol::ErrorCode;
use backline_store::rows::GroupSettingsRow;
use backline_store::rows::ParticipantRow;
use backline_store::types as stored;
use backline_store::SessionId;
use backline_store::{groups, offers, sessions, transcript, users, GroupId};
use backline_store::{InteractionId, Locks, UserId};

use super::tx::Tx;
use super::{is_active, require_im, validate_client_id, validate_text};
use crate::auth::Account;
use crate::error::{err, Result};
use crate::shared::access::Access;
use crate::Backline;

impl Backline {
    /// Opens an IM session with one target and (unless deferred) invites them.
    pub async fn create_session(
        &self,
        caller: &Account,
        mut request: CreateSessionRequest,
    ) -> Result<SessionView> {
        require_im(caller)?;
        // The first message's text is checked as typed, then stored masked.
        if let Some(first) = &mut request.first_message {
            validate_client_id("first_message.client_msg_id", &first.client_msg_id)?;
            validate_text(&first.text, self.config().max_message_bytes)?;
            first.text = self.stored_text(&first.text);
        }
        if let Some(client_id) = &request.client_id {
            validate_client_id("client_id", client_id)?;
            if let Some(existing) =
                sessions::by_client_id(self.store().reader(), &caller.id, client_id).await?
            {
                let view = self.session(caller, existing.id.as_str()).await?;
                return self.same_create_request(caller, &request, view).await;
            }
        }
        self.check_rate(caller.id.as_str())?;
        // The target is a group or an account.
        let group_id = GroupId::from(request.target_id.clone());
        if let Some(group) = groups::settings(self.store().reader(), &group_id).await? {
            return self.create_group_session(caller, request, group).await;
        }
        // Not a group: an account.
        let target = users::get(
            self.store().reader(),
            &UserId::from(request.target_id.clone()),
        )
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
            self.check_consultation_parent(caller, parent).await?;
        }
        let defer = request.defer_invite && request.first_message.is_none();
        let parent = request
            .parent_interaction_id
            .clone()
            .map(InteractionId::from);
        let session_id = SessionId::from(uuid::Uuid::now_v7().to_string());
        let timeout_ms = self.config().invite_timeout_secs as i64 * 1000;
        let me = (caller.id.clone(), caller.display_name.clone());
        let them = (target.id.clone(), target.display_name.clone());
        let first = request.first_message.clone();
        let client_id = request.client_id.clone();
        let sid = session_id.clone();
        let mut locks = Locks::users(&[&me.0, &them.0]);
        if parent.is_some() {
            // A consultation appears on its supervisors' boards.
            locks.add_users(&self.board_locks_of_members(&[&me.0, &them.0]).await?);
        }
        self.commit_locking(locks, move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                let now = tx.now;
                let state = if defer {
                    stored::SessionState::NotConnected
                } else {
                    stored::SessionState::Inviting
                };
                tx.open(&sid, state, &me.0, client_id.as_deref(), parent.as_ref())
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
        self.session(caller, session_id.as_str()).await
    }

    /// Only the interaction's agent starts a consultation about it, while it is active.
    async fn check_consultation_parent(&self, caller: &Account, parent: &str) -> Result<()> {
        let (row, access) = self
            .interaction_access(caller, parent, "start_consultation")
            .await?;
        if access != Access::Owner {
            return Err(err(
                ErrorCode::NotShared,
                "only the interaction's agent starts a consultation about it",
            ));
        }
        if row.state == "ended" {
            return Err(err(ErrorCode::InvalidState, "the interaction has ended"));
        }
        Ok(())
    }

    /// Opens a group consultation: the session, the first message, and the
    /// offer's first wave, in one write.
    async fn create_group_session(
        &self,
        caller: &Account,
        request: CreateSessionRequest,
        group: GroupSettingsRow,
    ) -> Result<SessionView> {
        let Some(first) = request.first_message.clone() else {
            return Err(err(
                ErrorCode::InvalidRequest,
                "first_message: a group consultation is offered with its first message",
            ));
        };
        if let Some(parent) = &request.parent_interaction_id {
            self.check_consultation_parent(caller, parent).await?;
        }
        let (allowed, reach) = self.offer_reach(&group.id).await?;
        let mut allowed = allowed;
        allowed.remove(&caller.id);
        let session_id = SessionId::from(uuid::Uuid::now_v7().to_string());
        let me = (caller.id.clone(), caller.display_name.clone());
        let (sid, group_id) = (session_id.clone(), group.id.clone());
        // The answer-time target: past it, the offer escalates.
        let escalate_ms = (group.escalate_secs > 0).then_some(group.escalate_secs * 1000);
        let (client_id, parent) = (
            request.client_id.clone(),
            request
                .parent_interaction_id
                .clone()
                .map(InteractionId::from),
        );
        let mut locks = Locks::users(&[&me.0]);
        locks.add_users(&reach);
        locks.add_users(&self.board_locks_of_members(&[&me.0]).await?);
        self.commit_locking(locks, move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                let now = tx.now;
                let state = stored::SessionState::Inviting;
                tx.open(&sid, state, &me.0, client_id.as_deref(), parent.as_ref())
                    .await?;
                let escalate_at = escalate_ms.map(|ms| now + ms);
                offers::insert(tx.conn, &sid, &group_id, now, escalate_at).await?;
                let message = tx
                    .entry(
                        &sid,
                        EntryKind::Message,
                        (&me.0, &me.1),
                        None,
                        Some(&first.text),
                        Some(&first.client_msg_id),
                    )
                    .await?;
                let offer = offers::get(&mut *tx.conn, &sid)
                    .await?
                    .ok_or_else(|| err(ErrorCode::Internal, "the offer just written is gone"))?;
                // The wave's own notification carries the session (with the
                // first message) to the initiator and every member offered.
                tx.send_wave(&offer, &allowed).await?;
                let recipients = tx.active(&sid).await?;
                tx.emit_entries(&[message], &recipients).await?;
                tx.consultation_event(&sid, "consultation.invited").await?;
                tx.done(())
            })
        })
        .await?;
        metrics::counter!("backline_group_consultations_total", "group" => group.name.clone())
            .increment(1);
        self.session(caller, session_id.as_str()).await
    }

    /// A retry of `create_session` with a `client_id` already used: the
    /// first session when the request is the same one (same target, same
    /// parent interaction, same first message), `idempotency_conflict` when
    /// the client id comes with a different request.
    async fn same_create_request(
        &self,
        caller: &Account,
        request: &CreateSessionRequest,
        view: SessionView,
    ) -> Result<SessionView> {
        // A group consultation's target is its group; any other session's, an invitee.
        let same_target = match &view.offer {
            Some(offer) => offer.group_id == request.target_id,
            None => view
                .participants
                .iter()
                .any(|p| p.user_id == request.target_id && p.user_id != caller.id.as_str()),
        };
        let mut same = same_target && view.parent_interaction_id == request.parent_interaction_id;
        if let (true, Some(first)) = (same, &request.first_message) {
            let prior = transcript::by_client_msg_id(
                self.store().reader(),
                &SessionId::from(view.id.clone()),
                &caller.id,
                &first.client_msg_id,
            )
            .await?;
            same = prior.is_some_and(|entry| entry.body.as_deref() == Some(first.text.as_str()));
        }
        if same {
            Ok(view)
        } else {
            Err(err(
                ErrorCode::IdempotencyConflict,
                "client_id was already used for a different session \
                 (another target, parent interaction or first message)",
            ))
        }
    }

    /// Accepts the caller's pending invitation (timed out or not).
    pub async fn accept(&self, caller: &Account, session_id: &str) -> Result<SessionView> {
        let session_id = &SessionId::from(session_id.to_owned());
        require_im(caller)?;
        let (sid, me) = (
            session_id.to_owned(),
            (caller.id.clone(), caller.display_name.clone()),
        );
        let locks = self.session_locks(session_id).await?;
        let took = self
            .commit_locking(locks, move |conn| {
                Box::pin(async move {
                    let mut tx = Tx::new(conn);
                    // A group offer goes to the first who accepts: the
                    // conditional take decides, inside this transaction.
                    let offer = offers::get(&mut *tx.conn, &sid).await?;
                    if let Some(offer) = &offer {
                        if offer.state == stored::OfferState::Taken {
                            return Err(taken(offer));
                        }
                    }
                    let participants = tx.pending_invitation(&sid, &me.0).await?;
                    let (mut entries, mut withdrawn) = (Vec::new(), Vec::new());
                    if let Some(offer) = &offer {
                        if !offers::take(tx.conn, &sid, &me.0, tx.now).await? {
                            return Err(taken(offer));
                        }
                        offers::set_idle_since(tx.conn, &me.0, tx.now).await?;
                        (entries, withdrawn) =
                            tx.withdraw_others(&sid, &me.0, &participants).await?;
                    }
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
                    tx.notify(&sid, &withdrawn).await?;
                    entries.push(entry);
                    tx.emit_entries(&entries, &recipients).await?;
                    tx.consultation_event(&sid, "consultation.accepted").await?;
                    let took = offer.map(|o| (o.group_name, tx.now - o.created_at));
                    tx.done(took)
                })
            })
            .await?;
        if let Some((group, waited_ms)) = took {
            // A summary: /metrics shows its quantiles (p50, p90 …) per group.
            metrics::histogram!("backline_group_consultation_accept_seconds", "group" => group)
                .record(waited_ms as f64 / 1000.0);
        }
        self.session(caller, session_id.as_str()).await
    }

    /// Refuses the caller's pending invitation; the session leaves the caller's workspace.
    pub async fn reject(&self, caller: &Account, session_id: &str) -> Result<SessionView> {
        let session_id = &SessionId::from(session_id.to_owned());
        require_im(caller)?;
        let (sid, me) = (
            session_id.to_owned(),
            (caller.id.clone(), caller.display_name.clone()),
        );
        // A group offer passes on to the next member: those it may reach
        // are read (and their rows locked) up front.
        let mut locks = self.session_locks(session_id).await?;
        let mut allowed = HashSet::new();
        if let Some(offer) = offers::get(self.store().reader(), session_id).await? {
            let (reachable, reach) = self.offer_reach(&offer.group_id).await?;
            allowed = reachable;
            locks.add_users(&reach);
        }
        self.commit_locking(locks, move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                let offer = offers::get(&mut *tx.conn, &sid).await?;
                if let Some(offer) = offer
                    .as_ref()
                    .filter(|o| o.state == stored::OfferState::Taken)
                {
                    return Err(taken(offer));
                }
                let participants = tx.pending_invitation(&sid, &me.0).await?;
                sessions::set_participant_state(
                    tx.conn,
                    &sid,
                    &me.0,
                    stored::ParticipantState::Rejected,
                    tx.now,
                )
                .await?;
                let passed_on = tx.pass_on(&sid, &allowed).await?;
                let offer_open = offer.is_some_and(|o| o.state == stored::OfferState::Open);
                let mut recipients: Vec<UserId> = participants
                    .iter()
                    .filter(|p| is_active(p))
                    .map(|p| p.user_id.clone())
                    .collect();
                if !passed_on.is_empty() {
                    recipients = tx.active(&sid).await?;
                    recipients.push(me.0.clone());
                }
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
                // With nobody else invited or joined besides the initiator,
                // the session is over; an open group offer waits for its
                // next wave instead.
                let others_engaged = offer_open
                    || participants
                        .iter()
                        .filter(|p| p.user_id != me.0 && p.role == stored::ParticipantRole::Invitee)
                        .any(is_active);
                let mut entries = vec![entry];
                entries.extend(passed_on);
                if !others_engaged {
                    entries.push(tx.end(&sid, (&me.0, &me.1)).await?);
                }
                tx.notify(&sid, &recipients).await?;
                tx.emit_entries(&entries, &recipients).await?;
                tx.emit_to(
                    &me.0,
                    EventBody::SessionRemoved {
                        session_id: sid.to_string(),
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
        self.session(caller, session_id.as_str()).await
    }

    /// Withdraws the caller's pending invitations (initiator only); without anyone joined the session ends.
    pub async fn cancel(&self, caller: &Account, session_id: &str) -> Result<SessionView> {
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
                let recipients: Vec<UserId> = participants
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
                            session_id: sid.to_string(),
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
        self.session(caller, session_id.as_str()).await
    }

    /// Marks one expired invitation timed out (the worker calls this). The
    /// invitation stays pending and can still be accepted or rejected.
    pub(crate) async fn time_out_invitation(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
    ) -> Result<()> {
        let (sid, user) = (session_id.to_owned(), user_id.clone());
        let locks = self.session_locks(session_id).await?;
        self.commit_locking(locks, move |conn| {
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

/// The refusal of an accept (or reject) that came after someone took the offer.
fn taken(offer: &backline_store::rows::OfferRow) -> crate::error::ServiceError {
    err(
        ErrorCode::OfferTaken,
        format!(
            "{} accepted this consultation first",
            offer.taken_by_name.as_deref().unwrap_or("another member")
        ),
    )
}
