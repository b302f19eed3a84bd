//! Contacts and the search text of their history, as every area writes them
//! inside its own write.

use backline_protocol::interactions::ContactInput;
use backline_store::WriteTx;
use backline_store::{contacts, interactions, ContactId, InteractionId};

use crate::error::Result;
use crate::shared::json;
use crate::text::fold;

/// Inserts or updates a contact inside a write; matched by external id when given.
pub(crate) async fn upsert_contact(
    conn: &mut WriteTx,
    input: &ContactInput,
    now: i64,
) -> Result<ContactId> {
    let phones = json(&input.phones)?;
    let emails = json(&input.emails)?;
    let attributes = json(&input.attributes)?;
    let fields = contacts::ContactFields {
        first_name: input.first_name.trim(),
        last_name: input.last_name.trim(),
        phones: &phones,
        emails: &emails,
        attributes: &attributes,
    };
    if let Some(external_id) = &input.external_id {
        if let Some(existing) = contacts::by_external_id(&mut *conn, external_id).await? {
            contacts::update(conn, &existing.id, &fields, now).await?;
            return Ok(existing.id);
        }
    }
    let id = ContactId::from(uuid::Uuid::now_v7().to_string());
    contacts::insert(conn, &id, input.external_id.as_deref(), &fields, now).await?;
    Ok(id)
}

/// Rebuilds the searchable text of an interaction: subject, outcome, notes,
/// agent and transcripts, folded for case- and accent-insensitive search.
pub(crate) async fn reindex(conn: &mut WriteTx, interaction_id: &InteractionId) -> Result<()> {
    let Some(row) = interactions::get(&mut *conn, interaction_id).await? else {
        return Ok(());
    };
    let attached =
        interactions::transcripts(&mut *conn, std::slice::from_ref(interaction_id)).await?;
    let mut text = format!(
        "{} {} {} {}",
        row.subject,
        row.outcome.as_deref().unwrap_or(""),
        row.notes.as_deref().unwrap_or(""),
        row.agent_name.as_deref().unwrap_or("")
    );
    for transcript in attached {
        text.push(' ');
        text.push_str(&transcript.title);
        text.push(' ');
        text.push_str(&transcript.body);
    }
    interactions::index_for_search(conn, interaction_id, &fold(&text)).await?;
    Ok(())
}
