//! The per-user event stream: numbered, stored events every desktop of a user receives.
//!
//! A user's head (the last seq given out) is the greater of
//! `users.stream_head` and the user's highest stored event. On PostgreSQL
//! appending bumps `stream_head` in the same transaction, so its row lock
//! orders concurrent appends from several nodes; every append there moves
//! it to the seq it gives out, so `stream_head` alone is the head (what
//! the writer's lock statement reads). On SQLite the writer is the
//! file's only writer and keeps the heads in memory ([`WriteTx`]), so an
//! append writes only the event rows; there `stream_head` is a floor that
//! pruning raises before it deletes events. Either way seqs have no gaps and
//! are never given out twice.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::UserId;

use crate::rows::EventRow;
use crate::StoreError;

/// A `users` row's stream head, as SQL over its unqualified columns: the
/// greater of `stream_head` and the user's highest stored event. One
/// definition for every query that reads a head.
macro_rules! head_of_user {
    () => {
        "CASE WHEN (SELECT MAX(e.seq) FROM user_events e WHERE e.user_id = id) > stream_head \
         THEN (SELECT MAX(e.seq) FROM user_events e WHERE e.user_id = id) ELSE stream_head END"
    };
}
pub(crate) use head_of_user;

/// The head of user `$1` (no row when there is no such user).
pub(crate) const HEAD_SQL: &str = concat!("SELECT ", head_of_user!(), " FROM users WHERE id = $1");

/// Appends one event to a user's stream and returns its seq.
pub async fn append(
    conn: &mut WriteTx,
    user_id: &UserId,
    ts: i64,
    payload: &str,
) -> Result<i64, StoreError> {
    let seqs = append_many(conn, &[user_id.to_owned()], ts, payload).await?;
    Ok(seqs[0].1)
}

/// Appends the same event to several users' streams in one statement
/// (PostgreSQL: the heads' `UPDATE` and the `INSERT` together; SQLite: the
/// writer's heads and a multi-row `INSERT`); returns each user's seq, in the
/// callers' order.
pub async fn append_many(
    conn: &mut WriteTx,
    user_ids: &[UserId],
    ts: i64,
    payload: &str,
) -> Result<Vec<(UserId, i64)>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(seqs) = conn.defer_events(user_ids, ts, payload) {
        // Heads the batch read ahead: written with the batch's other appends.
        return Ok(seqs);
    }
    if !conn.caches_heads() {
        // PostgreSQL: the heads' UPDATE and the events' INSERT in one round trip.
        let sql = format!(
            "WITH heads AS (UPDATE users SET stream_head = stream_head + 1 WHERE id IN ({}) \
             RETURNING id, stream_head) \
             INSERT INTO user_events (user_id, seq, ts, payload) \
             SELECT id, stream_head, $1, $2 FROM heads RETURNING user_id, seq",
            crate::placeholders_from(3, user_ids.len())
        );
        let mut append = crate::db::query_as::<(UserId, i64)>(sql)
            .bind(ts)
            .bind(payload);
        for id in user_ids {
            append = append.bind(id);
        }
        let mut seqs = append.fetch_all(&mut *conn).await?;
        if seqs.len() != user_ids.len() {
            return Err(StoreError::NotFound("user"));
        }
        seqs.sort_by_key(|(id, _)| user_ids.iter().position(|u| u == id));
        return Ok(seqs);
    }
    // SQLite: the writer's heads, then one multi-row INSERT sharing the
    // time and the payload.
    let seqs = conn.next_stream_seqs(user_ids).await?;
    let rows: Vec<String> = (0..seqs.len())
        .map(|i| format!("(${}, ${}, $1, $2)", 2 * i + 3, 2 * i + 4))
        .collect();
    let sql = format!(
        "INSERT INTO user_events (user_id, seq, ts, payload) VALUES {}",
        rows.join(", ")
    );
    let mut insert = crate::db::query(sql).bind(ts).bind(payload);
    for (id, seq) in &seqs {
        insert = insert.bind(id).bind(*seq);
    }
    insert.execute(conn).await?;
    Ok(seqs)
}

/// Events with seq in `(after, up_to]`, ascending, at most `limit`.
pub async fn range<E: Exec>(
    executor: E,
    user_id: &UserId,
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

/// The stored events of `user_ids` committed at or after `since` whose
/// payload contains `needle`: `(user_id, seq, payload)`, for rewriting
/// (a redaction takes the text out of the events that carried it).
pub async fn mentioning(
    conn: &mut WriteTx,
    user_ids: &[UserId],
    since: i64,
    needle: &str,
) -> Result<Vec<(UserId, i64, String)>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT user_id, seq, payload FROM user_events \
         WHERE ts >= $1 AND payload LIKE $2 ESCAPE '!' AND user_id IN ({}) ORDER BY user_id, seq",
        crate::placeholders_from(3, user_ids.len())
    );
    let pattern = format!(
        "%{}%",
        needle
            .replace('!', "!!")
            .replace('%', "!%")
            .replace('_', "!_")
    );
    let mut select = crate::db::query_as::<(UserId, i64, String)>(sql)
        .bind(since)
        .bind(pattern);
    for id in user_ids {
        select = select.bind(id.as_str());
    }
    select.fetch_all(conn).await
}

/// Replaces a stored event's payload; its seq and time stay. False when the
/// user has no event `seq` (pruned meanwhile).
pub async fn replace_payload(
    conn: &mut WriteTx,
    user_id: &UserId,
    seq: i64,
    payload: &str,
) -> Result<bool, StoreError> {
    let changed =
        crate::db::query("UPDATE user_events SET payload = $3 WHERE user_id = $1 AND seq = $2")
            .bind(user_id)
            .bind(seq)
            .bind(payload)
            .execute(conn)
            .await?;
    Ok(changed.rows_affected() > 0)
}

/// The last seq given out for a user.
pub async fn head<E: Exec>(executor: E, user_id: &UserId) -> Result<i64, StoreError> {
    crate::db::query_scalar::<i64>(HEAD_SQL)
        .bind(user_id)
        .fetch_optional(executor)
        .await?
        .ok_or(StoreError::NotFound("user"))
}

/// The oldest retained seq of a user, if any event is retained.
pub async fn oldest<E: Exec>(executor: E, user_id: &UserId) -> Result<Option<i64>, StoreError> {
    crate::db::query_scalar::<Option<i64>>(
        "SELECT CAST(MIN(seq) AS BIGINT) FROM user_events WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(executor)
    .await
}

/// Deletes events older than `before` (the retention window). Returns how many.
pub async fn prune(conn: &mut WriteTx, before: i64) -> Result<u64, StoreError> {
    // The head must outlive the events it counts: raise the floor first.
    crate::db::query(
        "UPDATE users SET stream_head = \
         (SELECT MAX(e.seq) FROM user_events e WHERE e.user_id = users.id) \
         WHERE stream_head < (SELECT MAX(e.seq) FROM user_events e WHERE e.user_id = users.id)",
    )
    .execute(&mut *conn)
    .await?;
    Ok(crate::db::query("DELETE FROM user_events WHERE ts < $1")
        .bind(before)
        .execute(conn)
        .await?
        .rows_affected())
}
