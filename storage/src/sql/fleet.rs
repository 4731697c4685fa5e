//! The fleet: enrollment, agents, releases and their deployments to sites.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{ColumnIndex, Encode, Executor, FromRow, IntoArguments, QueryBuilder, Type};
use uuid::Uuid;

use super::{from_rows, page_limit, Column, Dialect, Queries, RowsAffected, DEPLOY_CHUNK};
use crate::{
    Agent, DeliveryReport, Deployment, DeploymentStatus, Enrollment, NewAgent, NewEnrollmentToken,
    NewRelease, Page, Result, SignFor, SignManifest, SignedForSite,
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
    Uuid: Column<DB>,
    Option<Uuid>: Column<DB>,
    String: Column<DB>,
    Vec<u8>: Column<DB>,
    DateTime<Utc>: Column<DB>,
    i64: Column<DB>,
    bool: Column<DB>,
    for<'r> Agent: FromRow<'r, DB::Row>,
    for<'r> Deployment: FromRow<'r, DB::Row>,
{
    pub(super) async fn create_enrollment_token(
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

    pub(super) async fn enroll_agent(
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
            "INSERT INTO agents (id, site_id, public_key, agent_version, hostname, enrolled_at, connection)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        )
        .bind(agent.id)
        .bind(site_id)
        .bind(&agent.public_key)
        .bind(&agent.agent_version)
        .bind(&agent.hostname)
        .bind(now)
        .bind(agent.connection.as_str())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Enrollment::Enrolled(enrolled))
    }

    pub(super) async fn agent(&self, id: Uuid) -> Result<Option<Agent>> {
        Ok(sqlx::query_as("SELECT * FROM agents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub(super) async fn site_agent(&self, owner: Uuid, site_id: Uuid) -> Result<Option<Agent>> {
        Ok(sqlx::query_as(
            "SELECT agents.* FROM agents JOIN sites ON sites.id = agents.site_id
             WHERE agents.site_id = $1 AND sites.user_id = $2 AND agents.revoked_at IS NULL",
        )
        .bind(site_id)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub(super) async fn revoke_site_agent(
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

    pub(super) async fn record_agents_seen(&self, seen: &[(Uuid, DateTime<Utc>)]) -> Result<()> {
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

    pub(super) async fn create_deployments(
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
            let mut bump = QueryBuilder::<DB>::new(
                "UPDATE sites SET bundle_sequence = bundle_sequence + 1 WHERE user_id = ",
            );
            bump.push_bind(owner).push(" AND id IN (");
            let mut ids = bump.separated(", ");
            for site_id in chunk {
                ids.push_bind(*site_id);
            }
            bump.push(") RETURNING id, bundle_sequence, allow_unfiltered_html");
            let rows = DB::build(&mut bump).fetch_all(&mut *tx).await?;
            let sequences: HashMap<Uuid, (i64, bool)> = from_rows::<_, (Uuid, i64, bool)>(rows)?
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
            let mut insert = QueryBuilder::<DB>::new(
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
            let rows = DB::build(&mut insert).fetch_all(&mut *tx).await?;
            let mut inserted: Vec<Deployment> = from_rows(rows)?;
            let order: HashMap<Uuid, usize> =
                chunk.iter().enumerate().map(|(i, s)| (*s, i)).collect();
            inserted.sort_by_key(|d| order.get(&d.site_id).copied());
            created.extend(inserted);
        }
        tx.commit().await?;
        Ok(Some(created))
    }

    pub(super) async fn outbox(&self, site_id: Uuid) -> Result<Vec<Deployment>> {
        Ok(sqlx::query_as(
            "SELECT * FROM deployments WHERE site_id = $1 AND status = 'queued' ORDER BY sequence",
        )
        .bind(site_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub(super) async fn deployment_counts(&self) -> Result<Vec<(DeploymentStatus, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, CAST(COUNT(*) AS BIGINT) FROM deployments GROUP BY status ORDER BY status",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(status, count)| {
                let status = status
                    .parse()
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                Ok((status, count))
            })
            .collect()
    }

    pub(super) async fn release_payload(&self, release_id: Uuid) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT payload FROM releases WHERE id = $1")
            .bind(release_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(payload,)| payload))
    }

    pub(super) async fn report_deliveries(
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
                        "UPDATE agents
                         SET last_applied = CASE WHEN last_applied > $2 THEN last_applied ELSE $2 END
                         WHERE site_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(site_id)
                    .bind(sequence)
                    .execute(&mut *tx)
                    .await?;
                    if !*failed && done.rows_affected() == 1 {
                        // Live on its host: the seed's `active`. A site being
                        // generated becomes active when its generation ends.
                        sqlx::query(
                            "UPDATE sites SET status = 'active', updated_at = $2
                             WHERE id = $1 AND status = 'draft'",
                        )
                        .bind(site_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    done
                }
            };
            recorded.push(done.rows_affected() == 1);
        }
        tx.commit().await?;
        Ok(recorded)
    }

    pub(super) async fn record_site_inventory(
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

    pub(super) async fn record_site_drift(
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

    pub(super) async fn deployment(&self, owner: Uuid, id: Uuid) -> Result<Option<Deployment>> {
        Ok(
            sqlx::query_as("SELECT * FROM deployments WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(owner)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub(super) async fn site_deployments(
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
