//! Webhooks: signed, in order, retried with back-off, and kept across a restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use hmac::{KeyInit, Mac};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_with_config, TestApp};
use crate::interactions::voice_call;

/// A webhook receiver on a local port: records every delivery, failing the first `fail_first`.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    seen: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    fail_first: Arc<Mutex<usize>>,
    /// How long each answer takes.
    delay: Duration,
}

impl Receiver {
    pub(crate) async fn start(
        fail_first: usize,
        port: u16,
    ) -> (Receiver, tokio::task::JoinHandle<()>) {
        Self::start_slow(fail_first, port, Duration::ZERO).await
    }

    async fn start_slow(
        fail_first: usize,
        port: u16,
        delay: Duration,
    ) -> (Receiver, tokio::task::JoinHandle<()>) {
        let receiver = Receiver {
            fail_first: Arc::new(Mutex::new(fail_first)),
            delay,
            ..Default::default()
        };
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    tokio::time::sleep(state.delay).await;
                    state.seen.lock().unwrap().push((headers, body));
                    let mut fail = state.fail_first.lock().unwrap();
                    if *fail > 0 {
                        *fail -= 1;
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (receiver, task)
    }

    /// From now on every delivery is answered 204.
    pub(crate) fn succeed_from_now(&self) {
        *self.fail_first.lock().unwrap() = 0;
    }

    /// Every delivery that arrived: its headers and body.
    pub(crate) fn requests(&self) -> Vec<(HeaderMap, String)> {
        self.seen.lock().unwrap().clone()
    }

    pub(crate) fn bodies(&self) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect()
    }

    /// Waits until `count` deliveries arrived (or panics after 20 s).
    pub(crate) async fn wait_for(&self, count: usize) {
        for _ in 0..200 {
            if self.seen.lock().unwrap().len() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "only {} of {count} webhook deliveries arrived",
            self.seen.lock().unwrap().len()
        );
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) async fn integration_with_secret(app: &TestApp, url: &str) -> (String, String) {
    let admin = app
        .user_with(
            "root",
            "Root",
            true,
            vec![backline_protocol::model::Role::Admin],
        )
        .await;
    let (_, token, secret) = crate::admin_console::integration(app, &admin, url).await;
    (token, secret)
}

pub(crate) fn verify(secret: &str, headers: &HeaderMap, body: &str) {
    let timestamp = headers["x-backline-timestamp"].to_str().unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        headers["x-backline-signature"].to_str().unwrap(),
        format!("sha256={expected}")
    );
    let parsed: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        headers["x-backline-event"].to_str().unwrap(),
        parsed["type"].as_str().unwrap()
    );
    assert_eq!(
        headers["x-backline-delivery"].to_str().unwrap(),
        parsed["id"].as_str().unwrap()
    );
}

#[tokio::test]
async fn lifecycle_events_arrive_signed_and_in_order() {
    let port = free_port();
    let (receiver, _task) = Receiver::start(0, port).await;
    let app = spawn_app().await;
    let (platform, secret) =
        integration_with_secret(&app, &format!("http://127.0.0.1:{port}/hook")).await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let (_, view) = app
        .post(
            &platform,
            "/api/v1/platform/interactions",
            voice_call("call-7", "alice"),
        )
        .await;
    let interaction = view["id"].as_str().unwrap().to_owned();
    let (_, session) = app
        .post(&alice.token, "/api/v1/sessions", json!({"target_id": bob.id, "parent_interaction_id": interaction, "defer_invite": true}))
        .await;
    let session = session["id"].as_str().unwrap().to_owned();
    app.send_message(&alice, &session, "m1", "Need approval for a refund")
        .await;
    app.post(
        &bob.token,
        &format!("/api/v1/sessions/{session}/accept"),
        json!({}),
    )
    .await;
    app.send_message(&bob, &session, "b1", "Approved").await;
    app.post(
        &alice.token,
        &format!("/api/v1/sessions/{session}/end"),
        json!({}),
    )
    .await;
    app.post(
        &platform,
        "/api/v1/platform/interactions/call-7/end",
        json!({"outcome": "Refunded"}),
    )
    .await;

    receiver.wait_for(6).await;
    let bodies = receiver.bodies();
    let expected = [
        "interaction.created",
        "consultation.invited",
        "consultation.accepted",
        "consultation.ended",
        "consultation.transcript_attached",
        "interaction.ended",
    ];
    let firsts: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(&firsts[..6], &expected[..], "in the order of the changes");
    for (headers, body) in receiver.seen.lock().unwrap().iter() {
        verify(&secret, headers, body);
    }
    let attached = &bodies[4];
    assert_eq!(attached["interaction_external_id"], "call-7");
    assert_eq!(attached["consultation"]["target_id"], bob.id.as_str());
    assert!(attached["transcript"]
        .as_str()
        .unwrap()
        .contains("Bob Builder: Approved"));
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_back_off_and_keep_their_order() {
    let port = free_port();
    let (receiver, _task) = Receiver::start(2, port).await;
    let app = spawn_app().await;
    let (platform, _) =
        integration_with_secret(&app, &format!("http://127.0.0.1:{port}/hook")).await;
    app.user("alice", "Alice Agent").await;
    app.post(
        &platform,
        "/api/v1/platform/interactions",
        voice_call("a", "alice"),
    )
    .await;
    app.post(&platform, "/api/v1/platform/interactions/a/end", json!({}))
        .await;
    receiver.wait_for(4).await; // two failures, then the two events
    let seen = receiver.seen.lock().unwrap().clone();
    let ids: Vec<String> = seen
        .iter()
        .map(|(h, _)| h["x-backline-delivery"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids[0], ids[1], "the first event is retried");
    assert_eq!(
        ids[1], ids[2],
        "and retried again before anything else is sent"
    );
    let types: Vec<String> = receiver
        .bodies()
        .iter()
        .map(|b| b["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types[2..],
        [
            "interaction.created".to_owned(),
            "interaction.ended".to_owned()
        ]
    );
    // The last delivery is recorded just after the receiver answered it.
    let mut counts = (0, 0, 0);
    for _ in 0..100 {
        counts = backline_store::outbox::counts(app.backline.store().reader())
            .await
            .unwrap();
        if counts == (0, 2, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(counts, (0, 2, 0), "(pending, delivered, failed)");
}

/// Three nodes on one database: each event is delivered once (not once per
/// node), and each interaction's events arrive in order while different
/// interactions are delivered side by side.
#[tokio::test]
async fn with_three_nodes_each_event_is_delivered_once_and_in_order_per_interaction() {
    let Some(nodes) = crate::cluster::nodes(3).await else {
        return;
    };
    let port = free_port();
    let (receiver, _task) = Receiver::start_slow(0, port, Duration::from_millis(200)).await;
    let (platform, _) =
        integration_with_secret(&nodes[0], &format!("http://127.0.0.1:{port}/hook")).await;
    nodes[0].user("alice", "Alice Agent").await;
    // 12 interactions, each created, updated and ended: 36 events.
    for n in 0..12 {
        let node = &nodes[n % 3];
        let external = format!("call-{n}");
        let (status, body) = node
            .post(
                &platform,
                "/api/v1/platform/interactions",
                voice_call(&external, "alice"),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = node
            .send_json(
                reqwest::Method::PATCH,
                &platform,
                &format!("/api/v1/platform/interactions/{external}"),
                json!({"subject": format!("update {n}")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = node
            .post(
                &platform,
                &format!("/api/v1/platform/interactions/{external}/end"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    receiver.wait_for(36).await;
    // Anything sent twice would arrive within a lease's fraction of a second.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let bodies = receiver.bodies();
    let mut ids: Vec<&str> = bodies.iter().map(|b| b["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (ids.len(), bodies.len()),
        (36, 36),
        "one delivery per event, not one per node"
    );
    for n in 0..12 {
        let external = format!("call-{n}");
        let types: Vec<&str> = bodies
            .iter()
            .filter(|b| b["interaction_external_id"] == external.as_str())
            .map(|b| b["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "interaction.created",
                "interaction.updated",
                "interaction.ended"
            ],
            "{external}"
        );
    }
}

#[tokio::test]
async fn undelivered_events_survive_a_restart() {
    let port = free_port(); // nothing listens there yet
    let dir = tempfile::tempdir().unwrap();
    let mut config = backline_server::config::Config::default();
    config.server.bind = "127.0.0.1:0".into();
    config.server.data_dir = dir.path().to_path_buf();
    config.server.shutdown_grace_secs = 2;
    let mut first = spawn_with_config(config.clone(), None).await;
    let (platform, _) =
        integration_with_secret(&first, &format!("http://127.0.0.1:{port}/hook")).await;
    first.user("alice", "Alice Agent").await;
    let (status, _) = first
        .post(
            &platform,
            "/api/v1/platform/interactions",
            voice_call("kept", "alice"),
        )
        .await;
    assert_eq!(status, 201);
    tokio::time::sleep(Duration::from_millis(600)).await; // at least one failed attempt
    first.stop().await;

    let (receiver, _task) = Receiver::start(0, port).await;
    let second = spawn_with_config(config, None).await;
    receiver.wait_for(1).await;
    assert_eq!(receiver.bodies()[0]["type"], "interaction.created");
    assert_eq!(receiver.bodies()[0]["interaction_external_id"], "kept");
    drop(second);
    drop(dir);
}

/// Benchmark, not a test (run it with `--ignored --nocapture`): webhook
/// events delivered per second to a receiver that answers in 100 ms, with
/// 400 interactions created as fast as the platform can.
#[tokio::test]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn webhook_delivery_rate_to_a_slow_receiver() {
    const EVENTS: usize = 400;
    let port = free_port();
    let (receiver, _task) = Receiver::start_slow(0, port, Duration::from_millis(100)).await;
    let app = spawn_app().await;
    let (platform, _) =
        integration_with_secret(&app, &format!("http://127.0.0.1:{port}/hook")).await;
    app.user("alice", "Alice Agent").await;
    let started = std::time::Instant::now();
    let creations = (0..EVENTS).map(|n| {
        let (app, platform) = (&app, &platform);
        async move {
            let (status, _) = app
                .post(
                    platform,
                    "/api/v1/platform/interactions",
                    voice_call(&format!("bench-{n}"), "alice"),
                )
                .await;
            assert_eq!(status, 201);
        }
    });
    futures::future::join_all(creations).await;
    let created = started.elapsed();
    receiver.wait_for(EVENTS).await;
    let delivered = started.elapsed();
    println!(
        "{EVENTS} events: created in {:.2} s, all delivered after {:.2} s: {:.0} events/s",
        created.as_secs_f64(),
        delivered.as_secs_f64(),
        EVENTS as f64 / delivered.as_secs_f64()
    );
}
