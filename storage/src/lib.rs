//! The control plane's storage: one [`Store`] trait, implemented once by
//! [`SqlStore`] for both PostgreSQL (production) and SQLite (the embedded
//! default).
//!
//! This crate is the only place in the workspace that contains SQL, and each
//! query is written once: `sql/` holds the body, generic over the sqlx
//! backend and cut by resource, and each backend's [`Dialect`] only what
//! differs (connecting, the JSON functions for tags). The backend is chosen by
//! the scheme of the database URL ([`connect`]); each applies its own
//! migrations (`migrations/postgres`, `migrations/sqlite`) before it is
//! handed out.
#![forbid(unsafe_code)]

mod dashboard;
mod model;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use dashboard::{
    AgentFilter, DeploymentSummary, DraftWrite, FleetSite, SeenTimes, SiteFilter, TagCount,
    UsageSince,
};
pub use model::*;
pub use sql::{Built, Column, Dialect, PostgresStore, RowsAffected, SqlStore, SqliteStore};

/// What can go wrong talking to storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value (such as a user's email) is already taken.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The database URL cannot be used.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// Applying migrations failed.
    #[error("migrating the database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Result of a storage call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// The backend a database URL names, by its scheme.
    pub fn for_url(url: &str) -> Result<Self> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "sqlite" => Ok(Self::Sqlite),
            _ => Err(StoreError::InvalidUrl(format!(
                "unsupported scheme {scheme:?}; use postgres:// or sqlite://"
            ))),
        }
    }
}

/// Everything the control plane reads from and writes to its database.
///
/// Every method that reads or changes a user's site or job takes the owner's
/// id and matches on it in the query itself, so a caller cannot forget the
/// ownership check: another user's record is simply not found.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which database this is.
    fn backend(&self) -> Backend;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;

    /// Closes the connection pool, waiting for connections in use.
    async fn close(&self);

    // Users

    /// Creates a user; [`StoreError::Conflict`] if the email is taken.
    async fn create_user(&self, user: &NewUser) -> Result<User>;
    /// The user with this (lower-cased) email.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    /// The user with this id.
    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>>;
    /// Sets a user's role; false if there is no such user.
    async fn set_user_role(&self, email: &str, role: Role) -> Result<bool>;
    /// Users in creation order.
    async fn list_users(&self, page: Page) -> Result<Vec<User>>;

    // Refresh tokens

    /// Stores the first token of a new family (a login).
    async fn start_refresh_family(&self, user_id: Uuid, token: &NewRefreshToken) -> Result<Uuid>;
    /// Uses the token with `presented_hash` and, if it was live, stores `next` in its family.
    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        next: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> Result<Rotation>;
    /// Revokes the family of the token with this hash (logout); false if no such token.
    async fn revoke_refresh_family(
        &self,
        presented_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<bool>;

    // Sites

    /// Creates a site.
    async fn create_site(&self, site: &NewSite) -> Result<Site>;
    /// The owner's sites, in creation order.
    async fn list_sites(&self, owner: Uuid, page: Page) -> Result<Vec<Site>>;
    /// One of the owner's sites.
    async fn site(&self, owner: Uuid, id: Uuid) -> Result<Option<Site>>;
    /// Changes one of the owner's sites; `None` if the owner has no such site.
    async fn update_site(
        &self,
        owner: Uuid,
        id: Uuid,
        patch: &SitePatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Site>>;
    /// Deletes one of the owner's sites and its jobs; false if there is no such site.
    async fn delete_site(&self, owner: Uuid, id: Uuid) -> Result<bool>;

    // Jobs

    /// Creates a queued job on one of the owner's sites; `None` if there is no such site.
    async fn create_job(&self, job: &NewJob) -> Result<Option<Job>>;
    /// One of the owner's jobs.
    async fn job(&self, owner: Uuid, id: Uuid) -> Result<Option<Job>>;

    // Subscriptions

    /// The user's subscription, if they have one.
    async fn subscription(&self, user_id: Uuid) -> Result<Option<Subscription>>;

    // Fleet

    /// Stores an enrollment token for one of the owner's sites; false if there is no such site.
    async fn create_enrollment_token(
        &self,
        owner: Uuid,
        token: &NewEnrollmentToken,
    ) -> Result<bool>;
    /// Uses an enrollment token (once, within its lifetime) to register an
    /// agent for the token's site, revoking the site's earlier agent.
    async fn enroll_agent(
        &self,
        token_hash: &[u8],
        agent: &NewAgent,
        now: DateTime<Utc>,
    ) -> Result<Enrollment>;
    /// The agent with this id, revoked or not (for the connection handshake).
    async fn agent(&self, id: Uuid) -> Result<Option<Agent>>;
    /// The live agent of one of the owner's sites.
    async fn site_agent(&self, owner: Uuid, site_id: Uuid) -> Result<Option<Agent>>;
    /// Revokes the live agent of one of the owner's sites; its id, or `None` if there was none.
    async fn revoke_site_agent(
        &self,
        owner: Uuid,
        site_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>>;
    /// Records when agents were last heard from, in one batch.
    async fn record_agents_seen(&self, seen: &[(Uuid, DateTime<Utc>)]) -> Result<()>;
    /// Stores a release and one signed deployment per site, each with the
    /// site's next sequence number, all or nothing. `None` (and nothing
    /// written) if any site is not the owner's.
    async fn create_deployments(
        &self,
        owner: Uuid,
        release: &NewRelease,
        site_ids: &[Uuid],
        sign: &SignManifest<'_>,
    ) -> Result<Option<Vec<Deployment>>>;
    /// A site's deployments not yet confirmed by its agent, in sequence order.
    async fn outbox(&self, site_id: Uuid) -> Result<Vec<Deployment>>;
    /// How many deployments of every user are in each status (statuses with
    /// none are left out): for metrics.
    async fn deployment_counts(&self) -> Result<Vec<(DeploymentStatus, i64)>>;
    /// The payload of a release.
    async fn release_payload(&self, release_id: Uuid) -> Result<Option<Vec<u8>>>;
    /// Records what agents reported about deployments, in one transaction:
    /// `(site, deployment, report)` each. For each, false if the report does
    /// not apply (unknown, another site's, or already final).
    async fn report_deliveries(
        &self,
        reports: &[(Uuid, Uuid, DeliveryReport)],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>>;
    /// [`Store::report_deliveries`] for one report.
    async fn report_delivery(
        &self,
        site_id: Uuid,
        deployment_id: Uuid,
        report: &DeliveryReport,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let reports = [(site_id, deployment_id, report.clone())];
        Ok(self
            .report_deliveries(&reports, now)
            .await?
            .first()
            .copied()
            .unwrap_or(false))
    }
    /// Keeps what a site's agent last reported about its WordPress.
    async fn record_site_inventory(
        &self,
        site_id: Uuid,
        inventory: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Keeps the site's latest drift report.
    async fn record_site_drift(
        &self,
        site_id: Uuid,
        drift: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// One of the owner's deployments.
    async fn deployment(&self, owner: Uuid, id: Uuid) -> Result<Option<Deployment>>;
    /// Deployments of one of the owner's sites, newest first.
    async fn site_deployments(
        &self,
        owner: Uuid,
        site_id: Uuid,
        limit: u32,
    ) -> Result<Vec<Deployment>>;

    // Generation

    /// Creates a site (normally `generating`) and its queued job working from `input`, together.
    async fn create_site_with_job(
        &self,
        site: &NewSite,
        job: &NewJob,
        input: &serde_json::Value,
    ) -> Result<Job>;
    /// Queues a job working from `input` on one of the owner's sites; `None` if
    /// there is no such site, [`StoreError::Conflict`] if a generation job on it is unfinished.
    async fn create_job_with_input(
        &self,
        job: &NewJob,
        input: &serde_json::Value,
    ) -> Result<Option<Job>>;
    /// Takes one of the owner's jobs for `worker` until `lease_until`, if it is
    /// queued or its holder's lease ran out; `None` otherwise (finished, held, or not theirs).
    async fn claim_job(
        &self,
        job: JobRef,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedJob>>;
    /// Extends `worker`'s lease on a running job; false if it no longer holds it.
    async fn renew_job_lease(
        &self,
        job: JobRef,
        worker: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool>;
    /// Records progress and a log line on a job `worker` holds; false if it no longer holds it.
    async fn record_job_progress(
        &self,
        job: JobRef,
        worker: &str,
        progress: i16,
        stage: &str,
        log_line: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Completes a job `worker` holds, storing `draft` as its site's draft (and
    /// the site as `draft`) in the same transaction; true only for the one call that completes it.
    async fn complete_job(
        &self,
        job: JobRef,
        worker: &str,
        draft: Option<&serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Fails an unfinished job with `reason`: one `worker` holds, or (`None`,
    /// the dead letter) one no live lease holds. False if neither applies.
    async fn fail_job(
        &self,
        job: JobRef,
        worker: Option<&str>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Puts a job `worker` holds back in the queue (the worker is stopping);
    /// false if it no longer holds it.
    async fn release_job(&self, job: JobRef, worker: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Jobs queued and untouched since `before`, or running on a lease that ran
    /// out: put back to `queued`, touched, and returned to be enqueued again.
    /// Spans all users: the queue's reconciler calls it, never a request.
    async fn requeue_stale_jobs(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<JobRef>>;
    /// Stores (or replaces) the output of one stage of one of the owner's jobs.
    async fn save_stage_output(
        &self,
        job: JobRef,
        stage: &str,
        output: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// The stored stage outputs of one of the owner's jobs.
    async fn stage_outputs(&self, job: JobRef) -> Result<Vec<StageOutput>>;
    /// The draft of one of the owner's sites.
    async fn site_draft(&self, owner: Uuid, site_id: Uuid) -> Result<Option<SiteDraftRecord>>;
    /// Records the tokens a model call used.
    async fn record_token_usage(&self, usage: &NewTokenUsage) -> Result<()>;
    /// Queued and running jobs of every user, and the oldest queued job's age: for metrics.
    async fn job_queue_stats(&self) -> Result<JobQueueStats>;
    /// Tokens used by one of the owner's jobs.
    async fn job_token_usage(&self, owner: Uuid, job_id: Uuid) -> Result<TokenCounts>;
    /// Tokens used by the user, over all jobs.
    async fn user_token_usage(&self, owner: Uuid) -> Result<TokenCounts>;
    /// A cached model response by its key.
    async fn cached_model_response(&self, key: &str) -> Result<Option<serde_json::Value>>;
    /// Caches a model response under its key.
    async fn cache_model_response(
        &self,
        key: &str,
        response: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<()>;

    // Dashboard

    /// The owner's sites that pass `filter`, each with its live agent and
    /// latest deployment, in creation order after `page.after`.
    async fn fleet_sites(
        &self,
        owner: Uuid,
        filter: &SiteFilter,
        page: Page,
    ) -> Result<Vec<FleetSite>>;
    /// How many of the owner's sites pass `filter`.
    async fn count_fleet_sites(&self, owner: Uuid, filter: &SiteFilter) -> Result<i64>;
    /// The tags on the owner's sites (`metadata.tags`), with how many sites carry each.
    async fn site_tags(&self, owner: Uuid) -> Result<Vec<TagCount>>;
    /// Jobs of one of the owner's sites, newest first.
    async fn site_jobs(&self, owner: Uuid, site_id: Uuid, limit: u32) -> Result<Vec<Job>>;
    /// What one of the owner's jobs works from.
    async fn job_input(&self, owner: Uuid, job_id: Uuid) -> Result<Option<serde_json::Value>>;
    /// Those of these deployments that are the owner's.
    async fn deployments_by_ids(&self, owner: Uuid, ids: &[Uuid]) -> Result<Vec<Deployment>>;
    /// Replaces the draft of one of the owner's sites if it is still the one
    /// read at `read_at` and no generation job on the site is unfinished.
    async fn write_site_draft(
        &self,
        owner: Uuid,
        site_id: Uuid,
        read_at: DateTime<Utc>,
        draft: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<DraftWrite>;
    /// The owner's sites now, and generations, deployments and tokens since `since`.
    async fn usage_since(&self, owner: Uuid, since: DateTime<Utc>) -> Result<UsageSince>;
}

/// Opens the database a URL names, applies its migrations, and returns it.
pub async fn connect(url: &str) -> Result<Box<dyn Store>> {
    Ok(match Backend::for_url(url)? {
        Backend::Postgres => Box::new(PostgresStore::connect(url).await?),
        Backend::Sqlite => Box::new(SqliteStore::connect(url).await?),
    })
}
