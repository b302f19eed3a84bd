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

/// What an audit search keeps; every field present narrows it.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Any of these actions (none: every action).
    pub actions: Vec<String>,
    pub actor_id: Option<String>,
    pub resource: Option<String>,
    pub allowed: Option<bool>,
    /// Unix ms, inclusive.
    pub from: Option<i64>,
    /// Unix ms, exclusive.
    pub to: Option<i64>,
    /// Only entries older than this entry (the previous page's last).
    pub before: Option<String>,
}

/// The entries `filter` keeps, newest first, at most `limit`.
pub async fn search<E: Exec>(
    executor: E,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut sql = String::from(
        "SELECT id, ts, actor_id, action, resource, allowed, detail FROM audit_log WHERE 1 = 1",
    );
    let mut params: Vec<crate::db::Param> = Vec::new();
    let mut next = |sql: &mut String, clause: &str, value: crate::db::Param| {
        params.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", params.len())));
    };
    if !filter.actions.is_empty() {
        sql.push_str(" AND action IN (");
        for (n, action) in filter.actions.iter().enumerate() {
            let clause = if n == 0 { "?" } else { ", ?" };
            next(&mut sql, clause, action.into());
        }
        sql.push(')');
    }
    if let Some(actor) = &filter.actor_id {
        next(&mut sql, " AND actor_id = ?", actor.into());
    }
    if let Some(resource) = &filter.resource {
        next(&mut sql, " AND resource = ?", resource.into());
    }
    if let Some(allowed) = filter.allowed {
        next(&mut sql, " AND allowed = ?", (allowed as i64).into());
    }
    if let Some(from) = filter.from {
        next(&mut sql, " AND ts >= ?", from.into());
    }
    if let Some(to) = filter.to {
        next(&mut sql, " AND ts < ?", to.into());
    }
    if let Some(before) = &filter.before {
        next(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM audit_log b WHERE b.id = ? \
               AND (audit_log.ts < b.ts OR (audit_log.ts = b.ts AND audit_log.id < b.id)))",
            before.into(),
        );
    }
    next(&mut sql, " ORDER BY ts DESC, id DESC LIMIT ?", limit.into());
    let mut query = crate::db::query_as::<AuditRow>(sql);
    for param in params {
        query = query.bind(param);
    }
    query.fetch_all(executor).await
}

/// Whether an entry with this id exists (a search's `before` cursor).
pub async fn exists<E: Exec>(executor: E, id: &str) -> Result<bool, StoreError> {
    let found = crate::db::query_scalar::<i64>("SELECT COUNT(*) FROM audit_log WHERE id = $1")
        .bind(id)
        .fetch_one(executor)
        .await?;
    Ok(found > 0)
}
