//! Passwords (argon2id) and opaque session tokens.
//!
//! A token is 32 random bytes, base64url; only its SHA-256 is stored, so
//! sign-out, expiry and disabling an account take effect at the next request.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use backline_protocol::model::Role;
use backline_protocol::ErrorCode;
use backline_store::{now_ms, tokens, users};
use base64::Engine;
use sha2::Digest;

use crate::bus::BusMessage;
use crate::error::{err, Result, ServiceError};
use crate::Backline;

/// A signed-in account, as handlers see it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
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

/// At most this many argon2id computations run at once. Each takes 19 MiB;
/// unbounded, a burst of password sign-ins spreads over many blocking
/// threads whose allocator arenas keep that memory long after.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(per_core_permits)
}

/// A semaphore with one permit per core (1 to 8): bounds CPU-heavy work
/// sent to blocking threads.
pub(crate) fn per_core_permits() -> tokio::sync::Semaphore {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    tokio::sync::Semaphore::new(cores.clamp(1, 8))
}

/// Hashes a password with argon2id and the OWASP parameters (m=19 MiB, t=2, p=1).
pub async fn hash_password(password: String) -> Result<String> {
    let _permit = hashing_permits()
        .acquire()
        .await
        .map_err(|e| ServiceError::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| ServiceError::Internal(e.into()))?
}

async fn verify_password(password: String, hash: String) -> bool {
    let Ok(_permit) = hashing_permits().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// SHA-256 of a token, hex: what the store keeps.
pub fn token_hash(token: &str) -> String {
    let digest = sha2::Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A password hash of a random password, verified against when the username
/// is unknown, so that a wrong username costs as long as a wrong password.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

impl Backline {
    /// Checks a username and password; returns a new token and its expiry.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<(String, i64, Account)> {
        let row = users::get_by_username(self.store().reader(), username.trim()).await?;
        let Some(row) = row else {
            let dummy = match DUMMY_HASH.get() {
                Some(hash) => hash.clone(),
                None => {
                    let hash = hash_password(new_token()).await?;
                    DUMMY_HASH.get_or_init(|| hash).clone()
                }
            };
            verify_password(password.to_owned(), dummy).await;
            return Err(err(
                ErrorCode::InvalidCredentials,
                "wrong username or password",
            ));
        };
        if !verify_password(password.to_owned(), row.password_hash.clone()).await {
            return Err(err(
                ErrorCode::InvalidCredentials,
                "wrong username or password",
            ));
        }
        let account = Account::from_row(&row);
        if account.disabled {
            return Err(err(ErrorCode::AccountDisabled, "this account is disabled"));
        }
        let token = new_token();
        let hash = token_hash(&token);
        let now = now_ms();
        let expires_at = now + (self.config().token_ttl_secs as i64) * 1000;
        let user_id = account.id.clone();
        self.commit(move |conn| {
            Box::pin(async move {
                tokens::insert(conn, &hash, &user_id, now, expires_at).await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        Ok((token, expires_at, account))
    }

    /// Revokes a token and closes the desktops that use it, on every node.
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        let hash = token_hash(token);
        self.commit(move |conn| {
            Box::pin(async move {
                let Some(row) = tokens::get(&mut *conn, &hash).await? else {
                    return Ok(((), Vec::new()));
                };
                tokens::revoke(conn, &hash, now_ms()).await?;
                Ok((
                    (),
                    vec![BusMessage::KillToken {
                        user: row.user_id,
                        token_hash: hash,
                    }],
                ))
            })
        })
        .await
    }

    /// The account a token belongs to, or why it cannot be used.
    pub async fn authenticate(&self, token: &str) -> Result<Account> {
        if token.is_empty() || token.len() > 256 {
            return Err(err(ErrorCode::Unauthenticated, "no valid session token"));
        }
        let Some(row) = tokens::with_account(self.store().reader(), &token_hash(token)).await?
        else {
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
        Ok(account)
    }

    /// Revokes every token of an account and closes its connections on every node.
    pub async fn sign_out_everywhere(&self, user_id: &str) -> Result<()> {
        let user_id = user_id.to_owned();
        self.commit(move |conn| {
            Box::pin(async move {
                tokens::revoke_all(conn, &user_id, now_ms()).await?;
                Ok(((), vec![BusMessage::Kill { user: user_id }]))
            })
        })
        .await
    }
}
