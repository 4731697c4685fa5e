//! WordPress sites by their credentials: `POST /wordpress/validate` checks a
//! site with a user name and application password, `POST
//! /sites/{id}/connect` checks it and has its connector plugin enroll as
//! the site's agent. The application password is used for the requests
//! and kept nowhere.

use std::time::Instant;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiPath, AuthUser, PublicUrl};
use crate::fleet::enrollment;
use crate::outbound::guarded::Credentials;
use crate::settings::Secret;
use crate::state::AppState;
use crate::validate;
use crate::wordpress::{self, ConnectRequest, Failure, Inspection, SiteReport};

use super::views::AgentView;

/// Longest user name or e-mail address WordPress logs in with.
const USERNAME_MAX: usize = 254;
/// Longest application password taken (WordPress makes them 24 characters,
/// shown in groups of four).
const APPLICATION_PASSWORD_MAX: usize = 256;

/// WordPress routes, mounted under `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(validate_site))
        .routes(routes!(connect_site))
}

/// A WordPress site and the credentials of one of its users.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WordPressCredentials {
    /// The site's address (where WordPress is installed).
    #[schema(example = "https://bakery.example", max_length = 2048)]
    pub url: String,
    /// The WordPress user's login name or e-mail address.
    #[schema(example = "ada", max_length = 254)]
    pub username: String,
    /// An application password of that user (Users → Profile →
    /// Application Passwords); used for this request only, never stored.
    #[schema(value_type = String, format = Password, example = "abcd EFGH ijkl MNOP qrst UVWX", max_length = 256)]
    pub application_password: Secret,
}

impl WordPressCredentials {
    /// The site's URL and the credentials, checked.
    fn checked(self) -> Result<(url::Url, Credentials), AppError> {
        let url = validate::http_url("url", &self.url)?;
        let url = url::Url::parse(&url).map_err(|e| AppError::invalid("url", e.to_string()))?;
        let username = validate::line("username", &self.username, USERNAME_MAX)?;
        let password = validate::line(
            "application_password",
            self.application_password.expose(),
            APPLICATION_PASSWORD_MAX,
        )?;
        Ok((
            url,
            Credentials {
                username,
                password: Secret::new(password),
            },
        ))
    }
}

/// Takes one of the user's WordPress checks, or says when the next is due.
fn take_check(state: &AppState, user: &AuthUser) -> Result<(), AppError> {
    state
        .wordpress_limiter
        .check(&user.id.to_string(), Instant::now())
        .map_err(AppError::RateLimited)
}

async fn inspect(
    state: &AppState,
    url: &url::Url,
    credentials: &Credentials,
) -> Result<Inspection, AppError> {
    let inspection = wordpress::inspect(&state.outbound, url, credentials).await;
    if let Err(failure) = &inspection {
        tracing::info!(code = failure.code(), %url, "WordPress site check failed");
    }
    Ok(inspection?)
}

/// Checks a WordPress site with a user's application password: reachable
/// (through the guard: no private, loopback or metadata addresses), WordPress, its REST API
/// on, the credentials accepted, the user an administrator; reports the
/// versions the site tells and whether the connector plugin is there.
#[utoipa::path(post, path = "/wordpress/validate", tag = "sites", request_body = WordPressCredentials, security(("bearer" = [])),
    responses(
        (status = 200, description = "What the site is", body = SiteReport),
        (status = 422, description = "`validation_failed` (a field), `forbidden_target` (the URL is or leads to an address not on the public internet), `unreachable`, `not_wordpress`, `rest_api_disabled`, `invalid_credentials` (WordPress refused the user name or application password) or `insufficient_role` (the user is no administrator)", body = gsw_protocol::ErrorBody),
        (status = 429, description = "Too many checks; `Retry-After` says when to try again", body = gsw_protocol::ErrorBody),
    ))]
async fn validate_site(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<WordPressCredentials>,
) -> ApiResult<Json<SiteReport>> {
    let (url, credentials) = body.checked()?;
    take_check(&state, &user)?;
    let inspection = inspect(&state, &url, &credentials).await?;
    Ok(Json(inspection.report))
}

/// Connects a site through its connector plugin: the same checks as
/// `/wordpress/validate`, then (the connector installed and active) a
/// one-time enrollment token is made for the site and handed, with this
/// control plane's URL and signing key fingerprint, to the connector's
/// `gsw/v1/connect` route, which enrolls it as the site's agent.
#[utoipa::path(post, path = "/sites/{id}/connect", tag = "fleet", params(("id" = Uuid, Path)), request_body = WordPressCredentials, security(("bearer" = [])),
    responses(
        (status = 200, description = "Connected: the site's agent, enrolled by the connector", body = AgentView),
        (status = 404, description = "No such site of the caller's", body = gsw_protocol::ErrorBody),
        (status = 409, description = "`connector_missing`: the connector plugin is not installed and active on the site (download it from `GET /api/v1/connector.zip`)", body = gsw_protocol::ErrorBody),
        (status = 422, description = "As `/wordpress/validate`: `validation_failed`, `forbidden_target`, `unreachable`, `not_wordpress`, `rest_api_disabled`, `invalid_credentials`, `insufficient_role`", body = gsw_protocol::ErrorBody),
        (status = 429, description = "Too many checks; `Retry-After` says when to try again", body = gsw_protocol::ErrorBody),
        (status = 502, description = "`connect_failed`: the connector did not enroll; its reason is in the message", body = gsw_protocol::ErrorBody),
    ))]
async fn connect_site(
    State(state): State<AppState>,
    user: AuthUser,
    PublicUrl(server): PublicUrl,
    ApiPath(site_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<WordPressCredentials>,
) -> ApiResult<Json<AgentView>> {
    let (url, credentials) = body.checked()?;
    state
        .store
        .site(user.id, site_id)
        .await?
        .ok_or(AppError::NotFound("site"))?;
    take_check(&state, &user)?;
    let inspection = inspect(&state, &url, &credentials).await?;
    let connector = &inspection.report.connector;
    if !connector.active {
        let state_of = if connector.installed == Some(true) {
            "is installed but not active; activate it"
        } else {
            "is not installed and active; install it"
        };
        return Err(Failure::ConnectorMissing(format!(
            "the gsWstudio connector plugin on {} {state_of} (download it from {}), then connect again",
            inspection.report.url,
            wordpress::CONNECTOR_DOWNLOAD
        ))
        .into());
    }
    let issued = enrollment::issue(
        state.store.as_ref(),
        &state.fleet.signing_key,
        user.id,
        site_id,
        server,
    )
    .await?
    .ok_or(AppError::NotFound("site"))?;
    let request = ConnectRequest {
        server: &issued.server,
        token: &issued.token,
        expect_key: &issued.bundle_key_fingerprint,
    };
    let connected = wordpress::connect(&state.outbound, &inspection, &credentials, &request)
        .await
        .inspect_err(
            |f| tracing::info!(code = f.code(), %site_id, "connecting the connector failed"),
        )?;
    // The connector says whom it enrolled; the store says whom it believes.
    let agent = state.store.site_agent(user.id, site_id).await?;
    match agent {
        Some(agent) if connected.site_id == site_id && agent.id == connected.agent_id => {
            tracing::info!(agent_id = %agent.id, %site_id, "site connected through its connector");
            Ok(Json(AgentView::of(&state.fleet, agent).await))
        }
        _ => Err(Failure::ConnectFailed(format!(
            "the connector answered that it enrolled agent {} for site {}, but that is not this site's agent; check that the connector talks to {}",
            connected.agent_id, connected.site_id, issued.server
        ))
        .into()),
    }
}
