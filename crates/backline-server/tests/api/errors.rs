//! Every error code a client can meet, over REST and over the socket.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Desktop};

#[tokio::test]
async fn bad_frames_get_clear_errors_and_the_socket_stays_usable() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await;
    let mut a = app.desktop(&alice, None).await;
    a.send_raw("this is not json").await;
    assert_eq!(a.next().await["code"], "malformed_request");
    a.send(json!({"type": "shout", "volume": 11})).await;
    assert_eq!(a.next().await["code"], "unknown_frame_type");
    a.send(json!({"type": "send", "rid": "r"})).await;
    assert_eq!(a.next().await["code"], "malformed_request");
    a.send(json!({"no_type": true})).await;
    assert_eq!(a.next().await["code"], "malformed_request");
    let frame_limit = app.config.limits.max_frame_bytes;
    a.send_raw(&format!(
        "{{\"type\":\"ping\",\"pad\":\"{}\"}}",
        "p".repeat(frame_limit)
    ))
    .await;
    assert_eq!(a.next().await["code"], "payload_too_large");
    use futures::SinkExt;
    a.ws.send(tokio_tungstenite::tungstenite::Message::Binary(
        vec![1, 2, 3].into(),
    ))
    .await
    .unwrap();
    assert_eq!(a.next().await["code"], "malformed_request");

    let send = |rid: &str, session: &str, text: &str| json!({"type": "send", "rid": rid, "session_id": session, "client_msg_id": rid, "text": text});
    a.send(send("e1", &id, "   \n ")).await;
    let error = a.next().await;
    assert_eq!(
        (error["rid"].as_str(), error["code"].as_str()),
        (Some("e1"), Some("empty_message"))
    );
    a.send(send("e2", &id, &"y".repeat(16 * 1024 + 1))).await;
    assert_eq!(a.next().await["code"], "message_too_large");
    a.send(send("e3", "no-such-session", "hi")).await;
    assert_eq!(a.next().await["code"], "session_not_found");
    a.send(
        json!({"type": "send", "rid": "e4", "session_id": id, "client_msg_id": "", "text": "hi"}),
    )
    .await;
    assert_eq!(a.next().await["code"], "invalid_request");
    a.send(json!({"type": "mark", "rid": "e5", "session_id": id, "kind": "read", "seq": 999}))
        .await;
    assert_eq!(a.next().await["code"], "invalid_request");

    // Still usable, and nothing bad was stored.
    a.send(send("ok", &id, "fine")).await;
    assert_eq!(a.until("ack", |f| f["type"] == "ack").await["rid"], "ok");
    let messages = app
        .transcript(&alice, &id)
        .await
        .iter()
        .filter(|e| e["kind"] == "message")
        .count();
    assert_eq!(messages, 1);
}

#[tokio::test]
async fn bad_rest_input_gets_the_error_format() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let response = app
        .http
        .post(app.url("/api/v1/sessions"))
        .bearer_auth(&alice.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "malformed_request");
    let (status, body) = app
        .post(
            &alice.token,
            "/api/v1/sessions",
            json!({"target_id": "nobody"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("user_not_found"))
    );
    let (status, body) = app
        .post(
            &alice.token,
            "/api/v1/sessions",
            json!({"target_id": alice.id}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body) = app.get(&alice.token, "/api/v1/sessions/nope").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("session_not_found"))
    );
    let (status, body) = app.get("", "/api/v1/me").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let (status, body) = app.get("made-up-token", "/api/v1/me").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let (status, body) = app.get(&alice.token, "/api/v1/no/such/route").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = app.get(&alice.token, "/api/v1/directory?limit=many").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let huge = "z".repeat(100 * 1024);
    let (status, body) = app.send_message(&alice, "any", "big", &huge).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    // Accepting twice is a state error.
    let id = app.connected_session(&alice, &bob).await;
    let (status, body) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("invalid_state"))
    );
    let (status, body) = app
        .post(
            &alice.token,
            &format!("/api/v1/sessions/{id}/end"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            &alice.token,
            &format!("/api/v1/sessions/{id}/end"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("session_ended"))
    );
}

#[tokio::test]
async fn too_many_requests_are_refused_and_nothing_accepted_is_lost() {
    let app = spawn_app_with(|c| {
        c.limits.rate_per_second = 1;
        c.limits.rate_burst = 3;
    })
    .await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await; // uses one token of the burst
    let mut accepted = Vec::new();
    let mut limited = 0;
    for i in 0..8 {
        let (status, body) = app.send_message(&alice, &id, &format!("m{i}"), "hi").await;
        match status {
            200 => accepted.push(body["seq"].as_u64().unwrap()),
            429 => {
                assert_eq!(body["code"], "rate_limited");
                assert!(body["message"].as_str().unwrap().contains("retry in"));
                limited += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(limited > 0, "some sends were limited");
    assert!(!accepted.is_empty());
    let stored: Vec<u64> = app
        .transcript(&alice, &id)
        .await
        .iter()
        .filter(|e| e["kind"] == "message")
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        stored, accepted,
        "every acknowledged send is stored, no refused one is"
    );
}

#[tokio::test]
async fn a_socket_from_a_foreign_origin_is_refused() {
    let app = spawn_app().await;
    let refused = Desktop::connect_with(app.addr, Some("http://evil.example")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a foreign origin was let in"),
    }
    let same = Desktop::connect_with(app.addr, Some(&format!("http://{}", app.addr))).await;
    assert!(same.is_ok(), "the server's own origin is allowed");
}
