//! Single sign-on with OpenID Connect against a real provider: `oidc-provider`
//! (npm, a certified implementation) run by node from `tests/oidc-provider`,
//! driven like a browser over real HTTP (its login page, its cookies, the
//! redirects), with the real server's callback and hand-off.
//!
//! The refusals come from the provider too: its clock set off (an expired ID
//! token), an ID token its own key signed for another client (wrong
//! audience), an ID token signed with a key that is not in its JWKS (bad
//! signature); a replayed state needs nothing but the same callback twice.

use std::collections::BTreeMap;
use std::process::Stdio;

use backline_server::config::{Config, OidcRuleConfig};
use reqwest::{StatusCode, Url};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{spawn_app_with, TestApp, User};

const CLIENT_ID: &str = "backline";
const CLIENT_SECRET: &str = "test-provider-client-secret";

/// The test provider: a node process, killed when dropped.
pub struct Provider {
    pub issuer: String,
    http: reqwest::Client,
    _child: tokio::process::Child,
}

impl Provider {
    /// Starts the provider with one confidential client whose redirect URI is
    /// the callback of a server on `backline_port`. Fails (never skips) when
    /// node or the provider's packages are missing.
    pub async fn start(backline_port: u16) -> Provider {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc-provider");
        assert!(
            std::path::Path::new(dir)
                .join("node_modules/oidc-provider")
                .exists(),
            "the test OpenID provider is not installed: run `npm ci` in {dir} (scripts/test does)"
        );
        let clients = json!([{
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [format!("http://127.0.0.1:{backline_port}/api/v1/auth/oidc/callback")],
        }]);
        let mut child = tokio::process::Command::new("node")
            .arg("provider.mjs")
            .current_dir(dir)
            .env("PORT", "0")
            .env("CLIENTS", clients.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs the test OpenID provider (install nodejs)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("the test OpenID provider starts within 20 s")
            .expect("its output")
            .expect("a first line");
        let issuer = first
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("unexpected first line of the provider: {first}"))
            .to_owned();
        // The provider writes notes on its standard output: keep reading it (a closed
        // pipe would stop the provider).
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Provider {
            issuer,
            http: reqwest::Client::new(),
            _child: child,
        }
    }

    async fn control(&self, what: &str, body: Value) {
        let response = self
            .http
            .post(format!("{}/__test/{what}", self.issuer))
            .json(&body)
            .send()
            .await
            .expect("the provider answers");
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "/__test/{what}");
    }

    /// The provider's accounts: login → claims.
    pub async fn accounts(&self, accounts: Value) {
        self.control("accounts", accounts).await;
    }

    /// Sets the provider's clock off by `offset_secs`.
    pub async fn clock(&self, offset_secs: i64) {
        self.control("clock", json!({ "offset_secs": offset_secs }))
            .await;
    }

    /// Makes the provider alter the next ID token it issues.
    pub async fn tamper(&self, mode: &str) {
        self.control("tamper", json!({ "mode": mode })).await;
    }
}

/// A free port for the server, known before the provider (which must know the
/// redirect URI) starts.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rule(value: &str, roles: &[&str], groups: &[&str], im: bool) -> OidcRuleConfig {
    OidcRuleConfig {
        claim: "groups".into(),
        value: value.into(),
        roles: roles
            .iter()
            .map(|r| backline_protocol::model::Role::parse(r).unwrap())
            .collect(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        im,
    }
}

/// Single sign-on with the test provider, for a server whose browsers come to `port`.
fn configure(config: &mut Config, port: u16, issuer: &str) {
    config.oidc.issuer = issuer.to_owned();
    config.oidc.client_id = CLIENT_ID.into();
    config.oidc.client_secret = CLIENT_SECRET.into();
    config.oidc.public_url = format!("http://127.0.0.1:{port}");
    config.oidc.display_name = "Test IdP".into();
    config.oidc.scopes = vec!["openid".into(), "profile".into(), "groups".into()];
    config.oidc.rules = vec![
        rule("cc-agents", &[], &["Billing"], true),
        rule("cc-supervisors", &["supervisor"], &["Leads"], false),
    ];
}

/// A server configured for the provider (rules: `cc-agents` → IM and the
/// group Billing, `cc-supervisors` → supervisor and the group Leads).
pub async fn sso_app(tweak: impl FnOnce(&mut Config)) -> (TestApp, Provider) {
    let port = free_port();
    let provider = Provider::start(port).await;
    let issuer = provider.issuer.clone();
    let app = spawn_app_with(move |config| {
        config.server.bind = format!("127.0.0.1:{port}");
        configure(config, port, &issuer);
        tweak(config);
    })
    .await;
    for group in ["Billing", "Leads"] {
        app.backline.create_group(None, group).await.unwrap();
    }
    (app, provider)
}

/// A browser without JavaScript: follows redirects by hand and keeps cookies
/// (for one host: the provider and the server share 127.0.0.1, as cookies do
/// in a browser).
pub struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

/// Where a sign-in ended: the desktop's fragment (`sso=…` or `sso_error=…`).
#[derive(Debug)]
pub struct Landing {
    pub fragment: BTreeMap<String, String>,
}

impl Landing {
    pub fn error(&self) -> Option<&str> {
        self.fragment.get("sso_error").map(String::as_str)
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn go(&mut self, request: reqwest::RequestBuilder) -> (StatusCode, Option<String>) {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request
            .header("cookie", cookie)
            .send()
            .await
            .expect("request");
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.trim().into(), value.trim().into());
            }
        }
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (response.status(), location)
    }

    /// `GET url` → the absolute URL it redirects to.
    async fn follow(&mut self, url: &Url) -> Url {
        let (status, location) = self.go(self.http.get(url.clone())).await;
        assert!(status.is_redirection(), "GET {url}: {status}");
        url.join(&location.expect("a Location")).unwrap()
    }

    /// From the server's start to the provider's redirect back to the
    /// callback, signing in at the provider's login page as `login`.
    pub async fn through_provider(&mut self, app: &TestApp, login: &str) -> Url {
        let start = Url::parse(&app.url("/api/v1/auth/oidc/start")).unwrap();
        let authorize = self.follow(&start).await;
        let pairs: BTreeMap<_, _> = authorize.query_pairs().into_owned().collect();
        assert_eq!(
            pairs.get("code_challenge_method").map(String::as_str),
            Some("S256")
        );
        assert!(
            pairs.contains_key("state") && pairs.contains_key("nonce"),
            "{authorize}"
        );
        let login_page = self.follow(&authorize).await;
        let (status, location) = self
            .go(self
                .http
                .post(login_page.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(&[
                    ("prompt", "login"),
                    ("login", login),
                    ("password", "any password"),
                ])))
            .await;
        assert!(status.is_redirection(), "login at the provider: {status}");
        let resume = login_page.join(&location.unwrap()).unwrap();
        let callback = self.follow(&resume).await;
        assert!(
            callback.path().ends_with("/api/v1/auth/oidc/callback"),
            "the provider sends the browser back: {callback}"
        );
        callback
    }

    /// The server's answer to the callback: where the desktop lands.
    pub async fn land(&mut self, callback: &Url) -> Landing {
        let (status, location) = self.go(self.http.get(callback.clone())).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "the callback redirects");
        let location = location.unwrap();
        let (path, fragment) = location.split_once('#').expect("a fragment");
        assert_eq!(path, "/", "the callback leads to the desktop");
        let fragment = Url::parse(&format!("http://x/?{fragment}"))
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        Landing { fragment }
    }

    /// A whole sign-in: the landing at the desktop.
    pub async fn sign_in(&mut self, app: &TestApp, login: &str) -> Landing {
        let callback = self.through_provider(app, login).await;
        self.land(&callback).await
    }
}

/// An `application/x-www-form-urlencoded` body.
fn form(fields: &[(&str, &str)]) -> String {
    Url::parse_with_params("http://form/", fields)
        .unwrap()
        .query()
        .unwrap_or_default()
        .to_owned()
}

/// Trades the landing's hand-off code: (status, body).
pub async fn finish(app: &TestApp, landing: &Landing) -> (u16, Value) {
    let code = landing
        .fragment
        .get("sso")
        .unwrap_or_else(|| panic!("signed in: {landing:?}"));
    let response = app
        .http
        .post(app.url("/api/v1/auth/oidc/finish"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Signs in with the provider; the session token.
pub async fn sso_token(app: &TestApp, login: &str) -> String {
    let landing = Browser::new().sign_in(app, login).await;
    let (status, body) = finish(app, &landing).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn admin(app: &TestApp) -> User {
    app.user_with(
        "root",
        "Root",
        true,
        vec![backline_protocol::model::Role::Admin],
    )
    .await
}

fn group_names(me: &Value) -> Vec<String> {
    let mut names: Vec<String> = me["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_provider_account_is_provisioned_kept_in_step_and_refused_once_the_provider_drops_it() {
    let (app, provider) = sso_app(|_| {}).await;
    let admin = admin(&app).await;
    provider
        .accounts(json!({"alice": {
            "preferred_username": "Alice.P",
            "name": "Alice Provider",
            "groups": ["cc-agents", "cc-supervisors", "other"],
        }}))
        .await;

    // First sign-in: the account is created from the claims.
    let token = sso_token(&app, "alice").await;
    let (status, me) = app.get(&token, "/api/v1/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["username"], "alice.p");
    assert_eq!(me["display_name"], "Alice Provider");
    assert_eq!(me["roles"], json!(["agent", "supervisor"]));
    assert_eq!(me["im_permitted"], true);
    assert_eq!(group_names(&me), ["Billing", "Leads"]);
    let id = me["id"].as_str().unwrap().to_owned();
    // It has no password: the password form cannot sign it in (refused as
    // a wrong password is).
    let (status, body, _) = app.sign_in("alice.p", "any password").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );

    // The provider changes the claims: the next sign-in follows them, same account.
    provider
        .accounts(json!({"alice": {
            "preferred_username": "alice.p",
            "name": "Alice Renamed",
            "groups": ["cc-agents"],
        }}))
        .await;
    let second = sso_token(&app, "alice").await;
    let (_, me) = app.get(&second, "/api/v1/me").await;
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["display_name"], "Alice Renamed");
    assert_eq!(me["roles"], json!(["agent"]));
    assert_eq!(group_names(&me), ["Billing"]);

    // The provider drops her from every group the rules know: refused, and signed out.
    provider
        .accounts(json!({"alice": {"preferred_username": "alice.p", "groups": ["other"]}}))
        .await;
    let landing = Browser::new().sign_in(&app, "alice").await;
    assert_eq!(landing.error(), Some("sso_not_permitted"), "{landing:?}");
    assert!(
        landing.fragment["message"].contains("alice.p"),
        "{landing:?}"
    );
    let (status, body) = app.get(&second, "/api/v1/me").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("session_expired"))
    );

    // Audited: created and updated by `sso`, the refusal from the browser's address.
    let (status, log) = app.get(&admin.token, "/api/v1/admin/audit").await;
    assert_eq!(status, 200);
    let entries = log.as_array().unwrap();
    let find = |action: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action && e["resource"] == format!("user:{id}"))
            .cloned()
    };
    let created = find("user_created").expect("user_created audited");
    assert_eq!(created["actor_id"], "sso");
    assert!(created["detail"].as_str().unwrap().contains("Billing"));
    let updated = find("user_updated").expect("user_updated audited");
    assert!(updated["detail"]
        .as_str()
        .unwrap()
        .contains("removed from group \"Leads\""));
    let refused = entries
        .iter()
        .find(|e| e["action"] == "sso_sign_in")
        .expect("the refusal is audited");
    assert_eq!(refused["allowed"], false);
    assert_eq!(refused["resource"], "account:alice.p");
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .starts_with("sso_not_permitted"));

    // A disabled account is refused even when the provider lets it in.
    provider
        .accounts(json!({"alice": {"preferred_username": "alice.p", "groups": ["cc-agents"]}}))
        .await;
    let (status, _) = app
        .send_json(
            reqwest::Method::PATCH,
            &admin.token,
            &format!("/api/v1/admin/users/{id}"),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(status, 200);
    let landing = Browser::new().sign_in(&app, "alice").await;
    assert_eq!(landing.error(), Some("account_disabled"), "{landing:?}");
}

#[tokio::test]
async fn tokens_the_provider_should_not_have_issued_are_refused() {
    let (app, provider) = sso_app(|config| config.oidc.clock_skew_secs = 60).await;
    provider
        .accounts(json!({"bob": {"preferred_username": "bob", "groups": ["cc-agents"]}}))
        .await;

    // Signed with the provider's own key, for another client.
    provider.tamper("audience").await;
    let landing = Browser::new().sign_in(&app, "bob").await;
    assert_eq!(landing.error(), Some("sso_token_invalid"), "{landing:?}");
    assert!(
        landing.fragment["message"].contains("audience"),
        "{landing:?}"
    );

    // Signed with a key that is not in the provider's JWKS (same key id).
    provider.tamper("signature").await;
    let landing = Browser::new().sign_in(&app, "bob").await;
    assert_eq!(landing.error(), Some("sso_token_invalid"), "{landing:?}");
    assert!(
        landing.fragment["message"].contains("signature"),
        "{landing:?}"
    );

    // The provider's clock is two hours slow: its 1 h ID token expired an hour ago.
    provider.clock(-7200).await;
    let landing = Browser::new().sign_in(&app, "bob").await;
    assert_eq!(landing.error(), Some("sso_token_invalid"), "{landing:?}");
    assert!(
        landing.fragment["message"].contains("expired"),
        "{landing:?}"
    );
    // Expired 120 s ago: beyond the 60 s of clock skew allowed.
    provider.clock(-3600 - 120).await;
    let landing = Browser::new().sign_in(&app, "bob").await;
    assert_eq!(landing.error(), Some("sso_token_invalid"), "{landing:?}");
    // Issued 120 s in the future: refused too.
    provider.clock(120).await;
    let landing = Browser::new().sign_in(&app, "bob").await;
    assert_eq!(landing.error(), Some("sso_token_invalid"), "{landing:?}");
    assert!(
        landing.fragment["message"].contains("future"),
        "{landing:?}"
    );
    // Expired 20 s ago, and issued 20 s ahead: within the skew, accepted.
    for offset in [-3600 - 20, 20] {
        provider.clock(offset).await;
        let landing = Browser::new().sign_in(&app, "bob").await;
        assert_eq!(
            landing.error(),
            None,
            "clock off by {offset} s: {landing:?}"
        );
    }
    provider.clock(0).await;

    // Nothing was provisioned by a refused token: bob exists once, from the accepted sign-ins.
    let users = app.backline.list_users().await.unwrap();
    assert_eq!(users.iter().filter(|u| u.username == "bob").count(), 1);
}

#[tokio::test]
async fn a_state_and_a_hand_off_code_work_once() {
    let (app, provider) = sso_app(|_| {}).await;
    provider
        .accounts(json!({"carol": {"preferred_username": "carol", "groups": ["cc-agents"]}}))
        .await;
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "carol").await;
    // Login CSRF: another browser (a victim sent the link) cannot finish the
    // sign-in this one started; the state stays for its own browser.
    let victim = Browser::new().land(&callback).await;
    assert_eq!(victim.error(), Some("sso_state_invalid"), "{victim:?}");
    assert!(
        victim.fragment["message"].contains("did not start"),
        "{victim:?}"
    );
    let landing = browser.land(&callback).await;
    assert_eq!(landing.error(), None, "{landing:?}");

    // The same callback again (a replayed state), even from the browser that
    // started it: refused before any exchange.
    let replay = browser.land(&callback).await;
    assert_eq!(replay.error(), Some("sso_state_invalid"), "{replay:?}");
    assert!(
        replay.fragment["message"].contains("already used"),
        "{replay:?}"
    );
    // A state the server never issued.
    let mut forged = callback.clone();
    forged.set_query(Some("code=x&state=forged"));
    // (from a browser whose cookie holds that same state, so that the
    // store's refusal is what is tested)
    let mut forger = Browser::new();
    forger
        .cookies
        .insert("backline_sso_state".into(), "forged".into());
    let landing_forged = forger.land(&forged).await;
    assert!(
        landing_forged.fragment["message"].contains("unknown"),
        "{landing_forged:?}"
    );
    assert_eq!(landing_forged.error(), Some("sso_state_invalid"));
    // No state at all.
    forged.set_query(Some("code=x"));
    assert_eq!(
        Browser::new().land(&forged).await.error(),
        Some("sso_state_invalid")
    );

    // The hand-off code gives one session, once.
    let (status, body) = finish(&app, &landing).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["me"]["username"], "carol");
    let (status, body) = finish(&app, &landing).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("sso_state_invalid"))
    );

    // The provider's own refusal (the user cancelled) consumes the state too.
    let start = Url::parse(&app.url("/api/v1/auth/oidc/start")).unwrap();
    let mut cancelling = Browser::new();
    let authorize = cancelling.follow(&start).await;
    let state: String = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let mut denied = callback.clone();
    denied
        .query_pairs_mut()
        .clear()
        .append_pair("error", "access_denied")
        .append_pair("state", &state);
    let landing = cancelling.land(&denied).await;
    assert_eq!(landing.error(), Some("sso_provider_error"), "{landing:?}");
    assert!(landing.fragment["message"].contains("access_denied"));
    assert_eq!(
        cancelling.land(&denied).await.error(),
        Some("sso_state_invalid")
    );
}

#[tokio::test]
async fn passwords_can_be_switched_off_and_the_sign_in_page_is_told() {
    let (app, provider) = sso_app(|config| config.auth.passwords = false).await;
    let (status, methods) = app.get("", "/api/v1/auth/methods").await;
    assert_eq!(status, 200);
    assert_eq!(
        methods,
        json!({"passwords": false, "sso": {"display_name": "Test IdP", "start_url": "/api/v1/auth/oidc/start"}})
    );
    app.backline
        .create_user(
            None,
            backline_protocol::admin::CreateUserRequest {
                username: "dave".into(),
                display_name: "Dave".into(),
                password: crate::helpers::PASSWORD.into(),
                roles: vec![],
                im_permitted: true,
            },
        )
        .await
        .unwrap();
    let (status, body, _) = app.sign_in("dave", crate::helpers::PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("password_sign_in_disabled"))
    );
    // The same person through the provider: the existing account is linked (by username).
    provider
        .accounts(json!({"d": {"preferred_username": "dave", "groups": ["cc-agents"]}}))
        .await;
    let token = sso_token(&app, "d").await;
    let (_, me) = app.get(&token, "/api/v1/me").await;
    assert_eq!(me["username"], "dave");
}

#[tokio::test]
async fn an_existing_account_is_not_taken_over_unless_allowed() {
    let (app, provider) = sso_app(|config| config.oidc.link_existing_accounts = false).await;
    app.user("erin", "Erin").await;
    provider
        .accounts(json!({"erin-at-idp": {"preferred_username": "erin", "groups": ["cc-agents"]}}))
        .await;
    let landing = Browser::new().sign_in(&app, "erin-at-idp").await;
    assert_eq!(landing.error(), Some("already_exists"), "{landing:?}");
}

#[tokio::test]
async fn without_single_sign_on_the_routes_say_so() {
    let app = crate::helpers::spawn_app().await;
    let (status, methods) = app.get("", "/api/v1/auth/methods").await;
    assert_eq!(status, 200);
    assert_eq!(methods, json!({"passwords": true, "sso": null}));
    let (status, body) = app.get("", "/api/v1/auth/oidc/start").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("sso_not_configured"))
    );
    let response = app
        .http
        .post(app.url("/api/v1/auth/oidc/finish"))
        .json(&json!({"code": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn a_sign_in_started_on_one_node_finishes_on_another() {
    let Ok(nats) = std::env::var("BACKLINE_TEST_NATS_URL") else {
        eprintln!("single sign-on across nodes: skipped (BACKLINE_TEST_NATS_URL is not set)");
        return;
    };
    let port = free_port();
    let provider = Provider::start(port).await;
    let first = std::sync::atomic::AtomicBool::new(true);
    let Some(nodes) = crate::cluster::nodes_on(2, &nats, |config| {
        // Node a answers at the address the provider sends browsers back to.
        if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            config.server.bind = format!("127.0.0.1:{port}");
        }
        configure(config, port, &provider.issuer);
    })
    .await
    else {
        return;
    };
    let (a, b) = (&nodes[0], &nodes[1]);
    assert_eq!(a.addr.port(), port);
    provider
        .accounts(json!({"nina": {"preferred_username": "nina", "groups": ["cc-agents"]}}))
        .await;
    // Started on node a; the load balancer sends the provider's redirect to node b.
    let mut browser = Browser::new();
    let callback = browser.through_provider(a, "nina").await;
    let mut on_b = callback.clone();
    on_b.set_port(Some(b.addr.port())).unwrap();
    let landing = browser.land(&on_b).await;
    assert_eq!(landing.error(), None, "{landing:?}");
    // The desktop's next request reaches node a again: the hand-off code works there, once.
    let (status, body) = finish(a, &landing).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = finish(b, &landing).await;
    assert_eq!(status, 400);
    let token = body["token"].as_str().unwrap();
    let (status, me) = b.get(token, "/api/v1/me").await;
    assert_eq!((status, me["username"].as_str()), (200, Some("nina")));
    // And the state was used up on node b: node a refuses it too.
    assert_eq!(
        Browser::new().land(&callback).await.error(),
        Some("sso_state_invalid")
    );
}
