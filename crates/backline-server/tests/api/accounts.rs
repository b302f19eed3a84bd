//! Sign-in and out, tokens, status and presence, the directory, administration.

use backline_protocol::model::Role;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Desktop, PASSWORD};

#[tokio::test]
async fn sign_in_sets_an_http_only_cookie_that_authenticates_rest() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let (status, body, headers) = app.sign_in("alice", PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(body["me"]["username"], "alice");
    let cookie = headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("backline_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let me: serde_json::Value = app
        .http
        .get(app.url("/api/v1/me"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], alice.id.as_str());
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_the_same_error() {
    let app = spawn_app().await;
    app.user("alice", "Alice Agent").await;
    let (status, body, _) = app.sign_in("alice", "wrong password").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (status, body, _) = app.sign_in("nobody", "wrong password").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
}

#[tokio::test]
async fn sign_out_revokes_the_token_and_closes_its_desktops_only() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    // A second sign-in (another browser) has its own token.
    let (_, other, _) = app.sign_in("alice", PASSWORD).await;
    let other = crate::helpers::User {
        id: alice.id.clone(),
        token: other["token"].as_str().unwrap().to_owned(),
    };
    let mut signed_out = app.desktop(&alice, None).await;
    let mut elsewhere = app.desktop(&other, None).await;
    let (status, _) = app
        .post(&alice.token, "/api/v1/auth/sign-out", json!({}))
        .await;
    assert_eq!(status, 204);
    let (status, body) = app.get(&alice.token, "/api/v1/me").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("session_expired"))
    );
    assert_eq!(
        signed_out.closed_with().await,
        Some(4001),
        "the signed-out token's socket closes"
    );
    elsewhere.send(json!({"type": "ping", "rid": "p"})).await;
    assert_eq!(
        elsewhere.until("pong", |f| f["type"] == "pong").await["rid"],
        "p",
        "the other browser stays"
    );
    let (status, _) = app.get(&other.token, "/api/v1/me").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn expired_tokens_are_refused_on_rest_and_socket() {
    let app = spawn_app_with(|c| c.auth.token_ttl_secs = 1).await;
    let alice = app.user("alice", "Alice Agent").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = app.get(&alice.token, "/api/v1/me").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("session_expired"))
    );
    let mut desktop = Desktop::connect(app.addr).await;
    desktop
        .send(json!({"type": "hello", "token": alice.token}))
        .await;
    let frame = desktop.next().await;
    assert_eq!(frame["code"], "session_expired");
    assert_eq!(desktop.closed_with().await, Some(4001));
}

#[tokio::test]
async fn disabling_an_account_closes_its_desktops_and_refuses_sign_in() {
    let app = spawn_app().await;
    let admin = app.user_with("root", "Root", true, vec![Role::Admin]).await;
    let alice = app.user("alice", "Alice Agent").await;
    let mut desktop = app.desktop(&alice, None).await;
    let (status, view) = app
        .send_json(
            reqwest::Method::PATCH,
            &admin.token,
            &format!("/api/v1/admin/users/{}", alice.id),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["disabled"], true);
    assert_eq!(desktop.closed_with().await, Some(4001));
    let (status, body, _) = app.sign_in("alice", PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("account_disabled"))
    );
}

#[tokio::test]
async fn status_changes_reach_watchers_and_other_tabs_and_offline_follows_connections() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    app.backline
        .create_status_reason(None, "lunch", "Lunch")
        .await
        .unwrap();

    let mut watcher = app.desktop(&bob, None).await;
    watcher
        .send(json!({"type": "watch", "user_ids": [alice.id]}))
        .await;
    let initial = watcher
        .until("presence", |f| {
            f["type"] == "presence" && f["user_id"] == alice.id.as_str()
        })
        .await;
    assert_eq!(initial["status"], "offline", "no desktop yet");

    let mut tab1 = app.desktop(&alice, None).await;
    let online = watcher
        .until("presence online", |f| {
            f["type"] == "presence" && f["status"] != "offline"
        })
        .await;
    assert_eq!(online["status"], "not_ready");
    let mut tab2 = app.desktop(&alice, None).await;

    let (status, me) = app
        .put(
            &alice.token,
            "/api/v1/me/status",
            json!({"status": "not_ready", "reason": "lunch"}),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    let seen = watcher
        .until("presence lunch", |f| {
            f["type"] == "presence" && f["reason"] == "lunch"
        })
        .await;
    assert_eq!(seen["user_id"], alice.id.as_str());
    for tab in [&mut tab1, &mut tab2] {
        let event = tab.event("status").await;
        assert_eq!(event["event"]["status"], "not_ready");
        assert_eq!(event["event"]["reason"], "lunch");
    }
    app.put(
        &alice.token,
        "/api/v1/me/status",
        json!({"status": "ready"}),
    )
    .await;
    watcher
        .until("ready", |f| {
            f["type"] == "presence" && f["status"] == "ready"
        })
        .await;

    drop(tab1);
    drop(tab2);
    watcher
        .until("offline", |f| {
            f["type"] == "presence" && f["status"] == "offline"
        })
        .await;
}

#[tokio::test]
async fn status_validation_names_the_problem() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    for body in [
        json!({"status": "offline"}),
        json!({"status": "not_ready", "reason": "no-such-reason"}),
        json!({"status": "ready", "reason": "lunch"}),
    ] {
        let (status, error) = app
            .put(&alice.token, "/api/v1/me/status", body.clone())
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
    }
    let (status, error) = app
        .put(
            &alice.token,
            "/api/v1/me/status",
            json!({"status": "sleeping"}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("malformed_request"))
    );
}

#[tokio::test]
async fn directory_search_is_case_and_accent_insensitive_and_covers_groups() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let erin = app.user("erin", "Erin Éclair").await;
    app.user("carol", "Carol Côté").await;
    let mallory = app
        .user_with("mallory", "Mallory Moreau", false, vec![])
        .await;
    app.backline
        .create_group(None, "Technical Support")
        .await
        .unwrap();
    app.backline
        .set_group_member(None, "Technical Support", "erin", true)
        .await
        .unwrap();

    let names = |body: &serde_json::Value| -> Vec<String> {
        body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["display_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, body) = app.get(&alice.token, "/api/v1/directory?q=ECLA").await;
    assert_eq!(names(&body), vec!["Erin Éclair"]);
    let (_, body) = app.get(&alice.token, "/api/v1/directory?q=cote").await;
    assert_eq!(names(&body), vec!["Carol Côté"]);
    // By group: the member and the group itself.
    let (_, body) = app.get(&alice.token, "/api/v1/directory?q=technical").await;
    assert_eq!(names(&body), vec!["Erin Éclair", "Technical Support"]);
    let (_, body) = app
        .get(&alice.token, "/api/v1/directory?q=technical&filter=agents")
        .await;
    assert_eq!(names(&body), vec!["Erin Éclair"]);
    let (_, body) = app
        .get(&alice.token, "/api/v1/directory?filter=groups")
        .await;
    assert_eq!(names(&body), vec!["Technical Support"]);
    // Wildcards are literal.
    let (_, body) = app.get(&alice.token, "/api/v1/directory?q=%25").await;
    assert!(names(&body).is_empty());

    // Actions: IM only when both hold the permission; never yourself.
    let (_, body) = app.get(&alice.token, "/api/v1/directory").await;
    let entries = body["entries"].as_array().unwrap();
    assert!(
        !entries.iter().any(|e| e["id"] == alice.id.as_str()),
        "the caller is not a target"
    );
    let actions = |id: &str| entries.iter().find(|e| e["id"] == id).unwrap()["actions"].clone();
    assert!(actions(&erin.id)
        .as_array()
        .unwrap()
        .contains(&json!("send_im")));
    assert!(!actions(&mallory.id)
        .as_array()
        .unwrap()
        .contains(&json!("send_im")));
    // ... and the desktop is told why, in the words of the refusal.
    let entry = entries
        .iter()
        .find(|e| e["id"] == mallory.id.as_str())
        .unwrap();
    assert_eq!(
        entry["unavailable"],
        json!([{
            "action": "send_im",
            "code": "im_not_permitted",
            "reason": "Mallory Moreau does not have the Internal IM permission"
        }])
    );
    assert_eq!(
        entries
            .iter()
            .find(|e| e["id"] == erin.id.as_str())
            .unwrap()["unavailable"],
        json!([])
    );
    let (_, body) = app.get(&mallory.token, "/api/v1/directory").await;
    assert!(body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| !e["actions"].as_array().unwrap().contains(&json!("send_im"))));
    let alice_for_mallory = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == alice.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        alice_for_mallory["unavailable"][0]["reason"],
        "your account does not have the Internal IM permission"
    );

    // Favourites and recent.
    let (status, _) = app
        .put(
            &alice.token,
            &format!("/api/v1/favourites/{}", erin.id),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, body) = app
        .get(&alice.token, "/api/v1/directory?filter=favourites")
        .await;
    assert_eq!(names(&body), vec!["Erin Éclair"]);
    assert!(body["entries"][0]["actions"]
        .as_array()
        .unwrap()
        .contains(&json!("remove_favourite")));
    let (status, _) = app
        .send_json(
            reqwest::Method::DELETE,
            &alice.token,
            &format!("/api/v1/favourites/{}", erin.id),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, body) = app
        .get(&alice.token, "/api/v1/directory?filter=favourites")
        .await;
    assert!(names(&body).is_empty());
    let (_, body) = app
        .get(&alice.token, "/api/v1/directory?filter=recent")
        .await;
    assert!(names(&body).is_empty());
    app.open_session(&alice, &erin, None).await;
    let (_, body) = app
        .get(&alice.token, "/api/v1/directory?filter=recent")
        .await;
    assert_eq!(names(&body), vec!["Erin Éclair"]);
    let (status, body) = app
        .put(&alice.token, "/api/v1/favourites/nope", json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("user_not_found"))
    );
}

#[tokio::test]
async fn admin_api_is_for_admins_only_and_reports_conflicts() {
    let app = spawn_app().await;
    let admin = app.user_with("root", "Root", true, vec![Role::Admin]).await;
    let alice = app.user("alice", "Alice Agent").await;
    let (status, body) = app.get(&alice.token, "/api/v1/admin/users").await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let new_user = json!({"username": "dave", "display_name": "Dave", "password": "long enough", "roles": ["agent"]});
    let (status, created) = app
        .post(&admin.token, "/api/v1/admin/users", new_user.clone())
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, body) = app
        .post(&admin.token, "/api/v1/admin/users", new_user)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("already_exists"))
    );
    let (status, body) = app
        .post(
            &admin.token,
            "/api/v1/admin/users",
            json!({"username": "Bad Name", "display_name": "x", "password": "long enough"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, group) = app
        .post(
            &admin.token,
            "/api/v1/admin/groups",
            json!({"name": "Billing"}),
        )
        .await;
    assert_eq!(status, 201);
    let gid = group["id"].as_str().unwrap();
    let (status, _) = app
        .put(
            &admin.token,
            &format!("/api/v1/admin/groups/{gid}/members/{}", alice.id),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, groups) = app.get(&admin.token, "/api/v1/admin/groups").await;
    assert_eq!(groups[0]["members"], json!([alice.id]));
    let (status, body) = app
        .put(
            &admin.token,
            &format!("/api/v1/admin/groups/nope/members/{}", alice.id),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("group_not_found"))
    );
    // An administrator cannot lock themselves out.
    for body in [json!({"disabled": true}), json!({"roles": ["agent"]})] {
        let (status, error) = app
            .send_json(
                reqwest::Method::PATCH,
                &admin.token,
                &format!("/api/v1/admin/users/{}", admin.id),
                body.clone(),
            )
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (409, Some("invalid_state")),
            "{body}"
        );
    }
    let (status, _) = app.get(&admin.token, "/api/v1/admin/users").await;
    assert_eq!(status, 200, "still an administrator");
    // Withdrawing the IM permission shows at once.
    let (status, _) = app
        .send_json(
            reqwest::Method::PATCH,
            &admin.token,
            &format!("/api/v1/admin/users/{}", alice.id),
            json!({"im_permitted": false}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, me) = app.get(&alice.token, "/api/v1/me").await;
    assert_eq!(me["im_permitted"], false);
}

#[tokio::test]
async fn every_admin_change_is_audited_with_its_administrator() {
    let app = spawn_app().await;
    let admin = app.user_with("root", "Root", true, vec![Role::Admin]).await;
    let alice = app.user("alice", "Alice Agent").await;
    let (status, dave) = app
        .post(
            &admin.token,
            "/api/v1/admin/users",
            json!({"username": "dave", "display_name": "Dave", "password": "a first secret"}),
        )
        .await;
    assert_eq!(status, 201, "{dave}");
    let dave = dave["id"].as_str().unwrap().to_owned();
    let (status, group) = app
        .post(
            &admin.token,
            "/api/v1/admin/groups",
            json!({"name": "Billing"}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    use reqwest::Method;
    let members = format!("/api/v1/admin/groups/{gid}/members/{}", alice.id);
    for (method, path, body, expected) in [
        (
            Method::PATCH,
            format!("/api/v1/admin/users/{dave}"),
            json!({"password": "a second secret", "im_permitted": false}),
            200,
        ),
        (Method::PUT, members.clone(), json!({}), 204),
        (
            Method::PUT,
            format!("/api/v1/admin/groups/{gid}/supervisors/{dave}"),
            json!({}),
            204,
        ),
        (
            Method::PATCH,
            format!("/api/v1/admin/groups/{gid}"),
            json!({"wave_size": 2}),
            200,
        ),
        (Method::DELETE, members, json!({}), 204),
        (
            Method::POST,
            "/api/v1/admin/status-reasons".to_owned(),
            json!({"code": "lunch", "label": "Lunch"}),
            201,
        ),
    ] {
        let (status, answer) = app.send_json(method, &admin.token, &path, body).await;
        assert_eq!(status, expected, "{path}: {answer}");
    }
    let (status, integration) = app
        .post(
            &admin.token,
            "/api/v1/admin/integrations",
            json!({"name": "crm"}),
        )
        .await;
    assert_eq!(status, 201, "{integration}");
    let iid = integration["integration"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A refused change writes no entry.
    let (status, _) = app
        .post(
            &admin.token,
            "/api/v1/admin/groups",
            json!({"name": "Billing"}),
        )
        .await;
    assert_eq!(status, 409);

    let (status, log) = app.get(&admin.token, "/api/v1/admin/audit").await;
    assert_eq!(status, 200);
    let entries = log.as_array().unwrap();
    let mut by_admin: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e["actor_id"] == admin.id.as_str() && e["action"] != "sign_in")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["resource"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    by_admin.reverse(); // the log is newest first
    let (user, group) = (format!("user:{dave}"), format!("group:{gid}"));
    let integration = format!("integration:{iid}");
    let expected: Vec<(&str, &str)> = vec![
        ("user_created", &user),
        ("group_created", &group),
        ("user_updated", &user),
        ("group_member_added", &group),
        ("group_supervisor_added", &group),
        ("group_updated", &group),
        ("group_member_removed", &group),
        ("status_reason_created", "status_reason:lunch"),
        ("integration_created", &integration),
    ];
    let expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(a, r)| (a.to_owned(), r.to_owned()))
        .collect();
    assert_eq!(by_admin, expected);
    for entry in entries {
        let detail = entry["detail"].as_str().unwrap_or_default();
        assert!(
            !detail.contains("secret"),
            "a password in the audit log: {entry}"
        );
    }
    let updated = entries
        .iter()
        .find(|e| e["action"] == "user_updated")
        .unwrap();
    assert_eq!(updated["detail"], "password reset, IM permitted false");
    // Changes from the command line (here: the fixtures) name the system.
    assert!(entries.iter().any(|e| e["action"] == "user_created"
        && e["actor_id"] == "system"
        && e["resource"] == format!("user:{}", alice.id)));
}

#[tokio::test]
async fn preferences_are_kept_per_user_and_reach_other_tabs() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let mut tab = app.desktop(&alice, None).await;
    let (status, me) = app
        .put(&alice.token, "/api/v1/me/preferences", json!({"zoom": 150}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(me["preferences"]["zoom"], 150);
    assert_eq!(tab.event("preferences").await["event"]["zoom"], 150);
    let (_, me) = app.get(&alice.token, "/api/v1/me").await;
    assert_eq!(me["preferences"]["zoom"], 150);
    let (status, body) = app
        .put(&alice.token, "/api/v1/me/preferences", json!({"zoom": 500}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn operations_endpoints_answer() {
    let app = spawn_app().await;
    let health: serde_json::Value = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready: serde_json::Value = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    let alice = app.user("alice", "Alice Agent").await;
    let _desktop = app.desktop(&alice, None).await;
    let metrics = app.metrics_text().await;
    assert!(metrics.contains("backline_connections"), "{metrics}");
    assert!(
        metrics.contains("backline_store_commit_seconds"),
        "{metrics}"
    );
    let spec: serde_json::Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(
        spec["paths"]["/sessions/{id}/messages"]["post"].is_object(),
        "documented send"
    );
}
