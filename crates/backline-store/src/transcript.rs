//! Transcript entries: messages and system events, numbered per session.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::{SessionId, UserId};

use crate::rows::EntryRow;
use crate::{Backend, StoreError};

const SELECT: &str =
    "SELECT t.session_id, t.seq, t.ts, t.kind, t.actor_id, a.display_name AS actor_name, \
     t.subject_id, s.display_name AS subject_name, t.body, t.client_msg_id, \
     t.redacted_by, r.display_name AS redacted_by_name, t.redacted_at \
     FROM transcript t JOIN users a ON a.id = t.actor_id LEFT JOIN users s ON s.id = t.subject_id \
     LEFT JOIN users r ON r.id = t.redacted_by";

/// A new entry; its seq was allocated with `sessions::next_seq` in the same transaction.
pub struct NewEntry<'a> {
    pub session_id: &'a SessionId,
    pub seq: i64,
    pub ts: i64,
    pub kind: &'a str,
    pub actor_id: &'a UserId,
    pub subject_id: Option<&'a UserId>,
    pub body: Option<&'a str>,
    pub client_msg_id: Option<&'a str>,
}

pub async fn insert(conn: &mut WriteTx, entry: NewEntry<'_>) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO transcript (session_id, seq, ts, kind, actor_id, subject_id, body, client_msg_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(entry.session_id)
    .bind(entry.seq)
    .bind(entry.ts)
    .bind(entry.kind)
    .bind(entry.actor_id)
    .bind(entry.subject_id)
    .bind(entry.body)
    .bind(entry.client_msg_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A new entry whose seq [`append`] allocates.
pub struct AppendEntry<'a> {
    pub session_id: &'a SessionId,
    pub ts: i64,
    pub kind: &'a str,
    pub actor_id: &'a UserId,
    pub subject_id: Option<&'a UserId>,
    pub body: Option<&'a str>,
    pub client_msg_id: Option<&'a str>,
}

/// Allocates the session's next seq and appends the entry; returns the seq.
/// One statement on PostgreSQL (the seq's `UPDATE` and the `INSERT` in one
/// round trip), two on SQLite; `NotFound` when the session does not exist.
///
/// In a batch that read the session's last seq ahead, the entry takes the
/// next seq at once and is written with the batch's other appends
/// (`deferred`).
pub async fn append(conn: &mut WriteTx, entry: AppendEntry<'_>) -> Result<i64, StoreError> {
    if let Some(seq) = conn.defer_entry(&entry) {
        return Ok(seq);
    }
    match conn.backend() {
        Backend::Postgres => crate::db::query_scalar::<i64>(
            "WITH next AS (UPDATE im_sessions SET last_seq = last_seq + 1 WHERE id = $1 \
             RETURNING last_seq) \
             INSERT INTO transcript (session_id, seq, ts, kind, actor_id, subject_id, body, client_msg_id) \
             SELECT $1, last_seq, $2, $3, $4, $5, $6, $7 FROM next RETURNING seq",
        )
        .bind(entry.session_id)
        .bind(entry.ts)
        .bind(entry.kind)
        .bind(entry.actor_id)
        .bind(entry.subject_id)
        .bind(entry.body)
        .bind(entry.client_msg_id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound("session")),
        Backend::Sqlite => {
            let seq = crate::sessions::next_seq(&mut *conn, entry.session_id).await?;
            insert(
                conn,
                NewEntry {
                    session_id: entry.session_id,
                    seq,
                    ts: entry.ts,
                    kind: entry.kind,
                    actor_id: entry.actor_id,
                    subject_id: entry.subject_id,
                    body: entry.body,
                    client_msg_id: entry.client_msg_id,
                },
            )
            .await?;
            Ok(seq)
        }
    }
}

/// Replaces a message's text with `body`, recording who redacted it and when;
/// the entry keeps its seq. False when the session has no message `seq`.
pub async fn redact(
    conn: &mut WriteTx,
    session_id: &SessionId,
    seq: i64,
    body: &str,
    redacted_by: &UserId,
    redacted_at: i64,
) -> Result<bool, StoreError> {
    let changed = crate::db::query(
        "UPDATE transcript SET body = $3, redacted_by = $4, redacted_at = $5 \
         WHERE session_id = $1 AND seq = $2 AND kind = 'message'",
    )
    .bind(session_id)
    .bind(seq)
    .bind(body)
    .bind(redacted_by)
    .bind(redacted_at)
    .execute(conn)
    .await?;
    Ok(changed.rows_affected() > 0)
}

/// The message a sender already committed with this client id, if any.
pub async fn by_client_msg_id<E: Exec>(
    executor: E,
    session_id: &SessionId,
    actor_id: &UserId,
    client_msg_id: &str,
) -> Result<Option<EntryRow>, StoreError> {
    let sql =
        format!("{SELECT} WHERE t.session_id = $1 AND t.actor_id = $2 AND t.client_msg_id = $3");
    crate::db::query_as::<EntryRow>(sql)
        .bind(session_id)
        .bind(actor_id)
        .bind(client_msg_id)
        .fetch_optional(executor)
        .await
}

pub async fn get<E: Exec>(
    executor: E,
    session_id: &SessionId,
    seq: i64,
) -> Result<Option<EntryRow>, StoreError> {
    let sql = format!("{SELECT} WHERE t.session_id = $1 AND t.seq = $2");
    crate::db::query_as::<EntryRow>(sql)
        .bind(session_id)
        .bind(seq)
        .fetch_optional(executor)
        .await
}

/// Entries with `after < seq < before`, ascending. With `newest_first` the
/// `limit` entries nearest `before` are taken (paging backwards), still
/// returned ascending.
pub async fn page<E: Exec>(
    executor: E,
    session_id: &SessionId,
    after: i64,
    before: i64,
    limit: i64,
    newest_first: bool,
) -> Result<Vec<EntryRow>, StoreError> {
    page_seen_by(
        executor,
        session_id,
        None,
        after,
        before,
        limit,
        newest_first,
    )
    .await
}

/// Like [`page`], as `viewer` sees it: a whisper only for its sender and
/// its addressee.
pub async fn page_for<E: Exec>(
    executor: E,
    session_id: &SessionId,
    viewer: &UserId,
    after: i64,
    before: i64,
    limit: i64,
    newest_first: bool,
) -> Result<Vec<EntryRow>, StoreError> {
    page_seen_by(
        executor,
        session_id,
        Some(viewer),
        after,
        before,
        limit,
        newest_first,
    )
    .await
}

async fn page_seen_by<E: Exec>(
    executor: E,
    session_id: &SessionId,
    viewer: Option<&UserId>,
    after: i64,
    before: i64,
    limit: i64,
    newest_first: bool,
) -> Result<Vec<EntryRow>, StoreError> {
    let order = if newest_first { "DESC" } else { "ASC" };
    let seen = match viewer {
        Some(_) => "AND (t.kind <> 'whisper' OR t.actor_id = $5 OR t.subject_id = $5)",
        None => "",
    };
    let sql = format!(
        "{SELECT} WHERE t.session_id = $1 AND t.seq > $2 AND t.seq < $3 {seen} \
         ORDER BY t.seq {order} LIMIT $4"
    );
    let mut query = crate::db::query_as::<EntryRow>(sql)
        .bind(session_id)
        .bind(after)
        .bind(before)
        .bind(limit);
    if let Some(viewer) = viewer {
        query = query.bind(viewer);
    }
    let mut rows = query.fetch_all(executor).await?;
    if newest_first {
        rows.reverse();
    }
    Ok(rows)
}

/// The latest message of a session.
pub async fn last_message<E: Exec>(
    executor: E,
    session_id: &SessionId,
) -> Result<Option<EntryRow>, StoreError> {
    let sql = format!(
        "{SELECT} WHERE t.session_id = $1 AND t.kind = 'message' ORDER BY t.seq DESC LIMIT 1"
    );
    crate::db::query_as::<EntryRow>(sql)
        .bind(session_id)
        .fetch_optional(executor)
        .await
}

/// Messages from others after `after_seq`: a participant's unread count.
pub async fn count_unread<E: Exec>(
    executor: E,
    session_id: &SessionId,
    user_id: &UserId,
    after_seq: i64,
) -> Result<i64, StoreError> {
    crate::db::query_scalar::<i64>(
        "SELECT COUNT(*) FROM transcript WHERE session_id = $1 AND kind = 'message' \
         AND actor_id <> $2 AND seq > $3",
    )
    .bind(session_id)
    .bind(user_id)
    .bind(after_seq)
    .fetch_one(executor)
    .await
}
