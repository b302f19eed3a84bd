//! The webhook outbox: events written in the same transaction as the change
//! they describe, claimed by one node at a time and delivered in order per
//! interaction.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::{IntegrationId, InteractionId};

use crate::rows::{DeliveryRow, OutboxRow};
use crate::StoreError;

/// Queues an event about `interaction_id` (its ordering key).
pub async fn enqueue(
    conn: &mut WriteTx,
    id: &str,
    integration_id: &IntegrationId,
    interaction_id: &InteractionId,
    event_type: &str,
    payload: &str,
    now: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO webhook_outbox (id, integration_id, interaction_id, event_type, payload, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(id)
    .bind(integration_id)
    .bind(interaction_id)
    .bind(event_type)
    .bind(payload)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The events that may be sent now: for each integration and interaction,
/// the oldest undelivered event, when it is due and nobody holds it.
/// Later events of an interaction wait behind it, so a receiver sees an
/// interaction's changes in order; different interactions go in parallel.
macro_rules! claimable {
    () => {
        "SELECT o.id FROM webhook_outbox o \
     WHERE o.delivered_at IS NULL AND o.failed_at IS NULL \
       AND o.next_attempt_at <= $2 AND o.claimed_until <= $2 \
       AND NOT EXISTS (SELECT 1 FROM webhook_outbox e \
                       WHERE e.integration_id = o.integration_id \
                         AND e.interaction_id = o.interaction_id \
                         AND e.delivered_at IS NULL AND e.failed_at IS NULL \
                         AND (e.created_at < o.created_at OR (e.created_at = o.created_at AND e.id < o.id))) \
     ORDER BY o.created_at, o.id LIMIT $4"
    };
}

macro_rules! claim_update {
    ($lock:literal) => {
        concat!(
            "UPDATE webhook_outbox SET claimed_by = $1, claimed_until = $2 + $3 WHERE id IN (",
            claimable!(),
            $lock,
            ") AND claimed_until <= $2"
        )
    };
}

/// Claims up to `limit` sendable events for `claimant` (unique per call)
/// until `now + lease_ms`: while the lease runs, no other node sends them.
/// On PostgreSQL nodes claiming at once skip each other's rows
/// (`SKIP LOCKED`) instead of waiting; the re-checked `claimed_until`
/// makes sure one claim wins a row.
pub async fn claim(
    conn: &mut WriteTx,
    claimant: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<OutboxRow>, StoreError> {
    // The SQL differs by engine only in the lock clause (SQLite has one writer).
    let update = match conn.backend() {
        crate::Backend::Postgres => claim_update!(" FOR UPDATE OF o SKIP LOCKED"),
        crate::Backend::Sqlite => claim_update!(""),
    };
    let claimed = crate::db::query(update)
        .bind(claimant)
        .bind(now)
        .bind(lease_ms)
        .bind(limit)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if claimed == 0 {
        return Ok(Vec::new());
    }
    crate::db::query_as::<OutboxRow>(
        "SELECT o.id, o.integration_id, o.interaction_id, o.event_type, o.payload, o.created_at, \
                o.attempts, i.webhook_url, i.webhook_secret \
         FROM webhook_outbox o JOIN integrations i ON i.id = o.integration_id \
         WHERE o.claimed_by = $1 AND o.delivered_at IS NULL AND o.failed_at IS NULL \
         ORDER BY o.created_at, o.id",
    )
    .bind(claimant)
    .fetch_all(conn)
    .await
}

/// Whether any undelivered event is due and unclaimed at `now` (a cheap
/// read, so that an idle node does not run a claim write at every tick).
pub async fn any_due<E: Exec>(executor: E, now: i64) -> Result<bool, StoreError> {
    let due = crate::db::query_scalar::<i64>(
        "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_outbox \
         WHERE delivered_at IS NULL AND failed_at IS NULL \
           AND next_attempt_at <= $1 AND claimed_until <= $1 LIMIT 1) AS due",
    )
    .bind(now)
    .fetch_one(executor)
    .await?;
    Ok(due > 0)
}

pub async fn mark_delivered(conn: &mut WriteTx, id: &str, now: i64) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE webhook_outbox SET delivered_at = $2, attempts = attempts + 1, \
                claimed_by = NULL, claimed_until = 0 WHERE id = $1",
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
        "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, \
                claimed_by = NULL, claimed_until = 0 WHERE id = $1",
    )
    .bind(id)
    .bind(next_attempt_at)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives up on an event (retries exhausted); the interaction's later events go on.
pub async fn mark_failed(
    conn: &mut WriteTx,
    id: &str,
    now: i64,
    error: &str,
) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE webhook_outbox SET attempts = attempts + 1, failed_at = $2, last_error = $3, \
                claimed_by = NULL, claimed_until = 0 WHERE id = $1",
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

const DELIVERY_COLUMNS: &str =
    "id, integration_id, interaction_id, event_type, created_at, attempts, \
     next_attempt_at, delivered_at, failed_at, last_error";

/// Which deliveries a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFilter {
    All,
    Pending,
    Delivered,
    Failed,
}

/// An integration's events, newest first: up to `limit`, older than the
/// event `before` when given.
pub async fn deliveries<E: Exec>(
    executor: E,
    integration_id: &IntegrationId,
    filter: DeliveryFilter,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let state = match filter {
        DeliveryFilter::All => "",
        DeliveryFilter::Pending => " AND delivered_at IS NULL AND failed_at IS NULL",
        DeliveryFilter::Delivered => " AND delivered_at IS NOT NULL",
        DeliveryFilter::Failed => " AND failed_at IS NOT NULL",
    };
    let cursor = if before.is_some() {
        " AND EXISTS (SELECT 1 FROM webhook_outbox b WHERE b.id = $3 AND b.integration_id = $1 \
           AND (webhook_outbox.created_at < b.created_at \
                OR (webhook_outbox.created_at = b.created_at AND webhook_outbox.id < b.id)))"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE integration_id = $1{state}{cursor} \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    let mut query = crate::db::query_as::<DeliveryRow>(sql)
        .bind(integration_id)
        .bind(limit);
    if let Some(before) = before {
        query = query.bind(before);
    }
    query.fetch_all(executor).await
}

/// One event of an integration.
pub async fn delivery<E: Exec>(
    executor: E,
    integration_id: &IntegrationId,
    id: &str,
) -> Result<Option<DeliveryRow>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE id = $1 AND integration_id = $2"
    );
    crate::db::query_as::<DeliveryRow>(sql)
        .bind(id)
        .bind(integration_id)
        .fetch_optional(executor)
        .await
}

/// Puts an event back in the queue, due at `now`: a failed one is tried
/// again, a pending one at once rather than after its back-off, a delivered
/// one is sent again. A lease that runs (an attempt in flight) is kept, so
/// no two nodes send it at once. False when there is no such event.
pub async fn requeue(conn: &mut WriteTx, id: &str, now: i64) -> Result<bool, StoreError> {
    let changed = crate::db::query(
        "UPDATE webhook_outbox SET delivered_at = NULL, failed_at = NULL, next_attempt_at = $2 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// The stored events of one type about an interaction, sent or not, with
/// their payloads: `(id, payload)`, oldest first.
pub async fn payloads_of(
    conn: &mut WriteTx,
    integration_id: &IntegrationId,
    interaction_id: &InteractionId,
    event_type: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    crate::db::query_as::<(String, String)>(
        "SELECT id, payload FROM webhook_outbox \
         WHERE integration_id = $1 AND interaction_id = $2 AND event_type = $3 \
         ORDER BY created_at, id",
    )
    .bind(integration_id)
    .bind(interaction_id)
    .bind(event_type)
    .fetch_all(conn)
    .await
}

/// Replaces a stored event's payload (a redaction): its next attempt, and
/// any redelivery, send the new one. False when there is no such event.
pub async fn replace_payload(
    conn: &mut WriteTx,
    id: &str,
    payload: &str,
) -> Result<bool, StoreError> {
    let changed = crate::db::query("UPDATE webhook_outbox SET payload = $2 WHERE id = $1")
        .bind(id)
        .bind(payload)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(changed > 0)
}
