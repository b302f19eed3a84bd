//! Password sign-ins under attack: failures throttled per username and per
//! client address (before any hash is computed), audited, and a bounded
//! queue of password checks that refuses a flood at once.
//!
//! The tests stand behind a trusted proxy (127.0.0.1) and choose their
//! client address with `X-Forwarded-For`.

use std::time::Duration;

use backline_protocol::model::Role;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp, PASSWORD};

const ATTACKER: &str = "203.0.113.9";
const OFFICE: &str = "198.51.100.7";

async fn spawn_behind_proxy(tweak: impl FnOnce(&mut backline_server::config::Config)) -> TestApp {
    spawn_app_with(|config| {
        config.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        tweak(config);
    })
    .await
}

/// A sign-in from `from`: status, error code, message and `Retry-After`.
async fn sign_in_from(
    app: &TestApp,
    from: &str,
    username: &str,
    password: &str,
) -> (u16, Option<String>, String, Option<u64>) {
    let response = app
        .http
        .post(app.url("/api/v1/auth/sign-in"))
        .header("x-forwarded-for", from)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (
        status,
        body["code"].as_str().map(str::to_owned),
        body["message"].as_str().unwrap_or_default().to_owned(),
        retry_after,
    )
}

/// The audit log's refused sign-in entries about `resource`.
async fn sign_in_audits(app: &TestApp, resource: &str) -> Vec<Value> {
    let admin = app
        .user_with("root", "Admin", true, vec![Role::Admin])
        .await;
    let (status, log) = app.get(&admin.token, "/api/v1/admin/audit").await;
    assert_eq!(status, 200, "{log}");
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "sign_in" && e["resource"] == resource)
        .cloned()
        .collect()
}

#[tokio::test]
async fn wrong_passwords_in_a_loop_are_throttled_with_a_growing_wait_and_audited() {
    let app = spawn_behind_proxy(|_| {}).await;
    app.user("alice", "Alice Agent").await;

    // Five wrong passwords are answered as such …
    for _ in 0..5 {
        let (status, code, _, _) = sign_in_from(&app, ATTACKER, "alice", "guess").await;
        assert_eq!(
            (status, code.as_deref()),
            (401, Some("invalid_credentials"))
        );
    }
    // … then the username waits, whatever the password and the address.
    let (status, code, message, retry_after) = sign_in_from(&app, ATTACKER, "alice", "guess").await;
    assert_eq!((status, code.as_deref()), (429, Some("rate_limited")));
    assert_eq!(retry_after, Some(1), "{message}");
    assert!(message.contains("retry in 1 s"), "{message}");
    let (status, code, _, _) = sign_in_from(&app, OFFICE, "alice", PASSWORD).await;
    assert_eq!((status, code.as_deref()), (429, Some("rate_limited")));

    // After the wait, one more wrong password doubles it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, _, _, _) = sign_in_from(&app, ATTACKER, "alice", "guess").await;
    assert_eq!(status, 401);
    let (status, _, message, retry_after) = sign_in_from(&app, ATTACKER, "alice", "guess").await;
    assert_eq!((status, retry_after), (429, Some(2)), "{message}");
    assert!(message.contains("retry in 2 s"), "{message}");

    // The wait is bounded: after it, the real user signs in from the office.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (status, code, message, _) = sign_in_from(&app, OFFICE, "alice", PASSWORD).await;
    assert_eq!(status, 200, "{code:?} {message}");

    // The run of failures is in the audit log, with the attacker's address.
    let audits = sign_in_audits(&app, "account:alice").await;
    assert!(!audits.is_empty(), "no audit entry for the failures");
    let entry = &audits[0];
    assert_eq!(entry["allowed"], false);
    assert_eq!(entry["actor_id"], format!("address:{ATTACKER}"));
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("5 failed sign-ins"),
        "{entry}"
    );
}

#[tokio::test]
async fn an_address_that_keeps_failing_waits_while_a_floor_behind_one_address_signs_in() {
    let app = spawn_behind_proxy(|config| config.auth.address_failures_before_backoff = 4).await;
    app.user("alice", "Alice Agent").await;
    app.user("bob", "Bob Agent").await;

    // A floor behind one NAT address: successes never count.
    for _ in 0..10 {
        for username in ["alice", "bob"] {
            let (status, _, message, _) = sign_in_from(&app, OFFICE, username, PASSWORD).await;
            assert_eq!(status, 200, "{message}");
        }
    }

    // Password spraying from one address: one guess per username.
    for username in ["alice", "bob", "carol", "dave"] {
        let (status, _, _, _) = sign_in_from(&app, ATTACKER, username, "guess").await;
        assert_eq!(status, 401);
    }
    let (status, code, message, retry_after) = sign_in_from(&app, ATTACKER, "erin", "guess").await;
    assert_eq!((status, code.as_deref()), (429, Some("rate_limited")));
    assert!(message.contains("from this address"), "{message}");
    assert_eq!(retry_after, Some(1));
    // Even a right password waits from there, but not from the office.
    let (status, _, _, _) = sign_in_from(&app, ATTACKER, "alice", PASSWORD).await;
    assert_eq!(status, 429);
    let (status, _, _, _) = sign_in_from(&app, OFFICE, "alice", PASSWORD).await;
    assert_eq!(status, 200);

    let audits = sign_in_audits(&app, &format!("address:{ATTACKER}")).await;
    assert_eq!(audits.len(), 1, "{audits:?}");
    assert!(
        audits[0]["detail"]
            .as_str()
            .unwrap()
            .contains("4 failed sign-ins"),
        "{audits:?}"
    );
}

#[tokio::test]
async fn a_sign_in_flood_beyond_the_hashing_queue_is_refused_at_once() {
    let app = spawn_behind_proxy(|config| {
        config.auth.hashing_threads = 1;
        config.auth.hashing_queue = 1;
    })
    .await;
    app.user("alice", "Alice Agent").await;

    // 24 right passwords at once: one computes, one waits, the others are refused.
    let answers = futures::future::join_all((0..24).map(|i| {
        let app = &app;
        async move { sign_in_from(app, &format!("192.0.2.{i}"), "alice", PASSWORD).await }
    }))
    .await;
    let ok = answers.iter().filter(|a| a.0 == 200).count();
    let refused: Vec<_> = answers.iter().filter(|a| a.0 == 429).collect();
    assert_eq!(ok + refused.len(), answers.len(), "{answers:?}");
    assert!(ok >= 1, "{answers:?}");
    assert!(!refused.is_empty(), "nothing was refused: {answers:?}");
    for (_, code, message, retry_after) in &refused {
        assert_eq!(code.as_deref(), Some("rate_limited"));
        assert_eq!(*retry_after, Some(1));
        assert!(message.contains("retry in 1 s"), "{message}");
    }
    // Refusals are not failures: the flood leaves no back-off behind.
    let (status, _, message, _) = sign_in_from(&app, OFFICE, "alice", PASSWORD).await;
    assert_eq!(status, 200, "{message}");
}

/// `VmRSS` of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS")
}

/// A password sign-in that waits and retries while the server answers `rate_limited`.
async fn sign_in_patiently(http: &reqwest::Client, base: &str) {
    loop {
        let response = http
            .post(format!("{base}/api/v1/auth/sign-in"))
            .json(&json!({"username": "alice", "password": "backline"}))
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            200 => return,
            429 => {
                let wait = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            status => panic!(
                "sign-in answered {status}: {}",
                response.text().await.unwrap()
            ),
        }
    }
}

/// The real binary: a storm of password sign-ins (19 MiB of argon2id memory
/// each) must not leave the server holding hundreds of MiB for good.
#[tokio::test]
async fn memory_returns_near_its_baseline_after_a_storm_of_password_sign_ins() {
    const BOUND_KIB: u64 = 200 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let server = crate::binary::start(dir.path());
    let pid = server.child.id();
    let http = reqwest::Client::new();
    let baseline = rss_kib(pid);
    futures::future::join_all((0..200).map(|_| sign_in_patiently(&http, &server.base))).await;
    let peak = rss_kib(pid);
    // A short settle: the allocator hands freed memory back within moments.
    let mut after = peak;
    for _ in 0..50 {
        after = rss_kib(pid);
        if after < baseline + BOUND_KIB {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        after < baseline + BOUND_KIB,
        "RSS {baseline} KiB at start, {peak} KiB after 200 password sign-ins, \
         still {after} KiB 5 s later"
    );
}
