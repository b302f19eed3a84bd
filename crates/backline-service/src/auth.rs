//! Passwords (argon2id) and opaque session tokens.
//!
//! A token is 32 random bytes, base64url; only its SHA-256 is stored, so
//! sign-out, expiry and disabling an account take effect at the next request.
//! An open socket learns of them too: it closes at its token's expiry, and a
//! revocation (sign-out, sign-out everywhere on disable or password reset)
//! kills it through the bus on every node.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use backline_protocol::model::Role;
use backline_protocol::ErrorCode;
use backline_store::{audit, now_ms, tokens, users, UserId};
use base64::Engine;
use sha2::Digest;
use std::net::IpAddr;
use std::time::Duration;

use crate::bus::BusMessage;
use crate::config::SignInConfig;
use crate::error::{err, Result, ServiceError};
use crate::Backline;

mod hasher;
mod throttle;

pub(crate) use hasher::Hasher;
pub(crate) use throttle::SignInThrottle;
use throttle::{Failure, Refusal, Rule};

/// A signed-in account, as handlers see it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub im_permitted: bool,
    pub disabled: bool,
}

impl Account {
    pub fn from_row(row: &backline_store::rows::UserRow) -> Account {
        Account {
            id: row.id.clone(),
            username: row.username.clone(),
            display_name: row.display_name.clone(),
            roles: parse_roles(&row.roles),
            im_permitted: row.im_permitted != 0,
            disabled: row.disabled != 0,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }
}

pub(crate) fn parse_roles(text: &str) -> Vec<Role> {
    text.split(',')
        .filter_map(|r| Role::parse(r.trim()))
        .collect()
}

pub(crate) fn format_roles(roles: &[Role]) -> String {
    let mut names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    names.sort();
    names.dedup();
    names.join(",")
}

/// Hashes a password with argon2id and the OWASP parameters (m=19 MiB, t=2, p=1).
fn hash(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("hashing failed: {e}")))
}

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The throttle tables built from the configuration.
pub(crate) fn sign_in_throttle(config: &SignInConfig) -> SignInThrottle {
    let initial = Duration::from_millis(config.backoff_initial_ms.max(1));
    let memory = Duration::from_secs(config.failure_memory_secs);
    SignInThrottle::new(
        Rule {
            free: config.account_failures_before_backoff.max(1),
            initial,
            max: Duration::from_secs(config.account_backoff_max_secs),
            memory,
        },
        Rule {
            free: config.address_failures_before_backoff.max(1),
            initial,
            max: Duration::from_secs(config.address_backoff_max_secs),
            memory,
        },
    )
}

/// The answer to an attempt refused by the throttle.
fn refused(refusal: Refusal) -> ServiceError {
    let (wait, whose) = match refusal {
        Refusal::Account(wait) => (wait, "for this username"),
        Refusal::Address(wait) => (wait, "from this address"),
    };
    let secs = wait.as_millis().div_ceil(1000).max(1) as u64;
    ServiceError::Throttled {
        message: format!("too many failed sign-ins {whose}: retry in {secs} s"),
        retry_after: Duration::from_secs(secs),
    }
}

fn failure_detail(failure: Failure, username: &str, from: IpAddr, whose: &str) -> String {
    let wait = failure.wait.unwrap_or_default();
    format!(
        "{} failed sign-ins in a row {whose} (latest: username {username:?} from {from}); \
         further attempts wait {} ms",
        failure.failures,
        wait.as_millis()
    )
}

/// SHA-256 of a token, hex: what the store keeps.
pub fn token_hash(token: &str) -> String {
    let digest = sha2::Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A password hash of a random password, verified against when the username
/// is unknown, so that a wrong username costs as long as a wrong password.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

impl Backline {
    /// Hashes a password with argon2id on a hashing thread.
    pub async fn hash_password(&self, password: String) -> Result<String> {
        self.inner.hasher.run(move || hash(&password)).await?
    }

    /// The hash verified against when there is no password to check.
    async fn dummy_hash(&self) -> Result<String> {
        Ok(match DUMMY_HASH.get() {
            Some(hash) => hash.clone(),
            None => {
                let hash = self.hash_password(new_token()).await?;
                DUMMY_HASH.get_or_init(|| hash).clone()
            }
        })
    }

    /// Checks a password against a stored hash on a hashing thread.
    async fn verify_password(&self, password: &str, hash: String) -> Result<bool> {
        let password = password.to_owned();
        self.inner
            .hasher
            .run(move || verify(&password, &hash))
            .await
    }

    /// Checks a username and password from a client address; returns a new
    /// token and its expiry.
    ///
    /// An attempt whose username or address is in its back-off is refused
    /// (`rate_limited`, with the wait) before any password hash is computed.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        from: IpAddr,
    ) -> Result<(String, i64, Account)> {
        if !self.config().passwords {
            return Err(err(
                ErrorCode::PasswordSignInDisabled,
                "passwords are switched off on this server: sign in with the identity provider",
            ));
        }
        let username = username.trim();
        if let Err(refusal) = self.inner.sign_in_throttle.check(username, from) {
            return Err(refused(refusal));
        }
        let row = users::get_by_username(self.store().reader(), username).await?;
        // An account provisioned without a password (its identity provider
        // signs it in) is refused exactly as a wrong password is, at the same
        // cost: the answer must not tell which usernames exist.
        let checked = match &row {
            Some(row) if !row.password_hash.is_empty() => {
                self.verify_password(password, row.password_hash.clone())
                    .await?
            }
            _ => {
                self.verify_password(password, self.dummy_hash().await?)
                    .await?;
                false
            }
        };
        let Some(row) = row.filter(|_| checked) else {
            self.sign_in_failed(username, from).await;
            return Err(err(
                ErrorCode::InvalidCredentials,
                "wrong username or password",
            ));
        };
        self.inner.sign_in_throttle.succeeded(username);
        let account = Account::from_row(&row);
        if account.disabled {
            return Err(err(ErrorCode::AccountDisabled, "this account is disabled"));
        }
        let detail = format!("{} signed in from {from}", account.username);
        let (token, expires_at) = self.issue_token(&account, detail).await?;
        Ok((token, expires_at, account))
    }

    /// A new session token for an account that has just signed in (with a
    /// password or with the identity provider), and its expiry; the audit
    /// entry `sign_in` (with `detail`: how and from where) is in the same write.
    pub(crate) async fn issue_token(
        &self,
        account: &Account,
        detail: String,
    ) -> Result<(String, i64)> {
        let token = new_token();
        let hash = token_hash(&token);
        let now = now_ms();
        let expires_at = now + (self.config().token_ttl_secs as i64) * 1000;
        let user_id = account.id.clone();
        self.commit(move |conn| {
            Box::pin(async move {
                tokens::insert(conn, &hash, &user_id, now, expires_at).await?;
                // Who signed in, when and from where: in the token's own write.
                audit::insert(
                    conn,
                    audit::NewAudit {
                        id: &uuid::Uuid::now_v7().to_string(),
                        ts: now,
                        actor_id: user_id.as_str(),
                        action: "sign_in",
                        resource: &format!("user:{user_id}"),
                        allowed: true,
                        detail: &detail,
                    },
                )
                .await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        Ok((token, expires_at))
    }

    /// Counts a failed sign-in; when the username or the address enters its
    /// back-off (or fails as many times again), writes an audit entry.
    async fn sign_in_failed(&self, username: &str, from: IpAddr) {
        let (account, address) = self.inner.sign_in_throttle.failed(username, from);
        let mut entries = Vec::new();
        for (failure, resource, whose) in [
            (account, format!("account:{username}"), "for this username"),
            (address, format!("address:{from}"), "from this address"),
        ] {
            if failure.audit {
                entries.push((resource, failure_detail(failure, username, from, whose)));
            }
        }
        if entries.is_empty() {
            return;
        }
        for (resource, detail) in &entries {
            tracing::warn!(resource, detail, "repeated failed sign-ins");
        }
        let actor = format!("address:{from}");
        let written = self
            .commit(move |conn| {
                Box::pin(async move {
                    let ts = now_ms();
                    for (resource, detail) in &entries {
                        audit::insert(
                            conn,
                            audit::NewAudit {
                                id: &uuid::Uuid::now_v7().to_string(),
                                ts,
                                actor_id: &actor,
                                action: "sign_in",
                                resource,
                                allowed: false,
                                detail,
                            },
                        )
                        .await?;
                    }
                    Ok(((), Vec::new()))
                })
            })
            .await;
        if let Err(error) = written {
            tracing::error!(%error, "could not audit repeated failed sign-ins");
        }
    }

    /// Revokes a token and closes the desktops that use it, on every node.
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        let hash = token_hash(token);
        let user = self
            .commit(move |conn| {
                Box::pin(async move {
                    let Some(row) = tokens::get(&mut *conn, &hash).await? else {
                        return Ok((None, Vec::new()));
                    };
                    tokens::revoke(conn, &hash, now_ms()).await?;
                    Ok((
                        Some(row.user_id.clone()),
                        vec![BusMessage::KillToken {
                            user: row.user_id.into_string(),
                            token_hash: hash,
                        }],
                    ))
                })
            })
            .await?;
        if let Some(user) = user {
            // An agent who signed out takes no group consultation.
            self.withdraw_offers(&user, crate::sessions::Withdrawal::SignedOut)
                .await?;
        }
        Ok(())
    }

    /// The account a token belongs to, or why it cannot be used.
    pub async fn authenticate(&self, token: &str) -> Result<Account> {
        Ok(self.authenticate_session(token).await?.0)
    }

    /// The account a token belongs to and when the token expires (Unix ms),
    /// or why it cannot be used.
    pub async fn authenticate_session(&self, token: &str) -> Result<(Account, i64)> {
        if token.is_empty() || token.len() > 256 {
            return Err(err(ErrorCode::Unauthenticated, "no valid session token"));
        }
        self.token_session(&token_hash(token)).await
    }

    /// The account of the token whose hash is `hash`, and when the token
    /// expires (Unix ms), or why it cannot be used. A socket checks its
    /// token again with this while it stays open.
    pub async fn token_session(&self, hash: &str) -> Result<(Account, i64)> {
        let Some(row) = tokens::with_account(self.store().reader(), hash).await? else {
            return Err(err(
                ErrorCode::Unauthenticated,
                "unknown session token: sign in",
            ));
        };
        if row.revoked_at.is_some() || row.expires_at <= now_ms() {
            return Err(err(
                ErrorCode::SessionExpired,
                "your session has expired: sign in again",
            ));
        }
        let user = row.user;
        let account = Account::from_row(&user);
        if account.disabled {
            return Err(err(ErrorCode::AccountDisabled, "this account is disabled"));
        }
        Ok((account, row.expires_at))
    }

    /// Revokes every token of an account and closes its connections on every node.
    pub async fn sign_out_everywhere(&self, user_id: &UserId) -> Result<()> {
        let user_id = user_id.clone();
        self.commit(move |conn| {
            Box::pin(async move {
                tokens::revoke_all(conn, &user_id, now_ms()).await?;
                Ok((
                    (),
                    vec![BusMessage::Kill {
                        user: user_id.into_string(),
                    }],
                ))
            })
        })
        .await
    }
}
