//! One call write (`CallTx`) and its runner (`Backline::call_write`): the
//! call log, webhooks, hold and retrieve, ending, the Busy status while on a
//! call, and telling every party of every changed call.

use backline_protocol::events::EventBody;
use backline_protocol::frames::ServerFrame;
use backline_protocol::model::Status;
use backline_protocol::voice::CallView;
use backline_protocol::ErrorCode;
use backline_store::rows::{CallPartyRow, CallRow};
use backline_store::types as stored;
use backline_store::{calls, interactions, now_ms, users, CallId};
use backline_store::{UserId, WriteTx};

use super::views::load_view;
use super::Actor;
use crate::bus::BusMessage;
use crate::error::{err, Result, ServiceError};
use crate::shared::announce::{announce, enqueue_webhook};
use crate::shared::board::BoardNotices;
use crate::shared::contacts::reindex;
use crate::stream::emit;
use crate::Backline;

fn clock(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

/// One call write: the connection, the time, what to publish after commit,
/// and the calls whose parties must hear of the change.
pub(super) struct CallTx<'c> {
    pub(super) conn: &'c mut WriteTx,
    hub: std::sync::Arc<crate::hub::Hub>,
    pub(super) now: i64,
    pub(super) out: Vec<BusMessage>,
    changed: Vec<CallId>,
    board: BoardNotices,
}

impl<'c> CallTx<'c> {
    fn new(conn: &'c mut WriteTx, hub: std::sync::Arc<crate::hub::Hub>) -> CallTx<'c> {
        CallTx {
            conn,
            hub,
            now: now_ms(),
            out: Vec::new(),
            changed: Vec::new(),
            board: BoardNotices::default(),
        }
    }

    pub(super) async fn load(&mut self, call_id: &CallId) -> Result<(CallRow, Vec<CallPartyRow>)> {
        let call = calls::get(&mut *self.conn, call_id)
            .await?
            .ok_or_else(|| err(ErrorCode::CallNotFound, format!("no call {call_id:?}")))?;
        let parties = calls::parties(&mut *self.conn, call_id).await?;
        Ok((call, parties))
    }

    /// Loads a call the actor is a party of (not left), refusing others.
    pub(super) async fn load_as(
        &mut self,
        call_id: &CallId,
        actor: &Actor,
    ) -> Result<(CallRow, Vec<CallPartyRow>, CallPartyRow)> {
        let (call, parties) = self.load(call_id).await?;
        let me = actor
            .party_id()
            .and_then(|id| {
                parties
                    .iter()
                    .find(|p| p.party_id == id && p.state != stored::PartyState::Left)
            })
            .cloned()
            .ok_or_else(|| err(ErrorCode::NotCallParty, "you are not a party of this call"))?;
        if call.state == stored::CallState::Ended {
            return Err(err(ErrorCode::InvalidState, "the call has ended"));
        }
        Ok((call, parties, me))
    }

    /// Loads a call that rings for the actor (to accept or reject).
    pub(super) async fn ringing_for(
        &mut self,
        call_id: &CallId,
        actor: &Actor,
    ) -> Result<(CallRow, CallPartyRow)> {
        let (call, _, me) = self.load_as(call_id, actor).await?;
        if me.state != stored::PartyState::Ringing {
            return Err(err(
                ErrorCode::InvalidState,
                "this call is not ringing for you",
            ));
        }
        Ok((call, me))
    }

    /// The open consultation calls of a contact call show its hold: they change with it.
    async fn touch_consultations(&mut self, contact_call_id: &CallId) -> Result<()> {
        for consultation in calls::open_consultations(&mut *self.conn, contact_call_id).await? {
            self.touch(&consultation.id);
        }
        Ok(())
    }

    pub(super) fn touch(&mut self, call_id: &CallId) {
        if !self.changed.iter().any(|c| c == call_id) {
            self.changed.push(call_id.to_owned());
        }
    }

    pub(super) async fn log(&mut self, call: &CallRow, line: &str) -> Result<()> {
        let Some(interaction) = &call.interaction_id else {
            return Ok(());
        };
        let key = call
            .contact_call_id
            .clone()
            .unwrap_or_else(|| call.id.clone());
        let line = format!("[{}] {line}", clock(self.now));
        interactions::append_log(
            self.conn,
            interaction,
            &format!("call:{key}"),
            "Call log",
            &line,
            self.now,
        )
        .await?;
        reindex(self.conn, interaction).await
    }

    pub(super) async fn webhook(&mut self, call: &CallRow, event_type: &str) -> Result<()> {
        let Some(interaction_id) = &call.interaction_id else {
            return Ok(());
        };
        if let Some(interaction) = interactions::get(&mut *self.conn, interaction_id).await? {
            enqueue_webhook(self.conn, &interaction, event_type, None, None, self.now).await?;
        }
        Ok(())
    }

    /// Puts the contact of a contact call on hold (no-op when already held).
    pub(super) async fn hold(&mut self, contact_call: &CallRow, by: &str) -> Result<()> {
        let parties = calls::parties(&mut *self.conn, &contact_call.id).await?;
        let Some(contact) = parties.iter().find(|p| {
            p.kind == stored::PartyKind::Contact && p.state == stored::PartyState::Connected
        }) else {
            return Ok(());
        };
        calls::set_party(
            self.conn,
            &contact_call.id,
            &contact.party_id,
            stored::PartyState::Held,
            None,
            self.now,
        )
        .await?;
        calls::set_hold(self.conn, &contact_call.id, Some(self.now)).await?;
        self.touch_consultations(&contact_call.id).await?;
        self.board_hold(contact_call).await?;
        self.log(contact_call, &format!("{by} put the contact on hold"))
            .await?;
        self.webhook(contact_call, "interaction.held").await?;
        self.touch(&contact_call.id);
        Ok(())
    }

    /// Takes the contact of a contact call off hold (no-op when not held).
    pub(super) async fn retrieve(&mut self, contact_call: &CallRow, by: &str) -> Result<()> {
        let parties = calls::parties(&mut *self.conn, &contact_call.id).await?;
        let Some(contact) = parties
            .iter()
            .find(|p| p.kind == stored::PartyKind::Contact && p.state == stored::PartyState::Held)
        else {
            return Ok(());
        };
        calls::set_party(
            self.conn,
            &contact_call.id,
            &contact.party_id,
            stored::PartyState::Connected,
            None,
            self.now,
        )
        .await?;
        calls::set_hold(self.conn, &contact_call.id, None).await?;
        self.touch_consultations(&contact_call.id).await?;
        self.board_hold(contact_call).await?;
        self.log(contact_call, &format!("{by} retrieved the contact"))
            .await?;
        self.webhook(contact_call, "interaction.retrieved").await?;
        self.touch(&contact_call.id);
        Ok(())
    }

    /// The contact of a contact call was put on or taken off hold: the
    /// boards that show consultations about its interaction change.
    async fn board_hold(&mut self, contact_call: &CallRow) -> Result<()> {
        if let Some(interaction_id) = &contact_call.interaction_id {
            self.board
                .interaction(self.conn, &mut self.out, self.now, interaction_id)
                .await?;
        }
        Ok(())
    }

    /// Ends a call; ending a consultation call retrieves its contact, ending a
    /// contact call ends its consultation calls (and a click-to-call interaction).
    pub(super) async fn end(&mut self, call: &CallRow, reason: &str, by: &str) -> Result<()> {
        calls::end(self.conn, &call.id, reason, self.now).await?;
        self.touch(&call.id);
        if call.kind == stored::CallKind::Consultation {
            self.log(
                call,
                &format!("voice consultation ended ({reason}) by {by}"),
            )
            .await?;
            self.webhook(call, &format!("voice_consultation.{reason}"))
                .await?;
            if let Some(contact_call_id) = &call.contact_call_id {
                if let Some(contact_call) = calls::get(&mut *self.conn, contact_call_id).await? {
                    if contact_call.state != stored::CallState::Ended
                        && reason != "transferred"
                        && reason != "conferenced"
                    {
                        self.retrieve(&contact_call, by).await?;
                    }
                }
            }
        } else {
            self.log(call, &format!("call ended ({reason}) by {by}"))
                .await?;
            self.webhook(call, "interaction.call_ended").await?;
            for consultation in calls::open_consultations(&mut *self.conn, &call.id).await? {
                calls::end(self.conn, &consultation.id, "contact_left", self.now).await?;
                self.touch(&consultation.id);
            }
            if let Some(interaction_id) = &call.interaction_id {
                if let Some(row) = interactions::get(&mut *self.conn, interaction_id).await? {
                    // A click-to-call interaction has no platform to end it: the call's end is its end.
                    if row.integration_id.is_none() && row.state != "ended" {
                        interactions::end(
                            self.conn,
                            interaction_id,
                            Some("Call ended"),
                            None,
                            self.now,
                        )
                        .await?;
                        announce(
                            self.conn,
                            &mut self.out,
                            interaction_id,
                            "interaction.ended",
                            self.now,
                        )
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Busy while on a call: an agent connected (or holding) in a call that has
    /// not ended is Busy; when their last call ends, the status they had comes back.
    async fn update_busy(&mut self, agent_id: &UserId) -> Result<()> {
        let mut on_call = false;
        for call in calls::active_for_party(&mut *self.conn, agent_id.as_str()).await? {
            let parties = calls::parties(&mut *self.conn, &call.id).await?;
            if call.state == stored::CallState::Active
                && parties.iter().any(|p| {
                    p.party_id == agent_id.as_str() && p.state == stored::PartyState::Connected
                })
            {
                on_call = true;
                break;
            }
        }
        let changed = if on_call {
            users::enter_call_busy(self.conn, agent_id).await?
        } else {
            users::leave_call_busy(self.conn, agent_id).await?
        };
        if changed {
            if let Some(row) = users::get(&mut *self.conn, agent_id).await? {
                let status = Status::parse(&row.status).unwrap_or(Status::NotReady);
                let reason = row.status_reason.clone();
                emit(
                    self.conn,
                    &mut self.out,
                    agent_id,
                    self.now,
                    &EventBody::Status {
                        status,
                        reason: reason.clone(),
                    },
                )
                .await?;
                // Busy shows on the agent's supervisors' boards.
                self.board
                    .member(self.conn, &mut self.out, self.now, agent_id)
                    .await?;
                if self.hub.is_online(agent_id.as_str()) {
                    self.out.push(BusMessage::Presence {
                        user: agent_id.to_string(),
                        status,
                        reason,
                    });
                }
            }
        }
        Ok(())
    }

    /// Tells every party of every changed call (agents: stream; caller page: frame).
    async fn publish(&mut self) -> Result<()> {
        let mut agents: Vec<UserId> = Vec::new();
        for call_id in self.changed.clone() {
            for party in calls::parties(&mut *self.conn, &call_id).await? {
                // An agent party's id is the agent's account id.
                let agent = UserId::from(party.party_id);
                if party.kind == stored::PartyKind::Agent && !agents.contains(&agent) {
                    agents.push(agent);
                }
            }
        }
        for agent in agents {
            if users::get(&mut *self.conn, &agent).await?.is_some() {
                self.update_busy(&agent).await?;
            }
        }
        for call_id in std::mem::take(&mut self.changed) {
            let (call, parties) = self.load(&call_id).await?;
            let call_view = load_view(&mut *self.conn, &call, &parties).await?;
            for party in &parties {
                if party.kind == stored::PartyKind::Agent {
                    let agent = UserId::from(party.party_id.clone());
                    if users::get(&mut *self.conn, &agent).await?.is_some() {
                        emit(
                            self.conn,
                            &mut self.out,
                            &agent,
                            self.now,
                            &EventBody::Call {
                                call: call_view.clone(),
                            },
                        )
                        .await?;
                    }
                } else if party.device_id.is_some() {
                    let frame = serde_json::to_string(&ServerFrame::Call {
                        call: call_view.clone(),
                    })
                    .map_err(|e| ServiceError::Internal(e.into()))?;
                    self.out.push(BusMessage::Frame {
                        users: vec![party.party_id.clone()],
                        frame,
                    });
                }
            }
        }
        Ok(())
    }

    async fn finish<T>(mut self, value: T) -> Result<(T, Vec<BusMessage>)> {
        self.publish().await?;
        Ok((value, self.out))
    }
}

impl Backline {
    /// Runs a call write and answers with the view of `answer_call`.
    pub(super) async fn call_write<F>(&self, write: F) -> Result<CallView>
    where
        F: for<'c> FnOnce(&'c mut CallTx<'_>) -> futures::future::BoxFuture<'c, Result<CallId>>
            + Send
            + 'static,
    {
        let hub = self.hub().clone();
        let call_id = self
            .commit(move |conn| {
                Box::pin(async move {
                    let mut tx = CallTx::new(conn, hub);
                    let call_id = write(&mut tx).await?;
                    tx.finish(call_id).await
                })
            })
            .await?;
        self.view_of_call(&call_id).await
    }
}
