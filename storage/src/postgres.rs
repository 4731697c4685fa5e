//! Production storage: PostgreSQL.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::types::Json;
use sqlx::PgPool;
use sqlx::QueryBuilder;
use std::collections::HashMap;
use uuid::Uuid;

use crate::{
    conflict_on_unique, page_limit, token_counts, Agent, Backend, ClaimedJob, DeliveryReport,
    Deployment, Enrollment, Job, JobRef, NewAgent, NewEnrollmentToken, NewJob, NewRefreshToken,
    NewRelease, NewSite, NewTokenUsage, NewUser, Page, Result, Role, Rotation, SignFor,
    SignManifest, SignedForSite, Site, SiteDraftRecord, SitePatch, StageOutput, Store,
    Subscription, TokenCounts, User, DEPLOY_CHUNK,
};

/// [`Store`] on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at a `postgres://` URL and migrates it.
    pub async fn connect(url: &str) -> Result<Self> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.application_name("gsw-control-plane"))
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn create_user(&self, user: &NewUser) -> Result<User> {
        sqlx::query_as(
            "INSERT INTO users (id, email, password_hash, role, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING *",
        )
        .bind(user.id)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(user.created_at)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| conflict_on_unique(e, "a user with this email"))
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_user_role(&self, email: &str, role: Role) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET role = $1 WHERE email = $2")
            .bind(role.as_str())
            .bind(email)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_users(&self, page: Page) -> Result<Vec<User>> {
        Ok(
            sqlx::query_as("SELECT * FROM users WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(page.after.unwrap_or_default())
                .bind(page_limit(page))
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn start_refresh_family(&self, user_id: Uuid, token: &NewRefreshToken) -> Result<Uuid> {
        let family_id = token.id;
        sqlx::query(
            "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token.id)
        .bind(family_id)
        .bind(user_id)
        .bind(&token.token_hash)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(family_id)
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        next: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> Result<Rotation> {
        // The UPDATE locks the token's row: a concurrent rotation of the same
        // token waits for this transaction, then finds it used (reuse).
        let mut tx = self.pool.begin().await?;
        let live: Option<(Uuid, Uuid)> = sqlx::query_as(
            "UPDATE refresh_tokens SET used_at = $2
             WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
             RETURNING user_id, family_id",
        )
        .bind(presented_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((user_id, family_id)) = live {
            sqlx::query(
                "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(next.id)
            .bind(family_id)
            .bind(user_id)
            .bind(&next.token_hash)
            .bind(next.created_at)
            .bind(next.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Rotation::Rotated { user_id, family_id });
        }

        type Seen = (
            Uuid,
            Uuid,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        );
        let seen: Option<Seen> = sqlx::query_as(
            "SELECT user_id, family_id, expires_at, used_at, revoked_at
             FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(presented_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match seen {
            None => Rotation::Unknown,
            Some((_, _, _, _, Some(_))) => Rotation::Revoked,
            Some((user_id, family_id, _, Some(_), None)) => {
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $2
                     WHERE family_id = $1 AND revoked_at IS NULL",
                )
                .bind(family_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                Rotation::Reused { user_id, family_id }
            }
            Some((_, _, _, None, None)) => Rotation::Expired,
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn revoke_refresh_family(
        &self,
        presented_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2
             WHERE revoked_at IS NULL
               AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
        )
        .bind(presented_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_site(&self, site: &NewSite) -> Result<Site> {
        Ok(sqlx::query_as(
            "INSERT INTO sites (id, user_id, name, domain, wp_admin_url, status, metadata, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING *",
        )
        .bind(site.id)
        .bind(site.user_id)
        .bind(&site.name)
        .bind(&site.domain)
        .bind(&site.wp_admin_url)
        .bind(site.status.as_str())
        .bind(Json(&site.metadata))
        .bind(site.created_at)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn list_sites(&self, owner: Uuid, page: Page) -> Result<Vec<Site>> {
        Ok(sqlx::query_as(
            "SELECT * FROM sites WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(owner)
        .bind(page.after.unwrap_or_default())
        .bind(page_limit(page))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn site(&self, owner: Uuid, id: Uuid) -> Result<Option<Site>> {
        Ok(
            sqlx::query_as("SELECT * FROM sites WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(owner)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn update_site(
        &self,
        owner: Uuid,
        id: Uuid,
        patch: &SitePatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Site>> {
        Ok(sqlx::query_as(
            "UPDATE sites SET
                 name = CASE WHEN $3 THEN $4 ELSE name END,
                 domain = CASE WHEN $5 THEN $6 ELSE domain END,
                 wp_admin_url = CASE WHEN $7 THEN $8 ELSE wp_admin_url END,
                 metadata = CASE WHEN $9 THEN $10 ELSE metadata END,
                 allow_unfiltered_html = CASE WHEN $12 THEN $13 ELSE allow_unfiltered_html END,
                 updated_at = $11
             WHERE id = $1 AND user_id = $2
             RETURNING *",
        )
        .bind(id)
        .bind(owner)
        .bind(patch.name.is_some())
        .bind(&patch.name)
        .bind(patch.domain.is_some())
        .bind(patch.domain.clone().flatten())
        .bind(patch.wp_admin_url.is_some())
        .bind(patch.wp_admin_url.clone().flatten())
        .bind(patch.metadata.is_some())
        .bind(patch.metadata.as_ref().map(Json))
        .bind(now)
        .bind(patch.allow_unfiltered_html.is_some())
        .bind(patch.allow_unfiltered_html.unwrap_or(false))
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn delete_site(&self, owner: Uuid, id: Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sites WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_job(&self, job: &NewJob) -> Result<Option<Job>> {
        Ok(sqlx::query_as(
            "INSERT INTO jobs (id, site_id, user_id, kind, status, progress, logs, created_at, updated_at)
             SELECT $1, id, user_id, $4, 'queued', 0, '', $5, $5 FROM sites WHERE id = $2 AND user_id = $3
             RETURNING *",
        )
        .bind(job.id)
        .bind(job.site_id)
        .bind(job.user_id)
        .bind(job.kind.as_str())
        .bind(job.created_at)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn job(&self, owner: Uuid, id: Uuid) -> Result<Option<Job>> {
        Ok(
            sqlx::query_as("SELECT * FROM jobs WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(owner)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn subscription(&self, user_id: Uuid) -> Result<Option<Subscription>> {
        Ok(
            sqlx::query_as("SELECT * FROM subscriptions WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn create_enrollment_token(
        &self,
        owner: Uuid,
        token: &NewEnrollmentToken,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO enrollment_tokens (id, site_id, token_hash, created_at, expires_at)
             SELECT $1, id, $3, $4, $5 FROM sites WHERE id = $2 AND user_id = $6",
        )
        .bind(token.id)
        .bind(token.site_id)
        .bind(&token.token_hash)
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn enroll_agent(
        &self,
        token_hash: &[u8],
        agent: &NewAgent,
        now: DateTime<Utc>,
    ) -> Result<Enrollment> {
        let mut tx = self.pool.begin().await?;
        let site: Option<(Uuid,)> = sqlx::query_as(
            "UPDATE enrollment_tokens SET used_at = $2
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
             RETURNING site_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((site_id,)) = site else {
            let seen: Option<(Option<DateTime<Utc>>,)> =
                sqlx::query_as("SELECT used_at FROM enrollment_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Ok(match seen {
                None => Enrollment::Unknown,
                Some((Some(_),)) => Enrollment::Used,
                Some((None,)) => Enrollment::Expired,
            });
        };
        sqlx::query("UPDATE agents SET revoked_at = $2 WHERE site_id = $1 AND revoked_at IS NULL")
            .bind(site_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let enrolled: Agent = sqlx::query_as(
            "INSERT INTO agents (id, site_id, public_key, agent_version, hostname, enrolled_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(agent.id)
        .bind(site_id)
        .bind(&agent.public_key)
        .bind(&agent.agent_version)
        .bind(&agent.hostname)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Enrollment::Enrolled(enrolled))
    }

    async fn agent(&self, id: Uuid) -> Result<Option<Agent>> {
        Ok(sqlx::query_as("SELECT * FROM agents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn site_agent(&self, owner: Uuid, site_id: Uuid) -> Result<Option<Agent>> {
        Ok(sqlx::query_as(
            "SELECT agents.* FROM agents JOIN sites ON sites.id = agents.site_id
             WHERE agents.site_id = $1 AND sites.user_id = $2 AND agents.revoked_at IS NULL",
        )
        .bind(site_id)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn revoke_site_agent(
        &self,
        owner: Uuid,
        site_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>> {
        let revoked: Option<(Uuid,)> = sqlx::query_as(
            "UPDATE agents SET revoked_at = $3
             WHERE site_id = $1 AND revoked_at IS NULL
               AND site_id IN (SELECT id FROM sites WHERE id = $1 AND user_id = $2)
             RETURNING id",
        )
        .bind(site_id)
        .bind(owner)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(revoked.map(|(id,)| id))
    }

    async fn record_agents_seen(&self, seen: &[(Uuid, DateTime<Utc>)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (id, at) in seen {
            sqlx::query("UPDATE agents SET last_seen = $2 WHERE id = $1")
                .bind(id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_deployments(
        &self,
        owner: Uuid,
        release: &NewRelease,
        site_ids: &[Uuid],
        sign: &SignManifest<'_>,
    ) -> Result<Option<Vec<Deployment>>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO releases (id, user_id, items, payload, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(release.id)
            .bind(release.user_id)
            .bind(Json(&release.items))
            .bind(&release.payload)
            .bind(release.created_at)
            .execute(&mut *tx)
            .await?;
        let mut created = Vec::with_capacity(site_ids.len());
        // In chunks, a few statements per hundreds of sites rather than two per site.
        for chunk in site_ids.chunks(DEPLOY_CHUNK) {
            let mut bump = QueryBuilder::new(
                "UPDATE sites SET bundle_sequence = bundle_sequence + 1 WHERE user_id = ",
            );
            bump.push_bind(owner).push(" AND id IN (");
            let mut ids = bump.separated(", ");
            for site_id in chunk {
                ids.push_bind(*site_id);
            }
            bump.push(") RETURNING id, bundle_sequence, allow_unfiltered_html");
            let sequences: HashMap<Uuid, (i64, bool)> = bump
                .build_query_as::<(Uuid, i64, bool)>()
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|(id, sequence, unfiltered_html)| (id, (sequence, unfiltered_html)))
                .collect();
            // A site that is not the owner's (or named twice) spoils the
            // batch; dropping the transaction rolls everything back.
            if sequences.len() != chunk.len() {
                return Ok(None);
            }
            let rows: Vec<(Uuid, Uuid, i64, SignedForSite)> = chunk
                .iter()
                .map(|site_id| {
                    let (sequence, unfiltered_html) = sequences[site_id];
                    let id = Uuid::now_v7();
                    let signed = sign(&SignFor {
                        id,
                        site_id: *site_id,
                        sequence: sequence as u64,
                        unfiltered_html,
                    });
                    (id, *site_id, sequence, signed)
                })
                .collect();
            let mut insert = QueryBuilder::new(
                "INSERT INTO deployments
                     (id, site_id, user_id, release_id, sequence, status, manifest, signature, created_at, updated_at, rollback_of) ",
            );
            insert.push_values(&rows, |mut row, (id, site_id, sequence, signed)| {
                row.push_bind(*id)
                    .push_bind(*site_id)
                    .push_bind(owner)
                    .push_bind(release.id)
                    .push_bind(*sequence)
                    .push_bind("queued")
                    .push_bind(&signed.manifest)
                    .push_bind(&signed.signature)
                    .push_bind(release.created_at)
                    .push_bind(release.created_at)
                    .push_bind(release.rollback_of);
            });
            insert.push(" RETURNING *");
            let mut inserted: Vec<Deployment> = insert.build_query_as().fetch_all(&mut *tx).await?;
            let order: HashMap<Uuid, usize> =
                chunk.iter().enumerate().map(|(i, s)| (*s, i)).collect();
            inserted.sort_by_key(|d| order.get(&d.site_id).copied());
            created.extend(inserted);
        }
        tx.commit().await?;
        Ok(Some(created))
    }

    async fn outbox(&self, site_id: Uuid) -> Result<Vec<Deployment>> {
        Ok(sqlx::query_as(
            "SELECT * FROM deployments WHERE site_id = $1 AND status = 'queued' ORDER BY sequence",
        )
        .bind(site_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn release_payload(&self, release_id: Uuid) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT payload FROM releases WHERE id = $1")
            .bind(release_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(payload,)| payload))
    }

    async fn report_deliveries(
        &self,
        reports: &[(Uuid, Uuid, DeliveryReport)],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>> {
        let mut tx = self.pool.begin().await?;
        let mut recorded = Vec::with_capacity(reports.len());
        for (site_id, deployment_id, report) in reports {
            let done = match report {
                DeliveryReport::Acked => {
                    sqlx::query(
                        "UPDATE deployments SET status = 'delivered', updated_at = $3
                         WHERE id = $1 AND site_id = $2 AND status = 'queued'",
                    )
                    .bind(deployment_id)
                    .bind(site_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                }
                DeliveryReport::Refused { code, reason } => {
                    sqlx::query(
                        "UPDATE deployments SET status = 'refused', error_code = $3, error = $4, updated_at = $5
                         WHERE id = $1 AND site_id = $2 AND status IN ('queued', 'delivered')",
                    )
                    .bind(deployment_id)
                    .bind(site_id)
                    .bind(code)
                    .bind(reason)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                }
                DeliveryReport::Applied { results, failed, sequence } => {
                    let status = if *failed { "failed" } else { "applied" };
                    let done = sqlx::query(
                        "UPDATE deployments SET status = $3, results = $4, updated_at = $5
                         WHERE id = $1 AND site_id = $2 AND sequence = $6 AND status IN ('queued', 'delivered')",
                    )
                    .bind(deployment_id)
                    .bind(site_id)
                    .bind(status)
                    .bind(Json(results))
                    .bind(now)
                    .bind(sequence)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE agents SET last_applied = GREATEST(last_applied, $2)
                         WHERE site_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(site_id)
                    .bind(sequence)
                    .execute(&mut *tx)
                    .await?;
                    done
                }
            };
            recorded.push(done.rows_affected() == 1);
        }
        tx.commit().await?;
        Ok(recorded)
    }

    async fn record_site_inventory(
        &self,
        site_id: Uuid,
        inventory: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE sites SET inventory = $2, inventory_at = $3 WHERE id = $1")
            .bind(site_id)
            .bind(Json(inventory))
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_site_drift(
        &self,
        site_id: Uuid,
        drift: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE sites SET drift = $2, drift_at = $3 WHERE id = $1")
            .bind(site_id)
            .bind(Json(drift))
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn deployment(&self, owner: Uuid, id: Uuid) -> Result<Option<Deployment>> {
        Ok(
            sqlx::query_as("SELECT * FROM deployments WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(owner)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn site_deployments(
        &self,
        owner: Uuid,
        site_id: Uuid,
        limit: u32,
    ) -> Result<Vec<Deployment>> {
        Ok(sqlx::query_as(
            "SELECT * FROM deployments WHERE site_id = $1 AND user_id = $2 ORDER BY sequence DESC LIMIT $3",
        )
        .bind(site_id)
        .bind(owner)
        .bind(page_limit(Page { after: None, limit }))
        .fetch_all(&self.pool)
        .await?)
    }

    // Generation

    async fn create_site_with_job(
        &self,
        site: &NewSite,
        job: &NewJob,
        input: &serde_json::Value,
    ) -> Result<Job> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO sites (id, user_id, name, domain, wp_admin_url, status, metadata, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(site.id)
        .bind(site.user_id)
        .bind(&site.name)
        .bind(&site.domain)
        .bind(&site.wp_admin_url)
        .bind(site.status.as_str())
        .bind(Json(&site.metadata))
        .bind(site.created_at)
        .execute(&mut *tx)
        .await?;
        let created: Job = sqlx::query_as(
            "INSERT INTO jobs (id, site_id, user_id, kind, status, progress, logs, input, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'queued', 0, '', $5, $6, $6) RETURNING *",
        )
        .bind(job.id)
        .bind(site.id)
        .bind(site.user_id)
        .bind(job.kind.as_str())
        .bind(Json(input))
        .bind(job.created_at)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn create_job_with_input(
        &self,
        job: &NewJob,
        input: &serde_json::Value,
    ) -> Result<Option<Job>> {
        Ok(sqlx::query_as(
            "INSERT INTO jobs (id, site_id, user_id, kind, status, progress, logs, input, created_at, updated_at)
             SELECT $1, id, user_id, $4, 'queued', 0, '', $5, $6, $6 FROM sites WHERE id = $2 AND user_id = $3
             RETURNING *",
        )
        .bind(job.id)
        .bind(job.site_id)
        .bind(job.user_id)
        .bind(job.kind.as_str())
        .bind(Json(input))
        .bind(job.created_at)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| conflict_on_unique(e, "an unfinished generation job on this site"))?)
    }

    async fn claim_job(
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

    async fn renew_job_lease(
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

    async fn record_job_progress(
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
            "UPDATE jobs SET progress = GREATEST(progress, $4), stage = $5, logs = logs || $6, updated_at = $7
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

    async fn complete_job(
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
            sqlx::query(
                "UPDATE sites SET status = 'draft', updated_at = $3
                 WHERE id = $1 AND user_id = $2 AND status = 'generating'",
            )
            .bind(site_id)
            .bind(job.user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn fail_job(
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
        sqlx::query(
            "UPDATE sites SET status = 'draft', updated_at = $3
             WHERE id = $1 AND user_id = $2 AND status = 'generating'",
        )
        .bind(site_id)
        .bind(job.user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn release_job(&self, job: JobRef, worker: &str, now: DateTime<Utc>) -> Result<bool> {
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

    async fn requeue_stale_jobs(
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

    async fn save_stage_output(
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

    async fn stage_outputs(&self, job: JobRef) -> Result<Vec<StageOutput>> {
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

    async fn site_draft(&self, owner: Uuid, site_id: Uuid) -> Result<Option<SiteDraftRecord>> {
        let row: Option<(Uuid, Option<Uuid>, Json<serde_json::Value>, DateTime<Utc>)> =
            sqlx::query_as(
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

    async fn record_token_usage(&self, usage: &NewTokenUsage) -> Result<()> {
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

    async fn job_token_usage(&self, owner: Uuid, job_id: Uuid) -> Result<TokenCounts> {
        let row: (i64, i64, i64, i64) = sqlx::query_as(TOKEN_TOTALS_BY_JOB)
            .bind(owner)
            .bind(job_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(token_counts(row))
    }

    async fn user_token_usage(&self, owner: Uuid) -> Result<TokenCounts> {
        let row: (i64, i64, i64, i64) = sqlx::query_as(TOKEN_TOTALS_BY_USER)
            .bind(owner)
            .fetch_one(&self.pool)
            .await?;
        Ok(token_counts(row))
    }

    async fn cached_model_response(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let row: Option<(Json<serde_json::Value>,)> =
            sqlx::query_as("SELECT response FROM model_responses WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(response,)| response.0))
    }

    async fn cache_model_response(
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

    // Dashboard

    async fn fleet_sites(
        &self,
        owner: Uuid,
        filter: &crate::SiteFilter,
        page: Page,
    ) -> Result<Vec<crate::FleetSite>> {
        crate::dashboard::postgres::fleet_sites(
            &self.pool,
            owner,
            filter,
            page.after,
            page_limit(page),
        )
        .await
    }

    async fn count_fleet_sites(&self, owner: Uuid, filter: &crate::SiteFilter) -> Result<i64> {
        crate::dashboard::postgres::count_fleet_sites(&self.pool, owner, filter).await
    }

    async fn site_tags(&self, owner: Uuid) -> Result<Vec<crate::TagCount>> {
        crate::dashboard::postgres::site_tags(&self.pool, owner).await
    }

    async fn site_jobs(&self, owner: Uuid, site_id: Uuid, limit: u32) -> Result<Vec<Job>> {
        let limit = page_limit(Page { after: None, limit });
        crate::dashboard::postgres::site_jobs(&self.pool, owner, site_id, limit).await
    }

    async fn job_input(&self, owner: Uuid, job_id: Uuid) -> Result<Option<serde_json::Value>> {
        crate::dashboard::postgres::job_input(&self.pool, owner, job_id).await
    }

    async fn deployments_by_ids(&self, owner: Uuid, ids: &[Uuid]) -> Result<Vec<Deployment>> {
        crate::dashboard::postgres::deployments_by_ids(&self.pool, owner, ids).await
    }

    async fn write_site_draft(
        &self,
        owner: Uuid,
        site_id: Uuid,
        read_at: DateTime<Utc>,
        draft: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<crate::DraftWrite> {
        crate::dashboard::postgres::write_site_draft(
            &self.pool, owner, site_id, read_at, draft, now,
        )
        .await
    }

    async fn usage_since(&self, owner: Uuid, since: DateTime<Utc>) -> Result<crate::UsageSince> {
        crate::dashboard::postgres::usage_since(&self.pool, owner, since).await
    }
}

const TOKEN_TOTALS_BY_JOB: &str =
    "SELECT COALESCE(SUM(input_tokens), 0)::BIGINT, COALESCE(SUM(output_tokens), 0)::BIGINT, COALESCE(SUM(cache_read_tokens), 0)::BIGINT, COALESCE(SUM(cache_creation_tokens), 0)::BIGINT FROM token_usage WHERE user_id = $1 AND job_id = $2";
const TOKEN_TOTALS_BY_USER: &str =
    "SELECT COALESCE(SUM(input_tokens), 0)::BIGINT, COALESCE(SUM(output_tokens), 0)::BIGINT, COALESCE(SUM(cache_read_tokens), 0)::BIGINT, COALESCE(SUM(cache_creation_tokens), 0)::BIGINT FROM token_usage WHERE user_id = $1";
