//! What the use-case areas share, one layer below `sessions`, `interactions`
//! and `voice`.
//!
//! The layering rule: those three areas depend on this module (and on
//! `stream`, `bus`, `hub`, `auth`, `error`, `text`), never on each other;
//! nothing here depends on them. What two areas both need moves down here.
//!
//! Layout: [`states`] (store enums as the wire shows them), [`access`] (the
//! sharing rule), [`views`] (an interaction's view and its consultations),
//! [`contacts`] (contact upsert, the history's search text), [`announce`]
//! (the agent's desktops and the platform's webhook hear of a change),
//! [`calls`] (the id of a contact call's caller), [`board`] (the
//! supervision board's change notices). Below: the JSON columns.

pub mod access;
pub mod announce;
pub mod board;
pub mod calls;
pub mod contacts;
pub mod states;
pub mod views;

use crate::error::{Result, ServiceError};

/// An audit entry as the wire shows it.
pub(crate) fn audit_entry(
    row: backline_store::rows::AuditRow,
) -> backline_protocol::interactions::AuditEntry {
    backline_protocol::interactions::AuditEntry {
        id: row.id,
        ts: row.ts,
        actor_id: row.actor_id,
        action: row.action,
        resource: row.resource,
        allowed: row.allowed != 0,
        detail: row.detail,
    }
}

/// Who an audit entry names for a change made by `by`: the administrator,
/// or `system` for the operator's command line and the workers.
pub(crate) fn actor(by: Option<&crate::auth::Account>) -> String {
    by.map_or_else(|| "system".to_owned(), |a| a.id.to_string())
}

/// Writes one audit entry of an administrator's (or the system's) change,
/// in the change's own write.
pub(crate) async fn audit_change(
    conn: &mut backline_store::WriteTx,
    actor: &str,
    action: &str,
    resource: &str,
    detail: &str,
    ts: i64,
) -> Result<()> {
    backline_store::audit::insert(
        conn,
        backline_store::audit::NewAudit {
            id: &uuid::Uuid::now_v7().to_string(),
            ts,
            actor_id: actor,
            action,
            resource,
            allowed: true,
            detail,
        },
    )
    .await?;
    Ok(())
}

/// One audit entry, written in a write of its own (a refusal or a read, with
/// no change to write it with).
pub(crate) struct AuditEntry {
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub allowed: bool,
    pub detail: String,
}

impl crate::Backline {
    pub(crate) async fn audit_alone(&self, entry: AuditEntry) -> Result<()> {
        self.commit(move |conn| {
            Box::pin(async move {
                backline_store::audit::insert(
                    conn,
                    backline_store::audit::NewAudit {
                        id: &uuid::Uuid::now_v7().to_string(),
                        ts: backline_store::now_ms(),
                        actor_id: &entry.actor,
                        action: &entry.action,
                        resource: &entry.resource,
                        allowed: entry.allowed,
                        detail: &entry.detail,
                    },
                )
                .await?;
                Ok(((), Vec::new()))
            })
        })
        .await
    }
}

/// A value as the text of a JSON column.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| ServiceError::Internal(e.into()))
}

/// A JSON column's list; empty when the text does not parse.
pub(crate) fn parse_list<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}
