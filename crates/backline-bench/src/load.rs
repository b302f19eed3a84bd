//! The open-loop message load: phases of a fixed aggregate rate, the shared
//! [`Tracker`] that every reader task records into, and the per-phase figures.
//!
//! Message `i` of phase `p` goes over pair `i % M`, alternating direction on
//! each round over the pairs. Its `client_msg_id` is `<run>-<p>-<i>` and its
//! `rid` is `<p>-<i>`, so acks, errors and deliveries find their slot without
//! a map. Sends are scheduled from a 1 ms clock and never wait for acks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use backline_protocol::frames::ClientFrame;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::conn::bump;
use crate::setup::Pair;

const SENT: u8 = 1;
const ACKED: u8 = 2;
const ERRORED: u8 = 4;
const DELIVERED: u8 = 8;

fn new_histogram() -> Histogram<u64> {
    // Nanoseconds, 1 µs to 10 min, 3 significant digits.
    Histogram::new_with_bounds(1_000, 600_000_000_000, 3).expect("valid bounds")
}

/// State shared by the scheduler and every connection's reader.
pub struct Tracker {
    start: Instant,
    run_id: String,
    phases: RwLock<Vec<Arc<Phase>>>,
    pub closing: AtomicBool,
    pub disconnects: Mutex<BTreeMap<String, u64>>,
    /// `error` frames without a bench `rid`.
    pub other_errors: Mutex<BTreeMap<String, u64>>,
    pub unparsed_frames: AtomicU64,
    /// Receivers mark each message delivered, as a desktop does (`--marks`).
    pub marks: AtomicBool,
}

impl Tracker {
    pub fn new() -> Tracker {
        let uuid = uuid::Uuid::now_v7().simple().to_string();
        Tracker {
            start: Instant::now(),
            run_id: format!("bn{}", &uuid[20..]),
            phases: RwLock::new(Vec::new()),
            closing: AtomicBool::new(false),
            disconnects: Mutex::new(BTreeMap::new()),
            other_errors: Mutex::new(BTreeMap::new()),
            unparsed_frames: AtomicU64::new(0),
            marks: AtomicBool::new(false),
        }
    }

    /// Monotonic nanoseconds since the tracker was made.
    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn phase(&self, id: usize) -> Option<Arc<Phase>> {
        self.phases
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    fn add_phase(&self, capacity: usize) -> Arc<Phase> {
        let mut phases = self.phases.write().unwrap_or_else(|e| e.into_inner());
        let phase = Arc::new(Phase::new(phases.len(), capacity));
        phases.push(phase.clone());
        phase
    }

    /// `<p>-<i>` → (phase, i).
    fn slot(&self, rid: &str) -> Option<(Arc<Phase>, usize)> {
        let (p, i) = rid.split_once('-')?;
        let phase = self.phase(p.parse().ok()?)?;
        let i: usize = i.parse().ok()?;
        (i < phase.capacity()).then_some((phase, i))
    }

    pub fn on_ack(&self, rid: &str, duplicate: bool, now: u64) {
        let Some((phase, i)) = self.slot(rid) else {
            return;
        };
        if duplicate {
            phase.duplicate_acks.fetch_add(1, Ordering::Relaxed);
        }
        let before = phase.state[i].fetch_or(ACKED, Ordering::AcqRel);
        if before & ACKED == 0 {
            phase.acked.fetch_add(1, Ordering::Relaxed);
            let sent = phase.send_ns[i].load(Ordering::Acquire);
            lock(&phase.ack_latency).saturating_record(now.saturating_sub(sent).max(1_000));
        }
    }

    pub fn on_error(&self, rid: Option<&str>, code: &str) {
        match rid.and_then(|rid| self.slot(rid)) {
            Some((phase, i)) => {
                let before = phase.state[i].fetch_or(ERRORED, Ordering::AcqRel);
                if before & ERRORED == 0 {
                    phase.errored.fetch_add(1, Ordering::Relaxed);
                }
                bump(&phase.errors, code);
            }
            None => bump(&self.other_errors, code),
        }
    }

    /// A receiver saw message `client_msg_id` (`<run>-<p>-<i>`).
    pub fn on_delivery(&self, client_msg_id: &str, now: u64) {
        let Some(rest) = client_msg_id.strip_prefix(self.run_id.as_str()) else {
            return;
        };
        let Some((phase, i)) = rest.strip_prefix('-').and_then(|rid| self.slot(rid)) else {
            return;
        };
        let before = phase.state[i].fetch_or(DELIVERED, Ordering::AcqRel);
        if before & DELIVERED == 0 {
            phase.delivered.fetch_add(1, Ordering::Relaxed);
            let sent = phase.send_ns[i].load(Ordering::Acquire);
            lock(&phase.latency).saturating_record(now.saturating_sub(sent).max(1_000));
        } else {
            phase.duplicate_deliveries.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn count_disconnect(&self, reason: String) {
        bump(&self.disconnects, &reason);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The slots of one phase: a send time and a state per message.
struct Phase {
    id: usize,
    send_ns: Vec<AtomicU64>,
    state: Vec<AtomicU8>,
    acked: AtomicU64,
    errored: AtomicU64,
    delivered: AtomicU64,
    duplicate_acks: AtomicU64,
    duplicate_deliveries: AtomicU64,
    latency: Mutex<Histogram<u64>>,
    ack_latency: Mutex<Histogram<u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Phase {
    fn new(id: usize, capacity: usize) -> Phase {
        Phase {
            id,
            send_ns: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            state: (0..capacity).map(|_| AtomicU8::new(0)).collect(),
            acked: AtomicU64::new(0),
            errored: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            duplicate_acks: AtomicU64::new(0),
            duplicate_deliveries: AtomicU64::new(0),
            latency: Mutex::new(new_histogram()),
            ack_latency: Mutex::new(new_histogram()),
            errors: Mutex::new(BTreeMap::new()),
        }
    }

    fn capacity(&self) -> usize {
        self.state.len()
    }
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    /// From a histogram whose values are in `unit_ns` nanoseconds.
    pub fn from_histogram(h: &Histogram<u64>, unit_ns: f64) -> Latency {
        let ms = |v: u64| (v as f64 * unit_ns / 1e6 * 1000.0).round() / 1000.0;
        if h.is_empty() {
            return Latency {
                count: 0,
                p50_ms: 0.0,
                p99_ms: 0.0,
                p999_ms: 0.0,
                max_ms: 0.0,
                mean_ms: 0.0,
            };
        }
        Latency {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: (h.mean() * unit_ns / 1e6 * 1000.0).round() / 1000.0,
        }
    }
}

/// The figures of one phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub label: String,
    pub target_rate: f64,
    pub duration_secs: f64,
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
    /// Acknowledged but not delivered by the end of the grace period.
    pub lost: u64,
    /// Neither acknowledged nor refused by the end of the grace period.
    pub unanswered: u64,
    /// Refused sends, by error code (e.g. `rate_limited`).
    pub errors: BTreeMap<String, u64>,
    pub duplicate_acks: u64,
    pub duplicate_deliveries: u64,
    /// Sends per second the scheduler achieved.
    pub achieved_rate: f64,
    /// Deliveries per second over the send window.
    pub delivered_rate: f64,
    /// Send → receiver's `event`.
    pub latency: Latency,
    /// Send → sender's `ack`.
    pub ack_latency: Latency,
    /// Worst delay of a send behind its scheduled time (load-tool saturation).
    pub max_scheduler_lag_ms: f64,
    /// Time waited after the last send for answers and deliveries.
    pub grace_used_secs: f64,
    /// Where the CPU time went (when the server's pid is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<crate::report::CpuReport>,
    /// The server's own latencies over the phase (with `--metrics-url`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_latency: Vec<crate::server_metrics::ServerLatency>,
}

impl PhaseReport {
    pub fn errors_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Settings of one phase.
pub struct PhaseSpec {
    pub label: String,
    pub rate: f64,
    pub duration: Duration,
    pub grace: Duration,
    pub message_bytes: usize,
}

/// Runs one open-loop phase over the pairs and waits (at most `grace`) for stragglers.
pub async fn run_phase(
    tracker: &Tracker,
    senders: &[mpsc::UnboundedSender<Message>],
    pairs: &[Pair],
    spec: &PhaseSpec,
) -> PhaseReport {
    let rate = spec.rate.max(0.001);
    let capacity = (rate * spec.duration.as_secs_f64()).ceil() as usize;
    let phase = tracker.add_phase(capacity.max(1));
    let m = pairs.len();
    let filler = "x".repeat(spec.message_bytes.saturating_sub(32).max(1));

    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_millis(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent = 0usize;
    let mut max_lag = Duration::ZERO;
    loop {
        ticks.tick().await;
        let elapsed = started.elapsed();
        if elapsed >= spec.duration || sent >= capacity {
            break;
        }
        let due = (((elapsed.as_secs_f64() * rate).floor() as usize) + 1).min(capacity);
        if sent < due {
            let scheduled = Duration::from_secs_f64(sent as f64 / rate);
            max_lag = max_lag.max(elapsed.saturating_sub(scheduled));
        }
        while sent < due {
            let i = sent;
            let pair = &pairs[i % m];
            let from = if (i / m).is_multiple_of(2) {
                pair.a
            } else {
                pair.b
            };
            let frame = ClientFrame::Send {
                rid: format!("{}-{i}", phase.id),
                session_id: pair.session_id.clone(),
                client_msg_id: format!("{}-{}-{i}", tracker.run_id, phase.id),
                text: format!("bench {} {i} {filler}", phase.id),
            };
            let message = Message::text(serde_json::to_string(&frame).expect("frames serialize"));
            phase.send_ns[i].store(tracker.now_ns(), Ordering::Release);
            phase.state[i].fetch_or(SENT, Ordering::AcqRel);
            // A closed connection shows up as unanswered sends.
            let _ = senders[from].send(message);
            sent += 1;
        }
    }
    let window = started.elapsed().max(Duration::from_millis(1));

    // Grace: until every send is answered and every ack delivered, or the limit.
    let grace_started = Instant::now();
    loop {
        let answered = phase.acked.load(Ordering::Relaxed) + phase.errored.load(Ordering::Relaxed);
        let done = answered >= sent as u64
            && phase.delivered.load(Ordering::Relaxed) >= phase.acked.load(Ordering::Relaxed);
        if done || grace_started.elapsed() >= spec.grace {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let grace_used = grace_started.elapsed();

    let (mut lost, mut unanswered) = (0, 0);
    for state in &phase.state[..sent] {
        let s = state.load(Ordering::Acquire);
        if s & ACKED != 0 && s & DELIVERED == 0 {
            lost += 1;
        }
        if s & (ACKED | ERRORED) == 0 {
            unanswered += 1;
        }
    }
    let delivered = phase.delivered.load(Ordering::Relaxed);
    let secs = window.as_secs_f64();
    let errors = lock(&phase.errors).clone();
    let latency = Latency::from_histogram(&lock(&phase.latency), 1.0);
    let ack_latency = Latency::from_histogram(&lock(&phase.ack_latency), 1.0);
    PhaseReport {
        label: spec.label.clone(),
        target_rate: spec.rate,
        duration_secs: spec.duration.as_secs_f64(),
        sent: sent as u64,
        acked: phase.acked.load(Ordering::Relaxed),
        delivered,
        lost,
        unanswered,
        errors,
        duplicate_acks: phase.duplicate_acks.load(Ordering::Relaxed),
        duplicate_deliveries: phase.duplicate_deliveries.load(Ordering::Relaxed),
        achieved_rate: (sent as f64 / secs * 10.0).round() / 10.0,
        delivered_rate: (delivered as f64 / secs * 10.0).round() / 10.0,
        latency,
        ack_latency,
        max_scheduler_lag_ms: (max_lag.as_secs_f64() * 1e6).round() / 1e3,
        cpu: None,
        server_latency: Vec::new(),
        grace_used_secs: (grace_used.as_secs_f64() * 100.0).round() / 100.0,
    }
}
