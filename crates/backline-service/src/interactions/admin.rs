//! For administrators: the audit log, and the CLI's imports of contacts and
//! past interactions.

use backline_protocol::interactions::{AuditEntry, ContactInput, ContactView, Media};
use backline_protocol::ErrorCode;
use backline_store::{audit, contacts, interactions};

use crate::error::{err, Result};
use crate::shared::contacts::reindex;
use crate::Backline;

impl Backline {
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
        let id = uuid::Uuid::now_v7().to_string();
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
                        agent_id: agent_id.as_deref(),
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
        Ok(id)
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
