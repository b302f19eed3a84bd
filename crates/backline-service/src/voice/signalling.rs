//! WebRTC: the ICE servers (with TURN credentials) and the relay of signals
//! between two connected parties of one call.

use backline_protocol::frames::ServerFrame;
use backline_protocol::voice::{IceConfig, IceServer, Signal};
use backline_protocol::ErrorCode;
use backline_store::rows::CallPartyRow;
use backline_store::types as stored;
use backline_store::{calls, now_ms, CallId};
use base64::Engine;
use hmac::{KeyInit, Mac};

use crate::auth::Account;
use crate::bus::BusMessage;
use crate::error::{err, Result, ServiceError};
use crate::Backline;

impl Backline {
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

    /// Relays a WebRTC signal between two parties of one call.
    pub async fn relay_signal(
        &self,
        from: &str,
        call_id: &str,
        to: &str,
        signal: Signal,
    ) -> Result<()> {
        let call_id = &CallId::from(call_id.to_owned());
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
            call_id: call_id.to_string(),
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
}
