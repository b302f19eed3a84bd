//! The store never acknowledges what it did not keep: the real binary on a
//! full disk, under a layer that fails its writes with EIO (`fault_fs.c`,
//! preloaded), on a PostgreSQL that drops every connection, and beside a
//! second process on its data directory.
//!
//! The full disk is a small tmpfs, which needs root (CI is root;
//! `scripts/test` sets `BACKLINE_TEST_REQUIRE_ROOT` so that the test cannot
//! be skipped there).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::binary::{
    command, open_session, sign_in, start, start_command, start_with, transcript, Server,
};

/// A tmpfs of a fixed size, unmounted when dropped.
struct Tmpfs {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one, or says why not (not root) — a failure when
    /// `BACKLINE_TEST_REQUIRE_ROOT` is set.
    fn mount(size: &str) -> Option<Tmpfs> {
        Tmpfs::mount_with(&format!("size={size}"))
    }

    /// Mounts one with these mount options (`ro,size=1m` …).
    fn mount_with(options: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        std::fs::create_dir(&path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&path)
            .stderr(Stdio::null())
            .status();
        if matches!(status, Ok(s) if s.success()) {
            return Some(Tmpfs { path, _dir: dir });
        }
        if std::env::var_os("BACKLINE_TEST_REQUIRE_ROOT").is_some() {
            panic!("cannot mount a tmpfs (this test needs root)");
        }
        eprintln!("file-system fault test NOT run: mounting a tmpfs needs root");
        None
    }
}

impl Tmpfs {
    /// Grows (or shrinks) the file system in place, as an operator who adds
    /// space would.
    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.path)
            .status()
            .expect("mount");
        assert!(
            status.success(),
            "remounting the tmpfs with size={size} failed"
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// One desktop's socket, sending one message at a time.
struct Desktop {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session_id: String,
    next: u64,
}

#[derive(Debug)]
enum Outcome {
    Ack(u64),
    Refused(String),
}

impl Desktop {
    async fn connect(base: &str, token: &str, session_id: &str) -> Desktop {
        let url = format!("{}/api/v1/ws", base.replace("http://", "ws://"));
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        ws.send(Message::Text(
            json!({"type": "hello", "token": token}).to_string().into(),
        ))
        .await
        .unwrap();
        Desktop {
            ws,
            session_id: session_id.to_owned(),
            next: 0,
        }
    }

    /// Sends `text` as a new message; answers with its ack or refusal.
    async fn send(&mut self, text: &str) -> (String, Outcome) {
        self.next += 1;
        let client_msg_id = format!("m{}", self.next);
        let rid = format!("r{}", self.next);
        let frame = json!({"type": "send", "rid": rid, "session_id": self.session_id,
            "client_msg_id": client_msg_id, "text": text});
        self.ws
            .send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .expect("an answer within 30 s")
                .expect("socket open")
                .expect("frame");
            let Message::Text(text) = message else {
                continue;
            };
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame["type"] == "ack" && frame["ack"]["client_msg_id"] == client_msg_id.as_str() {
                return (
                    client_msg_id,
                    Outcome::Ack(frame["ack"]["seq"].as_u64().unwrap()),
                );
            }
            if frame["type"] == "error" && frame["rid"] == rid.as_str() {
                return (
                    client_msg_id,
                    Outcome::Refused(frame["code"].as_str().unwrap().to_owned()),
                );
            }
        }
    }
}

async fn readyz(http: &reqwest::Client, base: &str) -> (u16, String) {
    let response = http.get(format!("{base}/readyz")).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// Waits until `/readyz` answers 200 (the store recovered by itself).
async fn until_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..100 {
        if readyz(http, base).await.0 == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "/readyz did not recover within 10 s: {:?}",
        readyz(http, base).await
    );
}

/// Every acknowledged message is stored with the seq it was acknowledged with.
fn assert_kept(acked: &BTreeMap<String, u64>, stored: &HashMap<String, u64>, when: &str) {
    let mut seqs: Vec<u64> = acked.values().copied().collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), acked.len(), "a seq was acknowledged twice");
    for (cmid, seq) in acked {
        assert_eq!(
            stored.get(cmid),
            Some(seq),
            "{when}: {cmid} was acknowledged with seq {seq} but is stored as {:?}",
            stored.get(cmid)
        );
    }
}

fn fill(dir: &Path, name: &str, bytes: usize) {
    std::fs::write(dir.join(name), vec![b'x'; bytes]).unwrap();
}

#[tokio::test]
async fn no_acknowledged_message_is_lost_and_no_seq_is_reused_when_the_disk_fills() {
    let Some(disk) = Tmpfs::mount("6m") else {
        return;
    };
    // Room to free later.
    fill(&disk.path, "ballast", 1536 * 1024);
    let mut server = start(&disk.path);
    let http = reqwest::Client::new();
    let (alice, id) = open_session(&http, &server.base).await;
    let mut desktop = Desktop::connect(&server.base, &alice, &id).await;
    let text = "q".repeat(15_000);

    let mut acked = BTreeMap::new();
    let mut refused = 0;
    for _ in 0..2000 {
        match desktop.send(&text).await {
            (cmid, Outcome::Ack(seq)) => {
                acked.insert(cmid, seq);
            }
            (_, Outcome::Refused(code)) => {
                assert_eq!(code, "unavailable", "a full disk is a retryable refusal");
                refused += 1;
                if refused == 5 {
                    break;
                }
            }
        }
    }
    assert_eq!(refused, 5, "the disk never filled");
    assert!(acked.len() > 20, "too few messages before the disk filled");
    // /readyz tells the truth: 503 while writes fail. The store may also
    // write again by itself for a moment (the checkpointer moved the WAL into
    // the database file, and the WAL starts over in space it already holds),
    // then fill up again as the database file grows: a "ready" is true if a
    // send right after it is acknowledged.
    let mut truthful = false;
    for _ in 0..20 {
        match readyz(&http, &server.base).await {
            (503, body) => {
                assert!(body.contains("unavailable"), "{body}");
                truthful = true;
            }
            (200, _) => {
                if let (cmid, Outcome::Ack(seq)) = desktop.send("written again").await {
                    acked.insert(cmid, seq);
                    truthful = true;
                }
            }
            other => panic!("/readyz while the disk is full: {other:?}"),
        }
        if truthful {
            break;
        }
    }
    assert!(truthful, "/readyz said ready while every send was refused");

    // Space comes back: the server writes again without a restart.
    std::fs::remove_file(disk.path.join("ballast")).unwrap();
    until_ready(&http, &server.base).await;
    for _ in 0..5 {
        match desktop.send("after the disk was freed").await {
            (cmid, Outcome::Ack(seq)) => {
                acked.insert(cmid, seq);
            }
            (cmid, other) => panic!("{cmid} after recovery: {other:?}"),
        }
    }
    let (stored, gapless) = transcript(&http, &server.base, &alice, &id).await;
    assert_kept(&acked, &stored, "live");
    assert!(gapless, "the transcript's seqs have a gap");

    server.kill();
    // The operator adds space before the restart: on a disk still full the
    // restarted store's first checkpoint (which grows the database file by
    // the WAL's content) could not complete. The restarted server reads what
    // was acknowledged with the token Alice already holds.
    disk.resize("16m");
    let restarted = start(&disk.path);
    let (stored, gapless) = transcript(&http, &restarted.base, &alice, &id).await;
    assert_kept(&acked, &stored, "after a restart");
    assert!(gapless, "the transcript's seqs have a gap after a restart");
}

/// Builds the fault-injecting library (`fault_fs.c`) into `dir`.
fn fault_library(dir: &Path) -> PathBuf {
    let library = dir.join("libfault_fs.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&library)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/fault_fs.c"))
        .arg("-ldl")
        .status()
        .expect("a C compiler (cc) builds the fault-injecting library");
    assert!(status.success(), "building fault_fs.c failed");
    library
}

#[tokio::test]
async fn writes_fail_on_io_errors_and_resume_when_the_disk_works_again() {
    let dir = tempfile::tempdir().unwrap();
    let library = fault_library(dir.path());
    let flag = dir.path().join("failing");
    let data = dir.path().join("data");
    let mut cmd = command(&data, &[]);
    cmd.env("LD_PRELOAD", &library)
        .env("BACKLINE_FAULT_FILE", &flag);
    let mut server = start_command(cmd);
    let http = reqwest::Client::new();
    let (alice, id) = open_session(&http, &server.base).await;
    let mut desktop = Desktop::connect(&server.base, &alice, &id).await;
    let mut acked = BTreeMap::new();
    for _ in 0..10 {
        if let (cmid, Outcome::Ack(seq)) = desktop.send("before").await {
            acked.insert(cmid, seq);
        }
    }
    assert_eq!(acked.len(), 10);

    // From now on every write and fsync of a file fails with EIO.
    std::fs::write(&flag, b"").unwrap();
    for _ in 0..5 {
        let (cmid, outcome) = desktop.send("while the disk fails").await;
        match outcome {
            Outcome::Refused(code) => assert_eq!(code, "unavailable"),
            Outcome::Ack(seq) => panic!("{cmid} acknowledged (seq {seq}) while every write failed"),
        }
    }
    let (status, body) = readyz(&http, &server.base).await;
    assert_eq!(status, 503, "/readyz while writes fail: {body}");

    std::fs::remove_file(&flag).unwrap();
    until_ready(&http, &server.base).await;
    for _ in 0..10 {
        match desktop.send("after").await {
            (cmid, Outcome::Ack(seq)) => {
                acked.insert(cmid, seq);
            }
            (cmid, other) => panic!("{cmid} after recovery: {other:?}"),
        }
    }
    let (stored, gapless) = transcript(&http, &server.base, &alice, &id).await;
    assert_kept(&acked, &stored, "live");
    assert!(gapless);
    server.kill();
    let restarted = start(&data);
    let (alice, _) = sign_in(&http, &restarted.base, "alice").await;
    let (stored, gapless) = transcript(&http, &restarted.base, &alice, &id).await;
    assert_kept(&acked, &stored, "after a restart");
    assert!(gapless);
}

/// Starts the binary on `data_dir`, requires it to exit unsuccessfully
/// within `within`, and answers what it wrote to stderr.
async fn refused_start(data_dir: &Path, within: Duration) -> String {
    let mut child = command(data_dir, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > within {
            let _ = child.kill();
            panic!(
                "backline on {} still runs after {within:?}",
                data_dir.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        !status.success(),
        "backline on {} started",
        data_dir.display()
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    stderr
}

#[tokio::test]
async fn starting_on_a_read_only_or_full_data_directory_fails_at_once_naming_the_path_and_the_cause(
) {
    for (options, full, cause) in [
        ("ro,size=1m", false, "Read-only file system"),
        ("size=1m", true, "No space left on device"),
    ] {
        let Some(disk) = Tmpfs::mount_with(options) else {
            return;
        };
        if full {
            // Fill it to the last byte.
            let mut file = std::fs::File::create(disk.path.join("filler")).unwrap();
            while std::io::Write::write_all(&mut file, &[b'x'; 4096]).is_ok() {}
        }
        // The directory itself, and one still to be created inside it. The
        // refusal comes as soon as the process has started (it retries
        // nothing); the bound leaves room for a machine busy loading it.
        for data_dir in [disk.path.clone(), disk.path.join("backline")] {
            let stderr = refused_start(&data_dir, Duration::from_secs(20)).await;
            assert!(
                stderr.contains(&data_dir.display().to_string()),
                "the error names {}: {stderr}",
                data_dir.display()
            );
            assert!(stderr.contains(cause), "the error says {cause:?}: {stderr}");
        }
    }
}

#[tokio::test]
async fn a_second_process_on_the_same_data_directory_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path());
    let stderr = refused_start(dir.path(), Duration::from_secs(20)).await;
    assert!(
        stderr.contains(&dir.path().display().to_string()),
        "the refusal names the directory: {stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", first.child.id())),
        "the refusal names the other process: {stderr}"
    );
    // The first one still serves.
    let http = reqwest::Client::new();
    assert_eq!(readyz(&http, &first.base).await.0, 200);
    drop(first);
    // Once it is gone, the directory can be used again.
    let again: Server = start(dir.path());
    assert_eq!(readyz(&http, &again.base).await.0, 200);
}

#[tokio::test]
async fn acknowledged_messages_survive_postgresql_dropping_every_connection() {
    let Some(admin) = backline_store::testing::postgres_url("PostgreSQL fault") else {
        return;
    };
    let url = backline_store::testing::fresh_postgres_database(&admin)
        .await
        .unwrap();
    let database = url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_with(dir.path(), &["--database", &url]);
    let http = reqwest::Client::new();
    let (alice, id) = open_session(&http, &server.base).await;
    let mut desktop = Desktop::connect(&server.base, &alice, &id).await;

    let mut acked = BTreeMap::new();
    let mut refused = 0;
    for round in 0..3 {
        for _ in 0..20 {
            match desktop.send("hello").await {
                (cmid, Outcome::Ack(seq)) => {
                    acked.insert(cmid, seq);
                }
                (_, Outcome::Refused(code)) => {
                    assert_eq!(code, "unavailable");
                    refused += 1;
                }
            }
        }
        // What a PostgreSQL restart does to its clients: every backend of
        // the database is terminated.
        backline_store::testing::postgres_execute(
            &admin,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{database}' AND pid <> pg_backend_pid()"
            ),
        )
        .await
        .unwrap();
        eprintln!("round {round}: backends terminated");
    }
    until_ready(&http, &server.base).await;
    for _ in 0..10 {
        match desktop.send("after").await {
            (cmid, Outcome::Ack(seq)) => {
                acked.insert(cmid, seq);
            }
            (cmid, other) => panic!("{cmid} after recovery: {other:?}"),
        }
    }
    assert!(
        acked.len() >= 60,
        "acked {} (refused {refused})",
        acked.len()
    );
    let (stored, gapless) = transcript(&http, &server.base, &alice, &id).await;
    assert_kept(&acked, &stored, "live");
    assert!(gapless);
    server.kill();
}
