//! The dashboard's queries: the fleet table (searched and filtered in the
//! query), tags, a site's jobs, draft edits and billing usage.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{ColumnIndex, Encode, Executor, FromRow, IntoArguments, QueryBuilder, Row, Type};
use uuid::Uuid;

use super::{from_rows, page_limit, Column, Dialect, Queries, DEPLOY_CHUNK};
use crate::{
    Agent, AgentFilter, Deployment, DeploymentSummary, DraftWrite, FleetSite, Job, Page, Result,
    SeenTimes, Site, SiteFilter, TagCount, TokenCounts, UsageSince,
};

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

/// The joins and columns of the fleet table; the owner's id is bound next.
const FLEET_SELECT: &str = "SELECT s.*,
        a.id AS a_id, a.public_key AS a_public_key, a.agent_version AS a_agent_version,
        a.hostname AS a_hostname, a.enrolled_at AS a_enrolled_at, a.last_seen AS a_last_seen,
        a.connection AS a_connection,
        a.last_applied AS a_last_applied,
        d.id AS d_id, d.sequence AS d_sequence, d.status AS d_status, d.error AS d_error,
        d.created_at AS d_created_at, d.updated_at AS d_updated_at
    FROM sites s
    LEFT JOIN agents a ON a.site_id = s.id AND a.revoked_at IS NULL
    LEFT JOIN deployments d ON d.site_id = s.id
        AND d.sequence = (SELECT MAX(sequence) FROM deployments WHERE site_id = s.id)
    WHERE s.user_id = ";

/// How many rows the fleet table has; the owner's id is bound next.
const FLEET_COUNT: &str = "SELECT COUNT(*) FROM sites s
    LEFT JOIN agents a ON a.site_id = s.id AND a.revoked_at IS NULL
    WHERE s.user_id = ";

/// Appends the time agent `a` must have been heard from since, by its connection.
fn push_since<'a, DB: Dialect>(query: &mut QueryBuilder<'a, DB>, since: SeenTimes)
where
    DateTime<Utc>: Encode<'a, DB> + Type<DB>,
{
    query
        .push("CASE WHEN a.connection = 'plugin' THEN ")
        .push_bind(since.plugin)
        .push(" ELSE ")
        .push_bind(since.agent)
        .push(" END");
}

/// Appends the filter's conditions to a query on `sites s` joined with its live agent `a`.
fn push_filter<'a, DB: Dialect>(query: &mut QueryBuilder<'a, DB>, filter: &'a SiteFilter)
where
    String: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    DateTime<Utc>: Encode<'a, DB> + Type<DB>,
{
    if let Some(search) = &filter.search {
        let pattern = contains_pattern(search);
        let like = DB::ILIKE;
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
        DB::push_has_tag(query, tag);
    }
    match filter.agent {
        Some(AgentFilter::SeenSince(since)) => {
            query.push(" AND a.id IS NOT NULL AND a.last_seen >= ");
            push_since(query, since);
        }
        Some(AgentFilter::NotSeenSince(since)) => {
            query.push(" AND a.id IS NOT NULL AND (a.last_seen IS NULL OR a.last_seen < ");
            push_since(query, since);
            query.push(")");
        }
        Some(AgentFilter::NotEnrolled) => {
            query.push(" AND a.id IS NULL");
        }
        None => {}
    }
}

impl<DB> Queries<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Json<&'q serde_json::Value>: Encode<'q, DB> + Type<DB>,
    Json<serde_json::Value>: Column<DB>,
    Uuid: Column<DB>,
    Option<Uuid>: Column<DB>,
    String: Column<DB>,
    Option<String>: Column<DB>,
    Vec<u8>: Column<DB>,
    DateTime<Utc>: Column<DB>,
    i64: Column<DB>,
    for<'r> Site: FromRow<'r, DB::Row>,
    for<'r> Job: FromRow<'r, DB::Row>,
    for<'r> Deployment: FromRow<'r, DB::Row>,
{
    pub(super) async fn fleet_sites(
        &self,
        owner: Uuid,
        filter: &SiteFilter,
        page: Page,
    ) -> Result<Vec<FleetSite>> {
        let mut query = QueryBuilder::<DB>::new(FLEET_SELECT);
        query.push_bind(owner);
        push_filter(&mut query, filter);
        if let Some(after) = page.after {
            query.push(" AND s.id > ").push_bind(after);
        }
        query
            .push(" ORDER BY s.id LIMIT ")
            .push_bind(page_limit(page));
        let rows = DB::build(&mut query).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(fleet_row).collect::<sqlx::Result<_>>()?)
    }

    pub(super) async fn count_fleet_sites(&self, owner: Uuid, filter: &SiteFilter) -> Result<i64> {
        let mut query = QueryBuilder::<DB>::new(FLEET_COUNT);
        query.push_bind(owner);
        push_filter(&mut query, filter);
        let row = DB::build(&mut query).fetch_one(&self.pool).await?;
        Ok(row.try_get(0)?)
    }

    pub(super) async fn site_tags(&self, owner: Uuid) -> Result<Vec<TagCount>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(DB::SITE_TAGS)
            .bind(owner)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(tag, sites)| TagCount { tag, sites })
            .collect())
    }

    pub(super) async fn site_jobs(
        &self,
        owner: Uuid,
        site_id: Uuid,
        limit: u32,
    ) -> Result<Vec<Job>> {
        Ok(sqlx::query_as(
            "SELECT * FROM jobs WHERE site_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(site_id)
        .bind(owner)
        .bind(page_limit(Page { after: None, limit }))
        .fetch_all(&self.pool)
        .await?)
    }

    pub(super) async fn job_input(
        &self,
        owner: Uuid,
        job_id: Uuid,
    ) -> Result<Option<serde_json::Value>> {
        let row: Option<(Json<serde_json::Value>,)> =
            sqlx::query_as("SELECT input FROM jobs WHERE id = $1 AND user_id = $2")
                .bind(job_id)
                .bind(owner)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(input,)| input.0))
    }

    pub(super) async fn deployments_by_ids(
        &self,
        owner: Uuid,
        ids: &[Uuid],
    ) -> Result<Vec<Deployment>> {
        let mut found = Vec::with_capacity(ids.len());
        // In chunks, to stay under the backends' bind limits.
        for chunk in ids.chunks(DEPLOY_CHUNK) {
            let mut query = QueryBuilder::<DB>::new("SELECT * FROM deployments WHERE user_id = ");
            query.push_bind(owner).push(" AND id IN (");
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
            let rows = DB::build(&mut query).fetch_all(&self.pool).await?;
            found.extend(from_rows::<_, Deployment>(rows)?);
        }
        // Both backends order UUIDs by their bytes, as `Uuid` does.
        found.sort_by_key(|d| d.id);
        Ok(found)
    }

    pub(super) async fn write_site_draft(
        &self,
        owner: Uuid,
        site_id: Uuid,
        read_at: DateTime<Utc>,
        draft: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<DraftWrite> {
        // The stored time, not `now`: PostgreSQL keeps microseconds only, and
        // the next write compares the time it read with the stored one.
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
        .fetch_optional(&self.pool)
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
        .fetch_one(&self.pool)
        .await?;
        Ok(match (drafts, busy) {
            (0, _) => DraftWrite::Missing,
            (_, 0) => DraftWrite::Stale,
            _ => DraftWrite::Busy,
        })
    }

    pub(super) async fn usage_since(
        &self,
        owner: Uuid,
        since: DateTime<Utc>,
    ) -> Result<UsageSince> {
        let row: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(USAGE_SINCE)
            .bind(owner)
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok(usage(row))
    }
}

/// Builds a fleet row from a joined query row: `s.*`, then the agent's
/// columns prefixed `a_` and the deployment's prefixed `d_`.
fn fleet_row<'r, R>(row: &'r R) -> sqlx::Result<FleetSite>
where
    R: Row,
    Site: FromRow<'r, R>,
    &'r str: ColumnIndex<R>,
    Option<Uuid>: sqlx::Decode<'r, R::Database> + Type<R::Database>,
    Option<DateTime<Utc>>: sqlx::Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + Type<R::Database>,
{
    let site = Site::from_row(row)?;
    let agent_id: Option<Uuid> = row.try_get("a_id")?;
    let agent = match agent_id {
        Some(id) => Some(Agent {
            id,
            site_id: site.id,
            connection: {
                let connection: String = row.try_get("a_connection")?;
                connection.parse().map_err(|e| sqlx::Error::ColumnDecode {
                    index: "a_connection".into(),
                    source: Box::new(e),
                })?
            },
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
    Ok(FleetSite {
        site,
        agent,
        last_deployment,
    })
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
