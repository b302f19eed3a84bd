//! The server's configuration, loaded in layers with figment:
//! built-in defaults → a TOML file (`--config` or `BACKLINE_CONFIG`) →
//! `BACKLINE_<SECTION>__<KEY>` environment variables → command-line flags.
//!
//! `config/backline.example.toml` lists every option; a test keeps it in step.

use std::path::PathBuf;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub bus: BusConfig,
    pub limits: LimitsConfig,
    pub im: ImConfig,
    pub interactions: InteractionsConfig,
    pub auth: AuthConfig,
    pub ws: WsConfig,
    pub web: WebConfig,
    pub voice: VoiceConfig,
    pub telemetry: TelemetryConfig,
    pub http: HttpConfig,
    pub metrics: MetricsConfig,
    pub compliance: ComplianceConfig,
    pub oidc: OidcConfig,
}

/// Single sign-on with an OpenID Connect provider (authorization code + PKCE).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The provider's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`);
    /// empty: single sign-on is off.
    pub issuer: String,
    /// This server's client id at the provider.
    pub client_id: String,
    /// The client secret; empty for a public client (PKCE alone).
    pub client_secret: String,
    /// The address browsers reach Backline at (`https://backline.example.com`); the
    /// provider must allow `<public_url>/api/v1/auth/oidc/callback` as a redirect URI.
    pub public_url: String,
    /// The button on the sign-in page says "Sign in with <display_name>".
    pub display_name: String,
    /// Scopes asked for (`openid` is always asked).
    pub scopes: Vec<String>,
    /// The ID-token claim that names the account (lower-cased).
    pub username_claim: String,
    /// The ID-token claim with the account's display name.
    pub display_name_claim: String,
    /// Seconds the provider's clock may be off when the ID token's expiry and issue time are checked.
    pub clock_skew_secs: u64,
    /// Whether the first sign-in of a subject may take over an existing account of the
    /// same username (one no identity of this provider is linked to yet, e.g. created
    /// by SCIM or an administrator). Off: such a sign-in is refused (`already_exists`).
    pub link_existing_accounts: bool,
    /// Who may sign in, and with which roles, groups and IM permission (`[[oidc.rules]]`);
    /// empty: everyone the provider signs in is an agent with the IM permission.
    pub rules: Vec<OidcRuleConfig>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            public_url: String::new(),
            display_name: "single sign-on".into(),
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            username_claim: "preferred_username".into(),
            display_name_claim: "name".into(),
            clock_skew_secs: 60,
            link_existing_accounts: true,
            rules: Vec::new(),
        }
    }
}

/// When the ID token's `claim` equals `value` (or, a list such as `groups`,
/// contains it), the account may sign in, with these grants; the grants of all
/// matching rules add up, and no matching rule refuses the sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcRuleConfig {
    /// A claim name, or a dotted path into nested claims (`realm_access.roles`).
    pub claim: String,
    pub value: String,
    /// Roles besides `agent` (`supervisor`, `admin`).
    #[serde(default)]
    pub roles: Vec<backline_protocol::model::Role>,
    /// Groups (by name, existing ones) the account belongs to; membership of every
    /// group some rule names follows the rules at each sign-in.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Grants the Internal IM permission.
    #[serde(default)]
    pub im: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceConfig {
    /// STUN URLs handed to the desktops (empty: host candidates only, fine on a LAN).
    pub stun_urls: Vec<String>,
    /// TURN URLs; they get time-limited credentials when `turn_secret` is set.
    pub turn_urls: Vec<String>,
    /// coturn's `static-auth-secret`; empty leaves TURN out.
    pub turn_secret: String,
    /// Lifetime of TURN credentials, in seconds.
    pub turn_ttl_secs: u64,
    /// Seconds a voice consultation or a web call rings before it counts as not answered.
    pub ring_timeout_secs: u64,
    /// Seconds a contact may wait on hold with no agent connected before the fallback.
    pub orphan_timeout_secs: u64,
    /// `transfer_to_consultant` (to a connected consultation target, else end) or `end`.
    pub orphan_fallback: String,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            stun_urls: Vec::new(),
            turn_urls: Vec::new(),
            turn_secret: String::new(),
            turn_ttl_secs: 3600,
            ring_timeout_secs: 30,
            orphan_timeout_secs: 60,
            orphan_fallback: "transfer_to_consultant".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Default `127.0.0.1:8080`; port 0 picks a free port.
    pub bind: String,
    /// Folder of the embedded SQLite file when `database.url` is not set.
    pub data_dir: PathBuf,
    /// Browser origins allowed to open the WebSocket besides the server's own.
    pub allowed_origins: Vec<String>,
    /// Seconds to wait for connections to drain at shutdown.
    pub shutdown_grace_secs: u64,
    /// Addresses of the load balancers or proxies in front of Backline; only
    /// from these is `X-Forwarded-For` believed (per-address limits key on it).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            allowed_origins: Vec::new(),
            shutdown_grace_secs: 10,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://path?mode=rwc` or `postgres://…`; empty means `<data_dir>/backline.db`.
    pub url: String,
    /// Read connections open at once (reads beyond that wait their turn).
    pub max_read_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: String::new(),
            max_read_connections: 8,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// `nats://host:port` to fan out across nodes; empty for a single node.
    pub nats_url: String,
    /// Prefix of the NATS subjects.
    pub subject_prefix: String,
    /// This node's id; empty picks a random one.
    pub node_id: String,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            nats_url: String::new(),
            subject_prefix: "backline".into(),
            node_id: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Longest message text, in UTF-8 bytes (default 16 KiB).
    pub max_message_bytes: usize,
    /// Largest WebSocket frame or REST body, in bytes (default 64 KiB).
    pub max_frame_bytes: usize,
    /// Sends and session creations per user and second.
    pub rate_per_second: u32,
    /// Burst above that rate.
    pub rate_burst: u32,
    /// New click-to-call calls one client address may place per minute.
    pub public_calls_per_minute: u32,
    /// New click-to-call calls one client address may place at once.
    pub public_calls_burst: u32,
    /// Click-to-call calls that may ring one agent at the same time.
    pub public_call_rings_per_agent: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_message_bytes: 16 * 1024,
            max_frame_bytes: 64 * 1024,
            rate_per_second: 20,
            rate_burst: 40,
            public_calls_per_minute: 10,
            public_calls_burst: 5,
            public_call_rings_per_agent: 1,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImConfig {
    /// Seconds before an unanswered invitation is reported as timed out (it stays pending).
    pub invite_timeout_secs: u64,
    /// How long stream events are kept for resume, in seconds (default 7 days).
    pub stream_retention_secs: u64,
}

impl Default for ImConfig {
    fn default() -> Self {
        ImConfig {
            invite_timeout_secs: 30,
            stream_retention_secs: 7 * 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceConfig {
    /// Mask payment-card numbers (13–19 digits passing the Luhn check) in IM
    /// messages before they are stored, keeping the last four digits.
    pub mask_card_numbers: bool,
    /// Days after which ended IM sessions and their transcripts are deleted (0: kept).
    pub transcript_retention_days: u64,
    /// Days after which ended interactions (contact history) are deleted (0: kept).
    pub history_retention_days: u64,
    /// Days after which audit entries are deleted (0: kept).
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InteractionsConfig {
    /// Seconds after a consultation ended during which its target still reads
    /// the interaction's case data, contact and history (default 24 hours).
    pub consultation_access_grace_secs: u64,
}

impl Default for InteractionsConfig {
    fn default() -> Self {
        InteractionsConfig {
            consultation_access_grace_secs: 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Session token lifetime in seconds (default 12 h).
    pub token_ttl_secs: u64,
    /// Add `Secure` to the session cookie (set it when serving over TLS).
    pub secure_cookie: bool,
    /// Threads computing argon2id password hashes (0: one per core, at most 8).
    pub hashing_threads: usize,
    /// Password checks that may wait for a hashing thread; beyond, sign-ins
    /// are refused at once with `rate_limited` (retry in 1 s).
    pub hashing_queue: usize,
    /// Failed sign-ins of one username before each further one makes it wait.
    pub account_failures_before_backoff: u32,
    /// Failed sign-ins from one client address before each further one makes
    /// it wait (only failures count: a floor behind one NAT signs in freely).
    pub address_failures_before_backoff: u32,
    /// The first wait in milliseconds; it doubles with each further failure.
    pub backoff_initial_ms: u64,
    /// Longest wait of a username, in seconds.
    pub account_backoff_max_secs: u64,
    /// Longest wait of a client address, in seconds.
    pub address_backoff_max_secs: u64,
    /// Seconds after its last failure when a username's or an address's failures are forgotten.
    pub failure_memory_secs: u64,
    /// Whether accounts may sign in with a password; `false` leaves single sign-on (`[oidc]`) only.
    pub passwords: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            token_ttl_secs: 12 * 3600,
            secure_cookie: false,
            hashing_threads: 0,
            hashing_queue: 128,
            account_failures_before_backoff: 5,
            address_failures_before_backoff: 100,
            backoff_initial_ms: 1000,
            account_backoff_max_secs: 60,
            address_backoff_max_secs: 900,
            failure_memory_secs: 900,
            passwords: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WsConfig {
    /// Frames queued per connection before it is cut off as a slow consumer.
    pub outbound_queue: usize,
    /// Seconds between server pings.
    pub ping_interval_secs: u64,
    /// Seconds a socket write may take; a desktop that reads slower is cut
    /// off as a slow consumer (close 4008) and resumes later.
    pub write_timeout_secs: u64,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            outbound_queue: 1024,
            ping_interval_secs: 30,
            write_timeout_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// A folder to serve the desktop from (development); empty serves the embedded build.
    pub assets: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// tracing filter; `RUST_LOG` overrides it.
    pub filter: String,
    /// `pretty` or `json`.
    pub format: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            filter: "info".into(),
            format: "pretty".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Connections (HTTP and WebSocket) open at once on the listener; more are
    /// refused. Lowered at startup to fit the process's open-file limit.
    pub max_connections: usize,
    /// Seconds a connection may take to send a complete request head, counted
    /// from when it opens or from its previous response: this is also the
    /// keep-alive idle time-out. An upgraded WebSocket is not subject to it.
    pub header_read_timeout_secs: u64,
    /// Seconds a REST request (body included) may take before it is answered
    /// `request_timeout`; the WebSocket is not subject to it.
    pub request_timeout_secs: u64,
    /// Send `Strict-Transport-Security` (set it when clients reach Backline over HTTPS).
    pub hsts: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_connections: 20_000,
            header_read_timeout_secs: 30,
            request_timeout_secs: 30,
            hsts: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A second listener for `/metrics`, `/healthz` and `/readyz` (keep it on a
    /// private address); empty disables it.
    pub bind: String,
    /// A bearer token that `/metrics` requires; when set, `/metrics` is served
    /// on the main listener too. Empty: no token, and the main listener does not serve it.
    pub token: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            bind: "127.0.0.1:9180".into(),
            token: String::new(),
        }
    }
}

impl Config {
    /// Loads defaults, then the file, then `BACKLINE_*` variables.
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                anyhow::bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        // Only `SECTION__KEY` variables are configuration; others with the
        // prefix (BACKLINE_CONFIG, BACKLINE_TEST_*) are not.
        figment = figment.merge(
            Env::prefixed("BACKLINE_")
                .filter(|key| key.as_str().contains("__"))
                .split("__"),
        );
        let config: Config = figment.extract()?;
        config.check()?;
        Ok(config)
    }

    /// Rejects contradictory or impossible settings, naming the option.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.limits.max_message_bytes == 0 {
            anyhow::bail!("limits.max_message_bytes must be positive");
        }
        if self.limits.max_frame_bytes < self.limits.max_message_bytes + 256 {
            anyhow::bail!(
                "limits.max_frame_bytes must exceed limits.max_message_bytes by at least 256"
            );
        }
        if self.limits.rate_per_second == 0 || self.limits.rate_burst == 0 {
            anyhow::bail!("limits.rate_per_second and limits.rate_burst must be positive");
        }
        if self.limits.public_calls_per_minute == 0
            || self.limits.public_calls_burst == 0
            || self.limits.public_call_rings_per_agent == 0
        {
            anyhow::bail!(
                "limits.public_calls_per_minute, limits.public_calls_burst and \
                 limits.public_call_rings_per_agent must be positive"
            );
        }
        if self.im.invite_timeout_secs == 0 {
            anyhow::bail!("im.invite_timeout_secs must be positive");
        }
        if self.ws.write_timeout_secs == 0 {
            anyhow::bail!("ws.write_timeout_secs must be at least 1");
        }
        if self.auth.account_failures_before_backoff == 0
            || self.auth.address_failures_before_backoff == 0
            || self.auth.backoff_initial_ms == 0
        {
            anyhow::bail!(
                "auth.account_failures_before_backoff, auth.address_failures_before_backoff \
                 and auth.backoff_initial_ms must be positive"
            );
        }
        if self.ws.outbound_queue < 16 {
            anyhow::bail!("ws.outbound_queue must be at least 16");
        }
        if !self.database.url.is_empty() {
            backline_store::Backend::from_url(&self.database.url)
                .map_err(|e| anyhow::anyhow!("database.url: {e}"))?;
        }
        if !matches!(
            self.voice.orphan_fallback.as_str(),
            "transfer_to_consultant" | "end"
        ) {
            anyhow::bail!("voice.orphan_fallback must be \"transfer_to_consultant\" or \"end\"");
        }
        if self.voice.ring_timeout_secs == 0 || self.voice.orphan_timeout_secs == 0 {
            anyhow::bail!("voice.ring_timeout_secs and voice.orphan_timeout_secs must be positive");
        }
        if !self.voice.turn_urls.is_empty() && self.voice.turn_secret.is_empty() {
            anyhow::bail!("voice.turn_urls needs voice.turn_secret");
        }
        if self.http.max_connections == 0
            || self.http.header_read_timeout_secs == 0
            || self.http.request_timeout_secs == 0
        {
            anyhow::bail!("http.max_connections and the http time-outs must be positive");
        }
        self.check_oidc()?;
        if !matches!(self.telemetry.format.as_str(), "pretty" | "json") {
            anyhow::bail!("telemetry.format must be \"pretty\" or \"json\"");
        }
        Ok(())
    }

    fn check_oidc(&self) -> anyhow::Result<()> {
        let oidc = &self.oidc;
        if oidc.issuer.is_empty() {
            if !self.auth.passwords {
                anyhow::bail!("auth.passwords = false needs single sign-on: set oidc.issuer");
            }
            return Ok(());
        }
        let is_url = |u: &str| u.starts_with("http://") || u.starts_with("https://");
        if !is_url(&oidc.issuer) {
            anyhow::bail!("oidc.issuer must be an http:// or https:// URL");
        }
        if oidc.client_id.is_empty() {
            anyhow::bail!("oidc.client_id must be set with oidc.issuer");
        }
        if !is_url(&oidc.public_url) {
            anyhow::bail!(
                "oidc.public_url must be the http:// or https:// address browsers reach Backline at"
            );
        }
        if oidc.display_name.trim().is_empty() || oidc.username_claim.is_empty() {
            anyhow::bail!("oidc.display_name and oidc.username_claim must not be empty");
        }
        if oidc.clock_skew_secs > 600 {
            anyhow::bail!("oidc.clock_skew_secs must be at most 600");
        }
        for (i, rule) in oidc.rules.iter().enumerate() {
            if rule.claim.is_empty() || rule.value.is_empty() {
                anyhow::bail!("oidc.rules[{i}]: claim and value must not be empty");
            }
        }
        Ok(())
    }

    /// The service's single sign-on section, when `oidc.issuer` is set.
    fn service_oidc(&self) -> Option<backline_service::config::OidcConfig> {
        let oidc = &self.oidc;
        (!oidc.issuer.is_empty()).then(|| backline_service::config::OidcConfig {
            issuer: oidc.issuer.clone(),
            client_id: oidc.client_id.clone(),
            client_secret: (!oidc.client_secret.is_empty()).then(|| oidc.client_secret.clone()),
            redirect_url: format!(
                "{}/api/v1/auth/oidc/callback",
                oidc.public_url.trim_end_matches('/')
            ),
            display_name: oidc.display_name.clone(),
            scopes: oidc.scopes.clone(),
            username_claim: oidc.username_claim.clone(),
            display_name_claim: oidc.display_name_claim.clone(),
            clock_skew_secs: oidc.clock_skew_secs,
            link_existing_accounts: oidc.link_existing_accounts,
            rules: oidc
                .rules
                .iter()
                .map(|rule| backline_service::config::OidcRule {
                    claim: rule.claim.clone(),
                    value: rule.value.clone(),
                    roles: rule.roles.clone(),
                    groups: rule.groups.clone(),
                    im: rule.im,
                })
                .collect(),
        })
    }

    /// The database URL, defaulting to a SQLite file under the data folder.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.server.data_dir.join("backline.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    /// The service's section.
    pub fn service(&self) -> backline_service::ServiceConfig {
        let mut service = backline_service::ServiceConfig {
            max_message_bytes: self.limits.max_message_bytes,
            rate_per_second: self.limits.rate_per_second,
            rate_burst: self.limits.rate_burst,
            public_calls_per_minute: self.limits.public_calls_per_minute,
            public_calls_burst: self.limits.public_calls_burst,
            public_call_rings_per_agent: self.limits.public_call_rings_per_agent,
            invite_timeout_secs: self.im.invite_timeout_secs,
            token_ttl_secs: self.auth.token_ttl_secs,
            stream_retention_secs: self.im.stream_retention_secs,
            consultation_access_grace_secs: self.interactions.consultation_access_grace_secs,
            outbound_queue: self.ws.outbound_queue,
            nats_url: (!self.bus.nats_url.is_empty()).then(|| self.bus.nats_url.clone()),
            nats_subject_prefix: self.bus.subject_prefix.clone(),
            voice: backline_service::config::VoiceConfig {
                stun_urls: self.voice.stun_urls.clone(),
                turn_urls: self.voice.turn_urls.clone(),
                turn_secret: (!self.voice.turn_secret.is_empty())
                    .then(|| self.voice.turn_secret.clone()),
                turn_ttl_secs: self.voice.turn_ttl_secs,
                ring_timeout_secs: self.voice.ring_timeout_secs,
                orphan_timeout_secs: self.voice.orphan_timeout_secs,
                orphan_fallback: self.voice.orphan_fallback.clone(),
            },
            sign_in: backline_service::config::SignInConfig {
                hashing_threads: self.auth.hashing_threads,
                hashing_queue: self.auth.hashing_queue,
                account_failures_before_backoff: self.auth.account_failures_before_backoff,
                address_failures_before_backoff: self.auth.address_failures_before_backoff,
                backoff_initial_ms: self.auth.backoff_initial_ms,
                account_backoff_max_secs: self.auth.account_backoff_max_secs,
                address_backoff_max_secs: self.auth.address_backoff_max_secs,
                failure_memory_secs: self.auth.failure_memory_secs,
            },
            compliance: backline_service::config::ComplianceConfig {
                mask_card_numbers: self.compliance.mask_card_numbers,
                transcript_retention_days: self.compliance.transcript_retention_days,
                history_retention_days: self.compliance.history_retention_days,
                audit_retention_days: self.compliance.audit_retention_days,
            },
            passwords: self.auth.passwords,
            oidc: self.service_oidc(),
            ..Default::default()
        };
        if !self.bus.node_id.is_empty() {
            service.node_id = self.bus.node_id.clone();
        }
        service
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/backline.example.toml")
    }

    #[test]
    fn the_example_file_lists_every_option_with_its_default() {
        let text = std::fs::read_to_string(example_path()).unwrap();
        let example: toml_value::Value = toml_value::from_str(&text);
        let defaults = serde_json::to_value(Config::default()).unwrap();
        assert_eq!(
            example,
            toml_value::normalise(defaults),
            "config/backline.example.toml is out of step with Config::default()"
        );
    }

    #[test]
    fn unknown_and_contradictory_options_are_refused() {
        let path =
            std::env::temp_dir().join(format!("backline-config-{}.toml", std::process::id()));
        std::fs::write(&path, "[server]\nbnd = \"x\"\n").unwrap();
        let error = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(error.contains("bnd"), "{error}");
        std::fs::write(&path, "[limits]\nmax_message_bytes = 70000\n").unwrap();
        let error = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(error.contains("limits.max_frame_bytes"), "{error}");
        std::fs::write(&path, "[database]\nurl = \"mysql://x\"\n").unwrap();
        let error = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(error.contains("database.url"), "{error}");
        let _ = std::fs::remove_file(&path);
        assert!(Config::load(Some(std::path::Path::new("/nonexistent/backline.toml"))).is_err());
    }

    #[test]
    fn single_sign_on_options_are_checked() {
        let path = std::env::temp_dir().join(format!("backline-oidc-{}.toml", std::process::id()));
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Config::load(Some(&path)).map_err(|e| e.to_string())
        };
        let error = load("[auth]\npasswords = false\n").unwrap_err();
        assert!(error.contains("oidc.issuer"), "{error}");
        let error = load("[oidc]\nissuer = \"https://idp.example.com\"\n").unwrap_err();
        assert!(error.contains("oidc.client_id"), "{error}");
        let error = load(
            "[oidc]\nissuer = \"https://idp.example.com\"\nclient_id = \"b\"\npublic_url = \"x\"\n",
        )
        .unwrap_err();
        assert!(error.contains("oidc.public_url"), "{error}");
        let error =
            load("[oidc]\nrules = [{claim = \"groups\", value = \"a\", role = [\"admin\"]}]\n")
                .unwrap_err();
        assert!(error.contains("role"), "{error}");
        let config = load(
            "[auth]\npasswords = false\n[oidc]\nissuer = \"https://idp.example.com/\"\n\
             client_id = \"backline\"\npublic_url = \"https://backline.example.com/\"\n\
             [[oidc.rules]]\nclaim = \"groups\"\nvalue = \"leads\"\nroles = [\"supervisor\"]\n",
        )
        .unwrap();
        let _ = std::fs::remove_file(&path);
        let service = config.service();
        assert!(!service.passwords);
        let oidc = service.oidc.expect("single sign-on configured");
        assert_eq!(
            oidc.redirect_url,
            "https://backline.example.com/api/v1/auth/oidc/callback"
        );
        assert_eq!(
            oidc.client_secret, None,
            "an empty secret is a public client"
        );
        assert_eq!(
            oidc.rules[0].roles,
            vec![backline_protocol::model::Role::Supervisor]
        );
        assert!(!oidc.rules[0].im, "IM is granted only when a rule says so");
    }

    #[test]
    fn the_deployment_example_is_a_valid_cluster_node() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/node.toml");
        let config = Config::load(Some(&path)).expect("deploy/node.toml loads");
        assert!(config.database.url.starts_with("postgres://"));
        assert!(!config.bus.nats_url.is_empty());
        assert!(!config.bus.node_id.is_empty());
        assert!(!config.server.trusted_proxies.is_empty());
        // deploy/backline.service stops the node after TimeoutStopSec=30.
        assert!(config.server.shutdown_grace_secs < 30);
    }

    /// Parses the example through figment's TOML provider into JSON values for comparison.
    mod toml_value {
        pub type Value = serde_json::Value;

        pub fn from_str(text: &str) -> Value {
            use figment::providers::Format;
            let figment = figment::Figment::from(figment::providers::Toml::string(text));
            normalise(figment.extract::<Value>().unwrap())
        }

        /// Sorts keys (serde_json maps are ordered) so two documents compare by content.
        pub fn normalise(value: Value) -> Value {
            match value {
                Value::Object(map) => {
                    let mut sorted: Vec<_> = map.into_iter().collect();
                    sorted.sort_by(|a, b| a.0.cmp(&b.0));
                    Value::Object(sorted.into_iter().map(|(k, v)| (k, normalise(v))).collect())
                }
                other => other,
            }
        }
    }
}
