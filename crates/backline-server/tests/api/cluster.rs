//! Two nodes on one PostgreSQL database with NATS fan-out: agents on
//! different nodes talk as if on one, and a desktop resumes on the other node.
//! Runs when BACKLINE_TEST_POSTGRES_URL and BACKLINE_TEST_NATS_URL are set.

use serde_json::json;

use crate::helpers::{spawn_with_config, TestApp};

pub(crate) async fn two_nodes() -> Option<(TestApp, TestApp)> {
    let mut nodes = nodes(2).await?;
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    Some((a, b))
}

/// `count` nodes on one fresh PostgreSQL database and one NATS subject prefix.
pub(crate) async fn nodes(count: usize) -> Option<Vec<TestApp>> {
    let Ok(nats) = std::env::var("BACKLINE_TEST_NATS_URL") else {
        eprintln!("cluster tests: skipped (BACKLINE_TEST_NATS_URL is not set)");
        return None;
    };
    nodes_on(count, &nats, |_| {}).await
}

/// `count` nodes on one fresh PostgreSQL database and the NATS server at
/// `nats`, each configured by `tweak`.
pub(crate) async fn nodes_on(
    count: usize,
    nats: &str,
    tweak: impl Fn(&mut backline_server::config::Config),
) -> Option<Vec<TestApp>> {
    let pg = backline_store::testing::postgres_url("cluster tests")?;
    let url = backline_store::testing::fresh_postgres_database(&pg)
        .await
        .expect("fresh database");
    let prefix = format!("backline-test-{}", uuid::Uuid::now_v7().simple());
    let mut nodes = Vec::new();
    for n in 0..count {
        let mut config = backline_server::config::Config::default();
        config.server.bind = "127.0.0.1:0".into();
        config.database.url = url.clone();
        config.bus.nats_url = nats.to_owned();
        config.bus.subject_prefix = prefix.clone();
        config.bus.node_id = format!("node-{}", (b'a' + n as u8) as char);
        tweak(&mut config);
        nodes.push(spawn_with_config(config, None).await);
    }
    Some(nodes)
}

#[tokio::test]
async fn agents_on_different_nodes_talk_and_resume_anywhere() {
    let Some((node_a, node_b)) = two_nodes().await else {
        return;
    };
    let alice = node_a.user("alice", "Alice Agent").await;
    let bob = node_a.user("bob", "Bob Builder").await;
    let mut a = node_a.desktop(&alice, None).await;
    let mut b = node_b.desktop(&bob, None).await;

    // Presence crosses nodes.
    a.send(json!({"type": "watch", "user_ids": [bob.id]})).await;
    let presence = a
        .until("bob online", |f| {
            f["type"] == "presence" && f["user_id"] == bob.id.as_str() && f["status"] != "offline"
        })
        .await;
    assert_eq!(presence["status"], "not_ready");

    let id = node_a
        .open_session(&alice, &bob, Some("across nodes"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let invitation = b.event("session").await;
    assert_eq!(
        invitation["event"]["session"]["last_message"]["text"],
        "across nodes"
    );
    let (status, _) = node_b
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    a.until("connected", |f| {
        f["event"]["kind"] == "session" && f["event"]["session"]["state"] == "connected"
    })
    .await;
    b.send(json!({"type": "send", "rid": "r", "session_id": id, "client_msg_id": "b1", "text": "from node b"})).await;
    assert_eq!(
        a.entry("message").await["event"]["entry"]["text"],
        "from node b"
    );
    b.send(json!({"type": "typing", "session_id": id, "state": "composing"}))
        .await;
    assert_eq!(
        a.until("typing", |f| f["type"] == "typing").await["user_id"],
        bob.id.as_str()
    );

    // Bob's desktop drops from node b and resumes on node a: nothing missing.
    b.drain(std::time::Duration::from_millis(300)).await;
    let last = b.last_seq;
    drop(b);
    for i in 0..5 {
        node_a
            .send_message(&alice, &id, &format!("a{i}"), "while away")
            .await;
    }
    let mut b = node_a.desktop(&bob, Some(last)).await;
    let frames = b.drain(std::time::Duration::from_millis(500)).await;
    let seqs: Vec<u64> = frames.iter().filter_map(|f| f["seq"].as_u64()).collect();
    assert_eq!(seqs, (last + 1..=last + 5).collect::<Vec<_>>());
}

/// Partners on different nodes, both sending at once: each node's batches
/// touch the same sessions and users as the other's. No write may be lost
/// to a lock-order deadlock between the nodes' transactions.
#[tokio::test]
async fn two_way_traffic_between_nodes_never_deadlocks() {
    let Some(nodes) = nodes(2).await else {
        return;
    };
    const PAIRS: usize = 12;
    const SENDS: usize = 40;
    let mut desktops = Vec::new();
    let mut sessions = Vec::new();
    let mut users = Vec::new();
    for n in 0..PAIRS {
        let left = nodes[0]
            .user(&format!("left{n}"), &format!("Left {n}"))
            .await;
        let right = nodes[0]
            .user(&format!("right{n}"), &format!("Right {n}"))
            .await;
        users.push((left, right));
    }
    // Each session joins a user on node a with one on node b, and the pairs
    // overlap (left n talks to right n and right n+1), so batches on both
    // nodes take the rows of many sessions and users.
    for n in 0..PAIRS {
        let (left, right) = (&users[n].0, &users[(n + 1) % PAIRS].1);
        sessions.push((
            nodes[0].connected_session(left, &users[n].1).await,
            nodes[0].connected_session(left, right).await,
        ));
    }
    for (left, right) in &users {
        desktops.push((nodes[0].desktop(left, None).await, true));
        desktops.push((nodes[1].desktop(right, None).await, false));
    }
    let mut tasks = Vec::new();
    for (n, (mut desktop, is_left)) in desktops.into_iter().enumerate() {
        let pair = n / 2;
        let targets = if is_left {
            vec![sessions[pair].0.clone(), sessions[pair].1.clone()]
        } else {
            vec![
                sessions[pair].0.clone(),
                sessions[(pair + PAIRS - 1) % PAIRS].1.clone(),
            ]
        };
        tasks.push(tokio::spawn(async move {
            for i in 0..SENDS {
                let session = &targets[i % targets.len()];
                desktop
                    .send(json!({"type": "send", "rid": format!("r{i}"), "session_id": session,
                                 "client_msg_id": format!("{n}-{i}"), "text": format!("message {i}")}))
                    .await;
            }
            let mut acked = 0;
            let mut refused = Vec::new();
            while acked + refused.len() < SENDS {
                let frame = desktop
                    .until("an answer", |f| f["type"] == "ack" || f["type"] == "error")
                    .await;
                if frame["type"] == "ack" {
                    acked += 1;
                } else {
                    refused.push(frame);
                }
            }
            (acked, refused)
        }));
    }
    let mut refused_all = Vec::new();
    let mut acked_all = 0;
    for task in tasks {
        let (acked, refused) = task.await.unwrap();
        acked_all += acked;
        refused_all.extend(refused);
    }
    assert!(
        refused_all.is_empty(),
        "{} of {} sends refused, e.g. {:?}",
        refused_all.len(),
        PAIRS * 2 * SENDS,
        refused_all.first()
    );
    assert_eq!(acked_all, PAIRS * 2 * SENDS);
}
