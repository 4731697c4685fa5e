//! Users, their refresh tokens and subscription, and their sites and jobs.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{ColumnIndex, Encode, Executor, FromRow, IntoArguments, Type};
use uuid::Uuid;

use super::{conflict_on_unique, page_limit, Column, Dialect, Queries, RowsAffected};
use crate::{
    Job, NewJob, NewRefreshToken, NewSite, NewUser, Page, Result, Role, Rotation, Site, SitePatch,
    Subscription, User,
};

impl<DB> Queries<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> Json<&'q serde_json::Value>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<Json<&'q serde_json::Value>>: Encode<'q, DB> + Type<DB>,
    Uuid: Column<DB>,
    String: Column<DB>,
    Option<String>: Column<DB>,
    Vec<u8>: Column<DB>,
    DateTime<Utc>: Column<DB>,
    i64: Column<DB>,
    bool: Column<DB>,
    for<'r> User: FromRow<'r, DB::Row>,
    for<'r> Site: FromRow<'r, DB::Row>,
    for<'r> Job: FromRow<'r, DB::Row>,
    for<'r> Subscription: FromRow<'r, DB::Row>,
{
    pub(super) async fn create_user(&self, user: &NewUser) -> Result<User> {
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

    pub(super) async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub(super) async fn user_by_id(&self, id: Uuid) -> Result<Option<User>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub(super) async fn set_user_role(&self, email: &str, role: Role) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET role = $1 WHERE email = $2")
            .bind(role.as_str())
            .bind(email)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn list_users(&self, page: Page) -> Result<Vec<User>> {
        Ok(
            sqlx::query_as("SELECT * FROM users WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(page.after.unwrap_or_default())
                .bind(page_limit(page))
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub(super) async fn start_refresh_family(
        &self,
        user_id: Uuid,
        token: &NewRefreshToken,
    ) -> Result<Uuid> {
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

    pub(super) async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        next: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> Result<Rotation> {
        // The transaction opens with a write, so a concurrent rotation of the
        // same token waits for it, then finds the token used (reuse): exactly
        // one of two racing refreshes wins. PostgreSQL makes it wait on the
        // token's row lock, SQLite on the database's write lock. Keep the
        // write first: an SQLite transaction that began by reading can fail
        // as busy when it then writes.
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

    pub(super) async fn revoke_refresh_family(
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

    pub(super) async fn create_site(&self, site: &NewSite) -> Result<Site> {
        Self::insert_site(&self.pool, site).await
    }

    /// Inserts a site, on the pool or in a caller's transaction.
    async fn insert_site<'e, E>(executor: E, site: &'e NewSite) -> Result<Site>
    where
        E: 'e + Executor<'e, Database = DB>,
    {
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
        .fetch_one(executor)
        .await?)
    }

    pub(super) async fn list_sites(&self, owner: Uuid, page: Page) -> Result<Vec<Site>> {
        Ok(sqlx::query_as(
            "SELECT * FROM sites WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(owner)
        .bind(page.after.unwrap_or_default())
        .bind(page_limit(page))
        .fetch_all(&self.pool)
        .await?)
    }

    pub(super) async fn site(&self, owner: Uuid, id: Uuid) -> Result<Option<Site>> {
        Ok(
            sqlx::query_as("SELECT * FROM sites WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(owner)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub(super) async fn update_site(
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

    pub(super) async fn delete_site(&self, owner: Uuid, id: Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sites WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn create_job(&self, job: &NewJob) -> Result<Option<Job>> {
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

    pub(super) async fn job(&self, owner: Uuid, id: Uuid) -> Result<Option<Job>> {
        Ok(
            sqlx::query_as("SELECT * FROM jobs WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(owner)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub(super) async fn create_site_with_job(
        &self,
        site: &NewSite,
        job: &NewJob,
        input: &serde_json::Value,
    ) -> Result<Job> {
        let mut tx = self.pool.begin().await?;
        Self::insert_site(&mut *tx, site).await?;
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

    pub(super) async fn create_job_with_input(
        &self,
        job: &NewJob,
        input: &serde_json::Value,
    ) -> Result<Option<Job>> {
        sqlx::query_as(
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
        .map_err(|e| conflict_on_unique(e, "an unfinished generation job on this site"))
    }

    pub(super) async fn subscription(&self, user_id: Uuid) -> Result<Option<Subscription>> {
        Ok(
            sqlx::query_as("SELECT * FROM subscriptions WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
