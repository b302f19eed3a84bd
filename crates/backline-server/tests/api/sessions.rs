//! IM sessions end to end over real sockets: the user guide's flows 1–3.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn invite_accept_talk_end_and_done() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let mut a = app.desktop(&alice, None).await;
    let mut b = app.desktop(&bob, None).await;

    // Flow 1: A invites B with a first message; B's desktop gets the invitation carrying it.
    let view = app
        .open_session(&alice, &bob, Some("Can you help with a billing case?"))
        .await;
    let id = view["id"].as_str().unwrap().to_owned();
    assert_eq!(view["state"], "inviting");
    let invitation = b.event("session").await;
    let session = &invitation["event"]["session"];
    assert_eq!(session["id"], id.as_str());
    let me = session["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == bob.id.as_str())
        .unwrap();
    assert_eq!(me["state"], "invited");
    assert_eq!(
        session["last_message"]["text"],
        "Can you help with a billing case?"
    );
    assert_eq!(session["last_message"]["actor_name"], "Alice Agent");
    assert_eq!(session["unread"], 1);
    assert_eq!(
        b.entry("invited").await["event"]["entry"]["subject_id"],
        bob.id.as_str()
    );
    let first = b.entry("message").await;
    assert_eq!(first["event"]["entry"]["seq"], 2);

    // Flow 2: B accepts; A is told.
    let (status, accepted) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(accepted["state"], "connected");
    let told = a
        .until("connected", |f| {
            f["event"]["kind"] == "session" && f["event"]["session"]["state"] == "connected"
        })
        .await;
    assert_eq!(told["event"]["session"]["id"], id.as_str());
    assert_eq!(
        a.entry("joined").await["event"]["entry"]["actor_name"],
        "Bob Builder"
    );

    // Flow 3: both ways, REST and socket; every entry has a timestamp and a consecutive seq.
    let (status, ack) = app
        .send_message(&bob, &id, "b-1", "Sure, what's the account?")
        .await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["seq"], 4);
    assert_eq!(ack["duplicate"], false);
    let got = a
        .until("b-1", |f| f["event"]["entry"]["client_msg_id"] == "b-1")
        .await;
    assert_eq!(got["event"]["entry"]["text"], "Sure, what's the account?");
    assert_eq!(got["event"]["entry"]["actor_name"], "Bob Builder");
    assert!(got["event"]["entry"]["ts"].as_i64().unwrap() > 0);
    a.send(json!({"type": "send", "rid": "r1", "session_id": id, "client_msg_id": "a-1", "text": "ACC-1234\nsecond line"})).await;
    let ack = a.until("ack", |f| f["type"] == "ack").await;
    assert_eq!(ack["rid"], "r1");
    assert_eq!(ack["ack"]["seq"], 5);
    let got = b
        .until("a-1", |f| f["event"]["entry"]["client_msg_id"] == "a-1")
        .await;
    assert_eq!(got["event"]["entry"]["text"], "ACC-1234\nsecond line");

    // End Session ends it for both; no more messages.
    let (status, ended) = app
        .post(
            &alice.token,
            &format!("/api/v1/sessions/{id}/end"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(ended["state"], "ended");
    assert_eq!(ended["ended_by"], alice.id.as_str());
    let seen = b
        .until("ended", |f| {
            f["event"]["kind"] == "session" && f["event"]["session"]["state"] == "ended"
        })
        .await;
    assert_eq!(seen["event"]["session"]["ended_by"], alice.id.as_str());
    assert_eq!(
        b.entry("ended").await["event"]["entry"]["actor_name"],
        "Alice Agent"
    );
    let (status, error) = app.send_message(&bob, &id, "b-2", "too late").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (409, Some("session_ended"))
    );

    // Done removes it from that participant's workspace only; the transcript stays.
    let (status, _) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{id}/done"),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        b.event("session_removed").await["event"]["session_id"],
        id.as_str()
    );
    let (_, bobs) = app.get(&bob.token, "/api/v1/sessions").await;
    assert!(bobs.as_array().unwrap().is_empty());
    let (_, alices) = app.get(&alice.token, "/api/v1/sessions").await;
    assert_eq!(alices.as_array().unwrap().len(), 1);
    let kinds: Vec<String> = app
        .transcript(&bob, &id)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["invited", "message", "joined", "message", "message", "ended"]
    );
}

#[tokio::test]
async fn reject_tells_the_initiator_and_ends_the_session() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let mut a = app.desktop(&alice, None).await;
    let id = app.open_session(&alice, &bob, None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, view) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{id}/reject"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["state"], "ended");
    let told = a
        .until("ended", |f| {
            f["event"]["kind"] == "session" && f["event"]["session"]["state"] == "ended"
        })
        .await;
    let bob_part = told["event"]["session"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == bob.id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(bob_part["state"], "rejected");
    assert_eq!(
        a.entry("rejected").await["event"]["entry"]["actor_name"],
        "Bob Builder"
    );
    let (_, bobs) = app.get(&bob.token, "/api/v1/sessions").await;
    assert!(
        bobs.as_array().unwrap().is_empty(),
        "a rejected invitation leaves the workspace"
    );
    let (status, error) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (409, Some("session_ended"))
    );
}

#[tokio::test]
async fn an_unanswered_invitation_times_out_but_stays_acceptable() {
    let app = spawn_app_with(|c| c.im.invite_timeout_secs = 1).await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let mut a = app.desktop(&alice, None).await;
    let mut b = app.desktop(&bob, None).await;
    let id = app.open_session(&alice, &bob, Some("ping")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let timed_out = a.entry("timed_out").await;
    assert_eq!(timed_out["event"]["entry"]["subject_id"], bob.id.as_str());
    let update = b
        .until("timed out", |f| {
            f["event"]["kind"] == "session"
                && f["event"]["session"]["participants"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["invite_timed_out"] == true)
        })
        .await;
    assert_eq!(update["event"]["session"]["state"], "inviting");
    // Still pending in B's workspace, and B can accept later.
    let (_, workspace) = app.get(&bob.token, "/api/v1/sessions").await;
    assert_eq!(workspace[0]["id"], id.as_str());
    let (status, view) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["state"], "connected");
    // The time-out is reported once.
    let timeouts = app
        .transcript(&alice, &id)
        .await
        .iter()
        .filter(|e| e["kind"] == "timed_out")
        .count();
    assert_eq!(timeouts, 1);
}

#[tokio::test]
async fn the_initiator_can_cancel_a_pending_invitation() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let mut b = app.desktop(&bob, None).await;
    let id = app.open_session(&alice, &bob, None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.event("session").await;
    let (status, error) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (409, Some("invalid_state")),
        "only the initiator cancels"
    );
    let (status, view) = app
        .post(
            &alice.token,
            &format!("/api/v1/sessions/{id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["state"], "ended");
    assert_eq!(
        b.event("session_removed").await["event"]["session_id"],
        id.as_str()
    );
    let (status, error) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (409, Some("session_ended"))
    );
}

#[tokio::test]
async fn a_deferred_session_invites_with_its_first_message_and_done_before_cancels() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let mut b = app.desktop(&bob, None).await;
    let (status, view) = app
        .post(
            &alice.token,
            "/api/v1/sessions",
            json!({"target_id": bob.id, "defer_invite": true}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(view["state"], "not_connected");
    let id = view["id"].as_str().unwrap().to_owned();
    assert!(
        b.try_next(std::time::Duration::from_millis(300))
            .await
            .is_none(),
        "nobody is invited yet"
    );
    let (status, _) = app
        .send_message(&alice, &id, "m1", "Customer asks about a refund")
        .await;
    assert_eq!(status, 200);
    let invitation = b.event("session").await;
    assert_eq!(invitation["event"]["session"]["state"], "inviting");
    assert_eq!(
        invitation["event"]["session"]["last_message"]["text"],
        "Customer asks about a refund"
    );

    // Done before sending cancels without inviting anyone.
    let (_, view) = app
        .post(
            &alice.token,
            "/api/v1/sessions",
            json!({"target_id": bob.id, "defer_invite": true}),
        )
        .await;
    let second = view["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .post(
            &alice.token,
            &format!("/api/v1/sessions/{second}/done"),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let frames = b.drain(std::time::Duration::from_millis(300)).await;
    assert!(
        frames
            .iter()
            .all(|f| f["event"]["session"]["id"] != second.as_str()),
        "bob never heard of it: {frames:?}"
    );
    let kinds: Vec<_> = app
        .transcript(&alice, &second)
        .await
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("ended")]);
}

#[tokio::test]
async fn marks_are_stored_and_typing_is_relayed_but_not_stored() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await;
    let mut a = app.desktop(&alice, None).await;
    let mut b = app.desktop(&bob, None).await;
    let (_, ack) = app.send_message(&alice, &id, "m1", "hello").await;
    let seq = ack["seq"].as_u64().unwrap();
    b.entry("message").await;
    b.send(json!({"type": "mark", "rid": "k1", "session_id": id, "kind": "read", "seq": seq}))
        .await;
    assert_eq!(b.until("ok", |f| f["type"] == "ok").await["rid"], "k1");
    let mark = a.event("mark").await;
    assert_eq!(mark["event"]["mark"], "read");
    assert_eq!(mark["event"]["seq"], seq);
    let (_, view) = app
        .get(&alice.token, &format!("/api/v1/sessions/{id}"))
        .await;
    let bob_part = view["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == bob.id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (
            bob_part["read_seq"].as_u64(),
            bob_part["delivered_seq"].as_u64()
        ),
        (Some(seq), Some(seq))
    );
    let (_, bob_view) = app.get(&bob.token, &format!("/api/v1/sessions/{id}")).await;
    assert_eq!(bob_view["unread"], 0);

    b.send(json!({"type": "typing", "session_id": id, "state": "composing"}))
        .await;
    let typing = a.until("typing", |f| f["type"] == "typing").await;
    assert_eq!(
        (typing["user_id"].as_str(), typing["state"].as_str()),
        (Some(bob.id.as_str()), Some("composing"))
    );
    // Not stored: a resume from before it does not replay it.
    let mut replay = app.desktop(&alice, Some(0)).await;
    let frames = replay.drain(std::time::Duration::from_millis(300)).await;
    assert!(!frames.is_empty());
    assert!(frames.iter().all(|f| f["type"] != "typing"));
}

#[tokio::test]
async fn im_permission_is_enforced_both_ways() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let mallory = app
        .user_with("mallory", "Mallory Moreau", false, vec![])
        .await;
    let (status, error) = app
        .post(
            &alice.token,
            "/api/v1/sessions",
            json!({"target_id": mallory.id}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (403, Some("im_not_permitted"))
    );
    let (status, error) = app
        .post(
            &mallory.token,
            "/api/v1/sessions",
            json!({"target_id": alice.id}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (403, Some("im_not_permitted"))
    );
}

#[tokio::test]
async fn only_participants_read_a_session() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let carol = app.user("carol", "Carol Côté").await;
    let id = app.connected_session(&alice, &bob).await;
    for path in [
        format!("/api/v1/sessions/{id}"),
        format!("/api/v1/sessions/{id}/transcript"),
    ] {
        let (status, error) = app.get(&carol.token, &path).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (403, Some("not_participant")),
            "{path}"
        );
    }
    let (status, error) = app.send_message(&carol, &id, "c1", "let me in").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (403, Some("not_participant"))
    );
    let (status, error) = app
        .post(
            &carol.token,
            &format!("/api/v1/sessions/{id}/end"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (403, Some("not_participant"))
    );
}

#[tokio::test]
async fn a_retried_send_returns_the_first_ack_and_writes_once() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await;
    let mut b = app.desktop(&bob, None).await;
    let (_, first) = app.send_message(&alice, &id, "retry-me", "only once").await;
    let (_, again) = app.send_message(&alice, &id, "retry-me", "only once").await;
    assert_eq!(first["seq"], again["seq"]);
    assert_eq!(again["duplicate"], true);
    // Over the socket too.
    let mut a = app.desktop(&alice, None).await;
    a.send(json!({"type": "send", "rid": "x", "session_id": id, "client_msg_id": "retry-me", "text": "only once"})).await;
    let ack = a.until("ack", |f| f["type"] == "ack").await;
    assert_eq!(
        (ack["ack"]["seq"].clone(), ack["ack"]["duplicate"].clone()),
        (first["seq"].clone(), json!(true))
    );
    let messages = app
        .transcript(&alice, &id)
        .await
        .iter()
        .filter(|e| e["client_msg_id"] == "retry-me")
        .count();
    assert_eq!(messages, 1);
    let delivered = b
        .drain(std::time::Duration::from_millis(300))
        .await
        .iter()
        .filter(|f| f["event"]["entry"]["client_msg_id"] == "retry-me")
        .count();
    assert_eq!(delivered, 1, "the receiver sees it once");
    let (status, error) = app
        .send_message(&alice, &id, "retry-me", "different text")
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (409, Some("idempotency_conflict"))
    );
}

#[tokio::test]
async fn session_creation_is_idempotent_by_client_id() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let body = json!({"target_id": bob.id, "client_id": "open-1"});
    let (_, first) = app
        .post(&alice.token, "/api/v1/sessions", body.clone())
        .await;
    let (_, second) = app.post(&alice.token, "/api/v1/sessions", body).await;
    assert_eq!(first["id"], second["id"]);
    let (_, bobs) = app.get(&bob.token, "/api/v1/sessions").await;
    assert_eq!(bobs.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn transcript_pages_forwards_and_backwards() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await;
    for i in 0..10 {
        app.send_message(&alice, &id, &format!("m{i}"), &format!("message {i}"))
            .await;
    }
    // Entries: invited(1), joined(2), messages 3..=12.
    let (_, page) = app
        .get(
            &bob.token,
            &format!("/api/v1/sessions/{id}/transcript?before=13&limit=4"),
        )
        .await;
    let seqs: Vec<u64> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [9, 10, 11, 12]);
    assert_eq!(page["has_more"], true);
    let (_, page) = app
        .get(
            &bob.token,
            &format!("/api/v1/sessions/{id}/transcript?after=10&limit=4"),
        )
        .await;
    let seqs: Vec<u64> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [11, 12]);
    assert_eq!(page["has_more"], false);
}

#[tokio::test]
async fn withdrawing_the_im_permission_takes_effect_on_open_sockets() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await;
    let mut b = app.desktop(&bob, None).await;
    app.backline
        .update_user(
            None,
            &bob.id,
            backline_protocol::admin::UpdateUserRequest {
                im_permitted: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    b.send(json!({"type": "send", "rid": "r", "session_id": id, "client_msg_id": "b1", "text": "still here?"})).await;
    let error = b.until("error", |f| f["type"] == "error").await;
    assert_eq!(
        (error["rid"].as_str(), error["code"].as_str()),
        (Some("r"), Some("im_not_permitted"))
    );
    let (status, error) = app.send_message(&alice, &id, "a1", "towards bob").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (403, Some("im_not_permitted"))
    );
    assert!(app
        .transcript(&alice, &id)
        .await
        .iter()
        .all(|e| e["kind"] != "message"));
}

#[tokio::test]
async fn pipelined_sends_commit_and_are_acknowledged_in_the_order_they_were_sent() {
    let app = spawn_app_with(|config| {
        config.limits.rate_per_second = 10_000;
        config.limits.rate_burst = 10_000;
    })
    .await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let id = app.connected_session(&alice, &bob).await;
    let mut a = app.desktop(&alice, None).await;
    // 200 sends without waiting for any answer; one refused in the middle.
    for i in 0..200 {
        let text = if i == 100 {
            String::new()
        } else {
            format!("n{i}")
        };
        a.send(
            json!({"type": "send", "rid": format!("r{i}"), "session_id": id,
            "client_msg_id": format!("c{i}"), "text": text}),
        )
        .await;
    }
    let mut answered = Vec::new();
    while answered.len() < 200 {
        let frame = a.next().await;
        if frame["type"] == "ack" {
            answered.push((
                frame["rid"].as_str().unwrap().to_owned(),
                frame["ack"]["seq"].as_u64(),
            ));
        } else if frame["type"] == "error" {
            answered.push((frame["rid"].as_str().unwrap().to_owned(), None));
        }
    }
    let rids: Vec<String> = answered.iter().map(|(rid, _)| rid.clone()).collect();
    let expected: Vec<String> = (0..200).map(|i| format!("r{i}")).collect();
    assert_eq!(rids, expected, "answers come in the order of the sends");
    assert_eq!(answered[100].1, None, "the empty message is refused");
    let seqs: Vec<u64> = answered.iter().filter_map(|(_, seq)| *seq).collect();
    assert_eq!(seqs.len(), 199);
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "the transcript keeps the order of the sends: {seqs:?}"
    );
    let texts: Vec<String> = app
        .transcript(&alice, &id)
        .await
        .iter()
        .filter(|e| e["kind"] == "message")
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..200)
        .filter(|i| *i != 100)
        .map(|i| format!("n{i}"))
        .collect();
    assert_eq!(texts, expected);
}

#[tokio::test]
async fn concurrent_pipelined_sends_over_shared_sessions_keep_seqs_gapless_and_acks_stored() {
    let app = spawn_app_with(|config| {
        config.limits.rate_per_second = 10_000;
        config.limits.rate_burst = 10_000;
    })
    .await;
    let mut users = Vec::new();
    for (name, display) in [
        ("ann", "Ann"),
        ("ben", "Ben"),
        ("cat", "Cat"),
        ("dan", "Dan"),
    ] {
        users.push(app.user(name, display).await);
    }
    // Five sessions, each user in two or three of them.
    let mut sessions: Vec<(String, [usize; 2])> = Vec::new();
    for pair in [[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]] {
        let id = app
            .connected_session(&users[pair[0]], &users[pair[1]])
            .await;
        sessions.push((id, pair));
    }
    // Every user pipelines 60 sends over its sessions at once, all four
    // together; every tenth repeats the previous send (same client id and
    // text): a retry, answered with the first acknowledgement.
    let mut tasks = Vec::new();
    for (u, user) in users.iter().enumerate() {
        let mine: Vec<String> = sessions
            .iter()
            .filter(|(_, pair)| pair.contains(&u))
            .map(|(id, _)| id.clone())
            .collect();
        let mut desktop = app.desktop(user, None).await;
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            for i in 0..60 {
                let n = if i % 10 == 9 { i - 1 } else { i };
                let session = mine[n % mine.len()].clone();
                let (cmid, text) = (format!("u{u}-{n}"), format!("from {u}: {n}"));
                desktop
                    .send(
                        json!({"type": "send", "rid": format!("r{i}"), "session_id": session,
                        "client_msg_id": cmid, "text": text}),
                    )
                    .await;
                sent.push((session, cmid, text, n != i));
            }
            let mut acks = Vec::new();
            while acks.len() < sent.len() {
                let frame = desktop.next().await;
                match frame["type"].as_str() {
                    Some("ack") => acks.push(frame["ack"].clone()),
                    Some("error") => panic!("a send was refused: {frame}"),
                    _ => {}
                }
            }
            sent.into_iter().zip(acks).collect::<Vec<_>>()
        }));
    }
    let mut acked = std::collections::HashMap::new();
    for task in tasks {
        for ((session, cmid, text, retry), ack) in task.await.unwrap() {
            assert_eq!(ack["session_id"], session.as_str());
            assert_eq!(ack["duplicate"].as_bool(), Some(retry), "{cmid}: {ack}");
            let seq = ack["seq"].as_u64().unwrap();
            let first = acked.entry((session, cmid.clone())).or_insert((seq, text));
            assert_eq!(
                first.0, seq,
                "a retry answers the first acknowledgement: {cmid}"
            );
        }
    }
    // Every session's transcript: seqs 1..n; each acknowledged message at
    // its seq, once.
    let mut messages = 0;
    for (id, pair) in &sessions {
        let entries = app.transcript(&users[pair[0]], id).await;
        let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (1..=entries.len() as u64).collect::<Vec<_>>(), "{id}");
        for entry in entries.iter().filter(|e| e["kind"] == "message") {
            messages += 1;
            let key = (
                id.clone(),
                entry["client_msg_id"].as_str().unwrap().to_owned(),
            );
            let (seq, text) = &acked[&key];
            assert_eq!(
                (entry["seq"].as_u64(), entry["text"].as_str()),
                (Some(*seq), Some(text.as_str()))
            );
        }
    }
    assert_eq!(
        messages,
        acked.len(),
        "every acknowledged message is stored once"
    );
    assert_eq!(messages, 4 * 54);
    // Every user's stream, replayed from the start: seqs 1..head, and the
    // event of every message of the user's sessions.
    for (u, user) in users.iter().enumerate() {
        let mut desktop = app.desktop(user, Some(0)).await;
        let head = desktop.head;
        let mut seqs = Vec::new();
        let mut seen = std::collections::HashSet::new();
        while seqs.len() < head as usize {
            let frame = desktop.next().await;
            if frame["type"] != "event" {
                continue;
            }
            seqs.push(frame["seq"].as_u64().unwrap());
            let event = &frame["event"];
            if event["kind"] == "transcript" && event["entry"]["kind"] == "message" {
                let entry = &event["entry"];
                seen.insert((
                    event["session_id"].as_str().unwrap().to_owned(),
                    entry["client_msg_id"].as_str().unwrap().to_owned(),
                    entry["seq"].as_u64().unwrap(),
                ));
            }
        }
        assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "stream of user {u}");
        let expected: std::collections::HashSet<_> = acked
            .iter()
            .filter(|((session, _), _)| {
                sessions
                    .iter()
                    .any(|(id, pair)| id == session && pair.contains(&u))
            })
            .map(|((session, cmid), (seq, _))| (session.clone(), cmid.clone(), *seq))
            .collect();
        assert_eq!(
            seen, expected,
            "user {u} heard of every message of their sessions"
        );
    }
}
