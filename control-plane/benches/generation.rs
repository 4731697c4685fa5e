//! Figures for docs/benchmarks.md:
//!
//! 1. the Redis queue: no-op jobs per second, enqueue to completion (ack);
//! 2. the offline engine: wall time of an 8-page site;
//! 3. with a fake model server that delays each answer: the wall time of a
//!    generation against planning + design + the slowest page.
//!
//! `cargo bench -p gsw-control-plane --bench generation` (needs Redis at
//! `GSW_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`).

#[path = "../tests/api/fake_anthropic.rs"]
#[allow(dead_code)]
mod fake_anthropic;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use gsw_control_plane::queue::redis::RedisQueue;
use gsw_control_plane::queue::JobQueue;
use gsw_generation::agents::Agents;
use gsw_generation::anthropic::{AnthropicClient, Backoff};
use gsw_generation::draft::Brief;
use gsw_generation::offline::OfflineEngine;
use gsw_generation::orchestrator::{generate_in_memory, JobInput, Orchestrator, Progress};
use gsw_generation::provider::{ModelProvider, ModelRoutes};
use gsw_storage::{JobKind, JobRef, NewJob, NewSite, NewUser, Role, SiteStatus, Store};
use uuid::Uuid;

fn brief() -> Brief {
    Brief {
        business_name: "Clearwater Dental".into(),
        business_type: "dental clinic".into(),
        description:
            "Family dentist in Bristol offering check-ups and whitening for nervous patients."
                .into(),
        goals: vec![
            "Online appointment booking".into(),
            "Be found on Google".into(),
        ],
        style: None,
        ..Default::default()
    }
}

async fn queue_throughput(jobs: usize, consumers: usize) -> f64 {
    let url =
        std::env::var("GSW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let client = redis::Client::open(url).expect("redis url");
    let stream = format!("gsw:bench:{}", Uuid::new_v4().simple());
    let producer = RedisQueue::connect(&client, &stream, Duration::from_secs(60))
        .await
        .expect("Redis");
    let refs: Vec<JobRef> = (0..jobs)
        .map(|_| JobRef {
            job_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
        })
        .collect();
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for n in 0..consumers {
        let queue = RedisQueue::connect(&client, &stream, Duration::from_secs(60))
            .await
            .expect("Redis");
        let done = done.clone();
        workers.push(tokio::spawn(async move {
            let consumer = format!("bench-{n}");
            while done.load(std::sync::atomic::Ordering::Relaxed) < jobs {
                let batch = queue
                    .receive(&consumer, 1000, Duration::from_millis(20))
                    .await
                    .expect("receive");
                if batch.is_empty() {
                    continue;
                }
                // A no-op job: nothing to do but acknowledge it.
                queue.ack(&batch).await.expect("ack");
                done.fetch_add(batch.len(), std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for chunk in refs.chunks(1000) {
        producer.enqueue(chunk).await.expect("enqueue");
    }
    for worker in workers {
        worker.await.expect("consumer");
    }
    let elapsed = started.elapsed();
    let mut conn = redis::aio::ConnectionManager::new(client)
        .await
        .expect("Redis");
    let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&stream).query_async(&mut conn).await;
    jobs as f64 / elapsed.as_secs_f64()
}

/// A store with a user, a site and a claimed generation job on it.
async fn claimed_job(store: &Arc<dyn Store>, brief: &Brief) -> (JobRef, Uuid) {
    let user = store
        .create_user(&NewUser {
            id: Uuid::now_v7(),
            email: format!("{}@bench.example", Uuid::new_v4().simple()),
            password_hash: "x".into(),
            role: Role::User,
            created_at: Utc::now(),
        })
        .await
        .expect("user");
    let site = NewSite {
        id: Uuid::now_v7(),
        user_id: user.id,
        name: brief.business_name.clone(),
        domain: None,
        wp_admin_url: None,
        status: SiteStatus::Generating,
        metadata: serde_json::json!({}),
        created_at: Utc::now(),
    };
    let job = NewJob {
        id: Uuid::now_v7(),
        site_id: site.id,
        user_id: user.id,
        kind: JobKind::Generation,
        created_at: Utc::now(),
    };
    let input = serde_json::to_value(JobInput::Generate {
        brief: brief.clone(),
    })
    .expect("input");
    store
        .create_site_with_job(&site, &job, &input)
        .await
        .expect("job");
    let job = JobRef {
        job_id: job.id,
        user_id: user.id,
    };
    store
        .claim_job(
            job,
            "bench",
            Utc::now(),
            Utc::now() + chrono::Duration::hours(1),
        )
        .await
        .expect("claim")
        .expect("claimed");
    (job, site.id)
}

/// One generation through the real orchestrator, stage outputs stored in SQLite.
async fn orchestrated(
    store: &Arc<dyn Store>,
    provider: Arc<dyn ModelProvider>,
    brief: &Brief,
) -> (Duration, usize) {
    let (job, site_id) = claimed_job(store, brief).await;
    let orchestrator = Orchestrator {
        store: store.clone(),
        agents: Agents {
            provider,
            routes: ModelRoutes {
                small: "small".into(),
                large: "large".into(),
            },
        },
        page_concurrency: 8,
        photos: None,
    };
    let progress = Progress {
        store: store.clone(),
        events: (),
        job,
        worker: "bench".into(),
    };
    let input = serde_json::to_value(JobInput::Generate {
        brief: brief.clone(),
    })
    .expect("input");
    let started = Instant::now();
    let draft = orchestrator
        .run(job, site_id, &input, &progress)
        .await
        .expect("generation");
    (started.elapsed(), draft.pages.len())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::from(
        gsw_storage::connect(&format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        ))
        .await
        .expect("sqlite"),
    );

    // 1. Queue.
    let jobs = 100_000;
    for consumers in [1, 4] {
        let rate = queue_throughput(jobs, consumers).await;
        println!(
            "queue: {jobs} no-op jobs through Redis with {consumers} consumer(s): {rate:.0} jobs/s"
        );
    }

    // 2. Offline engine.
    let agents = Agents {
        provider: Arc::new(OfflineEngine),
        routes: ModelRoutes {
            small: "s".into(),
            large: "l".into(),
        },
    };
    let brief = brief();
    let pages = generate_in_memory(&agents, &brief, 8)
        .await
        .expect("offline")
        .pages
        .len();
    let runs = 200;
    let started = Instant::now();
    for _ in 0..runs {
        generate_in_memory(&agents, &brief, 8)
            .await
            .expect("offline");
    }
    let in_memory = started.elapsed() / runs;
    let mut stored = Vec::new();
    for _ in 0..20 {
        stored.push(
            orchestrated(&store, Arc::new(OfflineEngine), &brief)
                .await
                .0,
        );
    }
    stored.sort();
    println!(
        "offline: {pages}-page site in {:.2} ms (engine and renderer, mean of {runs}); {:.2} ms median through the orchestrator with every stage stored in SQLite",
        ms(in_memory),
        ms(stored[stored.len() / 2])
    );

    // 3. Fake model server with delays.
    let fake = fake_anthropic::FakeAnthropic::start().await;
    let (planning, design, page, plugins) = (
        Duration::from_millis(400),
        Duration::from_millis(300),
        Duration::from_millis(600),
        Duration::from_millis(300),
    );
    fake.delay("record_sitemap", planning);
    fake.delay("record_design", design);
    fake.delay("record_page", page);
    fake.delay("record_plugins", plugins);
    let backoff = Backoff {
        max_attempts: 1,
        base: Duration::from_millis(10),
        max: Duration::from_secs(1),
    };
    let client: Arc<dyn ModelProvider> = Arc::new(
        AnthropicClient::new(&fake.url, "sk-bench", backoff, Duration::from_secs(30))
            .expect("client"),
    );
    let (wall, pages) = orchestrated(&store, client, &brief).await;
    let budget = planning + design + page;
    println!(
        "delayed model: {pages} pages in {:.0} ms; planning {} + design {} + slowest page {} = {} ms, x1.3 = {:.0} ms; ratio {:.2} (plugins {} ms included in the wall time; pages one after another would take {} ms)",
        ms(wall),
        planning.as_millis(),
        design.as_millis(),
        page.as_millis(),
        budget.as_millis(),
        ms(budget) * 1.3,
        wall.as_secs_f64() / budget.as_secs_f64(),
        plugins.as_millis(),
        (planning + design + page * pages as u32 + plugins).as_millis(),
    );
    assert!(
        wall.as_secs_f64() <= budget.as_secs_f64() * 1.3,
        "generation wall time over budget"
    );
    assert!(ms(in_memory) < 100.0, "offline engine over 100 ms");
}
