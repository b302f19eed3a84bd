//! Webhook delivery from the durable outbox.
//!
//! Events are written to `webhook_outbox` in the same transaction as the
//! change they describe, so none is lost across a crash or restart. This
//! worker claims the events it may send (a lease, so that with several nodes
//! each attempt is made by one node), POSTs each signed with HMAC-SHA256, and
//! on failure retries with exponential back-off (1 s doubling, at most 10
//! minutes apart) until 24 hours have passed. An interaction's later events
//! wait behind the one being sent or retried, so a receiver sees each
//! interaction's changes in order; different interactions are sent in
//! parallel (up to `MAX_IN_FLIGHT` per node). Delivery is at least once (a
//! node that dies mid-request leaves its lease to expire and another node
//! sends again); receivers de-duplicate by the event id.

use std::time::Duration;

use backline_store::rows::OutboxRow;
use backline_store::{now_ms, outbox};
use hmac::{KeyInit, Mac};

use crate::Backline;

const GIVE_UP_AFTER_MS: i64 = 24 * 3600 * 1000;
const MAX_BACKOFF_MS: i64 = 10 * 60 * 1000;

/// The value of `X-Backline-Signature` for a body sent at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Delay before the next attempt after `attempts` failed ones.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exponent = attempts.clamp(0, 20) as u32;
    (1000_i64.saturating_mul(1 << exponent)).min(MAX_BACKOFF_MS)
}

/// Requests in flight per node.
const MAX_IN_FLIGHT: usize = 64;
/// How long a claim keeps other nodes off an event: longer than a request's
/// time-out, so only a node that died gives its events up.
const LEASE_MS: i64 = 60_000;
/// How often the worker looks for due events when nothing else wakes it.
const POLL: Duration = Duration::from_millis(100);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl Backline {
    pub(crate) async fn webhook_delivery(self) {
        let client = match reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(error.message = %error, "webhook client could not be built; webhooks stay queued");
                return;
            }
        };
        let mut in_flight = tokio::task::JoinSet::new();
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // A finished delivery may have released its interaction's next
            // event: look again at once rather than at the next tick.
            tokio::select! {
                _ = self.shutdown_token().cancelled() => return,
                _ = tick.tick() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {
                    while in_flight.try_join_next().is_some() {}
                }
            }
            let free = MAX_IN_FLIGHT.saturating_sub(in_flight.len());
            if free == 0 {
                continue;
            }
            for event in self.claim_webhooks(free).await {
                let (backline, client) = (self.clone(), client.clone());
                in_flight.spawn(async move { backline.deliver(&client, event).await });
            }
        }
    }

    /// Claims up to `limit` events this node may send now.
    async fn claim_webhooks(&self, limit: usize) -> Vec<OutboxRow> {
        match outbox::any_due(self.store().reader(), now_ms()).await {
            Ok(true) => {}
            Ok(false) => return Vec::new(),
            Err(error) => {
                tracing::warn!(error.message = %error, "webhook outbox scan failed");
                return Vec::new();
            }
        }
        let claimant = format!("{}:{}", self.bus().node(), uuid::Uuid::now_v7());
        let claimed = self
            .commit(move |conn| {
                Box::pin(async move {
                    let rows =
                        outbox::claim(conn, &claimant, now_ms(), LEASE_MS, limit as i64).await?;
                    Ok((rows, Vec::new()))
                })
            })
            .await;
        claimed.unwrap_or_else(|error| {
            tracing::warn!(error.message = %error, "webhook outbox claim failed");
            Vec::new()
        })
    }

    async fn deliver(&self, client: &reqwest::Client, event: OutboxRow) {
        let Some(url) = event.webhook_url.clone() else {
            self.record_outcome(&event, Ok(())).await;
            return;
        };
        let timestamp = now_ms() / 1000;
        let outcome = client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-backline-event", &event.event_type)
            .header("x-backline-delivery", &event.id)
            .header("x-backline-timestamp", timestamp.to_string())
            .header(
                "x-backline-signature",
                signature(&event.webhook_secret, timestamp, &event.payload),
            )
            .body(event.payload.clone())
            .send()
            .await;
        let result = match outcome {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("HTTP {}", response.status().as_u16())),
            Err(error) => Err(error.to_string()),
        };
        metrics::counter!("backline_webhook_attempts_total", "ok" => if result.is_ok() { "true" } else { "false" })
            .increment(1);
        self.record_outcome(&event, result).await;
    }

    async fn record_outcome(&self, event: &OutboxRow, result: Result<(), String>) {
        let (id, attempts, created_at) = (event.id.clone(), event.attempts, event.created_at);
        let outcome = self
            .commit(move |conn| {
                Box::pin(async move {
                    let now = now_ms();
                    match result {
                        Ok(()) => outbox::mark_delivered(conn, &id, now).await?,
                        Err(error) if now - created_at > GIVE_UP_AFTER_MS => {
                            tracing::error!(event = %id, error.message = %error, "webhook given up after 24 hours");
                            outbox::mark_failed(conn, &id, now, &error).await?
                        }
                        Err(error) => {
                            tracing::warn!(event = %id, attempts = attempts + 1, error.message = %error, "webhook delivery failed; will retry");
                            outbox::mark_retry(conn, &id, now + backoff_ms(attempts), &error).await?
                        }
                    }
                    Ok(((), Vec::new()))
                })
            })
            .await;
        if let Err(error) = outcome {
            tracing::warn!(error.message = %error, "webhook outcome not recorded; the event will be sent again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Reference value computed independently (Python's hmac module).
        let sig = signature("secret", 1_700_000_000, "{}");
        assert_eq!(
            sig,
            "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
        assert_ne!(sig, signature("other", 1_700_000_000, "{}"));
        assert_ne!(sig, signature("secret", 1_700_000_001, "{}"));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_ms(0), 1000);
        assert_eq!(backoff_ms(1), 2000);
        assert_eq!(backoff_ms(5), 32_000);
        assert_eq!(backoff_ms(30), MAX_BACKOFF_MS);
    }
}
