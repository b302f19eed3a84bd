//! A cluster losing its bus or a node: real sockets, real PostgreSQL, a
//! private `nats-server` process that the test stops and starts again.
//! Runs when BACKLINE_TEST_POSTGRES_URL is set and `nats-server` is installed.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::cluster::nodes_on;
use crate::helpers::{desktop_at, Desktop};
use crate::webhooks::free_port;

/// A `nats-server` of the test's own on a fixed port, so it can be stopped
/// (SIGKILL) and started again on the same address.
struct PrivateNats {
    binary: String,
    port: u16,
    /// Further arguments (cluster routes).
    extra: Vec<String>,
    child: Option<Child>,
}

impl PrivateNats {
    /// Starts one on a free port; None (the test is skipped) without the binary.
    async fn start(extra: &[String]) -> Option<PrivateNats> {
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())?
            .to_owned();
        let mut nats = PrivateNats {
            binary,
            port: free_port(),
            extra: extra.to_vec(),
            child: None,
        };
        nats.restart().await;
        Some(nats)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    async fn restart(&mut self) {
        let child = Command::new(&self.binary)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "nats-server did not listen"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: the nodes lose their connection without a goodbye.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn private_nats() -> Option<PrivateNats> {
    let nats = PrivateNats::start(&[]).await;
    if nats.is_none() {
        eprintln!("cluster failure tests: skipped (nats-server is not installed)");
    }
    nats
}

/// Two NATS servers joined by a route, one per node: stopping the second
/// cuts node b off while node a still publishes (into the void, for b).
async fn routed_nats_pair() -> Option<(PrivateNats, PrivateNats)> {
    let (route_x, route_y) = (free_port(), free_port());
    let x = PrivateNats::start(&[
        "--cluster".into(),
        format!("nats://127.0.0.1:{route_x}"),
        "--cluster_name".into(),
        "backline-test".into(),
        // Clients must not learn the other server and fail over to it.
        "--no_advertise".into(),
    ])
    .await;
    let Some(x) = x else {
        eprintln!("cluster failure tests: skipped (nats-server is not installed)");
        return None;
    };
    let y = PrivateNats::start(&[
        "--cluster".into(),
        format!("nats://127.0.0.1:{route_y}"),
        "--cluster_name".into(),
        "backline-test".into(),
        // Clients must not learn the other server and fail over to it.
        "--no_advertise".into(),
        "--routes".into(),
        format!("nats://127.0.0.1:{route_x}"),
    ])
    .await?;
    Some((x, y))
}

/// Texts of the transcript messages among `frames`.
fn message_texts(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| {
            f["type"] == "event"
                && f["event"]["kind"] == "transcript"
                && f["event"]["entry"]["kind"] == "message"
        })
        .filter_map(|f| f["event"]["entry"]["text"].as_str().map(str::to_owned))
        .collect()
}

/// Collects frames until `count` messages arrived or `wait` passed.
async fn messages_within(desktop: &mut Desktop, count: usize, wait: Duration) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut frames = Vec::new();
    while message_texts(&frames).len() < count {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        match desktop.try_next(remaining).await {
            Some(frame) => frames.push(frame),
            None => break,
        }
    }
    message_texts(&frames)
}

/// Alice (node a) and Bob (node b) in a connected session; Bob's desktop on
/// node b has received a message sent through node a, so the bus works.
async fn quiet_receiver(
    nodes: &[crate::helpers::TestApp],
) -> (crate::helpers::User, String, Desktop) {
    let (node_a, node_b) = (&nodes[0], &nodes[1]);
    let alice = node_a.user("alice", "Alice Agent").await;
    let bob = node_a.user("bob", "Bob Builder").await;
    let session = node_a.connected_session(&alice, &bob).await;
    let mut receiver = node_b.desktop(&bob, None).await;
    // Until the servers' route is up a message may be lost: send until one
    // arrives (a later one fills the gap from the store).
    for i in 0.. {
        let (status, _) = node_a
            .send_message(&alice, &session, &format!("warm{i}"), "warm-up")
            .await;
        assert_eq!(status, 200);
        if !messages_within(&mut receiver, 1, Duration::from_millis(300))
            .await
            .is_empty()
        {
            break;
        }
        assert!(i < 50, "the bus never carried a message to node b");
    }
    receiver.drain(Duration::from_millis(200)).await;
    (alice, session, receiver)
}

const OUTAGE_MESSAGES: usize = 30;

/// Commits `OUTAGE_MESSAGES` messages through node a (each acknowledged).
async fn send_during_outage(
    node_a: &crate::helpers::TestApp,
    alice: &crate::helpers::User,
    session: &str,
) {
    for i in 0..OUTAGE_MESSAGES {
        let (status, body) = node_a
            .send_message(alice, session, &format!("m{i}"), &format!("during {i}"))
            .await;
        assert_eq!(status, 200, "committed while NATS is down: {body}");
    }
}

/// After NATS returns, the quiet desktop gets every committed message, in
/// order, within a few seconds: reconnecting takes at most a second and the
/// catch-up reads the store; its next ping is a minute away.
async fn assert_all_arrive_promptly(receiver: &mut Desktop) {
    let got = messages_within(receiver, OUTAGE_MESSAGES, Duration::from_secs(5)).await;
    let want: Vec<String> = (0..OUTAGE_MESSAGES)
        .map(|i| format!("during {i}"))
        .collect();
    assert_eq!(got, want, "every committed message, in order, promptly");
}

/// The one NATS server dies while node a commits messages for a quiet
/// desktop on node b, and comes back on the same port.
#[tokio::test]
async fn after_a_nats_outage_every_committed_event_arrives_promptly() {
    let Some(mut nats) = private_nats().await else {
        return;
    };
    let Some(nodes) = nodes_on(2, &nats.url(), |config| {
        config.ws.ping_interval_secs = 60;
    })
    .await
    else {
        return;
    };
    let (alice, session, mut receiver) = quiet_receiver(&nodes).await;
    nats.kill();
    send_during_outage(&nodes[0], &alice, &session).await;
    nats.restart().await;
    assert_all_arrive_promptly(&mut receiver).await;
}

/// Node b's NATS server dies while node a, still connected to its own
/// server, publishes: those messages are lost for node b for certain. When
/// node b's server returns, the desktop catches up from the store at once.
#[tokio::test]
async fn a_node_cut_off_from_the_bus_catches_up_when_it_returns() {
    let Some((nats_a, mut nats_b)) = routed_nats_pair().await else {
        return;
    };
    let (url_a, url_b) = (nats_a.url(), nats_b.url());
    let Some(nodes) = nodes_on(2, &url_a, |config| {
        config.ws.ping_interval_secs = 60;
        if config.bus.node_id == "node-b" {
            config.bus.nats_url = url_b.clone();
        }
    })
    .await
    else {
        return;
    };
    let (alice, session, mut receiver) = quiet_receiver(&nodes).await;
    nats_b.kill();
    send_during_outage(&nodes[0], &alice, &session).await;
    nats_b.restart().await;
    assert_all_arrive_promptly(&mut receiver).await;
}

/// Waits up to `wait` for a presence frame about `user_id`; returns its status.
async fn presence_within(desktop: &mut Desktop, user_id: &str, wait: Duration) -> Option<String> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = desktop.try_next(remaining).await?;
        if frame["type"] == "presence" && frame["user_id"] == user_id {
            return frame["status"].as_str().map(str::to_owned);
        }
    }
}

/// A watcher on node a watching `user_id`, who is seen online.
async fn watching(
    node_a: &crate::helpers::TestApp,
    watcher: &crate::helpers::User,
    user_id: &str,
) -> Desktop {
    let mut desktop = node_a.desktop(watcher, None).await;
    desktop
        .send(serde_json::json!({"type": "watch", "user_ids": [user_id]}))
        .await;
    desktop
        .until("watched user online", |f| {
            f["type"] == "presence" && f["user_id"] == user_id && f["status"] != "offline"
        })
        .await;
    desktop
}

/// A node dies (`kill -9`, the real binary): the watchers of its users on
/// another node see them offline within 5 s (three missed heartbeats).
#[tokio::test]
async fn a_lost_nodes_users_turn_offline_for_their_watchers() {
    let Ok(nats) = std::env::var("BACKLINE_TEST_NATS_URL") else {
        eprintln!("cluster failure tests: skipped (BACKLINE_TEST_NATS_URL is not set)");
        return;
    };
    let Some(nodes) = nodes_on(1, &nats, |_| {}).await else {
        return;
    };
    let node_a = &nodes[0];
    let watcher = node_a.user("watcher", "Wanda Watcher").await;
    let lost = node_a.user("lost", "Lou Lost").await;
    let dir = tempfile::tempdir().unwrap();
    let mut command = crate::binary::serve_command(dir.path(), &[]);
    command
        .env("BACKLINE_DATABASE__URL", &node_a.config.database.url)
        .env("BACKLINE_BUS__NATS_URL", &nats)
        .env(
            "BACKLINE_BUS__SUBJECT_PREFIX",
            &node_a.config.bus.subject_prefix,
        )
        .env("BACKLINE_BUS__NODE_ID", "node-lost");
    let mut node_b = crate::binary::start_command(command);
    let _lost_desktop = desktop_at(node_b.addr(), &lost.token, None).await;
    let mut watcher_desktop = watching(node_a, &watcher, &lost.id).await;

    node_b.kill();
    assert_eq!(
        presence_within(&mut watcher_desktop, &lost.id, Duration::from_secs(5))
            .await
            .as_deref(),
        Some("offline"),
        "the watcher sees the lost node's user offline within 5 s"
    );
}

/// A node drains (graceful stop, close 1001) and its user reconnects to the
/// other node at once: the watcher never sees them offline.
#[tokio::test]
async fn a_drained_nodes_users_who_reconnect_do_not_flicker_offline() {
    let Ok(nats) = std::env::var("BACKLINE_TEST_NATS_URL") else {
        eprintln!("cluster failure tests: skipped (BACKLINE_TEST_NATS_URL is not set)");
        return;
    };
    let Some(mut nodes) = nodes_on(2, &nats, |_| {}).await else {
        return;
    };
    let watcher = nodes[0].user("watcher", "Wanda Watcher").await;
    let mover = nodes[0].user("mover", "Mo Mover").await;
    let mut mover_desktop = nodes[1].desktop(&mover, None).await;
    let mut watcher_desktop = watching(&nodes[0], &watcher, &mover.id).await;
    // Node b has announced the mover in a heartbeat by now.
    tokio::time::sleep(backline_service::hub::HEARTBEAT_INTERVAL * 2).await;

    let stop = {
        let node_b = &mut nodes[1];
        async move { node_b.stop().await }
    };
    let (_, code) = tokio::join!(stop, mover_desktop.closed_with());
    assert_eq!(code, Some(1001), "the drained node says it is going away");
    let _mover_again = nodes[0].desktop(&mover, None).await;

    // Past the grace: any Offline would have been sent by now.
    let deadline = tokio::time::Instant::now()
        + backline_service::hub::REMOTE_NODE_EXPIRY
        + Duration::from_secs(2);
    while let Some(frame) = watcher_desktop
        .try_next(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        assert!(
            !(frame["type"] == "presence"
                && frame["user_id"] == mover.id.as_str()
                && frame["status"] == "offline"),
            "the mover flickered offline: {frame}"
        );
    }
    let (status, presence) = nodes[0]
        .get(
            &watcher.token,
            &format!("/api/v1/presence?ids={}", mover.id),
        )
        .await;
    assert_eq!(status, 200, "{presence}");
    assert_eq!(presence[0]["status"], "not_ready", "the mover is online");
}
