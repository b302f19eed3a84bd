//! The real `backline` binary as a child process: started on a data
//! directory (or a PostgreSQL database), signed in to, killed.

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
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `backline serve --demo` on `data_dir`, with `extra` arguments.
pub fn command(data_dir: &std::path::Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_backline"));
    command
        .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("BACKLINE_LIMITS__RATE_PER_SECOND", "100000")
        .env("BACKLINE_LIMITS__RATE_BURST", "100000")
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
pub fn start_command(mut command: Command) -> Server {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start backline");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("server output").expect("line");
        if let Some(url) = line.strip_prefix("Backline is serving on ") {
            break url.trim().to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
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
    (
        body["token"].as_str().unwrap().to_owned(),
        body["me"]["id"].as_str().unwrap().to_owned(),
    )
}
