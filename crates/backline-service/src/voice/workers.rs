//! What the workers run for voice: ring time-outs, and the fallback for a
//! contact left on hold with no agent.

use backline_store::types as stored;
use backline_store::{calls, now_ms};

use super::Actor;
use crate::error::Result;
use crate::Backline;

impl Backline {
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
                                    .complete_consultation(
                                        Actor::System,
                                        consultation.id.as_str(),
                                        true,
                                    )
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
