//! Supervision: a supervisor of a consultation's group joins it (everyone
//! in it sees so, live and on replay, and the supervisor then reads the case
//! data) and whispers to one participant, whom alone it reaches.

use std::time::Duration;

use backline_protocol::model::Role;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Desktop, TestApp, User};
use crate::history_hardening::accepted_consultation;

/// Alice's live voice call and a consultation with Bob, who accepted;
/// returns the interaction and the session.
async fn consultation(app: &TestApp, alice: &User, bob: &User) -> (String, String) {
    accepted_consultation(app, alice, bob, "Can you approve a refund?").await
}

/// A group with `members`, supervised by `supervisor`.
async fn supervised_group(app: &TestApp, name: &str, members: &[&User], supervisor: &User) {
    let group = app.backline.create_group(None, name).await.expect("group");
    for member in members {
        app.backline
            .set_group_member(None, &group.id, &member.id, true)
            .await
            .expect("member");
    }
    app.backline
        .set_group_supervisor(None, &group.id, &supervisor.id, true)
        .await
        .expect("supervisor");
}

async fn join(app: &TestApp, user: &User, session: &str) -> (u16, Value) {
    app.post(
        &user.token,
        &format!("/api/v1/sessions/{session}/join"),
        json!({}),
    )
    .await
}

async fn whisper(app: &TestApp, from: &User, session: &str, to: &str, text: &str) -> (u16, Value) {
    app.post(
        &from.token,
        &format!("/api/v1/sessions/{session}/whisper"),
        json!({"to": to, "text": text, "client_msg_id": format!("w-{text}")}),
    )
    .await
}

fn is_whisper(frame: &Value) -> bool {
    frame["type"] == "event"
        && frame["event"]["kind"] == "transcript"
        && frame["event"]["entry"]["kind"] == "whisper"
}

#[tokio::test]
async fn only_a_supervisor_of_the_consultations_groups_joins_and_everyone_sees_it() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let judy = app.user("judy", "Judy Jensen").await;
    let kim = app.user("kim", "Kim Other").await;
    let carol = app.user("carol", "Carol Outsider").await;
    supervised_group(&app, "Router Experts", &[&bob], &judy).await;
    supervised_group(&app, "Billing", &[&carol], &kim).await;
    let mut alice_ws = app.desktop(&alice, None).await;
    let mut bob_ws = app.desktop(&bob, None).await;
    let (interaction, session) = consultation(&app, &alice, &bob).await;

    // Before joining, the case data is not shared with the supervisor.
    let (status, refused) = app
        .get(&judy.token, &format!("/api/v1/interactions/{interaction}"))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("not_shared"))
    );
    // Nobody else joins: not a supervisor, nor one of another group, nor a participant.
    for user in [&carol, &kim, &alice] {
        let (status, refused) = join(&app, user, &session).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (403, Some("forbidden")),
            "{}: {refused}",
            user.id
        );
    }
    let (status, missing) = join(&app, &judy, "no-such-session").await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (404, Some("session_not_found"))
    );

    let (status, view) = join(&app, &judy, &session).await;
    assert_eq!(status, 200, "{view}");
    let me = view["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == judy.id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{view}"));
    assert_eq!(
        (me["role"].as_str(), me["state"].as_str()),
        (Some("supervisor"), Some("joined"))
    );
    for ws in [&mut alice_ws, &mut bob_ws] {
        let joined = ws
            .until("the supervisor joined", |f| {
                f["type"] == "event"
                    && f["event"]["kind"] == "transcript"
                    && f["event"]["entry"]["actor_id"] == judy.id.as_str()
            })
            .await;
        assert_eq!(joined["event"]["entry"]["kind"], "joined");
        assert_eq!(
            joined["event"]["entry"]["text"],
            "Judy Jensen (supervisor) joined"
        );
    }
    // On replay too, and a second join changes nothing.
    let (status, _) = join(&app, &judy, &session).await;
    assert_eq!(status, 200);
    let joins: Vec<Value> = app
        .transcript(&alice, &session)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "joined" && e["actor_id"] == judy.id.as_str())
        .collect();
    assert_eq!(joins.len(), 1, "{joins:?}");
    assert_eq!(joins[0]["text"], "Judy Jensen (supervisor) joined");

    // Now the sharing rule lets her read the case data; every read is audited.
    let (status, read) = app
        .get(&judy.token, &format!("/api/v1/interactions/{interaction}"))
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["id"], interaction.as_str());
    let admin = app
        .user_with("ada", "Ada Admin", true, vec![Role::Admin])
        .await;
    let (status, audit) = app.get(&admin.token, "/api/v1/admin/audit").await;
    assert_eq!(status, 200, "{audit}");
    let judys: Vec<(bool, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["actor_id"] == judy.id.as_str()
                && e["resource"] == format!("interaction:{interaction}").as_str()
        })
        .map(|e| {
            (
                e["allowed"] == true,
                e["detail"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(judys.iter().any(|(allowed, _)| !allowed), "{judys:?}");
    assert!(
        judys
            .iter()
            .any(|(allowed, detail)| *allowed && detail.contains("supervisor")),
        "{judys:?}"
    );
    // An ended session cannot be joined.
    let (status, _) = app
        .post(
            &alice.token,
            &format!("/api/v1/sessions/{session}/end"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, ended) = join(&app, &judy, &session).await;
    assert_eq!(
        (status, ended["code"].as_str()),
        (409, Some("session_ended"))
    );
}

#[tokio::test]
async fn a_whisper_reaches_its_addressee_only() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let judy = app.user("judy", "Judy Jensen").await;
    let carol = app.user("carol", "Carol Outsider").await;
    // Judy supervises Alice's group: the initiator's group counts too.
    supervised_group(&app, "Front Desk", &[&alice], &judy).await;
    let mut alice_ws = app.desktop(&alice, None).await;
    let mut bob_ws = app.desktop(&bob, None).await;
    let mut judy_ws = app.desktop(&judy, None).await;
    let (interaction, session) = consultation(&app, &alice, &bob).await;

    // Only a joined supervisor whispers.
    let (status, refused) = whisper(&app, &judy, &session, &alice.id, "early").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("not_participant"))
    );
    let (status, view) = join(&app, &judy, &session).await;
    assert_eq!(status, 200, "{view}");
    let (status, refused) = whisper(&app, &bob, &session, &alice.id, "sneaky").await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("forbidden")));
    // To a joined participant other than herself.
    for to in [carol.id.as_str(), judy.id.as_str(), "nobody"] {
        let (status, refused) = whisper(&app, &judy, &session, to, "astray").await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (400, Some("invalid_request")),
            "{refused}"
        );
    }
    let (status, refused) = whisper(&app, &judy, &session, &alice.id, "  ").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("empty_message"))
    );

    let text = "Offer the goodwill voucher instead";
    let (status, ack) = whisper(&app, &judy, &session, &alice.id, text).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["duplicate"], false);
    let seq = ack["seq"].as_u64().unwrap();
    // A retry answers the first acknowledgement and writes nothing.
    let (status, again) = whisper(&app, &judy, &session, &alice.id, text).await;
    assert_eq!(
        (status, again["seq"].as_u64(), again["duplicate"].as_bool()),
        (200, Some(seq), Some(true))
    );

    for ws in [&mut alice_ws, &mut judy_ws] {
        let got = ws.until("the whisper", is_whisper).await;
        let entry = &got["event"]["entry"];
        assert_eq!(entry["text"], text);
        assert_eq!(entry["actor_id"], judy.id.as_str());
        assert_eq!(entry["subject_id"], alice.id.as_str());
    }
    // Bob's socket: a message sent after the whisper arrives, the whisper never.
    let (status, _) = app
        .send_message(&alice, &session, "after", "Checking now")
        .await;
    assert_eq!(status, 200);
    let mut seen = Vec::new();
    loop {
        let frame = bob_ws.next().await;
        let done = frame["event"]["entry"]["client_msg_id"] == "after";
        seen.push(frame);
        if done {
            break;
        }
    }
    seen.extend(bob_ws.drain(Duration::from_millis(200)).await);
    assert!(!seen.iter().any(is_whisper), "{seen:?}");
    assert!(
        !seen.iter().any(|f| f.to_string().contains(text)),
        "{seen:?}"
    );

    // Transcripts: Alice's and Judy's carry it, marked; Bob's does not.
    for user in [&alice, &judy] {
        let entries = app.transcript(user, &session).await;
        let found = entries
            .iter()
            .find(|e| e["seq"].as_u64() == Some(seq))
            .unwrap_or_else(|| panic!("{}: {entries:?}", user.id));
        assert_eq!(found["kind"], "whisper");
        assert_eq!(found["subject_id"], alice.id.as_str());
        assert_eq!(found["text"], text);
    }
    let bobs = app.transcript(&bob, &session).await;
    assert!(
        !bobs
            .iter()
            .any(|e| e["kind"] == "whisper" || e["seq"].as_u64() == Some(seq)),
        "{bobs:?}"
    );
    assert!(
        bobs.iter().any(|e| e["client_msg_id"] == "after"),
        "{bobs:?}"
    );
    // Paging backwards from the end skips it too.
    let (status, page) = app
        .get(
            &bob.token,
            &format!(
                "/api/v1/sessions/{session}/transcript?before={}&limit=2",
                seq + 2
            ),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(!page.to_string().contains(text), "{page}");
    // Bob's replay of his stream has no trace of it.
    let mut replay = app.desktop(&bob, Some(0)).await;
    let replayed = replay.drain(Duration::from_millis(300)).await;
    assert!(
        !replayed.iter().any(|f| f.to_string().contains(text)),
        "{replayed:?}"
    );

    // The transcript attached when the consultation ends, and the contact's
    // history search, never show it.
    let (status, _) = app
        .post(
            &alice.token,
            &format!("/api/v1/sessions/{session}/end"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, found) = app
        .get(
            &alice.token,
            &format!("/api/v1/interactions/{interaction}/history?q=checking"),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    let attached = found["items"][0]["transcripts"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{found}"));
    assert!(
        attached.contains("Judy Jensen (supervisor) joined"),
        "{attached}"
    );
    assert!(
        attached.contains("Checking now") && !attached.contains("goodwill"),
        "{attached}"
    );
    let (_, none) = app
        .get(
            &alice.token,
            &format!("/api/v1/interactions/{interaction}/history?q=goodwill"),
        )
        .await;
    assert_eq!(none["items"].as_array().map(Vec::len), Some(0), "{none}");
    // An ended session takes no whisper.
    let (status, ended) = whisper(&app, &judy, &session, &alice.id, "late").await;
    assert_eq!(
        (status, ended["code"].as_str()),
        (409, Some("session_ended"))
    );
}

fn board_session<'a>(board: &'a Value, session: &str) -> Option<&'a Value> {
    board["consultations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["session"]["id"] == session)
}

#[tokio::test]
async fn the_board_lists_the_supervised_groups_members_and_their_open_consultations() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let judy = app.user("judy", "Judy Jensen").await;
    let kim = app.user("kim", "Kim Other").await;
    let carol = app.user("carol", "Carol Outsider").await;
    supervised_group(&app, "Router Experts", &[&bob, &carol], &judy).await;
    supervised_group(&app, "Billing", &[&kim], &kim).await;
    let _bob_ws = app.desktop(&bob, None).await;
    let (status, _) = app
        .put(&bob.token, "/api/v1/me/status", json!({"status": "ready"}))
        .await;
    assert_eq!(status, 200);

    let board = |user: &User| {
        let token = user.token.clone();
        let app = &app;
        async move {
            let (status, board) = app.get(&token, "/api/v1/supervision/board").await;
            assert_eq!(status, 200, "{board}");
            board
        }
    };
    let first = board(&judy).await;
    assert_eq!(first["groups"].as_array().unwrap().len(), 1, "{first}");
    assert_eq!(first["groups"][0]["name"], "Router Experts");
    let members: Vec<(String, String)> = first["groups"][0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["display_name"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        members,
        [
            ("Bob Builder".to_owned(), "ready".to_owned()),
            ("Carol Outsider".to_owned(), "offline".to_owned())
        ]
    );
    assert_eq!(first["consultations"], json!([]));
    // Someone who supervises nothing has an empty board.
    let none = board(&alice).await;
    assert_eq!(none, json!({"groups": [], "consultations": []}));

    // A consultation to Bob waits, then is connected.
    let platform = crate::interactions::integration(&app, None).await;
    let (status, view) = app
        .post(
            &platform,
            "/api/v1/platform/interactions",
            crate::interactions::voice_call("live", "alice"),
        )
        .await;
    assert_eq!(status, 201, "{view}");
    let interaction = view["id"].as_str().unwrap().to_owned();
    let (status, session) = app
        .post(
            &alice.token,
            "/api/v1/sessions",
            json!({"target_id": bob.id, "parent_interaction_id": interaction,
                   "first_message": {"client_msg_id": "m1", "text": "A refund?"}}),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let session = session["id"].as_str().unwrap().to_owned();
    let waiting = board(&judy).await;
    let entry = board_session(&waiting, &session).unwrap_or_else(|| panic!("{waiting}"));
    assert_eq!(entry["session"]["state"], "inviting");
    assert_eq!(entry["session"]["created_by"], alice.id.as_str());
    assert_eq!(
        entry["session"]["parent_interaction_id"],
        interaction.as_str()
    );
    assert_eq!(entry["interaction_subject"], view["subject"]);
    assert!(entry["waiting_since"].as_i64().unwrap() > 0);
    assert_eq!(entry["connected_since"], Value::Null);
    // Kim supervises neither Alice's nor Bob's group.
    assert_eq!(board(&kim).await["consultations"], json!([]));

    let (status, _) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{session}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let connected = board(&judy).await;
    let entry = board_session(&connected, &session).unwrap_or_else(|| panic!("{connected}"));
    assert_eq!(entry["session"]["state"], "connected");
    assert!(
        entry["connected_since"].as_i64().unwrap() >= entry["waiting_since"].as_i64().unwrap(),
        "{entry}"
    );
    // From the board she joins; once ended, it leaves the board.
    let (status, _) = join(&app, &judy, &session).await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            &alice.token,
            &format!("/api/v1/sessions/{session}/end"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(board(&judy).await["consultations"], json!([]));
}

/// A live voice interaction of Alice's (username `alice`) from the
/// `platform`: `(interaction, its contact call)`.
async fn live_call(
    app: &TestApp,
    platform: &str,
    alice: &User,
    external_id: &str,
) -> (String, String) {
    let (status, view) = app
        .post(
            platform,
            "/api/v1/platform/interactions",
            crate::interactions::voice_call(external_id, "alice"),
        )
        .await;
    assert_eq!(status, 201, "{view}");
    let interaction = view["id"].as_str().unwrap().to_owned();
    let (_, calls) = app.get(&alice.token, "/api/v1/calls").await;
    let call = calls
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["interaction_id"] == interaction.as_str())
        .unwrap_or_else(|| panic!("{calls}"));
    (interaction, call["id"].as_str().unwrap().to_owned())
}

/// A group `name` of `members` supervised by `supervisor`, whose waves wait
/// long (so they never reach the supervisors here) and whose answer-time
/// target is one second.
async fn escalating_group(
    app: &TestApp,
    name: &str,
    members: &[&User],
    supervisor: &User,
    to_supervisors: bool,
) -> String {
    supervised_group(app, name, members, supervisor).await;
    let group = app.backline.find_group(name).await.expect("group");
    app.backline
        .update_group(
            None,
            group.id.as_str(),
            backline_protocol::admin::UpdateGroupRequest {
                answer_secs: Some(600),
                escalate_secs: Some(1),
                escalate_to_supervisors: Some(to_supervisors),
                ..Default::default()
            },
        )
        .await
        .expect("settings");
    group.id.into_string()
}

/// The id of the group named `name`.
async fn group_id(app: &TestApp, name: &str) -> String {
    let group = app.backline.find_group(name).await.expect("group");
    group.id.into_string()
}

/// Alice's group consultation about `interaction`; returns the session id.
async fn group_offer(app: &TestApp, alice: &User, group: &str, interaction: &str) -> String {
    let (status, view) = app
        .post(
            &alice.token,
            "/api/v1/sessions",
            json!({"target_id": group, "parent_interaction_id": interaction,
                   "first_message": {"client_msg_id": uuid::Uuid::now_v7().to_string(),
                                     "text": "Who can approve a refund?"}}),
        )
        .await;
    assert_eq!(status, 201, "{view}");
    view["id"].as_str().unwrap().to_owned()
}

async fn ready(app: &TestApp, user: &User) {
    let (status, me) = app
        .put(&user.token, "/api/v1/me/status", json!({"status": "ready"}))
        .await;
    assert_eq!(status, 200, "{me}");
}

async fn board_of(app: &TestApp, user: &User) -> Value {
    let (status, board) = app.get(&user.token, "/api/v1/supervision/board").await;
    assert_eq!(status, 200, "{board}");
    board
}

fn is_board_changed(frame: &Value, group: &str) -> bool {
    frame["type"] == "event"
        && frame["event"]["kind"] == "board_changed"
        && frame["event"]["group_ids"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|id| id == group))
}

/// Waits for a board notice about `group` on `desktop`, then reads
/// `user`'s board: the entry of `session` on it.
async fn noticed(
    app: &TestApp,
    desktop: &mut Desktop,
    user: &User,
    group: &str,
    session: &str,
    what: &str,
) -> Value {
    desktop.until(what, |f| is_board_changed(f, group)).await;
    let board = board_of(app, user).await;
    board_session(&board, session)
        .cloned()
        .unwrap_or_else(|| panic!("{what}: {board}"))
}

async fn post_ok(app: &TestApp, user: &User, path: &str) -> Value {
    let (status, body) = app.post(&user.token, path, json!({})).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn participant_state(session: &Value, user: &User) -> Option<String> {
    session["participants"]
        .as_array()?
        .iter()
        .find(|p| p["user_id"] == user.id.as_str())
        .map(|p| p["state"].as_str().unwrap_or("").to_owned())
}

#[tokio::test]
async fn an_unanswered_group_consultation_escalates_on_the_board_and_to_the_supervisors() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let dave = app.user("dave", "Dave Durand").await;
    let erin = app.user("erin", "Erin Ek").await;
    let judy = app.user("judy", "Judy Jensen").await;
    let kim = app.user("kim", "Kim Keller").await;
    let mut dave_ws = app.desktop(&dave, None).await;
    let _erin_ws = app.desktop(&erin, None).await;
    let mut judy_ws = app.desktop(&judy, None).await;
    let mut kim_ws = app.desktop(&kim, None).await;
    ready(&app, &dave).await;
    ready(&app, &erin).await;
    // Support escalates to its supervisor at once; Billing only marks it.
    let support = escalating_group(&app, "Support", &[&dave], &judy, true).await;
    let billing = escalating_group(&app, "Billing", &[&erin], &kim, false).await;
    let platform = crate::interactions::integration(&app, None).await;
    let (first, _) = live_call(&app, &platform, &alice, "escalate-1").await;
    let (second, _) = live_call(&app, &platform, &alice, "escalate-2").await;
    let to_support = group_offer(&app, &alice, &support, &first).await;
    let to_billing = group_offer(&app, &alice, &billing, &second).await;

    // Dave is offered it and does not answer: past one second, Judy is
    // offered it too (an invitation like a member's), and her board marks it.
    dave_ws
        .until("Dave's invitation", |f| {
            f["type"] == "event"
                && f["event"]["kind"] == "session"
                && f["event"]["session"]["id"] == to_support.as_str()
        })
        .await;
    let invited = judy_ws
        .until("Judy offered the escalated consultation", |f| {
            f["type"] == "event"
                && f["event"]["kind"] == "session"
                && f["event"]["session"]["id"] == to_support.as_str()
                && participant_state(&f["event"]["session"], &judy).as_deref() == Some("invited")
        })
        .await;
    let offer = &invited["event"]["session"]["offer"];
    let (started, escalated) = (
        offer["started_at"].as_i64().unwrap(),
        offer["escalated_at"]
            .as_i64()
            .unwrap_or_else(|| panic!("{offer}")),
    );
    assert!(escalated >= started + 1000, "{offer}");
    assert_eq!(offer["state"], "open", "{offer}");
    assert_eq!(offer["wave"], 1, "the waves go on as before: {offer}");
    let board = board_of(&app, &judy).await;
    let entry = board_session(&board, &to_support).unwrap_or_else(|| panic!("{board}"));
    assert_eq!(entry["session"]["offer"]["escalated_at"], escalated);
    assert_eq!(entry["connected_since"], Value::Null);
    // The supervisor takes it; Dave's invitation is withdrawn.
    let taken = post_ok(
        &app,
        &judy,
        &format!("/api/v1/sessions/{to_support}/accept"),
    )
    .await;
    assert_eq!(taken["offer"]["taken_by"], judy.id.as_str());
    assert_eq!(taken["offer"]["escalated_at"], escalated);
    assert_eq!(
        participant_state(&taken, &dave).as_deref(),
        Some("cancelled")
    );

    // Billing's escalation is only a mark: Kim's board shows it, she is not offered it.
    let marked = loop {
        kim_ws
            .until("Kim's board changed", |f| is_board_changed(f, &billing))
            .await;
        // (The first notices are of the group's making and of the offer.)
        let board = board_of(&app, &kim).await;
        if let Some(entry) = board_session(&board, &to_billing) {
            if !entry["session"]["offer"]["escalated_at"].is_null() {
                break entry.clone();
            }
        }
    };
    assert_eq!(
        participant_state(&marked["session"], &kim),
        None,
        "{marked}"
    );
    assert_eq!(
        participant_state(&marked["session"], &erin).as_deref(),
        Some("invited")
    );
    // An escalation happens once.
    let escalated_at = marked["session"]["offer"]["escalated_at"].clone();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let again = board_of(&app, &kim).await;
    assert_eq!(
        board_session(&again, &to_billing).unwrap()["session"]["offer"]["escalated_at"],
        escalated_at
    );
}

#[tokio::test]
async fn every_change_the_board_shows_reaches_its_supervisors_live_and_on_replay() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let dave = app.user("dave", "Dave Durand").await;
    let judy = app.user("judy", "Judy Jensen").await;
    let kim = app.user("kim", "Kim Keller").await;
    let carol = app.user("carol", "Carol Outsider").await;
    let _dave_ws = app.desktop(&dave, None).await;
    ready(&app, &dave).await;
    supervised_group(&app, "Support", &[&dave], &judy).await;
    supervised_group(&app, "Billing", &[&carol], &kim).await;
    let support = group_id(&app, "Support").await;
    let mut judy_ws = app.desktop(&judy, None).await;
    let mut kim_ws = app.desktop(&kim, None).await;
    let from = judy_ws.head;

    let platform = crate::interactions::integration(&app, None).await;
    let (interaction, call) = live_call(&app, &platform, &alice, "board-1").await;
    let session = group_offer(&app, &alice, &support, &interaction).await;
    let entry = noticed(&app, &mut judy_ws, &judy, &support, &session, "offered").await;
    assert_eq!(entry["session"]["offer"]["state"], "open");
    assert_eq!(entry["on_hold_since"], Value::Null);

    // The contact is put on hold: the board says since when.
    let held = post_ok(&app, &alice, &format!("/api/v1/calls/{call}/hold")).await;
    let entry = noticed(&app, &mut judy_ws, &judy, &support, &session, "on hold").await;
    assert_eq!(entry["on_hold_since"], held["hold_started_at"], "{entry}");

    post_ok(&app, &dave, &format!("/api/v1/sessions/{session}/accept")).await;
    let entry = noticed(&app, &mut judy_ws, &judy, &support, &session, "taken").await;
    assert_eq!(entry["session"]["state"], "connected");
    assert!(entry["connected_since"].is_i64(), "{entry}");

    post_ok(&app, &alice, &format!("/api/v1/calls/{call}/retrieve")).await;
    let entry = noticed(&app, &mut judy_ws, &judy, &support, &session, "retrieved").await;
    assert_eq!(entry["on_hold_since"], Value::Null);

    // A member's status shows on the board.
    let (status, _) = app
        .put(&dave.token, "/api/v1/me/status", json!({"status": "away"}))
        .await;
    assert_eq!(status, 200);
    noticed(&app, &mut judy_ws, &judy, &support, &session, "Dave away").await;
    let board = board_of(&app, &judy).await;
    assert_eq!(
        board["groups"][0]["members"][0]["status"], "away",
        "{board}"
    );

    post_ok(&app, &judy, &format!("/api/v1/sessions/{session}/join")).await;
    noticed(&app, &mut judy_ws, &judy, &support, &session, "joined").await;
    post_ok(&app, &alice, &format!("/api/v1/sessions/{session}/end")).await;
    judy_ws
        .until("ended", |f| is_board_changed(f, &support))
        .await;
    assert_eq!(board_of(&app, &judy).await["consultations"], json!([]));
    // Kim supervises neither group involved: her stream never heard of it.
    let kims = kim_ws.drain(Duration::from_millis(200)).await;
    assert!(
        !kims.iter().any(|f| f["event"]["kind"] == "board_changed"),
        "{kims:?}"
    );

    // The notices are stored: a desktop resuming from before them gets each
    // one again, in order (offered, held, taken, retrieved, away, joined, ended).
    drop(judy_ws);
    let mut again = app.desktop(&judy, Some(from)).await;
    let replayed: Vec<Value> = again
        .drain(Duration::from_millis(300))
        .await
        .into_iter()
        .filter(|f| is_board_changed(f, &support))
        .collect();
    assert_eq!(replayed.len(), 7, "{replayed:?}");
    let seqs: Vec<u64> = replayed
        .iter()
        .map(|f| f["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(seqs[0] > from);
}

#[tokio::test]
async fn a_board_notice_written_on_one_node_reaches_the_supervisor_on_another_and_replays_there() {
    let Some((node_a, node_b)) = crate::cluster::two_nodes().await else {
        return;
    };
    let alice = node_b.user("alice", "Alice Agent").await;
    let dave = node_b.user("dave", "Dave Durand").await;
    let judy = node_b.user("judy", "Judy Jensen").await;
    supervised_group(&node_b, "Support", &[&dave], &judy).await;
    let support = group_id(&node_b, "Support").await;
    // Judy's desktop is on node A; everything else happens on node B.
    let mut judy_ws = node_a.desktop(&judy, None).await;
    let from = judy_ws.head;
    let platform = crate::interactions::integration(&node_b, None).await;
    let (interaction, _) = live_call(&node_b, &platform, &alice, "cluster-1").await;
    let (status, view) = node_b
        .post(
            &alice.token,
            "/api/v1/sessions",
            json!({"target_id": dave.id, "parent_interaction_id": interaction,
                   "first_message": {"client_msg_id": "m1", "text": "A refund?"}}),
        )
        .await;
    assert_eq!(status, 201, "{view}");
    let session = view["id"].as_str().unwrap().to_owned();
    let entry = noticed(&node_a, &mut judy_ws, &judy, &support, &session, "opened").await;
    assert_eq!(entry["session"]["state"], "inviting");
    post_ok(
        &node_b,
        &dave,
        &format!("/api/v1/sessions/{session}/accept"),
    )
    .await;
    let entry = noticed(&node_a, &mut judy_ws, &judy, &support, &session, "accepted").await;
    assert_eq!(entry["session"]["state"], "connected");
    // Resuming on node B replays the same notices, with the same seqs.
    let live: Vec<u64> = vec![from + 1, from + 2];
    drop(judy_ws);
    let mut again = node_b.desktop(&judy, Some(from)).await;
    let replayed: Vec<u64> = again
        .drain(Duration::from_millis(300))
        .await
        .into_iter()
        .filter(|f| is_board_changed(f, &support))
        .map(|f| f["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(replayed, live);
}
