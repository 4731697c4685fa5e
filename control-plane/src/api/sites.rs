//! `/sites`: a user's WordPress sites.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use chrono::Utc;
use gsw_storage::{NewSite, Page, SitePatch, SiteStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::nullable;
use super::views::{AgentView, SiteView};
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::state::AppState;
use crate::validate;

/// Routes under `/sites`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sites, create_site))
        .routes(routes!(get_site, update_site, delete_site))
}

/// A site to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    /// Not blank.
    #[schema(example = "Ada's Bakery", max_length = 200, pattern = r"\S")]
    pub name: String,
    #[schema(example = "bakery.example")]
    pub domain: Option<String>,
    #[schema(example = "https://bakery.example/wp-admin/")]
    pub wp_admin_url: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// Changes to a site: absent fields stay, `null` clears `domain` or
/// `wp_admin_url`; at least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateSite {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, max_length = 200)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub wp_admin_url: Option<Option<String>>,
    /// Replaces the metadata (`{}` empties it; `null` is refused).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Object)]
    pub metadata: Option<Option<serde_json::Value>>,
    /// Deploy content unfiltered (see the site's field of the same name).
    #[serde(default)]
    #[schema(value_type = bool)]
    pub allow_unfiltered_html: Option<bool>,
}

/// Paging through sites.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListSites {
    /// At most this many sites (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Sites created after the site with this id (the previous page's `next_after`).
    pub after: Option<Uuid>,
}

/// One page of sites.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteList {
    pub sites: Vec<SiteView>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<Uuid>,
}

fn optional(
    value: Option<&str>,
    check: impl Fn(&str) -> ApiResult<String>,
) -> ApiResult<Option<String>> {
    value.map(check).transpose()
}

/// The caller's sites, oldest first.
#[utoipa::path(get, path = "/sites", tag = "sites", params(ListSites), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of the caller's sites", body = SiteList),
        (status = 400, description = "Bad query string", body = gsw_protocol::ErrorBody),
    ))]
async fn list_sites(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ListSites>,
) -> ApiResult<Json<SiteList>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 200"));
    }
    let sites = state
        .store
        .list_sites(
            user.id,
            Page {
                after: query.after,
                limit,
            },
        )
        .await?;
    let next_after = (sites.len() == limit as usize)
        .then(|| sites.last().map(|s| s.id))
        .flatten();
    Ok(Json(SiteList {
        sites: sites.into_iter().map(Into::into).collect(),
        next_after,
    }))
}

/// Adds a site.
#[utoipa::path(post, path = "/sites", tag = "sites", request_body = CreateSite, security(("bearer" = [])),
    responses(
        (status = 201, description = "Site created", body = SiteView),
        (status = 422, description = "A field breaks its rule", body = gsw_protocol::ErrorBody),
    ))]
async fn create_site(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<CreateSite>,
) -> ApiResult<impl IntoResponse> {
    let metadata = body.metadata.unwrap_or_else(|| serde_json::json!({}));
    validate::metadata(&metadata)?;
    let site = NewSite {
        id: Uuid::now_v7(),
        user_id: user.id,
        name: validate::line("name", &body.name, validate::SITE_NAME_MAX)?,
        domain: optional(body.domain.as_deref(), validate::domain)?,
        wp_admin_url: optional(body.wp_admin_url.as_deref(), |u| {
            validate::http_url("wp_admin_url", u)
        })?,
        status: SiteStatus::Draft,
        metadata,
        created_at: Utc::now(),
    };
    let site = state.store.create_site(&site).await?;
    let location = format!("{}/sites/{}", gsw_protocol::API_PREFIX, site.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(SiteView::from(site)),
    ))
}

/// One of the caller's sites.
#[utoipa::path(get, path = "/sites/{id}", tag = "sites", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The site", body = SiteView),
        (status = 404, description = "No such site of the caller's", body = gsw_protocol::ErrorBody),
    ))]
async fn get_site(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SiteView>> {
    let site = state
        .store
        .site(user.id, id)
        .await?
        .ok_or(AppError::NotFound("site"))?;
    let agent = state.store.site_agent(user.id, id).await?;
    let mut view = SiteView::from(site);
    if let Some(agent) = agent {
        view.agent = Some(AgentView::of(&state.fleet, agent).await);
    }
    Ok(Json(view))
}

/// Changes one of the caller's sites.
#[utoipa::path(patch, path = "/sites/{id}", tag = "sites", params(("id" = Uuid, Path)),
    request_body = UpdateSite, security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed site", body = SiteView),
        (status = 404, description = "No such site of the caller's", body = gsw_protocol::ErrorBody),
        (status = 422, description = "A field breaks its rule, or nothing to change", body = gsw_protocol::ErrorBody),
    ))]
async fn update_site(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateSite>,
) -> ApiResult<Json<SiteView>> {
    if body.name.is_none()
        && body.domain.is_none()
        && body.wp_admin_url.is_none()
        && body.metadata.is_none()
        && body.allow_unfiltered_html.is_none()
    {
        return Err(AppError::invalid_body(
            "nothing to change: send at least one of name, domain, wp_admin_url, metadata, allow_unfiltered_html",
        ));
    }
    let name = body
        .name
        .map(|n| n.ok_or(AppError::invalid("name", "cannot be null")));
    let metadata = body.metadata.map(|m| {
        m.ok_or(AppError::invalid(
            "metadata",
            "cannot be null; send {} to empty it",
        ))
    });
    let metadata = metadata.transpose()?;
    if let Some(metadata) = &metadata {
        validate::metadata(metadata)?;
    }
    let patch = SitePatch {
        name: name
            .transpose()?
            .map(|n| validate::line("name", &n, validate::SITE_NAME_MAX))
            .transpose()?,
        domain: body
            .domain
            .map(|d| optional(d.as_deref(), validate::domain))
            .transpose()?,
        wp_admin_url: body
            .wp_admin_url
            .map(|u| optional(u.as_deref(), |u| validate::http_url("wp_admin_url", u)))
            .transpose()?,
        metadata,
        allow_unfiltered_html: body.allow_unfiltered_html,
    };
    let site = state
        .store
        .update_site(user.id, id, &patch, Utc::now())
        .await?
        .ok_or(AppError::NotFound("site"))?;
    Ok(Json(site.into()))
}

/// Deletes one of the caller's sites and its jobs.
#[utoipa::path(delete, path = "/sites/{id}", tag = "sites", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such site of the caller's", body = gsw_protocol::ErrorBody),
    ))]
async fn delete_site(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    if state.store.delete_site(user.id, id).await? {
        // Its agent (deleted with it) is told so, and stops for good.
        state.fleet.disconnect_revoked(id).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("site"))
    }
}
