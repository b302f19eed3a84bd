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
//! [`calls`] (the id of a contact call's caller). Below: the JSON columns.

pub mod access;
pub mod announce;
pub mod calls;
pub mod contacts;
pub mod states;
pub mod views;

use crate::error::{Result, ServiceError};

/// A value as the text of a JSON column.
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

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| ServiceError::Internal(e.into()))
}

/// A JSON column's list; empty when the text does not parse.
pub(crate) fn parse_list<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}
