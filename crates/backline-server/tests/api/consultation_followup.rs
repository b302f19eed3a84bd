//! After an invitation or a consultation: the Missed list, and the outcome
//! an initiator records (in the webhook, the contact's history, the metrics).

use serde_json::{json, Value};

use crate::group_consultations::metric;
use crate::helpers::{spawn_app, spawn_app_with, Desktop, TestApp, User};
use crate::interactions::{integration, open_consultation};
use crate::webhooks::{free_port, Receiver};

/// Waits until `user`'s invitation in `session` is marked timed out.
async fn timed_out(desktop: &mut Desktop, session: &str, user: &User) {
    desktop
        .until("invitation timed out", |f| {
            f["type"] == "event"
                && f["event"]["kind"] == "session"
                && f["event"]["session"]["id"] == session
                && f["event"]["session"]["participants"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["user_id"] == user.id.as_str() && p["invite_timed_out"] == true)
        })
        .await;
}

async fn missed(app: &TestApp, user: &User) -> Vec<Value> {
    let (code, list) = app.get(&user.token, "/api/v1/missed").await;
    assert_eq!(code, 200, "{list}");
    list.as_array().unwrap().clone()
}

#[tokio::test]
async fn an_unanswered_invitation_stays_missed_until_replied_to_or_dismissed() {
    let app = spawn_app_with(|c| c.im.invite_timeout_secs = 1).await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let mut alice_desk = app.desktop(&alice, None).await;
    let mut bob_desk = app.desktop(&bob, None).await;

    // 1. Timed out, still pending: Reply accepts it, and Alice sees Bob join.
    let first = app.open_session(&alice, &bob, Some("are you there?")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        missed(&app, &bob).await.is_empty(),
        "not missed before it times out"
    );
    timed_out(&mut bob_desk, &first, &bob).await;
    let list = missed(&app, &bob).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["session"]["id"], first.as_str());
    assert_eq!(list[0]["first_message"]["text"], "are you there?");
    let (code, replied) = app
        .post(
            &bob.token,
            &format!("/api/v1/missed/{first}/reply"),
            json!({}),
        )
        .await;
    assert_eq!(code, 200, "{replied}");
    assert_eq!(
        (replied["id"].as_str(), replied["state"].as_str()),
        (Some(first.as_str()), Some("connected"))
    );
    alice_desk.entry("joined").await;
    bob_desk
        .until("missed cleared", |f| {
            f["type"] == "event" && f["event"]["kind"] == "missed_cleared"
        })
        .await;
    assert!(missed(&app, &bob).await.is_empty());

    // 2. Timed out, then cancelled: Reply opens a new session with Alice, who is invited.
    let second = app.open_session(&alice, &bob, Some("never mind?")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    timed_out(&mut bob_desk, &second, &bob).await;
    let (code, _) = app
        .post(
            &alice.token,
            &format!("/api/v1/sessions/{second}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        missed(&app, &bob).await[0]["session"]["id"],
        second.as_str(),
        "cancelled, still missed"
    );
    let (code, opened) = app
        .post(
            &bob.token,
            &format!("/api/v1/missed/{second}/reply"),
            json!({}),
        )
        .await;
    assert_eq!(code, 200, "{opened}");
    let new_id = opened["id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, second);
    assert_eq!(opened["created_by"], bob.id.as_str());
    let invitation = alice_desk
        .until("alice invited back", |f| {
            f["type"] == "event"
                && f["event"]["kind"] == "session"
                && f["event"]["session"]["id"] == new_id.as_str()
        })
        .await;
    assert_eq!(invitation["event"]["session"]["state"], "inviting");

    // 3. Dismissed: gone, and a second dismissal finds nothing.
    let third = app.open_session(&alice, &bob, Some("third")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    timed_out(&mut bob_desk, &third, &bob).await;
    let (code, _) = app
        .post(
            &bob.token,
            &format!("/api/v1/missed/{third}/dismiss"),
            json!({}),
        )
        .await;
    assert_eq!(code, 204);
    assert!(missed(&app, &bob).await.is_empty());
    let (code, again) = app
        .post(
            &bob.token,
            &format!("/api/v1/missed/{third}/dismiss"),
            json!({}),
        )
        .await;
    assert_eq!((code, again["code"].as_str()), (404, Some("not_found")));
    // Alice, who was never invited, has nothing to dismiss there.
    let (code, _) = app
        .post(
            &alice.token,
            &format!("/api/v1/missed/{third}/reply"),
            json!({}),
        )
        .await;
    assert_eq!(code, 404);

    // 4. Answered late (rejected): not missed.
    let fourth = app.open_session(&alice, &bob, Some("fourth")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    timed_out(&mut bob_desk, &fourth, &bob).await;
    app.post(
        &bob.token,
        &format!("/api/v1/sessions/{fourth}/reject"),
        json!({}),
    )
    .await;
    assert!(missed(&app, &bob).await.is_empty());
}

#[tokio::test]
async fn an_outcome_is_recorded_by_the_initiator_after_the_consultation_ends() {
    let port = free_port();
    let (receiver, _task) = Receiver::start(0, port).await;
    let app = spawn_app().await;
    let platform = integration(&app, Some(&format!("http://127.0.0.1:{port}/hook"))).await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let (interaction, session) = open_consultation(&app, &platform, &alice, &bob, "call-9").await;
    app.send_message(&alice, &session, "m1", "Refund approval?")
        .await;
    app.post(
        &bob.token,
        &format!("/api/v1/sessions/{session}/accept"),
        json!({}),
    )
    .await;
    let path = format!("/api/v1/sessions/{session}/outcome");
    let outcome = json!({"outcome": "needs_follow_up", "note": "call back Monday"});

    let (code, body) = app.put(&alice.token, &path, outcome.clone()).await;
    assert_eq!(
        (code, body["code"].as_str()),
        (409, Some("invalid_state")),
        "not ended yet: {body}"
    );
    app.post(
        &alice.token,
        &format!("/api/v1/sessions/{session}/end"),
        json!({}),
    )
    .await;
    let (code, body) = app.put(&bob.token, &path, outcome.clone()).await;
    assert_eq!(
        (code, body["code"].as_str()),
        (409, Some("invalid_state")),
        "not the initiator: {body}"
    );
    let (code, body) = app
        .put(&alice.token, &path, json!({"outcome": "shrugged"}))
        .await;
    assert_eq!(code, 400, "{body}");
    let (code, body) = app
        .put(
            &alice.token,
            &path,
            json!({"outcome": "answered", "note": "x".repeat(2001)}),
        )
        .await;
    assert_eq!(
        (code, body["code"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    let outsider = app.user("olga", "Olga Outsider").await;
    let (code, body) = app.put(&outsider.token, &path, outcome.clone()).await;
    assert_eq!(
        (code, body["code"].as_str()),
        (403, Some("not_participant")),
        "{body}"
    );

    let (code, recorded) = app.put(&alice.token, &path, outcome).await;
    assert_eq!(code, 200, "{recorded}");
    assert_eq!(recorded["outcome"], "needs_follow_up");
    assert_eq!(recorded["note"], "call back Monday");
    assert_eq!(recorded["recorded_by"], alice.id.as_str());
    let (_, view) = app
        .get(&alice.token, &format!("/api/v1/sessions/{session}"))
        .await;
    assert_eq!(view["outcome"], "needs_follow_up");

    // Beside the transcript in the contact's history.
    let (code, history) = app
        .get(
            &alice.token,
            &format!("/api/v1/interactions/{interaction}/history"),
        )
        .await;
    assert_eq!(code, 200, "{history}");
    let transcript = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["transcripts"].as_array().unwrap().clone())
        .find(|t| t["session_id"] == session.as_str())
        .expect("the consultation's transcript");
    assert_eq!(transcript["outcome"], "needs_follow_up");
    assert_eq!(transcript["outcome_note"], "call back Monday");

    // In the webhook.
    receiver.wait_for(6).await;
    let bodies = receiver.bodies();
    let event = bodies
        .iter()
        .find(|b| b["type"] == "consultation.outcome")
        .unwrap_or_else(|| panic!("no consultation.outcome in {bodies:?}"));
    assert_eq!(
        event["consultation"]["outcome"]["outcome"],
        "needs_follow_up"
    );
    assert_eq!(event["consultation"]["outcome"]["note"], "call back Monday");

    // In the metrics (one process records every test's: count this one).
    let series = "backline_consultation_outcomes_total{outcome=\"needs_follow_up\"}";
    let before = metric(&app, series).await;
    let (code, _) = app
        .put(&alice.token, &path, json!({"outcome": "needs_follow_up"}))
        .await;
    assert_eq!(code, 200);
    assert_eq!(metric(&app, series).await - before, 1.0);

    // A session that is not about an interaction has no outcome.
    let plain = app.connected_session(&alice, &bob).await;
    app.post(
        &alice.token,
        &format!("/api/v1/sessions/{plain}/end"),
        json!({}),
    )
    .await;
    let (code, body) = app
        .put(
            &alice.token,
            &format!("/api/v1/sessions/{plain}/outcome"),
            json!({"outcome": "answered"}),
        )
        .await;
    assert_eq!(
        (code, body["code"].as_str()),
        (409, Some("invalid_state")),
        "{body}"
    );
}
