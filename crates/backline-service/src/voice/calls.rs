//! Calls: the click-to-call page (a contact calls the least busy Ready
//! agent) and its caller token, accept, reject, hang up.

use backline_protocol::interactions::{ContactInput, Media};
use backline_protocol::model::Status;
use backline_protocol::voice::{CallView, PublicCallResponse};
use backline_protocol::ErrorCode;
use backline_store::rows::UserRow;
use backline_store::types as stored;
use backline_store::{calls, interactions, users, CallId, InteractionId};
use base64::Engine;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{validate_device, Actor};
use crate::auth::{token_hash, Account};
use crate::error::{err, Result};
use crate::input::single_line_name;
use crate::shared::announce::announce;
use crate::shared::calls::contact_party_id;
use crate::shared::contacts::{reindex, upsert_contact};
use crate::Backline;

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Who placed a web call: the client address and the page's tab
/// (`device_id`, a random id the page keeps for its life).
type CallerKey = (IpAddr, String);

/// The web calls this node placed that may still ring, by caller, with the
/// caller's token, so that a caller who asks again (a retry after a lost
/// answer, a second click) gets the ringing call back instead of ringing
/// another agent. Entries live for the ring time-out; there are at most as
/// many as calls that ring, which the per-agent limit bounds.
#[derive(Default)]
pub(crate) struct RingingCallers {
    calls: Mutex<HashMap<CallerKey, RingingCall>>,
}

struct RingingCall {
    call_id: String,
    token: String,
    until: Instant,
}

impl RingingCallers {
    fn get(&self, key: &CallerKey) -> Option<(String, String)> {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        calls.retain(|_, call| call.until > now);
        calls
            .get(key)
            .map(|call| (call.call_id.clone(), call.token.clone()))
    }

    fn insert(&self, key: CallerKey, call: RingingCall) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.insert(key, call);
    }
}

/// The least busy Ready agent who is not already rung by `max_rings` web calls.
fn pick_agent(
    candidates: &mut [(usize, usize, u32, UserRow)],
    max_rings: usize,
) -> Option<UserRow> {
    candidates.sort_by_key(|(busy, _, tie, _)| (*busy, *tie));
    candidates
        .iter()
        .find(|(_, ringing, _, _)| *ringing < max_rings)
        .map(|(_, _, _, row)| row.clone())
}

/// Contact calls that ring `agent` now.
fn ringing_web_calls(active: &[backline_store::rows::CallRow]) -> usize {
    active
        .iter()
        .filter(|c| c.kind == stored::CallKind::Contact && c.state == stored::CallState::Ringing)
        .count()
}

impl Backline {
    /// The web call that already rings for this caller (`address` and tab),
    /// with its token: a caller asking again gets it back.
    pub async fn ringing_public_call(
        &self,
        address: IpAddr,
        device_id: &str,
    ) -> Result<Option<PublicCallResponse>> {
        let Some((call_id, token)) = self.ringing_callers().get(&(address, device_id.to_owned()))
        else {
            return Ok(None);
        };
        let call = self.call_view(&call_id).await?;
        if call.state != backline_protocol::voice::CallState::Ringing {
            return Ok(None);
        }
        Ok(Some(PublicCallResponse {
            party_id: contact_party_id(&call.id),
            call,
            caller_token: token,
        }))
    }

    /// The click-to-call page: a contact (at `address`) calls the least busy
    /// Ready agent who is not already rung by
    /// `public_call_rings_per_agent` web calls. The caller's address budget
    /// ([`Backline::admit_public_call`]) is the server's to check first.
    pub async fn public_call(
        &self,
        name: &str,
        device_id: &str,
        address: IpAddr,
    ) -> Result<PublicCallResponse> {
        let name = single_line_name("name", name, 100, false)?;
        validate_device(device_id)?;
        let max_rings = self.config().public_call_rings_per_agent.max(1) as usize;
        let mut candidates = Vec::new();
        for row in users::with_status(self.store().reader(), Status::Ready.as_str()).await? {
            if self.hub().is_online(row.id.as_str()) {
                let active =
                    calls::active_for_party(self.store().reader(), row.id.as_str()).await?;
                let ringing = ringing_web_calls(&active);
                candidates.push((active.len(), ringing, rand::random::<u32>(), row));
            }
        }
        let no_agent = || {
            err(
                ErrorCode::NoAgentAvailable,
                "no agent is available: please try again in a moment",
            )
        };
        let agent = pick_agent(&mut candidates, max_rings).ok_or_else(no_agent)?;
        let call_id = CallId::from(uuid::Uuid::now_v7().to_string());
        let interaction_id = InteractionId::from(uuid::Uuid::now_v7().to_string());
        let token = random_token("blc_");
        let (cid, iid, hash, device, ring_ms) = (
            call_id.clone(),
            interaction_id.clone(),
            token_hash(&token),
            device_id.to_owned(),
            self.config().voice.ring_timeout_secs as i64 * 1000,
        );
        let caller_name = name.clone();
        let call = self
            .call_write(move |tx| {
                Box::pin(async move {
                    let now = tx.now;
                    // Checked again in the write: the writer runs one write at
                    // a time, so concurrent calls cannot both take the last ring.
                    let active = calls::active_for_party(&mut *tx.conn, agent.id.as_str()).await?;
                    if ringing_web_calls(&active) >= max_rings {
                        return Err(no_agent());
                    }
                    let contact = ContactInput {
                        first_name: caller_name.clone(),
                        ..Default::default()
                    };
                    let contact_id = upsert_contact(tx.conn, &contact, now).await?;
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
                    reindex(tx.conn, &iid).await?;
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
                        &contact_party_id(cid.as_str()),
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
                        agent.id.as_str(),
                        stored::PartyKind::Agent,
                        &agent.display_name,
                        stored::PartyState::Ringing,
                        None,
                        now,
                    )
                    .await?;
                    announce(tx.conn, &mut tx.out, &iid, "interaction.created", now).await?;
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
            .await?;
        self.ringing_callers().insert(
            (address, device_id.to_owned()),
            RingingCall {
                call_id: call.id.clone(),
                token: token.clone(),
                until: Instant::now() + Duration::from_secs(self.config().voice.ring_timeout_secs),
            },
        );
        Ok(PublicCallResponse {
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
            return Err(err(ErrorCode::CallEnded, "this call has ended"));
        }
        Ok((call.id.to_string(), contact_party_id(call.id.as_str())))
    }

    /// The caller page's view of its call.
    pub async fn caller_call(&self, token: &str, call_id: &str) -> Result<CallView> {
        let call_id = &CallId::from(call_id.to_owned());
        let call = calls::by_caller_token(self.store().reader(), &token_hash(token))
            .await?
            .ok_or_else(|| err(ErrorCode::Unauthenticated, "unknown caller token"))?;
        if call.id != *call_id {
            return Err(err(
                ErrorCode::NotCallParty,
                "this token is for another call",
            ));
        }
        self.view_of_call(call_id).await
    }

    /// *Accept* on a ringing call, on the tab `device_id`.
    pub async fn accept_call(
        &self,
        account: &Account,
        call_id: &str,
        device_id: &str,
    ) -> Result<CallView> {
        let call_id = &CallId::from(call_id.to_owned());
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
        let call_id = &CallId::from(call_id.to_owned());
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
        let call_id = &CallId::from(call_id.to_owned());
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
}
