//! Redaction: an administrator replaces a message's text. The entry keeps its
//! seq; who redacted it and when are kept with it and in the audit log; every
//! participant's desktops get the new entry live; the stored stream events
//! that carried the text (its transcript event, the sessions' latest
//! message) are rewritten, so no replay shows it again; for a consultation,
//! the transcript attached to the interaction is rendered again and re-indexed,
//! and the `consultation.transcript_attached` webhooks kept in the outbox
//! (waiting, or sent and open to a redelivery) carry the new rendering.

use backline_protocol::events::EventBody;
use backline_protocol::interactions::WebhookEvent;
use backline_protocol::model::TranscriptEntry;
use backline_protocol::ErrorCode;
use backline_store::{audit, events, interactions, outbox, sessions, transcript, Locks, WriteTx};
use backline_store::{InteractionId, SessionId, UserId};

use super::tx::{render_transcript, Tx};
use super::views::entry_from_row;
use crate::auth::Account;
use crate::error::{err, Result};
use crate::shared::contacts::reindex;
use crate::Backline;

/// Longest reason kept in the audit log, in bytes.
const MAX_REASON_BYTES: usize = 1000;

impl Backline {
    /// Redacts message `seq` of a session (administrators only). Redacting
    /// a message already redacted answers it as it is, without a new audit entry.
    pub async fn redact_message(
        &self,
        caller: &Account,
        session_id: &str,
        seq: u64,
        reason: Option<String>,
    ) -> Result<TranscriptEntry> {
        let session_id = &SessionId::from(session_id.to_owned());
        if !caller.is_admin() {
            return Err(err(
                ErrorCode::Forbidden,
                "only administrators redact messages",
            ));
        }
        let reason = reason.unwrap_or_default();
        if reason.len() > MAX_REASON_BYTES || reason.contains('\0') {
            return Err(err(
                ErrorCode::InvalidRequest,
                format!("reason: at most {MAX_REASON_BYTES} bytes, no NUL"),
            ));
        }
        let (sid, admin, seq) = (session_id.to_owned(), caller.clone(), seq as i64);
        self.commit_locking(Locks::session(session_id), move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                let session = sessions::get(&mut *tx.conn, &sid).await?.ok_or_else(|| {
                    err(ErrorCode::SessionNotFound, format!("no session {sid:?}"))
                })?;
                let not_found = || {
                    err(
                        ErrorCode::MessageNotFound,
                        format!("session {sid:?} has no message {seq}"),
                    )
                };
                let entry = transcript::get(&mut *tx.conn, &sid, seq)
                    .await?
                    .filter(|e| e.kind == "message")
                    .ok_or_else(not_found)?;
                if entry.redacted_at.is_some() {
                    return tx.done(entry_from_row(entry));
                }
                transcript::redact(tx.conn, &sid, seq, "", &admin.id, tx.now).await?;
                audit::insert(
                    tx.conn,
                    audit::NewAudit {
                        id: &uuid::Uuid::now_v7().to_string(),
                        ts: tx.now,
                        actor_id: admin.id.as_str(),
                        action: "redact_message",
                        resource: &format!("session:{sid}/message:{seq}"),
                        allowed: true,
                        detail: &format!(
                            "message by {} ({}) redacted; reason: {}",
                            entry.actor_name, entry.actor_id, reason
                        ),
                    },
                )
                .await?;
                let entry = transcript::get(&mut *tx.conn, &sid, seq)
                    .await?
                    .ok_or_else(not_found)?;
                let entry = entry_from_row(entry);
                let participants: Vec<UserId> = sessions::participants(&mut *tx.conn, &sid)
                    .await?
                    .into_iter()
                    .map(|p| p.user_id)
                    .collect();
                scrub_stream(tx.conn, &participants, &entry).await?;
                tx.emit_to_all(
                    &participants,
                    EventBody::TranscriptRedacted {
                        session_id: sid.to_string(),
                        entry: entry.clone(),
                    },
                )
                .await?;
                // A consultation's transcript attached to its interaction
                // (and so the contact's history and its search) follows.
                if let Some(parent) = &session.parent_interaction_id {
                    let entries =
                        transcript::page(&mut *tx.conn, &sid, 0, i64::MAX, 100_000, false).await?;
                    let text = render_transcript(&entries);
                    if interactions::replace_attached_transcript(tx.conn, parent, &sid, &text)
                        .await?
                    {
                        reindex(tx.conn, parent).await?;
                    }
                    scrub_webhooks(tx.conn, parent, &sid, &text).await?;
                }
                tx.done(entry)
            })
        })
        .await
    }
}

/// Rewrites the participants' stored events that carried the redacted
/// message (from its commit on), putting the redacted entry in its place.
async fn scrub_stream(
    conn: &mut WriteTx,
    participants: &[UserId],
    redacted: &TranscriptEntry,
) -> Result<()> {
    let sid = redacted.session_id.as_str();
    for (user, seq, payload) in events::mentioning(conn, participants, redacted.ts, sid).await? {
        let Ok(mut body) = serde_json::from_str::<EventBody>(&payload) else {
            continue;
        };
        if scrub(&mut body, redacted) {
            let payload = serde_json::to_string(&body)
                .map_err(|e| crate::ServiceError::Internal(e.into()))?;
            events::replace_payload(conn, &user, seq, &payload).await?;
        }
    }
    Ok(())
}

/// Puts the transcript rendered again into the consultation's
/// `consultation.transcript_attached` events still kept in the outbox.
async fn scrub_webhooks(
    conn: &mut WriteTx,
    interaction_id: &InteractionId,
    session_id: &SessionId,
    text: &str,
) -> Result<()> {
    let Some(integration_id) = interactions::get(&mut *conn, interaction_id)
        .await?
        .and_then(|interaction| interaction.integration_id)
    else {
        return Ok(());
    };
    let kept = outbox::payloads_of(
        conn,
        &integration_id,
        interaction_id,
        "consultation.transcript_attached",
    )
    .await?;
    for (id, payload) in kept {
        let Ok(mut event) = serde_json::from_str::<WebhookEvent>(&payload) else {
            continue;
        };
        let about_this_session = event
            .consultation
            .as_ref()
            .is_some_and(|c| c.session_id == session_id.as_str());
        if about_this_session && event.transcript.as_deref() != Some(text) {
            event.transcript = Some(text.to_owned());
            let payload = serde_json::to_string(&event)
                .map_err(|e| crate::ServiceError::Internal(e.into()))?;
            outbox::replace_payload(conn, &id, &payload).await?;
        }
    }
    Ok(())
}

/// Puts `redacted` in place of the entry with its seq in `body`; true when
/// `body` carried it.
fn scrub(body: &mut EventBody, redacted: &TranscriptEntry) -> bool {
    let replace = |slot: &mut TranscriptEntry| {
        let hit = slot.seq == redacted.seq;
        if hit {
            *slot = redacted.clone();
        }
        hit
    };
    match body {
        EventBody::Transcript { session_id, entry } if *session_id == redacted.session_id => {
            replace(entry)
        }
        EventBody::Session { session } if session.id == redacted.session_id => {
            session.last_message.as_mut().is_some_and(replace)
        }
        _ => false,
    }
}
