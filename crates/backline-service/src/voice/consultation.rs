//! Hold and retrieve, the voice consultation (started from an IM
//! consultation), and its completion as a transfer or a conference.

use backline_protocol::voice::CallView;
use backline_protocol::ErrorCode;
use backline_store::types as stored;
use backline_store::SessionId;
use backline_store::{calls, interactions, sessions, CallId, UserId};

use super::{validate_device, Actor};
use crate::auth::Account;
use crate::error::{err, Result};
use crate::shared::access::Access;
use crate::shared::announce::announce;
use crate::Backline;

impl Backline {
    /// *Hold* / *Retrieve* the contact (a connected agent of the contact call).
    pub async fn set_contact_hold(
        &self,
        account: &Account,
        call_id: &str,
        hold: bool,
    ) -> Result<CallView> {
        let call_id = &CallId::from(call_id.to_owned());
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
        let session_id = &SessionId::from(session_id.to_owned());
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
            .interaction_access(account, interaction_id.as_str(), "start_voice_consultation")
            .await?;
        if access != Access::Owner {
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
        let consultation_id = CallId::from(uuid::Uuid::now_v7().to_string());
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
                let mine = parties.iter().find(|p| {
                    p.party_id == me.id.as_str() && p.state == stored::PartyState::Connected
                });
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
                        me.id.as_str(),
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
                    me.id.as_str(),
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
                    target.user_id.as_str(),
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
        let call_id = &CallId::from(call_id.to_owned());
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
        let call_id = &CallId::from(call_id.to_owned());
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
                    if account.id.as_str() != initiator.party_id {
                        let party = parties.iter().any(|p| p.party_id == account.id.as_str());
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
                        // The transfer's target is an agent party: its id is an account's.
                        let agent = UserId::from(target.party_id.clone());
                        interactions::set_agent(tx.conn, interaction_id, &agent).await?;
                        announce(
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
}
