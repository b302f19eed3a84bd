//! Acknowledged means durable: `kill -9` the real binary while messages flow,
//! restart it on the same SQLite file, and find every acknowledged message.

use std::collections::HashSet;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::binary::{open_session, sign_in, start, transcript};

#[tokio::test]
async fn every_acknowledged_message_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let http = reqwest::Client::new();
    let (alice, id) = open_session(&http, &server.base).await;

    let ws_url = format!("{}/api/v1/ws", server.base.replace("http://", "ws://"));
    let (ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let (mut sink, mut stream) = ws.split();
    sink.send(Message::Text(
        json!({"type": "hello", "token": alice}).to_string().into(),
    ))
    .await
    .unwrap();
    // Pipeline sends without waiting; collect acks until the server dies.
    let sender = tokio::spawn(async move {
        for i in 0..5000 {
            let frame = json!({"type": "send", "rid": format!("r{i}"), "session_id": id, "client_msg_id": format!("m{i}"), "text": format!("message {i}")});
            if sink
                .send(Message::Text(frame.to_string().into()))
                .await
                .is_err()
            {
                break;
            }
        }
        id
    });
    let mut acked: HashSet<String> = HashSet::new();
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_secs(10), stream.next()).await
    {
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame["type"] == "ack" {
                acked.insert(frame["ack"]["client_msg_id"].as_str().unwrap().to_owned());
                if acked.len() == 300 {
                    server.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
                    server.child.wait().unwrap();
                }
            }
        }
    }
    let id = sender.await.unwrap();
    assert!(acked.len() >= 300, "acks before the kill: {}", acked.len());

    let restarted = start(dir.path());
    let (alice, _) = sign_in(&http, &restarted.base, "alice").await;
    let (stored, _) = transcript(&http, &restarted.base, &alice, &id).await;
    let stored: HashSet<String> = stored.into_keys().collect();
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "acknowledged but lost after kill -9: {lost:?}"
    );
    let mut restarted = restarted;
    let _ = restarted.child.kill();
    let _ = restarted.child.wait();
}
