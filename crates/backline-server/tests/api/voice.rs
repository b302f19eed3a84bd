//! Voice over real sockets: click-to-call, signalling authorisation, hold,
//! the voice consultation with end, transfer and conference, and the failure paths.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Desktop, TestApp, User};

const DEVICE_A: &str = "tab-alice";
const DEVICE_B: &str = "tab-bob";

/// The click-to-call page: its call, token, party id and socket.
pub(crate) struct Caller {
    pub(crate) call_id: String,
    pub(crate) token: String,
    pub(crate) party_id: String,
    pub(crate) ws: Desktop,
}

pub(crate) async fn ready(app: &TestApp, user: &User) -> Desktop {
    let desktop = app.desktop(user, None).await;
    let (status, _) = app
        .put(&user.token, "/api/v1/me/status", json!({"status": "ready"}))
        .await;
    assert_eq!(status, 200);
    desktop
}

pub(crate) async fn call_in(app: &TestApp, name: &str) -> Caller {
    let response = app
        .http
        .post(app.url("/api/v1/public/calls"))
        .json(&json!({"name": name, "device_id": "caller-tab"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let token = body["caller_token"].as_str().unwrap().to_owned();
    let mut ws = Desktop::connect(app.addr).await;
    ws.send(json!({"type": "hello", "token": token})).await;
    let welcome = ws.next().await;
    assert_eq!(welcome["type"], "caller_welcome", "{welcome}");
    Caller {
        call_id: body["call"]["id"].as_str().unwrap().to_owned(),
        party_id: body["party_id"].as_str().unwrap().to_owned(),
        token,
        ws,
    }
}

fn party<'a>(call: &'a Value, party_id: &str) -> &'a Value {
    call["parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["party_id"] == party_id)
        .expect("party")
}

async fn call_event(desktop: &mut Desktop, pred: impl Fn(&Value) -> bool) -> Value {
    desktop
        .until("call event", |f| {
            f["type"] == "event" && f["event"]["kind"] == "call" && pred(&f["event"]["call"])
        })
        .await["event"]["call"]
        .clone()
}

/// Alice answers a web call; Bob accepts an IM consultation about it.
struct Scene {
    app: TestApp,
    alice: User,
    bob: User,
    a: Desktop,
    b: Desktop,
    caller: Caller,
    interaction: String,
    session: String,
}

async fn scene_with(tweak: impl FnOnce(&mut backline_server::config::Config)) -> Scene {
    let app = spawn_app_with(tweak).await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let mut a = ready(&app, &alice).await;
    let b = app.desktop(&bob, None).await;
    let caller = call_in(&app, "Zoë Martin").await;
    let ringing = call_event(&mut a, |c| c["state"] == "ringing").await;
    assert_eq!(party(&ringing, &alice.id)["state"], "ringing");
    let (status, answered) = app
        .post(
            &alice.token,
            &format!("/api/v1/calls/{}/accept", caller.call_id),
            json!({"device_id": DEVICE_A}),
        )
        .await;
    assert_eq!(status, 200, "{answered}");
    let interaction = answered["interaction_id"].as_str().unwrap().to_owned();
    let (_, session) = app
        .post(&alice.token, "/api/v1/sessions", json!({"target_id": bob.id, "parent_interaction_id": interaction, "defer_invite": true}))
        .await;
    let session = session["id"].as_str().unwrap().to_owned();
    app.send_message(&alice, &session, "m1", "Can you take a billing question?")
        .await;
    app.post(
        &bob.token,
        &format!("/api/v1/sessions/{session}/accept"),
        json!({}),
    )
    .await;
    Scene {
        app,
        alice,
        bob,
        a,
        b,
        caller,
        interaction,
        session,
    }
}

async fn scene() -> Scene {
    scene_with(|_| {}).await
}

/// Starts the voice consultation and has Bob accept it; returns the consultation call id.
async fn consult(scene: &mut Scene) -> String {
    let Scene {
        app,
        alice,
        bob,
        b,
        session,
        ..
    } = scene;
    let (status, call) = app
        .post(
            &alice.token,
            &format!("/api/v1/sessions/{session}/voice-consultation"),
            json!({"device_id": DEVICE_A}),
        )
        .await;
    assert_eq!(status, 200, "{call}");
    assert_eq!(call["kind"], "consultation");
    let id = call["id"].as_str().unwrap().to_owned();
    let ring = call_event(b, |c| c["id"] == id.as_str()).await;
    assert_eq!(party(&ring, &bob.id)["state"], "ringing");
    let (status, active) = app
        .post(
            &bob.token,
            &format!("/api/v1/calls/{id}/accept"),
            json!({"device_id": DEVICE_B}),
        )
        .await;
    assert_eq!((status, active["state"].as_str()), (200, Some("active")));
    id
}

#[tokio::test]
async fn a_web_call_rings_a_ready_agent_and_signals_only_between_its_parties() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    // Nobody Ready: the page is told so.
    let response = app
        .http
        .post(app.url("/api/v1/public/calls"))
        .json(&json!({"name": "Zoë", "device_id": "t1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "no_agent_available"
    );

    let mut a = ready(&app, &alice).await;
    let mut b = app.desktop(&bob, None).await; // online but Not Ready: never rings
    let mut caller = call_in(&app, "Zoë Martin").await;
    let pushed = a.event("interaction").await;
    assert_eq!(pushed["event"]["interaction"]["media"], "voice");
    let ringing = call_event(&mut a, |c| c["state"] == "ringing").await;
    assert_eq!(
        party(&ringing, &caller.party_id)["display_name"],
        "Zoë Martin"
    );

    let (status, answered) = app
        .post(
            &alice.token,
            &format!("/api/v1/calls/{}/accept", caller.call_id),
            json!({"device_id": DEVICE_A}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(party(&answered, &alice.id)["device_id"], DEVICE_A);
    let seen = caller
        .ws
        .until("active", |f| {
            f["type"] == "call" && f["call"]["state"] == "active"
        })
        .await;
    assert_eq!(seen["call"]["id"], caller.call_id.as_str());

    // Caller → agent, and back: relayed with the answering tab's device.
    caller.ws.send(json!({"type": "signal", "call_id": caller.call_id, "to": alice.id, "signal": {"kind": "offer", "sdp": "v=0 offer"}})).await;
    let offer = a.until("signal", |f| f["type"] == "signal").await;
    assert_eq!(
        (offer["from"].as_str(), offer["to_device"].as_str()),
        (Some(caller.party_id.as_str()), Some(DEVICE_A))
    );
    assert_eq!(
        offer["signal"],
        json!({"kind": "offer", "sdp": "v=0 offer"})
    );
    a.send(json!({"type": "signal", "call_id": caller.call_id, "to": caller.party_id, "signal": {"kind": "candidate", "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdp_mid": "0", "sdp_mline_index": 0}})).await;
    let candidate = caller.ws.until("signal", |f| f["type"] == "signal").await;
    assert_eq!(candidate["signal"]["kind"], "candidate");
    assert_eq!(candidate["to_device"], "caller-tab");

    // Not a party: refused, and nothing reaches the parties.
    b.send(json!({"type": "signal", "call_id": caller.call_id, "to": alice.id, "signal": {"kind": "offer", "sdp": "intruder"}})).await;
    assert_eq!(
        b.until("error", |f| f["type"] == "error").await["code"],
        "not_call_party"
    );
    caller.ws.send(json!({"type": "signal", "call_id": caller.call_id, "to": bob.id, "signal": {"kind": "answer", "sdp": "x"}})).await;
    assert_eq!(
        caller.ws.until("error", |f| f["type"] == "error").await["code"],
        "not_call_party"
    );
    caller.ws.send(json!({"type": "signal", "call_id": "another-call", "to": alice.id, "signal": {"kind": "answer", "sdp": "x"}})).await;
    assert_eq!(
        caller.ws.until("error", |f| f["type"] == "error").await["code"],
        "not_call_party"
    );
    caller.ws.send(json!({"type": "send", "rid": "r", "session_id": "s", "client_msg_id": "c", "text": "hi"})).await;
    assert_eq!(
        caller.ws.until("error", |f| f["type"] == "error").await["code"],
        "forbidden"
    );
    let frames = a.drain(std::time::Duration::from_millis(300)).await;
    assert!(frames.iter().all(|f| f["signal"]["sdp"] != "intruder"));
    // The caller's token reads its own call only.
    let (status, _) = app
        .get(
            &caller.token,
            &format!("/api/v1/public/calls/{}", caller.call_id),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.get(&caller.token, "/api/v1/public/calls/other").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("not_call_party"))
    );
    let (status, body) = app.get(&caller.token, "/api/v1/me").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated")),
        "a caller token is no session"
    );
}

#[tokio::test]
async fn hold_and_retrieve_reach_the_caller_and_are_logged() {
    let mut s = scene().await;
    let (status, held) = s
        .app
        .post(
            &s.alice.token,
            &format!("/api/v1/calls/{}/hold", s.caller.call_id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(party(&held, &s.caller.party_id)["state"], "held");
    assert!(held["hold_started_at"].as_i64().is_some());
    s.caller
        .ws
        .until("held", |f| {
            f["type"] == "call" && f["call"]["hold_started_at"].is_i64()
        })
        .await;
    let (status, back) = s
        .app
        .post(
            &s.alice.token,
            &format!("/api/v1/calls/{}/retrieve", s.caller.call_id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(party(&back, &s.caller.party_id)["state"], "connected");
    assert!(back["hold_started_at"].is_null());
    // Bob is not a party of the contact call.
    let (status, error) = s
        .app
        .post(
            &s.bob.token,
            &format!("/api/v1/calls/{}/hold", s.caller.call_id),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (403, Some("not_call_party"))
    );
    let (_, history) = s
        .app
        .get(
            &s.alice.token,
            &format!("/api/v1/interactions/{}/history?q=hold", s.interaction),
        )
        .await;
    let log = history["items"][0]["transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Call log")
        .cloned()
        .unwrap();
    assert!(
        log["text"]
            .as_str()
            .unwrap()
            .contains("Alice Agent put the contact on hold"),
        "{log}"
    );
    assert!(
        log["text"]
            .as_str()
            .unwrap()
            .contains("Alice Agent retrieved the contact"),
        "{log}"
    );
}

#[tokio::test]
async fn a_voice_consultation_holds_the_contact_and_ending_it_retrieves_them() {
    let mut s = scene().await;
    let consultation = consult(&mut s).await;
    let (_, calls) = s.app.get(&s.alice.token, "/api/v1/calls").await;
    let contact_call = calls
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == s.caller.call_id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        party(&contact_call, &s.caller.party_id)["state"],
        "held",
        "the contact waits on hold"
    );
    assert!(
        contact_call["hold_started_at"].is_i64(),
        "both agents see since when"
    );
    let bob_view = call_event(&mut s.b, |c| {
        c["id"] == consultation.as_str() && c["state"] == "active"
    })
    .await;
    assert_eq!(bob_view["contact_call_id"], s.caller.call_id.as_str());
    assert_eq!(
        bob_view["hold_started_at"], contact_call["hold_started_at"],
        "the target sees the hold time too"
    );
    assert_eq!(bob_view["consultation_session_id"], s.session.as_str());
    // The IM consultation stays open beside the call.
    let (_, im) = s
        .app
        .get(&s.bob.token, &format!("/api/v1/sessions/{}", s.session))
        .await;
    assert_eq!(im["state"], "connected");
    // Only the initiator completes; anyone else is refused.
    let (status, error) = s
        .app
        .post(
            &s.bob.token,
            &format!("/api/v1/calls/{consultation}/complete-transfer"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (409, Some("invalid_state"))
    );
    // Busy is set automatically while on a call.
    let (_, me) = s.app.get(&s.bob.token, "/api/v1/me").await;
    assert_eq!(me["status"], "busy");
    let (_, me) = s.app.get(&s.alice.token, "/api/v1/me").await;
    assert_eq!(me["status"], "busy");
    let (status, ended) = s
        .app
        .post(
            &s.alice.token,
            &format!("/api/v1/calls/{consultation}/end-consultation"),
            json!({}),
        )
        .await;
    assert_eq!((status, ended["state"].as_str()), (200, Some("ended")));
    let back = s
        .caller
        .ws
        .until("retrieved", |f| {
            f["type"] == "call"
                && f["call"]["hold_started_at"].is_null()
                && f["call"]["state"] == "active"
        })
        .await;
    assert_eq!(
        party(&back["call"], &s.caller.party_id)["state"],
        "connected"
    );
    assert_eq!(party(&back["call"], &s.alice.id)["state"], "connected");
    let (_, bob_calls) = s.app.get(&s.bob.token, "/api/v1/calls").await;
    assert_eq!(bob_calls, json!([]), "Bob has no call left");
    // Bob's call is over: the status he had comes back; Alice is still on the customer call.
    let (_, me) = s.app.get(&s.bob.token, "/api/v1/me").await;
    assert_eq!(me["status"], "not_ready");
    let (_, me) = s.app.get(&s.alice.token, "/api/v1/me").await;
    assert_eq!(me["status"], "busy");
    s.app
        .post(
            &s.alice.token,
            &format!("/api/v1/calls/{}/hang-up", s.caller.call_id),
            json!({}),
        )
        .await;
    let (_, me) = s.app.get(&s.alice.token, "/api/v1/me").await;
    assert_eq!(me["status"], "ready", "Alice was Ready before the call");
}

#[tokio::test]
async fn complete_transfer_hands_the_contact_and_the_interaction_to_the_target() {
    let mut s = scene().await;
    let consultation = consult(&mut s).await;
    let (status, contact_call) = s
        .app
        .post(
            &s.alice.token,
            &format!("/api/v1/calls/{consultation}/complete-transfer"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{contact_call}");
    assert_eq!(contact_call["id"], s.caller.call_id.as_str());
    assert_eq!(party(&contact_call, &s.alice.id)["state"], "left");
    assert_eq!(party(&contact_call, &s.bob.id)["state"], "connected");
    assert_eq!(
        party(&contact_call, &s.bob.id)["device_id"],
        DEVICE_B,
        "the target's answering tab carries on"
    );
    assert_eq!(
        party(&contact_call, &s.caller.party_id)["state"],
        "connected",
        "retrieved"
    );
    let (_, alice_calls) = s.app.get(&s.alice.token, "/api/v1/calls").await;
    assert!(alice_calls.as_array().unwrap().is_empty(), "A has no call");
    let (status, interaction) = s
        .app
        .get(
            &s.bob.token,
            &format!("/api/v1/interactions/{}", s.interaction),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            interaction["agent_id"].as_str(),
            interaction["read_only"].as_bool()
        ),
        (Some(s.bob.id.as_str()), Some(false))
    );
    // Bob now signals with the caller.
    s.b.send(json!({"type": "signal", "call_id": s.caller.call_id, "to": s.caller.party_id, "signal": {"kind": "offer", "sdp": "from bob"}})).await;
    let offer = s
        .caller
        .ws
        .until("offer", |f| {
            f["type"] == "signal" && f["signal"]["sdp"] == "from bob"
        })
        .await;
    assert_eq!(offer["from"], s.bob.id.as_str());
}

#[tokio::test]
async fn complete_conference_connects_all_three() {
    let mut s = scene().await;
    let consultation = consult(&mut s).await;
    let (status, contact_call) = s
        .app
        .post(
            &s.alice.token,
            &format!("/api/v1/calls/{consultation}/complete-conference"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{contact_call}");
    for id in [&s.alice.id, &s.bob.id, &s.caller.party_id] {
        assert_eq!(party(&contact_call, id)["state"], "connected", "{id}");
    }
    let (_, consult_call) = s.app.get(&s.alice.token, "/api/v1/calls").await;
    assert_eq!(
        consult_call.as_array().unwrap().len(),
        1,
        "only the contact call is left"
    );
    // Every pair may signal.
    s.a.send(json!({"type": "signal", "call_id": s.caller.call_id, "to": s.bob.id, "signal": {"kind": "offer", "sdp": "a to b"}})).await;
    s.b.until("a to b", |f| {
        f["type"] == "signal" && f["signal"]["sdp"] == "a to b"
    })
    .await;
}

#[tokio::test]
async fn a_rejected_or_unanswered_consultation_retrieves_the_contact() {
    let mut s = scene_with(|c| c.voice.ring_timeout_secs = 1).await;
    let (_, call) = s
        .app
        .post(
            &s.alice.token,
            &format!("/api/v1/sessions/{}/voice-consultation", s.session),
            json!({"device_id": DEVICE_A}),
        )
        .await;
    let id = call["id"].as_str().unwrap().to_owned();
    let (status, rejected) = s
        .app
        .post(
            &s.bob.token,
            &format!("/api/v1/calls/{id}/reject"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, rejected["ended_reason"].as_str()),
        (200, Some("rejected"))
    );
    let told = call_event(&mut s.a, |c| {
        c["id"] == s.caller.call_id.as_str()
            && c["hold_started_at"].is_null()
            && c["state"] == "active"
    })
    .await;
    assert_eq!(party(&told, &s.caller.party_id)["state"], "connected");

    // Not answered within the ring time-out.
    let (_, call) = s
        .app
        .post(
            &s.alice.token,
            &format!("/api/v1/sessions/{}/voice-consultation", s.session),
            json!({"device_id": DEVICE_A}),
        )
        .await;
    let id = call["id"].as_str().unwrap().to_owned();
    let ended = call_event(&mut s.a, |c| {
        c["id"] == id.as_str() && c["state"] == "ended"
    })
    .await;
    assert_eq!(ended["ended_reason"], "no_answer");
    let (_, calls) = s.app.get(&s.alice.token, "/api/v1/calls").await;
    let contact_call = &calls.as_array().unwrap()[0];
    assert_eq!(
        party(contact_call, &s.caller.party_id)["state"],
        "connected",
        "retrieved automatically"
    );
    // A second consultation while one runs is refused.
    consult(&mut s).await;
    let (status, error) = s
        .app
        .post(
            &s.alice.token,
            &format!("/api/v1/sessions/{}/voice-consultation", s.session),
            json!({"device_id": DEVICE_A}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (409, Some("invalid_state"))
    );
}

#[tokio::test]
async fn a_contact_left_on_hold_with_nobody_goes_to_the_consultant_or_the_call_ends() {
    let mut s = scene_with(|c| c.voice.orphan_timeout_secs = 1).await;
    consult(&mut s).await;
    drop(s.a); // Alice's desktop drops during the consultation.
    let transferred = call_event(&mut s.b, |c| {
        c["id"] == s.caller.call_id.as_str()
            && c["parties"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["party_id"] == s.bob.id.as_str() && p["state"] == "connected")
    })
    .await;
    assert_eq!(
        party(&transferred, &s.caller.party_id)["state"],
        "connected"
    );
    assert_eq!(party(&transferred, &s.alice.id)["state"], "left");

    // No consultant: the call ends rather than leave the contact waiting.
    let mut s = scene_with(|c| c.voice.orphan_timeout_secs = 1).await;
    s.app
        .post(
            &s.alice.token,
            &format!("/api/v1/calls/{}/hold", s.caller.call_id),
            json!({}),
        )
        .await;
    drop(s.a);
    let ended = s
        .caller
        .ws
        .until("ended", |f| {
            f["type"] == "call" && f["call"]["state"] == "ended"
        })
        .await;
    assert_eq!(ended["call"]["ended_reason"], "abandoned");
}

#[tokio::test]
async fn a_reconnecting_desktop_recovers_its_calls() {
    let mut s = scene().await;
    let consultation = consult(&mut s).await;
    let last = s.b.last_seq;
    drop(s.b);
    s.app
        .post(
            &s.alice.token,
            &format!("/api/v1/calls/{consultation}/end-consultation"),
            json!({}),
        )
        .await;
    let mut b = s.app.desktop(&s.bob, Some(last)).await;
    let ended = call_event(&mut b, |c| {
        c["id"] == consultation.as_str() && c["state"] == "ended"
    })
    .await;
    assert_eq!(
        ended["ended_reason"], "ended",
        "the change made while away is replayed"
    );
    let (_, calls) = s.app.get(&s.bob.token, "/api/v1/calls").await;
    assert!(
        calls.as_array().unwrap().is_empty(),
        "and the call list agrees"
    );
}

#[tokio::test]
async fn turn_credentials_follow_the_shared_secret_scheme() {
    use hmac::{KeyInit, Mac};
    let app = spawn_app_with(|c| {
        c.voice.stun_urls = vec!["stun:127.0.0.1:3478".into()];
        c.voice.turn_urls = vec!["turn:127.0.0.1:3478?transport=udp".into()];
        c.voice.turn_secret = "shared-secret".into();
    })
    .await;
    let alice = app.user("alice", "Alice Agent").await;
    let (_, config) = app.get(&alice.token, "/api/v1/voice/ice-servers").await;
    let servers = config["ice_servers"].as_array().unwrap();
    assert_eq!(servers[0]["urls"], json!(["stun:127.0.0.1:3478"]));
    let turn = &servers[1];
    let username = turn["username"].as_str().unwrap();
    let (expiry, user) = username.split_once(':').unwrap();
    assert_eq!(user, alice.id);
    assert!(expiry.parse::<i64>().unwrap() > backline_store::now_ms() / 1000);
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(b"shared-secret").unwrap();
    mac.update(username.as_bytes());
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(turn["credential"], expected.as_str());
}

#[tokio::test]
async fn a_platform_voice_interaction_has_a_call_whose_hold_is_reported_by_webhook() {
    let app = spawn_app().await;
    let platform = crate::interactions::integration(&app, None).await;
    let alice = app.user("alice", "Alice Agent").await;
    let (_, view) = app
        .post(
            &platform,
            "/api/v1/platform/interactions",
            crate::interactions::voice_call("v1", "alice"),
        )
        .await;
    let (_, calls) = app.get(&alice.token, "/api/v1/calls").await;
    let call = &calls.as_array().unwrap()[0];
    assert_eq!(call["interaction_id"], view["id"]);
    let contact = call["parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "contact")
        .unwrap();
    assert!(
        contact["device_id"].is_null(),
        "the platform's telephony carries this audio"
    );
    let (status, held) = app
        .post(
            &alice.token,
            &format!("/api/v1/calls/{}/hold", call["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(held["hold_started_at"].is_i64());
}

#[tokio::test]
async fn the_caller_hanging_up_ends_the_call_and_the_web_interaction() {
    let mut s = scene().await;
    let (status, ended) = s
        .app
        .post(
            &s.caller.token,
            &format!("/api/v1/public/calls/{}/hang-up", s.caller.call_id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(
        (ended["state"].as_str(), ended["ended_reason"].as_str()),
        (Some("ended"), Some("hung_up"))
    );
    let (_, calls) = s.app.get(&s.alice.token, "/api/v1/calls").await;
    assert_eq!(calls, json!([]));
    let told =
        s.a.until("interaction ended", |f| {
            f["event"]["kind"] == "interaction" && f["event"]["interaction"]["state"] == "ended"
        })
        .await;
    assert_eq!(told["event"]["interaction"]["id"], s.interaction.as_str());
    let (_, me) = s.app.get(&s.alice.token, "/api/v1/me").await;
    assert_eq!(me["status"], "ready", "Busy ends with the call");
}

#[tokio::test]
async fn the_open_click_to_call_page_is_rate_limited() {
    let app = spawn_app().await;
    let mut codes = Vec::new();
    for i in 0..40 {
        let response = app
            .http
            .post(app.url("/api/v1/public/calls"))
            .json(&json!({"name": format!("caller {i}"), "device_id": format!("t{i}")}))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        codes.push(body["code"].as_str().unwrap_or("").to_owned());
    }
    assert!(codes.iter().any(|c| c == "no_agent_available"), "{codes:?}");
    assert!(
        codes.iter().any(|c| c == "rate_limited"),
        "a flood is refused: {codes:?}"
    );
}
