//! Legal holds and retention: what may be deleted after a configured age,
//! and what a hold keeps.
//!
//! A hold names a contact or an interaction. Held: an interaction on hold or
//! whose contact is; an IM session about a held interaction (a
//! consultation); an audit entry about a held interaction or contact.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::{ContactId, InteractionId, UserId};
use crate::rows::LegalHoldRow;
use crate::{Backend, StoreError};

/// Places a hold; false when the target was already held (the first hold stands).
pub async fn place_hold(
    conn: &mut WriteTx,
    target_kind: &str,
    target_id: &str,
    reason: &str,
    placed_by: &UserId,
    placed_at: i64,
) -> Result<bool, StoreError> {
    let done = crate::db::query(
        "INSERT INTO legal_holds (target_kind, target_id, reason, placed_by, placed_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (target_kind, target_id) DO NOTHING",
    )
    .bind(target_kind)
    .bind(target_id)
    .bind(reason)
    .bind(placed_by)
    .bind(placed_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Lifts a hold; false when there was none.
pub async fn lift_hold(
    conn: &mut WriteTx,
    target_kind: &str,
    target_id: &str,
) -> Result<bool, StoreError> {
    let done =
        crate::db::query("DELETE FROM legal_holds WHERE target_kind = $1 AND target_id = $2")
            .bind(target_kind)
            .bind(target_id)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// Every hold, oldest first.
pub async fn holds<E: Exec>(executor: E) -> Result<Vec<LegalHoldRow>, StoreError> {
    crate::db::query_as::<LegalHoldRow>(
        "SELECT target_kind, target_id, reason, placed_by, placed_at FROM legal_holds \
         ORDER BY placed_at, target_kind, target_id",
    )
    .fetch_all(executor)
    .await
}

/// The hold on a target, if any.
pub async fn hold<E: Exec>(
    executor: E,
    target_kind: &str,
    target_id: &str,
) -> Result<Option<LegalHoldRow>, StoreError> {
    crate::db::query_as::<LegalHoldRow>(
        "SELECT target_kind, target_id, reason, placed_by, placed_at FROM legal_holds \
         WHERE target_kind = $1 AND target_id = $2",
    )
    .bind(target_kind)
    .bind(target_id)
    .fetch_optional(executor)
    .await
}

/// Unix-ms cut-offs per kind: what ended (or, for audit entries, was
/// written) before it goes; `None` keeps that kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cutoffs {
    pub transcripts: Option<i64>,
    pub interactions: Option<i64>,
    pub audit: Option<i64>,
}

/// How many of each kind a run deleted (or, dry, would delete).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub transcripts: i64,
    pub interactions: i64,
    pub audit: i64,
}

/// Ended IM sessions (with their transcripts), except consultations about a held interaction.
const SESSIONS: &str = "FROM im_sessions s WHERE s.state = 'ended' AND s.ended_at < $1 \
    AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.target_kind = 'interaction' \
        AND h.target_id = s.parent_interaction_id) \
    AND NOT EXISTS (SELECT 1 FROM legal_holds h JOIN interactions i ON i.contact_id = h.target_id \
        WHERE h.target_kind = 'contact' AND i.id = s.parent_interaction_id)";

/// Ended interactions (with their attached transcripts and calls), except held ones.
const INTERACTIONS: &str = "FROM interactions i WHERE i.state = 'ended' AND i.ended_at < $1 \
    AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE (h.target_kind = 'interaction' \
        AND h.target_id = i.id) OR (h.target_kind = 'contact' AND h.target_id = i.contact_id))";

/// Audit entries, except those about a held interaction or contact.
const AUDIT: &str = "FROM audit_log a WHERE a.ts < $1 \
    AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE a.resource = h.target_kind || ':' || h.target_id) \
    AND NOT EXISTS (SELECT 1 FROM legal_holds h JOIN interactions i ON i.contact_id = h.target_id \
        WHERE h.target_kind = 'contact' AND a.resource = 'interaction:' || i.id)";

/// Deletes (or with `dry_run` only counts) what is past its cut-off and not held.
pub async fn retention(
    conn: &mut WriteTx,
    cutoffs: Cutoffs,
    dry_run: bool,
) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    if let Some(cutoff) = cutoffs.transcripts {
        counts.transcripts = count(conn, SESSIONS, cutoff).await?;
        if !dry_run && counts.transcripts > 0 {
            crate::db::query(format!(
                "DELETE FROM im_sessions WHERE id IN (SELECT s.id {SESSIONS})"
            ))
            .bind(cutoff)
            .execute(&mut *conn)
            .await?;
        }
    }
    if let Some(cutoff) = cutoffs.interactions {
        counts.interactions = count(conn, INTERACTIONS, cutoff).await?;
        if !dry_run && counts.interactions > 0 {
            let doomed = format!("(SELECT i.id {INTERACTIONS})");
            // Search rows: a foreign key removes them on PostgreSQL; FTS5 has none.
            if conn.backend() == Backend::Sqlite {
                crate::db::query(format!(
                    "DELETE FROM history_fts WHERE interaction_id IN {doomed}"
                ))
                .bind(cutoff)
                .execute(&mut *conn)
                .await?;
            }
            crate::db::query(format!(
                "DELETE FROM calls WHERE interaction_id IN {doomed} AND state = 'ended'"
            ))
            .bind(cutoff)
            .execute(&mut *conn)
            .await?;
            crate::db::query(format!("DELETE FROM interactions WHERE id IN {doomed}"))
                .bind(cutoff)
                .execute(&mut *conn)
                .await?;
        }
    }
    if let Some(cutoff) = cutoffs.audit {
        counts.audit = count(conn, AUDIT, cutoff).await?;
        if !dry_run && counts.audit > 0 {
            crate::db::query(format!(
                "DELETE FROM audit_log WHERE id IN (SELECT a.id {AUDIT})"
            ))
            .bind(cutoff)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(counts)
}

async fn count(conn: &mut WriteTx, from: &str, cutoff: i64) -> Result<i64, StoreError> {
    crate::db::query_scalar::<i64>(format!("SELECT COUNT(*) {from}"))
        .bind(cutoff)
        .fetch_one(&mut *conn)
        .await
}

/// The ids of a contact's interactions, oldest first.
pub async fn contact_interactions<E: Exec>(
    executor: E,
    contact_id: &ContactId,
) -> Result<Vec<InteractionId>, StoreError> {
    crate::db::query_scalar::<InteractionId>(
        "SELECT id FROM interactions WHERE contact_id = $1 ORDER BY created_at, id",
    )
    .bind(contact_id)
    .fetch_all(executor)
    .await
}

/// Whether a contact or any of its interactions is under a legal hold.
pub async fn contact_held<E: Exec>(
    executor: E,
    contact_id: &ContactId,
) -> Result<bool, StoreError> {
    let held = crate::db::query_scalar::<i64>(
        "SELECT COUNT(*) FROM legal_holds h WHERE (h.target_kind = 'contact' AND h.target_id = $1) \
         OR (h.target_kind = 'interaction' AND h.target_id IN \
             (SELECT id FROM interactions WHERE contact_id = $1))",
    )
    .bind(contact_id)
    .fetch_one(executor)
    .await?;
    Ok(held > 0)
}

/// Audit entries about a contact or one of its interactions, oldest first.
pub async fn contact_audit<E: Exec>(
    executor: E,
    contact_id: &ContactId,
) -> Result<Vec<crate::rows::AuditRow>, StoreError> {
    crate::db::query_as::<crate::rows::AuditRow>(
        "SELECT id, ts, actor_id, action, resource, allowed, detail FROM audit_log a \
         WHERE a.resource = 'contact:' || $1 OR a.resource IN \
             (SELECT 'interaction:' || id FROM interactions WHERE contact_id = $1) \
         ORDER BY ts, id",
    )
    .bind(contact_id)
    .fetch_all(executor)
    .await
}

/// Erases a contact: its interactions (with attached transcripts, search
/// rows, calls and undelivered webhooks), the consultations about them (with
/// their transcripts), and the contact. Returns how many interactions went;
/// `None` when there is no such contact. The caller checks legal holds.
pub async fn erase_contact(
    conn: &mut WriteTx,
    contact_id: &ContactId,
) -> Result<Option<i64>, StoreError> {
    if crate::contacts::get(&mut *conn, contact_id)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let ids = "(SELECT id FROM interactions WHERE contact_id = $1)";
    let mut statements = vec![
        format!("DELETE FROM im_sessions WHERE parent_interaction_id IN {ids}"),
        format!("DELETE FROM calls WHERE interaction_id IN {ids}"),
        format!("DELETE FROM webhook_outbox WHERE interaction_id IN {ids}"),
    ];
    if conn.backend() == Backend::Sqlite {
        statements.push(format!(
            "DELETE FROM history_fts WHERE interaction_id IN {ids}"
        ));
    }
    for sql in statements {
        crate::db::query(sql)
            .bind(contact_id)
            .execute(&mut *conn)
            .await?;
    }
    let erased = crate::db::query("DELETE FROM interactions WHERE contact_id = $1")
        .bind(contact_id)
        .execute(&mut *conn)
        .await?
        .rows_affected() as i64;
    crate::db::query("DELETE FROM contacts WHERE id = $1")
        .bind(contact_id)
        .execute(&mut *conn)
        .await?;
    Ok(Some(erased))
}
