//! Telling of an interaction's change inside the current write: the
//! assigned agent's desktops (a stream event) and the platform (a webhook
//! event in the outbox, committed with the change).

use backline_protocol::events::EventBody;
use backline_protocol::interactions::{ConsultationView, WebhookEvent};
use backline_protocol::ErrorCode;
use backline_store::rows::InteractionRow;
use backline_store::WriteTx;
use backline_store::{integrations, interactions, outbox, users, InteractionId};

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
    interaction_id: &InteractionId,
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
    debug_assert!(
        backline_protocol::interactions::WEBHOOK_EVENTS
            .iter()
            .any(|e| e.name == event_type),
        "webhook event {event_type} is not listed in WEBHOOK_EVENTS"
    );
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
        interaction_id: interaction.id.to_string(),
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

#[cfg(test)]
mod tests {
    use backline_protocol::interactions::WEBHOOK_EVENTS;

    /// Every webhook type named in the service's source, and every reason a
    /// voice consultation is ended with (its `voice_consultation.<reason>`).
    fn emitted() -> Vec<String> {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("read src") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(std::fs::read_to_string(&path).expect("read source"));
                }
            }
        }
        let mut sources = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut sources,
        );
        let mut found = Vec::new();
        for source in &sources {
            for piece in source.split('"').skip(1).step_by(2) {
                let is_type = ["interaction.", "consultation.", "voice_consultation."]
                    .iter()
                    .any(|p| piece.starts_with(p))
                    && !piece.ends_with('.')
                    && piece
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.');
                if is_type {
                    found.push(piece.to_owned());
                }
            }
            // `tx.end(&call, "<reason>", …)`: a consultation call's end is
            // `voice_consultation.<reason>`; `abandoned` ends contact calls only.
            for rest in source.split(".end(&call, \"").skip(1) {
                let reason = rest.split('"').next().unwrap_or_default();
                let literal = !reason.is_empty()
                    && reason.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                if literal && reason != "abandoned" {
                    found.push(format!("voice_consultation.{reason}"));
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }

    #[test]
    fn every_emitted_webhook_type_is_listed() {
        let emitted = emitted();
        // The scan itself must see the service's events.
        assert!(emitted.len() >= 20, "{emitted:?}");
        for name in &emitted {
            assert!(
                WEBHOOK_EVENTS.iter().any(|e| e.name == name),
                "{name} is sent but not listed in WEBHOOK_EVENTS"
            );
        }
        for listed in WEBHOOK_EVENTS {
            assert!(
                emitted.iter().any(|e| e == listed.name),
                "{} is listed but never sent",
                listed.name
            );
        }
    }
}
