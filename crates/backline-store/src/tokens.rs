//! Session tokens: only their SHA-256 is stored, so a database leak reveals no usable token.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::UserId;

use crate::rows::{TokenRow, UserRow};
use crate::StoreError;

pub async fn insert(
    conn: &mut WriteTx,
    token_hash: &str,
    user_id: &UserId,
    created_at: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO auth_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(created_at)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get<E: Exec>(executor: E, token_hash: &str) -> Result<Option<TokenRow>, StoreError> {
    crate::db::query_as::<TokenRow>(
        "SELECT user_id, expires_at, revoked_at FROM auth_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(executor)
    .await
}

/// A token's validity and its account, in one query (every authenticated request asks).
#[derive(Debug, Clone)]
pub struct TokenAccount {
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub user: UserRow,
}

impl crate::db::FromRow for TokenAccount {
    fn from_row(row: &crate::db::Row<'_>) -> Result<Self, StoreError> {
        Ok(TokenAccount {
            expires_at: row.get("expires_at")?,
            revoked_at: row.get("revoked_at")?,
            user: UserRow::from_row(row)?,
        })
    }
}

pub async fn with_account<E: Exec>(
    executor: E,
    token_hash: &str,
) -> Result<Option<TokenAccount>, StoreError> {
    // The account's columns go unqualified: auth_tokens has none of those names.
    let sql = format!(
        "SELECT t.expires_at, t.revoked_at, {} FROM auth_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1",
        crate::users::COLUMNS
    );
    crate::db::query_as::<TokenAccount>(sql)
        .bind(token_hash)
        .fetch_optional(executor)
        .await
}

pub async fn revoke(conn: &mut WriteTx, token_hash: &str, at: i64) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE auth_tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn revoke_all(conn: &mut WriteTx, user_id: &UserId, at: i64) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE auth_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes tokens that expired before `before`.
pub async fn prune(conn: &mut WriteTx, before: i64) -> Result<u64, StoreError> {
    Ok(
        crate::db::query("DELETE FROM auth_tokens WHERE expires_at < $1")
            .bind(before)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}
