//! Single sign-on with OpenID Connect: sign-ins in progress (each `state`
//! and each hand-off code used once) and accounts' identities at a provider.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::UserId;

use crate::rows::OidcLoginRow;
use crate::StoreError;

/// A sign-in leaving for the provider.
pub struct NewLogin<'a> {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

pub async fn begin(conn: &mut WriteTx, login: NewLogin<'_>) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO oidc_logins (state_hash, nonce, pkce_verifier, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(login.state_hash)
    .bind(login.nonce)
    .bind(login.pkce_verifier)
    .bind(login.created_at)
    .bind(login.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Consumes a sign-in's `state`: its nonce and PKCE verifier, once, before it
/// expires; `None` for an unknown, expired or already used state.
pub async fn consume_state(
    conn: &mut WriteTx,
    state_hash: &str,
    now: i64,
) -> Result<Option<OidcLoginRow>, StoreError> {
    crate::db::query_as::<OidcLoginRow>(
        "UPDATE oidc_logins SET consumed_at = $2 \
         WHERE state_hash = $1 AND consumed_at IS NULL AND expires_at > $2 \
         RETURNING nonce, pkce_verifier",
    )
    .bind(state_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Leaves the one-time code that hands the signed-in account to the desktop.
pub async fn set_handoff(
    conn: &mut WriteTx,
    state_hash: &str,
    code_hash: &str,
    user_id: &UserId,
    code_expires_at: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE oidc_logins SET code_hash = $2, user_id = $3, code_expires_at = $4 \
         WHERE state_hash = $1",
    )
    .bind(state_hash)
    .bind(code_hash)
    .bind(user_id)
    .bind(code_expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Uses a hand-off code: the account it signs in, once, before it expires.
pub async fn take_handoff(
    conn: &mut WriteTx,
    code_hash: &str,
    now: i64,
) -> Result<Option<UserId>, StoreError> {
    crate::db::query_scalar::<UserId>(
        "UPDATE oidc_logins SET code_used_at = $2 \
         WHERE code_hash = $1 AND code_used_at IS NULL AND code_expires_at > $2 \
         RETURNING user_id",
    )
    .bind(code_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Deletes sign-ins whose state and hand-off code both expired before `before`.
pub async fn prune(conn: &mut WriteTx, before: i64) -> Result<u64, StoreError> {
    Ok(crate::db::query(
        "DELETE FROM oidc_logins WHERE expires_at < $1 \
         AND (code_expires_at IS NULL OR code_expires_at < $1)",
    )
    .bind(before)
    .execute(conn)
    .await?
    .rows_affected())
}

/// The account linked to a provider's subject.
pub async fn identity<E: Exec>(
    executor: E,
    issuer: &str,
    subject: &str,
) -> Result<Option<UserId>, StoreError> {
    crate::db::query_scalar::<UserId>(
        "SELECT user_id FROM oidc_identities WHERE issuer = $1 AND subject = $2",
    )
    .bind(issuer)
    .bind(subject)
    .fetch_optional(executor)
    .await
}

/// Links a provider's subject to an account (or records another sign-in of it).
pub async fn link(
    conn: &mut WriteTx,
    issuer: &str,
    subject: &str,
    user_id: &UserId,
    now: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO oidc_identities (issuer, subject, user_id, created_at, last_sign_in_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (issuer, subject) \
         DO UPDATE SET last_sign_in_at = excluded.last_sign_in_at",
    )
    .bind(issuer)
    .bind(subject)
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether an account is linked to any subject of this issuer.
pub async fn is_linked<E: Exec>(
    executor: E,
    issuer: &str,
    user_id: &UserId,
) -> Result<bool, StoreError> {
    Ok(crate::db::query_scalar::<i64>(
        "SELECT COUNT(*) FROM oidc_identities WHERE issuer = $1 AND user_id = $2",
    )
    .bind(issuer)
    .bind(user_id)
    .fetch_one(executor)
    .await?
        > 0)
}
