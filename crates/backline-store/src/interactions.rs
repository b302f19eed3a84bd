//! Interactions, their attached transcripts, and full-text search over a
//! contact's history (the only backend-specific SQL: FTS5 on SQLite,
//! tsvector on PostgreSQL).

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::{ContactId, IntegrationId, InteractionId, SessionId, UserId};

use crate::rows::{AttachedTranscriptRow, InteractionRow};
use crate::{Backend, StoreError};

const SELECT: &str = "SELECT i.id, i.integration_id, i.external_id, i.media, i.state, i.agent_id, \
     a.display_name AS agent_name, i.contact_id, c.first_name AS contact_first_name, \
     c.last_name AS contact_last_name, i.subject, i.case_data, i.outcome, i.notes, i.agent_done, \
     i.created_at, i.ended_at \
     FROM interactions i LEFT JOIN users a ON a.id = i.agent_id LEFT JOIN contacts c ON c.id = i.contact_id";

/// A new interaction.
pub struct NewInteraction<'a> {
    pub id: &'a InteractionId,
    pub integration_id: Option<&'a IntegrationId>,
    pub external_id: Option<&'a str>,
    pub media: &'a str,
    pub state: &'a str,
    pub agent_id: Option<&'a UserId>,
    pub contact_id: Option<&'a ContactId>,
    pub subject: &'a str,
    pub case_data: &'a str,
    pub outcome: Option<&'a str>,
    pub notes: Option<&'a str>,
    pub created_at: i64,
    pub ended_at: Option<i64>,
}

pub async fn insert(conn: &mut WriteTx, new: NewInteraction<'_>) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO interactions (id, integration_id, external_id, media, state, agent_id, contact_id, \
         subject, case_data, outcome, notes, created_at, ended_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(new.id)
    .bind(new.integration_id)
    .bind(new.external_id)
    .bind(new.media)
    .bind(new.state)
    .bind(new.agent_id)
    .bind(new.contact_id)
    .bind(new.subject)
    .bind(new.case_data)
    .bind(new.outcome)
    .bind(new.notes)
    .bind(new.created_at)
    .bind(new.ended_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get<E: Exec>(
    executor: E,
    id: &InteractionId,
) -> Result<Option<InteractionRow>, StoreError> {
    let sql = format!("{SELECT} WHERE i.id = $1");
    crate::db::query_as::<InteractionRow>(sql)
        .bind(id)
        .fetch_optional(executor)
        .await
}

pub async fn by_external_id<E: Exec>(
    executor: E,
    integration_id: &IntegrationId,
    external_id: &str,
) -> Result<Option<InteractionRow>, StoreError> {
    let sql = format!("{SELECT} WHERE i.integration_id = $1 AND i.external_id = $2");
    crate::db::query_as::<InteractionRow>(sql)
        .bind(integration_id)
        .bind(external_id)
        .fetch_optional(executor)
        .await
}

/// The interactions in an agent's workspace (not closed with *Done*), newest first.
pub async fn workspace<E: Exec>(
    executor: E,
    agent_id: &UserId,
) -> Result<Vec<InteractionRow>, StoreError> {
    let sql = format!(
        "{SELECT} WHERE i.agent_id = $1 AND i.agent_done = 0 ORDER BY i.created_at DESC LIMIT 100"
    );
    crate::db::query_as::<InteractionRow>(sql)
        .bind(agent_id)
        .fetch_all(executor)
        .await
}

pub async fn update(
    conn: &mut WriteTx,
    id: &InteractionId,
    subject: &str,
    case_data: &str,
) -> Result<(), StoreError> {
    crate::db::query("UPDATE interactions SET subject = $2, case_data = $3 WHERE id = $1")
        .bind(id)
        .bind(subject)
        .bind(case_data)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn end(
    conn: &mut WriteTx,
    id: &InteractionId,
    outcome: Option<&str>,
    notes: Option<&str>,
    at: i64,
) -> Result<(), StoreError> {
    crate::db::query("UPDATE interactions SET state = 'ended', outcome = $2, notes = $3, ended_at = $4 WHERE id = $1")
        .bind(id)
        .bind(outcome)
        .bind(notes)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_agent_done(conn: &mut WriteTx, id: &InteractionId) -> Result<(), StoreError> {
    crate::db::query("UPDATE interactions SET agent_done = 1 WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Attaches a transcript at the end of the interaction's list; false when
/// the session's transcript was attached already.
/// Replaces the text of the transcript attached for `session_id` (after a
/// redaction); false when none is attached.
pub async fn replace_attached_transcript(
    conn: &mut WriteTx,
    interaction_id: &InteractionId,
    session_id: &SessionId,
    body: &str,
) -> Result<bool, StoreError> {
    let changed = crate::db::query(
        "UPDATE interaction_transcripts SET body = $3 WHERE interaction_id = $1 AND session_id = $2",
    )
    .bind(interaction_id)
    .bind(session_id)
    .bind(body)
    .execute(conn)
    .await?;
    Ok(changed.rows_affected() > 0)
}

pub async fn attach_transcript(
    conn: &mut WriteTx,
    interaction_id: &InteractionId,
    session_id: Option<&str>,
    title: &str,
    body: &str,
    at: i64,
) -> Result<bool, StoreError> {
    if let Some(session_id) = session_id {
        let existing = crate::db::query_scalar::<i64>(
            "SELECT COUNT(*) FROM interaction_transcripts WHERE interaction_id = $1 AND session_id = $2",
        )
        .bind(interaction_id)
        .bind(session_id)
        .fetch_one(&mut *conn)
        .await?;
        if existing > 0 {
            return Ok(false);
        }
    }
    crate::db::query(
        "INSERT INTO interaction_transcripts (interaction_id, position, session_id, title, body, attached_at) \
         VALUES ($1, (SELECT COUNT(*) FROM interaction_transcripts WHERE interaction_id = $1), $2, $3, $4, $5)",
    )
    .bind(interaction_id)
    .bind(session_id)
    .bind(title)
    .bind(body)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Transcripts attached to any of `ids`, in order, with their consultations' outcomes.
pub async fn transcripts<E: Exec>(
    executor: E,
    ids: &[InteractionId],
) -> Result<Vec<AttachedTranscriptRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT t.interaction_id, t.position, t.session_id, t.title, t.body, t.attached_at, \
                o.outcome, o.note AS outcome_note \
         FROM interaction_transcripts t LEFT JOIN consultation_outcomes o ON o.session_id = t.session_id \
         WHERE t.interaction_id IN ({}) ORDER BY t.interaction_id, t.position",
        crate::placeholders(ids.len())
    );
    let mut query = crate::db::query_as::<AttachedTranscriptRow>(sql);
    for id in ids {
        query = query.bind(id.as_str());
    }
    query.fetch_all(executor).await
}

/// Replaces the searchable text of an interaction (already folded by the caller).
pub async fn index_for_search(
    conn: &mut WriteTx,
    interaction_id: &InteractionId,
    folded_text: &str,
) -> Result<(), StoreError> {
    match conn.backend() {
        Backend::Sqlite => {
            crate::db::query("DELETE FROM history_fts WHERE interaction_id = $1")
                .bind(interaction_id)
                .execute(&mut *conn)
                .await?;
            crate::db::query("INSERT INTO history_fts (interaction_id, body) VALUES ($1, $2)")
                .bind(interaction_id)
                .bind(folded_text)
                .execute(conn)
                .await?;
        }
        Backend::Postgres => {
            crate::db::query(
                "INSERT INTO history_fts (interaction_id, body) VALUES ($1, $2) \
                 ON CONFLICT (interaction_id) DO UPDATE SET body = excluded.body",
            )
            .bind(interaction_id)
            .bind(folded_text)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// What to look for in a contact's history.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub contact_id: ContactId,
    pub media: Option<String>,
    /// Unix ms, inclusive.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub agent_id: Option<UserId>,
    /// Folded search words (letters and digits only); each must match as a prefix.
    pub words: Vec<String>,
    pub limit: i64,
}

/// A contact's interactions matching `query`, newest first.
pub async fn history<E: Exec>(
    executor: E,
    backend: Backend,
    query: &HistoryQuery,
) -> Result<Vec<InteractionRow>, StoreError> {
    let mut sql = format!("{SELECT} WHERE i.contact_id = $1");
    let mut binds: Vec<String> = vec![query.contact_id.as_str().to_owned()];
    // Placeholders are numbered as they are appended: every text condition
    // comes before every number, so the two bind lists keep that order.
    let mut numbers: Vec<i64> = Vec::new();
    let mut next = 2;
    if let Some(media) = &query.media {
        sql.push_str(&format!(" AND i.media = ${next}"));
        binds.push(media.clone());
        next += 1;
    }
    if let Some(agent) = &query.agent_id {
        sql.push_str(&format!(" AND i.agent_id = ${next}"));
        binds.push(agent.as_str().to_owned());
        next += 1;
    }
    if !query.words.is_empty() {
        let (condition, pattern) = match backend {
            Backend::Sqlite => (
                format!("i.id IN (SELECT interaction_id FROM history_fts WHERE history_fts MATCH ${next})"),
                query.words.iter().map(|w| format!("\"{w}\"*")).collect::<Vec<_>>().join(" "),
            ),
            Backend::Postgres => (
                format!(
                    "i.id IN (SELECT interaction_id FROM history_fts WHERE document @@ to_tsquery('simple', ${next}))"
                ),
                query.words.iter().map(|w| format!("{w}:*")).collect::<Vec<_>>().join(" & "),
            ),
        };
        sql.push_str(" AND ");
        sql.push_str(&condition);
        binds.push(pattern);
        next += 1;
    }
    if let Some(from) = query.from {
        sql.push_str(&format!(" AND i.created_at >= ${next}"));
        numbers.push(from);
        next += 1;
    }
    if let Some(to) = query.to {
        sql.push_str(&format!(" AND i.created_at <= ${next}"));
        numbers.push(to);
        next += 1;
    }
    sql.push_str(&format!(" ORDER BY i.created_at DESC LIMIT ${next}"));
    numbers.push(query.limit.clamp(1, 500));
    let sql = sql;
    let mut prepared = crate::db::query_as::<InteractionRow>(sql);
    for text in &binds {
        prepared = prepared.bind(text.as_str());
    }
    for number in numbers {
        prepared = prepared.bind(number);
    }
    prepared.fetch_all(executor).await
}

/// Appends `line` to a running log kept with the interaction (one per `key`,
/// e.g. a call's steps), creating it with `title` on first use.
pub async fn append_log(
    conn: &mut WriteTx,
    interaction_id: &InteractionId,
    key: &str,
    title: &str,
    line: &str,
    at: i64,
) -> Result<(), StoreError> {
    let updated = crate::db::query(
        "UPDATE interaction_transcripts SET body = body || $3, updated_at = $4 \
         WHERE interaction_id = $1 AND session_id = $2",
    )
    .bind(interaction_id)
    .bind(key)
    .bind(format!("{line}\n"))
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        attach_transcript(
            conn,
            interaction_id,
            Some(key),
            title,
            &format!("{line}\n"),
            at,
        )
        .await?;
    }
    Ok(())
}

/// Reassigns an interaction to another agent (a completed transfer).
pub async fn set_agent(
    conn: &mut WriteTx,
    id: &InteractionId,
    agent_id: &UserId,
) -> Result<(), StoreError> {
    crate::db::query("UPDATE interactions SET agent_id = $2, agent_done = 0 WHERE id = $1")
        .bind(id)
        .bind(agent_id)
        .execute(conn)
        .await?;
    Ok(())
}
