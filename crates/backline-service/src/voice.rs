//! Voice: contact calls and consultation calls, hold, transfer, conference,
//! WebRTC signalling relay, and the fallbacks that never leave a contact on
//! hold with nobody.
//!
//! Every change is one write: it updates the call rows, appends a line to the
//! interaction's call log (so every step lands in the contact's history),
//! tells every party (agents through their stream, the caller page through
//! an ephemeral frame) and queues the platform's webhook.

use backline_protocol::events::EventBody;
use backline_protocol::frames::ServerFrame;
use backline_protocol::interactions::{ContactInput, Media};
use backline_protocol::model::Status;
use backline_protocol::voice::{
    CallKind, CallParty, CallState, CallView, IceConfig, IceServer, LegState, PartyKind,
    PublicCallResponse, Signal,
};
use backline_protocol::ErrorCode;
use backline_store::rows::{CallPartyRow, CallRow};
use backline_store::types as stored;
use backline_store::WriteTx;
use backline_store::{calls, interactions, now_ms, sessions, users};
use base64::Engine;
use hmac::{KeyInit, Mac};

use crate::auth::{token_hash, Account};
use crate::bus::BusMessage;
use crate::error::{err, Result, ServiceError};
use crate::stream::emit;
use crate::Backline;

/// The hub key (and party id) of the caller of a contact call.
pub fn contact_party_id(call_id: &str) -> String {
    format!("contact:{call_id}")
}

/// Who is acting on a call.
#[derive(Debug, Clone)]
pub enum Actor {
    Agent(Account),
    /// The click-to-call page of one call.
    Caller {
        call_id: String,
        party_id: String,
    },
    /// Backline itself (time-outs, fallbacks).
    System,
}

impl Actor {
    fn party_id(&self) -> Option<&str> {
        match self {
            Actor::Agent(account) => Some(&account.id),
            Actor::Caller { party_id, .. } => Some(party_id),
            Actor::System => None,
        }
    }

    fn name(&self) -> &str {
        match self {
            Actor::Agent(account) => &account.display_name,
            Actor::Caller { .. } => "The contact",
            Actor::System => "Backline",
        }
    }
}

fn call_state(state: stored::CallState) -> CallState {
    match state {
        stored::CallState::Ringing => CallState::Ringing,
        stored::CallState::Active => CallState::Active,
        stored::CallState::Ended => CallState::Ended,
    }
}

fn leg_state(state: stored::PartyState) -> LegState {
    match state {
        stored::PartyState::Ringing => LegState::Ringing,
        stored::PartyState::Connected => LegState::Connected,
        stored::PartyState::Held => LegState::Held,
        stored::PartyState::Left => LegState::Left,
    }
}

fn view(call: &CallRow, parties: &[CallPartyRow]) -> CallView {
    CallView {
        id: call.id.clone(),
        kind: if call.kind == stored::CallKind::Consultation {
            CallKind::Consultation
        } else {
            CallKind::Contact
        },
        state: call_state(call.state),
        interaction_id: call.interaction_id.clone(),
        consultation_session_id: call.consultation_session_id.clone(),
        contact_call_id: call.contact_call_id.clone(),
        parties: parties
            .iter()
            .map(|p| CallParty {
                party_id: p.party_id.clone(),
                kind: if p.kind == stored::PartyKind::Contact {
                    PartyKind::Contact
                } else {
                    PartyKind::Agent
                },
                display_name: p.display_name.clone(),
                state: leg_state(p.state),
                device_id: p.device_id.clone(),
            })
            .collect(),
        created_at: call.created_at,
        answered_at: call.answered_at,
        ended_at: call.ended_at,
        ended_reason: call.ended_reason.clone(),
        hold_started_at: call.hold_started_at,
    }
}

fn clock(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

/// A call's view; a consultation call shows its contact call's hold start,
/// so that both agents see how long the contact has been waiting.
async fn load_view<E: backline_store::Exec>(
    executor: E,
    call: &CallRow,
    parties: &[CallPartyRow],
) -> Result<CallView> {
    let mut call_view = view(call, parties);
    if call.kind == stored::CallKind::Consultation && call.state != stored::CallState::Ended {
        if let Some(contact_call_id) = &call.contact_call_id {
            if let Some(contact_call) = calls::get(executor, contact_call_id).await? {
                call_view.hold_started_at = contact_call.hold_started_at;
            }
        }
    }
    Ok(call_view)
}

/// One call write: the connection, the time, what to publish after commit,
/// and the calls whose parties must hear of the change.
struct CallTx<'c> {
    conn: &'c mut WriteTx,
    hub: std::sync::Arc<crate::hub::Hub>,
    now: i64,
    out: Vec<BusMessage>,
    changed: Vec<String>,
}

impl<'c> CallTx<'c> {
    fn new(conn: &'c mut WriteTx, hub: std::sync::Arc<crate::hub::Hub>) -> CallTx<'c> {
        CallTx {
            conn,
            hub,
            now: now_ms(),
            out: Vec::new(),
            changed: Vec::new(),
        }
    }

    async fn load(&mut self, call_id: &str) -> Result<(CallRow, Vec<CallPartyRow>)> {
        let call = calls::get(&mut *self.conn, call_id)
            .await?
            .ok_or_else(|| err(ErrorCode::CallNotFound, format!("no call {call_id:?}")))?;
        let parties = calls::parties(&mut *self.conn, call_id).await?;
        Ok((call, parties))
    }

    /// Loads a call the actor is a party of (not left), refusing others.
    async fn load_as(
        &mut self,
        call_id: &str,
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
    async fn ringing_for(
        &mut self,
        call_id: &str,
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
    async fn touch_consultations(&mut self, contact_call_id: &str) -> Result<()> {
        for consultation in calls::open_consultations(&mut *self.conn, contact_call_id).await? {
            self.touch(&consultation.id);
        }
        Ok(())
    }

    fn touch(&mut self, call_id: &str) {
        if !self.changed.iter().any(|c| c == call_id) {
            self.changed.push(call_id.to_owned());
        }
    }

    async fn log(&mut self, call: &CallRow, line: &str) -> Result<()> {
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
        crate::interactions::reindex(self.conn, interaction).await
    }

    async fn webhook(&mut self, call: &CallRow, event_type: &str) -> Result<()> {
        let Some(interaction_id) = &call.interaction_id else {
            return Ok(());
        };
        if let Some(interaction) = interactions::get(&mut *self.conn, interaction_id).await? {
            crate::interactions::enqueue_webhook(
                self.conn,
                &interaction,
                event_type,
                None,
                None,
                self.now,
            )
            .await?;
        }
        Ok(())
    }

    /// Puts the contact of a contact call on hold (no-op when already held).
    async fn hold(&mut self, contact_call: &CallRow, by: &str) -> Result<()> {
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
        self.log(contact_call, &format!("{by} put the contact on hold"))
            .await?;
        self.webhook(contact_call, "interaction.held").await?;
        self.touch(&contact_call.id);
        Ok(())
    }

    /// Takes the contact of a contact call off hold (no-op when not held).
    async fn retrieve(&mut self, contact_call: &CallRow, by: &str) -> Result<()> {
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
        self.log(contact_call, &format!("{by} retrieved the contact"))
            .await?;
        self.webhook(contact_call, "interaction.retrieved").await?;
        self.touch(&contact_call.id);
        Ok(())
    }

    /// Ends a call; ending a consultation call retrieves its contact, ending a
    /// contact call ends its consultation calls (and a click-to-call interaction).
    async fn end(&mut self, call: &CallRow, reason: &str, by: &str) -> Result<()> {
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
                        crate::interactions::announce(
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
    async fn update_busy(&mut self, agent_id: &str) -> Result<()> {
        let mut on_call = false;
        for call in calls::active_for_party(&mut *self.conn, agent_id).await? {
            let parties = calls::parties(&mut *self.conn, &call.id).await?;
            if call.state == stored::CallState::Active
                && parties
                    .iter()
                    .any(|p| p.party_id == agent_id && p.state == stored::PartyState::Connected)
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
                if self.hub.is_online(agent_id) {
                    self.out.push(BusMessage::Presence {
                        user: agent_id.to_owned(),
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
        let mut agents: Vec<String> = Vec::new();
        for call_id in self.changed.clone() {
            for party in calls::parties(&mut *self.conn, &call_id).await? {
                if party.kind == stored::PartyKind::Agent && !agents.contains(&party.party_id) {
                    agents.push(party.party_id);
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
                    if users::get(&mut *self.conn, &party.party_id)
                        .await?
                        .is_some()
                    {
                        emit(
                            self.conn,
                            &mut self.out,
                            &party.party_id,
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

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn validate_device(device_id: &str) -> Result<()> {
    if device_id.is_empty()
        || device_id.len() > 100
        || !device_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(err(
            ErrorCode::InvalidRequest,
            "device_id: 1 to 100 letters, digits, '-' or '_'",
        ));
    }
    Ok(())
}

impl Backline {
    /// Runs a call write and answers with the view of `answer_call`.
    async fn call_write<F>(&self, write: F) -> Result<CallView>
    where
        F: for<'c> FnOnce(&'c mut CallTx<'_>) -> futures::future::BoxFuture<'c, Result<String>>
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
        self.call_view(&call_id).await
    }

    /// A call's current state (no access check: callers of this check it).
    pub async fn call_view(&self, call_id: &str) -> Result<CallView> {
        let call = calls::get(self.store().reader(), call_id)
            .await?
            .ok_or_else(|| err(ErrorCode::CallNotFound, format!("no call {call_id:?}")))?;
        let parties = calls::parties(self.store().reader(), call_id).await?;
        load_view(self.store().reader(), &call, &parties).await
    }

    /// The ICE servers for this account's desktops.
    pub fn ice_config(&self, account: &Account) -> IceConfig {
        let voice = &self.config().voice;
        let mut ice_servers = Vec::new();
        if !voice.stun_urls.is_empty() {
            ice_servers.push(IceServer {
                urls: voice.stun_urls.clone(),
                username: None,
                credential: None,
            });
        }
        if let (Some(secret), false) = (&voice.turn_secret, voice.turn_urls.is_empty()) {
            let expiry = now_ms() / 1000 + voice.turn_ttl_secs as i64;
            let username = format!("{expiry}:{}", account.id);
            let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes())
                .expect("any key length");
            mac.update(username.as_bytes());
            let credential =
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            ice_servers.push(IceServer {
                urls: voice.turn_urls.clone(),
                username: Some(username),
                credential: Some(credential),
            });
        }
        IceConfig { ice_servers }
    }

    /// The account's calls that have not ended.
    pub async fn my_calls(&self, account: &Account) -> Result<Vec<CallView>> {
        let mut out = Vec::new();
        for call in calls::active_for_party(self.store().reader(), &account.id).await? {
            let parties = calls::parties(self.store().reader(), &call.id).await?;
            out.push(load_view(self.store().reader(), &call, &parties).await?);
        }
        Ok(out)
    }

    /// The click-to-call page: a contact calls the least busy Ready agent.
    pub async fn public_call(&self, name: &str, device_id: &str) -> Result<PublicCallResponse> {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(err(ErrorCode::InvalidRequest, "name: 1 to 100 characters"));
        }
        validate_device(device_id)?;
        self.check_public_call_rate()?;
        let mut candidates = Vec::new();
        for row in users::with_status(self.store().reader(), Status::Ready.as_str()).await? {
            if self.hub().is_online(&row.id) {
                let busy = calls::active_for_party(self.store().reader(), &row.id)
                    .await?
                    .len();
                candidates.push((busy, rand::random::<u32>(), row));
            }
        }
        candidates.sort_by_key(|(busy, tie, _)| (*busy, *tie));
        let Some((_, _, agent)) = candidates.into_iter().next() else {
            return Err(err(
                ErrorCode::NoAgentAvailable,
                "no agent is available: please try again in a moment",
            ));
        };
        let call_id = uuid::Uuid::now_v7().to_string();
        let interaction_id = uuid::Uuid::now_v7().to_string();
        let token = random_token("blc_");
        let (cid, iid, hash, device, ring_ms) = (
            call_id.clone(),
            interaction_id.clone(),
            token_hash(&token),
            device_id.to_owned(),
            self.config().voice.ring_timeout_secs as i64 * 1000,
        );
        let caller_name = name.clone();
        self.call_write(move |tx| {
            Box::pin(async move {
                let now = tx.now;
                let contact = ContactInput {
                    first_name: caller_name.clone(),
                    ..Default::default()
                };
                let contact_id =
                    crate::interactions::upsert_contact(tx.conn, &contact, now).await?;
                interactions::insert(
                    tx.conn,
                    interactions::NewInteraction {
                        id: &iid,
                        integration_id: None,
                        external_id: None,
                        media: Media::Voice.as_str(),
                        state: "active",
                        agent_id: Some(&agent.id),
                        contact_id: Some(&contact_id),
                        subject: "Web call",
                        case_data: &serde_json::to_string(&[
                            backline_protocol::interactions::CaseDataItem {
                                key: "Channel".into(),
                                value: "Click-to-call page".into(),
                            },
                        ])
                        .unwrap_or_else(|_| "[]".into()),
                        outcome: None,
                        notes: None,
                        created_at: now,
                        ended_at: None,
                    },
                )
                .await?;
                crate::interactions::reindex(tx.conn, &iid).await?;
                calls::insert(
                    tx.conn,
                    calls::NewCall {
                        id: &cid,
                        kind: stored::CallKind::Contact,
                        state: stored::CallState::Ringing,
                        interaction_id: Some(&iid),
                        consultation_session_id: None,
                        contact_call_id: None,
                        created_at: now,
                        ring_expires_at: Some(now + ring_ms),
                        caller_token_hash: Some(&hash),
                    },
                )
                .await?;
                calls::add_party(
                    tx.conn,
                    &cid,
                    &contact_party_id(&cid),
                    stored::PartyKind::Contact,
                    &caller_name,
                    stored::PartyState::Connected,
                    Some(&device),
                    now,
                )
                .await?;
                calls::add_party(
                    tx.conn,
                    &cid,
                    &agent.id,
                    stored::PartyKind::Agent,
                    &agent.display_name,
                    stored::PartyState::Ringing,
                    None,
                    now,
                )
                .await?;
                crate::interactions::announce(
                    tx.conn,
                    &mut tx.out,
                    &iid,
                    "interaction.created",
                    now,
                )
                .await?;
                let call = calls::get(&mut *tx.conn, &cid)
                    .await?
                    .ok_or_else(|| err(ErrorCode::CallNotFound, "lost"))?;
                tx.log(
                    &call,
                    &format!("{caller_name} called {}", agent.display_name),
                )
                .await?;
                tx.touch(&cid);
                Ok(cid.clone())
            })
        })
        .await
        .map(|call| PublicCallResponse {
            party_id: contact_party_id(&call.id),
            call,
            caller_token: token,
        })
    }

    /// The click-to-call page's token → its call and party id.
    pub async fn authenticate_caller(&self, token: &str) -> Result<(String, String)> {
        if !token.starts_with("blc_") || token.len() > 256 {
            return Err(err(
                ErrorCode::Unauthenticated,
                "a caller token is required",
            ));
        }
        let call = calls::by_caller_token(self.store().reader(), &token_hash(token))
            .await?
            .ok_or_else(|| err(ErrorCode::Unauthenticated, "unknown caller token"))?;
        if call.state == stored::CallState::Ended {
            return Err(err(ErrorCode::SessionExpired, "this call has ended"));
        }
        Ok((call.id.clone(), contact_party_id(&call.id)))
    }

    /// The caller page's view of its call.
    pub async fn caller_call(&self, token: &str, call_id: &str) -> Result<CallView> {
        let call = calls::by_caller_token(self.store().reader(), &token_hash(token))
            .await?
            .ok_or_else(|| err(ErrorCode::Unauthenticated, "unknown caller token"))?;
        if call.id != call_id {
            return Err(err(
                ErrorCode::NotCallParty,
                "this token is for another call",
            ));
        }
        self.call_view(call_id).await
    }

    /// *Accept* on a ringing call, on the tab `device_id`.
    pub async fn accept_call(
        &self,
        account: &Account,
        call_id: &str,
        device_id: &str,
    ) -> Result<CallView> {
        validate_device(device_id)?;
        let (cid, actor, device) = (
            call_id.to_owned(),
            Actor::Agent(account.clone()),
            device_id.to_owned(),
        );
        self.call_write(move |tx| {
            Box::pin(async move {
                let (call, me) = tx.ringing_for(&cid, &actor).await?;
                calls::set_party(
                    tx.conn,
                    &cid,
                    &me.party_id,
                    stored::PartyState::Connected,
                    Some(&device),
                    tx.now,
                )
                .await?;
                calls::answer(tx.conn, &cid, tx.now).await?;
                tx.log(&call, &format!("{} answered", actor.name())).await?;
                tx.webhook(
                    &call,
                    if call.kind == stored::CallKind::Consultation {
                        "voice_consultation.accepted"
                    } else {
                        "interaction.answered"
                    },
                )
                .await?;
                tx.touch(&cid);
                Ok(cid.clone())
            })
        })
        .await
    }

    /// *Reject* on a ringing call; a rejected consultation retrieves the contact.
    pub async fn reject_call(&self, account: &Account, call_id: &str) -> Result<CallView> {
        let (cid, actor) = (call_id.to_owned(), Actor::Agent(account.clone()));
        self.call_write(move |tx| {
            Box::pin(async move {
                let (call, me) = tx.ringing_for(&cid, &actor).await?;
                calls::set_party(
                    tx.conn,
                    &cid,
                    &me.party_id,
                    stored::PartyState::Left,
                    None,
                    tx.now,
                )
                .await?;
                let name = actor.name().to_owned();
                tx.end(&call, "rejected", &name).await?;
                Ok(cid.clone())
            })
        })
        .await
    }

    /// *Hang Up*: the actor leaves; a call with fewer than two parties left ends.
    pub async fn hang_up(&self, actor: Actor, call_id: &str) -> Result<CallView> {
        let cid = call_id.to_owned();
        self.call_write(move |tx| {
            Box::pin(async move {
                let (call, parties, me) = tx.load_as(&cid, &actor).await?;
                calls::set_party(
                    tx.conn,
                    &cid,
                    &me.party_id,
                    stored::PartyState::Left,
                    None,
                    tx.now,
                )
                .await?;
                tx.touch(&cid);
                let remaining = parties
                    .iter()
                    .filter(|p| p.party_id != me.party_id && p.state != stored::PartyState::Left)
                    .count();
                let contact_left = me.kind == stored::PartyKind::Contact;
                let name = actor.name().to_owned();
                if remaining < 2 || contact_left || call.kind == stored::CallKind::Consultation {
                    tx.end(&call, "hung_up", &name).await?;
                } else {
                    tx.log(&call, &format!("{name} left the call")).await?;
                }
                Ok(cid.clone())
            })
        })
        .await
    }

    /// *Hold* / *Retrieve* the contact (a connected agent of the contact call).
    pub async fn set_contact_hold(
        &self,
        account: &Account,
        call_id: &str,
        hold: bool,
    ) -> Result<CallView> {
        let (cid, actor) = (call_id.to_owned(), Actor::Agent(account.clone()));
        self.call_write(move |tx| {
            Box::pin(async move {
                let (call, _, me) = tx.load_as(&cid, &actor).await?;
                if call.kind != stored::CallKind::Contact
                    || me.state != stored::PartyState::Connected
                {
                    return Err(err(
                        ErrorCode::InvalidState,
                        "only a connected agent of a contact call holds or retrieves it",
                    ));
                }
                let name = actor.name().to_owned();
                if hold {
                    tx.hold(&call, &name).await?;
                } else {
                    tx.retrieve(&call, &name).await?;
                }
                Ok(cid.clone())
            })
        })
        .await
    }

    /// *Start Voice Consultation* from an IM consultation about a voice
    /// interaction: the contact goes on hold and the other participant rings.
    pub async fn start_voice_consultation(
        &self,
        account: &Account,
        session_id: &str,
        device_id: &str,
    ) -> Result<CallView> {
        validate_device(device_id)?;
        let session = sessions::get(self.store().reader(), session_id)
            .await?
            .ok_or_else(|| {
                err(
                    ErrorCode::SessionNotFound,
                    format!("no session {session_id:?}"),
                )
            })?;
        let interaction_id = session.parent_interaction_id.clone().ok_or_else(|| {
            err(
                ErrorCode::InvalidState,
                "a voice consultation starts from an IM consultation",
            )
        })?;
        let (interaction, access) = self
            .interaction_access(account, &interaction_id, "start_voice_consultation")
            .await?;
        if access != crate::interactions::Access::Owner {
            return Err(err(
                ErrorCode::NotShared,
                "only the interaction's agent starts a voice consultation",
            ));
        }
        if interaction.media != "voice" {
            return Err(err(
                ErrorCode::InvalidState,
                "the interaction is not a voice interaction",
            ));
        }
        let participants = sessions::participants(self.store().reader(), session_id).await?;
        let target = participants
            .iter()
            .find(|p| p.user_id != account.id && p.state == stored::ParticipantState::Joined)
            .cloned()
            .ok_or_else(|| {
                err(
                    ErrorCode::InvalidState,
                    "the IM consultation has no connected target",
                )
            })?;
        let consultation_id = uuid::Uuid::now_v7().to_string();
        let ring_ms = self.config().voice.ring_timeout_secs as i64 * 1000;
        let (me, sid, device) = (account.clone(), session_id.to_owned(), device_id.to_owned());
        self.call_write(move |tx| {
            Box::pin(async move {
                let contact_call = calls::contact_call_of(&mut *tx.conn, &interaction_id)
                    .await?
                    .ok_or_else(|| {
                        err(
                            ErrorCode::InvalidState,
                            "the interaction has no call in progress",
                        )
                    })?;
                let parties = calls::parties(&mut *tx.conn, &contact_call.id).await?;
                let mine = parties
                    .iter()
                    .find(|p| p.party_id == me.id && p.state == stored::PartyState::Connected);
                if mine.is_none() {
                    return Err(err(
                        ErrorCode::InvalidState,
                        "you are not connected to the interaction's call",
                    ));
                }
                if !calls::open_consultations(&mut *tx.conn, &contact_call.id)
                    .await?
                    .is_empty()
                {
                    return Err(err(
                        ErrorCode::InvalidState,
                        "a voice consultation is already in progress",
                    ));
                }
                if mine.and_then(|p| p.device_id.as_ref()).is_none() {
                    calls::set_party(
                        tx.conn,
                        &contact_call.id,
                        &me.id,
                        stored::PartyState::Connected,
                        Some(&device),
                        tx.now,
                    )
                    .await?;
                }
                tx.hold(&contact_call, &me.display_name).await?;
                calls::insert(
                    tx.conn,
                    calls::NewCall {
                        id: &consultation_id,
                        kind: stored::CallKind::Consultation,
                        state: stored::CallState::Ringing,
                        interaction_id: Some(&interaction_id),
                        consultation_session_id: Some(&sid),
                        contact_call_id: Some(&contact_call.id),
                        created_at: tx.now,
                        ring_expires_at: Some(tx.now + ring_ms),
                        caller_token_hash: None,
                    },
                )
                .await?;
                calls::add_party(
                    tx.conn,
                    &consultation_id,
                    &me.id,
                    stored::PartyKind::Agent,
                    &me.display_name,
                    stored::PartyState::Connected,
                    Some(&device),
                    tx.now,
                )
                .await?;
                calls::add_party(
                    tx.conn,
                    &consultation_id,
                    &target.user_id,
                    stored::PartyKind::Agent,
                    &target.display_name,
                    stored::PartyState::Ringing,
                    None,
                    tx.now,
                )
                .await?;
                let call = calls::get(&mut *tx.conn, &consultation_id)
                    .await?
                    .ok_or_else(|| err(ErrorCode::CallNotFound, "lost"))?;
                tx.log(
                    &call,
                    &format!(
                        "{} started a voice consultation with {}",
                        me.display_name, target.display_name
                    ),
                )
                .await?;
                tx.webhook(&call, "voice_consultation.started").await?;
                tx.touch(&consultation_id);
                Ok(consultation_id.clone())
            })
        })
        .await
    }

    /// *End Consultation*: back to the contact, who is retrieved.
    pub async fn end_consultation(&self, account: &Account, call_id: &str) -> Result<CallView> {
        let (cid, actor) = (call_id.to_owned(), Actor::Agent(account.clone()));
        self.call_write(move |tx| {
            Box::pin(async move {
                let (call, _, _) = tx.load_as(&cid, &actor).await?;
                if call.kind != stored::CallKind::Consultation {
                    return Err(err(
                        ErrorCode::InvalidState,
                        "this is not a consultation call",
                    ));
                }
                let name = actor.name().to_owned();
                tx.end(&call, "ended", &name).await?;
                Ok(cid.clone())
            })
        })
        .await
    }

    /// *Complete Transfer* / *Complete Conference* (the consultation's initiator).
    pub async fn complete_consultation(
        &self,
        actor: Actor,
        call_id: &str,
        transfer: bool,
    ) -> Result<CallView> {
        let cid = call_id.to_owned();
        self.call_write(move |tx| {
            Box::pin(async move {
                let (call, parties) = tx.load(&cid).await?;
                if call.kind != stored::CallKind::Consultation
                    || call.state != stored::CallState::Active
                {
                    return Err(err(
                        ErrorCode::InvalidState,
                        "the voice consultation is not connected",
                    ));
                }
                let initiator = parties
                    .first()
                    .cloned()
                    .ok_or_else(|| err(ErrorCode::InvalidState, "no parties"))?;
                if let Actor::Agent(account) = &actor {
                    if account.id != initiator.party_id {
                        let party = parties.iter().any(|p| p.party_id == account.id);
                        return Err(if party {
                            err(
                                ErrorCode::InvalidState,
                                "only the agent who started the consultation completes it",
                            )
                        } else {
                            err(ErrorCode::NotCallParty, "you are not a party of this call")
                        });
                    }
                }
                let target = parties
                    .iter()
                    .find(|p| {
                        p.party_id != initiator.party_id && p.state == stored::PartyState::Connected
                    })
                    .cloned()
                    .ok_or_else(|| err(ErrorCode::InvalidState, "the target is not connected"))?;
                let contact_call_id = call
                    .contact_call_id
                    .clone()
                    .ok_or_else(|| err(ErrorCode::InvalidState, "no contact call"))?;
                let (contact_call, _) = tx.load(&contact_call_id).await?;
                if contact_call.state == stored::CallState::Ended {
                    return Err(err(ErrorCode::InvalidState, "the contact has left"));
                }
                let by = actor.name().to_owned();
                calls::add_party(
                    tx.conn,
                    &contact_call_id,
                    &target.party_id,
                    stored::PartyKind::Agent,
                    &target.display_name,
                    stored::PartyState::Connected,
                    target.device_id.as_deref(),
                    tx.now,
                )
                .await?;
                if transfer {
                    calls::set_party(
                        tx.conn,
                        &contact_call_id,
                        &initiator.party_id,
                        stored::PartyState::Left,
                        None,
                        tx.now,
                    )
                    .await?;
                    if let Some(interaction_id) = &call.interaction_id {
                        interactions::set_agent(tx.conn, interaction_id, &target.party_id).await?;
                        crate::interactions::announce(
                            tx.conn,
                            &mut tx.out,
                            interaction_id,
                            "interaction.transferred",
                            tx.now,
                        )
                        .await?;
                    }
                    tx.log(
                        &call,
                        &format!("{by} transferred the contact to {}", target.display_name),
                    )
                    .await?;
                    tx.end(&call, "transferred", &by).await?;
                } else {
                    tx.log(
                        &call,
                        &format!(
                            "{by} joined {} and the contact in a conference",
                            target.display_name
                        ),
                    )
                    .await?;
                    tx.webhook(&contact_call, "interaction.conferenced").await?;
                    tx.end(&call, "conferenced", &by).await?;
                }
                tx.retrieve(&contact_call, &by).await?;
                tx.touch(&contact_call_id);
                Ok(contact_call_id.clone())
            })
        })
        .await
    }

    /// Relays a WebRTC signal between two parties of one call.
    pub async fn relay_signal(
        &self,
        from: &str,
        call_id: &str,
        to: &str,
        signal: Signal,
    ) -> Result<()> {
        let parties = calls::parties(self.store().reader(), call_id).await?;
        if parties.is_empty() {
            return Err(err(ErrorCode::CallNotFound, format!("no call {call_id:?}")));
        }
        let live = |p: &&CallPartyRow| {
            p.state == stored::PartyState::Connected || p.state == stored::PartyState::Held
        };
        if !parties.iter().filter(live).any(|p| p.party_id == from) {
            return Err(err(
                ErrorCode::NotCallParty,
                "you are not a connected party of this call",
            ));
        }
        let recipient = parties
            .iter()
            .filter(live)
            .find(|p| p.party_id == to && p.party_id != from)
            .ok_or_else(|| {
                err(
                    ErrorCode::NotCallParty,
                    format!("{to:?} is not a connected party of this call"),
                )
            })?;
        if let Signal::Offer { sdp } | Signal::Answer { sdp } = &signal {
            if sdp.len() > 64 * 1024 {
                return Err(err(ErrorCode::PayloadTooLarge, "an SDP is at most 64 KiB"));
            }
        }
        let frame = serde_json::to_string(&ServerFrame::Signal {
            call_id: call_id.to_owned(),
            from: from.to_owned(),
            to_device: recipient.device_id.clone(),
            signal,
        })
        .map_err(|e| ServiceError::Internal(e.into()))?;
        self.bus().publish(vec![BusMessage::Frame {
            users: vec![recipient.party_id.clone()],
            frame,
        }]);
        Ok(())
    }

    /// Ends ringing calls whose time is up: a consultation not answered
    /// retrieves the contact, whose agent is told.
    pub(crate) async fn expire_ringing(&self) -> Result<()> {
        for call_id in calls::ring_expired(self.store().reader(), now_ms()).await? {
            let cid = call_id.clone();
            let outcome = self
                .call_write(move |tx| {
                    Box::pin(async move {
                        let (call, parties) = tx.load(&cid).await?;
                        if call.state != stored::CallState::Ringing {
                            return Ok(cid.clone());
                        }
                        for party in parties
                            .iter()
                            .filter(|p| p.state == stored::PartyState::Ringing)
                        {
                            calls::set_party(
                                tx.conn,
                                &cid,
                                &party.party_id,
                                stored::PartyState::Left,
                                None,
                                tx.now,
                            )
                            .await?;
                        }
                        tx.end(&call, "no_answer", "Backline").await?;
                        Ok(cid.clone())
                    })
                })
                .await;
            if let Err(error) = outcome {
                tracing::warn!(error.message = %error, call = %call_id, "ring time-out failed");
            }
        }
        Ok(())
    }

    /// The fallback for a contact on hold whose agents have all been gone for
    /// `voice.orphan_timeout_secs`: hand the contact to a connected
    /// consultation target, or end the call.
    pub(crate) async fn rescue_orphans(&self) -> Result<()> {
        let timeout_ms = self.config().voice.orphan_timeout_secs as i64 * 1000;
        let transfer = self.config().voice.orphan_fallback != "end";
        for call in calls::held_contact_calls(self.store().reader()).await? {
            let parties = calls::parties(self.store().reader(), &call.id).await?;
            let anyone_here = parties.iter().any(|p| {
                p.kind == stored::PartyKind::Agent
                    && p.state != stored::PartyState::Left
                    && self.hub().is_online(&p.party_id)
            });
            let now = now_ms();
            let cid = call.id.clone();
            match (anyone_here, call.orphaned_since) {
                (true, Some(_)) => {
                    self.commit(move |conn| {
                        Box::pin(async move {
                            calls::set_orphaned_since(conn, &cid, None).await?;
                            Ok(((), Vec::new()))
                        })
                    })
                    .await?;
                }
                (false, None) => {
                    self.commit(move |conn| {
                        Box::pin(async move {
                            calls::set_orphaned_since(conn, &cid, Some(now)).await?;
                            Ok(((), Vec::new()))
                        })
                    })
                    .await?;
                }
                (false, Some(since)) if now - since >= timeout_ms => {
                    let consultation = calls::open_consultations(self.store().reader(), &call.id)
                        .await?
                        .into_iter()
                        .find(|c| c.state == stored::CallState::Active);
                    let rescued = match (transfer, consultation) {
                        (true, Some(consultation)) => {
                            let target_online =
                                calls::parties(self.store().reader(), &consultation.id)
                                    .await?
                                    .iter()
                                    .skip(1)
                                    .any(|p| {
                                        p.state == stored::PartyState::Connected
                                            && self.hub().is_online(&p.party_id)
                                    });
                            target_online
                                && self
                                    .complete_consultation(Actor::System, &consultation.id, true)
                                    .await
                                    .is_ok()
                        }
                        _ => false,
                    };
                    if !rescued {
                        let cid = call.id.clone();
                        self.call_write(move |tx| {
                            Box::pin(async move {
                                let (call, _) = tx.load(&cid).await?;
                                if call.state != stored::CallState::Ended {
                                    tx.end(&call, "abandoned", "Backline").await?;
                                }
                                Ok(cid.clone())
                            })
                        })
                        .await?;
                    }
                    tracing::warn!(call = %call.id, transferred = rescued, "contact left on hold with no agent connected: fallback applied");
                }
                _ => {}
            }
        }
        Ok(())
    }
}
