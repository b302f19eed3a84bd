//! Fan-out between nodes.
//!
//! Every committed change is applied to this node's [`Hub`] at once and, with
//! NATS, published on `<prefix>.fanout` for the other nodes, tagged with this
//! node's id so that no node delivers its own messages twice. Core NATS is
//! at-most-once; that is enough because the store, not the bus, is the source
//! of truth: a desktop that misses a bus message sees a seq gap at the next
//! event and fills it from the store, catches up with the stream head at its
//! next ping, or resumes from the store on reconnect.
//!
//! The bus also notices its own gaps: it reconnects to NATS promptly (a short,
//! jittered back-off capped at [`MAX_RECONNECT_DELAY`]) and, when its
//! connection returns or NATS reports that this node's subscription dropped
//! messages (slow consumer), it asks every local connection to catch up with
//! its stream head at once ([`Hub::catch_up_all`]) instead of at its next ping.

use std::sync::Arc;
use std::time::Duration;

use backline_protocol::model::Status;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::hub::Hub;

/// What crosses the bus (the cluster format, versioned apart from the wire protocol).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum BusMessage {
    /// A stored stream event for one user.
    Event {
        user: String,
        seq: u64,
        frame: String,
    },
    /// An ephemeral frame for some users' connections.
    Frame { users: Vec<String>, frame: String },
    /// A user's effective status changed.
    Presence {
        user: String,
        status: Status,
        reason: Option<String>,
    },
    /// A user's connectedness on the origin node changed.
    Online { user: String, online: bool },
    /// Close every connection of a user (signed out everywhere, disabled).
    Kill { user: String },
    /// Close a user's connections opened with one session token (signed out).
    KillToken { user: String, token_hash: String },
    /// Every user connected on the origin node (sent periodically; a node
    /// not heard from for a while is taken to be gone).
    Heartbeat { users: Vec<String> },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    v: u8,
    origin: String,
    msgs: Vec<BusMessage>,
}

/// Local delivery plus, optionally, NATS.
#[derive(Clone)]
pub struct Bus {
    node: Arc<str>,
    hub: Arc<Hub>,
    nats: Option<mpsc::UnboundedSender<Vec<BusMessage>>>,
}

impl Bus {
    /// A bus for one node without peers.
    pub fn local(node: &str, hub: Arc<Hub>) -> Bus {
        Bus {
            node: Arc::from(node),
            hub,
            nats: None,
        }
    }

    /// Connects to NATS and starts the publisher and subscriber tasks.
    pub async fn nats(node: &str, hub: Arc<Hub>, url: &str, prefix: &str) -> anyhow::Result<Bus> {
        let events_hub = hub.clone();
        let client = async_nats::ConnectOptions::new()
            .reconnect_delay_callback(reconnect_delay)
            .event_callback(move |event| {
                let hub = events_hub.clone();
                async move { on_nats_event(&hub, event) }
            })
            .connect(url)
            .await?;
        let subject = format!("{prefix}.fanout");
        let mut subscriber = client.subscribe(subject.clone()).await?;
        client.flush().await?;
        let (sender, mut receiver) = mpsc::unbounded_channel::<Vec<BusMessage>>();
        let origin = node.to_owned();
        let publisher = client.clone();
        let publish_subject = subject.clone();
        // One task publishes, so messages leave in the order they were committed.
        tokio::spawn(async move {
            while let Some(msgs) = receiver.recv().await {
                let envelope = Envelope {
                    v: 1,
                    origin: origin.clone(),
                    msgs,
                };
                match serde_json::to_vec(&envelope) {
                    Ok(bytes) => {
                        if let Err(error) = publisher
                            .publish(publish_subject.clone(), bytes.into())
                            .await
                        {
                            tracing::warn!(error.message = %error, "nats publish failed");
                        }
                    }
                    Err(error) => tracing::error!(error.message = %error, "bus encode failed"),
                }
            }
        });
        let me = node.to_owned();
        let local_hub = hub.clone();
        tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                let Ok(envelope) = serde_json::from_slice::<Envelope>(&message.payload) else {
                    tracing::warn!("undecodable bus message ignored");
                    continue;
                };
                if envelope.origin == me || envelope.v != 1 {
                    continue;
                }
                for msg in &envelope.msgs {
                    apply(&local_hub, &envelope.origin, msg);
                }
            }
        });
        Ok(Bus {
            node: Arc::from(node),
            hub,
            nats: Some(sender),
        })
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Whether other nodes hear this one (NATS configured).
    pub fn is_clustered(&self) -> bool {
        self.nats.is_some()
    }

    /// Applies the messages on this node and sends them to the others.
    pub fn publish(&self, msgs: Vec<BusMessage>) {
        for msg in &msgs {
            // This node's own connectedness is known from its hub directly.
            if !matches!(
                msg,
                BusMessage::Online { .. } | BusMessage::Heartbeat { .. }
            ) {
                apply(&self.hub, &self.node, msg);
            }
        }
        if let Some(nats) = &self.nats {
            let _ = nats.send(msgs);
        }
    }
}

/// The longest wait between two attempts to reach NATS again.
pub const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// The wait before reconnect attempt `attempts` (the first is 1): 50 ms,
/// doubling, capped at [`MAX_RECONNECT_DELAY`], each with up to a quarter of
/// random jitter so that the nodes of a cluster do not knock in step.
fn reconnect_delay(attempts: usize) -> Duration {
    let exponent = attempts.saturating_sub(1).min(8) as u32;
    let base = (50u64 << exponent).min(MAX_RECONNECT_DELAY.as_millis() as u64 * 3 / 4);
    let jitter = rand::random::<u64>() % (base / 4 + 1);
    Duration::from_millis(base + jitter).min(MAX_RECONNECT_DELAY)
}

/// What the NATS client reports about its connection. Messages published
/// while this node was cut off, or dropped because its subscription fell
/// behind, never arrive: every local connection catches up from the store.
fn on_nats_event(hub: &Hub, event: async_nats::Event) {
    match event {
        async_nats::Event::Connected => {
            tracing::info!("nats connected: local connections catch up with the store");
            metrics::counter!("backline_bus_catch_ups_total", "reason" => "connected").increment(1);
            hub.catch_up_all();
        }
        async_nats::Event::SlowConsumer(_) => {
            tracing::warn!("nats subscription dropped messages: local connections catch up");
            metrics::counter!("backline_bus_catch_ups_total", "reason" => "slow_consumer")
                .increment(1);
            hub.catch_up_all();
        }
        async_nats::Event::Disconnected => tracing::warn!("nats disconnected"),
        other => tracing::info!(event = %other, "nats event"),
    }
}

fn apply(hub: &Hub, origin: &str, msg: &BusMessage) {
    match msg {
        BusMessage::Event { user, seq, frame } => {
            hub.deliver_event(user, *seq, &Arc::from(frame.as_str()));
        }
        BusMessage::Frame { users, frame } => hub.deliver_frame(users, &Arc::from(frame.as_str())),
        BusMessage::Presence {
            user,
            status,
            reason,
        } => hub.deliver_presence(user, *status, reason.clone()),
        BusMessage::Online { user, online } => hub.set_remote_online(user, origin, *online),
        BusMessage::Kill { user } => hub.kill_user(user),
        BusMessage::KillToken { user, token_hash } => hub.kill_token(user, token_hash),
        BusMessage::Heartbeat { users } => hub.set_remote_users(origin, users),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delays_are_short_and_capped() {
        assert!(reconnect_delay(1) < Duration::from_millis(100));
        for attempts in 1..1000 {
            assert!(reconnect_delay(attempts) <= MAX_RECONNECT_DELAY);
        }
        assert!(reconnect_delay(100) >= MAX_RECONNECT_DELAY / 2);
    }
}
