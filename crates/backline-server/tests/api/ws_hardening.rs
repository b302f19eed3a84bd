//! The socket's lifetime and limits: a socket closes when its token expires
//! or is revoked, the click-to-call page's socket when its call ends; bad
//! frames get the close codes of RFC 6455; slow-consumer cuts are counted
//! once, by reason; and a fuzzer sends arbitrary frames over a real socket.

use std::time::Duration;

use backline_protocol::model::Role;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{
    metric_value, spawn_app, spawn_app_with, Desktop, TestApp, User, PASSWORD, WAIT,
};

/// The close frame's code and reason, skipping frames before it; None when
/// the connection dropped without one.
async fn close_frame(desktop: &mut Desktop) -> Option<(u16, String)> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, desktop.ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => {
                return frame.map(|f| (u16::from(f.code), f.reason.to_string()))
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_))) | Ok(None) => return None,
            Err(_) => panic!("no close in time"),
        }
    }
}

/// Sends a frame as it is, bytes and opcode unchecked.
async fn send_frame(desktop: &mut Desktop, opcode: Data, payload: Vec<u8>) {
    desktop
        .ws
        .send(Message::Frame(Frame::message(
            payload,
            OpCode::Data(opcode),
            true,
        )))
        .await
        .expect("send frame");
}

/// A ping answered with its pong: the socket is open and reads.
async fn answers_ping(desktop: &mut Desktop, rid: &str) {
    desktop.send(json!({"type": "ping", "rid": rid})).await;
    let pong = desktop
        .until("pong", |f| f["type"] == "pong" && f["rid"] == rid)
        .await;
    assert_eq!(pong["rid"], rid);
}

// ---------------------------------------------------------------------------
// Token lifetime and revocation

#[tokio::test]
async fn a_socket_closes_when_its_token_expires_and_takes_no_send_after() {
    let app = spawn_app_with(|c| c.auth.token_ttl_secs = 3).await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await;
    let mut desktop = app.desktop(&alice, None).await;
    assert_eq!(
        close_frame(&mut desktop).await,
        Some((4001, "session_expired".to_owned())),
        "the socket closes at the token's expiry"
    );
    // A send after the expiry is neither acknowledged nor stored.
    let late = json!({"type": "send", "rid": "late", "session_id": id, "client_msg_id": "late", "text": "after expiry"});
    let _ = desktop
        .ws
        .send(Message::Text(late.to_string().into()))
        .await;
    assert_eq!(desktop.try_next(Duration::from_millis(500)).await, None);
    let (status, body) = app.get(&alice.token, "/api/v1/me").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("session_expired"))
    );
    let (_, fresh, _) = app.sign_in("bob", PASSWORD).await;
    let bob_again = User {
        id: bob.id.clone(),
        token: fresh["token"].as_str().unwrap().to_owned(),
    };
    let texts: Vec<Value> = app
        .transcript(&bob_again, &id)
        .await
        .into_iter()
        .map(|e| e["text"].clone())
        .collect();
    assert!(!texts.contains(&json!("after expiry")), "{texts:?}");
}

#[tokio::test]
async fn every_revocation_closes_the_sockets_of_the_token_with_4001() {
    let app = spawn_app().await;
    let admin = app.user_with("root", "Root", true, vec![Role::Admin]).await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let carol = app.user("carol", "Carol Chen").await;
    // Signing out closes that token's socket.
    let mut signed_out = app.desktop(&alice, None).await;
    let (status, _) = app
        .post(&alice.token, "/api/v1/auth/sign-out", json!({}))
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        close_frame(&mut signed_out).await,
        Some((4001, "session_expired".to_owned()))
    );
    // An administrator disabling the account, or resetting its password, closes all of its sockets.
    for (user, change) in [
        (&bob, json!({"disabled": true})),
        (&carol, json!({"password": "a brand new password"})),
    ] {
        let mut desktop = app.desktop(user, None).await;
        let (status, view) = app
            .send_json(
                reqwest::Method::PATCH,
                &admin.token,
                &format!("/api/v1/admin/users/{}", user.id),
                change.clone(),
            )
            .await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(
            close_frame(&mut desktop).await,
            Some((4001, "session_expired".to_owned())),
            "{change}"
        );
        let (status, _) = app.get(&user.token, "/api/v1/me").await;
        assert_eq!(status, 401, "{change}");
    }
}

#[tokio::test]
async fn a_revocation_on_one_node_closes_the_socket_on_the_other() {
    let Some((node_a, node_b)) = crate::cluster::two_nodes().await else {
        return;
    };
    let admin = node_a
        .user_with("root", "Root", true, vec![Role::Admin])
        .await;
    let alice = node_a.user("alice", "Alice Agent").await;
    let bob = node_a.user("bob", "Bob Builder").await;
    let mut on_b = node_b.desktop(&alice, None).await;
    let (status, _) = node_a
        .post(&alice.token, "/api/v1/auth/sign-out", json!({}))
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        close_frame(&mut on_b).await,
        Some((4001, "session_expired".to_owned()))
    );
    let mut on_b = node_b.desktop(&bob, None).await;
    let (status, _) = node_a
        .send_json(
            reqwest::Method::PATCH,
            &admin.token,
            &format!("/api/v1/admin/users/{}", bob.id),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        close_frame(&mut on_b).await,
        Some((4001, "session_expired".to_owned()))
    );
}

// ---------------------------------------------------------------------------
// The click-to-call page's socket lives as long as its call

#[tokio::test]
async fn the_caller_socket_closes_when_its_call_ends_and_is_refused_after() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let _desktop = crate::voice::ready(&app, &alice).await;
    let crate::voice::Caller {
        call_id,
        token,
        ws: mut caller,
        ..
    } = crate::voice::call_in(&app, "Zoë Martin").await;
    // The agent answers, then hangs up: the call ends without the caller doing anything.
    let (status, answered) = app
        .post(
            &alice.token,
            &format!("/api/v1/calls/{call_id}/accept"),
            json!({"device_id": "tab-alice"}),
        )
        .await;
    assert_eq!(status, 200, "{answered}");
    let (status, ended) = app
        .post(
            &alice.token,
            &format!("/api/v1/calls/{call_id}/hang-up"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["state"], "ended", "{ended}");
    let last = caller
        .until("call ended", |f| {
            f["type"] == "call" && f["call"]["state"] == "ended"
        })
        .await;
    assert_eq!(last["call"]["id"], call_id.as_str());
    assert_eq!(
        close_frame(&mut caller).await,
        Some((4001, "call_ended".to_owned())),
        "the caller's socket closes with its call"
    );
    // The token of an ended call opens no socket.
    let mut again = Desktop::connect(app.addr).await;
    again.send(json!({"type": "hello", "token": token})).await;
    let refused = again.next().await;
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("call_ended")),
        "{refused}"
    );
    assert_eq!(
        close_frame(&mut again).await,
        Some((4001, "call_ended".to_owned()))
    );
}

// ---------------------------------------------------------------------------
// Frame limits and bad payloads: close codes 1007 and 1009

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let mut desktop = app.desktop(&alice, None).await;
    send_frame(
        &mut desktop,
        Data::Text,
        b"{\"type\":\"ping\",\"rid\":\"\xff\xfe\"}".to_vec(),
    )
    .await;
    let error = desktop.next().await;
    assert_eq!(error["code"], "malformed_request", "{error}");
    assert_eq!(
        close_frame(&mut desktop).await,
        Some((1007, "malformed_request".to_owned()))
    );
    // The same as the first frame, before hello.
    let mut anonymous = Desktop::connect(app.addr).await;
    send_frame(&mut anonymous, Data::Text, vec![0xc3, 0x28]).await;
    assert_eq!(
        close_frame(&mut anonymous).await,
        Some((1007, "malformed_request".to_owned()))
    );
}

#[tokio::test]
async fn frames_over_the_limit_are_refused_and_over_the_cap_close_with_1009() {
    let app = spawn_app().await;
    let limit = app.config.limits.max_frame_bytes;
    let cap = backline_server::ws::transport_cap(limit);
    let alice = app.user("alice", "Alice Agent").await;
    let mut desktop = app.desktop(&alice, None).await;
    // Over the limit, under the transport cap: an error, and the socket stays.
    for opcode in [Data::Text, Data::Binary] {
        send_frame(&mut desktop, opcode, vec![b' '; limit + 1]).await;
        let error = desktop.next().await;
        let expected = match opcode {
            Data::Text => "payload_too_large",
            _ => "malformed_request",
        };
        assert_eq!(error["code"], expected, "{error}");
        answers_ping(&mut desktop, "still-open").await;
    }
    // Over the transport cap, text or binary: an error, then close 1009.
    for opcode in [Data::Text, Data::Binary] {
        let mut desktop = app.desktop(&alice, None).await;
        send_frame(&mut desktop, opcode, vec![b' '; cap + 1]).await;
        let error = desktop.next().await;
        assert_eq!(error["code"], "payload_too_large", "{error}");
        assert_eq!(
            close_frame(&mut desktop).await,
            Some((1009, "payload_too_large".to_owned())),
            "{opcode:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Slow-consumer cuts: one count per cut, by reason

/// Tests that cut slow consumers run one at a time: the metrics recorder is
/// the process's, shared by every test server.
pub static CUTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The cut counters: queue_full, write_timeout, and every series of the metric.
async fn cut_counts(app: &TestApp) -> (u64, u64, u64) {
    let text = app.metrics_text().await;
    let series = |labels: &str| {
        metric_value(
            &text,
            &format!("backline_slow_consumer_disconnects_total{labels}"),
        )
        .map_or(0, |value| value as u64)
    };
    let total = text
        .lines()
        .filter(|line| line.starts_with("backline_slow_consumer_disconnects_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    (
        series("{reason=\"queue_full\"}"),
        series("{reason=\"write_timeout\"}"),
        total,
    )
}

/// Bob's desktop (returned) stops reading while Alice sends him ~9 MB of events.
async fn flood_a_reader(app: &TestApp) -> (User, Desktop) {
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await;
    let reader = app.desktop(&bob, None).await;
    let big = "x".repeat(15 * 1024);
    for i in 0..600 {
        let (status, _) = app.send_message(&alice, &id, &format!("m{i}"), &big).await;
        assert_eq!(status, 200);
    }
    (bob, reader)
}

/// The close code the reader finds after what fitted in the buffers (None: dropped).
async fn read_to_close(reader: &mut Desktop) -> Option<u16> {
    loop {
        match tokio::time::timeout(WAIT, reader.ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// Floods a desktop that stops reading on a server tweaked by `tweak`
/// (signing it out when `sign_out`); returns the change of the cut counters.
async fn cuts_of_a_flood(
    tweak: impl FnOnce(&mut backline_server::config::Config),
    sign_out: bool,
) -> (u64, u64, u64) {
    let _one_at_a_time = CUTS.lock().await;
    let app = spawn_app_with(|c| {
        c.limits.rate_per_second = 10_000;
        c.limits.rate_burst = 10_000;
        tweak(c);
    })
    .await;
    let before = cut_counts(&app).await;
    let (bob, mut reader) = flood_a_reader(&app).await;
    if sign_out {
        // Bob's socket is stuck in a write (nobody reads it) when he signs out.
        let (status, _) = app
            .post(&bob.token, "/api/v1/auth/sign-out", json!({}))
            .await;
        assert_eq!(status, 204);
    } else {
        // Nothing is read until the server gives up on the reader: a flood
        // that ends sooner than the write timeout must not be rescued by
        // the reading below.
        let deadline = tokio::time::Instant::now() + WAIT;
        while cut_counts(&app).await.2 == before.2 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let code = read_to_close(&mut reader).await;
    if !sign_out {
        assert!(matches!(code, Some(4008) | None), "{code:?}");
    }
    let after = cut_counts(&app).await;
    (after.0 - before.0, after.1 - before.1, after.2 - before.2)
}

#[tokio::test]
async fn a_full_queue_cut_counts_once_as_queue_full() {
    let counted = cuts_of_a_flood(|c| c.ws.outbound_queue = 16, false).await;
    assert_eq!(counted, (1, 0, 1), "one cut, counted once as queue_full");
}

#[tokio::test]
async fn a_write_timeout_cut_counts_once_as_write_timeout() {
    let counted = cuts_of_a_flood(|c| c.ws.write_timeout_secs = 1, false).await;
    assert_eq!(counted, (0, 1, 1), "one cut, counted once as write_timeout");
}

#[tokio::test]
async fn signing_out_a_blocked_desktop_is_no_slow_consumer_cut() {
    let counted = cuts_of_a_flood(|c| c.ws.write_timeout_secs = 60, true).await;
    assert_eq!(counted, (0, 0, 0), "a sign-out is not a slow consumer");
}

// ---------------------------------------------------------------------------
// Writes: frames that are ready together leave together

/// A counter of the real binary's `/metrics`.
async fn counter(http: &reqwest::Client, metrics: &str, name: &str) -> u64 {
    let text = http
        .get(metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metric_value(&text, name).map_or(0, |value| value as u64)
}

/// Row: every frame the server sent was a write call of its own, so a
/// desktop that came back after fifty messages got fifty writes for their
/// replay, and a commit's answers went out one write each. Frames are now
/// queued and written once the connection has nothing else ready. Counted
/// by the real binary (`backline_ws_frames_out_total`,
/// `backline_ws_writes_total`), which serves this test alone.
#[tokio::test]
async fn a_replay_leaves_in_few_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (server, private, _lines) = crate::binary::start_observed(dir.path(), &[]);
    let metrics = format!("{private}/metrics");
    let http = reqwest::Client::new();
    let (alice, session) = crate::binary::open_session(&http, &server.base).await;
    let (bob, _) = crate::binary::sign_in(&http, &server.base, "bob").await;
    let desktop = crate::helpers::desktop_at(server.addr(), &bob, None).await;
    let last_seq = desktop.head;
    drop(desktop);
    // Bob is away while Alice sends fifty messages.
    for i in 0..50 {
        let response = http
            .post(format!(
                "{}/api/v1/sessions/{session}/messages",
                server.base
            ))
            .bearer_auth(&alice)
            .json(&json!({"client_msg_id": format!("c{i}"), "text": format!("while away {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let frames_before = counter(&http, &metrics, "backline_ws_frames_out_total").await;
    let writes_before = counter(&http, &metrics, "backline_ws_writes_total").await;
    let mut desktop = crate::helpers::desktop_at(server.addr(), &bob, Some(last_seq)).await;
    let replayed = desktop.drain(Duration::from_millis(500)).await;
    let messages = replayed
        .iter()
        .filter(|frame| frame["event"]["entry"]["kind"] == "message")
        .count();
    assert_eq!(messages, 50, "every message is replayed");
    let frames = counter(&http, &metrics, "backline_ws_frames_out_total").await - frames_before;
    let writes = counter(&http, &metrics, "backline_ws_writes_total").await - writes_before;
    // The welcome, then the replay (and whatever else Bob's stream held).
    assert_eq!(
        frames,
        1 + replayed.len() as u64,
        "the server counts its frames"
    );
    assert!(
        writes > 0 && writes * 10 < frames,
        "{writes} writes for {frames} frames"
    );
}
