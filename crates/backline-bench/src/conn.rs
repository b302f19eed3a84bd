//! Agent WebSockets: the timed sign-in storm (connect, `hello` with an
//! existing token, wait for `welcome`) and, per connection, a writer task fed
//! by a channel and a reader task that records acks, errors and deliveries
//! into the [`Tracker`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use backline_protocol::events::EventBody;
use backline_protocol::frames::{ClientFrame, ServerFrame};
use backline_protocol::model::{EntryKind, MarkKind};
use futures::SinkExt;
use futures::StreamExt;
use hdrhistogram::Histogram;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::load::Tracker;
use crate::setup::Agent;

/// Time limit of one connection's TCP connect + upgrade + hello/welcome.
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(30);

/// A connected, authenticated agent desktop.
pub struct Conn {
    pub tx: mpsc::UnboundedSender<Message>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

/// Result of the sign-in storm.
pub struct Storm {
    /// One per agent, in agent order; `None` when that agent failed to sign in.
    pub conns: Vec<Option<Conn>>,
    pub total: Duration,
    /// Per-connection time, microseconds.
    pub per_conn_us: Histogram<u64>,
    pub failures: BTreeMap<String, u64>,
}

/// `http://host:port` → `ws://host:port/api/v1/ws`.
pub fn ws_url(url: &str) -> anyhow::Result<String> {
    let rest = url
        .trim_end_matches('/')
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("--url must start with http:// (the bench speaks no TLS)"))?;
    Ok(format!("ws://{rest}/api/v1/ws"))
}

fn text(frame: &ClientFrame) -> Message {
    Message::text(serde_json::to_string(frame).expect("frames serialize"))
}

/// Opens one socket and authenticates it; returns the stream once `welcome` arrived.
async fn sign_in_one(
    ws_url: &str,
    agent: &Agent,
) -> anyhow::Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(ws_url, None, true)
        .await
        .map_err(|e| anyhow!("connect: {e}"))?;
    ws.send(text(&ClientFrame::Hello {
        token: Some(agent.token.clone()),
        last_seq: None,
    }))
    .await
    .map_err(|e| anyhow!("send hello: {e}"))?;
    while let Some(message) = ws.next().await {
        let message = message.map_err(|e| anyhow!("read: {e}"))?;
        match message {
            Message::Text(body) => match serde_json::from_str::<ServerFrame>(body.as_str()) {
                Ok(ServerFrame::Welcome { me, .. }) => {
                    if me.id != agent.user_id {
                        bail!("welcome for {} instead of {}", me.id, agent.user_id);
                    }
                    return Ok(ws);
                }
                Ok(ServerFrame::Error { code, .. }) => bail!("error {}", code.as_str()),
                Ok(_) => continue,
                Err(e) => bail!("unreadable frame before welcome ({e}): {}", body.as_str()),
            },
            Message::Close(frame) => {
                bail!(
                    "closed before welcome: {}",
                    frame
                        .map(|f| format!("{} {}", u16::from(f.code), f.reason))
                        .unwrap_or_default()
                )
            }
            _ => continue,
        }
    }
    bail!("closed before welcome")
}

/// Opens and authenticates one socket per agent, at most `concurrency` at a
/// time, and starts its reader and writer tasks. This is the timed "sign-in".
/// Agent `i` connects to `ws_urls[i % ws_urls.len()]`.
pub async fn sign_in_storm(
    ws_urls: &[String],
    agents: &[Agent],
    concurrency: usize,
    tracker: &Arc<Tracker>,
) -> Storm {
    let started = Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let ws_urls: Vec<Arc<str>> = ws_urls.iter().map(|u| Arc::from(u.as_str())).collect();
    // One task per agent, so that handshakes and frame parsing use every core;
    // the semaphore bounds how many are in flight. The per-connection time
    // starts when the task gets its permit (queueing in the tool excluded).
    let handles: Vec<JoinHandle<(Duration, anyhow::Result<Conn>)>> = agents
        .iter()
        .enumerate()
        .map(|(i, agent)| {
            let (agent, permits, ws_url, tracker) = (
                agent.clone(),
                permits.clone(),
                ws_urls[i % ws_urls.len()].clone(),
                tracker.clone(),
            );
            tokio::spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return (Duration::ZERO, Err(anyhow!("semaphore closed")));
                };
                let t0 = Instant::now();
                let result =
                    match tokio::time::timeout(SIGN_IN_TIMEOUT, sign_in_one(&ws_url, &agent)).await
                    {
                        Ok(r) => r,
                        Err(_) => Err(anyhow!("timed out after {SIGN_IN_TIMEOUT:?}")),
                    };
                let elapsed = t0.elapsed();
                (
                    elapsed,
                    result.map(|ws| spawn_conn(ws, agent.user_id.clone(), tracker)),
                )
            })
        })
        .collect();
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(match handle.await {
            Ok(r) => r,
            Err(e) => (Duration::ZERO, Err(anyhow!("task: {e}"))),
        });
    }
    let total = started.elapsed();
    let mut per_conn_us =
        Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("valid bounds");
    let mut failures = BTreeMap::new();
    let mut conns: Vec<Option<Conn>> = (0..agents.len()).map(|_| None).collect();
    for (i, (elapsed, result)) in results.into_iter().enumerate() {
        match result {
            Ok(conn) => {
                per_conn_us.saturating_record(elapsed.as_micros() as u64);
                conns[i] = Some(conn);
            }
            Err(e) => {
                let reason = e.to_string();
                let key = reason.split(':').next().unwrap_or("error").to_owned();
                if failures.is_empty() {
                    eprintln!("sign-in of {} failed: {reason}", agents[i].username);
                }
                *failures.entry(key).or_insert(0) += 1;
            }
        }
    }
    Storm {
        conns,
        total,
        per_conn_us,
        failures,
    }
}

fn spawn_conn(
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    my_id: String,
    tracker: Arc<Tracker>,
) -> Conn {
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    // Weak: the writer stops when the run drops `tx`, marks or not.
    let marks = tx.downgrade();
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.send(message).await.is_err() {
                return;
            }
        }
        // The channel closed: the run is over.
        let _ = tokio::time::timeout(Duration::from_secs(2), sink.close()).await;
    });
    let reader = tokio::spawn(async move {
        let reason = loop {
            match source.next().await {
                Some(Ok(Message::Text(body))) => {
                    let mark = handle_frame(&tracker, &my_id, body.as_str());
                    if let (Some(mark), Some(marks)) = (mark, marks.upgrade()) {
                        let _ = marks.send(Message::text(mark));
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break frame
                        .map(|f| format!("close {} {}", u16::from(f.code), f.reason))
                        .unwrap_or_else(|| "close without code".into())
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break format!("read error: {e}"),
                None => break "end of stream".into(),
            }
        };
        if !tracker.closing.load(Ordering::Relaxed) {
            tracker.count_disconnect(reason);
        }
    });
    Conn { tx, reader, writer }
}

/// Records what the frame answers or delivers; returns the `mark` frame
/// to send back for a message received, with `--marks`.
fn handle_frame(tracker: &Tracker, my_id: &str, body: &str) -> Option<String> {
    let frame = match serde_json::from_str::<ServerFrame>(body) {
        Ok(frame) => frame,
        Err(_) => {
            tracker.unparsed_frames.fetch_add(1, Ordering::Relaxed);
            return None;
        }
    };
    let now = tracker.now_ns();
    match frame {
        ServerFrame::Ack { rid, ack } => tracker.on_ack(&rid, ack.duplicate, now),
        ServerFrame::Error { rid, code, .. } => tracker.on_error(rid.as_deref(), code.as_str()),
        ServerFrame::Event { event, .. } => {
            if let EventBody::Transcript { session_id, entry } = *event {
                if entry.kind == EntryKind::Message && entry.actor_id != my_id {
                    if let Some(cmid) = entry.client_msg_id.as_deref() {
                        tracker.on_delivery(cmid, now);
                    }
                    if tracker.marks.load(Ordering::Relaxed) {
                        return serde_json::to_string(&ClientFrame::Mark {
                            rid: None,
                            session_id,
                            kind: MarkKind::Delivered,
                            seq: entry.seq,
                        })
                        .ok();
                    }
                }
            }
        }
        _ => {}
    }
    None
}

/// Closes every connection (bounded in time) and marks the end so that the
/// resulting closes are not reported as disconnects.
pub async fn close_all(conns: Vec<Option<Conn>>, closing: &AtomicBool) {
    closing.store(true, Ordering::Relaxed);
    let mut handles = Vec::new();
    for conn in conns.into_iter().flatten() {
        drop(conn.tx);
        handles.push((conn.reader, conn.writer));
    }
    let wait = async {
        for (reader, writer) in &mut handles {
            let _ = writer.await;
            let _ = tokio::time::timeout(Duration::from_millis(100), reader).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(20), wait).await;
    for (reader, writer) in handles {
        reader.abort();
        writer.abort();
    }
}

/// Error counters keyed by reason, shared by tasks.
pub fn bump(map: &Mutex<BTreeMap<String, u64>>, key: &str) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    *map.entry(key.to_owned()).or_insert(0) += 1;
}
