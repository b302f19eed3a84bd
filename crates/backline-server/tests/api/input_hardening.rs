//! Input at the boundary: NUL refused in every text input on both engines,
//! single-line names, idempotent creates that refuse a reused client id, and
//! the limits of the open click-to-call page.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Desktop, TestApp, User};
use crate::interactions::{integration, voice_call};

/// What a request is, its token, method, path, body, and the field its refusal names.
type Case<'a> = (
    &'a str,
    &'a str,
    reqwest::Method,
    String,
    Option<Value>,
    &'a str,
);

async fn admin(app: &TestApp) -> User {
    app.user_with(
        "admin",
        "Ada Admin",
        true,
        vec![backline_protocol::model::Role::Admin],
    )
    .await
}

fn assert_invalid(what: &str, status: u16, body: &Value, field: &str) {
    assert_eq!(status, 400, "{what}: {body}");
    assert_eq!(body["code"], "invalid_request", "{what}: {body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(field),
        "{what}: the message names {field:?}: {message}"
    );
}

/// A count of what the database holds that a refused request could have added.
async fn stored(app: &TestApp, admin: &User, alice: &User, session: &str) -> (usize, usize, usize) {
    let (_, users) = app.get(&admin.token, "/api/v1/admin/users").await;
    let (_, sessions) = app.get(&alice.token, "/api/v1/sessions").await;
    (
        users.as_array().map_or(0, Vec::len),
        sessions.as_array().map_or(0, Vec::len),
        app.transcript(alice, session).await.len(),
    )
}

#[tokio::test]
async fn text_with_a_nul_is_refused_up_front_wherever_it_comes_in_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let platform = integration(&app, None).await;
    let session = app.connected_session(&alice, &bob).await;
    let (status, created) = app
        .post(
            &platform,
            "/api/v1/platform/interactions",
            voice_call("call-1", "alice"),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let interaction = created["id"].as_str().unwrap().to_owned();
    let before = stored(&app, &admin, &alice, &session).await;

    let nul = "a\u{0}b";
    let mut case_data = voice_call("call-2", "alice");
    case_data["case_data"][1]["value"] = json!(nul);
    let mut attribute = voice_call("call-3", "alice");
    attribute["contact"]["attributes"][0]["key"] = json!(nul);
    let messages = format!("/api/v1/sessions/{session}/messages");
    let table: Vec<Case<'_>> = vec![
        (
            "message text",
            &alice.token,
            reqwest::Method::POST,
            messages.clone(),
            Some(json!({"client_msg_id": "m-nul", "text": nul})),
            "text",
        ),
        (
            "message client id",
            &alice.token,
            reqwest::Method::POST,
            messages.clone(),
            Some(json!({"client_msg_id": nul, "text": "hello"})),
            "client_msg_id",
        ),
        (
            "session target id",
            &alice.token,
            reqwest::Method::POST,
            "/api/v1/sessions".into(),
            Some(json!({"target_id": format!("{}\u{0}", bob.id)})),
            "target_id",
        ),
        (
            "first message",
            &alice.token,
            reqwest::Method::POST,
            "/api/v1/sessions".into(),
            Some(json!({"target_id": bob.id,
                "first_message": {"client_msg_id": "f1", "text": nul}})),
            "first_message.text",
        ),
        (
            "display name",
            &admin.token,
            reqwest::Method::POST,
            "/api/v1/admin/users".into(),
            Some(json!({"username": "zed", "display_name": nul,
                "password": "long enough", "roles": []})),
            "display_name",
        ),
        (
            "sign-in user name",
            "",
            reqwest::Method::POST,
            "/api/v1/auth/sign-in".into(),
            Some(json!({"username": nul, "password": "whatever"})),
            "username",
        ),
        (
            "case data",
            &platform,
            reqwest::Method::POST,
            "/api/v1/platform/interactions".into(),
            Some(case_data),
            "case_data[1].value",
        ),
        (
            "contact attribute",
            &platform,
            reqwest::Method::POST,
            "/api/v1/platform/interactions".into(),
            Some(attribute),
            "contact.attributes[0].key",
        ),
        (
            "contact upsert",
            &platform,
            reqwest::Method::PUT,
            "/api/v1/platform/contacts".into(),
            Some(json!({"external_id": "C-9", "first_name": nul})),
            "first_name",
        ),
        (
            "interaction update subject",
            &platform,
            reqwest::Method::PATCH,
            format!("/api/v1/platform/interactions/{interaction}"),
            Some(json!({"subject": nul})),
            "subject",
        ),
        (
            "directory q",
            &alice.token,
            reqwest::Method::GET,
            "/api/v1/directory?q=a%00b".into(),
            None,
            "\"q\"",
        ),
        (
            "history q",
            &alice.token,
            reqwest::Method::GET,
            format!("/api/v1/interactions/{interaction}/history?q=%00"),
            None,
            "\"q\"",
        ),
        (
            "presence ids",
            &alice.token,
            reqwest::Method::GET,
            "/api/v1/presence?ids=x%00".into(),
            None,
            "\"ids\"",
        ),
        (
            "a path id",
            &alice.token,
            reqwest::Method::GET,
            "/api/v1/sessions/abc%00def".into(),
            None,
            "path",
        ),
        (
            "a path id of a write",
            &alice.token,
            reqwest::Method::POST,
            format!("/api/v1/sessions/{session}%00/messages"),
            Some(json!({"client_msg_id": "m-path", "text": "hello"})),
            "path",
        ),
        (
            "a public call name",
            "",
            reqwest::Method::POST,
            "/api/v1/public/calls".into(),
            Some(json!({"name": nul, "device_id": "tab-1"})),
            "name",
        ),
    ];
    for (what, token, method, path, body, field) in table {
        let mut request = app.http.request(method, app.url(&path));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_invalid(what, status, &body, field);
    }

    // A socket frame: refused with its rid, the socket stays open.
    let mut desktop = app.desktop(&alice, None).await;
    desktop
        .send(
            json!({"type": "send", "rid": "r-nul", "session_id": session,
            "client_msg_id": "ws-nul", "text": nul}),
        )
        .await;
    let refused = desktop.until("error", |f| f["type"] == "error").await;
    assert_eq!(refused["rid"], "r-nul", "{refused}");
    assert_eq!(refused["code"], "invalid_request", "{refused}");
    assert!(refused["message"].as_str().unwrap().starts_with("text:"));
    desktop
        .send(json!({"type": "send", "rid": "r-ok", "session_id": session,
            "client_msg_id": "ws-ok", "text": "still here"}))
        .await;
    let ack = desktop.until("ack", |f| f["type"] == "ack").await;
    assert_eq!(ack["rid"], "r-ok", "{ack}");

    // Import files: the line is reported, the good rows load.
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("contacts.jsonl");
    std::fs::write(
        &jsonl,
        "{\"external_id\":\"J-1\",\"first_name\":\"Ok\"}\n\
         {\"external_id\":\"J-2\",\"first_name\":\"Bad\",\"attributes\":{\"tier\":\"a\\u0000\"}}\n",
    )
    .unwrap();
    let report = backline_server::import::import_file(&app.backline, &jsonl)
        .await
        .unwrap();
    assert_eq!(report.contacts, 1, "{report:?}");
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert_eq!(report.refused[0].0, 2);
    assert!(
        report.refused[0].1.contains("attributes.tier"),
        "{report:?}"
    );
    let csv = dir.path().join("contacts.csv");
    std::fs::write(&csv, "external_id,first_name\nK-1,Ok\nK-2,B\u{0}ad\n").unwrap();
    let report = backline_server::import::import_file(&app.backline, &csv)
        .await
        .unwrap();
    assert_eq!(report.contacts, 1, "{report:?}");
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert!(report.refused[0].1.contains("first_name"), "{report:?}");

    // Nothing stored, and the server is healthy.
    let after = stored(&app, &admin, &alice, &session).await;
    assert_eq!(
        (before.0, before.1, before.2 + 1),
        after,
        "only the good socket message was stored"
    );
    let (_, interactions) = app.get(&alice.token, "/api/v1/interactions").await;
    assert_eq!(interactions.as_array().unwrap().len(), 1, "{interactions}");
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let (status, _) = app
        .send_message(&alice, &session, "m-after", "hello again")
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn names_refuse_control_line_break_and_bidi_override_characters_wherever_they_are_set() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let alice = app.user("alice", "Alice Agent").await;
    let platform = integration(&app, None).await;
    let (_, users) = app.get(&admin.token, "/api/v1/admin/users").await;
    let users_before = users.as_array().unwrap().len();
    let bad = [
        "Eve\nAdmin",
        "Eve\rAdmin",
        "Eve\tAdmin",
        "Eve\u{202E}nimdA",
        "Eve\u{2066}x\u{2069}",
        "Eve\u{2028}x",
        "Eve\u{7F}",
    ];
    for name in bad {
        let (status, body) = app
            .post(
                &admin.token,
                "/api/v1/admin/users",
                json!({"username": "eve", "display_name": name,
                    "password": "long enough", "roles": []}),
            )
            .await;
        assert_invalid(&format!("create {name:?}"), status, &body, "display_name");
        let (status, body) = app
            .send_json(
                reqwest::Method::PATCH,
                &admin.token,
                &format!("/api/v1/admin/users/{}", alice.id),
                json!({"display_name": name}),
            )
            .await;
        assert_invalid(&format!("update {name:?}"), status, &body, "display_name");
        let (status, body) = app
            .post(&admin.token, "/api/v1/admin/groups", json!({"name": name}))
            .await;
        assert_invalid(&format!("group {name:?}"), status, &body, "name");
        let (status, body) = app
            .post(
                &admin.token,
                "/api/v1/admin/status-reasons",
                json!({"code": "lunch", "label": name}),
            )
            .await;
        assert_invalid(&format!("reason {name:?}"), status, &body, "label");
        let (status, body) = app
            .post(
                &admin.token,
                "/api/v1/admin/integrations",
                json!({"name": name}),
            )
            .await;
        assert_invalid(&format!("integration {name:?}"), status, &body, "name");
        // The CLI's `user add` goes through the same rule.
        let error = app
            .backline
            .create_user(
                None,
                backline_protocol::admin::CreateUserRequest {
                    username: "eve".into(),
                    display_name: name.into(),
                    password: "long enough".into(),
                    roles: vec![],
                    im_permitted: true,
                },
            )
            .await
            .unwrap_err();
        assert!(error.public_message().starts_with("display_name:"));
    }
    let (status, body) = app
        .http
        .post(app.url("/api/v1/public/calls"))
        .json(&json!({"name": "Eve\u{202E}", "device_id": "tab-1"}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_invalid("caller name", status, &body.json().await.unwrap(), "name");
    let (status, body) = app
        .put(
            &platform,
            "/api/v1/platform/contacts",
            json!({"external_id": "C-1", "first_name": "Zoë\nMartin"}),
        )
        .await;
    assert_invalid("contact name", status, &body, "contact.first_name");

    // Trimmed (white space and zero-width characters at the edges) and bounded.
    let (status, user) = app
        .post(
            &admin.token,
            "/api/v1/admin/users",
            json!({"username": "ana", "display_name": " \u{200B}Ana Lima\u{FEFF} ",
                "password": "long enough", "roles": []}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["display_name"], "Ana Lima");
    let (status, body) = app
        .post(
            &admin.token,
            "/api/v1/admin/users",
            json!({"username": "long", "display_name": "x".repeat(101),
                "password": "long enough", "roles": []}),
        )
        .await;
    assert_invalid("too long", status, &body, "display_name");
    let (_, users) = app.get(&admin.token, "/api/v1/admin/users").await;
    assert_eq!(
        users.as_array().unwrap().len(),
        users_before + 1,
        "only Ana was added"
    );
}

#[tokio::test]
async fn reusing_a_client_id_for_a_different_request_is_an_idempotency_conflict() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let carol = app.user("carol", "Carol Cook").await;
    let first = json!({"target_id": bob.id, "client_id": "c-1",
        "first_message": {"client_msg_id": "m-1", "text": "hello Bob"}});
    let (status, session) = app
        .post(&alice.token, "/api/v1/sessions", first.clone())
        .await;
    assert_eq!(status, 201, "{session}");
    // The same request again: the first session.
    let (status, again) = app.post(&alice.token, "/api/v1/sessions", first).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["id"], session["id"]);
    // The same client id for another target, or another first message: refused.
    for (what, body) in [
        (
            "another target",
            json!({"target_id": carol.id, "client_id": "c-1",
                "first_message": {"client_msg_id": "m-1", "text": "hello Bob"}}),
        ),
        (
            "another first message",
            json!({"target_id": bob.id, "client_id": "c-1",
                "first_message": {"client_msg_id": "m-1", "text": "hello Carol"}}),
        ),
        (
            "a consultation instead",
            json!({"target_id": bob.id, "client_id": "c-1",
                "parent_interaction_id": "i-1",
                "first_message": {"client_msg_id": "m-1", "text": "hello Bob"}}),
        ),
    ] {
        let (status, body) = app.post(&alice.token, "/api/v1/sessions", body).await;
        assert_eq!(status, 409, "{what}: {body}");
        assert_eq!(body["code"], "idempotency_conflict", "{what}: {body}");
    }
    let (_, carols) = app.get(&carol.token, "/api/v1/sessions").await;
    assert_eq!(carols, json!([]), "Carol was never invited");

    // Messages follow the same rule.
    let id = session["id"].as_str().unwrap();
    let (status, _) = app.send_message(&alice, id, "m-2", "one").await;
    assert_eq!(status, 200);
    let (status, ack) = app.send_message(&alice, id, "m-2", "one").await;
    assert_eq!((status, &ack["duplicate"]), (200, &json!(true)));
    let (status, body) = app.send_message(&alice, id, "m-2", "two").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "idempotency_conflict");
}

/// `POST /public/calls` as seen from `address` (through a trusted proxy).
async fn web_call(app: &TestApp, address: &str, device: &str) -> (u16, Value, Option<String>) {
    let response = app
        .http
        .post(app.url("/api/v1/public/calls"))
        .header("x-forwarded-for", address)
        .json(&json!({"name": "Caller", "device_id": device}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap(), retry_after)
}

async fn ready_agent(app: &TestApp, username: &str) -> (User, Desktop) {
    let user = app.user(username, username).await;
    let desktop = app.desktop(&user, None).await;
    let (status, _) = app
        .put(&user.token, "/api/v1/me/status", json!({"status": "ready"}))
        .await;
    assert_eq!(status, 200);
    (user, desktop)
}

async fn ringing_calls(app: &TestApp, agent: &User) -> usize {
    let (_, calls) = app.get(&agent.token, "/api/v1/calls").await;
    calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "ringing")
        .count()
}

fn behind_proxy(config: &mut backline_server::config::Config) {
    config.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
}

#[tokio::test]
async fn a_flood_of_web_calls_from_one_address_is_limited_while_another_address_gets_through() {
    let app = spawn_app_with(behind_proxy).await;
    let burst = app.config.limits.public_calls_burst as usize;
    let mut agents = Vec::new();
    for i in 0..=burst {
        agents.push(ready_agent(&app, &format!("agent{i}")).await);
    }
    let devices: Vec<String> = (0..40).map(|i| format!("flood-{i}")).collect();
    let flood = futures::future::join_all(
        devices
            .iter()
            .map(|device| web_call(&app, "198.51.100.1", device)),
    )
    .await;
    let placed = flood.iter().filter(|(status, _, _)| *status == 201).count();
    assert!(placed <= burst, "at most the burst rings: {placed}");
    let limited: Vec<_> = flood
        .iter()
        .filter(|(status, _, _)| *status == 429)
        .collect();
    assert!(limited.len() >= 40 - burst, "{flood:?}");
    for (_, body, retry_after) in limited {
        assert_eq!(body["code"], "rate_limited");
        let secs: u64 = retry_after
            .as_deref()
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!(secs >= 1);
    }
    // Another caller still gets through, and no agent rings twice.
    let (status, body, _) = web_call(&app, "198.51.100.2", "other").await;
    assert_eq!(status, 201, "{body}");
    for (agent, _) in &agents {
        assert!(ringing_calls(&app, agent).await <= 1);
    }
}

#[tokio::test]
async fn a_ready_agent_is_rung_by_one_web_call_at_a_time() {
    let app = spawn_app_with(behind_proxy).await;
    let (alice, _desktop) = ready_agent(&app, "alice").await;
    let (status, body, _) = web_call(&app, "198.51.100.1", "first").await;
    assert_eq!(status, 201, "{body}");
    // Callers from other addresses: alice is already rung.
    for i in 2..6 {
        let (status, body, _) = web_call(&app, &format!("198.51.100.{i}"), "tab").await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["code"], "no_agent_available");
    }
    assert_eq!(ringing_calls(&app, &alice).await, 1);
}

#[tokio::test]
async fn a_caller_asking_again_gets_the_ringing_call_back() {
    let app = spawn_app_with(behind_proxy).await;
    let (alice, _desktop) = ready_agent(&app, "alice").await;
    let (status, first, _) = web_call(&app, "198.51.100.1", "tab-1").await;
    assert_eq!(status, 201, "{first}");
    for _ in 0..app.config.limits.public_calls_burst + 2 {
        let (status, again, _) = web_call(&app, "198.51.100.1", "tab-1").await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["call"]["id"], first["call"]["id"]);
        assert_eq!(again["caller_token"], first["caller_token"]);
        assert_eq!(again["party_id"], first["party_id"]);
    }
    assert_eq!(ringing_calls(&app, &alice).await, 1);
    // Once the call is over, the same tab places a new one.
    let call = first["call"]["id"].as_str().unwrap();
    let response = app
        .http
        .post(app.url(&format!("/api/v1/public/calls/{call}/hang-up")))
        .bearer_auth(first["caller_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, next, _) = web_call(&app, "198.51.100.1", "tab-1").await;
    assert_eq!(status, 201, "{next}");
    assert_ne!(next["call"]["id"], first["call"]["id"]);
}
