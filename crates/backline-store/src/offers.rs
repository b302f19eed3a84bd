//! Group consultations: the offer beside an IM session, its waves, and the
//! members it may go to next. Each member offered is an invitee of the
//! session (`session_participants`); the offer row says where it stands.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::{GroupId, SessionId, UserId};
use crate::rows::{OfferReportRow, OfferRow};
use crate::types::OfferStage;
use crate::StoreError;

const OFFER_SELECT: &str =
    "SELECT o.session_id, o.group_id, g.name AS group_name, o.state, o.stage, o.wave, \
     o.wave_expires_at, o.taken_by, t.display_name AS taken_by_name, o.taken_at, o.created_at, \
     o.escalated_at FROM group_offers o JOIN user_groups g ON g.id = o.group_id \
     LEFT JOIN users t ON t.id = o.taken_by";

/// A new offer, open, before its first wave; it escalates at `escalate_at`
/// if still open then (none: the group has no answer-time target).
pub async fn insert(
    conn: &mut WriteTx,
    session_id: &SessionId,
    group_id: &GroupId,
    created_at: i64,
    escalate_at: Option<i64>,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO group_offers (session_id, group_id, state, stage, wave, wave_expires_at, created_at, \
         escalate_at) VALUES ($1, $2, 'open', 'members', 0, $3, $3, $4)",
    )
    .bind(session_id)
    .bind(group_id)
    .bind(created_at)
    .bind(escalate_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get<E: Exec>(
    executor: E,
    session_id: &SessionId,
) -> Result<Option<OfferRow>, StoreError> {
    let sql = format!("{OFFER_SELECT} WHERE o.session_id = $1");
    crate::db::query_as::<OfferRow>(sql)
        .bind(session_id)
        .fetch_optional(executor)
        .await
}

/// Gives the open offer to `user_id`: true for exactly one caller, false when
/// it was taken (or withdrawn) already. The conditional update is the rule
/// that makes one member win however many accept at once.
pub async fn take(
    conn: &mut WriteTx,
    session_id: &SessionId,
    user_id: &UserId,
    at: i64,
) -> Result<bool, StoreError> {
    Ok(crate::db::query(
        "UPDATE group_offers SET state = 'taken', taken_by = $2, taken_at = $3 \
         WHERE session_id = $1 AND state = 'open'",
    )
    .bind(session_id)
    .bind(user_id)
    .bind(at)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Closes an open offer untaken; false when it was not open.
pub async fn cancel(conn: &mut WriteTx, session_id: &SessionId) -> Result<bool, StoreError> {
    Ok(crate::db::query(
        "UPDATE group_offers SET state = 'cancelled' WHERE session_id = $1 AND state = 'open'",
    )
    .bind(session_id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Records a new wave of an open offer (`wave` is the number of waves sent,
/// `stage` whom the latest went to) and when it stops waiting; false when
/// the offer is no longer open or another writer moved it past `from_wave`
/// first (so one node widens an offer once).
pub async fn advance(
    conn: &mut WriteTx,
    session_id: &SessionId,
    from_wave: i64,
    wave: i64,
    stage: OfferStage,
    wave_expires_at: i64,
) -> Result<bool, StoreError> {
    Ok(crate::db::query(
        "UPDATE group_offers SET wave = $3, stage = $4, wave_expires_at = $5 \
         WHERE session_id = $1 AND state = 'open' AND wave = $2",
    )
    .bind(session_id)
    .bind(from_wave)
    .bind(wave)
    .bind(stage)
    .bind(wave_expires_at)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Open offers whose wave stopped waiting at or before `now`: `(session, wave)`.
pub async fn due<E: Exec>(
    executor: E,
    now: i64,
    limit: i64,
) -> Result<Vec<(SessionId, i64)>, StoreError> {
    crate::db::query_as::<(SessionId, i64)>(
        "SELECT session_id, wave FROM group_offers WHERE state = 'open' AND wave_expires_at <= $1 \
         ORDER BY wave_expires_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// Open offers past their answer-time target and not yet escalated.
pub async fn escalation_due<E: Exec>(
    executor: E,
    now: i64,
    limit: i64,
) -> Result<Vec<SessionId>, StoreError> {
    crate::db::query_scalar::<SessionId>(
        "SELECT session_id FROM group_offers WHERE state = 'open' AND escalate_at <= $1 \
         AND escalated_at IS NULL ORDER BY escalate_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// Marks an open offer escalated at `at`: true for exactly one caller,
/// false when it is no longer open, not yet due, or escalated already.
pub async fn escalate(
    conn: &mut WriteTx,
    session_id: &SessionId,
    at: i64,
) -> Result<bool, StoreError> {
    Ok(crate::db::query(
        "UPDATE group_offers SET escalated_at = $2 WHERE session_id = $1 AND state = 'open' \
         AND escalate_at <= $2 AND escalated_at IS NULL",
    )
    .bind(session_id)
    .bind(at)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Who an offer may go to next from one source, longest idle first: the
/// Ready members of `group_id` (for `Members` and `Overflow`), or the
/// group's supervisors whatever their status; enabled, with the Internal IM
/// permission, and not yet in the session.
pub async fn candidates<E: Exec>(
    executor: E,
    session_id: &SessionId,
    group_id: &GroupId,
    stage: OfferStage,
) -> Result<Vec<UserId>, StoreError> {
    let (table, ready) = match stage {
        OfferStage::Members | OfferStage::Overflow => ("group_members", " AND u.status = 'ready'"),
        OfferStage::Supervisors => ("group_supervisors", ""),
    };
    let sql = format!(
        "SELECT u.id FROM {table} m JOIN users u ON u.id = m.user_id \
         WHERE m.group_id = $1 AND u.disabled = 0 AND u.im_permitted = 1{ready} \
         AND NOT EXISTS (SELECT 1 FROM session_participants p WHERE p.session_id = $2 AND p.user_id = u.id) \
         ORDER BY u.idle_since, u.id"
    );
    crate::db::query_scalar::<UserId>(sql)
        .bind(group_id)
        .bind(session_id)
        .fetch_all(executor)
        .await
}

/// Everyone an offer to `group_id` could ever reach: its members, its
/// supervisors and its overflow group's members (the rows a write on the
/// offer may lock).
pub async fn reach<E: Exec>(executor: E, group_id: &GroupId) -> Result<Vec<UserId>, StoreError> {
    crate::db::query_scalar::<UserId>(
        "SELECT user_id FROM group_members WHERE group_id = $1 \
         UNION SELECT user_id FROM group_supervisors WHERE group_id = $1 \
         UNION SELECT m.user_id FROM group_members m JOIN user_groups g ON g.overflow_group_id = m.group_id \
               WHERE g.id = $1 \
         ORDER BY 1",
    )
    .bind(group_id)
    .fetch_all(executor)
    .await
}

/// The open offers in which `user_id` has a pending invitation: `(session, group)`.
pub async fn pending_for<E: Exec>(
    executor: E,
    user_id: &UserId,
) -> Result<Vec<(SessionId, GroupId)>, StoreError> {
    crate::db::query_as::<(SessionId, GroupId)>(
        "SELECT o.session_id, o.group_id FROM group_offers o \
         JOIN session_participants p ON p.session_id = o.session_id \
         WHERE p.user_id = $1 AND p.state = 'invited' AND o.state = 'open' ORDER BY o.session_id",
    )
    .bind(user_id)
    .fetch_all(executor)
    .await
}

/// Marks an account idle from `at` (it became Ready, or took an offer).
pub async fn set_idle_since(
    conn: &mut WriteTx,
    user_id: &UserId,
    at: i64,
) -> Result<(), StoreError> {
    crate::db::query("UPDATE users SET idle_since = $2 WHERE id = $1")
        .bind(user_id)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// The group offers made in `[from, to)` (unix ms), at most `limit`, with
/// their session's end and outcome, by group.
pub async fn report<E: Exec>(
    executor: E,
    from: i64,
    to: i64,
    limit: i64,
) -> Result<Vec<OfferReportRow>, StoreError> {
    crate::db::query_as::<OfferReportRow>(
        "SELECT o.group_id, g.name AS group_name, o.state, o.created_at, o.taken_at, s.ended_at, c.outcome \
         FROM group_offers o JOIN user_groups g ON g.id = o.group_id \
         JOIN im_sessions s ON s.id = o.session_id \
         LEFT JOIN consultation_outcomes c ON c.session_id = o.session_id \
         WHERE o.created_at >= $1 AND o.created_at < $2 ORDER BY g.name, o.created_at LIMIT $3",
    )
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(executor)
    .await
}
