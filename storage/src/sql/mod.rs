//! The one SQL body of the [`Store`]: [`SqlStore`], generic over the sqlx
//! backend, so that every query is written once and runs on PostgreSQL and
//! SQLite alike (sqlx encodes the binds for each).
//!
//! Only what truly differs lives in each backend's [`Dialect`] (`postgres.rs`,
//! `sqlite.rs`): connect options, pool size and migrations, the
//! case-insensitive `LIKE`, the JSON functions that find a site's tags, and a
//! sqlx call generic code cannot make (shortening a built query's arguments).
//! Portable SQL covers the rest: `CASE WHEN` for `GREATEST`/`MAX`,
//! `CAST(.. AS BIGINT)`, `IN (..)` lists, `RETURNING`.
//!
//! The queries are cut by resource, each module an inherent `impl` block of
//! `Queries` (the pool): `accounts` (users, refresh tokens, sites, jobs),
//! `fleet` (enrollment, agents, releases, deployments), `generation` (leased
//! jobs, stage outputs, drafts, tokens, the model cache) and `dashboard`. The
//! [`Store`] impl below hands each call to the `Queries` method of its name.
//!
//! Each block lists in its `where` clause the sqlx bounds its queries need,
//! and the [`Store`] impl all of them: Rust does not imply a trait's `where`
//! clauses where the trait is used (rust-lang/rust#20671), so [`Dialect`]
//! cannot carry them once for all.

mod accounts;
mod dashboard;
mod fleet;
mod generation;
mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::{Migrate, Migrator};
use sqlx::pool::PoolOptions;
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{
    ColumnIndex, Connection, Database, Decode, Encode, Executor, FromRow, IntoArguments, Pool,
    QueryBuilder, Row, Type,
};
use uuid::Uuid;

use crate::{
    Agent, Backend, ClaimedJob, DeliveryReport, Deployment, DeploymentStatus, DraftWrite,
    Enrollment, FleetSite, Job, JobQueueStats, JobRef, NewAgent, NewEnrollmentToken, NewJob,
    NewRefreshToken, NewRelease, NewSite, NewTokenUsage, NewUser, Page, Result, Role, Rotation,
    SignManifest, Site, SiteDraftRecord, SiteFilter, SitePatch, StageOutput, Store, StoreError,
    Subscription, TagCount, TokenCounts, UsageSince, User,
};

/// What one backend does its own way; everything else is shared SQL.
pub trait Dialect: Database<Connection: Migrate, QueryResult: RowsAffected> {
    /// Which backend this is.
    const BACKEND: Backend;

    /// The operator for a case-insensitive `LIKE`.
    const ILIKE: &'static str;

    /// `(tag, sites)` for each text tag in the `metadata.tags` of the sites of `$1`, by tag.
    const SITE_TAGS: &'static str;

    /// This backend's migrations (`migrations/postgres` or `migrations/sqlite`).
    const MIGRATOR: Migrator;

    /// How to connect to the database at `url`.
    fn connect_options(url: &str) -> Result<<Self::Connection as Connection>::Options>;

    /// How many connections to keep, and how long to wait for one.
    fn pool_options() -> PoolOptions<Self>;

    /// Pushes a condition: the site `s` carries `tag` in its `metadata.tags`.
    fn push_has_tag<'a>(query: &mut QueryBuilder<'a, Self>, tag: &'a str);

    /// [`QueryBuilder::build`], its arguments' lifetime shortened to the
    /// builder's borrow: generic code cannot shorten a `DB::Arguments<'args>`
    /// itself, and without it the builder stays borrowed until it is dropped.
    fn build<'qb, 'args: 'qb>(query: &'qb mut QueryBuilder<'args, Self>) -> Built<'qb, Self>;
}

/// A query built by [`Dialect::build`].
pub type Built<'qb, DB> = Query<'qb, DB, <DB as Database>::Arguments<'qb>>;

/// A statement's outcome: how many rows it changed. Each backend's result
/// has the method, but sqlx has no trait for generic code to call it by.
pub trait RowsAffected {
    /// How many rows the statement changed.
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// A Rust type the shared SQL both binds and reads on backend `DB`.
pub trait Column<DB: Database>:
    for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send
{
}

impl<DB: Database, T> Column<DB> for T where
    T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send
{
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`].
fn conflict_on_unique(err: sqlx::Error, what: &'static str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(err),
    }
}

/// Rows per statement in bulk writes and reads by id (creating deployments
/// binds 11 a row, well under SQLite's 32,766 and PostgreSQL's 65,535 bind limits).
const DEPLOY_CHUNK: usize = 500;

/// Clamps a page size to what one query may return.
fn page_limit(page: Page) -> i64 {
    i64::from(page.limit.clamp(1, 500))
}

/// Token totals from a `SUM` row.
fn token_counts((input, output, cache_read, cache_creation): (i64, i64, i64, i64)) -> TokenCounts {
    TokenCounts {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: cache_read,
        cache_creation_tokens: cache_creation,
    }
}

/// [`Store`] on a database of backend `DB`.
#[derive(Debug)]
pub struct SqlStore<DB: Database> {
    queries: Queries<DB>,
}

// Derived Clone would ask for `DB: Clone`, which no backend marker is.
impl<DB: Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            queries: Queries {
                pool: self.queries.pool.clone(),
            },
        }
    }
}

/// The shared SQL, run on one pool: an inherent method per [`Store`] method,
/// in the module of its resource. A type apart from [`SqlStore`] so that a
/// bound missing from the [`Store`] impl is an error, not a call back into
/// the trait's method of the same name.
#[derive(Debug)]
struct Queries<DB: Database> {
    pool: Pool<DB>,
}

/// Decodes rows (from a [`Dialect::build`] query) into records.
fn from_rows<R: Row, T: for<'r> FromRow<'r, R>>(rows: Vec<R>) -> sqlx::Result<Vec<T>> {
    rows.iter().map(T::from_row).collect()
}

/// [`Store`] on a PostgreSQL database.
pub type PostgresStore = SqlStore<sqlx::Postgres>;

/// [`Store`] on an SQLite file.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

impl<DB: Dialect> SqlStore<DB> {
    /// Connects to the database at `url` (its scheme must be this backend's) and migrates it.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = DB::pool_options()
            .connect_with(DB::connect_options(url)?)
            .await?;
        DB::MIGRATOR.run(&pool).await?;
        Ok(Self {
            queries: Queries { pool },
        })
    }
}

#[async_trait]
impl<DB> Store for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> Json<&'q serde_json::Value>: Encode<'q, DB> + Type<DB>,
    Json<serde_json::Value>: Column<DB>,
    Uuid: Column<DB>,
    String: Column<DB>,
    Option<String>: Column<DB>,
    Option<Uuid>: Column<DB>,
    for<'q> Option<Json<&'q serde_json::Value>>: Encode<'q, DB> + Type<DB>,
    Vec<u8>: Column<DB>,
    DateTime<Utc>: Column<DB>,
    Option<DateTime<Utc>>: Column<DB>,
    i64: Column<DB>,
    i16: Column<DB>,
    bool: Column<DB>,
    for<'r> User: FromRow<'r, DB::Row>,
    for<'r> Site: FromRow<'r, DB::Row>,
    for<'r> Job: FromRow<'r, DB::Row>,
    for<'r> Subscription: FromRow<'r, DB::Row>,
    for<'r> Agent: FromRow<'r, DB::Row>,
    for<'r> Deployment: FromRow<'r, DB::Row>,
{
    fn backend(&self) -> Backend {
        DB::BACKEND
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.queries.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.queries.pool.close().await;
    }

    async fn create_user(&self, user: &NewUser) -> Result<User> {
        self.queries.create_user(user).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        self.queries.user_by_email(email).await
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>> {
        self.queries.user_by_id(id).await
    }

    async fn set_user_role(&self, email: &str, role: Role) -> Result<bool> {
        self.queries.set_user_role(email, role).await
    }

    async fn list_users(&self, page: Page) -> Result<Vec<User>> {
        self.queries.list_users(page).await
    }

    async fn start_refresh_family(&self, user_id: Uuid, token: &NewRefreshToken) -> Result<Uuid> {
        self.queries.start_refresh_family(user_id, token).await
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        next: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> Result<Rotation> {
        self.queries
            .rotate_refresh_token(presented_hash, next, now)
            .await
    }

    async fn revoke_refresh_family(
        &self,
        presented_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.queries
            .revoke_refresh_family(presented_hash, now)
            .await
    }

    async fn create_site(&self, site: &NewSite) -> Result<Site> {
        self.queries.create_site(site).await
    }

    async fn list_sites(&self, owner: Uuid, page: Page) -> Result<Vec<Site>> {
        self.queries.list_sites(owner, page).await
    }

    async fn site(&self, owner: Uuid, id: Uuid) -> Result<Option<Site>> {
        self.queries.site(owner, id).await
    }

    async fn update_site(
        &self,
        owner: Uuid,
        id: Uuid,
        patch: &SitePatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Site>> {
        self.queries.update_site(owner, id, patch, now).await
    }

    async fn delete_site(&self, owner: Uuid, id: Uuid) -> Result<bool> {
        self.queries.delete_site(owner, id).await
    }

    async fn create_job(&self, job: &NewJob) -> Result<Option<Job>> {
        self.queries.create_job(job).await
    }

    async fn job(&self, owner: Uuid, id: Uuid) -> Result<Option<Job>> {
        self.queries.job(owner, id).await
    }

    async fn subscription(&self, user_id: Uuid) -> Result<Option<Subscription>> {
        self.queries.subscription(user_id).await
    }

    async fn create_enrollment_token(
        &self,
        owner: Uuid,
        token: &NewEnrollmentToken,
    ) -> Result<bool> {
        self.queries.create_enrollment_token(owner, token).await
    }

    async fn enroll_agent(
        &self,
        token_hash: &[u8],
        agent: &NewAgent,
        now: DateTime<Utc>,
    ) -> Result<Enrollment> {
        self.queries.enroll_agent(token_hash, agent, now).await
    }

    async fn agent(&self, id: Uuid) -> Result<Option<Agent>> {
        self.queries.agent(id).await
    }

    async fn site_agent(&self, owner: Uuid, site_id: Uuid) -> Result<Option<Agent>> {
        self.queries.site_agent(owner, site_id).await
    }

    async fn revoke_site_agent(
        &self,
        owner: Uuid,
        site_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>> {
        self.queries.revoke_site_agent(owner, site_id, now).await
    }

    async fn record_agents_seen(&self, seen: &[(Uuid, DateTime<Utc>)]) -> Result<()> {
        self.queries.record_agents_seen(seen).await
    }

    async fn create_deployments(
        &self,
        owner: Uuid,
        release: &NewRelease,
        site_ids: &[Uuid],
        sign: &SignManifest<'_>,
    ) -> Result<Option<Vec<Deployment>>> {
        self.queries
            .create_deployments(owner, release, site_ids, sign)
            .await
    }

    async fn outbox(&self, site_id: Uuid) -> Result<Vec<Deployment>> {
        self.queries.outbox(site_id).await
    }

    async fn deployment_counts(&self) -> Result<Vec<(DeploymentStatus, i64)>> {
        self.queries.deployment_counts().await
    }

    async fn release_payload(&self, release_id: Uuid) -> Result<Option<Vec<u8>>> {
        self.queries.release_payload(release_id).await
    }

    async fn report_deliveries(
        &self,
        reports: &[(Uuid, Uuid, DeliveryReport)],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>> {
        self.queries.report_deliveries(reports, now).await
    }

    async fn record_site_inventory(
        &self,
        site_id: Uuid,
        inventory: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.queries
            .record_site_inventory(site_id, inventory, at)
            .await
    }

    async fn record_site_drift(
        &self,
        site_id: Uuid,
        drift: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.queries.record_site_drift(site_id, drift, at).await
    }

    async fn deployment(&self, owner: Uuid, id: Uuid) -> Result<Option<Deployment>> {
        self.queries.deployment(owner, id).await
    }

    async fn site_deployments(
        &self,
        owner: Uuid,
        site_id: Uuid,
        limit: u32,
    ) -> Result<Vec<Deployment>> {
        self.queries.site_deployments(owner, site_id, limit).await
    }

    async fn create_site_with_job(
        &self,
        site: &NewSite,
        job: &NewJob,
        input: &serde_json::Value,
    ) -> Result<Job> {
        self.queries.create_site_with_job(site, job, input).await
    }

    async fn create_job_with_input(
        &self,
        job: &NewJob,
        input: &serde_json::Value,
    ) -> Result<Option<Job>> {
        self.queries.create_job_with_input(job, input).await
    }

    async fn claim_job(
        &self,
        job: JobRef,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedJob>> {
        self.queries.claim_job(job, worker, now, lease_until).await
    }

    async fn renew_job_lease(
        &self,
        job: JobRef,
        worker: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        self.queries.renew_job_lease(job, worker, lease_until).await
    }

    async fn record_job_progress(
        &self,
        job: JobRef,
        worker: &str,
        progress: i16,
        stage: &str,
        log_line: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.queries
            .record_job_progress(job, worker, progress, stage, log_line, now)
            .await
    }

    async fn complete_job(
        &self,
        job: JobRef,
        worker: &str,
        draft: Option<&serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.queries.complete_job(job, worker, draft, now).await
    }

    async fn fail_job(
        &self,
        job: JobRef,
        worker: Option<&str>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.queries.fail_job(job, worker, reason, now).await
    }

    async fn release_job(&self, job: JobRef, worker: &str, now: DateTime<Utc>) -> Result<bool> {
        self.queries.release_job(job, worker, now).await
    }

    async fn requeue_stale_jobs(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<JobRef>> {
        self.queries.requeue_stale_jobs(before, now, limit).await
    }

    async fn save_stage_output(
        &self,
        job: JobRef,
        stage: &str,
        output: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.queries
            .save_stage_output(job, stage, output, now)
            .await
    }

    async fn stage_outputs(&self, job: JobRef) -> Result<Vec<StageOutput>> {
        self.queries.stage_outputs(job).await
    }

    async fn site_draft(&self, owner: Uuid, site_id: Uuid) -> Result<Option<SiteDraftRecord>> {
        self.queries.site_draft(owner, site_id).await
    }

    async fn record_token_usage(&self, usage: &NewTokenUsage) -> Result<()> {
        self.queries.record_token_usage(usage).await
    }

    async fn job_token_usage(&self, owner: Uuid, job_id: Uuid) -> Result<TokenCounts> {
        self.queries.job_token_usage(owner, job_id).await
    }

    async fn user_token_usage(&self, owner: Uuid) -> Result<TokenCounts> {
        self.queries.user_token_usage(owner).await
    }

    async fn job_queue_stats(&self) -> Result<JobQueueStats> {
        self.queries.job_queue_stats().await
    }

    async fn cached_model_response(&self, key: &str) -> Result<Option<serde_json::Value>> {
        self.queries.cached_model_response(key).await
    }

    async fn cache_model_response(
        &self,
        key: &str,
        response: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.queries.cache_model_response(key, response, now).await
    }

    async fn fleet_sites(
        &self,
        owner: Uuid,
        filter: &SiteFilter,
        page: Page,
    ) -> Result<Vec<FleetSite>> {
        self.queries.fleet_sites(owner, filter, page).await
    }

    async fn count_fleet_sites(&self, owner: Uuid, filter: &SiteFilter) -> Result<i64> {
        self.queries.count_fleet_sites(owner, filter).await
    }

    async fn site_tags(&self, owner: Uuid) -> Result<Vec<TagCount>> {
        self.queries.site_tags(owner).await
    }

    async fn site_jobs(&self, owner: Uuid, site_id: Uuid, limit: u32) -> Result<Vec<Job>> {
        self.queries.site_jobs(owner, site_id, limit).await
    }

    async fn job_input(&self, owner: Uuid, job_id: Uuid) -> Result<Option<serde_json::Value>> {
        self.queries.job_input(owner, job_id).await
    }

    async fn deployments_by_ids(&self, owner: Uuid, ids: &[Uuid]) -> Result<Vec<Deployment>> {
        self.queries.deployments_by_ids(owner, ids).await
    }

    async fn write_site_draft(
        &self,
        owner: Uuid,
        site_id: Uuid,
        read_at: DateTime<Utc>,
        draft: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<DraftWrite> {
        self.queries
            .write_site_draft(owner, site_id, read_at, draft, now)
            .await
    }

    async fn usage_since(&self, owner: Uuid, since: DateTime<Utc>) -> Result<UsageSince> {
        self.queries.usage_since(owner, since).await
    }
}
