//! Group consultations: a session offered to a group's Ready members in
//! waves; the first to accept takes it, every other invitation is withdrawn.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Desktop, TestApp, User};

/// A group named `name` with `members`, offered `wave` at a time, each wave
/// waiting `answer_secs`.
async fn group(
    app: &TestApp,
    name: &str,
    members: &[&User],
    wave: u32,
    answer_secs: u32,
) -> String {
    let group = app.backline.create_group(None, name).await.expect("group");
    for member in members {
        app.backline
            .set_group_member(None, &group.id, &member.id, true)
            .await
            .expect("member");
    }
    app.backline
        .update_group(
            None,
            &group.id,
            backline_protocol::admin::UpdateGroupRequest {
                wave_size: Some(wave),
                answer_secs: Some(answer_secs),
                overflow_group_id: None,
                ..Default::default()
            },
        )
        .await
        .expect("settings");
    group.id
}

/// A member with a connected desktop who is Ready (in the order called:
/// the first made Ready is the longest idle).
async fn ready_member(app: &TestApp, username: &str, name: &str) -> (User, Desktop) {
    let user = app.user(username, name).await;
    let desktop = app.desktop(&user, None).await;
    set_status(app, &user, "ready").await;
    // Idle times are in milliseconds: keep the order unambiguous.
    tokio::time::sleep(Duration::from_millis(5)).await;
    (user, desktop)
}

async fn set_status(app: &TestApp, user: &User, status: &str) {
    let (code, me) = app
        .put(&user.token, "/api/v1/me/status", json!({"status": status}))
        .await;
    assert_eq!(code, 200, "status: {me}");
}

/// `POST /sessions` to a group with a first message; returns the view.
async fn offer(app: &TestApp, from: &User, group_id: &str, text: &str) -> Value {
    let (code, view) = app
        .post(
            &from.token,
            "/api/v1/sessions",
            json!({"target_id": group_id,
                   "first_message": {"client_msg_id": uuid::Uuid::now_v7().to_string(), "text": text}}),
        )
        .await;
    assert_eq!(code, 201, "group consultation: {view}");
    view
}

/// Waits for a session event about `session` satisfying `pred`; returns the session.
async fn session_event(
    desktop: &mut Desktop,
    session: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    desktop
        .until(what, |f| {
            f["type"] == "event"
                && f["event"]["kind"] == "session"
                && f["event"]["session"]["id"] == session
                && pred(&f["event"]["session"])
        })
        .await["event"]["session"]
        .clone()
}

fn state_of(session: &Value, user: &User) -> String {
    session["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == user.id.as_str())
        .map(|p| p["state"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn invited(session: &Value, user: &User) -> bool {
    state_of(session, user) == "invited"
}

async fn accept(app: &TestApp, user: &User, session: &str) -> (u16, Value) {
    app.post(
        &user.token,
        &format!("/api/v1/sessions/{session}/accept"),
        json!({}),
    )
    .await
}

#[tokio::test]
async fn the_first_to_accept_takes_it_and_every_other_invitation_is_withdrawn() {
    let app = spawn_app().await;
    let agent = app.user("agent", "Alice Agent").await;
    let (dave, mut dave_desk) = ready_member(&app, "dave", "Dave Durand").await;
    let (erin, mut erin_desk) = ready_member(&app, "erin", "Erin Ek").await;
    let (finn, mut finn_desk) = ready_member(&app, "finn", "Finn Fox").await;
    let support = group(&app, "Router Experts", &[&dave, &erin, &finn], 3, 30).await;
    let offered_before = metric(
        &app,
        "backline_group_consultations_total{group=\"Router Experts\"}",
    )
    .await;

    for round in 0..3 {
        let view = offer(
            &app,
            &agent,
            &support,
            &format!("who knows routers? ({round})"),
        )
        .await;
        let id = view["id"].as_str().unwrap().to_owned();
        assert_eq!(view["offer"]["state"], "open");
        assert_eq!(view["offer"]["offered"], 3);
        assert_eq!(view["offer"]["group_name"], "Router Experts");
        for desk in [&mut dave_desk, &mut erin_desk, &mut finn_desk] {
            let invitation = session_event(desk, &id, "invitation", |_| true).await;
            assert_eq!(
                invitation["last_message"]["text"],
                format!("who knows routers? ({round})"),
                "the invitation carries the first message"
            );
        }

        // Two members accept in the same instant: exactly one wins.
        let (a, b) = tokio::join!(accept(&app, &dave, &id), accept(&app, &erin, &id));
        let (winner, loser, lost) = match (a.0, b.0) {
            (200, 409) => (&dave, &erin, b.1),
            (409, 200) => (&erin, &dave, a.1),
            other => panic!("exactly one accept must succeed, got {other:?}: {a:?} {b:?}"),
        };
        assert_eq!(lost["code"], "offer_taken", "{lost}");
        let winner_name = if winner.id == dave.id {
            "Dave Durand"
        } else {
            "Erin Ek"
        };
        assert!(
            lost["message"].as_str().unwrap().contains(winner_name),
            "{lost}"
        );

        // The third member's invitation is withdrawn, naming who took it.
        let withdrawn = session_event(&mut finn_desk, &id, "withdrawal", |s| {
            s["offer"]["state"] == "taken"
        })
        .await;
        assert_eq!(state_of(&withdrawn, &finn), "cancelled");
        assert_eq!(withdrawn["offer"]["taken_by_name"], winner_name);
        // And so is the loser's, who is also told who took it.
        let loser_desk = if loser.id == dave.id {
            &mut dave_desk
        } else {
            &mut erin_desk
        };
        let lost_view = session_event(loser_desk, &id, "withdrawal", |s| {
            s["offer"]["state"] == "taken"
        })
        .await;
        assert_eq!(state_of(&lost_view, loser), "cancelled");
        assert_eq!(lost_view["offer"]["taken_by"], winner.id.as_str());

        // The consultation is the winner's: connected, one invitee joined.
        let (_, view) = app
            .get(&agent.token, &format!("/api/v1/sessions/{id}"))
            .await;
        assert_eq!(view["state"], "connected");
        let joined: Vec<&Value> = view["participants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["role"] == "invitee" && p["state"] == "joined")
            .collect();
        assert_eq!(joined.len(), 1, "{view}");
        assert_eq!(joined[0]["user_id"], winner.id.as_str());
        let withdrawn_entries = app
            .transcript(&agent, &id)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "withdrawn")
            .count();
        assert_eq!(withdrawn_entries, 2);
        // Finn, withdrawn, cannot take it any more.
        let (code, late) = accept(&app, &finn, &id).await;
        assert_eq!((code, late["code"].as_str()), (409, Some("offer_taken")));
        // The withdrawn leave their workspaces; the winner keeps it.
        let (_, workspace) = app.get(&finn.token, "/api/v1/sessions").await;
        assert!(!workspace
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == id.as_str()));
        let (_, workspace) = app.get(&winner.token, "/api/v1/sessions").await;
        assert!(workspace
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == id.as_str()));
    }
    // The figures: consultations per group, and the time to accept as quantiles.
    let offered = metric(
        &app,
        "backline_group_consultations_total{group=\"Router Experts\"}",
    )
    .await;
    assert_eq!(offered - offered_before, 3.0);
    let accepted = metric(
        &app,
        "backline_group_consultation_accept_seconds_count{group=\"Router Experts\"}",
    )
    .await;
    assert_eq!(accepted, 3.0);
    let p90 =
        "backline_group_consultation_accept_seconds{group=\"Router Experts\",quantile=\"0.9\"}";
    assert!(metric_line(&app, p90).await.is_some(), "no {p90}");
}

#[tokio::test]
async fn a_reject_passes_the_offer_to_the_next_member_longest_idle_first() {
    let app = spawn_app().await;
    let agent = app.user("agent", "Alice Agent").await;
    let mut agent_desk = app.desktop(&agent, None).await;
    let (dave, mut dave_desk) = ready_member(&app, "dave", "Dave Durand").await;
    let (erin, mut erin_desk) = ready_member(&app, "erin", "Erin Ek").await;
    let support = group(&app, "Technical Support", &[&erin, &dave], 1, 30).await;

    let view = offer(&app, &agent, &support, "anyone?").await;
    let id = view["id"].as_str().unwrap().to_owned();
    // Dave became Ready first: he is offered it, Erin not yet.
    assert!(invited(&view, &dave), "{view}");
    assert_eq!(state_of(&view, &erin), "");
    assert_eq!(view["offer"]["offered"], 1);
    session_event(&mut dave_desk, &id, "invitation", |_| true).await;

    let (code, rejected) = app
        .post(
            &dave.token,
            &format!("/api/v1/sessions/{id}/reject"),
            json!({}),
        )
        .await;
    assert_eq!(code, 200, "{rejected}");
    let passed = session_event(&mut erin_desk, &id, "invitation", |s| invited(s, &erin)).await;
    assert_eq!(passed["last_message"]["text"], "anyone?");
    let progress = session_event(&mut agent_desk, &id, "progress", |s| {
        s["offer"]["declined"] == 1
    })
    .await;
    assert_eq!(progress["offer"]["offered"], 2);
    assert_eq!(
        progress["state"], "inviting",
        "a declined group offer does not end"
    );
    let (code, _) = accept(&app, &erin, &id).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn an_unanswered_wave_widens_to_the_next_members_the_overflow_group_and_the_supervisors() {
    let app = spawn_app().await;
    let agent = app.user("agent", "Alice Agent").await;
    let mut agent_desk = app.desktop(&agent, None).await;
    let (dave, mut dave_desk) = ready_member(&app, "dave", "Dave Durand").await;
    let (erin, mut erin_desk) = ready_member(&app, "erin", "Erin Ek").await;
    let (olga, mut olga_desk) = ready_member(&app, "olga", "Olga Overflow").await;
    let judy = app.user("judy", "Judy Jensen").await;
    let mut judy_desk = app.desktop(&judy, None).await; // a supervisor: offered whatever her status
    let support = group(&app, "Technical Support", &[&dave, &erin], 1, 1).await;
    let billing = group(&app, "Billing", &[&olga], 1, 1).await;
    let (code, settings) = app
        .send_json(
            reqwest::Method::PATCH,
            &admin_token(&app).await,
            &format!("/api/v1/admin/groups/{support}"),
            json!({"overflow_group_id": billing}),
        )
        .await;
    assert_eq!(code, 200, "{settings}");
    app.backline
        .set_group_supervisor(None, &support, &judy.id, true)
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let view = offer(&app, &agent, &support, "escalating").await;
    let id = view["id"].as_str().unwrap().to_owned();
    assert!(invited(&view, &dave));
    session_event(&mut dave_desk, &id, "first wave", |_| true).await;
    // Nobody answers: after the answer time the next member is offered too.
    let second = session_event(&mut erin_desk, &id, "second wave", |s| invited(s, &erin)).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(second["offer"]["wave"], 2);
    assert_eq!(second["offer"]["stage"], "members");
    assert!(
        invited(&second, &dave),
        "earlier waves stay offered: {second}"
    );
    // Then the overflow group's Ready members, then the supervisors.
    let third = session_event(&mut olga_desk, &id, "overflow", |s| invited(s, &olga)).await;
    assert_eq!(third["offer"]["stage"], "overflow");
    let fourth = session_event(&mut judy_desk, &id, "supervisors", |s| invited(s, &judy)).await;
    assert_eq!(fourth["offer"]["stage"], "supervisors");
    assert_eq!(fourth["offer"]["offered"], 4);
    let progress = session_event(&mut agent_desk, &id, "progress", |s| {
        s["offer"]["offered"] == 4
    })
    .await;
    assert_eq!(progress["offer"]["wave"], 4);

    // The first member, long timed out, can still take it.
    let (code, taken) = accept(&app, &dave, &id).await;
    assert_eq!(code, 200, "{taken}");
    for (desk, user) in [
        (&mut erin_desk, &erin),
        (&mut olga_desk, &olga),
        (&mut judy_desk, &judy),
    ] {
        let gone = session_event(desk, &id, "withdrawn", |s| s["offer"]["state"] == "taken").await;
        assert_eq!(state_of(&gone, user), "cancelled");
        assert_eq!(gone["offer"]["taken_by_name"], "Dave Durand");
    }
}

#[tokio::test]
async fn going_not_ready_or_signing_out_withdraws_the_invitation_and_passes_it_on() {
    let app = spawn_app().await;
    let agent = app.user("agent", "Alice Agent").await;
    let (dave, mut dave_desk) = ready_member(&app, "dave", "Dave Durand").await;
    let (erin, mut erin_desk) = ready_member(&app, "erin", "Erin Ek").await;
    let (finn, _finn_desk) = ready_member(&app, "finn", "Finn Fox").await;
    let support = group(&app, "Technical Support", &[&dave, &erin, &finn], 1, 30).await;

    let view = offer(&app, &agent, &support, "quick one").await;
    let id = view["id"].as_str().unwrap().to_owned();
    assert!(invited(&view, &dave));
    session_event(&mut dave_desk, &id, "invitation", |_| true).await;

    set_status(&app, &dave, "not_ready").await;
    let withdrawn = session_event(&mut dave_desk, &id, "withdrawn", |s| !invited(s, &dave)).await;
    assert_eq!(state_of(&withdrawn, &dave), "cancelled");
    assert_eq!(withdrawn["offer"]["state"], "open");
    session_event(&mut erin_desk, &id, "passed on", |s| invited(s, &erin)).await;
    let (code, late) = accept(&app, &dave, &id).await;
    assert_eq!(
        (code, late["code"].as_str()),
        (409, Some("invalid_state")),
        "{late}"
    );

    // Signing out withdraws it as well.
    let (code, _) = app
        .post(&erin.token, "/api/v1/auth/sign-out", json!({}))
        .await;
    assert_eq!(code, 204);
    let (_, view) = app
        .get(&agent.token, &format!("/api/v1/sessions/{id}"))
        .await;
    assert_eq!(state_of(&view, &erin), "cancelled", "{view}");
    assert!(invited(&view, &finn), "{view}");
    assert_eq!(view["offer"]["offered"], 3);
    assert_eq!(view["offer"]["declined"], 0);
}

#[tokio::test]
async fn the_offer_replays_after_reconnect_for_the_initiator_and_the_members() {
    let app = spawn_app().await;
    let agent = app.user("agent", "Alice Agent").await;
    let agent_desk = app.desktop(&agent, None).await;
    let from = agent_desk.head;
    drop(agent_desk);
    let (dave, dave_desk) = ready_member(&app, "dave", "Dave Durand").await;
    let dave_from = dave_desk.head;
    drop(dave_desk);
    let (erin, _erin_desk) = ready_member(&app, "erin", "Erin Ek").await;
    let support = group(&app, "Technical Support", &[&dave, &erin], 2, 30).await;
    // Dave's desktop is gone but he is still online through another tab.
    let _dave_tab = app.desktop(&dave, None).await;

    let view = offer(&app, &agent, &support, "replay me").await;
    let id = view["id"].as_str().unwrap().to_owned();
    let (code, _) = app
        .post(
            &dave.token,
            &format!("/api/v1/sessions/{id}/reject"),
            json!({}),
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = accept(&app, &erin, &id).await;
    assert_eq!(code, 200);

    // The initiator resumes from before the offer: its whole progress replays in order.
    let mut agent_desk = app.desktop(&agent, Some(from)).await;
    let mut offers = Vec::new();
    for frame in agent_desk.drain(Duration::from_millis(500)).await {
        if frame["type"] == "event" && frame["event"]["kind"] == "session" {
            let offer = &frame["event"]["session"]["offer"];
            offers.push((
                offer["state"].as_str().unwrap().to_owned(),
                offer["offered"].as_u64().unwrap(),
                offer["declined"].as_u64().unwrap(),
            ));
        }
    }
    assert_eq!(
        offers.first(),
        Some(&("open".to_owned(), 2, 0)),
        "{offers:?}"
    );
    assert!(offers.contains(&("open".to_owned(), 2, 1)), "{offers:?}");
    assert_eq!(
        offers.last(),
        Some(&("taken".to_owned(), 2, 1)),
        "{offers:?}"
    );

    // Dave resumes too: the invitation he got and the one he declined.
    let mut dave_desk = app.desktop(&dave, Some(dave_from)).await;
    let invitation = session_event(&mut dave_desk, &id, "replayed invitation", |s| {
        invited(s, &dave)
    })
    .await;
    assert_eq!(invitation["last_message"]["text"], "replay me");
}

#[tokio::test]
async fn group_settings_are_validated_and_a_group_consultation_needs_its_first_message() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let agent = app.user("agent", "Alice Agent").await;
    let support = group(&app, "Technical Support", &[], 1, 30).await;
    let patch = |body: Value| {
        let (app, admin, support) = (&app, admin.clone(), support.clone());
        async move {
            app.send_json(
                reqwest::Method::PATCH,
                &admin,
                &format!("/api/v1/admin/groups/{support}"),
                body,
            )
            .await
        }
    };
    for bad in [
        json!({"wave_size": 0}),
        json!({"wave_size": 101}),
        json!({"answer_secs": 0}),
        json!({"overflow_group_id": support}),
        json!({"escalate_secs": 86_401}),
    ] {
        let (code, body) = patch(bad.clone()).await;
        assert_eq!(
            (code, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}: {body}"
        );
    }
    let (code, body) = patch(json!({"overflow_group_id": "nope"})).await;
    assert_eq!(
        (code, body["code"].as_str()),
        (404, Some("group_not_found"))
    );
    let (code, body) = patch(json!({"escalate_to_supervisors": "yes"})).await;
    assert_eq!(
        (code, body["code"].as_str()),
        (400, Some("malformed_request")),
        "{body}"
    );
    let (code, body) = patch(json!({"wave_size": 4, "answer_secs": 15})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (body["wave_size"].as_u64(), body["answer_secs"].as_u64()),
        (Some(4), Some(15))
    );
    assert_eq!(
        (&body["escalate_secs"], &body["escalate_to_supervisors"]),
        (&json!(0), &json!(false)),
        "no answer-time target until one is set: {body}"
    );
    let (code, body) = patch(json!({"escalate_secs": 90, "escalate_to_supervisors": true})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (
            &body["wave_size"],
            &body["escalate_secs"],
            &body["escalate_to_supervisors"]
        ),
        (&json!(4), &json!(90), &json!(true)),
        "{body}"
    );
    let (_, audit) = app.get(&admin, "/api/v1/admin/audit").await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "group_updated"
                && e["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("escalation after 90 s, to the supervisors"))),
        "{audit}"
    );
    let (code, _) = app
        .put(
            &admin,
            &format!("/api/v1/admin/groups/{support}/supervisors/{}", agent.id),
            json!({}),
        )
        .await;
    assert_eq!(code, 204);
    let (_, groups) = app.get(&admin, "/api/v1/admin/groups").await;
    assert_eq!(groups[0]["supervisors"], json!([agent.id]));
    let (code, _) = app
        .send_json(
            reqwest::Method::DELETE,
            &admin,
            &format!("/api/v1/admin/groups/{support}/supervisors/{}", agent.id),
            json!({}),
        )
        .await;
    assert_eq!(code, 204);

    // A retry with the same client id is the same group consultation.
    let request = json!({"target_id": support, "client_id": "retry-1",
        "first_message": {"client_msg_id": "m-1", "text": "anyone?"}});
    let (code, first) = app
        .post(&agent.token, "/api/v1/sessions", request.clone())
        .await;
    assert_eq!(code, 201, "{first}");
    let (code, again) = app.post(&agent.token, "/api/v1/sessions", request).await;
    assert_eq!((code, &again["id"]), (201, &first["id"]), "{again}");
    let (code, other) = app
        .post(
            &agent.token,
            "/api/v1/sessions",
            json!({"target_id": support, "client_id": "retry-1",
                   "first_message": {"client_msg_id": "m-1", "text": "something else"}}),
        )
        .await;
    assert_eq!(
        (code, other["code"].as_str()),
        (409, Some("idempotency_conflict"))
    );

    let (code, body) = app
        .post(
            &agent.token,
            "/api/v1/sessions",
            json!({"target_id": support, "defer_invite": true}),
        )
        .await;
    assert_eq!(
        (code, body["code"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // The Team Communicator offers the group a consultation.
    let (_, dir) = app
        .get(&agent.token, "/api/v1/directory?filter=groups")
        .await;
    assert!(
        dir["entries"][0]["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("start_im_consultation")),
        "{dir}"
    );
}

async fn admin_token(app: &TestApp) -> String {
    app.user_with(
        "root",
        "Root Admin",
        true,
        vec![backline_protocol::model::Role::Admin],
    )
    .await
    .token
}

#[tokio::test]
async fn a_node_dying_during_an_offer_leaves_the_other_node_to_widen_it() {
    let Some((mut node_a, node_b)) = crate::cluster::two_nodes().await else {
        return;
    };
    let agent = node_b.user("agent", "Alice Agent").await;
    // Dave is on node A and the longest idle: the first wave goes to him.
    let (dave, mut dave_desk) = ready_member(&node_a, "dave", "Dave Durand").await;
    let erin = node_b.user("erin", "Erin Ek").await;
    let mut erin_desk = node_b.desktop(&erin, None).await;
    set_status(&node_b, &erin, "ready").await;
    let support = group(&node_b, "Technical Support", &[&dave, &erin], 1, 2).await;
    // Both nodes see both members connected.
    let mut watcher = node_b.desktop(&agent, None).await;
    watcher
        .send(json!({"type": "watch", "user_ids": [dave.id]}))
        .await;
    watcher
        .until("dave online on node b", |f| {
            f["type"] == "presence" && f["status"] == "ready"
        })
        .await;

    let view = offer(&node_a, &agent, &support, "node a takes the first wave").await;
    let id = view["id"].as_str().unwrap().to_owned();
    assert!(invited(&view, &dave), "{view}");
    session_event(&mut dave_desk, &id, "invitation on node a", |_| true).await;

    node_a.stop().await;
    drop(dave_desk);
    // Node B's worker widens the offer to Erin when the wave runs out.
    let passed = session_event(&mut erin_desk, &id, "second wave from node b", |s| {
        invited(s, &erin)
    })
    .await;
    assert_eq!(passed["offer"]["wave"], 2);
    let (code, taken) = accept(&node_b, &erin, &id).await;
    assert_eq!(code, 200, "{taken}");
    assert_eq!(taken["offer"]["taken_by"], erin.id.as_str());
}

#[test]
fn the_cli_sets_a_groups_offer_settings_and_supervisors() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_backline"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .output()
            .expect("run backline");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    assert!(run(&["group", "add", "Support"]).0);
    assert!(run(&["group", "add", "Billing"]).0);
    assert!(
        run(&[
            "user",
            "add",
            "judy",
            "--display-name",
            "Judy Jensen",
            "--password",
            "a long password"
        ])
        .0
    );
    let (ok, out) = run(&[
        "group",
        "set",
        "Support",
        "--wave-size",
        "3",
        "--answer-secs",
        "9",
        "--overflow",
        "Billing",
        "--escalate-secs",
        "45",
        "--escalate-to-supervisors",
        "true",
    ]);
    assert!(ok, "{out}");
    assert!(run(&["group", "add-supervisor", "Support", "judy"]).0);
    let (ok, out) = run(&["group", "list"]);
    assert!(ok, "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("Support"))
        .expect("Support listed");
    assert!(
        line.contains("1 supervisors")
            && line.contains("wave=3")
            && line.contains("answer=9s")
            && line.contains("escalate=45s to-supervisors"),
        "{line}"
    );
    let (ok, out) = run(&["group", "set", "Support", "--wave-size", "0"]);
    assert!(!ok && out.contains("invalid_request"), "{out}");
    let (ok, out) = run(&["group", "set", "Support", "--escalate-secs", "86401"]);
    assert!(
        !ok && out.contains("invalid_request") && out.contains("escalate_secs"),
        "{out}"
    );
    let (ok, out) = run(&["group", "set", "Support", "--escalate-secs", "0"]);
    assert!(ok && out.contains("escalate=-"), "{out}");
}

#[tokio::test]
async fn two_members_accepting_at_once_on_two_nodes_one_wins() {
    let Some((node_a, node_b)) = crate::cluster::two_nodes().await else {
        return;
    };
    let agent = node_b.user("agent", "Alice Agent").await;
    let (dave, _dave_desk) = ready_member(&node_a, "dave", "Dave Durand").await;
    let (erin, _erin_desk) = ready_member(&node_b, "erin", "Erin Ek").await;
    let support = group(&node_b, "Technical Support", &[&dave, &erin], 2, 30).await;
    // Each node sees the other's member connected before the offers go out.
    for (node, other) in [(&node_a, &erin), (&node_b, &dave)] {
        let mut watcher = node.desktop(&agent, None).await;
        watcher
            .send(json!({"type": "watch", "user_ids": [other.id]}))
            .await;
        watcher
            .until("the other node's member online", |f| {
                f["type"] == "presence" && f["status"] == "ready"
            })
            .await;
    }
    for round in 0..5 {
        let view = offer(&node_b, &agent, &support, &format!("round {round}")).await;
        let id = view["id"].as_str().unwrap().to_owned();
        assert_eq!(view["offer"]["offered"], 2, "{view}");
        let (a, b) = tokio::join!(accept(&node_a, &dave, &id), accept(&node_b, &erin, &id));
        let codes = [(a.0, a.1["code"].clone()), (b.0, b.1["code"].clone())];
        assert!(
            codes.contains(&(200, Value::Null)) && codes.contains(&(409, json!("offer_taken"))),
            "exactly one accept wins, the other is told: {a:?} {b:?}"
        );
        let (_, view) = node_a
            .get(&agent.token, &format!("/api/v1/sessions/{id}"))
            .await;
        let joined = view["participants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["role"] == "invitee" && p["state"] == "joined")
            .count();
        assert_eq!(joined, 1, "{view}");
    }
}

/// The value of one line of `/metrics` (0 when absent).
pub(crate) async fn metric(app: &TestApp, series: &str) -> f64 {
    metric_line(app, series).await.unwrap_or(0.0)
}

/// The value of one line of `/metrics`, if it is there.
async fn metric_line(app: &TestApp, series: &str) -> Option<f64> {
    crate::helpers::metric_value(&app.metrics_text().await, series)
}

#[tokio::test]
async fn the_consultation_report_gives_each_groups_figures_as_json_and_csv() {
    let app = spawn_app().await;
    let agent = app.user("agent", "Alice Agent").await;
    let sue = app
        .user_with(
            "sue",
            "Sue Supervisor",
            true,
            vec![backline_protocol::model::Role::Supervisor],
        )
        .await;
    let (dave, _dave_desk) = ready_member(&app, "dave", "Dave Durand").await;
    let desk = group(&app, "Report, \"Desk\"", &[&dave], 1, 30).await;
    let start = backline_store::now_ms();
    // One taken and ended, one cancelled untaken, one still offered.
    let taken = offer(&app, &agent, &desk, "one").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(accept(&app, &dave, &taken).await.0, 200);
    app.post(
        &agent.token,
        &format!("/api/v1/sessions/{taken}/end"),
        json!({}),
    )
    .await;
    let dropped = offer(&app, &agent, &desk, "two").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &agent.token,
        &format!("/api/v1/sessions/{dropped}/cancel"),
        json!({}),
    )
    .await;
    offer(&app, &agent, &desk, "three").await;
    let end = backline_store::now_ms() + 1;

    let path = format!("/api/v1/reports/consultations?from={start}&to={end}");
    let (code, report) = app.get(&sue.token, &path).await;
    assert_eq!(code, 200, "{report}");
    let figures = &report["groups"][0];
    assert_eq!(figures["group_id"], desk.as_str());
    assert_eq!(
        (
            &figures["consultations"],
            &figures["taken"],
            &figures["abandoned"],
            &figures["open"]
        ),
        (&json!(3), &json!(1), &json!(1), &json!(1)),
        "{report}"
    );
    assert!(
        figures["accept_p50_secs"].as_f64().unwrap() >= 0.0,
        "{report}"
    );
    assert!(figures["duration_p90_secs"].as_f64().is_some(), "{report}");
    // A range before it all is empty.
    let (_, empty) = app
        .get(
            &sue.token,
            &format!("/api/v1/reports/consultations?from=0&to={start}"),
        )
        .await;
    assert_eq!(empty["groups"], json!([]));

    let response = app
        .http
        .get(app.url(&format!("{path}&format=csv")))
        .bearer_auth(&sue.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("group_id,group_name,consultations,taken,abandoned,open,"));
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&format!("{desk},\"Report, \"\"Desk\"\"\",3,1,1,1,")),
        "{row}"
    );

    for (who, query, code, error) in [
        (&agent.token, String::new(), 403, "forbidden"),
        (&sue.token, "?format=xml".to_owned(), 400, "invalid_request"),
        (
            &sue.token,
            "?from=10&to=10".to_owned(),
            400,
            "invalid_request",
        ),
    ] {
        let (status, body) = app
            .get(who, &format!("/api/v1/reports/consultations{query}"))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (code, Some(error)),
            "{query}: {body}"
        );
    }
}
