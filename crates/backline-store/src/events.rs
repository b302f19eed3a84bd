//! The per-user event stream: numbered, stored events every desktop of a user receives.
//!
//! `users.stream_head` holds the last seq given out. Appending bumps it and
//! inserts the event in the same transaction, so seqs have no gaps and the
//! row lock on the account orders concurrent appends (PostgreSQL).

use crate::db::Exec;
use crate::engine::WriteTx;

use crate::rows::EventRow;
use crate::StoreError;

/// Appends one event to a user's stream and returns its seq.
pub async fn append(
    conn: &mut WriteTx,
    user_id: &str,
    ts: i64,
    payload: &str,
) -> Result<i64, StoreError> {
    let seq = crate::db::query_scalar::<i64>(
        "UPDATE users SET stream_head = stream_head + 1 WHERE id = $1 RETURNING stream_head",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("user"))?;
    crate::db::query("INSERT INTO user_events (user_id, seq, ts, payload) VALUES ($1, $2, $3, $4)")
        .bind(user_id)
        .bind(seq)
        .bind(ts)
        .bind(payload)
        .execute(conn)
        .await?;
    Ok(seq)
}

/// Appends the same event to several users' streams in two statements
/// (one `UPDATE … RETURNING`, one multi-row `INSERT`); returns each user's seq.
pub async fn append_many(
    conn: &mut WriteTx,
    user_ids: &[String],
    ts: i64,
    payload: &str,
) -> Result<Vec<(String, i64)>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "UPDATE users SET stream_head = stream_head + 1 WHERE id IN ({}) RETURNING id, stream_head",
        crate::placeholders(user_ids.len())
    );
    let mut update = crate::db::query_as::<(String, i64)>(sql);
    for id in user_ids {
        update = update.bind(id.as_str());
    }
    let mut seqs = update.fetch_all(&mut *conn).await?;
    if seqs.len() != user_ids.len() {
        return Err(StoreError::NotFound("user"));
    }
    // Keep the callers' order.
    seqs.sort_by_key(|(id, _)| user_ids.iter().position(|u| u == id));
    let rows: Vec<String> = (0..seqs.len())
        .map(|i| {
            format!(
                "(${}, ${}, ${}, ${})",
                4 * i + 1,
                4 * i + 2,
                4 * i + 3,
                4 * i + 4
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO user_events (user_id, seq, ts, payload) VALUES {}",
        rows.join(", ")
    );
    let mut insert = crate::db::query(sql);
    for (id, seq) in &seqs {
        insert = insert.bind(id.as_str()).bind(*seq).bind(ts).bind(payload);
    }
    insert.execute(conn).await?;
    Ok(seqs)
}

/// Events with seq in `(after, up_to]`, ascending, at most `limit`.
pub async fn range<E: Exec>(
    executor: E,
    user_id: &str,
    after: i64,
    up_to: i64,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    crate::db::query_as::<EventRow>(
        "SELECT seq, ts, payload FROM user_events WHERE user_id = $1 AND seq > $2 AND seq <= $3 \
         ORDER BY seq LIMIT $4",
    )
    .bind(user_id)
    .bind(after)
    .bind(up_to)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// The last seq given out for a user.
pub async fn head<E: Exec>(executor: E, user_id: &str) -> Result<i64, StoreError> {
    crate::db::query_scalar::<i64>("SELECT stream_head FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(executor)
        .await?
        .ok_or(StoreError::NotFound("user"))
}

/// The oldest retained seq of a user, if any event is retained.
pub async fn oldest<E: Exec>(executor: E, user_id: &str) -> Result<Option<i64>, StoreError> {
    crate::db::query_scalar::<Option<i64>>(
        "SELECT CAST(MIN(seq) AS BIGINT) FROM user_events WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(executor)
    .await
}

/// Deletes events older than `before` (the retention window). Returns how many.
pub async fn prune(conn: &mut WriteTx, before: i64) -> Result<u64, StoreError> {
    Ok(crate::db::query("DELETE FROM user_events WHERE ts < $1")
        .bind(before)
        .execute(conn)
        .await?
        .rows_affected())
}
