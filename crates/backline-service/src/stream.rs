//! The per-user event stream: appending inside a write, and reading for resume.

use backline_protocol::events::{EventBody, StreamEvent};
use backline_protocol::ErrorCode;
use backline_store::events;
use backline_store::{UserId, WriteTx};

use crate::bus::BusMessage;
use crate::error::{err, Result};
use crate::Backline;

/// Appends `body` to `user_id`'s stream inside the current write and queues
/// the bus message that delivers it after the commit.
pub(crate) async fn emit(
    conn: &mut WriteTx,
    out: &mut Vec<BusMessage>,
    user_id: &UserId,
    ts: i64,
    body: &EventBody,
) -> Result<u64> {
    let payload =
        serde_json::to_string(body).map_err(|e| crate::ServiceError::Internal(e.into()))?;
    let seq = events::append(conn, user_id, ts, &payload).await? as u64;
    out.push(BusMessage::Event {
        user: user_id.to_string(),
        seq,
        frame: event_frame(seq, ts, &payload),
    });
    Ok(seq)
}

/// Appends one event to several users' streams (serialised once, two statements).
pub(crate) async fn emit_many(
    conn: &mut WriteTx,
    out: &mut Vec<BusMessage>,
    user_ids: &[UserId],
    ts: i64,
    body: &EventBody,
) -> Result<()> {
    let payload =
        serde_json::to_string(body).map_err(|e| crate::ServiceError::Internal(e.into()))?;
    for (user, seq) in events::append_many(conn, user_ids, ts, &payload).await? {
        let seq = seq as u64;
        out.push(BusMessage::Event {
            frame: event_frame(seq, ts, &payload),
            user: user.into_string(),
            seq,
        });
    }
    Ok(())
}

/// The `event` frame for a stored payload, built without re-parsing it.
pub fn event_frame(seq: u64, ts: i64, payload: &str) -> String {
    format!(r#"{{"type":"event","seq":{seq},"ts":{ts},"event":{payload}}}"#)
}

/// Where a resume starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeFrom {
    /// Replay events after this seq.
    After(u64),
    /// Events after the requested seq are gone: reload, continue after `head`.
    Gap { oldest: u64, head: u64 },
}

impl Backline {
    /// The latest seq of a user's stream.
    pub async fn stream_head(&self, user_id: &UserId) -> Result<u64> {
        Ok(events::head(self.store().reader(), user_id).await? as u64)
    }

    /// Decides how a desktop that processed up to `last_seq` resumes.
    pub async fn resume_point(
        &self,
        user_id: &UserId,
        last_seq: u64,
        head: u64,
    ) -> Result<ResumeFrom> {
        if last_seq > head {
            return Err(err(
                ErrorCode::InvalidRequest,
                format!("last_seq {last_seq} is ahead of the stream head {head}"),
            ));
        }
        if last_seq == head {
            return Ok(ResumeFrom::After(last_seq));
        }
        let oldest = events::oldest(self.store().reader(), user_id).await?;
        match oldest {
            Some(oldest) if oldest as u64 <= last_seq + 1 => Ok(ResumeFrom::After(last_seq)),
            Some(oldest) => Ok(ResumeFrom::Gap {
                oldest: oldest as u64,
                head,
            }),
            None => Ok(ResumeFrom::Gap {
                oldest: head + 1,
                head,
            }),
        }
    }

    /// Stored events in `(after, up_to]` as ready-made frames, ascending.
    pub async fn event_frames(
        &self,
        user_id: &UserId,
        after: u64,
        up_to: u64,
        limit: i64,
    ) -> Result<Vec<(u64, String)>> {
        let rows = events::range(
            self.store().reader(),
            user_id,
            after as i64,
            up_to as i64,
            limit,
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                (
                    row.seq as u64,
                    event_frame(row.seq as u64, row.ts, &row.payload),
                )
            })
            .collect())
    }

    /// `GET /events`: the stream over HTTP.
    pub async fn events_page(
        &self,
        user_id: &UserId,
        after: u64,
        limit: i64,
    ) -> Result<(Vec<StreamEvent>, u64)> {
        let head = self.stream_head(user_id).await?;
        if let ResumeFrom::Gap { oldest, head } = self.resume_point(user_id, after, head).await? {
            return Err(err(
                ErrorCode::ResumeGap,
                format!("events after {after} are no longer retained (oldest {oldest}, head {head}): reload state"),
            ));
        }
        let rows = events::range(
            self.store().reader(),
            user_id,
            after as i64,
            head as i64,
            limit.clamp(1, 1000),
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let event: EventBody = serde_json::from_str(&row.payload)
                .map_err(|e| crate::ServiceError::Internal(e.into()))?;
            out.push(StreamEvent {
                seq: row.seq as u64,
                ts: row.ts,
                event,
            });
        }
        Ok((out, head))
    }
}
