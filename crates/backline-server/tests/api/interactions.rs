//! Interactions, contacts, history, consultations and the sharing rule, over real sockets.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, User};
use crate::history_hardening::marked;

/// An integration token created through the admin API.
pub async fn integration(app: &TestApp, webhook_url: Option<&str>) -> String {
    let admin = app
        .user_with(
            "root",
            "Root",
            true,
            vec![backline_protocol::model::Role::Admin],
        )
        .await;
    let mut body = json!({"name": format!("platform-{}", uuid::Uuid::now_v7().simple())});
    if let Some(url) = webhook_url {
        body["webhook_url"] = json!(url);
    }
    let (status, created) = app
        .post(&admin.token, "/api/v1/admin/integrations", body)
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(created["webhook_secret"].as_str().unwrap().len() >= 32);
    created["token"].as_str().unwrap().to_owned()
}

pub fn voice_call(external_id: &str, agent: &str) -> Value {
    json!({
        "external_id": external_id,
        "media": "voice",
        "agent": agent,
        "contact": {
            "external_id": "C-42",
            "first_name": "Zoë",
            "last_name": "Martin",
            "phones": ["+33 1 44 55 66 77"],
            "emails": ["zoe.martin@example.com"],
            "attributes": [{"key": "Segment", "value": "Gold"}]
        },
        "subject": "Damaged kettle",
        "case_data": [
            {"key": "Account number", "value": "ACC-4711"},
            {"key": "Reason", "value": "Refund"},
            {"key": "Queue", "value": "Billing"}
        ]
    })
}

/// A past, ended interaction of the same contact.
async fn past_call(
    app: &TestApp,
    platform: &str,
    external_id: &str,
    agent: &str,
    subject: &str,
    notes: &str,
) -> String {
    let mut body = voice_call(external_id, agent);
    body["subject"] = json!(subject);
    let (status, created) = app
        .post(platform, "/api/v1/platform/interactions", body)
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, ended) = app
        .post(
            platform,
            &format!("/api/v1/platform/interactions/{id}/end"),
            json!({"outcome": "Resolved", "notes": notes}),
        )
        .await;
    assert_eq!(status, 200, "{ended}");
    id
}

#[tokio::test]
async fn the_platform_pushes_an_interaction_to_its_agent_live() {
    let app = spawn_app().await;
    let platform = integration(&app, None).await;
    let alice = app.user("alice", "Alice Agent").await;
    let mut desktop = app.desktop(&alice, None).await;
    let (status, view) = app
        .post(
            &platform,
            "/api/v1/platform/interactions",
            voice_call("call-1", "alice"),
        )
        .await;
    assert_eq!(status, 201, "{view}");
    let event = desktop.event("interaction").await;
    let pushed = &event["event"]["interaction"];
    assert_eq!(pushed["id"], view["id"]);
    assert_eq!(pushed["contact_name"], "Zoë Martin");
    assert_eq!(
        pushed["case_data"][0],
        json!({"key": "Account number", "value": "ACC-4711"})
    );
    assert_eq!(
        pushed["case_data"][2]["key"], "Queue",
        "case data keeps its order"
    );

    // A retry with the same external id returns the same interaction.
    let (status, again) = app
        .post(
            &platform,
            "/api/v1/platform/interactions",
            voice_call("call-1", "alice"),
        )
        .await;
    assert_eq!((status, again["id"].clone()), (200, view["id"].clone()));

    // Updates and the end reach the desktop too; platform paths accept the external id.
    let (status, updated) = app
        .send_json(
            reqwest::Method::PATCH,
            &platform,
            "/api/v1/platform/interactions/call-1",
            json!({"case_data": [{"key": "Reason", "value": "Exchange"}]}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        desktop.event("interaction").await["event"]["interaction"]["case_data"][0]["value"],
        "Exchange"
    );
    let (status, _) = app
        .post(
            &platform,
            "/api/v1/platform/interactions/call-1/end",
            json!({"outcome": "Exchanged"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        desktop.event("interaction").await["event"]["interaction"]["state"],
        "ended"
    );
    let (status, error) = app
        .post(
            &platform,
            "/api/v1/platform/interactions/call-1/end",
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (409, Some("invalid_state"))
    );

    // The agent closes it with Done; it leaves the workspace.
    let id = view["id"].as_str().unwrap();
    let (_, list) = app.get(&alice.token, "/api/v1/interactions").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = app
        .post(
            &alice.token,
            &format!("/api/v1/interactions/{id}/done"),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, list) = app.get(&alice.token, "/api/v1/interactions").await;
    assert!(list.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_platform_api_refuses_bad_input_and_other_credentials() {
    let app = spawn_app().await;
    let platform = integration(&app, None).await;
    let alice = app.user("alice", "Alice Agent").await;
    let (status, error) = app
        .post(
            &alice.token,
            "/api/v1/platform/interactions",
            voice_call("x", "alice"),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (401, Some("unauthenticated")),
        "an agent token is not a platform token"
    );
    let (status, error) = app
        .post(
            "bli_forged",
            "/api/v1/platform/interactions",
            voice_call("x", "alice"),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let (status, error) = app
        .post(
            &platform,
            "/api/v1/platform/interactions",
            voice_call("x", "nobody"),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("user_not_found"))
    );
    for (field, value) in [
        ("/contact/emails", json!(["not-an-address"])),
        ("/contact/phones", json!(["call me maybe"])),
        ("/case_data", json!([{"key": " ", "value": "x"}])),
        ("/external_id", json!("")),
        ("/media", json!("internal_im")),
    ] {
        let mut body = voice_call("bad", "alice");
        *body.pointer_mut(field).unwrap() = value;
        let (status, error) = app
            .post(&platform, "/api/v1/platform/interactions", body)
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (400, Some("invalid_request")),
            "{field}"
        );
    }
    let (status, error) = app
        .post(
            &platform,
            "/api/v1/platform/interactions/nope/end",
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("interaction_not_found"))
    );
    let (status, contact) = app
        .send_json(
            reqwest::Method::PUT,
            &platform,
            "/api/v1/platform/contacts",
            json!({"external_id": "C-7", "first_name": "Ana"}),
        )
        .await;
    assert_eq!(status, 200, "{contact}");
    assert_eq!(contact["first_name"], "Ana");
}

/// A voice call `external_id` for `agent` (username `alice`) from the
/// platform, and a consultation about it with `target`, not yet sent:
/// `(interaction id, session id)`.
pub async fn open_consultation(
    app: &TestApp,
    platform: &str,
    agent: &User,
    target: &User,
    external_id: &str,
) -> (String, String) {
    let (_, view) = app
        .post(
            platform,
            "/api/v1/platform/interactions",
            voice_call(external_id, "alice"),
        )
        .await;
    let interaction = view["id"].as_str().unwrap().to_owned();
    let (status, session) = app
        .post(&agent.token, "/api/v1/sessions", json!({"target_id": target.id, "parent_interaction_id": interaction, "defer_invite": true}))
        .await;
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["state"], "not_connected");
    assert_eq!(session["parent_interaction_id"], interaction.as_str());
    (interaction, session["id"].as_str().unwrap().to_owned())
}

pub(crate) struct Consultation {
    pub app: TestApp,
    pub alice: User,
    pub bob: User,
    pub carol: User,
    pub interaction: String,
    pub session: String,
}

/// Alice's voice call with a contact who has history; a consultation with Bob, not yet sent.
pub(crate) async fn consultation_setup() -> Consultation {
    let app = spawn_app().await;
    let platform = integration(&app, None).await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let carol = app.user("carol", "Carol Côté").await;
    past_call(
        &app,
        &platform,
        "old-1",
        "carol",
        "Kettle lid cracked",
        "Refund of 49.90 approved; très satisfied",
    )
    .await;
    past_call(
        &app,
        &platform,
        "old-2",
        "bob",
        "Invoice address wrong",
        "Corrected invoice sent",
    )
    .await;
    let (interaction, session) = open_consultation(&app, &platform, &alice, &bob, "live").await;
    Consultation {
        app,
        alice,
        bob,
        carol,
        interaction,
        session,
    }
}

#[tokio::test]
async fn a_consultation_shares_case_data_contact_and_history_only_after_accept() {
    let Consultation {
        app,
        alice,
        bob,
        carol,
        interaction,
        session,
    } = consultation_setup().await;
    let paths = [
        format!("/api/v1/interactions/{interaction}"),
        format!("/api/v1/interactions/{interaction}/contact"),
        format!("/api/v1/interactions/{interaction}/history"),
    ];
    // The agent reads everything.
    for path in &paths {
        let (status, body) = app.get(&alice.token, path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // The target before accepting, and a bystander: refused.
    let mut b = app.desktop(&bob, None).await;
    let (status, _) = app
        .send_message(
            &alice,
            &session,
            "m1",
            "Customer wants a refund on ACC-4711, can you approve?",
        )
        .await;
    assert_eq!(status, 200);
    let invitation = b.event("session").await;
    assert_eq!(
        invitation["event"]["session"]["last_message"]["text"],
        "Customer wants a refund on ACC-4711, can you approve?"
    );
    assert_eq!(
        invitation["event"]["session"]["parent_interaction_id"],
        interaction.as_str()
    );
    for user in [&bob, &carol] {
        for path in &paths {
            let (status, body) = app.get(&user.token, path).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (403, Some("not_shared")),
                "{path}"
            );
        }
    }
    // Accepted: the target reads case data (read-only), contact and history.
    let (status, _) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{session}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, shared) = app.get(&bob.token, &paths[0]).await;
    assert_eq!(status, 200);
    assert_eq!(shared["read_only"], true);
    assert_eq!(shared["case_data"][0]["value"], "ACC-4711");
    assert!(
        shared["consultations"].as_array().unwrap().is_empty(),
        "the target does not see the agent's other consultations"
    );
    let (_, contact) = app.get(&bob.token, &paths[1]).await;
    assert_eq!(contact["emails"], json!(["zoe.martin@example.com"]));
    // Search: prefix, accents folded, advanced filters.
    let (_, found) = app
        .get(&bob.token, &format!("{}?q=TRES+satis", paths[2]))
        .await;
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!(items[0]["subject"], "Kettle lid cracked");
    let snippet = &items[0]["snippet"];
    assert_eq!(marked(snippet), ["très", "satisfied"], "{snippet}");
    let (_, by_agent) = app
        .get(&bob.token, &format!("{}?agent={}", paths[2], carol.id))
        .await;
    assert_eq!(by_agent["items"].as_array().unwrap().len(), 1);
    let (_, email_only) = app
        .get(&bob.token, &format!("{}?media=email", paths[2]))
        .await;
    assert!(email_only["items"].as_array().unwrap().is_empty());
    let (_, future) = app
        .get(
            &bob.token,
            &format!("{}?from={}", paths[2], backline_store::now_ms() + 60_000),
        )
        .await;
    assert!(future["items"].as_array().unwrap().is_empty());
    let (status, error) = app
        .get(&bob.token, &format!("{}?media=fax", paths[2]))
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("invalid_request"))
    );
    // Carol still cannot; her attempts are in the audit log.
    let (status, _) = app.get(&carol.token, &paths[0]).await;
    assert_eq!(status, 403);
    let root = app.backline.find_user("root").await.unwrap();
    let _ = root;
    let audit = app.backline.audit_log(100).await.unwrap();
    assert!(audit.iter().any(|e| e.actor_id == carol.id
        && !e.allowed
        && e.resource == format!("interaction:{interaction}")));
    assert!(
        audit.iter().any(|e| e.actor_id == bob.id && !e.allowed),
        "bob's attempt before accepting"
    );
    assert!(
        !audit
            .iter()
            .any(|e| e.allowed && e.resource.starts_with("interaction:")),
        "allowed reads are not logged as refusals"
    );
}

#[tokio::test]
async fn the_sharing_rule_holds_for_every_role() {
    let Consultation {
        app,
        alice,
        bob,
        interaction,
        session,
        ..
    } = consultation_setup().await;
    let supervisor = app
        .user_with(
            "sam",
            "Sam Supervisor",
            true,
            vec![backline_protocol::model::Role::Supervisor],
        )
        .await;
    let admin = app
        .user_with(
            "ada",
            "Ada Admin",
            true,
            vec![backline_protocol::model::Role::Admin],
        )
        .await;
    app.send_message(&alice, &session, "m1", "hi").await;
    let resources = ["", "/contact", "/history"];
    for (user, allowed) in [
        (&alice, true),
        (&bob, false),
        (&supervisor, false),
        (&admin, false),
    ] {
        for resource in resources {
            let (status, _) = app
                .get(
                    &user.token,
                    &format!("/api/v1/interactions/{interaction}{resource}"),
                )
                .await;
            assert_eq!(status == 200, allowed, "{:?} {resource}", user.id);
        }
    }
    // A rejected invitation never grants access.
    app.post(
        &bob.token,
        &format!("/api/v1/sessions/{session}/reject"),
        json!({}),
    )
    .await;
    let (status, _) = app
        .get(&bob.token, &format!("/api/v1/interactions/{interaction}"))
        .await;
    assert_eq!(status, 403);
    // Nobody but the agent starts a consultation about it, or searches in its context.
    let (status, error) = app
        .post(
            &bob.token,
            "/api/v1/sessions",
            json!({"target_id": alice.id, "parent_interaction_id": interaction}),
        )
        .await;
    assert_eq!((status, error["code"].as_str()), (403, Some("not_shared")));
    let (status, error) = app
        .get(
            &bob.token,
            &format!("/api/v1/directory?interaction_id={interaction}"),
        )
        .await;
    assert_eq!((status, error["code"].as_str()), (403, Some("not_shared")));
    let (status, error) = app.get(&alice.token, "/api/v1/interactions/nope").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("interaction_not_found"))
    );
}

#[tokio::test]
async fn active_consultations_preselect_the_current_target_until_the_agent_searches() {
    let Consultation {
        app,
        alice,
        bob,
        interaction,
        session,
        ..
    } = consultation_setup().await;
    let base = format!("/api/v1/directory?interaction_id={interaction}");
    let (_, directory) = app.get(&alice.token, &base).await;
    assert_eq!(directory["active_consultations"][0]["id"], bob.id.as_str());
    assert_eq!(directory["preselected"], bob.id.as_str());
    let actions = &directory["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == bob.id.as_str())
        .unwrap()["actions"];
    assert!(actions
        .as_array()
        .unwrap()
        .contains(&json!("start_im_consultation")));
    assert!(!actions.as_array().unwrap().contains(&json!("send_im")));
    let (_, typed) = app.get(&alice.token, &format!("{base}&q=bo")).await;
    assert_eq!(typed["preselected"], Value::Null);
    let (_, filtered) = app
        .get(&alice.token, &format!("{base}&filter=agents"))
        .await;
    assert_eq!(filtered["preselected"], Value::Null);
    let (_, outside) = app.get(&alice.token, "/api/v1/directory").await;
    assert!(outside["active_consultations"]
        .as_array()
        .unwrap()
        .is_empty());
    // An ended consultation is no longer active.
    app.send_message(&alice, &session, "m1", "hi").await;
    app.post(
        &bob.token,
        &format!("/api/v1/sessions/{session}/accept"),
        json!({}),
    )
    .await;
    app.post(
        &alice.token,
        &format!("/api/v1/sessions/{session}/end"),
        json!({}),
    )
    .await;
    let (_, after) = app.get(&alice.token, &base).await;
    assert!(after["active_consultations"].as_array().unwrap().is_empty());
    assert_eq!(after["preselected"], Value::Null);
    // The interaction lists its consultations for its agent.
    let (_, view) = app
        .get(&alice.token, &format!("/api/v1/interactions/{interaction}"))
        .await;
    assert_eq!(view["consultations"][0]["session_id"], session.as_str());
    assert_eq!(view["consultations"][0]["state"], "ended");
}

#[tokio::test]
async fn an_ended_consultation_is_kept_in_the_contacts_history() {
    let Consultation {
        app,
        alice,
        bob,
        interaction,
        session,
        ..
    } = consultation_setup().await;
    app.send_message(&alice, &session, "m1", "Can we waive the restocking fee?")
        .await;
    app.post(
        &bob.token,
        &format!("/api/v1/sessions/{session}/accept"),
        json!({}),
    )
    .await;
    app.send_message(
        &bob,
        &session,
        "b1",
        "Yes, approved under goodwill policy GW-12",
    )
    .await;
    let (status, _) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{session}/end"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, found) = app
        .get(
            &alice.token,
            &format!("/api/v1/interactions/{interaction}/history?q=goodwill"),
        )
        .await;
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!(items[0]["interaction_id"], interaction.as_str());
    let transcript = &items[0]["transcripts"][0];
    assert_eq!(transcript["session_id"], session.as_str());
    assert!(transcript["title"]
        .as_str()
        .unwrap()
        .contains("Bob Builder"));
    let text = transcript["text"].as_str().unwrap();
    assert!(
        text.contains("Alice Agent: Can we waive the restocking fee?"),
        "{text}"
    );
    assert!(
        text.contains("Bob Builder: Yes, approved under goodwill policy GW-12"),
        "{text}"
    );
    assert!(text.contains("session ended by Bob Builder"), "{text}");
    // Attached once, however the end is reached again.
    let (status, _) = app
        .post(
            &alice.token,
            &format!("/api/v1/sessions/{session}/done"),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, again) = app
        .get(
            &alice.token,
            &format!("/api/v1/interactions/{interaction}/history?q=goodwill"),
        )
        .await;
    assert_eq!(
        again["items"][0]["transcripts"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn only_the_agent_of_an_active_interaction_consults_about_it() {
    let app = spawn_app().await;
    let platform = integration(&app, None).await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let (_, view) = app
        .post(
            &platform,
            "/api/v1/platform/interactions",
            voice_call("c", "alice"),
        )
        .await;
    let id = view["id"].as_str().unwrap();
    app.post(
        &platform,
        &format!("/api/v1/platform/interactions/{id}/end"),
        json!({}),
    )
    .await;
    let (status, error) = app
        .post(
            &alice.token,
            "/api/v1/sessions",
            json!({"target_id": bob.id, "parent_interaction_id": id, "defer_invite": true}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (409, Some("invalid_state"))
    );
}

#[tokio::test]
async fn the_simulator_streams_interactions_through_the_platform_api() {
    let app = spawn_app().await;
    let platform = integration(&app, None).await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let mut desktop = app.desktop(&alice, None).await;
    backline_server::simulate::run(backline_server::simulate::SimulateOptions {
        url: app.url(""),
        token: platform,
        agents: vec!["alice".into(), "bob".into()],
        every: std::time::Duration::from_millis(100),
        duration: std::time::Duration::from_millis(150),
        count: 2,
    })
    .await
    .unwrap();
    let pushed = desktop.event("interaction").await;
    let interaction = &pushed["event"]["interaction"];
    assert_eq!(
        interaction["media"]
            .as_str()
            .map(|m| ["voice", "chat", "email"].contains(&m)),
        Some(true)
    );
    assert!(!interaction["case_data"].as_array().unwrap().is_empty());
    assert!(interaction["contact_name"].as_str().unwrap().contains(' '));
    for user in [&alice, &bob] {
        let (_, list) = app.get(&user.token, "/api/v1/interactions").await;
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 1, "one each, round-robin");
        assert_eq!(
            list[0]["state"], "ended",
            "the simulator ends what it started"
        );
    }
}
