//! The event stream: resume after a dropped connection, gaps, tabs, slow consumers.

use std::collections::HashSet;
use std::time::Duration;

use backline_store::UserId;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Desktop};

#[tokio::test]
async fn a_dropped_connection_resumes_with_nothing_missing_and_nothing_doubled() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await;

    let mut seen: Vec<u64> = Vec::new(); // message seqs Bob's desktop showed, in order
    let mut b = app.desktop(&bob, None).await;
    let mut sent = 0;
    for round in 0..4 {
        // Messages while connected.
        for _ in 0..5 {
            sent += 1;
            app.send_message(&alice, &id, &format!("m{sent}"), &format!("message {sent}"))
                .await;
        }
        let frames = b.drain(Duration::from_millis(200)).await;
        for frame in &frames {
            if frame["event"]["kind"] == "transcript" {
                seen.push(frame["event"]["entry"]["seq"].as_u64().unwrap());
            }
        }
        // Kill the connection (no close handshake) mid-conversation, keep talking, reconnect.
        let last = b.last_seq;
        drop(b);
        for _ in 0..3 {
            sent += 1;
            app.send_message(&alice, &id, &format!("m{sent}"), &format!("message {sent}"))
                .await;
        }
        b = app.desktop(&bob, Some(last)).await;
        let _ = round;
    }
    for frame in b.drain(Duration::from_millis(300)).await {
        if frame["event"]["kind"] == "transcript" {
            seen.push(frame["event"]["entry"]["seq"].as_u64().unwrap());
        }
    }
    let stored: Vec<u64> = app
        .transcript(&bob, &id)
        .await
        .iter()
        .filter(|e| e["kind"] == "message")
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(stored.len(), sent);
    assert_eq!(
        seen, stored,
        "the desktop saw exactly the stored messages, in order, once each"
    );
}

#[tokio::test]
async fn resume_replays_in_order_before_live_events() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await;
    let head = app
        .backline
        .stream_head(&UserId::from(bob.id.clone()))
        .await
        .unwrap();
    for i in 0..20 {
        app.send_message(&alice, &id, &format!("m{i}"), "x").await;
    }
    let mut b = app.desktop(&bob, Some(head)).await;
    app.send_message(&alice, &id, "live", "live one").await;
    let frames = b.drain(Duration::from_millis(300)).await;
    let seqs: Vec<u64> = frames
        .iter()
        .filter(|f| f["type"] == "event")
        .map(|f| f["seq"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (head + 1..=head + 21).collect();
    assert_eq!(seqs, expected);
    assert_eq!(
        frames.last().unwrap()["event"]["entry"]["client_msg_id"],
        "live"
    );
}

#[tokio::test]
async fn a_resume_older_than_retention_gets_resume_gap() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await;
    app.send_message(&alice, &id, "m1", "old").await;
    app.backline
        .prune(backline_store::now_ms() + 1)
        .await
        .unwrap();
    let head = app
        .backline
        .stream_head(&UserId::from(bob.id.clone()))
        .await
        .unwrap();
    let mut b = app.desktop(&bob, Some(0)).await;
    let gap = b.next().await;
    assert_eq!(gap["type"], "resume_gap");
    assert_eq!(gap["head"], head);
    // The stream goes on after the head.
    app.send_message(&alice, &id, "m2", "new").await;
    let next = b.entry("message").await;
    assert_eq!(next["seq"], head + 1);
    // Over HTTP the same rule answers 410 resume_gap.
    let (status, error) = app.get(&bob.token, "/api/v1/events?after=0").await;
    assert_eq!((status, error["code"].as_str()), (410, Some("resume_gap")));
    let (status, page) = app
        .get(&bob.token, &format!("/api/v1/events?after={head}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn two_tabs_of_one_user_receive_the_same_events() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let mut tab1 = app.desktop(&bob, None).await;
    let mut tab2 = app.desktop(&bob, None).await;
    let id = app.open_session(&alice, &bob, Some("hi")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &bob.token,
        &format!("/api/v1/sessions/{id}/accept"),
        json!({}),
    )
    .await;
    app.send_message(&alice, &id, "m2", "two").await;
    let one: Vec<u64> = tab1
        .drain(Duration::from_millis(300))
        .await
        .iter()
        .filter_map(|f| f["seq"].as_u64())
        .collect();
    let two: Vec<u64> = tab2
        .drain(Duration::from_millis(300))
        .await
        .iter()
        .filter_map(|f| f["seq"].as_u64())
        .collect();
    assert!(!one.is_empty());
    assert_eq!(one, two);
}

#[tokio::test]
async fn a_desktop_that_stops_reading_is_cut_off_and_resumes_without_loss() {
    let _counted_cuts = crate::ws_hardening::CUTS.lock().await;
    let app = spawn_app_with(|c| {
        c.ws.outbound_queue = 16;
        c.limits.rate_per_second = 10_000;
        c.limits.rate_burst = 10_000;
    })
    .await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await;
    let mut reader = app.desktop(&bob, None).await;
    let start = reader.last_seq;
    let big = "x".repeat(15 * 1024);
    // Bob's desktop reads nothing while ~6 MB of events are produced.
    for i in 0..400 {
        let (status, _) = app.send_message(&alice, &id, &format!("m{i}"), &big).await;
        assert_eq!(status, 200);
    }
    // Reading now finds what fitted in the buffers, then the slow-consumer close (or a dropped socket).
    let mut got: HashSet<u64> = HashSet::new();
    let mut close_code = None;
    loop {
        use futures::StreamExt;
        match tokio::time::timeout(Duration::from_secs(10), reader.ws.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => {
                let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
                if let Some(seq) = frame["seq"].as_u64() {
                    got.insert(seq);
                }
            }
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame)))) => {
                close_code = frame.map(|f| u16::from(f.code));
                break;
            }
            Ok(Some(Ok(_))) => continue,
            _ => break,
        }
    }
    assert!(
        got.len() < 400,
        "the server did not buffer everything for a reader that stopped"
    );
    if let Some(code) = close_code {
        assert_eq!(code, 4008, "slow_consumer close code");
    }
    // What arrived before the cut is a prefix of the stream, in order.
    let last = start + got.len() as u64;
    assert_eq!(got, (start + 1..=last).collect::<HashSet<u64>>());
    let mut resumed = app.desktop(&bob, Some(last)).await;
    for frame in resumed.drain(Duration::from_millis(500)).await {
        if let Some(seq) = frame["seq"].as_u64() {
            got.insert(seq);
        }
    }
    let head = app
        .backline
        .stream_head(&UserId::from(bob.id.clone()))
        .await
        .unwrap();
    let expected: HashSet<u64> = (start + 1..=head).collect();
    assert_eq!(got, expected, "every event arrived after the resume");
}

#[tokio::test]
async fn shutdown_closes_desktops_with_going_away() {
    let mut app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let mut desktop = app.desktop(&alice, None).await;
    let stopper = tokio::spawn(async move {
        app.stop().await;
        app
    });
    assert_eq!(desktop.closed_with().await, Some(1001));
    let _ = stopper.await;
}

#[tokio::test]
async fn a_second_hello_and_a_missing_hello_are_refused() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let mut desktop = app.desktop(&alice, None).await;
    desktop
        .send(json!({"type": "hello", "token": alice.token}))
        .await;
    assert_eq!(desktop.next().await["code"], "invalid_request");
    let mut anonymous = Desktop::connect(app.addr).await;
    anonymous.send(json!({"type": "ping"})).await;
    assert_eq!(anonymous.next().await["code"], "unauthenticated");
    assert_eq!(anonymous.closed_with().await, Some(4001));
}

#[tokio::test]
async fn an_event_whose_notification_was_lost_arrives_at_the_next_ping() {
    let app = spawn_app_with(|c| c.ws.ping_interval_secs = 1).await;
    let alice = app.user("alice", "Alice Agent").await;
    let mut desktop = app.desktop(&alice, None).await;
    // Committed without any bus message, as if the notification between nodes was lost.
    let user = UserId::from(alice.id.clone());
    let seq = app
        .backline
        .store()
        .write(Box::new(move |conn| {
            Box::pin(async move {
                backline_store::events::append(
                    conn,
                    &user,
                    backline_store::now_ms(),
                    r#"{"kind":"preferences","zoom":120}"#,
                )
                .await
            })
        }))
        .await
        .unwrap();
    let caught_up = desktop
        .until("the lost event", |f| f["type"] == "event")
        .await;
    assert_eq!(caught_up["seq"], seq);
    assert_eq!(caught_up["event"]["zoom"], 120);
}
