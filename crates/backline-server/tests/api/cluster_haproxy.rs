//! Three real `backline serve` processes on one PostgreSQL database and one
//! NATS, behind a private `haproxy` whose configuration is the shipped
//! `deploy/haproxy.cfg` with local addresses. Desktops and REST calls reach
//! the cluster only through HAProxy's port.
//!
//! Runs when BACKLINE_TEST_POSTGRES_URL and BACKLINE_TEST_NATS_URL are set.
//! Without `haproxy` (Debian's package) the tests are skipped, or fail when
//! BACKLINE_TEST_REQUIRE_ROOT is set (`scripts/test` installs it).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use crate::binary::{self, Server};
use crate::helpers::{desktop_at, try_desktop_at, Desktop};
use crate::webhooks::free_port;

/// The address HAProxy connects to the nodes from: the one proxy the nodes
/// trust (`server.trusted_proxies`). Clients connect from 127.0.0.1.
const PROXY_SOURCE: &str = "127.0.0.2";

/// The shipped configuration.
const SHIPPED: &str = include_str!("../../../../deploy/haproxy.cfg");

/// Whether a test that needs it must fail rather than skip.
fn required() -> bool {
    std::env::var_os("BACKLINE_TEST_REQUIRE_ROOT").is_some()
}

/// Where `what` is installed; None (skip) or a failure (`required`) when not.
fn installed(what: &str, candidates: &[PathBuf]) -> Option<PathBuf> {
    let found = candidates.iter().find(|path| path.exists()).cloned();
    if found.is_none() {
        assert!(
            !required(),
            "{what} is not installed (apt-get install {what}); BACKLINE_TEST_REQUIRE_ROOT is set"
        );
        eprintln!("HAProxy cluster tests: skipped ({what} is not installed)");
    }
    found
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `deploy/haproxy.cfg` made to run here, unprivileged and in the
/// foreground: no syslog, chroot, user switch or daemon, fewer connections;
/// HTTP on 127.0.0.1:`port` (no TLS, so no redirect to it); the runtime API on
/// `socket`; the example servers replaced by `nodes`, reached from
/// [`PROXY_SOURCE`]; and each response names the node that served it
/// (`x-backline-server`), so that a test knows where a desktop landed.
/// Everything else (time-outs, checks, balancing, forwarding) is shipped.
pub fn local_config(
    shipped: &str,
    port: u16,
    socket: &Path,
    nodes: &[(String, SocketAddr)],
) -> String {
    let mut out = Vec::new();
    let (mut bound, mut servers) = (false, false);
    for line in shipped.lines() {
        let word = line.split_whitespace().next().unwrap_or("");
        match word {
            "log" | "chroot" | "user" | "group" | "daemon" => {}
            // Unprivileged, it cannot raise its open-file limit for 100,000.
            "maxconn" => out.push("    maxconn 4000".into()),
            "bind" if !bound => {
                bound = true;
                out.push(format!("    bind 127.0.0.1:{port}"));
            }
            "bind" => {}
            "stats" if line.contains("socket") => out.push(format!(
                "    stats socket {} mode 600 level admin",
                socket.display()
            )),
            "http-request" if line.contains("redirect") => {}
            "server" if !servers => {
                servers = true;
                out.push(format!("    source {PROXY_SOURCE}"));
                out.push("    http-response set-header x-backline-server %s".into());
                for (name, addr) in nodes {
                    out.push(format!("    server {name} {addr}"));
                }
            }
            "server" => {}
            _ => out.push(line.to_owned()),
        }
    }
    assert!(
        bound && servers,
        "deploy/haproxy.cfg has no bind or server lines"
    );
    out.join("\n") + "\n"
}

/// A private `haproxy -db` (foreground), killed on drop.
pub struct Haproxy {
    child: Child,
    pub addr: SocketAddr,
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Haproxy {
    async fn start(binary: &Path, nodes: &[(String, SocketAddr)]) -> Haproxy {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let socket = dir.path().join("admin.sock");
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(&cfg, local_config(SHIPPED, port, &socket, nodes)).unwrap();
        let log = std::fs::File::create(dir.path().join("haproxy.log")).unwrap();
        let check = Command::new(binary)
            .args(["-c", "-q", "-f"])
            .arg(&cfg)
            .output()
            .expect("run haproxy -c");
        assert!(
            check.status.success(),
            "haproxy refuses the configuration: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = Command::new(binary)
            .arg("-f")
            .arg(&cfg)
            .arg("-db")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start haproxy");
        let haproxy = Haproxy {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            socket,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(haproxy.addr).await.is_err()
            || !haproxy.socket.exists()
        {
            assert!(
                Instant::now() < deadline,
                "haproxy did not listen: {}",
                haproxy.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for (name, _) in nodes {
            haproxy
                .wait_status(name, "UP", Duration::from_secs(10))
                .await;
        }
        haproxy
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
    }

    /// One command on the runtime API (`stats socket`); its answer.
    pub fn runtime(&self, command: &str) -> String {
        use std::io::{Read, Write};
        let mut stream =
            std::os::unix::net::UnixStream::connect(&self.socket).expect("runtime API");
        stream.write_all(format!("{command}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    /// Each node's state as HAProxy sees it (`UP`, `DOWN`, `DRAIN`, …).
    pub fn statuses(&self) -> HashMap<String, String> {
        let stat = self.runtime("show stat");
        let mut lines = stat.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or_default()
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let column = |name: &str| header.iter().position(|c| *c == name).expect("stat column");
        let (proxy, server, status) = (column("pxname"), column("svname"), column("status"));
        lines
            .map(|line| line.split(',').collect::<Vec<_>>())
            .filter(|f| f.len() > status && f[proxy] == "backline_nodes" && f[server] != "BACKEND")
            .map(|f| (f[server].to_owned(), f[status].to_owned()))
            .collect()
    }

    /// Waits until HAProxy reports `node` in a state starting with `state`.
    pub async fn wait_status(&self, node: &str, state: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let now = self.statuses().get(node).cloned().unwrap_or_default();
            if now.starts_with(state) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "HAProxy never saw {node} {state} (now {now:?})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three nodes (`node-a`, `node-b`, `node-c`) behind a private HAProxy.
pub struct Cluster {
    /// The running nodes; a killed or stopped node is taken out (None).
    pub nodes: Vec<Option<Server>>,
    pub ids: Vec<String>,
    pub haproxy: Haproxy,
    pub http: reqwest::Client,
    /// HAProxy's URL: the only way in.
    pub base: String,
    admin: String,
    _dirs: Vec<tempfile::TempDir>,
}

/// A signed-in account of the cluster.
#[derive(Clone, Debug)]
pub struct Member {
    pub name: String,
    pub id: String,
    pub token: String,
}

fn haproxy_binary() -> Option<PathBuf> {
    installed(
        "haproxy",
        &["/usr/sbin/haproxy".into(), "/usr/bin/haproxy".into()],
    )
}

/// A cluster on a fresh database of the shared test PostgreSQL and the
/// shared NATS; None (skipped) when they are not configured.
pub async fn cluster() -> Option<Cluster> {
    let haproxy = haproxy_binary()?;
    let Ok(nats) = std::env::var("BACKLINE_TEST_NATS_URL") else {
        eprintln!("HAProxy cluster tests: skipped (BACKLINE_TEST_NATS_URL is not set)");
        return None;
    };
    let admin = backline_store::testing::postgres_url("HAProxy cluster tests")?;
    let url = backline_store::testing::fresh_postgres_database(&admin)
        .await
        .expect("fresh database");
    Some(Cluster::start(&haproxy, &url, &nats).await)
}

impl Cluster {
    async fn start(haproxy: &Path, database_url: &str, nats: &str) -> Cluster {
        let prefix = format!("backline-test-{}", uuid::Uuid::now_v7().simple());
        let (mut nodes, mut ids, mut dirs, mut addrs) = (vec![], vec![], vec![], vec![]);
        for n in 0..3u8 {
            let id = format!("node-{}", (b'a' + n) as char);
            let dir = tempfile::tempdir().unwrap();
            let config = dir.path().join("node.toml");
            std::fs::write(
                &config,
                format!(
                    "[server]\nshutdown_grace_secs = 5\ntrusted_proxies = [\"{PROXY_SOURCE}\"]\n\
                     [database]\nurl = \"{database_url}\"\n\
                     [bus]\nnats_url = \"{nats}\"\nsubject_prefix = \"{prefix}\"\nnode_id = \"{id}\"\n\
                     [auth]\naddress_failures_before_backoff = 3\n"
                ),
            )
            .unwrap();
            let args = ["--config", config.to_str().unwrap()];
            // The first node loads the demo organisation (its administrator
            // creates the tests' accounts); the others find it in the database.
            let command = if n == 0 {
                binary::command(dir.path(), &args)
            } else {
                binary::serve_command(dir.path(), &args)
            };
            let node = binary::start_command(command);
            addrs.push((id.clone(), node.addr()));
            nodes.push(Some(node));
            ids.push(id);
            dirs.push(dir);
        }
        let haproxy = Haproxy::start(haproxy, &addrs).await;
        let http = reqwest::Client::new();
        let base = format!("http://{}", haproxy.addr);
        let (admin, _) = binary::sign_in(&http, &base, "admin").await;
        Cluster {
            nodes,
            ids,
            haproxy,
            http,
            base,
            admin,
            _dirs: dirs,
        }
    }

    /// The index of node `id`.
    pub fn index(&self, id: &str) -> usize {
        self.ids
            .iter()
            .position(|n| n == id)
            .expect("a node of the cluster")
    }

    /// A node's own address (not through HAProxy), for `/readyz`.
    pub fn node_url(&self, n: usize, path: &str) -> String {
        format!(
            "{}{path}",
            self.nodes[n].as_ref().expect("a running node").base
        )
    }

    /// An agent created by the administrator and signed in, through HAProxy.
    pub async fn member(&self, name: &str) -> Member {
        let created = self
            .http
            .post(format!("{}/api/v1/admin/users", self.base))
            .bearer_auth(&self.admin)
            .json(
                &json!({"username": name, "display_name": name, "password": "backline",
                          "roles": ["agent"], "im_permitted": true}),
            )
            .send()
            .await
            .unwrap();
        assert!(
            created.status().is_success(),
            "create {name}: {}",
            created.text().await.unwrap()
        );
        let (token, id) = binary::sign_in(&self.http, &self.base, name).await;
        Member {
            name: name.into(),
            id,
            token,
        }
    }

    /// A connected session between two members; its id.
    pub async fn session(&self, a: &Member, b: &Member) -> String {
        binary::connected_session(&self.http, &self.base, &a.token, &b.token, &b.id).await
    }

    /// A desktop through HAProxy.
    pub async fn desktop(&self, member: &Member) -> Desktop {
        let desktop = desktop_at(self.haproxy.addr, &member.token, None).await;
        assert!(desktop.served_by.is_some(), "HAProxy names the node");
        desktop
    }

    /// Resumes through HAProxy (see [`resume_at`]).
    pub async fn resume(
        &self,
        member: &Member,
        last_seq: u64,
        within: Duration,
    ) -> (Desktop, Duration) {
        resume_at(self.haproxy.addr, member, last_seq, within).await
    }

    /// `count` members with desktops, in pairs whose two desktops are on
    /// different nodes, each pair in a connected session.
    pub async fn pairs_across_nodes(&self, count: usize) -> Vec<(Party, Party)> {
        let mut people = Vec::new();
        for n in 0..2 * count {
            let member = self.member(&format!("agent{n}")).await;
            let desktop = self.desktop(&member).await;
            people.push((member, desktop));
        }
        // Sorted by node, the first half pairs with the second: a pair never
        // shares a node while no node holds more than half of the desktops.
        people.sort_by(|a, b| a.1.served_by.cmp(&b.1.served_by));
        let second = people.split_off(count);
        let mut pairs = Vec::new();
        for ((a, da), (b, db)) in people.into_iter().zip(second) {
            assert_ne!(
                da.served_by, db.served_by,
                "HAProxy put more than half the desktops on one node"
            );
            let session = self.session(&a, &b).await;
            pairs.push((
                Party {
                    member: a,
                    desktop: da,
                    session: session.clone(),
                },
                Party {
                    member: b,
                    desktop: db,
                    session,
                },
            ));
        }
        pairs
    }
}

/// Resumes at `addr` after `last_seq`, trying again until `within` passed
/// (HAProxy may still send an attempt to a node it has not yet seen go); the
/// desktop and how long it took.
pub async fn resume_at(
    addr: SocketAddr,
    member: &Member,
    last_seq: u64,
    within: Duration,
) -> (Desktop, Duration) {
    let started = Instant::now();
    loop {
        match try_desktop_at(addr, &member.token, Some(last_seq)).await {
            Ok(desktop) => return (desktop, started.elapsed()),
            Err(error) => assert!(
                started.elapsed() < within,
                "{} could not resume through HAProxy within {within:?}: {error}",
                member.name
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A member with a desktop and the session they write to.
pub struct Party {
    pub member: Member,
    pub desktop: Desktop,
    pub session: String,
}

fn send_frame(session: &str, from: &str, i: usize) -> Value {
    json!({"type": "send", "rid": i.to_string(), "session_id": session,
           "client_msg_id": format!("{from}-{i}"), "text": format!("{from} #{i}")})
}

/// The request id of an answer, as the number `send_frame` gave it.
fn rid(frame: &Value) -> Option<usize> {
    frame["rid"].as_str()?.parse().ok()
}

/// The number `i` of a message text `"{from} #{i}"` sent by `from`.
fn message_from(frame: &Value, from: &str) -> Option<usize> {
    if frame["type"] != "event" || frame["event"]["entry"]["kind"] != "message" {
        return None;
    }
    let text = frame["event"]["entry"]["text"].as_str()?;
    text.strip_prefix(&format!("{from} #"))?.parse().ok()
}

/// Partners on different nodes, both sending at once through HAProxy: every
/// message is acknowledged, and delivered to the partner once and in order.
#[tokio::test]
async fn two_way_traffic_through_haproxy_is_delivered_once_in_order() {
    let Some(cluster) = cluster().await else {
        return;
    };
    const SENDS: usize = 40;
    let mut tasks = Vec::new();
    for (a, b) in cluster.pairs_across_nodes(6).await {
        let session = a.session.clone();
        for (mut me, name, partner) in [
            (a.desktop, a.member.name.clone(), b.member.name.clone()),
            (b.desktop, b.member.name, a.member.name),
        ] {
            let session = session.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..SENDS {
                    me.send(send_frame(&session, &name, i)).await;
                }
                let (mut acked, mut received, mut refused) = (0, Vec::new(), Vec::new());
                let deadline = Instant::now() + Duration::from_secs(20);
                while acked + refused.len() < SENDS || received.len() < SENDS {
                    let Some(frame) = me
                        .try_next(deadline.saturating_duration_since(Instant::now()))
                        .await
                    else {
                        break;
                    };
                    match frame["type"].as_str() {
                        Some("ack") => acked += 1,
                        Some("error") => refused.push(frame),
                        _ => received.extend(message_from(&frame, &partner)),
                    }
                }
                (name, acked, received, refused)
            }));
        }
    }
    for task in tasks {
        let (name, acked, received, refused) = task.await.unwrap();
        assert!(refused.is_empty(), "{name}: sends refused: {refused:?}");
        assert_eq!(acked, SENDS, "{name}: every send acknowledged");
        assert_eq!(
            received,
            (0..SENDS).collect::<Vec<_>>(),
            "{name}: the partner's messages, each once, in order"
        );
    }
}

/// What one desktop saw while it sent, one message at a time, until `stop`.
struct Steady {
    name: String,
    /// Numbers of its acknowledged messages.
    acked: Vec<usize>,
    refused: Vec<Value>,
    /// How long each resume through HAProxy took, from the lost socket to `welcome`.
    resumes: Vec<(Option<String>, Duration)>,
    /// Event seqs that did not follow the one before (a gap or a repeat).
    seq_breaks: Vec<(u64, u64)>,
}

/// Sends messages one at a time (each waits for its answer) until `stop`;
/// when the socket is lost, resumes through HAProxy after the last seq seen
/// and sends the unanswered message again (same `client_msg_id`).
async fn steady_sender(haproxy: SocketAddr, party: Party, stop: Instant) -> Steady {
    let Party {
        member,
        mut desktop,
        session,
    } = party;
    let mut seen = desktop.last_seq;
    let mut out = Steady {
        name: member.name.clone(),
        acked: Vec::new(),
        refused: Vec::new(),
        resumes: Vec::new(),
        seq_breaks: Vec::new(),
    };
    let mut i = 0;
    'messages: while Instant::now() < stop {
        desktop.send(send_frame(&session, &member.name, i)).await;
        loop {
            let Some(frame) = desktop.try_next(Duration::from_secs(2)).await else {
                // Lost (or silent for 2 s): resume elsewhere, send `i` again.
                let (again, took) = resume_at(haproxy, &member, seen, Duration::from_secs(5)).await;
                out.resumes.push((again.served_by.clone(), took));
                desktop = again;
                continue 'messages;
            };
            if frame["type"] == "event" {
                let seq = frame["seq"].as_u64().unwrap();
                if seq != seen + 1 {
                    out.seq_breaks.push((seen, seq));
                }
                seen = seq;
            } else if rid(&frame) == Some(i) {
                match frame["type"].as_str() {
                    Some("ack") => out.acked.push(i),
                    _ => out.refused.push(frame),
                }
                i += 1;
                continue 'messages;
            }
        }
    }
    out
}

/// Every acknowledged message of `runs` is in its session's transcript
/// (read through HAProxy), and each transcript's seqs have no gap.
async fn assert_transcripts_hold(
    cluster: &Cluster,
    sessions: &[(String, Member)],
    runs: &[Steady],
) {
    let mut stored = HashMap::new();
    for (session, member) in sessions {
        let (ids, gapless) =
            binary::transcript(&cluster.http, &cluster.base, &member.token, session).await;
        assert!(gapless, "the transcript of {session} has a gap");
        stored.extend(ids);
    }
    for run in runs {
        for i in &run.acked {
            let id = format!("{}-{i}", run.name);
            assert!(
                stored.contains_key(&id),
                "{id} was acknowledged but is not stored"
            );
        }
    }
}

/// Under steady two-way load a node is killed (`kill -9`): its desktops
/// lose their sockets, resume through HAProxy on the others within 5 s with
/// no gap in their streams, and nothing acknowledged is lost.
#[tokio::test]
async fn a_killed_node_loses_nothing_and_its_desktops_resume_through_haproxy() {
    let Some(mut cluster) = cluster().await else {
        return;
    };
    let pairs = cluster.pairs_across_nodes(6).await;
    let victim = pairs[0].0.desktop.served_by.clone().unwrap();
    let on_victim = pairs
        .iter()
        .flat_map(|(a, b)| [a, b])
        .filter(|p| p.desktop.served_by.as_deref() == Some(victim.as_str()))
        .count();
    let sessions: Vec<(String, Member)> = pairs
        .iter()
        .map(|(a, _)| (a.session.clone(), a.member.clone()))
        .collect();
    let stop = Instant::now() + Duration::from_secs(4);
    let tasks: Vec<_> = pairs
        .into_iter()
        .flat_map(|(a, b)| [a, b])
        .map(|party| tokio::spawn(steady_sender(cluster.haproxy.addr, party, stop)))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let n = cluster.index(&victim);
    cluster.nodes[n].take().unwrap().kill();
    let mut runs = Vec::new();
    for task in tasks {
        runs.push(task.await.unwrap());
    }
    cluster
        .haproxy
        .wait_status(&victim, "DOWN", Duration::from_secs(5))
        .await;

    let resumed: Vec<_> = runs.iter().filter(|r| !r.resumes.is_empty()).collect();
    assert_eq!(
        resumed.len(),
        on_victim,
        "exactly the killed node's desktops resumed"
    );
    for run in &runs {
        assert!(
            run.refused.is_empty(),
            "{}: sends refused: {:?}",
            run.name,
            run.refused
        );
        assert!(
            run.seq_breaks.is_empty(),
            "{}: stream gaps {:?}",
            run.name,
            run.seq_breaks
        );
        assert!(
            !run.acked.is_empty(),
            "{}: no message acknowledged",
            run.name
        );
        for (node, took) in &run.resumes {
            assert_ne!(
                node.as_deref(),
                Some(victim.as_str()),
                "{} resumed on the dead node",
                run.name
            );
            assert!(
                *took <= Duration::from_secs(5),
                "{} took {took:?} to resume",
                run.name
            );
        }
    }
    assert_transcripts_hold(&cluster, &sessions, &runs).await;
}

/// Asks `desktop` to watch `watched` and waits until it has seen each online.
async fn watch(mut desktop: Desktop, watched: &[Member]) -> Desktop {
    let ids: Vec<&str> = watched.iter().map(|m| m.id.as_str()).collect();
    desktop
        .send(json!({"type": "watch", "user_ids": ids}))
        .await;
    let mut online = std::collections::HashSet::new();
    while online.len() < watched.len() {
        let frame = desktop
            .until("a watched user online", |f| {
                f["type"] == "presence" && f["status"] != "offline"
            })
            .await;
        online.insert(frame["user_id"].as_str().unwrap().to_owned());
    }
    desktop
}

/// A desktop of `member` through HAProxy on another node than `not_on`.
async fn desktop_off(cluster: &Cluster, member: &Member, not_on: &str) -> Desktop {
    for _ in 0..10 {
        let desktop = cluster.desktop(member).await;
        if desktop.served_by.as_deref() != Some(not_on) {
            return desktop;
        }
    }
    panic!("HAProxy keeps choosing {not_on}");
}

/// The desktops of `members` through HAProxy, and the node of each.
async fn desktops(cluster: &Cluster, members: &[Member]) -> Vec<Desktop> {
    let mut out = Vec::new();
    for member in members {
        out.push(cluster.desktop(member).await);
    }
    out
}

/// A node is drained as docs/deploy.md says (`set server … state drain` on
/// HAProxy's runtime API, then SIGTERM): its desktops are closed with 1001,
/// resume on the other nodes through HAProxy, and their watchers never see
/// them offline. The node exits by itself within its grace.
#[tokio::test]
async fn a_drained_node_closes_with_1001_and_no_one_is_seen_offline() {
    let Some(mut cluster) = cluster().await else {
        return;
    };
    let mut members = Vec::new();
    for n in 0..6 {
        members.push(cluster.member(&format!("mover{n}")).await);
    }
    let mut desks = desktops(&cluster, &members).await;
    let drained = desks[0].served_by.clone().unwrap();
    let watcher = cluster.member("watcher").await;
    let desktop = desktop_off(&cluster, &watcher, &drained).await;
    let mut watcher_desktop = watch(desktop, &members).await;
    let movers: Vec<usize> = (0..members.len())
        .filter(|&n| desks[n].served_by.as_deref() == Some(drained.as_str()))
        .collect();
    // The drained node has announced its desktops in a heartbeat by now.
    tokio::time::sleep(backline_service::hub::HEARTBEAT_INTERVAL * 2).await;

    let answer = cluster
        .haproxy
        .runtime(&format!("set server backline_nodes/{drained} state drain"));
    assert!(answer.trim().is_empty(), "runtime API: {answer}");
    cluster
        .haproxy
        .wait_status(&drained, "DRAIN", Duration::from_secs(2))
        .await;
    let n = cluster.index(&drained);
    cluster.nodes[n].as_ref().unwrap().terminate();
    for &m in &movers {
        assert_eq!(
            desks[m].closed_with().await,
            Some(1001),
            "the drained node says it is going away"
        );
        let last = desks[m].last_seq;
        let (again, took) = cluster
            .resume(&members[m], last, Duration::from_secs(2))
            .await;
        assert_ne!(again.served_by.as_deref(), Some(drained.as_str()));
        assert!(took < Duration::from_secs(2));
        desks[m] = again;
    }
    let mut node = cluster.nodes[n].take().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    let exit = loop {
        if let Some(status) = node.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the drained node did not exit within its grace"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "the drained node exits cleanly: {exit}");

    // Past the grace: any offline would have been sent by now.
    let deadline =
        Instant::now() + backline_service::hub::REMOTE_NODE_EXPIRY + Duration::from_secs(2);
    while let Some(frame) = watcher_desktop
        .try_next(deadline.saturating_duration_since(Instant::now()))
        .await
    {
        assert!(
            !(frame["type"] == "presence" && frame["status"] == "offline"),
            "a mover flickered offline: {frame}"
        );
    }
}

/// A node dies with desktops whose users do not come back: their watchers,
/// on another node behind HAProxy, see them offline within 5 s.
#[tokio::test]
async fn a_lost_nodes_users_turn_offline_behind_haproxy() {
    let Some(mut cluster) = cluster().await else {
        return;
    };
    let lost = cluster.member("lost").await;
    let lost_desktop = cluster.desktop(&lost).await;
    let lost_node = lost_desktop.served_by.clone().unwrap();
    let watcher = cluster.member("watcher").await;
    let desktop = desktop_off(&cluster, &watcher, &lost_node).await;
    let mut watcher_desktop = watch(desktop, std::slice::from_ref(&lost)).await;
    let n = cluster.index(&lost_node);
    cluster.nodes[n].take().unwrap().kill();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let frame = watcher_desktop
            .try_next(deadline.saturating_duration_since(Instant::now()))
            .await
            .expect("the watcher sees the lost node's user offline within 5 s");
        if frame["type"] == "presence"
            && frame["user_id"] == lost.id.as_str()
            && frame["status"] == "offline"
        {
            break;
        }
    }
}

/// HAProxy adds the client's address as its own `X-Forwarded-For` line: a
/// client that sends the header itself cannot pick the address that its
/// failed sign-ins count against. Each node makes an address wait after
/// three failures (`auth.address_failures_before_backoff = 3`).
#[tokio::test]
async fn a_forged_forwarded_for_does_not_escape_the_address_limit() {
    let Some(cluster) = cluster().await else {
        return;
    };
    let mut throttled = None;
    for n in 0..12 {
        let response = cluster
            .http
            .post(format!("{}/api/v1/auth/sign-in", cluster.base))
            .header("x-forwarded-for", format!("198.51.100.{}", n + 1))
            .json(&json!({"username": format!("nobody{n}"), "password": "wrong"}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if status == 429 {
            throttled = Some(body);
            break;
        }
        assert_eq!(status, 401, "{body}");
    }
    let body =
        throttled.expect("twelve failed sign-ins from one client over three nodes are throttled");
    assert_eq!(body["code"], "rate_limited", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("from this address"),
        "{body}"
    );
}

/// A PostgreSQL cluster of the test's own (`initdb` in a temporary folder,
/// a free port), so that it can be stopped and started; run as the
/// `postgres` user when the test runs as root. Stopped on drop.
struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    fn start() -> Option<PrivatePostgres> {
        let versions = std::fs::read_dir("/usr/lib/postgresql")
            .map(|dirs| {
                dirs.filter_map(|d| d.ok())
                    .map(|d| d.path().join("bin"))
                    .collect()
            })
            .unwrap_or_else(|_| Vec::new());
        let mut candidates: Vec<PathBuf> = versions
            .into_iter()
            .filter(|bin| bin.join("initdb").exists())
            .collect();
        candidates.sort();
        let initdb = installed(
            "postgresql",
            &candidates
                .iter()
                .rev()
                .map(|b| b.join("initdb"))
                .collect::<Vec<_>>(),
        )?;
        let postgres = PrivatePostgres {
            bin: initdb.parent().unwrap().to_owned(),
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
        };
        if running_as_root() {
            let chown = Command::new("chown")
                .arg("postgres:")
                .arg(postgres.dir.path())
                .status()
                .unwrap();
            assert!(chown.success(), "chown the PostgreSQL folder");
        }
        let data = postgres.dir.path().join("data");
        postgres.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        postgres.pg_ctl(&["start"]);
        Some(postgres)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// One of PostgreSQL's programs, as the `postgres` user when root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .output()
            .expect("run a PostgreSQL program");
        assert!(
            output.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `pg_ctl -w` with `action` (and for start, the port and socket folder).
    fn pg_ctl(&self, action: &[&str]) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let mut args = vec![
            "-D",
            data.to_str().unwrap(),
            "-l",
            log.to_str().unwrap(),
            "-w",
            "-o",
            &options,
        ];
        args.extend_from_slice(action);
        self.run("pg_ctl", &args);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The status of `GET url` (0 when it does not answer).
async fn status_of(http: &reqwest::Client, url: &str) -> u16 {
    match http.get(url).timeout(Duration::from_secs(2)).send().await {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

/// Polls `url` on every running node until each answers `want`.
async fn every_node_answers(cluster: &Cluster, path: &str, want: u16, within: Duration) {
    let deadline = Instant::now() + within;
    for n in 0..cluster.nodes.len() {
        let url = cluster.node_url(n, path);
        loop {
            let status = status_of(&cluster.http, &url).await;
            if status == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} {path}: {status}, not {want}",
                cluster.ids[n]
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One send on `desktop`; the answer frame (`ack` or `error`).
async fn send_one(desktop: &mut Desktop, session: &str, from: &str, i: usize) -> Value {
    desktop.send(send_frame(session, from, i)).await;
    desktop
        .until("an answer", |f| {
            rid(f) == Some(i) && (f["type"] == "ack" || f["type"] == "error")
        })
        .await
}

/// The database goes away while desktops send through HAProxy (`pg_ctl stop
/// -m fast`, then start, as a restart does, held open long enough to look):
/// sends are refused with `unavailable`, never acknowledged; every node's
/// `/readyz` answers 503 and then 200 again; messaging resumes on the same
/// sockets, and nothing acknowledged is lost.
#[tokio::test]
async fn a_postgres_restart_refuses_sends_then_messaging_resumes() {
    let Some(haproxy) = haproxy_binary() else {
        return;
    };
    let Ok(nats) = std::env::var("BACKLINE_TEST_NATS_URL") else {
        eprintln!("HAProxy cluster tests: skipped (BACKLINE_TEST_NATS_URL is not set)");
        return;
    };
    let Some(postgres) = PrivatePostgres::start() else {
        return;
    };
    let cluster = Cluster::start(&haproxy, &postgres.url(), &nats).await;
    let (mut a, b) = cluster.pairs_across_nodes(1).await.pop().unwrap();
    let name = a.member.name.clone();
    for i in 0..5 {
        let answer = send_one(&mut a.desktop, &a.session, &name, i).await;
        assert_eq!(answer["type"], "ack", "{answer}");
    }

    postgres.pg_ctl(&["-m", "fast", "stop"]);
    every_node_answers(&cluster, "/readyz", 503, Duration::from_secs(5)).await;
    let mut refused = Vec::new();
    for i in 5..10 {
        let answer = send_one(&mut a.desktop, &a.session, &name, i).await;
        assert_eq!(
            answer["type"], "error",
            "acknowledged without a database: {answer}"
        );
        assert_eq!(answer["code"], "unavailable", "{answer}");
        refused.push(format!("{name}-{i}"));
    }

    postgres.pg_ctl(&["start"]);
    every_node_answers(&cluster, "/readyz", 200, Duration::from_secs(15)).await;
    cluster
        .haproxy
        .wait_status(
            &a.desktop.served_by.clone().unwrap(),
            "UP",
            Duration::from_secs(10),
        )
        .await;
    let mut acked: Vec<String> = (0..5).map(|i| format!("{name}-{i}")).collect();
    let mut b_desktop = b.desktop;
    for i in 10..15 {
        let answer = send_one(&mut a.desktop, &a.session, &name, i).await;
        assert_eq!(
            answer["type"], "ack",
            "messaging resumes after the restart: {answer}"
        );
        acked.push(format!("{name}-{i}"));
    }
    let last = b_desktop
        .until("the last message on the partner's node", |f| {
            message_from(f, &name) == Some(14)
        })
        .await;
    assert_eq!(last["event"]["entry"]["text"], format!("{name} #14"));

    let (stored, gapless) =
        binary::transcript(&cluster.http, &cluster.base, &a.member.token, &a.session).await;
    assert!(gapless, "the transcript has no gap");
    for id in &acked {
        assert!(
            stored.contains_key(id),
            "{id} was acknowledged but is not stored"
        );
    }
    for id in &refused {
        assert!(!stored.contains_key(id), "{id} was refused but is stored");
    }
}
