//! Telling of an interaction's change inside the current write: the
//! assigned agent's desktops (a stream event) and the platform (a webhook
//! event in the outbox, committed with the change).

use backline_protocol::events::EventBody;
use backline_protocol::interactions::{ConsultationView, WebhookEvent};
use backline_protocol::ErrorCode;
use backline_store::rows::InteractionRow;
use backline_store::WriteTx;
use backline_store::{integrations, interactions, outbox, users};

use crate::bus::BusMessage;
use crate::error::{err, Result};
use crate::shared::access::Access;
use crate::shared::json;
use crate::shared::views::load_view;
use crate::stream::emit;

/// Tells the assigned agent's desktops of the interaction's new state and
/// queues the platform's webhook, inside the current write.
pub(crate) async fn announce(
    conn: &mut WriteTx,
    out: &mut Vec<BusMessage>,
    interaction_id: &str,
    webhook_event: &str,
    now: i64,
) -> Result<()> {
    let row = interactions::get(&mut *conn, interaction_id)
        .await?
        .ok_or_else(|| err(ErrorCode::InteractionNotFound, "interaction vanished"))?;
    if let Some(agent) = &row.agent_id {
        if users::get(&mut *conn, agent).await?.is_some() {
            let interaction = load_view(conn, interaction_id, Access::Owner).await?;
            emit(
                conn,
                out,
                agent,
                now,
                &EventBody::Interaction { interaction },
            )
            .await?;
        }
    }
    enqueue_webhook(conn, &row, webhook_event, None, None, now).await
}

/// Queues a webhook event for the interaction's integration (when it has a webhook).
pub(crate) async fn enqueue_webhook(
    conn: &mut WriteTx,
    interaction: &InteractionRow,
    event_type: &str,
    consultation: Option<ConsultationView>,
    transcript: Option<String>,
    now: i64,
) -> Result<()> {
    let Some(integration_id) = &interaction.integration_id else {
        return Ok(());
    };
    let Some(integration) = integrations::get(&mut *conn, integration_id).await? else {
        return Ok(());
    };
    if integration.webhook_url.is_none() {
        return Ok(());
    }
    let event = WebhookEvent {
        id: uuid::Uuid::now_v7().to_string(),
        event_type: event_type.to_owned(),
        ts: now,
        interaction_id: interaction.id.clone(),
        interaction_external_id: interaction.external_id.clone(),
        consultation,
        transcript,
    };
    outbox::enqueue(
        conn,
        &event.id,
        integration_id,
        &interaction.id,
        event_type,
        &json(&event)?,
        now,
    )
    .await?;
    Ok(())
}
