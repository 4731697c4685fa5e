//! What the dashboard reads and writes beyond the core records: the fleet
//! table (sites with their agent and last deployment, searched and filtered
//! in the query), tags, a site's jobs, draft edits and billing usage.
//!
//! The SQL of each dialect is in its submodule; `PostgresStore` and
//! `SqliteStore` hand their pools to these functions from their `// Dashboard`
//! block, which keeps the twins' shared files small.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Agent, DeploymentStatus, Site, SiteStatus, TokenCounts};

/// Which of the owner's sites the fleet table shows.
#[derive(Debug, Clone, Default)]
pub struct SiteFilter {
    /// Text the name or domain must contain (case-insensitive).
    pub search: Option<String>,
    pub status: Option<SiteStatus>,
    /// A tag the site's `metadata.tags` must hold.
    pub tag: Option<String>,
    pub agent: Option<AgentFilter>,
}

/// Sites by the state of their agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentFilter {
    /// An enrolled agent heard from at or after this time.
    SeenSince(DateTime<Utc>),
    /// An enrolled agent not heard from since this time (or never).
    NotSeenSince(DateTime<Utc>),
    /// No live agent enrolled.
    NotEnrolled,
}

/// The latest deployment of a site, as the fleet table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentSummary {
    pub id: Uuid,
    pub sequence: i64,
    pub status: DeploymentStatus,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One row of the fleet table.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSite {
    pub site: Site,
    /// The live (not revoked) agent, if one is enrolled.
    pub agent: Option<Agent>,
    pub last_deployment: Option<DeploymentSummary>,
}

/// A tag and how many of the owner's sites carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub tag: String,
    pub sites: i64,
}

/// What writing an edited draft led to.
#[derive(Debug, Clone, PartialEq)]
pub enum DraftWrite {
    /// Stored; the draft's new `updated_at`.
    Written(DateTime<Utc>),
    /// The draft changed after it was read: read it again and redo the edit.
    Stale,
    /// A generation job on the site is unfinished; it would overwrite the edit.
    Busy,
    /// No such draft of the owner's.
    Missing,
}

/// What a user has used since a time, for billing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageSince {
    /// Sites the user has now.
    pub sites: i64,
    /// Generation jobs (whole sites and regenerations) started since.
    pub generations: i64,
    /// Deployments (one per site) made since.
    pub deployments: i64,
    /// Model tokens used since.
    pub tokens: TokenCounts,
}

/// `%text%` for LIKE, with the pattern characters in `text` escaped by `\`.
fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Builds a fleet row from a joined query row: `s.*`, then the agent's
/// columns prefixed `a_` and the deployment's prefixed `d_`.
macro_rules! fleet_row {
    ($row:expr) => {{
        use sqlx::{FromRow, Row};
        let row = $row;
        let site = Site::from_row(row)?;
        let agent_id: Option<Uuid> = row.try_get("a_id")?;
        let agent = match agent_id {
            Some(id) => Some(Agent {
                id,
                site_id: site.id,
                public_key: row.try_get("a_public_key")?,
                agent_version: row.try_get("a_agent_version")?,
                hostname: row.try_get("a_hostname")?,
                enrolled_at: row.try_get("a_enrolled_at")?,
                revoked_at: None,
                last_seen: row.try_get("a_last_seen")?,
                last_applied: row.try_get("a_last_applied")?,
            }),
            None => None,
        };
        let deployment_id: Option<Uuid> = row.try_get("d_id")?;
        let last_deployment = match deployment_id {
            Some(id) => {
                let status: String = row.try_get("d_status")?;
                Some(DeploymentSummary {
                    id,
                    sequence: row.try_get("d_sequence")?,
                    status: status.parse().map_err(|e| sqlx::Error::ColumnDecode {
                        index: "d_status".into(),
                        source: Box::new(e),
                    })?,
                    error: row.try_get("d_error")?,
                    created_at: row.try_get("d_created_at")?,
                    updated_at: row.try_get("d_updated_at")?,
                })
            }
            None => None,
        };
        FleetSite {
            site,
            agent,
            last_deployment,
        }
    }};
}

/// The joins and columns of the fleet table, the same in both dialects.
const FLEET_SELECT: &str = "SELECT s.*,
        a.id AS a_id, a.public_key AS a_public_key, a.agent_version AS a_agent_version,
        a.hostname AS a_hostname, a.enrolled_at AS a_enrolled_at, a.last_seen AS a_last_seen,
        a.last_applied AS a_last_applied,
        d.id AS d_id, d.sequence AS d_sequence, d.status AS d_status, d.error AS d_error,
        d.created_at AS d_created_at, d.updated_at AS d_updated_at
    FROM sites s
    LEFT JOIN agents a ON a.site_id = s.id AND a.revoked_at IS NULL
    LEFT JOIN deployments d ON d.site_id = s.id
        AND d.sequence = (SELECT MAX(sequence) FROM deployments WHERE site_id = s.id)
    WHERE s.user_id = ";

const FLEET_COUNT: &str = "SELECT COUNT(*) FROM sites s
    LEFT JOIN agents a ON a.site_id = s.id AND a.revoked_at IS NULL
    WHERE s.user_id = ";

/// Appends the filter's conditions; `contains` is the dialect's
/// case-insensitive LIKE and `has_tag` pushes its tag condition.
fn push_filter<'a, DB: sqlx::Database>(
    query: &mut sqlx::QueryBuilder<'a, DB>,
    filter: &'a SiteFilter,
    like: &str,
    has_tag: impl FnOnce(&mut sqlx::QueryBuilder<'a, DB>, &'a str),
) where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if let Some(search) = &filter.search {
        let pattern = contains_pattern(search);
        query
            .push(format!(" AND (s.name {like} "))
            .push_bind(pattern.clone())
            .push(format!(" ESCAPE '\\' OR COALESCE(s.domain, '') {like} "))
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
    if let Some(status) = filter.status {
        query.push(" AND s.status = ").push_bind(status.as_str());
    }
    if let Some(tag) = &filter.tag {
        query.push(" AND ");
        has_tag(query, tag);
    }
    match filter.agent {
        Some(AgentFilter::SeenSince(since)) => {
            query
                .push(" AND a.id IS NOT NULL AND a.last_seen >= ")
                .push_bind(since);
        }
        Some(AgentFilter::NotSeenSince(since)) => {
            query
                .push(" AND a.id IS NOT NULL AND (a.last_seen IS NULL OR a.last_seen < ")
                .push_bind(since)
                .push(")");
        }
        Some(AgentFilter::NotEnrolled) => {
            query.push(" AND a.id IS NULL");
        }
        None => {}
    }
}

pub(crate) mod sqlite {
    use super::*;
    use crate::{Deployment, Job, Result};
    use sqlx::types::Json;
    use sqlx::{QueryBuilder, Sqlite, SqlitePool};

    fn has_tag<'a>(query: &mut QueryBuilder<'a, Sqlite>, tag: &'a str) {
        query
            .push(
                "EXISTS (SELECT 1 FROM json_each(s.metadata, '$.tags') t
                  WHERE json_type(s.metadata, '$.tags') = 'array' AND t.type = 'text' AND t.value = ",
            )
            .push_bind(tag)
            .push(")");
    }

    pub async fn fleet_sites(
        pool: &SqlitePool,
        owner: Uuid,
        filter: &SiteFilter,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<FleetSite>> {
        let mut query = QueryBuilder::<Sqlite>::new(FLEET_SELECT);
        query.push_bind(owner);
        // SQLite's LIKE ignores ASCII case already.
        push_filter(&mut query, filter, "LIKE", has_tag);
        if let Some(after) = after {
            query.push(" AND s.id > ").push_bind(after);
        }
        query.push(" ORDER BY s.id LIMIT ").push_bind(limit);
        let rows = query.build().fetch_all(pool).await?;
        let mut sites = Vec::with_capacity(rows.len());
        for row in &rows {
            sites.push(fleet_row!(row));
        }
        Ok(sites)
    }

    pub async fn count_fleet_sites(
        pool: &SqlitePool,
        owner: Uuid,
        filter: &SiteFilter,
    ) -> Result<i64> {
        let mut query = QueryBuilder::<Sqlite>::new(FLEET_COUNT);
        query.push_bind(owner);
        push_filter(&mut query, filter, "LIKE", has_tag);
        let (count,): (i64,) = query.build_query_as().fetch_one(pool).await?;
        Ok(count)
    }

    pub async fn site_tags(pool: &SqlitePool, owner: Uuid) -> Result<Vec<TagCount>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT t.value, COUNT(*) FROM sites s, json_each(s.metadata, '$.tags') t
             WHERE s.user_id = $1 AND json_type(s.metadata, '$.tags') = 'array' AND t.type = 'text'
             GROUP BY t.value ORDER BY t.value",
        )
        .bind(owner)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(tag, sites)| TagCount { tag, sites })
            .collect())
    }

    pub async fn site_jobs(
        pool: &SqlitePool,
        owner: Uuid,
        site_id: Uuid,
        limit: i64,
    ) -> Result<Vec<Job>> {
        Ok(sqlx::query_as(
            "SELECT * FROM jobs WHERE site_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(site_id)
        .bind(owner)
        .bind(limit)
        .fetch_all(pool)
        .await?)
    }

    pub async fn job_input(
        pool: &SqlitePool,
        owner: Uuid,
        job_id: Uuid,
    ) -> Result<Option<serde_json::Value>> {
        let row: Option<(Json<serde_json::Value>,)> =
            sqlx::query_as("SELECT input FROM jobs WHERE id = $1 AND user_id = $2")
                .bind(job_id)
                .bind(owner)
                .fetch_optional(pool)
                .await?;
        Ok(row.map(|(input,)| input.0))
    }

    pub async fn deployments_by_ids(
        pool: &SqlitePool,
        owner: Uuid,
        ids: &[Uuid],
    ) -> Result<Vec<Deployment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::<Sqlite>::new("SELECT * FROM deployments WHERE user_id = ");
        query.push_bind(owner).push(" AND id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        query.push(") ORDER BY id");
        Ok(query.build_query_as().fetch_all(pool).await?)
    }

    pub async fn write_site_draft(
        pool: &SqlitePool,
        owner: Uuid,
        site_id: Uuid,
        read_at: DateTime<Utc>,
        draft: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<DraftWrite> {
        let written = sqlx::query(
            "UPDATE site_drafts SET draft = $1, updated_at = $2
             WHERE site_id = $3 AND user_id = $4 AND updated_at = $5
               AND NOT EXISTS (SELECT 1 FROM jobs WHERE site_id = $3 AND kind = 'generation'
                                 AND status IN ('queued', 'running'))",
        )
        .bind(Json(draft))
        .bind(now)
        .bind(site_id)
        .bind(owner)
        .bind(read_at)
        .execute(pool)
        .await?;
        if written.rows_affected() == 1 {
            return Ok(DraftWrite::Written(now));
        }
        let (drafts, busy): (i64, i64) = sqlx::query_as(
            "SELECT
                (SELECT COUNT(*) FROM site_drafts WHERE site_id = $1 AND user_id = $2),
                (SELECT COUNT(*) FROM jobs WHERE site_id = $1 AND user_id = $2 AND kind = 'generation'
                   AND status IN ('queued', 'running'))",
        )
        .bind(site_id)
        .bind(owner)
        .fetch_one(pool)
        .await?;
        Ok(match (drafts, busy) {
            (0, _) => DraftWrite::Missing,
            (_, 0) => DraftWrite::Stale,
            _ => DraftWrite::Busy,
        })
    }

    pub async fn usage_since(
        pool: &SqlitePool,
        owner: Uuid,
        since: DateTime<Utc>,
    ) -> Result<UsageSince> {
        let row: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(USAGE_SINCE)
            .bind(owner)
            .bind(since)
            .fetch_one(pool)
            .await?;
        Ok(usage(row))
    }
}

pub(crate) mod postgres {
    use super::*;
    use crate::{Deployment, Job, Result};
    use sqlx::types::Json;
    use sqlx::{PgPool, Postgres, QueryBuilder};

    fn has_tag<'a>(query: &mut QueryBuilder<'a, Postgres>, tag: &'a str) {
        query
            .push("s.metadata -> 'tags' @> jsonb_build_array(")
            .push_bind(tag)
            .push("::text)");
    }

    pub async fn fleet_sites(
        pool: &PgPool,
        owner: Uuid,
        filter: &SiteFilter,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<FleetSite>> {
        let mut query = QueryBuilder::<Postgres>::new(FLEET_SELECT);
        query.push_bind(owner);
        push_filter(&mut query, filter, "ILIKE", has_tag);
        if let Some(after) = after {
            query.push(" AND s.id > ").push_bind(after);
        }
        query.push(" ORDER BY s.id LIMIT ").push_bind(limit);
        let rows = query.build().fetch_all(pool).await?;
        let mut sites = Vec::with_capacity(rows.len());
        for row in &rows {
            sites.push(fleet_row!(row));
        }
        Ok(sites)
    }

    pub async fn count_fleet_sites(pool: &PgPool, owner: Uuid, filter: &SiteFilter) -> Result<i64> {
        let mut query = QueryBuilder::<Postgres>::new(FLEET_COUNT);
        query.push_bind(owner);
        push_filter(&mut query, filter, "ILIKE", has_tag);
        let (count,): (i64,) = query.build_query_as().fetch_one(pool).await?;
        Ok(count)
    }

    pub async fn site_tags(pool: &PgPool, owner: Uuid) -> Result<Vec<TagCount>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT t.tag, COUNT(*) FROM sites s
             CROSS JOIN LATERAL jsonb_array_elements(
                 CASE WHEN jsonb_typeof(s.metadata -> 'tags') = 'array' THEN s.metadata -> 'tags'
                      ELSE '[]'::jsonb END) AS e(value)
             CROSS JOIN LATERAL (SELECT e.value #>> '{}' AS tag) t
             WHERE s.user_id = $1 AND jsonb_typeof(e.value) = 'string'
             GROUP BY t.tag ORDER BY t.tag",
        )
        .bind(owner)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(tag, sites)| TagCount { tag, sites })
            .collect())
    }

    pub async fn site_jobs(
        pool: &PgPool,
        owner: Uuid,
        site_id: Uuid,
        limit: i64,
    ) -> Result<Vec<Job>> {
        Ok(sqlx::query_as(
            "SELECT * FROM jobs WHERE site_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(site_id)
        .bind(owner)
        .bind(limit)
        .fetch_all(pool)
        .await?)
    }

    pub async fn job_input(
        pool: &PgPool,
        owner: Uuid,
        job_id: Uuid,
    ) -> Result<Option<serde_json::Value>> {
        let row: Option<(Json<serde_json::Value>,)> =
            sqlx::query_as("SELECT input FROM jobs WHERE id = $1 AND user_id = $2")
                .bind(job_id)
                .bind(owner)
                .fetch_optional(pool)
                .await?;
        Ok(row.map(|(input,)| input.0))
    }

    pub async fn deployments_by_ids(
        pool: &PgPool,
        owner: Uuid,
        ids: &[Uuid],
    ) -> Result<Vec<Deployment>> {
        Ok(sqlx::query_as(
            "SELECT * FROM deployments WHERE user_id = $1 AND id = ANY($2) ORDER BY id",
        )
        .bind(owner)
        .bind(ids)
        .fetch_all(pool)
        .await?)
    }

    pub async fn write_site_draft(
        pool: &PgPool,
        owner: Uuid,
        site_id: Uuid,
        read_at: DateTime<Utc>,
        draft: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<DraftWrite> {
        let written: Option<(DateTime<Utc>,)> = sqlx::query_as(
            "UPDATE site_drafts SET draft = $1, updated_at = $2
             WHERE site_id = $3 AND user_id = $4 AND updated_at = $5
               AND NOT EXISTS (SELECT 1 FROM jobs WHERE site_id = $3 AND kind = 'generation'
                                 AND status IN ('queued', 'running'))
             RETURNING updated_at",
        )
        .bind(Json(draft))
        .bind(now)
        .bind(site_id)
        .bind(owner)
        .bind(read_at)
        .fetch_optional(pool)
        .await?;
        if let Some((updated_at,)) = written {
            return Ok(DraftWrite::Written(updated_at));
        }
        let (drafts, busy): (i64, i64) = sqlx::query_as(
            "SELECT
                (SELECT COUNT(*) FROM site_drafts WHERE site_id = $1 AND user_id = $2),
                (SELECT COUNT(*) FROM jobs WHERE site_id = $1 AND user_id = $2 AND kind = 'generation'
                   AND status IN ('queued', 'running'))",
        )
        .bind(site_id)
        .bind(owner)
        .fetch_one(pool)
        .await?;
        Ok(match (drafts, busy) {
            (0, _) => DraftWrite::Missing,
            (_, 0) => DraftWrite::Stale,
            _ => DraftWrite::Busy,
        })
    }

    pub async fn usage_since(
        pool: &PgPool,
        owner: Uuid,
        since: DateTime<Utc>,
    ) -> Result<UsageSince> {
        let row: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(USAGE_SINCE)
            .bind(owner)
            .bind(since)
            .fetch_one(pool)
            .await?;
        Ok(usage(row))
    }
}

/// Sites now, and generations, deployments and tokens since `$2`.
const USAGE_SINCE: &str = "SELECT
    (SELECT COUNT(*) FROM sites WHERE user_id = $1),
    (SELECT COUNT(*) FROM jobs WHERE user_id = $1 AND kind = 'generation' AND created_at >= $2),
    (SELECT COUNT(*) FROM deployments WHERE user_id = $1 AND created_at >= $2),
    (SELECT CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) FROM token_usage WHERE user_id = $1 AND created_at >= $2),
    (SELECT CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) FROM token_usage WHERE user_id = $1 AND created_at >= $2),
    (SELECT CAST(COALESCE(SUM(cache_read_tokens), 0) AS BIGINT) FROM token_usage WHERE user_id = $1 AND created_at >= $2),
    (SELECT CAST(COALESCE(SUM(cache_creation_tokens), 0) AS BIGINT) FROM token_usage WHERE user_id = $1 AND created_at >= $2)";

fn usage(
    (sites, generations, deployments, input, output, cache_read, cache_creation): (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    ),
) -> UsageSince {
    UsageSince {
        sites,
        generations,
        deployments,
        tokens: TokenCounts {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: cache_read,
            cache_creation_tokens: cache_creation,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
