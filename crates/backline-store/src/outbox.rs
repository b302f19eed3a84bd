//! The webhook outbox: events written in the same transaction as the change
//! they describe, delivered later by a worker, in order per integration.

use crate::db::Exec;
use crate::engine::WriteTx;

use crate::rows::OutboxRow;
use crate::StoreError;

pub async fn enqueue(
    conn: &mut WriteTx,
    id: &str,
    integration_id: &str,
    event_type: &str,
    payload: &str,
    now: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO webhook_outbox (id, integration_id, event_type, payload, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(id)
    .bind(integration_id)
    .bind(event_type)
    .bind(payload)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// For each integration, its oldest undelivered event, if that one is due.
/// Later events wait behind it, so delivery keeps the order of the changes.
pub async fn due<E: Exec>(executor: E, now: i64, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
    crate::db::query_as::<OutboxRow>(
        "SELECT o.id, o.integration_id, o.event_type, o.payload, o.created_at, o.attempts, \
                i.webhook_url, i.webhook_secret \
         FROM webhook_outbox o JOIN integrations i ON i.id = o.integration_id \
         WHERE o.delivered_at IS NULL AND o.failed_at IS NULL AND o.next_attempt_at <= $1 \
           AND NOT EXISTS (SELECT 1 FROM webhook_outbox e \
                           WHERE e.integration_id = o.integration_id AND e.delivered_at IS NULL \
                             AND e.failed_at IS NULL \
                             AND (e.created_at < o.created_at OR (e.created_at = o.created_at AND e.id < o.id))) \
         ORDER BY o.created_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(executor)
    .await
}

pub async fn mark_delivered(conn: &mut WriteTx, id: &str, now: i64) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE webhook_outbox SET delivered_at = $2, attempts = attempts + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt; the next one is due at `next_attempt_at`.
pub async fn mark_retry(
    conn: &mut WriteTx,
    id: &str,
    next_attempt_at: i64,
    error: &str,
) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(next_attempt_at)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives up on an event (retries exhausted); later events of the integration go on.
pub async fn mark_failed(
    conn: &mut WriteTx,
    id: &str,
    now: i64,
    error: &str,
) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE webhook_outbox SET attempts = attempts + 1, failed_at = $2, last_error = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts by state, for metrics and tests: (pending, delivered, failed).
pub async fn counts<E: Exec>(executor: E) -> Result<(i64, i64, i64), StoreError> {
    crate::db::query_as::<(i64, i64, i64)>(
        "SELECT CAST(COALESCE(SUM(CASE WHEN delivered_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
                CAST(COALESCE(SUM(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
                CAST(COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM webhook_outbox",
    )
    .fetch_one(executor)
    .await
}
