//! `backline-bench`: the load tool of Backline. It drives the real protocol
//! against a server on this machine (loopback only):
//!
//! 1. setup, untimed: bench accounts `bench-0 … bench-N-1` are created through
//!    the admin REST API if missing and signed in with their password; the
//!    tokens are cached on disk so that re-runs skip the argon2id sign-ins;
//! 2. sign-in, timed: N WebSockets open and authenticate with those existing
//!    tokens (`hello` → `welcome`), with bounded concurrency, while the
//!    server's RSS is read before and after;
//! 3. pairs, untimed: agent 2k invites agent 2k+1 over REST, who accepts;
//! 4. load: an open-loop aggregate send rate over the pairs' sockets
//!    (`send` → `ack` to the sender, `event` to the receiver), one fixed rate
//!    (`run`) or rising steps until p99 or loss fails (`ramp`).
//!
//! Every wait is bounded; the tool stops by itself. See `docs/benchmarks.md`.

mod conn;
mod load;
mod report;
mod server_metrics;
mod setup;
mod sys;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail};
use clap::{Args, Parser, Subcommand};
use tokio::sync::mpsc;

use crate::load::{Latency, PhaseReport, PhaseSpec, Tracker};
use crate::report::{CpuPart, CpuReport, RampReport, Report, RssReport, SignInReport};
use crate::setup::{Api, SetupOptions};

#[derive(Parser)]
#[command(
    name = "backline-bench",
    version,
    about = "Load tool that drives Backline's real WebSocket protocol"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Only the untimed setup: create the bench accounts and fill the token
    /// cache, then exit. Restart the server afterwards for a clean RSS baseline.
    Setup {
        #[command(flatten)]
        common: Common,
    },
    /// One fixed open-loop rate for a fixed time.
    Run {
        #[command(flatten)]
        common: Common,
        /// Aggregate messages per second over all pairs.
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        /// Seconds of load.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
    },
    /// Raise the rate step by step until p99 exceeds the limit or a message is
    /// lost or refused; report the highest sustained rate.
    Ramp {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value_t = 500.0)]
        start_rate: f64,
        #[arg(long, default_value_t = 500.0)]
        step: f64,
        /// Seconds per step.
        #[arg(long, default_value_t = 5.0)]
        step_duration: f64,
        /// Stop when p99 end-to-end latency of a step exceeds this.
        #[arg(long, default_value_t = 50.0)]
        max_p99_ms: f64,
        /// Never go above this rate.
        #[arg(long, default_value_t = 200_000.0)]
        max_rate: f64,
        /// Never run more steps than this.
        #[arg(long, default_value_t = 100)]
        max_steps: usize,
    },
}

#[derive(Args, Clone)]
struct Common {
    /// The server, on this machine only (http://127.0.0.1:PORT).
    #[arg(
        long,
        env = "BACKLINE_BENCH_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    url: String,
    /// Where the agents' WebSockets connect, when not to --url (setup and
    /// sessions always use --url): repeat it to spread the agents, agent i
    /// on the (i mod count)-th. With one URL per node of a cluster and an
    /// odd count, agents 2k and 2k+1 (a pair) are always on different nodes.
    #[arg(long = "connect-url")]
    connect_urls: Vec<String>,
    /// Agents that sign in and connect (N).
    #[arg(long, default_value_t = 200)]
    agents: usize,
    /// Pairs exchanging messages (M ≤ N/2).
    #[arg(long, default_value_t = 100)]
    pairs: usize,
    /// The server's pid, for its RSS. Default: the process listening on the URL's port.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Do not look for the server's pid (RSS: n/a).
    #[arg(long)]
    no_rss: bool,
    /// A database server's pid (PostgreSQL's postmaster): its CPU time and
    /// its descendants' (the backends) are counted with the server's.
    #[arg(long)]
    db_pid: Option<u32>,
    #[arg(long, env = "BACKLINE_BENCH_ADMIN_USER", default_value = "admin")]
    admin_user: String,
    #[arg(
        long,
        env = "BACKLINE_BENCH_ADMIN_PASSWORD",
        default_value = "backline"
    )]
    admin_password: String,
    /// Password of the bench accounts.
    #[arg(long, default_value = "bench-password")]
    agent_password: String,
    /// Username prefix of the bench accounts.
    #[arg(long, default_value = "bench-")]
    prefix: String,
    /// Token cache, keyed by server URL and username.
    #[arg(long, default_value = "target/bench-tokens.json")]
    token_cache: PathBuf,
    /// Concurrent password hashes during setup (user creation, sign-in).
    #[arg(long, default_value_t = 3)]
    setup_concurrency: usize,
    /// Concurrent cheap REST calls during setup (token checks, sessions).
    #[arg(long, default_value_t = 16)]
    rest_concurrency: usize,
    /// Sockets opening at once during the timed sign-in.
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
    /// Approximate size of each message text.
    #[arg(long, default_value_t = 100)]
    message_bytes: usize,
    /// Seconds of load at the first rate before measuring (0 = none).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Longest wait, in seconds, for acks and deliveries after the last send.
    #[arg(long, default_value_t = 5.0)]
    grace: f64,
    /// Receivers answer each message with a `mark` (delivered), as a desktop
    /// does; the marks are not timed.
    #[arg(long)]
    marks: bool,
    /// Leave the pairs' sessions open instead of ending them.
    #[arg(long)]
    keep_sessions: bool,
    /// The server's `/metrics` (its private listener, e.g.
    /// http://127.0.0.1:9180/metrics): read around each phase for the
    /// server's own send and commit latencies beside the end-to-end ones.
    #[arg(long)]
    metrics_url: Option<String>,
    /// Bearer token for `--metrics-url` (the server's `metrics.token`).
    #[arg(long, env = "BACKLINE_BENCH_METRICS_TOKEN")]
    metrics_token: Option<String>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
}

enum Mode {
    Setup,
    Run { rate: f64, duration: f64 },
    Ramp(RampSpec),
}

struct RampSpec {
    start_rate: f64,
    step: f64,
    step_duration: f64,
    max_p99_ms: f64,
    max_rate: f64,
    max_steps: usize,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (common, mode) = match cli.command {
        Command::Setup { common } => (common, Mode::Setup),
        Command::Run {
            common,
            rate,
            duration,
        } => (common, Mode::Run { rate, duration }),
        Command::Ramp {
            common,
            start_rate,
            step,
            step_duration,
            max_p99_ms,
            max_rate,
            max_steps,
        } => (
            common,
            Mode::Ramp(RampSpec {
                start_rate,
                step,
                step_duration,
                max_p99_ms,
                max_rate,
                max_steps,
            }),
        ),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if matches!(mode, Mode::Setup) {
        let summary = runtime.block_on(setup_only(&common))?;
        if common.json {
            println!("{}", serde_json::to_string(&summary)?);
        } else {
            println!(
                "setup: {} agents ready ({} accounts created, {} password sign-ins, {} tokens from cache) in {:.1} s; tokens in {}",
                common.agents,
                summary.users_created,
                summary.password_sign_ins,
                summary.tokens_from_cache,
                summary.secs,
                common.token_cache.display()
            );
        }
        return Ok(());
    }
    let report = runtime.block_on(bench(common.clone(), mode))?;
    if common.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    // Tasks still blocked on a socket must not hold the process.
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// Refuses anything but a loopback target.
fn check_url(url: &str) -> anyhow::Result<u16> {
    let parsed = reqwest::Url::parse(url).map_err(|e| anyhow!("--url {url:?}: {e}"))?;
    if parsed.scheme() != "http" {
        bail!("--url must be http:// (the bench speaks no TLS)");
    }
    let host = parsed.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("--url {url}: only loopback targets (127.0.0.0/8, ::1, localhost) are allowed");
    }
    parsed
        .port_or_known_default()
        .ok_or_else(|| anyhow!("--url {url}: no port"))
}

fn validate(common: &Common, mode: &Mode) -> anyhow::Result<()> {
    if common.agents == 0 || common.pairs == 0 {
        bail!("--agents and --pairs must be at least 1");
    }
    if !matches!(mode, Mode::Setup) && common.pairs * 2 > common.agents {
        bail!(
            "--pairs {} needs at least {} agents",
            common.pairs,
            common.pairs * 2
        );
    }
    let positive = |name: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(anyhow!("{name} must be a positive number"))
        }
    };
    positive("--grace", common.grace.max(0.001))?;
    match mode {
        Mode::Setup => {}
        Mode::Run { rate, duration } => {
            positive("--rate", *rate)?;
            positive("--duration", *duration)?;
            if rate * duration > 50_000_000.0 {
                bail!("--rate × --duration is over 50 million messages; shorten the run");
            }
        }
        Mode::Ramp(r) => {
            positive("--start-rate", r.start_rate)?;
            positive("--step", r.step)?;
            positive("--step-duration", r.step_duration)?;
            if r.max_rate * r.step_duration > 50_000_000.0 {
                bail!("--max-rate × --step-duration is over 50 million messages per step");
            }
        }
    }
    Ok(())
}

fn setup_options(common: &Common) -> SetupOptions {
    SetupOptions {
        url: common.url.trim_end_matches('/').to_owned(),
        agents: common.agents,
        prefix: common.prefix.clone(),
        agent_password: common.agent_password.clone(),
        admin_user: common.admin_user.clone(),
        admin_password: common.admin_password.clone(),
        token_cache: common.token_cache.clone(),
        hash_concurrency: common.setup_concurrency.max(1),
        rest_concurrency: common.rest_concurrency.max(1),
    }
}

async fn setup_only(common: &Common) -> anyhow::Result<setup::SetupSummary> {
    check_url(&common.url)?;
    validate(common, &Mode::Setup)?;
    let api = Api::new(common.url.trim_end_matches('/'))?;
    Ok(setup::prepare_agents(&api, &setup_options(common)).await?.1)
}

async fn bench(common: Common, mode: Mode) -> anyhow::Result<Report> {
    let port = check_url(&common.url)?;
    validate(&common, &mode)?;
    sys::ensure_own_nofile(common.agents as u64 + 256)?;
    let url = common.url.trim_end_matches('/').to_owned();
    let connect_urls = if common.connect_urls.is_empty() {
        vec![url.clone()]
    } else {
        common.connect_urls.clone()
    };
    let mut ws_urls = Vec::new();
    for connect in &connect_urls {
        check_url(connect)?;
        ws_urls.push(conn::ws_url(connect)?);
    }

    let server_pid = if common.no_rss {
        None
    } else {
        common.server_pid.or_else(|| sys::pid_listening_on(port))
    };
    if let Some(pid) = server_pid {
        if let Some((soft, _)) = sys::nofile_limits(pid) {
            if soft < common.agents as u64 + 64 {
                eprintln!(
                    "warning: the server (pid {pid}) may open only {soft} files; {} sockets will not fit",
                    common.agents
                );
            }
        }
    }

    // 1. Setup (untimed).
    let api = Api::new(&url)?;
    let (agents, setup) = setup::prepare_agents(&api, &setup_options(&common)).await?;

    // 2. Sign-in storm (timed), RSS around it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = server_pid.and_then(sys::rss_kib);
    let tracker = Arc::new(Tracker::new());
    tracker
        .marks
        .store(common.marks, std::sync::atomic::Ordering::Relaxed);
    eprintln!("sign-in: opening {} sockets …", agents.len());
    let storm = conn::sign_in_storm(&ws_urls, &agents, common.connect_concurrency, &tracker).await;
    let connected = storm.conns.iter().filter(|c| c.is_some()).count();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = server_pid.and_then(sys::rss_kib);
    let sign_in = SignInReport {
        connected,
        failures: storm.failures.clone(),
        concurrency: common.connect_concurrency,
        total_secs: (storm.total.as_secs_f64() * 1000.0).round() / 1000.0,
        per_connection: Latency::from_histogram(&storm.per_conn_us, 1000.0),
    };
    eprintln!(
        "sign-in: {connected} connected in {:.3} s",
        storm.total.as_secs_f64()
    );

    // 3. Pairs (untimed). Every pair needs both sockets.
    let mut conns = storm.conns;
    if let Some(k) =
        (0..common.pairs).find(|k| conns[2 * k].is_none() || conns[2 * k + 1].is_none())
    {
        conn::close_all(conns, &tracker.closing).await;
        bail!(
            "pair {k} has an agent whose sign-in failed ({connected} of {} connected; failures {:?})",
            agents.len(),
            sign_in.failures
        );
    }
    let senders: Vec<mpsc::UnboundedSender<_>> = conns
        .iter()
        .map(|c| match c {
            Some(c) => c.tx.clone(),
            None => mpsc::unbounded_channel().0,
        })
        .collect();
    let pairs = match setup::open_pairs(&api, &agents, common.pairs, common.rest_concurrency.max(1))
        .await
    {
        Ok(p) => p,
        Err(e) => {
            conn::close_all(std::mem::take(&mut conns), &tracker.closing).await;
            return Err(e);
        }
    };
    eprintln!("pairs: {} sessions connected", pairs.len());

    // 4. Load, with the CPU time each phase cost and the server's latencies.
    let metrics = match &common.metrics_url {
        Some(metrics_url) => {
            check_url(metrics_url)?;
            Some(server_metrics::MetricsProbe::new(
                metrics_url.clone(),
                common.metrics_token.clone(),
            )?)
        }
        None => None,
    };
    let cpu = PhaseProbe {
        server_pid,
        db_pid: common.db_pid,
        ticks_per_second: sys::ticks_per_second(),
        metrics,
    };
    let grace = Duration::from_secs_f64(common.grace.max(0.0));
    let first_rate = match &mode {
        Mode::Setup => 0.0,
        Mode::Run { rate, .. } => *rate,
        Mode::Ramp(r) => r.start_rate,
    };
    let warmup = if common.warmup > 0.0 {
        let spec = PhaseSpec {
            label: "warm-up".into(),
            rate: first_rate,
            duration: Duration::from_secs_f64(common.warmup),
            grace,
            message_bytes: common.message_bytes,
        };
        Some(
            cpu.measure(load::run_phase(&tracker, &senders, &pairs, &spec))
                .await,
        )
    } else {
        None
    };
    let mut phases = Vec::new();
    let mut ramp = None;
    match &mode {
        Mode::Setup => {}
        Mode::Run { rate, duration } => {
            let spec = PhaseSpec {
                label: "run".into(),
                rate: *rate,
                duration: Duration::from_secs_f64(*duration),
                grace,
                message_bytes: common.message_bytes,
            };
            eprintln!("load: {rate}/s for {duration} s …");
            phases.push(
                cpu.measure(load::run_phase(&tracker, &senders, &pairs, &spec))
                    .await,
            );
        }
        Mode::Ramp(r) => {
            let mut best: Option<(f64, f64)> = None;
            let mut stop_reason = format!("reached --max-steps {}", r.max_steps);
            for step in 0..r.max_steps {
                let rate = r.start_rate + r.step * step as f64;
                if rate > r.max_rate {
                    stop_reason = format!("reached --max-rate {}", r.max_rate);
                    break;
                }
                let spec = PhaseSpec {
                    label: format!("step {}", step + 1),
                    rate,
                    duration: Duration::from_secs_f64(r.step_duration),
                    grace,
                    message_bytes: common.message_bytes,
                };
                eprintln!("ramp: step {} at {rate}/s …", step + 1);
                let result = cpu
                    .measure(load::run_phase(&tracker, &senders, &pairs, &spec))
                    .await;
                let failure = ramp_failure(&result, r);
                eprintln!(
                    "ramp: step {} sent {:.0}/s delivered {:.0}/s p99 {:.3} ms{}",
                    step + 1,
                    result.achieved_rate,
                    result.delivered_rate,
                    result.latency.p99_ms,
                    failure
                        .as_ref()
                        .map(|f| format!(" — stop: {f}"))
                        .unwrap_or_default()
                );
                phases.push(result);
                match failure {
                    Some(reason) => {
                        stop_reason = format!("at {rate}/s: {reason}");
                        break;
                    }
                    None => {
                        best = Some((phases.last().map(|p| p.delivered_rate).unwrap_or(0.0), rate))
                    }
                }
            }
            ramp = Some(RampReport {
                highest_sustained_rate: best.map(|b| b.0),
                highest_passing_target: best.map(|b| b.1),
                stop_reason,
                max_p99_ms: r.max_p99_ms,
            });
        }
    }
    let rss_after_load = server_pid.and_then(sys::rss_kib);

    // 5. Clean-up, bounded.
    conn::close_all(conns, &tracker.closing).await;
    let sessions_not_ended = if common.keep_sessions {
        0
    } else {
        setup::end_pairs(&api, &agents, &pairs, common.rest_concurrency.max(1)).await
    };

    let per_connection_bytes = match (rss_before, rss_after) {
        (Some(b), Some(a)) if connected > 0 => {
            Some((a as f64 - b as f64) * 1024.0 / connected as f64)
        }
        _ => None,
    };
    let lock = |m: &std::sync::Mutex<std::collections::BTreeMap<String, u64>>| {
        m.lock()
            .map(|g| g.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    };
    Ok(Report {
        mode: match mode {
            Mode::Setup => "setup".into(),
            Mode::Run { .. } => "run".into(),
            Mode::Ramp(_) => "ramp".into(),
        },
        url,
        connect_urls,
        server_pid,
        agents: common.agents,
        pairs: common.pairs,
        message_bytes: common.message_bytes,
        setup,
        sign_in,
        rss: RssReport {
            before_connect_kib: rss_before,
            after_connect_kib: rss_after,
            after_load_kib: rss_after_load,
            per_connection_bytes: per_connection_bytes.map(|b| b.round()),
        },
        warmup,
        phases,
        ramp,
        disconnects: lock(&tracker.disconnects),
        other_errors: lock(&tracker.other_errors),
        unparsed_frames: tracker.unparsed_frames.load(Ordering::Relaxed),
        sessions_not_ended,
    })
}

/// Reads around a phase the CPU time of the server's threads, the database
/// and the tool, and the server's latency histograms.
struct PhaseProbe {
    server_pid: Option<u32>,
    db_pid: Option<u32>,
    ticks_per_second: f64,
    metrics: Option<server_metrics::MetricsProbe>,
}

struct CpuSnapshot {
    server: BTreeMap<String, sys::Ticks>,
    db: Option<sys::Ticks>,
    tool: sys::Ticks,
}

impl PhaseProbe {
    fn snapshot(&self) -> Option<CpuSnapshot> {
        let server = sys::cpu_by_thread(self.server_pid?);
        Some(CpuSnapshot {
            server,
            db: self.db_pid.map(sys::cpu_of_tree),
            tool: sys::own_cpu(),
        })
    }

    async fn measure(&self, phase: impl std::future::Future<Output = PhaseReport>) -> PhaseReport {
        let scraped = match &self.metrics {
            Some(metrics) => metrics.scrape().await,
            None => None,
        };
        let before = self.snapshot();
        let mut report = phase.await;
        if let (Some(before), Some(after)) = (before, self.snapshot()) {
            report.cpu = self.report(&before, &after, report.delivered);
        }
        if let (Some(metrics), Some(before)) = (&self.metrics, scraped) {
            if let Some(after) = metrics.scrape().await {
                report.server_latency = server_metrics::MetricsProbe::between(&before, &after);
            }
        }
        report
    }

    fn report(
        &self,
        before: &CpuSnapshot,
        after: &CpuSnapshot,
        messages: u64,
    ) -> Option<CpuReport> {
        if messages == 0 {
            return None;
        }
        let per_message = |ticks: u64| {
            let us = ticks as f64 * 1e6 / self.ticks_per_second / messages as f64;
            (us * 10.0).round() / 10.0
        };
        let part = |name: String, b: sys::Ticks, a: sys::Ticks| CpuPart {
            name,
            user_us_per_message: per_message(a.user.saturating_sub(b.user)),
            kernel_us_per_message: per_message(a.kernel.saturating_sub(b.kernel)),
        };
        let mut parts = Vec::new();
        for (name, a) in &after.server {
            let b = before.server.get(name).copied().unwrap_or_default();
            let p = part(format!("server: {name}"), b, *a);
            if p.user_us_per_message + p.kernel_us_per_message > 0.0 {
                parts.push(p);
            }
        }
        if let (Some(b), Some(a)) = (before.db, after.db) {
            parts.push(part("database".into(), b, a));
        }
        parts.push(part("load tool".into(), before.tool, after.tool));
        let total: f64 = parts
            .iter()
            .map(|p| p.user_us_per_message + p.kernel_us_per_message)
            .sum();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Some(CpuReport {
            parts,
            total_us_per_message: (total * 10.0).round() / 10.0,
            cores,
            ceiling_msgs_per_sec: if total > 0.0 {
                (cores as f64 * 1e6 / total).round()
            } else {
                0.0
            },
        })
    }
}

/// Why a ramp step does not count as sustained, if it does not.
fn ramp_failure(p: &PhaseReport, r: &RampSpec) -> Option<String> {
    if p.lost > 0 {
        return Some(format!("{} acknowledged messages never delivered", p.lost));
    }
    if p.errors_total() > 0 {
        return Some(format!("sends refused: {:?}", p.errors));
    }
    if p.unanswered > 0 {
        return Some(format!(
            "{} sends neither acknowledged nor refused",
            p.unanswered
        ));
    }
    if p.delivered < p.sent {
        return Some(format!("delivered {} of {}", p.delivered, p.sent));
    }
    if p.latency.p99_ms > r.max_p99_ms {
        return Some(format!(
            "p99 {:.3} ms > {} ms",
            p.latency.p99_ms, r.max_p99_ms
        ));
    }
    if p.achieved_rate < 0.95 * p.target_rate {
        return Some(format!(
            "the load tool sent only {:.0}/s of {:.0}/s (it is saturated)",
            p.achieved_rate, p.target_rate
        ));
    }
    None
}
