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
    conflict_on_unique, page_limit, Agent, Backend, DeliveryReport, Deployment, Enrollment, Job,
    NewAgent, NewEnrollmentToken, NewJob, NewRefreshToken, NewRelease, NewSite, NewUser, Page,
    Result, Role, Rotation, SignManifest, SignedForSite, Site, SitePatch, Store, Subscription,
    User, DEPLOY_CHUNK,
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
            bump.push(") RETURNING id, bundle_sequence");
            let sequences: HashMap<Uuid, i64> = bump
                .build_query_as::<(Uuid, i64)>()
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
            // A site that is not the owner's (or named twice) spoils the
            // batch; dropping the transaction rolls everything back.
            if sequences.len() != chunk.len() {
                return Ok(None);
            }
            let rows: Vec<(Uuid, Uuid, i64, SignedForSite)> = chunk
                .iter()
                .map(|site_id| {
                    let sequence = sequences[site_id];
                    let id = Uuid::now_v7();
                    (id, *site_id, sequence, sign(id, *site_id, sequence as u64))
                })
                .collect();
            let mut insert = QueryBuilder::new(
                "INSERT INTO deployments
                     (id, site_id, user_id, release_id, sequence, status, manifest, signature, created_at, updated_at) ",
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
                    .push_bind(release.created_at);
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
}
