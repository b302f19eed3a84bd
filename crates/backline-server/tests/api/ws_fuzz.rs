//! Fuzzing the socket's frames, in two parts with bounded case counts (a few seconds):
//! - the frame parser (`ws::parse_frame`: the size limit, `ClientFrame`, then
//!   the bad frame's classification) under arbitrary text and frame-shaped
//!   JSON never panics and always answers with a bad frame's code;
//! - over a real socket, a signed-in desktop sends sequences of arbitrary and
//!   mutated frames. The server answers every frame the parser refuses with
//!   an `error` frame of that code, sends nothing that is not a server frame,
//!   never closes, and still acknowledges a valid send at the end.

use backline_protocol::frames::ServerFrame;
use backline_protocol::ErrorCode;
use backline_server::ws::parse_frame;
use futures::SinkExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app_with, Desktop, TestApp};

/// Sequences tried per run, and frames per sequence.
const CASES: u32 = 24;
const MAX_FRAMES: usize = 6;
const MAX_FRAME_BYTES: usize = 2048;
const KNOWN: &[&str] = &["hello", "send", "typing", "mark", "watch", "ping", "signal"];
const FIELDS: &[&str] = &[
    "type",
    "rid",
    "token",
    "last_seq",
    "session_id",
    "client_msg_id",
    "text",
    "state",
    "kind",
    "seq",
    "user_ids",
    "call_id",
    "to",
    "signal",
    "extra",
];

#[derive(Debug, Clone)]
enum Fuzz {
    Text(String),
    Binary(Vec<u8>),
}

/// A value to put in a field: wrong types, extremes (huge, negative,
/// fractional numbers), frame type names, nesting.
fn odd_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        Just(json!(1e308)),
        Just(json!(-1)),
        "\\PC{0,16}".prop_map(Value::from),
        (0usize..40).prop_map(|n| Value::from("é".repeat(n))),
        prop::sample::select(KNOWN).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(field(), inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A field name: one of the protocol's, or any.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(FIELDS).prop_map(String::from),
        "[a-z_]{0,10}",
    ]
}

/// An object shaped like a frame: a known, unknown, non-string or no `type`.
fn frame_object() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        prop::sample::select(KNOWN).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        odd_value(),
    ];
    (
        proptest::option::of(kind),
        prop::collection::btree_map(field(), odd_value(), 0..6),
    )
        .prop_map(|(kind, fields)| {
            let mut object: serde_json::Map<String, Value> = fields.into_iter().collect();
            match kind {
                Some(kind) => object.insert("type".into(), kind),
                None => object.remove("type"),
            };
            Value::Object(object)
        })
}

/// Text nested `depth` deep in arrays or objects.
fn nested(depth: usize, array: bool) -> String {
    let (open, close) = if array { ("[", "]") } else { ("{\"a\":", "}") };
    format!("{}0{}", open.repeat(depth), close.repeat(depth))
}

/// Parses `text` as the socket does; checks a refusal is a bad frame's code.
fn parsed(text: &str) -> Result<bool, TestCaseError> {
    match parse_frame(text, MAX_FRAME_BYTES) {
        Ok(_) => Ok(true),
        Err((code, message)) => {
            prop_assert!(
                matches!(
                    code,
                    ErrorCode::PayloadTooLarge
                        | ErrorCode::MalformedRequest
                        | ErrorCode::UnknownFrameType
                        | ErrorCode::InvalidRequest
                ),
                "{code:?} for {text:?}"
            );
            prop_assert!(!message.is_empty());
            if text.len() > MAX_FRAME_BYTES {
                prop_assert_eq!(code, ErrorCode::PayloadTooLarge);
            }
            Ok(false)
        }
    }
}

proptest! {
    #![proptest_config(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn the_parser_reads_or_classifies_any_text(text in prop_oneof![
        any::<String>(),
        ".{0,64}",
        "[\\[{\"]{0,64}[a-z:,0-9]{0,8}[\\]}\"]{0,64}",
    ]) {
        parsed(&text)?;
    }

    #[test]
    fn the_parser_reads_or_classifies_any_frame_shaped_object(object in frame_object()) {
        let text = object.to_string();
        let ok = parsed(&text)?;
        if text.len() <= MAX_FRAME_BYTES {
            match object.get("type").and_then(Value::as_str) {
                // Text with a NUL is refused before it is parsed.
                _ if text.contains("\\u0000") => prop_assert_eq!(
                    parse_frame(&text, MAX_FRAME_BYTES).err().map(|(code, _)| code),
                    Some(ErrorCode::InvalidRequest)
                ),
                Some(kind) if !KNOWN.contains(&kind) => prop_assert_eq!(
                    parse_frame(&text, MAX_FRAME_BYTES).err().map(|(code, _)| code),
                    Some(ErrorCode::UnknownFrameType)
                ),
                None => prop_assert!(!ok, "a frame without a string type: {}", text),
                Some(_) => {}
            }
        }
    }

    #[test]
    fn the_parser_refuses_deep_nesting_without_overflowing(depth in 0usize..5000, array in prop::bool::ANY) {
        let deep = nested(depth, array);
        parsed(&deep)?;
        parsed(&deep[..deep.len() / 2])?;
        parsed(&format!("{{\"type\":\"send\",\"rid\":\"r\",\"session_id\":\"s\",\"client_msg_id\":\"c\",\"text\":{deep}}}"))?;
    }
}

/// Valid frames of this desktop: a send, typing, marks, watch, signal, ping, hello.
fn valid_frames(session: &str, peer: &str) -> Vec<Value> {
    vec![
        json!({"type": "send", "rid": "s", "session_id": session, "client_msg_id": "fuzz", "text": "hello"}),
        json!({"type": "typing", "session_id": session, "state": "composing"}),
        json!({"type": "mark", "rid": "m", "session_id": session, "kind": "read", "seq": 1}),
        json!({"type": "watch", "user_ids": [peer]}),
        json!({"type": "signal", "call_id": "c", "to": peer, "signal": {"kind": "offer", "sdp": "v=0"}}),
        json!({"type": "ping", "rid": "p"}),
        json!({"type": "hello", "token": "t"}),
    ]
}

/// One fuzz frame: a valid frame with a field changed or removed, an unknown
/// type, arbitrary text, deep nesting, an oversized frame, or binary.
fn fuzz_frame(session: &str, peer: &str) -> impl Strategy<Value = Fuzz> {
    let valid = valid_frames(session, peer);
    let mutated = (
        prop::sample::select(valid.clone()),
        prop::sample::select(FIELDS),
        proptest::option::of(odd_value()),
    )
        .prop_map(|(mut frame, field, value)| {
            let object = frame.as_object_mut().expect("an object");
            match value {
                Some(value) => object.insert(field.to_owned(), value),
                None => object.remove(field),
            };
            Fuzz::Text(frame.to_string())
        });
    prop_oneof![
        4 => mutated,
        1 => prop::sample::select(valid).prop_map(|f| Fuzz::Text(f.to_string())),
        1 => "[a-z_]{0,12}".prop_map(|t| Fuzz::Text(json!({"type": t}).to_string())),
        1 => any::<String>().prop_map(Fuzz::Text),
        1 => (1usize..400, prop::bool::ANY).prop_map(|(depth, array)| {
            Fuzz::Text(format!("{{\"type\":\"send\",\"text\":{}}}", nested(depth, array)))
        }),
        1 => frame_object().prop_map(|f| Fuzz::Text(f.to_string())),
        1 => (1usize..256).prop_map(|n| Fuzz::Text(format!("{{\"type\":\"ping\",\"rid\":\"{}\"}}", "x".repeat(MAX_FRAME_BYTES + n)))),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Fuzz::Binary),
    ]
}

/// Every frame the server sent until the pong answering `rid`; each must be a server frame.
async fn frames_until_pong(desktop: &mut Desktop, rid: &str) -> Result<Vec<Value>, TestCaseError> {
    desktop.send(json!({"type": "ping", "rid": rid})).await;
    let mut seen = Vec::new();
    loop {
        let Some(frame) = desktop.try_next(crate::helpers::WAIT).await else {
            return Err(TestCaseError::fail(format!(
                "the socket closed or went silent; frames before: {seen:?}"
            )));
        };
        prop_assert!(
            serde_json::from_value::<ServerFrame>(frame.clone()).is_ok(),
            "not a server frame: {frame}"
        );
        if frame["type"] == "pong" && frame["rid"] == rid {
            return Ok(seen);
        }
        seen.push(frame);
    }
}

async fn run_case(app: &TestApp, case: &Case, frames: Vec<Fuzz>) -> Result<(), TestCaseError> {
    let mut desktop = app.desktop(&case.alice, None).await;
    for (i, fuzz) in frames.iter().enumerate() {
        let expected = match fuzz {
            Fuzz::Text(text) => {
                desktop.send_raw(text).await;
                parse_frame(text, MAX_FRAME_BYTES)
                    .err()
                    .map(|(code, _)| code)
            }
            Fuzz::Binary(bytes) => {
                desktop
                    .ws
                    .send(Message::Binary(bytes.clone().into()))
                    .await
                    .expect("send binary");
                Some(ErrorCode::MalformedRequest)
            }
        };
        let answers = frames_until_pong(&mut desktop, &format!("probe-{i}")).await?;
        if let Some(code) = expected {
            prop_assert!(
                answers
                    .iter()
                    .any(|f| f["type"] == "error" && f["code"] == code.as_str()),
                "{fuzz:?} should be answered {code:?}, got {answers:?}"
            );
        }
    }
    // Still a working desktop: a valid send is acknowledged.
    let client_msg_id = uuid::Uuid::now_v7().to_string();
    desktop
        .send(json!({"type": "send", "rid": "final", "session_id": case.session, "client_msg_id": client_msg_id, "text": "still here"}))
        .await;
    let ack = desktop.until("final ack", |f| f["rid"] == "final").await;
    prop_assert_eq!(&ack["type"], "ack", "{}", ack);
    Ok(())
}

struct Case {
    alice: crate::helpers::User,
    session: String,
}

#[test]
fn arbitrary_frames_are_answered_and_never_close_the_socket() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (app, case, peer) = runtime.block_on(async {
        let app = spawn_app_with(|c| {
            c.limits.max_message_bytes = 1024;
            c.limits.max_frame_bytes = MAX_FRAME_BYTES;
            c.limits.rate_per_second = 10_000;
            c.limits.rate_burst = 10_000;
        })
        .await;
        let alice = app.user("alice", "Alice Agent").await;
        let bob = app.user("bob", "Bob Builder").await;
        let session = app.connected_session(&alice, &bob).await;
        (app, Case { alice, session }, bob.id)
    });
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = prop::collection::vec(fuzz_frame(&case.session, &peer), 1..=MAX_FRAMES);
    let outcome = runner.run(&strategy, |frames| {
        runtime.block_on(run_case(&app, &case, frames))
    });
    runtime.block_on(async move { drop(app) });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
