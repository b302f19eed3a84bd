//! Integration credentials of the contact-center platform: a token (stored
//! as SHA-256) for the platform API, and a webhook URL and secret.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::IntegrationId;

use crate::rows::IntegrationRow;
use crate::StoreError;

const COLUMNS: &str = "id, name, webhook_url, webhook_secret, scopes, created_at";

/// A new integration.
pub struct NewIntegration<'a> {
    pub id: &'a IntegrationId,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub webhook_url: Option<&'a str>,
    pub webhook_secret: &'a str,
    /// Comma-separated scopes: `platform`, `scim`.
    pub scopes: &'a str,
    pub created_at: i64,
}

pub async fn insert(conn: &mut WriteTx, new: NewIntegration<'_>) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO integrations (id, name, token_hash, webhook_url, webhook_secret, scopes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new.id)
    .bind(new.name)
    .bind(new.token_hash)
    .bind(new.webhook_url)
    .bind(new.webhook_secret)
    .bind(new.scopes)
    .bind(new.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn by_token_hash<E: Exec>(
    executor: E,
    token_hash: &str,
) -> Result<Option<IntegrationRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM integrations WHERE token_hash = $1");
    crate::db::query_as::<IntegrationRow>(sql)
        .bind(token_hash)
        .fetch_optional(executor)
        .await
}

pub async fn get<E: Exec>(
    executor: E,
    id: &IntegrationId,
) -> Result<Option<IntegrationRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM integrations WHERE id = $1");
    crate::db::query_as::<IntegrationRow>(sql)
        .bind(id)
        .fetch_optional(executor)
        .await
}

pub async fn list<E: Exec>(executor: E) -> Result<Vec<IntegrationRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM integrations ORDER BY name");
    crate::db::query_as::<IntegrationRow>(sql)
        .fetch_all(executor)
        .await
}

/// Replaces an integration's token (its SHA-256); the old token stops
/// authenticating with this write. False when there is no such integration.
pub async fn set_token_hash(
    conn: &mut WriteTx,
    id: &IntegrationId,
    token_hash: &str,
) -> Result<bool, StoreError> {
    let changed = crate::db::query("UPDATE integrations SET token_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(token_hash)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(changed > 0)
}

/// Replaces an integration's webhook secret; the next attempt of every
/// queued event is signed with it. False when there is no such integration.
pub async fn set_webhook_secret(
    conn: &mut WriteTx,
    id: &IntegrationId,
    secret: &str,
) -> Result<bool, StoreError> {
    let changed = crate::db::query("UPDATE integrations SET webhook_secret = $2 WHERE id = $1")
        .bind(id)
        .bind(secret)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(changed > 0)
}
