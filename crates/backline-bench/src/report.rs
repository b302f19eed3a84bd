//! The report: one serializable object (`--json`) and its human-readable rendering.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::load::{Latency, PhaseReport};
use crate::setup::SetupSummary;

#[derive(Debug, Serialize)]
pub struct Report {
    pub mode: String,
    pub url: String,
    /// Where the WebSockets connected (agent i to the (i mod count)-th).
    pub connect_urls: Vec<String>,
    pub server_pid: Option<u32>,
    pub agents: usize,
    pub pairs: usize,
    pub message_bytes: usize,
    pub setup: SetupSummary,
    pub sign_in: SignInReport,
    pub rss: RssReport,
    pub warmup: Option<PhaseReport>,
    pub phases: Vec<PhaseReport>,
    pub ramp: Option<RampReport>,
    /// Connections the server closed during the run, by close code / reason.
    pub disconnects: BTreeMap<String, u64>,
    /// `error` frames that answered no bench request, by code.
    pub other_errors: BTreeMap<String, u64>,
    pub unparsed_frames: u64,
    pub sessions_not_ended: usize,
}

/// The timed phase: N sockets opened and authenticated with existing tokens.
#[derive(Debug, Serialize)]
pub struct SignInReport {
    pub connected: usize,
    pub failures: BTreeMap<String, u64>,
    pub concurrency: usize,
    pub total_secs: f64,
    pub per_connection: Latency,
}

#[derive(Debug, Serialize)]
pub struct RssReport {
    pub before_connect_kib: Option<u64>,
    pub after_connect_kib: Option<u64>,
    pub after_load_kib: Option<u64>,
    /// (after − before) / connected, in bytes.
    pub per_connection_bytes: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct RampReport {
    /// Delivered messages per second of the last step that passed.
    pub highest_sustained_rate: Option<f64>,
    /// Target rate of that step.
    pub highest_passing_target: Option<f64>,
    pub stop_reason: String,
    pub max_p99_ms: f64,
}

/// Where a phase's CPU time went, per delivered message: what the figures of
/// a phase cost the machine, and the rate its cores could carry at that cost.
#[derive(Debug, Clone, Serialize)]
pub struct CpuReport {
    /// One line per part: the server's threads by name (`server: …`), the
    /// database (`--db-pid` and its descendants) and the load tool.
    pub parts: Vec<CpuPart>,
    /// Everything measured, per delivered message.
    pub total_us_per_message: f64,
    /// The machine's cores.
    pub cores: usize,
    /// `cores` seconds of CPU per second divided by the total cost: the
    /// highest rate these cores could carry if every message cost this much
    /// (an upper bound; it ignores idle time lost to waiting).
    pub ceiling_msgs_per_sec: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CpuPart {
    pub name: String,
    pub user_us_per_message: f64,
    pub kernel_us_per_message: f64,
}

fn kib(v: Option<u64>) -> String {
    v.map(|k| format!("{k} KiB ({:.1} MiB)", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

fn latency_line(l: &Latency) -> String {
    format!(
        "p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms  (n={})",
        l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms, l.count
    )
}

fn phase_text(out: &mut String, p: &PhaseReport) {
    let _ = writeln!(
        out,
        "  [{}] target {:.0}/s for {:.0} s: sent {} ({:.1}/s), acked {}, delivered {}/{} ({:.1}/s)",
        p.label,
        p.target_rate,
        p.duration_secs,
        p.sent,
        p.achieved_rate,
        p.acked,
        p.delivered,
        p.sent,
        p.delivered_rate
    );
    let _ = writeln!(
        out,
        "      lost {}  unanswered {}  errors {}{}  dup acks {}  dup deliveries {}",
        p.lost,
        p.unanswered,
        p.errors_total(),
        if p.errors.is_empty() {
            String::new()
        } else {
            format!(" {:?}", p.errors)
        },
        p.duplicate_acks,
        p.duplicate_deliveries
    );
    let _ = writeln!(out, "      end-to-end  {}", latency_line(&p.latency));
    let _ = writeln!(out, "      ack         {}", latency_line(&p.ack_latency));
    let _ = writeln!(
        out,
        "      scheduler lag max {:.3} ms, grace used {:.2} s",
        p.max_scheduler_lag_ms, p.grace_used_secs
    );
    for server in &p.server_latency {
        let _ = writeln!(
            out,
            "      server, {:<33} p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  (n={}, from {})",
            server.name, server.p50_ms, server.p99_ms, server.p999_ms, server.count, server.metric
        );
    }
    if let Some(cpu) = &p.cpu {
        let _ = writeln!(
            out,
            "      CPU per delivered message: {:.1} µs in all; at that cost {} cores carry at most {:.0} msgs/s",
            cpu.total_us_per_message, cpu.cores, cpu.ceiling_msgs_per_sec
        );
        for part in &cpu.parts {
            let _ = writeln!(
                out,
                "        {:<28} user {:>7.1} µs  kernel {:>7.1} µs",
                part.name, part.user_us_per_message, part.kernel_us_per_message
            );
        }
    }
}

impl Report {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "backline-bench {} against {}", self.mode, self.url);
        if self.connect_urls != [self.url.clone()] {
            let _ = writeln!(out, "sockets through {}", self.connect_urls.join(", "));
        }
        let _ = writeln!(
            out,
            "agents {}, pairs {}, message {} bytes, server pid {}",
            self.agents,
            self.pairs,
            self.message_bytes,
            self.server_pid
                .map(|p| p.to_string())
                .unwrap_or_else(|| "n/a".into())
        );
        let s = &self.setup;
        let _ = writeln!(
            out,
            "setup (untimed): {} accounts created, {} password sign-ins, {} tokens from cache, {:.1} s",
            s.users_created, s.password_sign_ins, s.tokens_from_cache, s.secs
        );
        let si = &self.sign_in;
        let _ = writeln!(
            out,
            "sign-in: {} of {} agents connected + welcomed in {:.3} s (concurrency {}); per connection {}",
            si.connected,
            self.agents,
            si.total_secs,
            si.concurrency,
            latency_line(&si.per_connection)
        );
        if !si.failures.is_empty() {
            let _ = writeln!(out, "  sign-in failures: {:?}", si.failures);
        }
        if self.rss.before_connect_kib.is_none() {
            let _ = writeln!(out, "RSS: n/a");
        } else {
            let _ = writeln!(
                out,
                "RSS: before {}, after {} connections {}, after load {}; per connection {}",
                kib(self.rss.before_connect_kib),
                si.connected,
                kib(self.rss.after_connect_kib),
                kib(self.rss.after_load_kib),
                self.rss
                    .per_connection_bytes
                    .map(|b| format!("{:.0} bytes ({:.2} KiB)", b, b / 1024.0))
                    .unwrap_or_else(|| "n/a".into())
            );
        }
        if let Some(w) = &self.warmup {
            let _ = writeln!(out, "warm-up (not counted):");
            phase_text(&mut out, w);
        }
        let _ = writeln!(out, "load:");
        for p in &self.phases {
            phase_text(&mut out, p);
        }
        if let Some(r) = &self.ramp {
            let _ = writeln!(
                out,
                "ramp: highest sustained rate {} (target {}); stopped: {}",
                r.highest_sustained_rate
                    .map(|v| format!("{v:.0} msgs/s"))
                    .unwrap_or_else(|| "none".into()),
                r.highest_passing_target
                    .map(|v| format!("{v:.0}/s"))
                    .unwrap_or_else(|| "-".into()),
                r.stop_reason
            );
        }
        if !self.disconnects.is_empty() {
            let _ = writeln!(out, "server-side disconnects: {:?}", self.disconnects);
        }
        if !self.other_errors.is_empty() {
            let _ = writeln!(out, "other error frames: {:?}", self.other_errors);
        }
        if self.unparsed_frames > 0 {
            let _ = writeln!(
                out,
                "frames the bench could not parse: {}",
                self.unparsed_frames
            );
        }
        if self.sessions_not_ended > 0 {
            let _ = writeln!(
                out,
                "sessions not ended at clean-up: {}",
                self.sessions_not_ended
            );
        }
        out
    }
}
