//! Fuzzing the REST JSON bodies: for every route that takes a JSON body,
//! proptest sends bodies made from a valid one — fields of the wrong type,
//! fields missing, unknown fields, huge strings, deep nesting, numbers out of
//! range, NUL characters, broken JSON, a wrong content type — and arbitrary
//! JSON. Whatever it sends, the server answers: never a 5xx the route does
//! not document in the OpenAPI document, never a panic, and every error is
//! the `{code, message}` envelope with a code of the table and its status
//! (under `/scim/v2`, SCIM's error form with its status).
//!
//! Bounded for CI: a fixed number of cases per route
//! (`BACKLINE_FUZZ_CASES`, default 40) against one server. Each run draws new
//! cases; a failure names the route and the smallest body proptest found.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use reqwest::Method;
use serde_json::{json, Value};

use crate::authz_matrix::{check_envelope, check_scim_answer, Expect, Fixture, P};

/// A request body as sent.
#[derive(Clone, Debug)]
enum Payload {
    Json(Value),
    /// Bytes sent as they are, with this content type.
    Raw(&'static str, Vec<u8>),
}

/// A valid body for each route with a JSON body, and who sends it.
fn seeds(fx: &Fixture) -> BTreeMap<(String, String), (Value, P)> {
    const SCIM_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const SCIM_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    const SCIM_PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    let entries = [
        (
            "POST",
            "/auth/sign-in",
            json!({"username": "sam", "password": crate::helpers::PASSWORD}),
            P::Anonymous,
        ),
        (
            "POST",
            "/auth/oidc/finish",
            json!({"code": "x"}),
            P::Anonymous,
        ),
        (
            "PUT",
            "/me/status",
            json!({"status": "away", "reason": null}),
            P::Outsider,
        ),
        ("PUT", "/me/preferences", json!({"zoom": 100}), P::Outsider),
        (
            "POST",
            "/sessions",
            json!({"target_id": fx.target.id, "client_id": "c1",
            "first_message": {"client_msg_id": "m1", "text": "hi"}, "defer_invite": false}),
            P::Outsider,
        ),
        (
            "POST",
            "/sessions/{id}/messages",
            json!({"client_msg_id": "m1", "text": "hello"}),
            P::Agent,
        ),
        (
            "POST",
            "/sessions/{id}/whisper",
            json!({"to": fx.target.id, "client_msg_id": "w1", "text": "psst"}),
            P::Agent,
        ),
        (
            "POST",
            "/sessions/{id}/marks",
            json!({"kind": "read", "seq": 1}),
            P::Agent,
        ),
        (
            "POST",
            "/sessions/{id}/voice-consultation",
            json!({"device_id": "tab-1"}),
            P::Agent,
        ),
        (
            "POST",
            "/calls/{id}/accept",
            json!({"device_id": "tab-1"}),
            P::Agent,
        ),
        (
            "POST",
            "/public/calls",
            json!({"name": "Zoë", "device_id": "tab-1"}),
            P::Anonymous,
        ),
        (
            "POST",
            "/platform/interactions",
            json!({"external_id": "fuzz-1", "media": "chat",
            "agent": "alice", "subject": "s", "case_data": [{"key": "k", "value": "v"}],
            "contact": {"external_id": "C-1", "first_name": "Zoë", "phones": ["1"]}}),
            P::Integration,
        ),
        (
            "PATCH",
            "/platform/interactions/{id}",
            json!({"subject": "s",
            "case_data": [{"key": "k", "value": "v"}]}),
            P::Integration,
        ),
        (
            "POST",
            "/platform/interactions/{id}/end",
            json!({"outcome": "o", "notes": "n"}),
            P::Integration,
        ),
        (
            "PUT",
            "/platform/contacts",
            json!({"external_id": "C-2", "first_name": "A", "last_name": "B",
            "phones": ["1"], "emails": ["a@example.com"], "attributes": [{"key": "k", "value": "v"}]}),
            P::Integration,
        ),
        (
            "POST",
            "/admin/users",
            json!({"username": "fuzz", "display_name": "Fuzz",
            "password": "a long password", "roles": ["agent"], "im_permitted": true}),
            P::Admin,
        ),
        (
            "PATCH",
            "/admin/users/{id}",
            json!({"display_name": "Sam", "roles": ["agent"],
            "im_permitted": true, "disabled": false}),
            P::Admin,
        ),
        ("POST", "/admin/groups", json!({"name": "fuzz"}), P::Admin),
        (
            "PUT",
            "/sessions/{id}/outcome",
            json!({"outcome": "answered", "note": "fuzz"}),
            P::Agent,
        ),
        (
            "PATCH",
            "/admin/groups/{id}",
            json!({"wave_size": 2, "answer_secs": 10, "overflow_group_id": "",
                   "escalate_secs": 60, "escalate_to_supervisors": true}),
            P::Admin,
        ),
        (
            "POST",
            "/admin/status-reasons",
            json!({"code": "fuzz", "label": "Fuzz"}),
            P::Admin,
        ),
        (
            "POST",
            "/admin/sessions/{id}/messages/{seq}/redact",
            json!({"reason": "fuzz"}),
            P::Admin,
        ),
        (
            "POST",
            "/admin/retention/run",
            json!({"dry_run": true}),
            P::Admin,
        ),
        (
            "PUT",
            "/admin/legal-holds/{kind}/{id}",
            json!({"reason": "fuzz"}),
            P::Admin,
        ),
        (
            "POST",
            "/admin/integrations",
            json!({"name": "fuzz", "webhook_url": "http://127.0.0.1:9/hook", "scopes": ["scim"]}),
            P::Admin,
        ),
        (
            "POST",
            "/scim/v2/Users",
            json!({"schemas": [SCIM_USER], "userName": "fuzz@example.com",
                "name": {"givenName": "Fuzz", "familyName": "Er"}, "active": true,
                "externalId": "f-1", "password": "a long password"}),
            P::Provisioner,
        ),
        (
            "PUT",
            "/scim/v2/Users/{id}",
            json!({"schemas": [SCIM_USER], "userName": "ivy", "displayName": "Ivy",
                "active": true}),
            P::Provisioner,
        ),
        (
            "PATCH",
            "/scim/v2/Users/{id}",
            json!({"schemas": [SCIM_PATCH], "Operations": [
                {"op": "Replace", "path": "active", "value": "True"},
                {"op": "replace", "value": {"displayName": "Ivy", "name.givenName": "Ivy"}}]}),
            P::Provisioner,
        ),
        (
            "POST",
            "/scim/v2/Groups",
            json!({"schemas": [SCIM_GROUP], "displayName": "Fuzz", "members": []}),
            P::Provisioner,
        ),
        (
            "PATCH",
            "/scim/v2/Groups/{id}",
            json!({"schemas": [SCIM_PATCH], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": fx.scim_user}]},
                {"op": "remove", "path": "members[value eq \"nobody\"]"}]}),
            P::Provisioner,
        ),
    ];
    entries
        .into_iter()
        .map(|(m, t, body, p)| ((m.to_owned(), t.to_owned()), (body, p)))
        .collect()
}

/// The fixture's ids in place of a template's parameters.
fn concrete(fx: &Fixture, template: &str) -> String {
    let id = if template.starts_with("/sessions/") || template.starts_with("/admin/sessions/") {
        &fx.session
    } else if template.starts_with("/calls/") {
        &fx.consult_call
    } else if template.starts_with("/platform/") {
        &fx.platform_interaction
    } else if template.starts_with("/admin/users/") {
        &fx.spare.id
    } else if template.starts_with("/admin/groups/") {
        &fx.group
    } else if template.starts_with("/scim/v2/Users/") {
        &fx.scim_user
    } else if template.starts_with("/scim/v2/Groups/") {
        &fx.scim_group
    } else {
        "none"
    };
    template
        .replace("{id}", id)
        .replace("{seq}", "2")
        .replace("{kind}", "contact")
}

/// Strings that break things: NULs, control characters, huge, empty, odd Unicode.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just(String::new()),
        Just("\0".to_owned()),
        any::<String>().prop_map(|s| format!("a\0{s}")),
        Just("   \t\n".to_owned()),
        Just("\u{202e}\u{feff}\u{fffd}👩‍👩‍👧".to_owned()),
        (1usize..200_000).prop_map(|n| "x".repeat(n)),
        (1usize..5_000).prop_map(|n| "é\0".repeat(n)),
    ]
}

/// Numbers at and beyond the edges of every integer type.
fn edge_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(-1)),
        Just(json!(0)),
        Just(json!(i64::MIN)),
        Just(json!(i64::MAX)),
        Just(json!(u64::MAX)),
        Just(json!(u32::MAX as u64 + 1)),
        Just(json!(0.5)),
        Just(json!(1e300)),
        Just(json!(-1e300)),
        any::<i64>().prop_map(Value::from),
    ]
}

/// Number literals that overflow every integer type (and `f64`), or are not integers.
const HUGE_NUMBERS: &[&str] = &[
    "1e400",
    "-1e400",
    "123456789012345678901234567890",
    "-123456789012345678901234567890",
    "-0",
    "1.0e2",
];

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        edge_number(),
        nasty_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// `depth` nested arrays around a value, written as text (no recursion here).
fn nested_text(depth: usize, inner: &str) -> String {
    format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth))
}

fn set(seed: &Value, key: &str, value: Value) -> Value {
    let mut body = seed.clone();
    body[key] = value;
    body
}

/// Bodies made from `seed`, and arbitrary ones.
fn payloads(seed: Value) -> BoxedStrategy<Payload> {
    let keys: Vec<String> = seed.as_object().unwrap().keys().cloned().collect();
    let key = prop::sample::select(keys);
    let text = seed.to_string();
    let seed = Just(Arc::new(seed));
    prop_oneof![
        // A field of another type, or a nasty value of its own type.
        (seed.clone(), key.clone(), arbitrary_json())
            .prop_map(|(seed, k, v)| Payload::Json(set(&seed, &k, v))),
        (seed.clone(), key.clone(), nasty_string()).prop_map(|(seed, k, v)| Payload::Json(set(
            &seed,
            &k,
            Value::from(v)
        ))),
        (seed.clone(), key.clone(), edge_number())
            .prop_map(|(seed, k, v)| Payload::Json(set(&seed, &k, v))),
        // A field missing.
        (seed.clone(), key.clone()).prop_map(|(seed, k)| {
            let mut body = (*seed).clone();
            body.as_object_mut().unwrap().remove(&k);
            Payload::Json(body)
        }),
        // An unknown field.
        (seed.clone(), any::<String>(), arbitrary_json()).prop_map(|(seed, k, v)| {
            let mut body = (*seed).clone();
            body.as_object_mut().unwrap().insert(k, v);
            Payload::Json(body)
        }),
        // A number no integer type holds, written as text.
        (
            seed.clone(),
            key.clone(),
            prop::sample::select(HUGE_NUMBERS)
        )
            .prop_map(|(seed, k, number)| with_literal(&seed, &k, number)),
        // Deep nesting, in a field and as the whole body.
        (seed.clone(), key, 1usize..3_000)
            .prop_map(|(seed, k, depth)| { with_literal(&seed, &k, &nested_text(depth, "1")) }),
        (1usize..100_000).prop_map(|depth| json_bytes(nested_text(depth, ""))),
        // Not JSON, cut short, or not declared as JSON.
        prop::collection::vec(any::<u8>(), 0..256).prop_map(json_bytes),
        (0..text.len()).prop_map(move |cut| json_bytes(&text.as_bytes()[..cut])),
        seed.prop_map(|seed| Payload::Raw("text/plain", seed.to_string().into_bytes())),
        // Anything at all.
        arbitrary_json().prop_map(Payload::Json),
    ]
    .boxed()
}

fn json_bytes(text: impl Into<Vec<u8>>) -> Payload {
    Payload::Raw("application/json", text.into())
}

/// `seed` with field `key` set to a JSON literal that `Value` cannot hold.
fn with_literal(seed: &Value, key: &str, literal: &str) -> Payload {
    let marker = Value::from("\u{1}literal\u{1}");
    let text = set(seed, key, marker.clone()).to_string();
    json_bytes(text.replace(&marker.to_string(), literal))
}

/// The 5xx statuses an operation documents in the OpenAPI document.
fn documented_5xx(doc: &Value, method: &str, template: &str) -> BTreeSet<u16> {
    doc["paths"][template][method.to_lowercase()]["responses"]
        .as_object()
        .map(|responses| {
            responses
                .keys()
                .filter_map(|status| status.parse::<u16>().ok())
                .filter(|status| *status >= 500)
                .collect()
        })
        .unwrap_or_default()
}

/// Sends one payload on a connection of its own (the server closes a
/// connection whose body it refused unread, so none is reused). A body larger
/// than the server's limit may be cut off while it is still being written:
/// that counts as refused (`Ok(None)`).
async fn send(
    fx: &Fixture,
    http: &reqwest::Client,
    method: &str,
    path: &str,
    p: P,
    payload: &Payload,
) -> Result<Option<(u16, String)>, String> {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let url = if path.starts_with("/scim/") {
        fx.app.url(path)
    } else {
        fx.app.url(&format!("/api/v1{path}"))
    };
    let mut request = http.request(method, url);
    if let Some(token) = fx.token(p) {
        request = request.bearer_auth(token);
    }
    request = match payload {
        Payload::Json(value) => request.json(value),
        Payload::Raw(content_type, bytes) => request
            .header(reqwest::header::CONTENT_TYPE, *content_type)
            .body(bytes.clone()),
    };
    let size = match payload {
        Payload::Json(value) => value.to_string().len(),
        Payload::Raw(_, bytes) => bytes.len(),
    };
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            Ok(Some((status, response.text().await.unwrap_or_default())))
        }
        Err(_) if size > fx.app.config.limits.max_frame_bytes => Ok(None),
        Err(error) => Err(format!("no answer to a {size}-byte body: {error}")),
    }
}

fn check(status: u16, text: &str, allowed_5xx: &BTreeSet<u16>, scim: bool) -> Result<(), String> {
    if status >= 500 && !allowed_5xx.contains(&status) {
        return Err(format!("an undocumented {status}: {text}"));
    }
    if status >= 400 {
        let body: Value = serde_json::from_str(text)
            .map_err(|_| format!("{status} without a JSON error envelope: {text:.200}"))?;
        if scim {
            // SCIM's own error form (RFC 7644 3.12).
            check_scim_answer(Expect::Deny(status, ""), status, &body)?;
        } else {
            check_envelope(status, &body)?;
        }
    }
    Ok(())
}

#[test]
fn arbitrary_json_bodies_never_get_an_undocumented_answer() {
    let cases: u32 = std::env::var("BACKLINE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fx = rt.block_on(Fixture::build());
    let doc = rt.block_on(fx.app.openapi());

    // Every route with a JSON body has a seed, and every seed a route.
    let with_body: BTreeSet<(String, String)> = crate::helpers::openapi_operations(&doc)
        .into_iter()
        .filter(|(method, path)| {
            !doc["paths"][path][method.to_lowercase()]["requestBody"].is_null()
        })
        .collect();
    let seeds = seeds(&fx);
    let seeded: BTreeSet<(String, String)> = seeds.keys().cloned().collect();
    assert_eq!(
        with_body.difference(&seeded).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes with a JSON body and no seed in rest_fuzz.rs (add a valid body)"
    );
    assert_eq!(
        seeded.difference(&with_body).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "seeds in rest_fuzz.rs for routes without a JSON body"
    );

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for ((method, template), (seed, p)) in seeds {
        let path = concrete(&fx, &template);
        let allowed_5xx = documented_5xx(&doc, &method, &template);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 200,
            ..Config::default()
        });
        let outcome = runner.run(&payloads(seed), |payload| {
            match rt.block_on(send(&fx, &http, &method, &path, p, &payload)) {
                Ok(Some((status, text))) => {
                    check(status, &text, &allowed_5xx, template.starts_with("/scim/"))
                }
                Ok(None) => Ok(()),
                Err(broken) => Err(broken),
            }
            .map_err(TestCaseError::fail)
        });
        match outcome {
            Ok(()) => {}
            Err(TestError::Fail(why, payload)) => {
                let shown = format!("{payload:?}");
                panic!("{method} {template}: {why}\nminimal body: {:.2000}", shown)
            }
            Err(other) => panic!("{method} {template}: {other}"),
        }
    }

    // Still serving, and the fixture's accounts still signed in.
    let (status, _) = rt.block_on(fx.app.get(&fx.agent.token, "/api/v1/me"));
    assert_eq!(status, 200, "the server still answers after the fuzzing");
    rt.block_on(async move { drop(fx) });
}
