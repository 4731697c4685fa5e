//! The Redis Streams queue and the worker, against the real Redis at
//! `GSW_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`), each test on a
//! stream key of its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use gsw_control_plane::generation::Generation;
use gsw_control_plane::queue::redis::RedisQueue;
use gsw_control_plane::queue::JobQueue;
use gsw_control_plane::settings::Secret;
use gsw_control_plane::Settings;
use gsw_generation::offline::OfflineEngine;
use gsw_generation::provider::{ModelError, ModelProvider, ModelReply, ModelRequest, Stage};
use gsw_storage::{JobKind, JobRef, JobStatus, NewJob, NewSite, SiteStatus};
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use crate::generation::{bakery, finished_job, generate};
use crate::helpers::{spawn_app_with, TestApp};

pub fn redis_url() -> String {
    std::env::var("GSW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn redis() -> redis::aio::ConnectionManager {
    let client = redis::Client::open(redis_url()).unwrap();
    redis::aio::ConnectionManager::new(client)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Redis at {} is needed for this test (set GSW_TEST_REDIS_URL): {e}",
                redis_url()
            )
        })
}

fn stream_key() -> String {
    format!("gsw:test:{}", Uuid::new_v4().simple())
}

async fn forget(stream: &str) {
    let mut conn = redis().await;
    let _: redis::RedisResult<()> = redis::cmd("DEL")
        .arg(stream)
        .arg(format!("{stream}:dead"))
        .query_async(&mut conn)
        .await;
}

async fn pending(stream: &str) -> usize {
    let mut conn = redis().await;
    let reply: redis::streams::StreamPendingReply = redis::cmd("XPENDING")
        .arg(stream)
        .arg(gsw_control_plane::queue::redis::GROUP)
        .query_async(&mut conn)
        .await
        .unwrap();
    reply.count()
}

fn job() -> JobRef {
    JobRef {
        job_id: Uuid::now_v7(),
        user_id: Uuid::now_v7(),
    }
}

#[tokio::test]
async fn redis_queue_reclaims_from_dead_consumers_and_dead_letters() {
    let stream = stream_key();
    let queue = RedisQueue::connect(
        &redis::Client::open(redis_url()).unwrap(),
        &stream,
        Duration::from_millis(1000),
    )
    .await
    .unwrap();
    let jobs = [job(), job(), job()];
    queue.enqueue(&jobs).await.unwrap();

    let got = queue
        .receive("a", 10, Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(got.iter().map(|d| d.job).collect::<Vec<_>>(), jobs);
    assert!(got.iter().all(|d| d.deliveries == 1));
    queue.ack(&got[..1]).await.unwrap();
    // Consumer a dies holding two; b sees nothing until they have been quiet long enough.
    assert!(queue
        .receive("b", 10, Duration::from_millis(50))
        .await
        .unwrap()
        .is_empty());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // a is alive after all for one of them and says so.
    queue.extend("a", &got[2]).await.unwrap();
    let reclaimed = queue
        .receive("b", 10, Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(reclaimed.len(), 1, "{reclaimed:?}");
    assert_eq!(reclaimed[0].job, jobs[1]);
    assert_eq!(reclaimed[0].deliveries, 2);

    queue.dead_letter(&reclaimed[0], "gave up").await.unwrap();
    queue.ack(&got[2..]).await.unwrap();
    let mut conn = redis().await;
    let dead: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(queue.dead_stream())
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(dead.ids.len(), 1);
    assert_eq!(
        dead.ids[0].get::<String>("reason").as_deref(),
        Some("gave up")
    );
    assert_eq!(
        dead.ids[0].get::<String>("job"),
        Some(jobs[1].job_id.to_string())
    );
    forget(&stream).await;
}

/// The offline engine, except that pages never get written: a worker stuck mid-job.
struct StuckOnPages;

#[async_trait]
impl ModelProvider for StuckOnPages {
    fn name(&self) -> &'static str {
        "stuck"
    }
    async fn generate(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        if request.stage == Stage::Content {
            std::future::pending::<()>().await;
        }
        OfflineEngine.generate(request).await
    }
}

/// A control plane on Redis with no workers of its own, and a way to make them.
async fn app_on_redis(backend: gsw_storage::Backend, stream: &str) -> (TestApp, Settings) {
    let stream = stream.to_owned();
    let mut used = None;
    let app = spawn_app_with(backend, |s| {
        s.redis_url = Some(Secret::new(redis_url()));
        s.queue_stream = stream;
        s.serve_workers = false;
        s.queue_visibility_timeout_secs = 1;
        s.queue_max_deliveries = 3;
        used = Some(s.clone());
    })
    .await;
    (app, used.unwrap())
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

crate::on_both_backends_with_redis!(
    a_stopping_worker_hands_its_job_back,
    a_killed_worker_process_s_job_completes_once,
    a_killed_worker_s_job_completes_once,
    a_job_that_keeps_losing_its_worker_is_dead_lettered,
    queued_jobs_redis_lost_are_enqueued_again,
);

async fn a_killed_worker_s_job_completes_once(backend: gsw_storage::Backend) {
    let stream = stream_key();
    let (app, settings) = app_on_redis(backend, &stream).await;
    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(&app, &ada, bakery()).await;
    let job_id: Uuid = accepted["job_id"].as_str().unwrap().parse().unwrap();
    let owner: Uuid = ada.id.parse().unwrap();

    // Worker A plans the site, then hangs writing pages, and is killed.
    let generation =
        Generation::from_settings(&settings, app.store.clone(), app.state.metrics.clone())
            .await
            .unwrap();
    let mut stuck = generation.worker();
    stuck.orchestrator.agents.provider = Arc::new(StuckOnPages);
    let a = tokio::spawn(stuck.run(std::future::pending()));
    let store = app.store.clone();
    wait_for("worker A to plan", async || {
        let job = store.job(owner, job_id).await.unwrap().unwrap();
        job.stage.as_deref() == Some("content")
    })
    .await;
    a.abort();
    let _ = a.await;

    // Worker B reclaims the delivery once it has been quiet for the visibility timeout.
    let b = generation.worker();
    let mut events = b.events.subscribe();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let b = tokio::spawn(b.run(async move {
        let _ = stopped.await;
    }));
    let job = finished_job(&app, &ada, &job_id.to_string()).await;
    // The worker acks just after it records the outcome.
    let key = stream.clone();
    wait_for("the delivery to be acked", async || {
        pending(&key).await == 0
    })
    .await;
    let _ = stop.send(());
    let _ = b.await;

    assert_eq!(job["status"], "completed", "{job}");
    let stored = app.store.job(owner, job_id).await.unwrap().unwrap();
    assert_eq!(stored.attempts, 2);
    let logs = stored.logs;
    assert_eq!(logs.matches("planning the sitemap").count(), 1, "{logs}");
    assert!(logs.contains("resumed; planned 9 pages"), "{logs}");
    let mut completions = 0;
    while let Ok(event) = events.try_recv() {
        if event.job_id == job_id && event.status == JobStatus::Completed {
            completions += 1;
        }
    }
    assert_eq!(completions, 1);
    let draft: Value = app
        .api(
            Method::GET,
            &format!("/sites/{}/draft", accepted["site_id"].as_str().unwrap()),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(draft["pages"].as_array().unwrap().len(), 9);
    forget(&stream).await;
}

async fn a_job_that_keeps_losing_its_worker_is_dead_lettered(backend: gsw_storage::Backend) {
    let stream = stream_key();
    let (app, settings) = app_on_redis(backend, &stream).await;
    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(&app, &ada, bakery()).await;
    let job_id = accepted["job_id"].as_str().unwrap().to_owned();

    // Three consumers take the job and vanish without a word.
    let queue = RedisQueue::connect(
        &redis::Client::open(redis_url()).unwrap(),
        &stream,
        Duration::from_millis(1000),
    )
    .await
    .unwrap();
    for ghost in ["ghost-1", "ghost-2", "ghost-3"] {
        let got = queue
            .receive(ghost, 1, Duration::from_millis(1500))
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "{ghost}");
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let generation =
        Generation::from_settings(&settings, app.store.clone(), app.state.metrics.clone())
            .await
            .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(generation.worker().run(async move {
        let _ = stopped.await;
    }));
    let job = finished_job(&app, &ada, &job_id).await;
    // The worker acks just after it records the outcome.
    let key = stream.clone();
    wait_for("the delivery to be acked", async || {
        pending(&key).await == 0
    })
    .await;
    let _ = stop.send(());
    let _ = worker.await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("gave up after 3 deliveries"),
        "{job}"
    );
    let site: Value = app
        .api(
            Method::GET,
            &format!("/sites/{}", accepted["site_id"].as_str().unwrap()),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(site["status"], "draft");
    forget(&stream).await;
}

async fn queued_jobs_redis_lost_are_enqueued_again(backend: gsw_storage::Backend) {
    let stream = stream_key();
    let (app, settings) = app_on_redis(backend, &stream).await;
    let ada = app.signed_up("ada@example.com").await;
    let owner: Uuid = ada.id.parse().unwrap();
    // A job in the database that never reached Redis (or Redis restarted without persistence).
    let site = NewSite {
        id: Uuid::now_v7(),
        user_id: owner,
        name: "Maison Lune".into(),
        domain: None,
        wp_admin_url: None,
        status: SiteStatus::Generating,
        metadata: serde_json::json!({}),
        created_at: Utc::now(),
    };
    let job = NewJob {
        id: Uuid::now_v7(),
        site_id: site.id,
        user_id: owner,
        kind: JobKind::Generation,
        created_at: Utc::now(),
    };
    let input = serde_json::json!({"kind": "generate", "brief": bakery()});
    app.store
        .create_site_with_job(&site, &job, &input)
        .await
        .unwrap();

    let generation =
        Generation::from_settings(&settings, app.store.clone(), app.state.metrics.clone())
            .await
            .unwrap();
    let mut worker = generation.worker();
    // Stale after twice the visibility timeout (2 s here): then the reconciler enqueues it.
    worker.reconcile_every = Duration::from_millis(500);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let done = finished_job(&app, &ada, &job.id.to_string()).await;
    // The worker acks just after it records the outcome.
    let key = stream.clone();
    wait_for("the delivery to be acked", async || {
        pending(&key).await == 0
    })
    .await;
    let _ = stop.send(());
    let _ = worker.await;
    assert_eq!(done["status"], "completed", "{done}");
    forget(&stream).await;
}

/// Starts `gsw-control-plane worker` on the test's database, Redis stream and fake model.
fn worker_process(settings: &Settings, model_url: &str) -> std::process::Child {
    let data = std::env::temp_dir();
    std::process::Command::new(env!("CARGO_BIN_EXE_gsw-control-plane"))
        .arg("worker")
        .env("GSW_DATA_DIR", &data)
        .env("GSW_DATABASE_URL", settings.database_url())
        .env("GSW_REDIS_URL", redis_url())
        .env("GSW_QUEUE_STREAM", &settings.queue_stream)
        .env("GSW_QUEUE_VISIBILITY_TIMEOUT_SECS", "1")
        .env("GSW_ANTHROPIC_API_KEY", "sk-test")
        .env("GSW_ANTHROPIC_BASE_URL", model_url)
        .env("GSW_ANTHROPIC_MAX_ATTEMPTS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting gsw-control-plane worker")
}

async fn a_killed_worker_process_s_job_completes_once(backend: gsw_storage::Backend) {
    let stream = stream_key();
    let (app, settings) = app_on_redis(backend, &stream).await;
    let fake = crate::fake_anthropic::FakeAnthropic::start().await;
    // The first worker gets as far as writing pages, which never come back.
    fake.delay("record_page", Duration::from_secs(600));
    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(&app, &ada, bakery()).await;
    let job_id: Uuid = accepted["job_id"].as_str().unwrap().parse().unwrap();
    let owner: Uuid = ada.id.parse().unwrap();

    let mut first = worker_process(&settings, &fake.url);
    let store = app.store.clone();
    wait_for("the first worker to plan", async || {
        let job = store.job(owner, job_id).await.unwrap().unwrap();
        job.stage.as_deref() == Some("content")
    })
    .await;
    first.kill().unwrap(); // SIGKILL: no clean-up of any kind
    first.wait().unwrap();

    // The API process runs no workers: its WebSocket follows the job row.
    let url = format!(
        "{}/api/v1/jobs/{job_id}/events?token={}",
        app.address.replace("http", "ws"),
        ada.access
    );
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connecting");
    let follower = tokio::spawn(crate::generation::events_until_closed(socket));

    fake.clear_delays();
    let mut second = worker_process(&settings, &fake.url);
    let job = finished_job(&app, &ada, &job_id.to_string()).await;
    let key = stream.clone();
    wait_for("the delivery to be acked", async || {
        pending(&key).await == 0
    })
    .await;
    let pid = second.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert!(second.wait().unwrap().success());

    assert_eq!(job["status"], "completed", "{job}");
    let events = follower.await.unwrap();
    assert_eq!(events.last().unwrap()["status"], "completed", "{events:?}");
    let stored = app.store.job(owner, job_id).await.unwrap().unwrap();
    assert_eq!(stored.attempts, 2, "{}", stored.logs);
    assert_eq!(
        stored.logs.matches("assembling the draft").count(),
        1,
        "{}",
        stored.logs
    );
    assert!(stored.logs.contains("resumed;"), "{}", stored.logs);
    // Planning was not paid for twice: the second worker started from the stored sitemap.
    let plans = fake
        .calls()
        .iter()
        .filter(|c| c.tool() == "record_sitemap")
        .count();
    assert_eq!(plans, 1);
    forget(&stream).await;
}

async fn a_stopping_worker_hands_its_job_back(backend: gsw_storage::Backend) {
    // The embedded set-up: in-process queue, a 60 s lease.
    let mut used = None;
    let app = spawn_app_with(backend, |s| {
        s.serve_workers = false;
        used = Some(s.clone());
    })
    .await;
    let settings = used.unwrap();
    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(&app, &ada, bakery()).await;
    let job_id: Uuid = accepted["job_id"].as_str().unwrap().parse().unwrap();
    let owner: Uuid = ada.id.parse().unwrap();

    let generation =
        Generation::from_settings(&settings, app.store.clone(), app.state.metrics.clone())
            .await
            .unwrap();
    let mut stuck = generation.worker();
    stuck.orchestrator.agents.provider = Arc::new(StuckOnPages);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let first = tokio::spawn(stuck.run(async move {
        let _ = stopped.await;
    }));
    let store = app.store.clone();
    wait_for("the first worker to plan", async || {
        let job = store.job(owner, job_id).await.unwrap().unwrap();
        job.stage.as_deref() == Some("content")
    })
    .await;
    let _ = stop.send(());
    first.await.unwrap();
    let released = app.store.job(owner, job_id).await.unwrap().unwrap();
    assert_eq!(released.status, JobStatus::Queued);

    // A restarted worker takes it at once, not after the lease would have run out.
    let started = Instant::now();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let second = tokio::spawn(generation.worker().run(async move {
        let _ = stopped.await;
    }));
    let job = finished_job(&app, &ada, &job_id.to_string()).await;
    let _ = stop.send(());
    let _ = second.await;
    assert_eq!(job["status"], "completed", "{job}");
    assert!(started.elapsed() < Duration::from_secs(20));
    let stored = app.store.job(owner, job_id).await.unwrap().unwrap();
    assert_eq!(stored.attempts, 2);
    assert!(stored.logs.contains("resumed;"), "{}", stored.logs);
}
