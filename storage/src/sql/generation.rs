//! AI generation: generation jobs under a worker's lease, their stage
//! outputs, the drafts they write, token usage and cached model responses.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{ColumnIndex, Encode, Executor, FromRow, IntoArguments, Type};
use uuid::Uuid;

use super::{token_counts, Column, Dialect, Queries, RowsAffected};
use crate::{
    ClaimedJob, Job, JobQueueStats, JobRef, NewTokenUsage, Result, SiteDraftRecord, StageOutput,
    TokenCounts,
};

impl<DB> Queries<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Json<&'q serde_json::Value>: Encode<'q, DB> + Type<DB>,
    Json<serde_json::Value>: Column<DB>,
    Uuid: Column<DB>,
    Option<Uuid>: Column<DB>,
    String: Column<DB>,
    DateTime<Utc>: Column<DB>,
    Option<DateTime<Utc>>: Column<DB>,
    i64: Column<DB>,
    i16: Column<DB>,
    for<'r> Job: FromRow<'r, DB::Row>,
{
    /// Moves a site that is `generating` to `draft`, its generation over.
    async fn end_generating(
        conn: &mut DB::Connection,
        site_id: Uuid,
        owner: Uuid,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE sites SET updated_at = $3, status = CASE WHEN EXISTS
                 (SELECT 1 FROM deployments WHERE site_id = $1 AND status = 'applied')
                 THEN 'active' ELSE 'draft' END
             WHERE id = $1 AND user_id = $2 AND status = 'generating'",
        )
        .bind(site_id)
        .bind(owner)
        .bind(now)
        .execute(conn)
        .await?;
        Ok(())
    }

    pub(super) async fn claim_job(
        &self,
        job: JobRef,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedJob>> {
        // One statement: two workers racing for the same job cannot both match.
        let claimed: Option<Job> = sqlx::query_as(
            "UPDATE jobs SET status = 'running', lease_owner = $3, lease_until = $5,
                 attempts = attempts + 1, updated_at = $4
             WHERE id = $1 AND user_id = $2
               AND (status = 'queued' OR (status = 'running' AND lease_until < $4))
             RETURNING *",
        )
        .bind(job.job_id)
        .bind(job.user_id)
        .bind(worker)
        .bind(now)
        .bind(lease_until)
        .fetch_optional(&self.pool)
        .await?;
        let Some(claimed) = claimed else {
            return Ok(None);
        };
        let (input,): (Json<serde_json::Value>,) =
            sqlx::query_as("SELECT input FROM jobs WHERE id = $1")
                .bind(job.job_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(Some(ClaimedJob {
            job: claimed,
            input: input.0,
        }))
    }

    pub(super) async fn renew_job_lease(
        &self,
        job: JobRef,
        worker: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = $4
             WHERE id = $1 AND user_id = $2 AND status = 'running' AND lease_owner = $3",
        )
        .bind(job.job_id)
        .bind(job.user_id)
        .bind(worker)
        .bind(lease_until)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn record_job_progress(
        &self,
        job: JobRef,
        worker: &str,
        progress: i16,
        stage: &str,
        log_line: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        // Pages finish in any order: progress only ever goes up.
        let done = sqlx::query(
            "UPDATE jobs SET progress = CASE WHEN progress > $4 THEN progress ELSE $4 END,
                 stage = $5, logs = logs || $6, updated_at = $7
             WHERE id = $1 AND user_id = $2 AND status = 'running' AND lease_owner = $3",
        )
        .bind(job.job_id)
        .bind(job.user_id)
        .bind(worker)
        .bind(progress.clamp(0, 100))
        .bind(stage)
        .bind(format!("{log_line}\n"))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn complete_job(
        &self,
        job: JobRef,
        worker: &str,
        draft: Option<&serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done: Option<(Uuid,)> = sqlx::query_as(
            "UPDATE jobs SET status = 'completed', progress = 100, stage = 'done',
                 lease_owner = NULL, lease_until = NULL, updated_at = $4
             WHERE id = $1 AND user_id = $2 AND status = 'running' AND lease_owner = $3
             RETURNING site_id",
        )
        .bind(job.job_id)
        .bind(job.user_id)
        .bind(worker)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((site_id,)) = done else {
            return Ok(false);
        };
        if let Some(draft) = draft {
            sqlx::query(
                "INSERT INTO site_drafts (site_id, user_id, job_id, draft, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (site_id) DO UPDATE
                 SET job_id = excluded.job_id, draft = excluded.draft, updated_at = excluded.updated_at",
            )
            .bind(site_id)
            .bind(job.user_id)
            .bind(job.job_id)
            .bind(Json(draft))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            Self::end_generating(&mut tx, site_id, job.user_id, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn fail_job(
        &self,
        job: JobRef,
        worker: Option<&str>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done: Option<(Uuid,)> = sqlx::query_as(
            "UPDATE jobs SET status = 'failed', error = $4, stage = 'failed', logs = logs || $5,
                 lease_owner = NULL, lease_until = NULL, updated_at = $6
             WHERE id = $1 AND user_id = $2 AND status IN ('queued', 'running')
               AND CASE WHEN $3 = '' THEN (lease_until IS NULL OR lease_until < $6)
                        ELSE (status = 'running' AND lease_owner = $3) END
             RETURNING site_id",
        )
        .bind(job.job_id)
        .bind(job.user_id)
        .bind(worker.unwrap_or(""))
        .bind(reason)
        .bind(format!("failed: {reason}\n"))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((site_id,)) = done else {
            return Ok(false);
        };
        // A site whose first generation failed is an empty draft, not generating forever.
        Self::end_generating(&mut tx, site_id, job.user_id, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn release_job(
        &self,
        job: JobRef,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL, updated_at = $4
             WHERE id = $1 AND user_id = $2 AND status = 'running' AND lease_owner = $3",
        )
        .bind(job.job_id)
        .bind(job.user_id)
        .bind(worker)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn requeue_stale_jobs(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<JobRef>> {
        let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL, updated_at = $2
             WHERE id IN (
                 SELECT id FROM jobs
                 WHERE (status = 'queued' AND updated_at < $1)
                    OR (status = 'running' AND lease_until < $2)
                 ORDER BY id LIMIT $3)
             RETURNING id, user_id",
        )
        .bind(before)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(job_id, user_id)| JobRef { job_id, user_id })
            .collect())
    }

    pub(super) async fn job_queue_stats(&self) -> Result<JobQueueStats> {
        // Served by the `jobs_unfinished` index, so its cost follows the
        // unfinished jobs, not the history.
        let (queued, running, oldest_queued_at): (i64, i64, Option<DateTime<Utc>>) =
            sqlx::query_as(
                "SELECT CAST(COUNT(CASE WHEN status = 'queued' THEN 1 END) AS BIGINT),
                        CAST(COUNT(CASE WHEN status = 'running' THEN 1 END) AS BIGINT),
                        MIN(CASE WHEN status = 'queued' THEN created_at END)
                 FROM jobs WHERE status IN ('queued', 'running')",
            )
            .fetch_one(&self.pool)
            .await?;
        Ok(JobQueueStats {
            queued,
            running,
            oldest_queued_at,
        })
    }

    pub(super) async fn save_stage_output(
        &self,
        job: JobRef,
        stage: &str,
        output: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO job_stage_outputs (job_id, stage, output, created_at)
             SELECT id, $3, $4, $5 FROM jobs WHERE id = $1 AND user_id = $2
             ON CONFLICT (job_id, stage) DO UPDATE SET output = excluded.output, created_at = excluded.created_at",
        )
        .bind(job.job_id)
        .bind(job.user_id)
        .bind(stage)
        .bind(Json(output))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn stage_outputs(&self, job: JobRef) -> Result<Vec<StageOutput>> {
        let rows: Vec<(String, Json<serde_json::Value>)> = sqlx::query_as(
            "SELECT o.stage, o.output FROM job_stage_outputs o JOIN jobs j ON j.id = o.job_id
             WHERE o.job_id = $1 AND j.user_id = $2 ORDER BY o.stage",
        )
        .bind(job.job_id)
        .bind(job.user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(stage, output)| StageOutput {
                stage,
                output: output.0,
            })
            .collect())
    }

    pub(super) async fn site_draft(
        &self,
        owner: Uuid,
        site_id: Uuid,
    ) -> Result<Option<SiteDraftRecord>> {
        type DraftRow = (Uuid, Option<Uuid>, Json<serde_json::Value>, DateTime<Utc>);
        let row: Option<DraftRow> = sqlx::query_as(
            "SELECT site_id, job_id, draft, updated_at FROM site_drafts
                 WHERE site_id = $1 AND user_id = $2",
        )
        .bind(site_id)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.map(|(site_id, job_id, draft, updated_at)| SiteDraftRecord {
                site_id,
                job_id,
                draft: draft.0,
                updated_at,
            }),
        )
    }

    pub(super) async fn record_token_usage(&self, usage: &NewTokenUsage) -> Result<()> {
        sqlx::query(
            "INSERT INTO token_usage (id, user_id, job_id, stage, model, input_tokens, output_tokens,
                 cache_read_tokens, cache_creation_tokens, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(usage.id)
        .bind(usage.user_id)
        .bind(usage.job_id)
        .bind(&usage.stage)
        .bind(&usage.model)
        .bind(usage.tokens.input_tokens)
        .bind(usage.tokens.output_tokens)
        .bind(usage.tokens.cache_read_tokens)
        .bind(usage.tokens.cache_creation_tokens)
        .bind(usage.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn job_token_usage(&self, owner: Uuid, job_id: Uuid) -> Result<TokenCounts> {
        let row: (i64, i64, i64, i64) = sqlx::query_as(TOKEN_TOTALS_BY_JOB)
            .bind(owner)
            .bind(job_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(token_counts(row))
    }

    pub(super) async fn user_token_usage(&self, owner: Uuid) -> Result<TokenCounts> {
        let row: (i64, i64, i64, i64) = sqlx::query_as(TOKEN_TOTALS_BY_USER)
            .bind(owner)
            .fetch_one(&self.pool)
            .await?;
        Ok(token_counts(row))
    }

    pub(super) async fn cached_model_response(
        &self,
        key: &str,
    ) -> Result<Option<serde_json::Value>> {
        let row: Option<(Json<serde_json::Value>,)> =
            sqlx::query_as("SELECT response FROM model_responses WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(response,)| response.0))
    }

    pub(super) async fn cache_model_response(
        &self,
        key: &str,
        response: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO model_responses (key, response, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET response = excluded.response, created_at = excluded.created_at",
        )
        .bind(key)
        .bind(Json(response))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Token totals of one job: `$1` the owner, `$2` the job. `SUM` of BIGINT is
/// NUMERIC on PostgreSQL, hence the casts.
const TOKEN_TOTALS_BY_JOB: &str = "SELECT CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT),
        CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT),
        CAST(COALESCE(SUM(cache_read_tokens), 0) AS BIGINT),
        CAST(COALESCE(SUM(cache_creation_tokens), 0) AS BIGINT)
    FROM token_usage WHERE user_id = $1 AND job_id = $2";

/// Token totals of one user, `$1`, over all jobs.
const TOKEN_TOTALS_BY_USER: &str = "SELECT CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT),
        CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT),
        CAST(COALESCE(SUM(cache_read_tokens), 0) AS BIGINT),
        CAST(COALESCE(SUM(cache_creation_tokens), 0) AS BIGINT)
    FROM token_usage WHERE user_id = $1";
