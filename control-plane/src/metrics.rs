//! Request counts and latencies by route and status, in Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SeriesKey {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Default)]
struct Series {
    count: u64,
    sum_secs: f64,
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    buckets: [u64; BUCKETS.len() + 1],
}

/// HTTP metrics of this process.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    series: Mutex<BTreeMap<SeriesKey, Series>>,
}

impl HttpMetrics {
    /// Records one finished request. `route` is the route template
    /// (`/api/v1/sites/{id}`), never the raw path, so the number of series stays bounded.
    pub fn record(&self, method: &str, route: &str, status: u16, latency: Duration) {
        let secs = latency.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|le| secs <= *le)
            .unwrap_or(BUCKETS.len());
        let key = SeriesKey {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let entry = series.entry(key).or_default();
        entry.count += 1;
        entry.sum_secs += secs;
        entry.buckets[slot] += 1;
    }

    /// The metrics in Prometheus text exposition format.
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
            let labels = labels(key);
            let mut cumulative = 0;
            for (i, le) in BUCKETS.iter().enumerate() {
                cumulative += s.buckets[i];
                let _ = writeln!(
                    out,
                    "gsw_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "gsw_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "gsw_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_secs
            );
            let _ = writeln!(
                out,
                "gsw_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
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

    #[test]
    fn label_values_are_escaped() {
        let metrics = HttpMetrics::default();
        metrics.record("GET", "a\"b\\c", 404, Duration::ZERO);
        assert!(metrics.render().contains(r#"route="a\"b\\c""#));
    }
}
