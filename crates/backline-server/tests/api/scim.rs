//! Provisioning with SCIM 2.0: the requests Entra ID and Okta send, as they
//! send them (the fixtures are their literal bodies), over real sockets.

use backline_protocol::model::Role;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, User, PASSWORD};

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Entra ID's create (its provisioning test user, with the enterprise extension).
const ENTRA_CREATE_USER: &str = r#"{
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7b0e8f9f9e6d",
    "userName": "Test_User_ab6490ee@contoso.com",
    "active": true,
    "emails": [{
        "primary": true,
        "type": "work",
        "value": "Test_User_fd0ea19b@testuser.com"
    }],
    "meta": {
        "resourceType": "User"
    },
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName"
    },
    "roles": []
}"#;

/// Entra ID's attribute update.
const ENTRA_PATCH_ATTRIBUTES: &str = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Ryan Leenay"},
        {"op": "Add", "path": "externalId", "value": "1fe6ad0d-7f1e-4c1b-9e59-4b3c3f0d1a6e"},
        {"op": "Replace", "path": "name.familyName", "value": "Leenay"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ryan@contoso.com"}
    ]
}"#;

/// Entra ID's deactivation: a string boolean.
const ENTRA_DISABLE: &str = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
}"#;

const ENTRA_ENABLE: &str = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Replace", "path": "active", "value": "True"}]
}"#;

/// Okta's create, with password sync on.
const OKTA_CREATE_USER: &str = r#"{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "isabelle.ana@example.com",
    "name": {"givenName": "Isabelle", "familyName": "Ana"},
    "emails": [{"primary": true, "value": "isabelle.ana@example.com", "type": "work"}],
    "displayName": "Isabelle Ana",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq-Okta",
    "active": true
}"#;

/// Okta's profile update: the whole user (PUT).
const OKTA_REPLACE_USER: &str = r#"{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "__ID__",
    "userName": "isabelle.ana@example.com",
    "name": {"givenName": "Isabelle", "familyName": "Ana-Moreau"},
    "emails": [{"primary": true, "value": "isabelle.ana@example.com", "type": "work"}],
    "displayName": "Isabelle Ana-Moreau",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "active": true
}"#;

/// Okta's deactivation: no path, an object value.
const OKTA_DISABLE: &str = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "value": {"active": false}}]
}"#;

const OKTA_CREATE_GROUP: &str = r#"{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": "Second Level Support",
    "members": []
}"#;

const OKTA_ADD_MEMBERS: &str = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "add",
        "path": "members",
        "value": [{"value": "__A__", "display": "a@example.com"}, {"value": "__B__", "display": "b@example.com"}]
    }]
}"#;

const OKTA_REMOVE_MEMBER: &str = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "remove", "path": "members[value eq \"__A__\"]"}]
}"#;

const OKTA_RENAME_GROUP: &str = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "value": {"id": "__ID__", "displayName": "Tier 2 Support"}}]
}"#;

/// Entra ID's member removal: a value list on the plain path.
const ENTRA_REMOVE_MEMBERS: &str = r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Remove", "path": "members", "value": [{"value": "__B__"}]}]
}"#;

/// A SCIM request with a literal body; answers status, body and content type.
async fn scim(
    app: &TestApp,
    token: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<&str>,
) -> (u16, Value, String) {
    let mut request = app.http.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json; charset=utf-8")
            .body(body.to_owned());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, body, content_type)
}

/// An administrator and an integration created over REST with `scopes`; its token.
async fn integration(app: &TestApp, admin: &User, name: &str, scopes: Value) -> (String, String) {
    let (status, created) = app
        .post(
            &admin.token,
            "/api/v1/admin/integrations",
            json!({"name": name, "scopes": scopes}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["integration"]["scopes"], scopes);
    (
        created["token"].as_str().unwrap().to_owned(),
        created["integration"]["id"].as_str().unwrap().to_owned(),
    )
}

async fn setup() -> (TestApp, User, String, String) {
    let app = spawn_app().await;
    let admin = app.user_with("root", "Root", true, vec![Role::Admin]).await;
    let (token, id) = integration(&app, &admin, "entra", json!(["scim"])).await;
    (app, admin, token, id)
}

fn assert_scim_error(answer: &(u16, Value, String), status: u16, scim_type: Option<&str>) {
    let (got, body, content_type) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["schemas"], json!([ERROR_SCHEMA]), "{body}");
    assert_eq!(body["status"], status.to_string(), "{body}");
    assert_eq!(body["scimType"].as_str(), scim_type, "{body}");
    assert!(body["detail"].is_string(), "{body}");
    assert!(
        content_type.starts_with("application/scim+json"),
        "{content_type}"
    );
}

async fn audit_actions(app: &TestApp, admin: &User, actor: &str) -> Vec<String> {
    let (status, log) = app.get(&admin.token, "/api/v1/admin/audit").await;
    assert_eq!(status, 200);
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_id"] == actor)
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn entra_id_creates_finds_changes_disables_and_deletes_an_account() {
    let (app, admin, token, integration_id) = setup().await;
    let t = Some(token.as_str());
    use reqwest::Method;

    let (status, user, content_type) = scim(
        &app,
        t,
        Method::POST,
        "/scim/v2/Users",
        Some(ENTRA_CREATE_USER),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    assert!(content_type.starts_with("application/scim+json"));
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(user["userName"], "test_user_ab6490ee@contoso.com");
    assert_eq!(user["displayName"], "givenName familyName");
    assert_eq!(user["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7b0e8f9f9e6d");
    assert_eq!(user["active"], true);
    assert_eq!(user["meta"]["resourceType"], "User");
    assert_eq!(user["meta"]["location"], format!("/scim/v2/Users/{id}"));
    assert!(user["meta"]["created"].as_str().unwrap().ends_with('Z'));
    assert!(user["meta"]["lastModified"].is_string());
    assert!(user["meta"]["version"].as_str().unwrap().starts_with("W/"));

    // No password: sign-in is refused exactly as for an unknown username,
    // so the answer does not tell that the account exists.
    let (status, body, _) = app
        .sign_in("test_user_ab6490ee@contoso.com", "anything")
        .await;
    let (unknown_status, unknown, _) = app.sign_in("nobody@contoso.com", "anything").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    assert_eq!((status, &body), (unknown_status, &unknown));

    // Entra looks the account up by its UPN, as typed.
    let filter = "/scim/v2/Users?filter=userName%20eq%20%22Test_User_ab6490ee%40contoso.com%22";
    let (status, list, _) = scim(&app, t, Method::GET, filter, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["id"], id.as_str());
    assert_eq!(
        list["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    let (_, list, _) = scim(
        &app,
        t,
        Method::GET,
        "/scim/v2/Users?filter=userName%20eq%20%22nobody%40contoso.com%22",
        None,
    )
    .await;
    assert_eq!(
        (
            list["totalResults"].as_u64(),
            list["Resources"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );

    // A second create of the same userName.
    let duplicate = scim(
        &app,
        t,
        Method::POST,
        "/scim/v2/Users",
        Some(ENTRA_CREATE_USER),
    )
    .await;
    assert_scim_error(&duplicate, 409, Some("uniqueness"));

    let path = format!("/scim/v2/Users/{id}");
    let (status, user, _) = scim(&app, t, Method::PATCH, &path, Some(ENTRA_PATCH_ATTRIBUTES)).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["displayName"], "Ryan Leenay");
    assert_eq!(user["externalId"], "1fe6ad0d-7f1e-4c1b-9e59-4b3c3f0d1a6e");

    // An administrator gives the account a password; it signs in and connects.
    app.backline
        .update_user(
            None,
            &id,
            backline_protocol::admin::UpdateUserRequest {
                password: Some(PASSWORD.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (status, signed_in, _) = app
        .sign_in("test_user_ab6490ee@contoso.com", PASSWORD)
        .await;
    assert_eq!(status, 200, "{signed_in}");
    let ryan = User {
        id: id.clone(),
        token: signed_in["token"].as_str().unwrap().to_owned(),
    };
    let mut desktop = app.desktop(&ryan, None).await;

    let (status, user, _) = scim(&app, t, Method::PATCH, &path, Some(ENTRA_DISABLE)).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["active"], false);
    assert_eq!(desktop.closed_with().await, Some(4001), "closed at once");
    let (status, body) = app.get(&ryan.token, "/api/v1/me").await;
    assert_eq!(status, 401, "the REST token stopped working: {body}");
    let (status, body, _) = app
        .sign_in("test_user_ab6490ee@contoso.com", PASSWORD)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("account_disabled"))
    );

    let (status, user, _) = scim(&app, t, Method::PATCH, &path, Some(ENTRA_ENABLE)).await;
    assert_eq!((status, &user["active"]), (200, &json!(true)), "{user}");
    let (status, _, _) = app
        .sign_in("test_user_ab6490ee@contoso.com", PASSWORD)
        .await;
    assert_eq!(status, 200, "re-activated");

    let (status, _, _) = scim(&app, t, Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    assert_scim_error(&scim(&app, t, Method::GET, &path, None).await, 404, None);
    let (_, list, _) = scim(&app, t, Method::GET, filter, None).await;
    assert_eq!(
        list["totalResults"], 0,
        "a deleted account is gone from SCIM"
    );
    let (status, _, _) = app
        .sign_in("test_user_ab6490ee@contoso.com", PASSWORD)
        .await;
    assert_eq!(status, 403, "and disabled");

    // Every change is audited, the integration its actor.
    let actions = audit_actions(&app, &admin, &format!("integration:{integration_id}")).await;
    for action in ["scim.user.create", "scim.user.patch", "scim.user.delete"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    assert_eq!(
        actions.iter().filter(|a| *a == "scim.user.patch").count(),
        3
    );
}

#[tokio::test]
async fn okta_creates_with_a_password_replaces_and_deactivates_with_a_pathless_patch() {
    let (app, _admin, token, _) = setup().await;
    let t = Some(token.as_str());
    use reqwest::Method;
    let (status, user, _) = scim(
        &app,
        t,
        Method::POST,
        "/scim/v2/Users",
        Some(OKTA_CREATE_USER),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(user["displayName"], "Isabelle Ana");
    assert!(user.get("password").is_none(), "never returned");

    let (status, signed_in, _) = app
        .sign_in("isabelle.ana@example.com", "1mz050nq-Okta")
        .await;
    assert_eq!(status, 200, "{signed_in}");
    let isabelle = User {
        id: id.clone(),
        token: signed_in["token"].as_str().unwrap().to_owned(),
    };
    let mut desktop = app.desktop(&isabelle, None).await;

    let path = format!("/scim/v2/Users/{id}");
    let body = OKTA_REPLACE_USER.replace("__ID__", &id);
    let (status, user, _) = scim(&app, t, Method::PUT, &path, Some(&body)).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["displayName"], "Isabelle Ana-Moreau");
    assert_eq!(user["externalId"], "00ujl29u0le5T6Aj10h7");
    let (_, me) = app.get(&isabelle.token, "/api/v1/me").await;
    assert_eq!(
        me["display_name"], "Isabelle Ana-Moreau",
        "a replace keeps the session"
    );

    // A replace may not rename the account.
    let renamed = body.replace("isabelle.ana@example.com", "someone.else@example.com");
    assert_scim_error(
        &scim(&app, t, Method::PUT, &path, Some(&renamed)).await,
        400,
        Some("mutability"),
    );

    let (status, user, _) = scim(&app, t, Method::PATCH, &path, Some(OKTA_DISABLE)).await;
    assert_eq!((status, &user["active"]), (200, &json!(false)), "{user}");
    assert_eq!(desktop.closed_with().await, Some(4001));
    let (status, _) = app.get(&isabelle.token, "/api/v1/me").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn groups_are_created_and_their_members_added_and_removed() {
    let (app, admin, token, integration_id) = setup().await;
    let t = Some(token.as_str());
    use reqwest::Method;
    let agent = app.user("watcher", "Wendy Watcher").await;
    let mut ids = Vec::new();
    for name in ["a@example.com", "b@example.com"] {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name, "active": true})
        .to_string();
        let (status, user, _) = scim(&app, t, Method::POST, "/scim/v2/Users", Some(&body)).await;
        assert_eq!(status, 201, "{user}");
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    let (a, b) = (ids[0].as_str(), ids[1].as_str());

    let (status, group, _) = scim(
        &app,
        t,
        Method::POST,
        "/scim/v2/Groups",
        Some(OKTA_CREATE_GROUP),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let id = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["displayName"], "Second Level Support");
    assert_eq!(group["members"], json!([]));
    assert_eq!(group["meta"]["resourceType"], "Group");
    assert_scim_error(
        &scim(
            &app,
            t,
            Method::POST,
            "/scim/v2/Groups",
            Some(OKTA_CREATE_GROUP),
        )
        .await,
        409,
        Some("uniqueness"),
    );

    let path = format!("/scim/v2/Groups/{id}");
    let add = OKTA_ADD_MEMBERS.replace("__A__", a).replace("__B__", b);
    let (status, _, _) = scim(&app, t, Method::PATCH, &path, Some(&add)).await;
    assert_eq!(status, 204);
    let (_, group, _) = scim(&app, t, Method::GET, &path, None).await;
    let mut members: Vec<&str> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort();
    assert_eq!(members, [a, b]);
    let (_, user, _) = scim(&app, t, Method::GET, &format!("/scim/v2/Users/{a}"), None).await;
    assert_eq!(user["groups"][0]["display"], "Second Level Support");

    // The Team Communicator shows the group and its members.
    let (_, found) = app
        .get(&agent.token, "/api/v1/directory?q=second%20level")
        .await;
    let entries = found["entries"].as_array().unwrap();
    let group_entry = entries
        .iter()
        .find(|e| e["id"] == id.as_str())
        .expect("the group");
    assert_eq!(group_entry["member_count"], 2);
    assert!(entries.iter().any(|e| e["id"] == a), "{found}");

    let remove_b = ENTRA_REMOVE_MEMBERS.replace("__B__", b);
    assert_eq!(
        scim(&app, t, Method::PATCH, &path, Some(&remove_b)).await.0,
        204
    );
    let remove_a = OKTA_REMOVE_MEMBER.replace("__A__", a);
    assert_eq!(
        scim(&app, t, Method::PATCH, &path, Some(&remove_a)).await.0,
        204
    );
    let (_, group, _) = scim(&app, t, Method::GET, &path, None).await;
    assert_eq!(group["members"], json!([]));
    let (_, found) = app
        .get(&agent.token, "/api/v1/directory?q=second%20level")
        .await;
    assert!(
        found["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["id"] != a),
        "{found}"
    );

    // A member that is no account is refused, and nothing changes.
    let unknown = OKTA_ADD_MEMBERS
        .replace("__A__", a)
        .replace("__B__", "no-such-user");
    assert_scim_error(
        &scim(&app, t, Method::PATCH, &path, Some(&unknown)).await,
        400,
        Some("invalidValue"),
    );
    let (_, group, _) = scim(&app, t, Method::GET, &path, None).await;
    assert_eq!(group["members"], json!([]), "one write: nothing applied");

    let rename = OKTA_RENAME_GROUP.replace("__ID__", &id);
    assert_eq!(
        scim(&app, t, Method::PATCH, &path, Some(&rename)).await.0,
        204
    );
    let (_, list, _) = scim(
        &app,
        t,
        Method::GET,
        "/scim/v2/Groups?excludedAttributes=members&filter=displayName%20eq%20%22Tier%202%20Support%22",
        None,
    )
    .await;
    assert_eq!(list["totalResults"], 1, "{list}");
    assert_eq!(list["Resources"][0]["id"], id.as_str());
    assert!(list["Resources"][0].get("members").is_none());

    assert_eq!(scim(&app, t, Method::DELETE, &path, None).await.0, 204);
    assert_scim_error(&scim(&app, t, Method::GET, &path, None).await, 404, None);

    let actions = audit_actions(&app, &admin, &format!("integration:{integration_id}")).await;
    for action in ["scim.group.create", "scim.group.patch", "scim.group.delete"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn refusals_and_bad_requests_answer_in_the_scim_error_form() {
    let (app, admin, token, _) = setup().await;
    use reqwest::Method;
    let t = Some(token.as_str());
    let (platform, _) = integration(&app, &admin, "crm", json!(["platform"])).await;

    // Who may call.
    let anonymous = scim(&app, None, Method::GET, "/scim/v2/Users", None).await;
    assert_scim_error(&anonymous, 401, None);
    assert_scim_error(
        &scim(
            &app,
            Some(&admin.token),
            Method::GET,
            "/scim/v2/Users",
            None,
        )
        .await,
        401,
        None,
    );
    assert_scim_error(
        &scim(&app, Some(&platform), Method::GET, "/scim/v2/Users", None).await,
        403,
        None,
    );
    assert_scim_error(
        &scim(
            &app,
            Some(&platform),
            Method::POST,
            "/scim/v2/Users",
            Some(OKTA_CREATE_USER),
        )
        .await,
        403,
        None,
    );
    // And a SCIM token is not a platform token.
    let (status, body) = app
        .request(
            Method::PUT,
            t,
            "/api/v1/platform/contacts",
            Some(&json!({"external_id": "C-1"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );

    // Filters outside the subset.
    for filter in [
        "userName%20co%20%22a%22",
        "userName%20eq%20%22a%22%20or%20userName%20eq%20%22b%22",
        "emails.value%20eq%20%22a%40b.c%22",
        "userName%20eq",
    ] {
        let answer = scim(
            &app,
            t,
            Method::GET,
            &format!("/scim/v2/Users?filter={filter}"),
            None,
        )
        .await;
        assert_scim_error(&answer, 400, Some("invalidFilter"));
    }
    assert_scim_error(
        &scim(&app, t, Method::GET, "/scim/v2/Users?count=ten", None).await,
        400,
        Some("invalidValue"),
    );

    // Bodies.
    assert_scim_error(
        &scim(&app, t, Method::POST, "/scim/v2/Users", Some("{not json")).await,
        400,
        Some("invalidSyntax"),
    );
    assert_scim_error(
        &scim(
            &app,
            t,
            Method::POST,
            "/scim/v2/Users",
            Some(r#"{"displayName": "No Name"}"#),
        )
        .await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &scim(
            &app,
            t,
            Method::POST,
            "/scim/v2/Users",
            Some(r#"{"userName": "bad name!"}"#),
        )
        .await,
        400,
        Some("invalidValue"),
    );
    let (_, user, _) = scim(
        &app,
        t,
        Method::POST,
        "/scim/v2/Users",
        Some(OKTA_CREATE_USER),
    )
    .await;
    let path = format!("/scim/v2/Users/{}", user["id"].as_str().unwrap());
    let bad_active = r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "maybe"}]}"#;
    assert_scim_error(
        &scim(&app, t, Method::PATCH, &path, Some(bad_active)).await,
        400,
        Some("invalidValue"),
    );
    let bad_op = r#"{"Operations": [{"op": "move", "path": "active", "value": false}]}"#;
    assert_scim_error(
        &scim(&app, t, Method::PATCH, &path, Some(bad_op)).await,
        400,
        Some("invalidSyntax"),
    );
    assert_scim_error(
        &scim(&app, t, Method::GET, "/scim/v2/Users/no-such-id", None).await,
        404,
        None,
    );
    assert_scim_error(
        &scim(&app, t, Method::GET, "/scim/v2/Nope", None).await,
        404,
        None,
    );

    // Paging: startIndex is 1-based.
    let (_, page, _) = scim(
        &app,
        t,
        Method::GET,
        "/scim/v2/Users?startIndex=2&count=1",
        None,
    )
    .await;
    assert_eq!(
        (
            &page["totalResults"],
            &page["startIndex"],
            &page["itemsPerPage"]
        ),
        (&json!(2), &json!(2), &json!(1)),
        "root and isabelle: {page}"
    );

    // Discovery.
    for (endpoint, check) in [
        ("ServiceProviderConfig", "patch"),
        ("ResourceTypes", "Resources"),
        ("Schemas", "Resources"),
    ] {
        let (status, doc, _) =
            scim(&app, t, Method::GET, &format!("/scim/v2/{endpoint}"), None).await;
        assert_eq!(status, 200, "{endpoint}: {doc}");
        assert!(doc.get(check).is_some(), "{endpoint}: {doc}");
    }
}

#[test]
fn the_cli_creates_an_integration_with_the_scim_scope() {
    let dir = tempfile::tempdir().unwrap();
    let backline = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_backline"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let added = backline(&["integration", "add", "okta", "--scopes", "scim"]);
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(
        stdout.contains("token (for /scim/v2/…, shown once): bli_"),
        "{stdout}"
    );
    let listed = backline(&["integration", "list"]);
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(
        stdout.contains("okta") && stdout.contains("scopes=scim "),
        "{stdout}"
    );
    let refused = backline(&["integration", "add", "other", "--scopes", "admin"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("unknown scope \"admin\""),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
