//! WebSocket frames: one JSON object per text frame, tagged by `type`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::ErrorCode;
use crate::events::EventBody;
use crate::model::{MarkKind, Me, MessageAck, Status, TypingState};

/// Frames a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Must be the first frame. `token` may be omitted when the cookie authenticates.
    Hello {
        #[serde(default)]
        #[ts(optional)]
        token: Option<String>,
        /// The last stream seq this desktop processed; omit to start at the head.
        #[serde(default)]
        #[ts(optional)]
        last_seq: Option<u64>,
    },
    Send {
        rid: String,
        session_id: String,
        client_msg_id: String,
        text: String,
    },
    Typing {
        session_id: String,
        state: TypingState,
    },
    Mark {
        #[serde(default)]
        #[ts(optional)]
        rid: Option<String>,
        session_id: String,
        kind: MarkKind,
        seq: u64,
    },
    /// Replace the set of users whose presence this connection follows.
    Watch { user_ids: Vec<String> },
    /// WebRTC signalling to another party of a call.
    Signal {
        call_id: String,
        /// The party id of the recipient.
        to: String,
        signal: crate::voice::Signal,
    },
    Ping {
        #[serde(default)]
        #[ts(optional)]
        rid: Option<String>,
    },
}

/// Frames the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The click-to-call page's connection is authenticated (a caller has no stream).
    CallerWelcome {
        call: crate::voice::CallView,
        party_id: String,
    },
    /// The current state of the caller's call (the click-to-call page only).
    Call {
        call: crate::voice::CallView,
    },
    /// WebRTC signalling from another party of a call.
    Signal {
        call_id: String,
        from: String,
        /// The recipient tab (`device_id`); other tabs of the same user ignore it.
        to_device: Option<String>,
        signal: crate::voice::Signal,
    },
    Welcome {
        me: Me,
        /// Latest stream seq when the connection was authenticated.
        head: u64,
        /// Id of the node serving this connection.
        node: String,
    },
    /// One stored stream event (boxed: a session view is far larger than
    /// the other frames).
    Event {
        seq: u64,
        ts: i64,
        event: Box<EventBody>,
    },
    /// `last_seq` is older than the retention window: reload state, continue after `head`.
    ResumeGap {
        oldest: u64,
        head: u64,
    },
    Presence {
        user_id: String,
        status: Status,
        reason: Option<String>,
    },
    Typing {
        session_id: String,
        user_id: String,
        state: TypingState,
    },
    Ack {
        rid: String,
        ack: MessageAck,
    },
    Ok {
        rid: String,
    },
    Pong {
        rid: Option<String>,
    },
    Error {
        rid: Option<String>,
        code: ErrorCode,
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_parse_from_documented_json() {
        let hello: ClientFrame = serde_json::from_str(r#"{"type":"hello","last_seq":7}"#).unwrap();
        assert_eq!(
            hello,
            ClientFrame::Hello {
                token: None,
                last_seq: Some(7)
            }
        );
        let err = serde_json::from_str::<ClientFrame>(r#"{"type":"shout"}"#);
        assert!(err.is_err(), "unknown frame types are refused");
    }

    #[test]
    fn event_frame_is_flat() {
        let frame = ServerFrame::Event {
            seq: 3,
            ts: 10,
            event: Box::new(EventBody::SessionRemoved {
                session_id: "s".into(),
            }),
        };
        let json = serde_json::to_value(&frame).unwrap();
        assert_eq!(json["type"], "event");
        assert_eq!(json["seq"], 3);
        assert_eq!(json["event"]["kind"], "session_removed");
    }
}
