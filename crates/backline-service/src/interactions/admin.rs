//! For administrators: the audit log, and the CLI's imports of contacts and
//! past interactions.

use backline_protocol::admin::AuditQuery;
use backline_protocol::interactions::{AuditEntry, ContactInput, ContactView, Media};
use backline_protocol::ErrorCode;
use backline_store::{audit, contacts, interactions, InteractionId};

use crate::error::{err, Result};
use crate::shared::contacts::reindex;
use crate::Backline;

/// A filter value: absent when empty, else at most `max` bytes.
fn filter_text(field: &str, value: Option<String>, max: usize) -> Result<Option<String>> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.len() > max => Err(err(
            ErrorCode::InvalidRequest,
            format!("{field}: at most {max} bytes"),
        )),
        other => Ok(other),
    }
}

impl Backline {
    /// The audit entries a query keeps, newest first (administrators): any
    /// of the comma-separated `action`s, one `actor` (an account id,
    /// `integration:<id>`, `address:<ip>` or `system`), one `resource`
    /// (`interaction:<id>`, `user:<id>` …), refused or allowed ones, a time
    /// range `[from, to)`, the page after the entry `before`; `limit` 1–500.
    pub async fn audit_search(&self, query: AuditQuery) -> Result<Vec<AuditEntry>> {
        let actions: Vec<String> = filter_text("action", query.action, 2000)?
            .map(|text| {
                text.split(',')
                    .map(|a| a.trim().to_owned())
                    .filter(|a| !a.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if actions.len() > 50 {
            return Err(err(ErrorCode::InvalidRequest, "action: at most 50 actions"));
        }
        if let (Some(from), Some(to)) = (query.from, query.to) {
            if from > to {
                return Err(err(
                    ErrorCode::InvalidRequest,
                    "from: not after to (the range is [from, to), unix ms)",
                ));
            }
        }
        let before = filter_text("before", query.before, 64)?;
        if let Some(before) = &before {
            if !audit::exists(self.store().reader(), before).await? {
                return Err(err(
                    ErrorCode::InvalidRequest,
                    format!("before: no audit entry {before:?}"),
                ));
            }
        }
        let limit = match query.limit {
            None => 500,
            Some(n) if (1..=500).contains(&n) => n,
            Some(_) => return Err(err(ErrorCode::InvalidRequest, "limit: 1 to 500")),
        };
        let filter = audit::AuditFilter {
            actions,
            actor_id: filter_text("actor", query.actor, 300)?,
            resource: filter_text("resource", query.resource, 300)?,
            allowed: query.allowed,
            from: query.from,
            to: query.to,
            before,
        };
        Ok(
            audit::search(self.store().reader(), &filter, i64::from(limit))
                .await?
                .into_iter()
                .map(crate::shared::audit_entry)
                .collect(),
        )
    }

    /// The audit log, newest first (administrators).
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        Ok(audit::recent(self.store().reader(), limit.clamp(1, 1000))
            .await?
            .into_iter()
            .map(crate::shared::audit_entry)
            .collect())
    }

    /// Imports a contact (CLI import; matched by external id).
    pub async fn import_contact(&self, input: ContactInput) -> Result<ContactView> {
        self.platform_upsert_contact(input).await
    }

    /// Imports one past interaction of a contact (CLI import).
    pub async fn import_history(&self, record: HistoryRecord) -> Result<String> {
        if record.subject.chars().count() > 500 {
            return Err(err(
                ErrorCode::InvalidRequest,
                "subject: at most 500 characters",
            ));
        }
        let contact = contacts::by_external_id(self.store().reader(), &record.contact_external_id)
            .await?
            .ok_or_else(|| {
                err(
                    ErrorCode::ContactNotFound,
                    format!(
                        "no contact with external id {:?}",
                        record.contact_external_id
                    ),
                )
            })?;
        let agent_id = match &record.agent {
            Some(agent) if !agent.is_empty() => Some(self.find_user(agent).await?.id),
            _ => None,
        };
        let id = InteractionId::from(uuid::Uuid::now_v7().to_string());
        let iid = id.clone();
        self.commit(move |conn| {
            Box::pin(async move {
                interactions::insert(
                    conn,
                    interactions::NewInteraction {
                        id: &iid,
                        integration_id: None,
                        external_id: record.external_id.as_deref(),
                        media: record.media.as_str(),
                        state: "ended",
                        agent_id: agent_id.as_ref(),
                        contact_id: Some(&contact.id),
                        subject: &record.subject,
                        case_data: "[]",
                        outcome: record.outcome.as_deref(),
                        notes: record.notes.as_deref(),
                        created_at: record.started_at,
                        ended_at: Some(record.started_at),
                    },
                )
                .await?;
                // Past interactions are history, not work: they never enter a workspace.
                interactions::set_agent_done(conn, &iid).await?;
                if let Some(text) = record
                    .transcript
                    .as_deref()
                    .filter(|t| !t.trim().is_empty())
                {
                    interactions::attach_transcript(
                        conn,
                        &iid,
                        None,
                        "Transcript",
                        text,
                        record.started_at,
                    )
                    .await?;
                }
                reindex(conn, &iid).await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        Ok(id.into_string())
    }
}

/// A past interaction to import.
#[derive(Debug, Clone)]
pub struct HistoryRecord {
    pub contact_external_id: String,
    pub external_id: Option<String>,
    pub media: Media,
    pub started_at: i64,
    pub agent: Option<String>,
    pub subject: String,
    pub outcome: Option<String>,
    pub notes: Option<String>,
    pub transcript: Option<String>,
}
