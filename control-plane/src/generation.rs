//! Generation at run time, composed from the settings: the model provider
//! (the Anthropic client behind a response cache, or the offline engine) and
//! the orchestrator from the `gsw_generation` crate, with this crate's job
//! queue, workers and event broadcast. Shared by the API handlers and the
//! workers. The dependency runs one way: the control plane uses
//! `gsw_generation`, which knows nothing of queues, HTTP or [`Settings`].

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::Utc;
use gsw_generation::agents::Agents;
use gsw_generation::anthropic::{AnthropicClient, Backoff};
use gsw_generation::offline::OfflineEngine;
use gsw_generation::orchestrator::Orchestrator;
use gsw_generation::provider::{
    CachedProvider, ModelError, ModelProvider, ModelReply, ModelRequest, ModelRoutes, RedisCache,
    ResponseCache, StoreCache,
};
use gsw_storage::{Job, JobKind, JobRef, NewJob, Store};
use uuid::Uuid;

use crate::error::AppError;
use crate::events::JobEvents;
use crate::metrics::Metrics;
use crate::photos::PhotoLibrary;
use crate::queue::memory::MemoryQueue;
use crate::queue::redis::RedisQueue;
use crate::queue::worker::Worker;
use crate::queue::JobQueue;
use crate::settings::Settings;

/// Everything generation needs, cheap to clone.
#[derive(Clone)]
pub struct Generation {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub events: JobEvents,
    pub orchestrator: Orchestrator,
    /// This process's metrics: job outcomes and model tokens are counted here.
    pub metrics: Arc<Metrics>,
    settings: Arc<Settings>,
}

impl Generation {
    /// Builds it from the settings: Anthropic with a response cache when an
    /// API key is set (the offline engine otherwise); Redis Streams when
    /// `redis_url` is set (the in-process queue otherwise).
    pub async fn from_settings(
        settings: &Settings,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let redis = match &settings.redis_url {
            Some(url) => {
                let client = redis::Client::open(url.expose()).context("reading redis_url")?;
                let manager = redis::aio::ConnectionManager::new(client.clone())
                    .await
                    .context("connecting to Redis")?;
                Some((client, manager))
            }
            None => None,
        };
        let provider: Arc<dyn ModelProvider> = match &settings.anthropic_api_key {
            Some(key) => {
                let client = AnthropicClient::new(
                    &settings.anthropic_base_url,
                    key.expose(),
                    Backoff {
                        max_attempts: settings.anthropic_max_attempts,
                        base: Duration::from_millis(settings.anthropic_backoff_base_ms),
                        max: Duration::from_millis(settings.anthropic_backoff_max_ms),
                    },
                    Duration::from_secs(settings.anthropic_timeout_secs),
                )?;
                let cache: Arc<dyn ResponseCache> = match &redis {
                    Some((_, redis)) => Arc::new(RedisCache {
                        redis: redis.clone(),
                        prefix: format!("{}:cache:", settings.queue_stream),
                        ttl_secs: settings.model_cache_ttl_secs,
                    }),
                    None => Arc::new(StoreCache(store.clone())),
                };
                Arc::new(CachedProvider {
                    inner: Arc::new(client),
                    cache,
                })
            }
            None => Arc::new(OfflineEngine),
        };
        let provider: Arc<dyn ModelProvider> = Arc::new(MeteredProvider {
            inner: provider,
            metrics: metrics.clone(),
        });
        let queue: Arc<dyn JobQueue> = match redis {
            Some((client, _)) => Arc::new(
                RedisQueue::connect(
                    &client,
                    &settings.queue_stream,
                    Duration::from_secs(settings.queue_visibility_timeout_secs),
                )
                .await?,
            ),
            None => Arc::new(MemoryQueue::default()),
        };
        let photos = PhotoLibrary::from_settings(settings)?;
        tracing::info!(
            provider = provider.name(),
            queue = queue.name(),
            photos = gsw_generation::photos::PhotoSource::name(&photos),
            "generation ready"
        );
        let orchestrator = Orchestrator {
            store: store.clone(),
            agents: Agents {
                provider,
                routes: ModelRoutes {
                    small: settings.anthropic_small_model.clone(),
                    large: settings.anthropic_large_model.clone(),
                },
            },
            page_concurrency: settings.generation_page_concurrency,
            photos: photos
                .enabled()
                .then(|| Arc::new(photos) as Arc<dyn gsw_generation::photos::PhotoSource>),
        };
        Ok(Self {
            store,
            queue,
            events: JobEvents::default(),
            orchestrator,
            metrics,
            settings: Arc::new(settings.clone()),
        })
    }

    /// A worker over this set-up, named uniquely for this process.
    pub fn worker(&self) -> Worker {
        Worker {
            id: format!(
                "worker-{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            store: self.store.clone(),
            queue: self.queue.clone(),
            orchestrator: self.orchestrator.clone(),
            events: self.events.clone(),
            visibility: Duration::from_secs(self.settings.queue_visibility_timeout_secs.max(1)),
            max_deliveries: u64::from(self.settings.queue_max_deliveries.max(1)),
            concurrency: self.settings.worker_concurrency.max(1),
            reconcile_every: Duration::from_secs(self.settings.queue_reconcile_secs.max(1)),
            running: Default::default(),
            metrics: self.metrics.clone(),
            heartbeat: Default::default(),
        }
    }

    /// Creates a queued job of `kind` on one of `owner`'s sites, working from
    /// `input`, and puts it on the queue. `NotFound` if the site is not the
    /// owner's; `Conflict` while another generation on the site is unfinished.
    pub async fn start_job(
        &self,
        owner: Uuid,
        site_id: Uuid,
        kind: JobKind,
        input: &serde_json::Value,
    ) -> Result<Job, AppError> {
        let job = NewJob {
            id: Uuid::now_v7(),
            site_id,
            user_id: owner,
            kind,
            created_at: Utc::now(),
        };
        let job = self
            .store
            .create_job_with_input(&job, input)
            .await?
            .ok_or(AppError::NotFound("site"))?;
        self.enqueue(JobRef {
            job_id: job.id,
            user_id: owner,
        })
        .await;
        Ok(job)
    }

    /// Puts a job on the queue. If that fails the job is still queued in the
    /// database, and the reconciler enqueues it later.
    pub async fn enqueue(&self, job: JobRef) {
        if let Err(err) = self.queue.enqueue(&[job]).await {
            tracing::warn!(error = %err, job = %job.job_id, "enqueueing failed; the reconciler will retry");
        }
    }
}

/// Counts the tokens of every model reply, by model, into the metrics: the
/// same usage the orchestrator records per job (a cached reply's is zero).
struct MeteredProvider {
    inner: Arc<dyn ModelProvider>,
    metrics: Arc<Metrics>,
}

#[async_trait::async_trait]
impl ModelProvider for MeteredProvider {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn generate(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        let reply = self.inner.generate(request).await?;
        self.metrics.tokens.add(&reply.model, reply.tokens);
        Ok(reply)
    }

    async fn reject(&self, request: &ModelRequest) {
        self.inner.reject(request).await
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Generation {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<Generation>()
            .cloned()
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("generation is not set up on this router"))
            })
    }
}
