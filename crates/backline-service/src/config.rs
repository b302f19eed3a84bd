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
    /// Seconds after a consultation ended during which its target still reads
    /// the interaction's case data, contact and history.
    pub consultation_access_grace_secs: u64,
    /// Frames queued per connection before it is cut off as a slow consumer.
    pub outbound_queue: usize,
    /// `nats://…` to fan out across nodes; `None` for a single node.
    pub nats_url: Option<String>,
    pub nats_subject_prefix: String,
    pub voice: VoiceConfig,
    /// New web calls one client address may place per minute, sustained.
    pub public_calls_per_minute: u32,
    /// New web calls one client address may place at once, above that rate.
    pub public_calls_burst: u32,
    /// Web calls that may ring one agent at the same time.
    pub public_call_rings_per_agent: u32,
    pub sign_in: SignInConfig,
    pub compliance: ComplianceConfig,
    /// Whether accounts may sign in with a password (`auth.passwords`).
    pub passwords: bool,
    /// Single sign-on with an OpenID provider; `None` when not configured.
    pub oidc: Option<OidcConfig>,
}

/// Single sign-on with one OpenID Connect provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer URL; discovery reads `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// `None`: a public client (PKCE only).
    pub client_secret: Option<String>,
    /// Where the provider sends the browser back: `<public_url>/api/v1/auth/oidc/callback`.
    pub redirect_url: String,
    /// "Sign in with <display_name>".
    pub display_name: String,
    pub scopes: Vec<String>,
    /// The claim that names the account (`preferred_username`).
    pub username_claim: String,
    /// The claim with the account's display name (`name`).
    pub display_name_claim: String,
    /// Tolerance for the provider's clock when checking the ID token's times.
    pub clock_skew_secs: u64,
    /// Whether a first sign-in may take over an account of the same username
    /// that no identity of this provider is linked to yet.
    pub link_existing_accounts: bool,
    /// Who may sign in and with what; empty lets everyone in as an agent with IM.
    pub rules: Vec<OidcRule>,
}

/// When the ID token's `claim` equals `value` (or, a list, contains it), the
/// account may sign in and gets these roles, groups and IM permission. The
/// grants of every matching rule add up; no matching rule refuses the sign-in.
#[derive(Debug, Clone)]
pub struct OidcRule {
    pub claim: String,
    pub value: String,
    pub roles: Vec<backline_protocol::model::Role>,
    pub groups: Vec<String>,
    pub im: bool,
}

/// Compliance controls: card-number masking and retention ages.
#[derive(Debug, Clone)]
pub struct ComplianceConfig {
    /// Mask payment-card numbers in IM messages before they are stored.
    pub mask_card_numbers: bool,
    /// Days after which ended IM sessions (with their transcripts) are deleted; 0 keeps them.
    pub transcript_retention_days: u64,
    /// Days after which ended interactions (history) are deleted; 0 keeps them.
    pub history_retention_days: u64,
    /// Days after which audit entries are deleted; 0 keeps them.
    pub audit_retention_days: u64,
}

impl Default for ComplianceConfig {
    fn default() -> Self {
        ComplianceConfig {
            mask_card_numbers: true,
            transcript_retention_days: 0,
            history_retention_days: 0,
            audit_retention_days: 0,
        }
    }
}

/// Password checks: argon2id threads and queue, and the throttling of failures.
#[derive(Debug, Clone)]
pub struct SignInConfig {
    /// Threads computing argon2id (0: one per core, at most 8).
    pub hashing_threads: usize,
    /// Password checks that may wait for a thread; beyond, `rate_limited` at once.
    pub hashing_queue: usize,
    /// Failures of one username before its back-off starts.
    pub account_failures_before_backoff: u32,
    /// Failures from one client address before its back-off starts.
    pub address_failures_before_backoff: u32,
    /// The first wait, in milliseconds; it doubles with each further failure.
    pub backoff_initial_ms: u64,
    /// Longest wait of an account, in seconds.
    pub account_backoff_max_secs: u64,
    /// Longest wait of an address, in seconds.
    pub address_backoff_max_secs: u64,
    /// Failures are forgotten this many seconds after the last one.
    pub failure_memory_secs: u64,
}

impl Default for SignInConfig {
    fn default() -> Self {
        SignInConfig {
            hashing_threads: 0,
            hashing_queue: 128,
            account_failures_before_backoff: 5,
            address_failures_before_backoff: 100,
            backoff_initial_ms: 1000,
            account_backoff_max_secs: 60,
            address_backoff_max_secs: 900,
            failure_memory_secs: 900,
        }
    }
}

/// Voice: ICE servers, ring time-out, and what happens to a contact left on hold.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    /// STUN (or TURN without a secret) URLs handed to the desktops.
    pub stun_urls: Vec<String>,
    /// TURN URLs that get time-limited credentials (coturn's `use-auth-secret`).
    pub turn_urls: Vec<String>,
    /// The TURN shared secret; TURN URLs are left out without it.
    pub turn_secret: Option<String>,
    /// Lifetime of TURN credentials, in seconds.
    pub turn_ttl_secs: u64,
    /// Seconds a consultation or click-to-call rings before it counts as not answered.
    pub ring_timeout_secs: u64,
    /// Seconds a contact may wait on hold with no agent connected before the fallback.
    pub orphan_timeout_secs: u64,
    /// `transfer_to_consultant` or `end`.
    pub orphan_fallback: String,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            stun_urls: Vec::new(),
            turn_urls: Vec::new(),
            turn_secret: None,
            turn_ttl_secs: 3600,
            ring_timeout_secs: 30,
            orphan_timeout_secs: 60,
            orphan_fallback: "transfer_to_consultant".into(),
        }
    }
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
            consultation_access_grace_secs: 24 * 3600,
            outbound_queue: 1024,
            nats_url: None,
            nats_subject_prefix: "backline".into(),
            voice: VoiceConfig::default(),
            public_calls_per_minute: 10,
            public_calls_burst: 5,
            public_call_rings_per_agent: 1,
            sign_in: SignInConfig::default(),
            compliance: ComplianceConfig::default(),
            passwords: true,
            oidc: None,
        }
    }
}
