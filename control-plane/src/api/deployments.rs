//! Deployments and rollbacks: a bundle for one site (the items sent, or the
//! site's current draft), for many sites at once, a deployment's status and
//! per-item results, and rolling one back.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gsw_generation::draft::SiteDraft;
use gsw_protocol::bundle::{ItemKind, Payload};
use gsw_storage::DeploymentStatus;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use uuid::Uuid;

use super::views::{DeploymentList, DeploymentView};
use crate::error::{ApiResult, AppError};
use crate::extract::{is_json, json_object, ApiJson, ApiPath, AuthUser, UploadSlot};
use crate::fleet::release::{self, release, rollback_payload, Release, SiteTheme};
use crate::state::AppState;

/// Most sites one bulk deployment may name.
const MAX_BULK_SITES: usize = 10_000;

/// Deployment routes, mounted under `/api/v1`.
pub fn router(max_bundle_bytes: u64) -> OpenApiRouter<AppState> {
    // Deployment bodies carry the items base64-encoded in JSON.
    let body_limit = usize::try_from(max_bundle_bytes)
        .unwrap_or(usize::MAX / 2)
        .saturating_mul(4)
        / 3
        + 64 * 1024;
    OpenApiRouter::new()
        .routes(
            routes!(list_site_deployments, create_site_deployment)
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .routes(routes!(create_bulk_deployment).layer(DefaultBodyLimit::max(body_limit)))
        .routes(routes!(get_deployment))
        .routes(routes!(rollback_deployment))
}

/// One item to deploy: text in `content`, or bytes in `content_base64`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    /// `content`, `theme`, `plugin`, `design` or `media`.
    #[schema(example = "content")]
    pub kind: ItemKind,
    /// Relative path inside the kind's folder, e.g. `pages/home.json`.
    pub path: String,
    pub content: Option<String>,
    pub content_base64: Option<String>,
}

/// A bundle to deploy to one site.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    /// The items; absent, the site's current draft.
    #[schema(min_items = 1)]
    pub items: Option<Vec<ItemInput>>,
    /// Seconds the bundle stays valid (default 7 days; 60 to a year).
    #[serde(default, deserialize_with = "super::whole_or_none")]
    #[schema(minimum = 60, maximum = 31_536_000)]
    pub ttl_secs: Option<u64>,
    /// Deploying the draft: `generated` (the default) installs and
    /// activates the site's generated theme; `keep` leaves the site's own
    /// theme active and untouched, its pages styled by their blocks' own
    /// attributes. Not for a deployment of `items`.
    pub theme: Option<SiteTheme>,
}

/// A bundle to deploy to many sites.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDeployRequest {
    /// The sites (1 to 10,000).
    #[schema(min_items = 1, max_items = 10_000)]
    pub site_ids: Vec<Uuid>,
    #[schema(min_items = 1)]
    pub items: Vec<ItemInput>,
    /// Seconds the bundles stay valid (default 7 days; 60 to a year).
    #[serde(default, deserialize_with = "super::whole_or_none")]
    #[schema(minimum = 60, maximum = 31_536_000)]
    pub ttl_secs: Option<u64>,
}

fn payload(state: &AppState, items: Vec<ItemInput>) -> ApiResult<Payload> {
    if items.is_empty() {
        return Err(AppError::invalid("items", "send at least one item"));
    }
    let mut decoded = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let bytes = match (item.content, item.content_base64) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(b64)) => STANDARD.decode(b64.as_bytes()).map_err(|e| {
                AppError::invalid(
                    format!("items[{i}].content_base64"),
                    format!("not base64 ({e})"),
                )
            })?,
            _ => {
                return Err(AppError::invalid(
                    format!("items[{i}]"),
                    "send exactly one of content and content_base64",
                ))
            }
        };
        decoded.push((item.kind, item.path, bytes));
    }
    let payload =
        Payload::build(decoded).map_err(|e| AppError::invalid("items", format!("{e}")))?;
    if payload.bytes.len() as u64 > state.fleet.settings.max_bundle_bytes {
        return Err(AppError::invalid(
            "items",
            format!(
                "{} bytes in all, over the {}-byte bundle limit",
                payload.bytes.len(),
                state.fleet.settings.max_bundle_bytes
            ),
        ));
    }
    Ok(payload)
}

/// Queues a bundle for one site: the items sent, or with an empty body the
/// site's current draft (pages, navigation, design and plugin plan).
#[utoipa::path(post, path = "/sites/{id}/deployments", tag = "fleet", params(("id" = Uuid, Path)),
    request_body(content = Option<DeployRequest>, description = "Items to deploy; no body, `{}` or no `items` deploys the site's current draft"),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued; delivered when the agent is connected", body = DeploymentView),
        (status = 404, description = "No such site of the caller's", body = gsw_protocol::ErrorBody),
        (status = 422, description = "Bad items, or an empty body for a site with no draft", body = gsw_protocol::ErrorBody),
        (status = 503, description = "As many deployments are being uploaded as the server takes at once; see Retry-After", body = gsw_protocol::ErrorBody),
    ))]
async fn create_site_deployment(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(site_id): ApiPath<Uuid>,
    _upload: UploadSlot,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<impl IntoResponse> {
    let body = body?;
    // No body, `null` (the document's body is optional), `{}` and a body
    // without `items` all deploy the current draft.
    let request =
        if body.trim_ascii().is_empty() || (is_json(&headers) && body.trim_ascii() == b"null") {
            DeployRequest::default()
        } else if is_json(&headers) {
            json_object::<DeployRequest>(&body)?
        } else {
            return Err(AppError::UnsupportedMediaType);
        };
    let payload = match (request.items, request.theme) {
        (Some(_), Some(_)) => {
            return Err(AppError::invalid(
                "theme",
                "applies to deploying the draft: send either items or theme",
            ))
        }
        (Some(items), None) => payload(&state, items)?,
        (None, theme) => draft_payload(&state, user.id, site_id, theme.unwrap_or_default()).await?,
    };
    let ttl_secs = request.ttl_secs;
    let mut made = release(
        state.store.as_ref(),
        &state.fleet,
        Release {
            owner: user.id,
            site_ids: &[site_id],
            payload,
            ttl_secs,
            rollback_of: None,
        },
    )
    .await?;
    let deployment = made
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no deployment made"))?;
    let location = format!("{}/deployments/{}", gsw_protocol::API_PREFIX, deployment.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(DeploymentView::from(deployment)),
    ))
}

/// The bundle of a site's current draft.
async fn draft_payload(
    state: &AppState,
    owner: Uuid,
    site_id: Uuid,
    site_theme: SiteTheme,
) -> ApiResult<Payload> {
    if state.store.site(owner, site_id).await?.is_none() {
        return Err(AppError::NotFound("site"));
    }
    let record = state
        .store
        .site_draft(owner, site_id)
        .await?
        .ok_or_else(|| {
            AppError::invalid_body(
                "this site has no draft to deploy: generate one, or send the items to deploy",
            )
        })?;
    let draft = SiteDraft::from_stored(record.draft)?;
    release::draft_payload(
        &draft,
        &state.plugins,
        &state.photos,
        state.fleet.settings.max_bundle_bytes,
        site_theme,
    )
    .await
}

/// Queues one bundle for each of many sites.
#[utoipa::path(post, path = "/deployments", tag = "fleet", request_body = BulkDeployRequest, security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued, one deployment per site", body = DeploymentList),
        (status = 404, description = "A site is not the caller's; nothing was queued", body = gsw_protocol::ErrorBody),
        (status = 422, description = "Bad items or site list", body = gsw_protocol::ErrorBody),
        (status = 503, description = "As many deployments are being uploaded as the server takes at once; see Retry-After", body = gsw_protocol::ErrorBody),
    ))]
async fn create_bulk_deployment(
    State(state): State<AppState>,
    user: AuthUser,
    _upload: UploadSlot,
    ApiJson(body): ApiJson<BulkDeployRequest>,
) -> ApiResult<(StatusCode, Json<DeploymentList>)> {
    let mut site_ids = body.site_ids;
    site_ids.sort_unstable();
    site_ids.dedup();
    if site_ids.is_empty() || site_ids.len() > MAX_BULK_SITES {
        return Err(AppError::invalid(
            "site_ids",
            format!("name between 1 and {MAX_BULK_SITES} sites"),
        ));
    }
    let payload = payload(&state, body.items)?;
    let made = release(
        state.store.as_ref(),
        &state.fleet,
        Release {
            owner: user.id,
            site_ids: &site_ids,
            payload,
            ttl_secs: body.ttl_secs,
            rollback_of: None,
        },
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(DeploymentList {
            deployments: made.into_iter().map(Into::into).collect(),
        }),
    ))
}

/// The site's deployments, newest first.
#[utoipa::path(get, path = "/sites/{id}/deployments", tag = "fleet", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, description = "Up to 100 deployments, newest first", body = DeploymentList)))]
async fn list_site_deployments(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(site_id): ApiPath<Uuid>,
) -> ApiResult<Json<DeploymentList>> {
    if state.store.site(user.id, site_id).await?.is_none() {
        return Err(AppError::NotFound("site"));
    }
    let deployments = state.store.site_deployments(user.id, site_id, 100).await?;
    Ok(Json(DeploymentList {
        deployments: deployments.into_iter().map(Into::into).collect(),
    }))
}

/// One deployment: status and per-item results.
#[utoipa::path(get, path = "/deployments/{id}", tag = "fleet", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The deployment", body = DeploymentView),
        (status = 404, description = "No such deployment of the caller's", body = gsw_protocol::ErrorBody),
    ))]
async fn get_deployment(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DeploymentView>> {
    let deployment = state
        .store
        .deployment(user.id, id)
        .await?
        .ok_or(AppError::NotFound("deployment"))?;
    Ok(Json(deployment.into()))
}

/// Undoes a deployment: queues a signed rollback bundle for its site, which
/// the connector applies by restoring the state it recorded just before
/// that deployment changed anything (content, settings, active theme and
/// plugins). The rollback is itself a deployment, with its own results.
#[utoipa::path(post, path = "/deployments/{id}/rollback", tag = "fleet", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 202, description = "Rollback queued; delivered when the agent is connected", body = DeploymentView),
        (status = 404, description = "No such deployment of the caller's", body = gsw_protocol::ErrorBody),
        (status = 409, description = "The deployment changed nothing that could be undone (not applied yet, or refused), or its snapshot is no longer kept on the host", body = gsw_protocol::ErrorBody),
    ))]
async fn rollback_deployment(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<DeploymentView>)> {
    let target = state
        .store
        .deployment(user.id, id)
        .await?
        .ok_or(AppError::NotFound("deployment"))?;
    match target.status {
        // A failed apply may have changed part of the site: undo that part.
        DeploymentStatus::Applied | DeploymentStatus::Failed => {}
        DeploymentStatus::Queued | DeploymentStatus::Delivered => {
            return Err(AppError::InvalidState(
                "this deployment has not been applied yet; there is nothing to roll back".into(),
            ))
        }
        DeploymentStatus::Refused => {
            return Err(AppError::InvalidState(
                "this deployment was refused by its agent and changed nothing".into(),
            ))
        }
    }
    // The agent keeps the newest snapshots only; an older deployment's is gone.
    let site = state.store.site(user.id, target.site_id).await?;
    let inventory = site
        .and_then(|s| s.inventory)
        .and_then(|i| serde_json::from_value::<gsw_protocol::site::Inventory>(i).ok());
    let sequence = u64::try_from(target.sequence).unwrap_or_default();
    if let Some(kept) = inventory.filter(|i| i.snapshot_pruned(sequence)) {
        let kept = kept.snapshots.unwrap_or_default();
        return Err(AppError::InvalidState(format!(
            "the host no longer keeps the snapshot of deployment #{sequence} (its agent keeps the newest {}, from #{}); it cannot be rolled back",
            kept.len(),
            kept.first().copied().unwrap_or_default()
        )));
    }
    let mut made = release(
        state.store.as_ref(),
        &state.fleet,
        Release {
            owner: user.id,
            site_ids: &[target.site_id],
            payload: rollback_payload(&target)?,
            ttl_secs: None,
            rollback_of: Some(target.id),
        },
    )
    .await?;
    let rollback = made.pop().ok_or(AppError::NotFound("site"))?;
    Ok((StatusCode::ACCEPTED, Json(rollback.into())))
}
