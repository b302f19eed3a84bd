//! What the administration console calls beyond accounts and groups: an
//! integration's credentials rotated, its webhook deliveries listed and sent
//! again, and the audit log searched and paged.

use std::time::Duration;

use backline_protocol::model::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, User};
use crate::interactions::voice_call;
use crate::webhooks::{free_port, verify, Receiver};

async fn admin(app: &TestApp) -> User {
    app.user_with("root", "Root Admin", true, vec![Role::Admin])
        .await
}

/// Creates an integration posting to `url`: (id, token, webhook secret).
pub(crate) async fn integration(
    app: &TestApp,
    admin: &User,
    url: &str,
) -> (String, String, String) {
    let (status, created) = app
        .post(
            &admin.token,
            "/api/v1/admin/integrations",
            json!({"name": "platform", "webhook_url": url}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    (
        text(&created["integration"]["id"]),
        text(&created["token"]),
        text(&created["webhook_secret"]),
    )
}

/// The platform creates a voice interaction for Alice; its id.
async fn interaction_of_alice(app: &TestApp, token: &str, external_id: &str) -> String {
    let (status, body) = app
        .post(
            token,
            "/api/v1/platform/interactions",
            voice_call(external_id, "alice"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

pub(crate) async fn deliveries(app: &TestApp, admin: &User, id: &str, query: &str) -> (u16, Value) {
    app.get(
        &admin.token,
        &format!("/api/v1/admin/integrations/{id}/deliveries{query}"),
    )
    .await
}

/// Polls the deliveries until one matches `check`, or panics after 20 s.
pub(crate) async fn wait_delivery(
    app: &TestApp,
    admin: &User,
    id: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..200 {
        let (status, page) = deliveries(app, admin, id, "").await;
        assert_eq!(status, 200, "{page}");
        if let Some(found) = page["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| check(d))
        {
            return found.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no delivery {what}");
}

async fn audit(app: &TestApp, admin: &User, query: &str) -> Vec<Value> {
    let (status, log) = app
        .get(&admin.token, &format!("/api/v1/admin/audit{query}"))
        .await;
    assert_eq!(status, 200, "{query}: {log}");
    log.as_array().unwrap().clone()
}

#[tokio::test]
async fn rotating_an_integrations_token_and_secret_retires_the_old_ones_and_is_audited() {
    let port = free_port();
    let (receiver, _task) = Receiver::start(0, port).await;
    let app = spawn_app().await;
    let root = admin(&app).await;
    let alice = app.user("alice", "Alice Agent").await;
    let url = format!("http://127.0.0.1:{port}/hook");
    let (id, old_token, old_secret) = integration(&app, &root, &url).await;
    let platform = "/api/v1/platform/interactions";
    let (status, body) = app
        .post(&old_token, platform, voice_call("c-1", "alice"))
        .await;
    assert_eq!(status, 201, "{body}");

    let path = format!("/api/v1/admin/integrations/{id}/token");
    let (status, rotated) = app.post(&root.token, &path, json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    let new_token = rotated["token"].as_str().unwrap().to_owned();
    assert!(new_token.starts_with("bli_") && new_token != old_token);
    assert_eq!(rotated["integration"]["id"], id.as_str());
    assert!(rotated.get("webhook_secret").is_none(), "{rotated}");
    let (status, body) = app
        .post(&old_token, platform, voice_call("c-2", "alice"))
        .await;
    assert_eq!((status, code(&body)), (401, "unauthenticated"), "{body}");
    let (status, body) = app
        .post(&new_token, platform, voice_call("c-2", "alice"))
        .await;
    assert_eq!(status, 201, "the new token works: {body}");

    // Everything queued so far arrives; later attempts carry the new secret.
    let path = format!("/api/v1/admin/integrations/{id}/webhook-secret");
    receiver.wait_for(2).await;
    let (status, rotated) = app.post(&root.token, &path, json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["webhook_secret"].as_str().unwrap().to_owned();
    assert!(new_secret != old_secret && rotated.get("token").is_none());
    let before = receiver.requests().len();
    let (status, body) = app
        .post(&new_token, platform, voice_call("c-3", "alice"))
        .await;
    assert_eq!(status, 201, "{body}");
    receiver.wait_for(before + 1).await;
    let (headers, body) = receiver.requests()[before].clone();
    verify(&new_secret, &headers, &body);
    let timestamp: i64 = headers["x-backline-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let old_signature = backline_service::webhooks::signature(&old_secret, timestamp, &body);
    assert_ne!(
        headers["x-backline-signature"].to_str().unwrap(),
        old_signature
    );

    // Only administrators; an unknown integration is named as such.
    let (status, body) = app.post(&alice.token, &path, json!({})).await;
    assert_eq!((status, code(&body)), (403, "forbidden"));
    let (status, body) = app
        .post(
            &root.token,
            "/api/v1/admin/integrations/nope/token",
            json!({}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (404, "integration_not_found"),
        "{body}"
    );

    let resource = format!("integration:{id}");
    let entries = audit(&app, &root, &format!("?resource={resource}")).await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "integration_webhook_secret_rotated",
            "integration_token_rotated",
            "integration_created"
        ]
    );
    for entry in &entries {
        assert_eq!(entry["actor_id"], root.id.as_str());
        let detail = entry["detail"].as_str().unwrap();
        assert!(!detail.contains(&new_token) && !detail.contains(&new_secret));
    }
}

#[tokio::test]
async fn webhook_deliveries_show_their_failures_and_are_sent_again_on_request() {
    let port = free_port();
    let (receiver, _task) = Receiver::start(usize::MAX, port).await;
    let app = spawn_app().await;
    let root = admin(&app).await;
    app.user("alice", "Alice Agent").await;
    let url = format!("http://127.0.0.1:{port}/hook");
    let (id, token, _) = integration(&app, &root, &url).await;
    let interaction = interaction_of_alice(&app, &token, "c-1").await;

    // The receiver answers 500: the event waits for its next attempt, its failure shown.
    let failing = wait_delivery(&app, &root, &id, "failing", |d| {
        d["attempts"].as_u64().unwrap() >= 1
    })
    .await;
    assert_eq!(failing["state"], "pending", "{failing}");
    assert_eq!(failing["event_type"], "interaction.created");
    assert_eq!(failing["interaction_id"], interaction.as_str());
    assert_eq!(failing["last_error"], "HTTP 500", "{failing}");
    assert!(failing["next_attempt_at"].as_i64().unwrap() > failing["created_at"].as_i64().unwrap());
    assert!(failing["delivered_at"].is_null());
    let event = failing["id"].as_str().unwrap().to_owned();

    receiver.succeed_from_now();
    let redeliver = format!("/api/v1/admin/integrations/{id}/deliveries/{event}/redeliver");
    let (status, queued) = app.post(&root.token, &redeliver, json!({})).await;
    assert_eq!(status, 200, "{queued}");
    assert_eq!(queued["state"], "pending");
    assert!(queued["next_attempt_at"].as_i64().unwrap() <= backline_store::now_ms());
    let delivered = wait_delivery(&app, &root, &id, "delivered", |d| {
        d["id"] == event.as_str() && d["state"] == "delivered"
    })
    .await;
    assert!(delivered["next_attempt_at"].is_null() && delivered["delivered_at"].is_i64());

    // A delivered event is sent once more, only because it was asked for.
    let copies = |r: &Receiver| {
        r.bodies()
            .iter()
            .filter(|b| b["id"] == event.as_str())
            .count()
    };
    let (sent, total) = (copies(&receiver), receiver.requests().len());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(copies(&receiver), sent, "nothing is sent again by itself");
    let (status, queued) = app.post(&root.token, &redeliver, json!({})).await;
    assert_eq!(
        (status, &queued["state"]),
        (200, &json!("pending")),
        "{queued}"
    );
    receiver.wait_for(total + 1).await;
    assert_eq!(copies(&receiver), sent + 1);

    // Filters and pages.
    app.post(
        &token,
        "/api/v1/platform/interactions",
        voice_call("c-2", "alice"),
    )
    .await;
    wait_delivery(&app, &root, &id, "the second", |d| {
        d["interaction_id"] != interaction.as_str() && d["state"] == "delivered"
    })
    .await;
    let (status, all) = deliveries(&app, &root, &id, "").await;
    assert_eq!(status, 200);
    let all = all["deliveries"].as_array().unwrap().clone();
    assert!(all.len() >= 2, "{all:?}");
    let (_, first) = deliveries(&app, &root, &id, "?limit=1").await;
    assert_eq!(first["deliveries"].as_array().unwrap().len(), 1);
    assert_eq!(first["has_more"], true);
    assert_eq!(first["deliveries"][0]["id"], all[0]["id"], "newest first");
    let next = format!("?limit=1&before={}", all[0]["id"].as_str().unwrap());
    let (_, second) = deliveries(&app, &root, &id, &next).await;
    assert_eq!(second["deliveries"][0]["id"], all[1]["id"]);
    let (_, failed) = deliveries(&app, &root, &id, "?state=failed").await;
    assert_eq!(failed["deliveries"], json!([]));
    let (_, done) = deliveries(&app, &root, &id, "?state=delivered&limit=200").await;
    assert_eq!(done["deliveries"].as_array().unwrap().len(), all.len());

    for (query, want) in [
        ("?state=lost", "invalid_request"),
        ("?limit=0", "invalid_request"),
        ("?limit=201", "invalid_request"),
        ("?before=unknown", "delivery_not_found"),
    ] {
        let (status, body) = deliveries(&app, &root, &id, query).await;
        assert_eq!(code(&body), want, "{query}: {body}");
        assert_eq!(status, if want == "invalid_request" { 400 } else { 404 });
    }
    let (status, body) = deliveries(&app, &root, "nope", "").await;
    assert_eq!((status, code(&body)), (404, "integration_not_found"));
    let unknown = format!("/api/v1/admin/integrations/{id}/deliveries/nope/redeliver");
    let (status, body) = app.post(&root.token, &unknown, json!({})).await;
    assert_eq!((status, code(&body)), (404, "delivery_not_found"));

    let entries = audit(&app, &root, "?action=webhook_redelivered").await;
    let details: Vec<&str> = entries
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        details,
        [
            format!("delivery {event}, was delivered"),
            format!("delivery {event}, was pending")
        ]
    );
}

#[tokio::test]
async fn the_audit_log_is_searched_by_action_actor_resource_and_time_and_paged() {
    let app = spawn_app().await;
    let root = admin(&app).await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let (_, token, _) = integration(&app, &root, "http://127.0.0.1:9/unused").await;
    let interaction = interaction_of_alice(&app, &token, "c-1").await;
    // Bob may not read Alice's interaction: refused and audited.
    let (status, _) = app
        .get(&bob.token, &format!("/api/v1/interactions/{interaction}"))
        .await;
    assert_eq!(status, 403);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let between = backline_store::now_ms();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (status, dave) = app
        .post(
            &root.token,
            "/api/v1/admin/users",
            json!({"username": "dave", "display_name": "Dave", "password": "a long password"}),
        )
        .await;
    assert_eq!(status, 201, "{dave}");
    let dave = dave["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .send_json(
            Method::PATCH,
            &root.token,
            &format!("/api/v1/admin/users/{dave}"),
            json!({"password": "another long password"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Sign-ins: who, from where.
    let signed_in = audit(&app, &root, &format!("?action=sign_in&actor={}", alice.id)).await;
    assert_eq!(signed_in.len(), 1, "{signed_in:?}");
    assert_eq!(signed_in[0]["allowed"], true);
    assert_eq!(
        signed_in[0]["resource"],
        format!("user:{}", alice.id).as_str()
    );
    assert!(signed_in[0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("alice signed in from 127.0.0.1"));

    // Who read which interaction's shared data.
    let reads = audit(&app, &root, &format!("?resource=interaction:{interaction}")).await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0]["actor_id"], bob.id.as_str());
    assert_eq!(reads[0]["allowed"], false);
    let refused = audit(&app, &root, "?allowed=false").await;
    assert!(!refused.is_empty() && refused.iter().all(|e| e["allowed"] == false));

    // Administrators' changes, by action and in a time range.
    let query = format!("?action=user_created,user_updated&actor={}", root.id);
    let changes = audit(&app, &root, &query).await;
    let actions: Vec<&str> = changes
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user_updated", "user_created"], "newest first");
    assert_eq!(changes[0]["resource"], format!("user:{dave}").as_str());
    assert!(changes[0]["detail"]
        .as_str()
        .unwrap()
        .contains("password reset"));
    let after = audit(&app, &root, &format!("?from={between}")).await;
    assert!(after.iter().all(|e| e["ts"].as_i64().unwrap() >= between));
    assert!(after.iter().any(|e| e["action"] == "user_created"));
    let earlier = audit(&app, &root, &format!("?to={between}")).await;
    assert!(earlier.iter().all(|e| e["ts"].as_i64().unwrap() < between));
    assert!(earlier.iter().any(|e| e["action"] == "integration_created"));
    assert_eq!(
        after.len() + earlier.len(),
        audit(&app, &root, "").await.len()
    );

    // Pages: each after the previous one's last entry, none twice.
    let everything = audit(&app, &root, "").await;
    let mut paged = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = audit(&app, &root, &query).await;
        paged.extend(page.iter().map(|e| e["id"].clone()));
        if page.len() < 2 {
            break;
        }
        query = format!("?limit=2&before={}", page[1]["id"].as_str().unwrap());
    }
    let ids: Vec<Value> = everything.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(paged, ids);

    for query in [
        "?limit=0",
        "?limit=501",
        "?before=unknown",
        "?from=10&to=5",
        "?allowed=perhaps",
    ] {
        let (status, body) = app
            .get(&root.token, &format!("/api/v1/admin/audit{query}"))
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            ["invalid_request", "malformed_request"].contains(&code(&body)),
            "{query}: {body}"
        );
    }
    let (status, body) = app.get(&alice.token, "/api/v1/admin/audit").await;
    assert_eq!((status, code(&body)), (403, "forbidden"));
}
