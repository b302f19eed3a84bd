//! Interactions, contacts, contact history, the platform (integration) API
//! and the webhook events they produce.
//!
//! The sharing rule that guards an interaction's data ([`Access`],
//! `Backline::interaction_access`), an interaction's view and its
//! consultations, contact upserts, re-indexing and webhooks live one layer
//! down, in [`shared`](crate::shared): the other areas use them too.
//!
//! Layout: `integrations` (credentials and their tokens), `platform` (the
//! platform API: contacts, create / update / end an interaction),
//! `workspace` (an agent's interactions, *Done*, the contact), `history`
//! (the contact's history, searched), `admin` (the audit log, imports).

mod admin;
mod history;
mod integrations;
mod platform;
mod workspace;

pub use crate::shared::access::Access;
pub use admin::HistoryRecord;
pub(crate) use history::attached_transcript;
pub use history::HistorySearch;
pub use integrations::Integration;

use backline_protocol::interactions::ContactView;
use backline_store::rows::ContactRow;

use crate::shared::parse_list;

pub(crate) fn contact_view(row: &ContactRow) -> ContactView {
    ContactView {
        id: row.id.to_string(),
        external_id: row.external_id.clone(),
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        phones: parse_list(&row.phones),
        emails: parse_list(&row.emails),
        attributes: parse_list(&row.attributes),
    }
}
