//! The audit log: who tried to read what they may not, and other security events.

use crate::db::Exec;
use crate::engine::WriteTx;

use crate::rows::AuditRow;
use crate::StoreError;

/// One audit entry.
pub struct NewAudit<'a> {
    pub id: &'a str,
    pub ts: i64,
    pub actor_id: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    pub allowed: bool,
    pub detail: &'a str,
}

pub async fn insert(conn: &mut WriteTx, entry: NewAudit<'_>) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO audit_log (id, ts, actor_id, action, resource, allowed, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.id)
    .bind(entry.ts)
    .bind(entry.actor_id)
    .bind(entry.action)
    .bind(entry.resource)
    .bind(entry.allowed as i64)
    .bind(entry.detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest entries first.
pub async fn recent<E: Exec>(executor: E, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
    crate::db::query_as::<AuditRow>(
        "SELECT id, ts, actor_id, action, resource, allowed, detail FROM audit_log \
         ORDER BY ts DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(executor)
    .await
}
