//! `/fleet/*`: what the dashboard's fleet table reads. Sites with their
//! agent and last deployment, searched and filtered in the database so a
//! fleet of thousands pages like a fleet of ten; the tags in use; and the
//! status of many deployments at once, for a bulk push's per-site progress.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use gsw_storage::{AgentFilter, DeploymentStatus, FleetSite, Page, SiteFilter, SiteStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::views::{DeploymentList, DeploymentView, SiteView};
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiQuery, AuthUser};
use crate::state::AppState;

/// The ids of `GET /fleet/deployments`, exactly as its pattern says:
/// 1 to 200 hyphenated UUIDs, comma-separated, no spaces or empty entries
/// (repeated ones counted, then asked for once).
fn status_ids(raw: &str) -> ApiResult<Vec<Uuid>> {
    let named: Vec<&str> = raw.split(',').collect();
    if raw.is_empty() || named.len() > MAX_STATUS_IDS {
        return Err(AppError::invalid(
            "ids",
            format!("name between 1 and {MAX_STATUS_IDS} deployments"),
        ));
    }
    let mut ids = named
        .iter()
        .enumerate()
        .map(|(i, id)| {
            // 36 characters: the hyphenated form only (`Uuid` also reads
            // braced, URN and bare-hex forms).
            id.parse::<Uuid>()
                .ok()
                .filter(|_| id.len() == 36)
                .ok_or_else(|| {
                    AppError::invalid(
                        format!("ids[{i}]"),
                        format!("{id:?} is not a hyphenated UUID"),
                    )
                })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Routes under `/fleet`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(fleet_sites))
        .routes(routes!(fleet_tags))
        .routes(routes!(fleet_deployments))
}

/// Most deployments one status call may name.
pub const MAX_STATUS_IDS: usize = 200;
/// Longest search text, in characters.
const SEARCH_MAX: usize = 200;

/// Searching and filtering the fleet table.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FleetQuery {
    /// Text the site's name or domain contains (case-insensitive).
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// `draft`, `generating` or `active` (empty: any).
    #[param(pattern = "^(draft|generating|active)?$")]
    pub status: Option<String>,
    /// A tag the site carries (`metadata.tags`).
    pub tag: Option<String>,
    /// `online` (heard from within the agent timeout), `offline` (enrolled,
    /// not heard from since) or `none` (no agent enrolled); empty: any.
    #[param(pattern = "^(online|offline|none)?$")]
    pub agent: Option<String>,
    /// At most this many sites (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Sites created after the site with this id (the previous page's `next_after`).
    pub after: Option<Uuid>,
}

/// A site's agent, as the fleet table shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FleetAgentView {
    pub id: Uuid,
    /// `agent` (the sidecar's WebSocket) or `plugin` (the connector alone).
    pub connection: gsw_storage::Connection,
    /// Connected to the control plane right now (a plugin connection:
    /// heard from within the last 15 minutes).
    pub online: bool,
    pub last_seen: Option<DateTime<Utc>>,
    pub hostname: String,
    pub agent_version: String,
    /// Highest bundle sequence the agent reported applied.
    pub last_applied: i64,
}

/// A site's latest deployment, in brief.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastDeploymentView {
    pub id: Uuid,
    pub sequence: i64,
    /// `queued`, `delivered`, `applied`, `failed` or `refused`.
    #[schema(example = "applied")]
    pub status: DeploymentStatus,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One row of the fleet table.
#[derive(Debug, Serialize, ToSchema)]
pub struct FleetSiteView {
    pub site: SiteView,
    /// The site's tags (`metadata.tags`).
    pub tags: Vec<String>,
    /// The enrolled agent; `null` if none.
    pub agent: Option<FleetAgentView>,
    /// `null` if the site was never deployed to.
    pub last_deployment: Option<LastDeploymentView>,
}

/// One page of the fleet table.
#[derive(Debug, Serialize, ToSchema)]
pub struct FleetPage {
    pub sites: Vec<FleetSiteView>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<Uuid>,
    /// How many sites pass the filter, on all pages.
    pub total: i64,
}

/// A tag and how many sites carry it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagView {
    pub tag: String,
    pub sites: i64,
}

/// The tags in use.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagList {
    pub tags: Vec<TagView>,
}

/// The tags of a site's metadata: the strings in `metadata.tags`.
pub fn tags_of(metadata: &serde_json::Value) -> Vec<String> {
    metadata
        .get("tags")
        .and_then(|t| t.as_array())
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn filter_of(query: &FleetQuery, agent_timeout: std::time::Duration) -> ApiResult<SiteFilter> {
    let search = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| {
            if q.chars().count() > SEARCH_MAX {
                Err(AppError::invalid(
                    "q",
                    format!("must be at most {SEARCH_MAX} characters"),
                ))
            } else {
                Ok(q.to_owned())
            }
        })
        .transpose()?;
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<SiteStatus>()
                .map_err(|_| AppError::invalid("status", "must be draft, generating or active"))
        })
        .transpose()?;
    let tag = query
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let now = Utc::now();
    let since = gsw_storage::SeenTimes {
        agent: now
            - chrono::Duration::from_std(agent_timeout).unwrap_or(chrono::Duration::seconds(60)),
        plugin: now - crate::fleet::PLUGIN_ONLINE_WINDOW,
    };
    let agent = match query.agent.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some("online") => Some(AgentFilter::SeenSince(since)),
        Some("offline") => Some(AgentFilter::NotSeenSince(since)),
        Some("none") => Some(AgentFilter::NotEnrolled),
        Some(_) => {
            return Err(AppError::invalid(
                "agent",
                "must be online, offline or none",
            ))
        }
    };
    Ok(SiteFilter {
        search,
        status,
        tag,
        agent,
    })
}

async fn row_view(state: &AppState, row: FleetSite) -> FleetSiteView {
    let agent = match row.agent {
        Some(agent) => Some(FleetAgentView {
            online: state.fleet.is_online(&agent).await,
            id: agent.id,
            connection: agent.connection,
            last_seen: agent.last_seen,
            hostname: agent.hostname,
            agent_version: agent.agent_version,
            last_applied: agent.last_applied,
        }),
        None => None,
    };
    FleetSiteView {
        tags: tags_of(&row.site.metadata),
        site: row.site.into(),
        agent,
        last_deployment: row.last_deployment.map(|d| LastDeploymentView {
            id: d.id,
            sequence: d.sequence,
            status: d.status,
            error: d.error,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }),
    }
}

/// The caller's sites with their agent and last deployment, searched and
/// filtered, oldest first.
#[utoipa::path(get, path = "/fleet/sites", tag = "fleet", params(FleetQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of the fleet table", body = FleetPage),
        (status = 422, description = "A filter has a value it cannot have", body = gsw_protocol::ErrorBody),
    ))]
async fn fleet_sites(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<FleetQuery>,
) -> ApiResult<Json<FleetPage>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 200"));
    }
    let filter = filter_of(&query, state.fleet.settings.timeout)?;
    let page = Page {
        after: query.after,
        limit,
    };
    let (rows, total) = tokio::try_join!(
        state.store.fleet_sites(user.id, &filter, page),
        state.store.count_fleet_sites(user.id, &filter),
    )?;
    let next_after = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.site.id))
        .flatten();
    let sites = futures::future::join_all(rows.into_iter().map(|row| row_view(&state, row))).await;
    Ok(Json(FleetPage {
        sites,
        next_after,
        total,
    }))
}

/// The tags on the caller's sites, with how many sites carry each.
#[utoipa::path(get, path = "/fleet/tags", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "Tags in alphabetical order", body = TagList)))]
async fn fleet_tags(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<TagList>> {
    let tags = state.store.site_tags(user.id).await?;
    Ok(Json(TagList {
        tags: tags
            .into_iter()
            .map(|t| TagView {
                tag: t.tag,
                sites: t.sites,
            })
            .collect(),
    }))
}

/// Deployments named by id.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeploymentIds {
    /// Comma-separated deployment ids (1 to 200), each a hyphenated UUID.
    #[param(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(,[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}){0,199}$"
    )]
    pub ids: String,
}

/// The status of many of the caller's deployments at once (a bulk push's
/// progress); ids that are not the caller's are left out.
#[utoipa::path(get, path = "/fleet/deployments", tag = "fleet", params(DeploymentIds), security(("bearer" = [])),
    responses(
        (status = 200, description = "The deployments found, in id order", body = DeploymentList),
        (status = 422, description = "An id is not a UUID, or too many ids", body = gsw_protocol::ErrorBody),
    ))]
async fn fleet_deployments(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<DeploymentIds>,
) -> ApiResult<Json<DeploymentList>> {
    let ids = status_ids(&query.ids)?;
    let deployments = state.store.deployments_by_ids(user.id, &ids).await?;
    Ok(Json(DeploymentList {
        deployments: deployments.into_iter().map(DeploymentView::from).collect(),
    }))
}
