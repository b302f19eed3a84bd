//! The server's own view of a phase: its path-latency histograms
//! (`/metrics`, Prometheus text), read before and after the phase. The
//! difference of two scrapes is the phase's histogram; its quantiles are
//! interpolated within a bucket as Prometheus' `histogram_quantile` does.
//! Beside the tool's end-to-end figures they tell how much of a latency the
//! server spent and how much the sockets, the kernel and the tool did.

use serde::Serialize;

/// The histograms read: (report name, metric).
const HISTOGRAMS: [(&str, &str); 3] = [
    ("send: frame read → ack ready", "backline_send_seconds"),
    (
        "store batch: BEGIN → COMMIT done",
        "backline_store_commit_seconds",
    ),
    (
        "writer's WAL checkpoint",
        "backline_store_writer_checkpoint_seconds",
    ),
];

/// Cumulative buckets of one histogram: (upper bound in seconds, count).
type Buckets = Vec<(f64, u64)>;

/// Reads the server's `/metrics` (its private listener, `metrics.bind`).
pub struct MetricsProbe {
    url: String,
    token: Option<String>,
    http: reqwest::Client,
}

/// One scrape: each histogram's buckets, in `HISTOGRAMS`' order.
pub struct Scrape(Vec<Option<Buckets>>);

/// A phase's server-side latency for one histogram.
#[derive(Debug, Clone, Serialize)]
pub struct ServerLatency {
    pub name: String,
    pub metric: String,
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

impl MetricsProbe {
    pub fn new(url: String, token: Option<String>) -> anyhow::Result<MetricsProbe> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()?;
        Ok(MetricsProbe { url, token, http })
    }

    /// The histograms now, or None if the server does not answer (a phase
    /// is then reported without the server's view rather than failed).
    pub async fn scrape(&self) -> Option<Scrape> {
        let mut request = self.http.get(&self.url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.ok()?;
        if !response.status().is_success() {
            eprintln!("warning: {} answered {}", self.url, response.status());
            return None;
        }
        let text = response.text().await.ok()?;
        Some(Scrape(
            HISTOGRAMS
                .iter()
                .map(|(_, metric)| buckets(&text, metric))
                .collect(),
        ))
    }

    /// What the server measured between two scrapes.
    pub fn between(before: &Scrape, after: &Scrape) -> Vec<ServerLatency> {
        HISTOGRAMS
            .iter()
            .zip(before.0.iter().zip(&after.0))
            .filter_map(|((name, metric), (b, a))| {
                let phase = difference(b.as_ref()?, a.as_ref()?)?;
                let count = phase.last()?.1;
                if count == 0 {
                    return None;
                }
                let ms = |q: f64| (quantile(&phase, q) * 1e6).round() / 1e3;
                Some(ServerLatency {
                    name: (*name).to_owned(),
                    metric: (*metric).to_owned(),
                    count,
                    p50_ms: ms(0.5),
                    p99_ms: ms(0.99),
                    p999_ms: ms(0.999),
                })
            })
            .collect()
    }
}

/// The cumulative buckets of `metric` in Prometheus text, sorted by bound.
fn buckets(text: &str, metric: &str) -> Option<Buckets> {
    let prefix = format!("{metric}_bucket{{le=\"");
    let mut found: Buckets = text
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (bound, value) = rest.split_once("\"}")?;
            let bound = if bound == "+Inf" {
                f64::INFINITY
            } else {
                bound.parse().ok()?
            };
            Some((bound, value.trim().parse::<f64>().ok()? as u64))
        })
        .collect();
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    (!found.is_empty()).then_some(found)
}

/// `after − before`, bucket by bucket (None if the bounds differ).
fn difference(before: &Buckets, after: &Buckets) -> Option<Buckets> {
    if before.len() != after.len() {
        return None;
    }
    before
        .iter()
        .zip(after)
        .map(|(b, a)| (b.0 == a.0).then(|| (a.0, a.1.saturating_sub(b.1))))
        .collect()
}

/// The q-quantile in seconds, linear within its bucket (as
/// `histogram_quantile`); in the `+Inf` bucket, the last finite bound.
fn quantile(buckets: &Buckets, q: f64) -> f64 {
    let total = buckets.last().map_or(0, |b| b.1) as f64;
    let rank = q * total;
    let mut lower = (0.0, 0u64);
    for &(bound, cumulative) in buckets {
        if cumulative as f64 >= rank {
            if bound.is_infinite() {
                return lower.0;
            }
            let in_bucket = (cumulative - lower.1) as f64;
            if in_bucket == 0.0 {
                return bound;
            }
            return lower.0 + (bound - lower.0) * (rank - lower.1 as f64) / in_bucket;
        }
        lower = (bound, cumulative);
    }
    lower.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# TYPE backline_send_seconds histogram
backline_send_seconds_bucket{le=\"0.001\"} 50
backline_send_seconds_bucket{le=\"0.002\"} 90
backline_send_seconds_bucket{le=\"0.005\"} 100
backline_send_seconds_bucket{le=\"+Inf\"} 100
backline_send_seconds_sum 0.1
backline_send_seconds_count 100
";

    #[test]
    fn quantiles_interpolate_within_the_bucket() {
        let b = buckets(TEXT, "backline_send_seconds").unwrap();
        assert_eq!(b.len(), 4);
        assert!((quantile(&b, 0.5) - 0.001).abs() < 1e-12);
        assert!((quantile(&b, 0.25) - 0.0005).abs() < 1e-12);
        // rank 99 of 100: 9 of the 10 in (2 ms, 5 ms]
        assert!((quantile(&b, 0.99) - 0.0047).abs() < 1e-9);
        assert!(buckets(TEXT, "backline_store_commit_seconds").is_none());
    }

    #[test]
    fn a_phase_is_the_difference_of_two_scrapes() {
        let before = buckets(TEXT, "backline_send_seconds").unwrap();
        let after: Buckets = before.iter().map(|&(le, n)| (le, n + 10)).collect();
        let phase = difference(&before, &after).unwrap();
        assert!(phase.iter().all(|&(_, n)| n == 10));
        assert!((quantile(&phase, 0.5) - 0.0005).abs() < 1e-12);
        assert!(difference(&before, &after[..2].to_vec()).is_none());
    }
}
