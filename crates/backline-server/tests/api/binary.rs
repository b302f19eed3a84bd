//! The real `backline` binary as a child process: started on a data
//! directory (or a PostgreSQL database), signed in to, killed.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// `kill -9`: no shutdown, no flush.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `kill -TERM`: the graceful stop a service manager asks for.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// The address it serves on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("a socket address")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `backline serve --demo` on `data_dir`, with `extra` arguments.
pub fn command(data_dir: &std::path::Path, extra: &[&str]) -> Command {
    let mut command = serve_command(data_dir, extra);
    command.arg("--demo");
    command
}

/// `backline serve` on `data_dir`, with `extra` arguments, without limits
/// that would get in a test's way; logs only warnings.
pub fn serve_command(data_dir: &std::path::Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_backline"));
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("BACKLINE_LIMITS__RATE_PER_SECOND", "100000")
        .env("BACKLINE_LIMITS__RATE_BURST", "100000")
        .env("BACKLINE_METRICS__BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn");
    command
}

pub fn start(data_dir: &std::path::Path) -> Server {
    start_with(data_dir, &[])
}

/// Starts the binary and waits until it says where it serves.
pub fn start_with(data_dir: &std::path::Path, extra: &[&str]) -> Server {
    start_command(command(data_dir, extra))
}

/// Starts a prepared command and waits until it says where it serves.
pub fn start_command(command: Command) -> Server {
    let (server, _, lines) = start_logging(command);
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    server
}

/// Like `start_command`, and also returns what the server printed before it
/// served and a receiver of every later line (its logs go to stdout).
pub fn start_logging(
    mut command: Command,
) -> (Server, Vec<String>, std::sync::mpsc::Receiver<String>) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start backline");
    let stdout = child.stdout.take().unwrap();
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut before = Vec::new();
    let base = loop {
        let line = lines.recv().expect("server output");
        if let Some(url) = line.strip_prefix("Backline is serving on ") {
            break url.trim().to_owned();
        }
        before.push(line);
    };
    (Server { child, base }, before, lines)
}

/// The binary (`--demo`, with `env`) with its logs (stdout) captured; also
/// the metrics listener's URL.
pub fn start_observed(
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (Server, String, std::sync::mpsc::Receiver<String>) {
    let mut command = command(dir, &[]);
    command.envs(env.iter().copied()).env("RUST_LOG", "warn");
    let (server, before, lines) = start_logging(command);
    let private = before
        .iter()
        .find_map(|line| line.strip_prefix("Metrics and health checks on "))
        .expect("the metrics listener's address")
        .trim()
        .to_owned();
    (server, private, lines)
}

pub async fn sign_in(http: &reqwest::Client, base: &str, username: &str) -> (String, String) {
    let body: Value = http
        .post(format!("{base}/api/v1/auth/sign-in"))
        .json(&json!({"username": username, "password": "backline"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (Some(token), Some(id)) = (body["token"].as_str(), body["me"]["id"].as_str()) else {
        panic!("{username} could not sign in: {body}");
    };
    (token.to_owned(), id.to_owned())
}

/// Alice opens a session with Bob and Bob accepts; returns Alice's token and the session.
pub async fn open_session(http: &reqwest::Client, base: &str) -> (String, String) {
    let (alice, _) = sign_in(http, base, "alice").await;
    let (bob, bob_id) = sign_in(http, base, "bob").await;
    let id = connected_session(http, base, &alice, &bob, &bob_id).await;
    (alice, id)
}

/// `from` opens a session with `to` (token and id), who accepts; returns the session.
pub async fn connected_session(
    http: &reqwest::Client,
    base: &str,
    from: &str,
    to: &str,
    to_id: &str,
) -> String {
    let session: Value = http
        .post(format!("{base}/api/v1/sessions"))
        .bearer_auth(from)
        .json(&json!({"target_id": to_id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = session["id"].as_str().unwrap().to_owned();
    let accepted = http
        .post(format!("{base}/api/v1/sessions/{id}/accept"))
        .bearer_auth(to)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    id
}

/// The stored messages of a session: client id → seq, and whether seqs are 1, 2, 3 … without gaps.
pub async fn transcript(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
) -> (HashMap<String, u64>, bool) {
    let mut stored = HashMap::new();
    let mut after = 0;
    let mut gapless = true;
    loop {
        let page: Value = http
            .get(format!(
                "{base}/api/v1/sessions/{id}/transcript?after={after}&limit=500"
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for entry in page["entries"].as_array().unwrap() {
            let seq = entry["seq"].as_u64().unwrap();
            gapless &= seq == after + 1;
            after = seq;
            if let Some(cmid) = entry["client_msg_id"].as_str() {
                stored.insert(cmid.to_owned(), seq);
            }
        }
        if page["has_more"] != true {
            break;
        }
    }
    (stored, gapless)
}
