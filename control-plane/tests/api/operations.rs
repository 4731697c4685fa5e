//! What operators see: the metrics of jobs, model tokens, deployments, the
//! queue and agents, on `serve`'s metrics listener and on a `worker`
//! process's own, and the worker's probes.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use gsw_control_plane::settings::Secret;
use gsw_storage::{Backend, DeliveryReport};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::fake_anthropic::{FakeAnthropic, PAGES, USAGE};
use crate::generation::{bakery, finished_job, generate};
use crate::helpers::{spawn_app_with, TestApp};
use crate::on_both_backends_with_redis;
use crate::rollback::deploy_one_page;
use crate::shutdown::printed_address;

on_both_backends_with_redis!(
    metrics_count_jobs_tokens_deployments_and_agents,
    queue_depth_and_lag_come_from_the_job_table,
);

/// The metrics text from the metrics listener.
async fn scrape(client: &reqwest::Client, base: &str) -> String {
    let response = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// The value of one exact series (name and labels), if it is there.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.parse().ok()
    })
}

fn assert_series(text: &str, series: &str, expected: f64) {
    assert_eq!(value(text, series), Some(expected), "{series} in:\n{text}");
}

async fn metrics_count_jobs_tokens_deployments_and_agents(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    let url = fake.url.clone();
    let app = spawn_app_with(backend, |s| {
        s.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        s.anthropic_api_key = Some(Secret::new("sk-test"));
        s.anthropic_base_url = url;
        s.anthropic_small_model = "claude-small".into();
        s.anthropic_large_model = "claude-large".into();
    })
    .await;
    let metrics = app.metrics_address.clone().unwrap();
    let before = scrape(&app.client, &metrics).await;
    // Every outcome is there from the start, at zero; no job has a duration yet.
    for outcome in [
        "completed",
        "failed",
        "dead_lettered",
        "retried",
        "interrupted",
    ] {
        assert_series(
            &before,
            &format!("gsw_jobs_finished_total{{outcome=\"{outcome}\"}}"),
            0.0,
        );
    }
    assert!(
        !before.contains("gsw_job_duration_seconds_count"),
        "{before}"
    );
    assert!(!before.contains("gsw_model_tokens_total{"), "{before}");

    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(&app, &ada, bakery()).await;
    let job = finished_job(&app, &ada, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    let site_id = accepted["site_id"].as_str().unwrap().to_owned();
    let mut deployments = Vec::new();
    for _ in 0..3 {
        let deployment = deploy_one_page(&app, &ada, &site_id).await;
        deployments.push(deployment["id"].as_str().unwrap().parse::<Uuid>().unwrap());
    }
    let site: Uuid = site_id.parse().unwrap();
    let refused = DeliveryReport::Refused {
        code: "bad_signature".into(),
        reason: "test".into(),
    };
    for (id, report) in [
        (deployments[0], DeliveryReport::Acked),
        (deployments[1], refused),
    ] {
        assert!(app
            .store
            .report_delivery(site, id, &report, Utc::now())
            .await
            .unwrap());
    }

    let text = scrape(&app.client, &metrics).await;
    assert_series(
        &text,
        r#"gsw_jobs_finished_total{outcome="completed"}"#,
        1.0,
    );
    assert_series(&text, r#"gsw_jobs_finished_total{outcome="failed"}"#, 0.0);
    assert_series(
        &text,
        r#"gsw_job_duration_seconds_count{kind="generation",outcome="completed"}"#,
        1.0,
    );
    assert_series(
        &text,
        r#"gsw_job_duration_seconds_bucket{kind="generation",outcome="completed",le="+Inf"}"#,
        1.0,
    );
    // Three small-model stages and one large-model call per page.
    let calls = fake.calls();
    assert_eq!(calls.len(), 3 + PAGES.len());
    let large = PAGES.len() as f64;
    for (model, n) in [("claude-small", 3.0), ("claude-large", large)] {
        for (kind, each) in [
            ("input", USAGE.0),
            ("output", USAGE.1),
            ("cache_read", USAGE.2),
            ("cache_creation", USAGE.3),
        ] {
            assert_series(
                &text,
                &format!("gsw_model_tokens_total{{model=\"{model}\",type=\"{kind}\"}}"),
                n * each as f64,
            );
        }
    }
    for (status, count) in [
        ("queued", 1.0),
        ("delivered", 1.0),
        ("applied", 0.0),
        ("failed", 0.0),
        ("refused", 1.0),
    ] {
        assert_series(
            &text,
            &format!("gsw_deployments{{status=\"{status}\"}}"),
            count,
        );
    }
    assert_series(&text, "gsw_jobs_queued", 0.0);
    assert_series(&text, "gsw_jobs_running", 0.0);
    assert_series(&text, "gsw_job_queue_lag_seconds", 0.0);
    assert_series(&text, "gsw_metrics_store_up", 1.0);
    assert_series(&text, "gsw_fleet_agents_connected", 0.0);
    assert!(
        !text.contains(&site_id) && !text.contains(&ada.id),
        "ids must not become labels: {text}"
    );

    // The same answers again come from the cache, at no cost: no new tokens.
    let again = generate(&app, &ada, bakery()).await;
    let job = finished_job(&app, &ada, again["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    let text = scrape(&app.client, &metrics).await;
    assert_series(
        &text,
        r#"gsw_jobs_finished_total{outcome="completed"}"#,
        2.0,
    );
    assert_series(
        &text,
        r#"gsw_model_tokens_total{model="claude-small",type="input"}"#,
        3.0 * USAGE.0 as f64,
    );

    // The metrics listener is where probes go too; it serves nothing else.
    let response = app
        .client
        .get(format!("{metrics}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .client
        .get(format!("{metrics}/api/v1/sites"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn queue_depth_and_lag_come_from_the_job_table(backend: Backend) {
    // No workers here: the jobs stay queued.
    let app = spawn_app_with(backend, |s| {
        s.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        s.serve_workers = false;
    })
    .await;
    let metrics = app.metrics_address.clone().unwrap();
    let ada = app.signed_up("ada@example.com").await;
    generate(&app, &ada, bakery()).await;
    let bob = app.signed_up("bob@example.com").await;
    generate(&app, &bob, bakery()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = scrape(&app.client, &metrics).await;
    assert_series(&text, "gsw_jobs_queued", 2.0);
    assert_series(&text, "gsw_jobs_running", 0.0);
    let lag = value(&text, "gsw_job_queue_lag_seconds").unwrap();
    assert!((0.3..60.0).contains(&lag), "lag {lag} in:\n{text}");
    // No deployment yet: every status is there, at zero.
    assert_series(&text, r#"gsw_deployments{status="queued"}"#, 0.0);
}

/// A `worker` process of the real binary, and its health and metrics address.
struct WorkerProcess {
    child: Child,
    base: String,
    /// Kept open: the worker prints to it.
    _stdout: BufReader<ChildStdout>,
    log: std::path::PathBuf,
}

impl WorkerProcess {
    /// Starts it with its data folder in `data` and these variables.
    fn start(data: &std::path::Path, envs: &[(&str, String)]) -> Self {
        let log = data.join("worker.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_gsw-control-plane"));
        command
            .arg("worker")
            .env_remove("GSW_DATABASE_URL")
            .env_remove("GSW_REDIS_URL")
            .env("GSW_METRICS_LISTEN", "127.0.0.1:0")
            .env("GSW_LOG_FORMAT", "text")
            .env("GSW_DATA_DIR", data)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for (name, value) in envs {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("starting gsw-control-plane worker");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let address = printed_address(&line);
        line.clear();
        stdout.read_line(&mut line).unwrap();
        assert!(line.contains("worker running"), "{line:?}");
        Self {
            child,
            base: format!("http://{address}"),
            _stdout: stdout,
            log,
        }
    }

    /// What it logged so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit status must be success.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "exit status {status}; log:\n{}",
            self.log()
        );
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The embedded set-up: probes and metrics on `GSW_METRICS_LISTEN`, no API.
#[tokio::test]
async fn the_worker_serves_probes_and_metrics_but_no_api() {
    let data = tempfile::tempdir().unwrap();
    let worker = WorkerProcess::start(data.path(), &[]);
    let client = reqwest::Client::new();
    let base = &worker.base;

    let response = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["storage"], "ok");
    assert_eq!(body["redis"], "not configured");

    let text = scrape(&client, base).await;
    assert_series(&text, "gsw_metrics_store_up", 1.0);
    assert_series(&text, "gsw_jobs_queued", 0.0);
    assert_series(
        &text,
        r#"gsw_jobs_finished_total{outcome="completed"}"#,
        0.0,
    );
    assert_series(&text, r#"gsw_deployments{status="applied"}"#, 0.0);
    // A worker holds no agents, so it does not claim to have none.
    assert!(!text.contains("gsw_fleet_agents_connected"), "{text}");
    // Its own probes are counted, by route template.
    assert!(
        text.contains(r#"gsw_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{text}"
    );

    for path in [
        "/api/v1/sites",
        "/api/v1/openapi.json",
        "/api/v1/auth/login",
        "/",
    ] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let response = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"email": "ada@example.com", "password": "correct horse battery staple"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    worker.stop();
}

/// Workers apart from `serve`, sharing its database and Redis: the job runs
/// in the worker process, and the worker's metrics say so.
#[tokio::test]
async fn a_separate_worker_counts_the_jobs_it_runs() {
    let stream = format!("gsw:test:{}", Uuid::new_v4().simple());
    let redis = crate::queue::redis_url();
    let app: TestApp = spawn_app_with(Backend::Postgres, |s| {
        s.redis_url = Some(Secret::new(redis.clone()));
        s.queue_stream = stream.clone();
        s.serve_workers = false;
    })
    .await;
    let data = tempfile::tempdir().unwrap();
    let worker = WorkerProcess::start(
        data.path(),
        &[
            ("GSW_DATABASE_URL", app.settings.database_url()),
            ("GSW_REDIS_URL", redis.clone()),
            ("GSW_QUEUE_STREAM", stream.clone()),
        ],
    );
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/readyz", worker.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["redis"], "ok");

    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(&app, &ada, bakery()).await;
    let job = finished_job(&app, &ada, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(
        job["status"],
        "completed",
        "{job}; worker log:\n{}",
        worker.log()
    );

    let text = scrape(&client, &worker.base).await;
    assert_series(
        &text,
        r#"gsw_jobs_finished_total{outcome="completed"}"#,
        1.0,
    );
    assert_series(
        &text,
        r#"gsw_job_duration_seconds_count{kind="generation",outcome="completed"}"#,
        1.0,
    );
    assert_series(&text, "gsw_jobs_queued", 0.0);
    worker.stop();

    let client = redis::Client::open(redis).unwrap();
    let mut conn = redis::aio::ConnectionManager::new(client).await.unwrap();
    let _: redis::RedisResult<()> = redis::cmd("DEL")
        .arg(&stream)
        .arg(format!("{stream}:dead"))
        .query_async(&mut conn)
        .await;
}
