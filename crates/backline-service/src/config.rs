//! The service's section of the configuration: limits, time-outs, retention, fan-out.

/// Limits and time-outs of the use cases. The server fills it from its
/// layered configuration; `Default` holds the documented defaults.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// This node's id, in `welcome` frames and on the bus.
    pub node_id: String,
    /// Longest message text in UTF-8 bytes.
    pub max_message_bytes: usize,
    /// Sustained sends and session creations per user and second.
    pub rate_per_second: u32,
    /// Burst above the sustained rate.
    pub rate_burst: u32,
    /// Seconds before an unanswered invitation is reported as timed out.
    pub invite_timeout_secs: u64,
    /// Lifetime of a session token in seconds.
    pub token_ttl_secs: u64,
    /// How long stream events are kept for resume, in seconds.
    pub stream_retention_secs: u64,
    /// Frames queued per connection before it is cut off as a slow consumer.
    pub outbound_queue: usize,
    /// `nats://…` to fan out across nodes; `None` for a single node.
    pub nats_url: Option<String>,
    pub nats_subject_prefix: String,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            node_id: format!("node-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]),
            max_message_bytes: 16 * 1024,
            rate_per_second: 20,
            rate_burst: 40,
            invite_timeout_secs: 30,
            token_ttl_secs: 12 * 3600,
            stream_retention_secs: 7 * 24 * 3600,
            outbound_queue: 1024,
            nats_url: None,
            nats_subject_prefix: "backline".into(),
        }
    }
}
