//! Calls and their parties (voice). The server keeps the state; audio flows
//! between browsers.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::{CallId, InteractionId, SessionId};
use crate::types::{CallKind, CallState, PartyKind, PartyState};

use crate::rows::{CallPartyRow, CallRow};
use crate::StoreError;

const COLUMNS: &str =
    "id, kind, state, interaction_id, consultation_session_id, contact_call_id, created_at, \
     answered_at, ended_at, ended_reason, hold_started_at, ring_expires_at, orphaned_since";
const PARTY_COLUMNS: &str = "call_id, party_id, position, kind, display_name, state, device_id";

/// A new call.
pub struct NewCall<'a> {
    pub id: &'a CallId,
    pub kind: CallKind,
    pub state: CallState,
    pub interaction_id: Option<&'a InteractionId>,
    pub consultation_session_id: Option<&'a SessionId>,
    pub contact_call_id: Option<&'a CallId>,
    pub created_at: i64,
    pub ring_expires_at: Option<i64>,
    pub caller_token_hash: Option<&'a str>,
}

pub async fn insert(conn: &mut WriteTx, call: NewCall<'_>) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO calls (id, kind, state, interaction_id, consultation_session_id, contact_call_id, \
         created_at, ring_expires_at, caller_token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(call.id)
    .bind(call.kind)
    .bind(call.state)
    .bind(call.interaction_id)
    .bind(call.consultation_session_id)
    .bind(call.contact_call_id)
    .bind(call.created_at)
    .bind(call.ring_expires_at)
    .bind(call.caller_token_hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds a party at the end of the call's list.
#[allow(clippy::too_many_arguments)]
pub async fn add_party(
    conn: &mut WriteTx,
    call_id: &CallId,
    party_id: &str,
    kind: PartyKind,
    display_name: &str,
    state: PartyState,
    device_id: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO call_parties (call_id, party_id, position, kind, display_name, state, device_id, joined_at) \
         VALUES ($1, $2, (SELECT COUNT(*) FROM call_parties WHERE call_id = $1), $3, $4, $5, $6, $7)",
    )
    .bind(call_id)
    .bind(party_id)
    .bind(kind)
    .bind(display_name)
    .bind(state)
    .bind(device_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get<E: Exec>(executor: E, id: &CallId) -> Result<Option<CallRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM calls WHERE id = $1");
    crate::db::query_as::<CallRow>(sql)
        .bind(id)
        .fetch_optional(executor)
        .await
}

pub async fn parties<E: Exec>(
    executor: E,
    call_id: &CallId,
) -> Result<Vec<CallPartyRow>, StoreError> {
    let sql =
        format!("SELECT {PARTY_COLUMNS} FROM call_parties WHERE call_id = $1 ORDER BY position");
    crate::db::query_as::<CallPartyRow>(sql)
        .bind(call_id)
        .fetch_all(executor)
        .await
}

/// The call a click-to-call token belongs to.
pub async fn by_caller_token<E: Exec>(
    executor: E,
    token_hash: &str,
) -> Result<Option<CallRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM calls WHERE caller_token_hash = $1");
    crate::db::query_as::<CallRow>(sql)
        .bind(token_hash)
        .fetch_optional(executor)
        .await
}

/// Calls not ended in which `party_id` has not left, newest first.
pub async fn active_for_party<E: Exec>(
    executor: E,
    party_id: &str,
) -> Result<Vec<CallRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM calls WHERE state <> 'ended' AND id IN \
         (SELECT call_id FROM call_parties WHERE party_id = $1 AND state <> 'left') ORDER BY created_at DESC"
    );
    crate::db::query_as::<CallRow>(sql)
        .bind(party_id)
        .fetch_all(executor)
        .await
}

/// The interaction's contact call that has not ended.
pub async fn contact_call_of<E: Exec>(
    executor: E,
    interaction_id: &InteractionId,
) -> Result<Option<CallRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM calls WHERE interaction_id = $1 AND kind = 'contact' AND state <> 'ended' \
         ORDER BY created_at DESC LIMIT 1"
    );
    crate::db::query_as::<CallRow>(sql)
        .bind(interaction_id)
        .fetch_optional(executor)
        .await
}

/// Consultation calls of a contact call that have not ended.
pub async fn open_consultations<E: Exec>(
    executor: E,
    contact_call_id: &CallId,
) -> Result<Vec<CallRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM calls WHERE contact_call_id = $1 AND state <> 'ended' ORDER BY created_at"
    );
    crate::db::query_as::<CallRow>(sql)
        .bind(contact_call_id)
        .fetch_all(executor)
        .await
}

/// Ringing calls whose ring time-out has passed.
pub async fn ring_expired<E: Exec>(executor: E, now: i64) -> Result<Vec<CallId>, StoreError> {
    crate::db::query_scalar::<CallId>(
        "SELECT id FROM calls WHERE state = 'ringing' AND ring_expires_at <= $1 LIMIT 100",
    )
    .bind(now)
    .fetch_all(executor)
    .await
}

/// Contact calls whose contact waits on hold.
pub async fn held_contact_calls<E: Exec>(executor: E) -> Result<Vec<CallRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM calls WHERE kind = 'contact' AND state <> 'ended' AND hold_started_at IS NOT NULL"
    );
    crate::db::query_as::<CallRow>(sql)
        .fetch_all(executor)
        .await
}

pub async fn answer(conn: &mut WriteTx, id: &CallId, now: i64) -> Result<(), StoreError> {
    crate::db::query("UPDATE calls SET state = 'active', answered_at = COALESCE(answered_at, $2), ring_expires_at = NULL WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn end(
    conn: &mut WriteTx,
    id: &CallId,
    reason: &str,
    now: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE calls SET state = 'ended', ended_at = $3, ended_reason = $2, hold_started_at = NULL, \
         ring_expires_at = NULL WHERE id = $1 AND state <> 'ended'",
    )
    .bind(id)
    .bind(reason)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets or clears the hold start of a contact call.
pub async fn set_hold(
    conn: &mut WriteTx,
    id: &CallId,
    since: Option<i64>,
) -> Result<(), StoreError> {
    crate::db::query("UPDATE calls SET hold_started_at = $2, orphaned_since = NULL WHERE id = $1")
        .bind(id)
        .bind(since)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_orphaned_since(
    conn: &mut WriteTx,
    id: &CallId,
    since: Option<i64>,
) -> Result<(), StoreError> {
    crate::db::query("UPDATE calls SET orphaned_since = $2 WHERE id = $1")
        .bind(id)
        .bind(since)
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves a party to `state`; `device_id` is kept unless a new one is given.
pub async fn set_party(
    conn: &mut WriteTx,
    call_id: &CallId,
    party_id: &str,
    state: PartyState,
    device_id: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE call_parties SET state = $3, device_id = COALESCE($4, device_id), \
         left_at = CASE WHEN $3 = 'left' THEN $5 ELSE left_at END WHERE call_id = $1 AND party_id = $2",
    )
    .bind(call_id)
    .bind(party_id)
    .bind(state)
    .bind(device_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Since when the contact of an interaction's contact call has been on hold
/// (unix ms); none when no call of it holds its contact.
pub async fn held_since<E: Exec>(
    executor: E,
    interaction_id: &InteractionId,
) -> Result<Option<i64>, StoreError> {
    crate::db::query_scalar::<Option<i64>>(
        "SELECT MIN(hold_started_at) FROM calls WHERE interaction_id = $1 AND kind = 'contact' \
         AND state <> 'ended'",
    )
    .bind(interaction_id)
    .fetch_one(executor)
    .await
}
