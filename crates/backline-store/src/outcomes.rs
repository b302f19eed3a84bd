//! What consultations about interactions came to, recorded by their initiators.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::{SessionId, UserId};
use crate::rows::OutcomeRow;
use crate::types::ConsultationOutcome;
use crate::StoreError;

/// Records (or replaces) a consultation's outcome.
pub async fn record(
    conn: &mut WriteTx,
    session_id: &SessionId,
    outcome: ConsultationOutcome,
    note: Option<&str>,
    recorded_by: &UserId,
    at: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO consultation_outcomes (session_id, outcome, note, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id) DO UPDATE \
         SET outcome = excluded.outcome, note = excluded.note, recorded_by = excluded.recorded_by, \
             recorded_at = excluded.recorded_at",
    )
    .bind(session_id)
    .bind(outcome)
    .bind(note)
    .bind(recorded_by)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get<E: Exec>(
    executor: E,
    session_id: &SessionId,
) -> Result<Option<OutcomeRow>, StoreError> {
    crate::db::query_as::<OutcomeRow>(
        "SELECT session_id, outcome, note, recorded_by, recorded_at FROM consultation_outcomes \
         WHERE session_id = $1",
    )
    .bind(session_id)
    .fetch_optional(executor)
    .await
}
