//! This process's metrics in Prometheus text format: HTTP requests by route
//! and status, generation jobs by kind and outcome, model tokens by model,
//! and, read at scrape time, the job queue, deployments by status and the
//! agents connected here. Every label takes values from a short, fixed list
//! (routes are templates, models are capped), so the series stay bounded.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gsw_storage::{DeploymentStatus, JobKind, JobQueueStats, Store, TokenCounts};

/// Upper bounds of the request latency histogram buckets, in seconds.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Upper bounds of the job duration histogram buckets, in seconds.
const JOB_BUCKETS: &[f64] = &[
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// Distinct model names counted apart; any more are counted as `other`.
const MAX_MODELS: usize = 16;

/// How long a scrape waits for the store-backed gauges.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// Every metric of this process.
#[derive(Debug, Default)]
pub struct Metrics {
    pub http: HttpMetrics,
    pub jobs: JobMetrics,
    pub tokens: TokenMetrics,
}

/// What the scrape reads besides the counters: the agents connected to this
/// node (`None` in a worker, which holds no agent connections).
#[derive(Clone, Copy)]
pub struct Scrape<'a> {
    pub store: &'a dyn Store,
    pub agents_connected: Option<usize>,
}

impl Metrics {
    /// Everything in Prometheus text exposition format. The store-backed
    /// gauges are read now, with a short timeout: a slow database leaves
    /// them out (and `gsw_metrics_store_up` at 0), never the scrape hanging.
    pub async fn render(&self, scrape: Scrape<'_>) -> String {
        let store = scrape.store;
        let read = async { tokio::try_join!(store.job_queue_stats(), store.deployment_counts()) };
        let stored = match tokio::time::timeout(STORE_TIMEOUT, read).await {
            Ok(Ok(stored)) => Some(stored),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "metrics: reading the queue and deployments failed");
                None
            }
            Err(_) => {
                tracing::warn!(?STORE_TIMEOUT, "metrics: the store did not answer in time");
                None
            }
        };
        let mut out = self.http.render();
        self.jobs.render_into(&mut out);
        self.tokens.render_into(&mut out);
        render_stored(&mut out, stored.as_ref(), Utc::now());
        if let Some(agents) = scrape.agents_connected {
            gauge_header(
                &mut out,
                "gsw_fleet_agents_connected",
                "Agents connected to this node.",
            );
            let _ = writeln!(out, "gsw_fleet_agents_connected {agents}");
        }
        out
    }
}

/// The gauges read from the store: the same on every node, so aggregate them with `max`.
fn render_stored(
    out: &mut String,
    stored: Option<&(JobQueueStats, Vec<(DeploymentStatus, i64)>)>,
    now: DateTime<Utc>,
) {
    gauge_header(
        out,
        "gsw_metrics_store_up",
        "Whether this scrape could read the job queue and deployments from storage.",
    );
    let _ = writeln!(out, "gsw_metrics_store_up {}", u8::from(stored.is_some()));
    let Some((queue, deployments)) = stored else {
        return;
    };
    gauge_header(
        out,
        "gsw_jobs_queued",
        "Jobs waiting for a worker (the job table, every node).",
    );
    let _ = writeln!(out, "gsw_jobs_queued {}", queue.queued);
    gauge_header(out, "gsw_jobs_running", "Jobs a worker holds.");
    let _ = writeln!(out, "gsw_jobs_running {}", queue.running);
    gauge_header(
        out,
        "gsw_job_queue_lag_seconds",
        "Age of the oldest job waiting for a worker; 0 when none waits.",
    );
    let lag = queue.oldest_queued_at.map_or(0.0, |at| {
        (now - at).to_std().unwrap_or_default().as_secs_f64()
    });
    let _ = writeln!(out, "gsw_job_queue_lag_seconds {lag}");
    gauge_header(
        out,
        "gsw_deployments",
        "Deployments by status (every user).",
    );
    for status in DeploymentStatus::ALL {
        let count = deployments
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "gsw_deployments{{status=\"{status}\"}} {count}");
    }
}

fn gauge_header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// A histogram's counts; `bounds` are the buckets' upper bounds.
#[derive(Debug, Clone)]
struct Histogram {
    count: u64,
    sum_secs: f64,
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    buckets: Vec<u64>,
}

impl Histogram {
    fn new(bounds: &[f64]) -> Self {
        Self {
            count: 0,
            sum_secs: 0.0,
            buckets: vec![0; bounds.len() + 1],
        }
    }

    fn observe(&mut self, bounds: &[f64], elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let slot = bounds
            .iter()
            .position(|le| secs <= *le)
            .unwrap_or(bounds.len());
        self.count += 1;
        self.sum_secs += secs;
        self.buckets[slot] += 1;
    }

    /// The `_bucket`, `_sum` and `_count` lines of one series.
    fn render_into(&self, out: &mut String, name: &str, bounds: &[f64], labels: &str) {
        let mut cumulative = 0;
        for (i, le) in bounds.iter().enumerate() {
            cumulative += self.buckets[i];
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum_secs);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SeriesKey {
    method: String,
    route: String,
    status: u16,
}

/// HTTP metrics of this process.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    series: Mutex<BTreeMap<SeriesKey, Histogram>>,
}

impl HttpMetrics {
    /// Records one finished request. `route` is the route template
    /// (`/api/v1/sites/{id}`), never the raw path, so the number of series stays bounded.
    pub fn record(&self, method: &str, route: &str, status: u16, latency: Duration) {
        let key = SeriesKey {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        series
            .entry(key)
            .or_insert_with(|| Histogram::new(HTTP_BUCKETS))
            .observe(HTTP_BUCKETS, latency);
    }

    /// The HTTP metrics in Prometheus text exposition format.
    pub fn render(&self) -> String {
        let series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP gsw_http_requests_total HTTP requests served, by route and status.\n");
        out.push_str("# TYPE gsw_http_requests_total counter\n");
        for (key, s) in series.iter() {
            let _ = writeln!(
                out,
                "gsw_http_requests_total{{{}}} {}",
                labels(key),
                s.count
            );
        }
        out.push_str("# HELP gsw_http_request_duration_seconds Time to serve HTTP requests.\n");
        out.push_str("# TYPE gsw_http_request_duration_seconds histogram\n");
        for (key, s) in series.iter() {
            s.render_into(
                &mut out,
                "gsw_http_request_duration_seconds",
                HTTP_BUCKETS,
                &labels(key),
            );
        }
        out
    }
}

/// How a worker's turn with a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JobOutcome {
    /// The draft is stored.
    Completed,
    /// Failed for good, with its reason.
    Failed,
    /// Delivered more than `queue_max_deliveries` times: failed without running.
    DeadLettered,
    /// The model provider was unavailable: handed back to run again later.
    Retried,
    /// Stopped without an end (lease lost, storage failed): resumed elsewhere.
    Interrupted,
}

impl JobOutcome {
    const ALL: [Self; 5] = [
        Self::Completed,
        Self::Failed,
        Self::DeadLettered,
        Self::Retried,
        Self::Interrupted,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::DeadLettered => "dead_lettered",
            Self::Retried => "retried",
            Self::Interrupted => "interrupted",
        }
    }
}

/// Generation jobs this process's workers finished, and how long they ran.
#[derive(Debug, Default)]
pub struct JobMetrics {
    inner: Mutex<JobSeries>,
}

#[derive(Debug, Default)]
struct JobSeries {
    outcomes: BTreeMap<JobOutcome, u64>,
    durations: BTreeMap<(&'static str, JobOutcome), Histogram>,
}

impl JobMetrics {
    /// Records a job a worker ran for `ran` before it ended with `outcome`.
    pub fn ran(&self, kind: JobKind, outcome: JobOutcome, ran: Duration) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *inner.outcomes.entry(outcome).or_default() += 1;
        inner
            .durations
            .entry((kind.as_str(), outcome))
            .or_insert_with(|| Histogram::new(JOB_BUCKETS))
            .observe(JOB_BUCKETS, ran);
    }

    /// Records a job given up on before it ran (a dead letter).
    pub fn ended_unrun(&self, outcome: JobOutcome) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *inner.outcomes.entry(outcome).or_default() += 1;
    }

    fn render_into(&self, out: &mut String) {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP gsw_jobs_finished_total Jobs this process's workers finished with, by outcome.\n");
        out.push_str("# TYPE gsw_jobs_finished_total counter\n");
        // Every outcome from the start, so a rate over a new series is not lost.
        for outcome in JobOutcome::ALL {
            let count = inner.outcomes.get(&outcome).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "gsw_jobs_finished_total{{outcome=\"{}\"}} {count}",
                outcome.as_str()
            );
        }
        out.push_str(
            "# HELP gsw_job_duration_seconds Time a worker ran a job, by kind and outcome.\n",
        );
        out.push_str("# TYPE gsw_job_duration_seconds histogram\n");
        for ((kind, outcome), h) in inner.durations.iter() {
            let labels = format!("kind=\"{kind}\",outcome=\"{}\"", outcome.as_str());
            h.render_into(out, "gsw_job_duration_seconds", JOB_BUCKETS, &labels);
        }
    }
}

/// Model tokens this process's calls used, by model.
#[derive(Debug, Default)]
pub struct TokenMetrics {
    by_model: Mutex<BTreeMap<String, TokenCounts>>,
}

impl TokenMetrics {
    /// Adds a model call's usage (a cached answer's is zero and adds nothing).
    pub fn add(&self, model: &str, tokens: TokenCounts) {
        if tokens.is_zero() {
            return;
        }
        let mut by_model = self.by_model.lock().unwrap_or_else(|p| p.into_inner());
        // The names come from the provider's replies: cap them.
        let model = if by_model.contains_key(model) || by_model.len() < MAX_MODELS {
            model
        } else {
            "other"
        };
        *by_model.entry(model.to_owned()).or_default() += tokens;
    }

    fn render_into(&self, out: &mut String) {
        let by_model = self.by_model.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str(
            "# HELP gsw_model_tokens_total Model tokens used by this process, by model and type.\n",
        );
        out.push_str("# TYPE gsw_model_tokens_total counter\n");
        for (model, t) in by_model.iter() {
            let model = escape(model);
            for (kind, n) in [
                ("input", t.input_tokens),
                ("output", t.output_tokens),
                ("cache_read", t.cache_read_tokens),
                ("cache_creation", t.cache_creation_tokens),
            ] {
                let _ = writeln!(
                    out,
                    "gsw_model_tokens_total{{model=\"{model}\",type=\"{kind}\"}} {n}"
                );
            }
        }
    }
}

fn labels(key: &SeriesKey) -> String {
    format!(
        "method=\"{}\",route=\"{}\",status=\"{}\"",
        escape(&key.method),
        escape(&key.route),
        key.status
    )
}

/// Escapes a label value as the exposition format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = HttpMetrics::default();
        metrics.record("GET", "/api/v1/sites", 200, Duration::from_millis(3));
        metrics.record("GET", "/api/v1/sites", 200, Duration::from_millis(30));
        metrics.record("GET", "/api/v1/sites", 200, Duration::from_secs(60));
        let text = metrics.render();
        let series = r#"method="GET",route="/api/v1/sites",status="200""#;
        assert!(
            text.contains(&format!("gsw_http_requests_total{{{series}}} 3")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{series},le=\"0.001\"}} 0")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{series},le=\"0.005\"}} 1")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{series},le=\"0.05\"}} 2")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{series},le=\"10\"}} 2")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{series},le=\"+Inf\"}} 3")),
            "{text}"
        );
        assert!(text.contains(&format!("_count{{{series}}} 3")), "{text}");
    }

    fn tokens(input: i64) -> TokenCounts {
        TokenCounts {
            input_tokens: input,
            output_tokens: 1,
            ..TokenCounts::default()
        }
    }

    #[test]
    fn model_names_are_capped_and_cached_replies_add_nothing() {
        let metrics = TokenMetrics::default();
        for i in 0..MAX_MODELS + 3 {
            metrics.add(&format!("model-{i:02}"), tokens(10));
        }
        metrics.add("model-00", tokens(5));
        metrics.add("model-01", TokenCounts::default());
        let mut text = String::new();
        metrics.render_into(&mut text);
        assert!(
            text.contains(r#"gsw_model_tokens_total{model="model-00",type="input"} 15"#),
            "{text}"
        );
        assert!(
            text.contains(r#"gsw_model_tokens_total{model="model-01",type="input"} 10"#),
            "{text}"
        );
        assert!(
            text.contains(r#"gsw_model_tokens_total{model="other",type="input"} 30"#),
            "{text}"
        );
        assert!(!text.contains("model-18"), "{text}");
        let series = text
            .lines()
            .filter(|l| l.contains("type=\"input\""))
            .count();
        assert_eq!(series, MAX_MODELS + 1);
    }

    #[test]
    fn job_outcomes_and_durations_by_kind() {
        let metrics = JobMetrics::default();
        metrics.ran(
            JobKind::Generation,
            JobOutcome::Completed,
            Duration::from_secs(3),
        );
        metrics.ran(
            JobKind::Generation,
            JobOutcome::Completed,
            Duration::from_secs(90),
        );
        metrics.ran(
            JobKind::Generation,
            JobOutcome::Retried,
            Duration::from_secs(1),
        );
        metrics.ended_unrun(JobOutcome::DeadLettered);
        let mut text = String::new();
        metrics.render_into(&mut text);
        for (outcome, n) in [
            ("completed", 2),
            ("failed", 0),
            ("dead_lettered", 1),
            ("retried", 1),
            ("interrupted", 0),
        ] {
            assert!(
                text.contains(&format!(
                    "gsw_jobs_finished_total{{outcome=\"{outcome}\"}} {n}\n"
                )),
                "{outcome}: {text}"
            );
        }
        let completed = r#"kind="generation",outcome="completed""#;
        assert!(
            text.contains(&format!(
                "gsw_job_duration_seconds_bucket{{{completed},le=\"5\"}} 1"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "gsw_job_duration_seconds_bucket{{{completed},le=\"120\"}} 2"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("gsw_job_duration_seconds_sum{{{completed}}} 93")),
            "{text}"
        );
        assert!(!text.contains(r#"outcome="dead_lettered",le"#), "{text}");
    }

    #[test]
    fn stored_gauges_cover_every_status_and_measure_lag() {
        let now = Utc::now();
        let queue = JobQueueStats {
            queued: 3,
            running: 1,
            oldest_queued_at: Some(now - chrono::Duration::seconds(42)),
        };
        let mut text = String::new();
        render_stored(
            &mut text,
            Some(&(queue, vec![(DeploymentStatus::Applied, 7)])),
            now,
        );
        assert!(text.contains("gsw_metrics_store_up 1\n"), "{text}");
        assert!(text.contains("gsw_jobs_queued 3\n"), "{text}");
        assert!(text.contains("gsw_jobs_running 1\n"), "{text}");
        assert!(text.contains("gsw_job_queue_lag_seconds 42\n"), "{text}");
        assert!(
            text.contains("gsw_deployments{status=\"applied\"} 7\n"),
            "{text}"
        );
        assert!(
            text.contains("gsw_deployments{status=\"refused\"} 0\n"),
            "{text}"
        );
        // Storage did not answer: say so, and leave the rest out rather than report zeros.
        let mut text = String::new();
        render_stored(&mut text, None, now);
        assert!(text.contains("gsw_metrics_store_up 0\n"), "{text}");
        assert!(!text.contains("gsw_jobs_queued"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = HttpMetrics::default();
        metrics.record("GET", "a\"b\\c", 404, Duration::ZERO);
        assert!(metrics.render().contains(r#"route="a\"b\\c""#));
    }
}
