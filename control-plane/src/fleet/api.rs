//! Fleet routes: enrollment, the agent's WebSocket, agent status and
//! revocation, and deployments.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use gsw_generation::draft::SiteDraft;
use gsw_protocol::bundle::{
    ItemEntry, ItemKind, Manifest, Payload, Policy, SignedManifest, FORMAT,
};
use gsw_protocol::frame::{ItemResult, AGENT_CONNECT_PATH, MAX_TEXT_FRAME_BYTES};
use gsw_storage::{
    Agent, Deployment, DeploymentStatus, Enrollment, NewAgent, NewEnrollmentToken, NewRelease,
    SignFor, SignedForSite,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiPath, AuthUser};
use crate::validate;

/// Enrollment tokens live this long.
const ENROLLMENT_TTL_MINUTES: i64 = 60;
/// Most sites one bulk deployment may name.
const MAX_BULK_SITES: usize = 10_000;

/// Fleet routes, mounted under `/api/v1`.
pub fn router(max_bundle_bytes: u64) -> OpenApiRouter<AppState> {
    // Deployment bodies carry the items base64-encoded in JSON.
    let body_limit = usize::try_from(max_bundle_bytes)
        .unwrap_or(usize::MAX / 2)
        .saturating_mul(4)
        / 3
        + 64 * 1024;
    OpenApiRouter::new()
        .routes(routes!(create_enrollment_token))
        .routes(routes!(enroll))
        .routes(routes!(get_agent, revoke_agent))
        .routes(
            routes!(list_site_deployments, create_site_deployment)
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .routes(routes!(create_bulk_deployment).layer(DefaultBodyLimit::max(body_limit)))
        .routes(routes!(get_deployment))
        .routes(routes!(rollback_deployment))
        .route(
            AGENT_CONNECT_PATH.trim_start_matches(gsw_protocol::API_PREFIX),
            axum::routing::get(connect),
        )
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A fresh enrollment token and the command that uses it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentTokenView {
    /// Single use; expires at `expires_at`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// The command to run on the WordPress host.
    pub command: String,
}

/// The URL agents and people reach this control plane at.
fn public_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.settings.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| state.settings.listen.to_string());
    format!("http://{host}")
}

/// Makes a one-time token for enrolling a site's agent.
#[utoipa::path(post, path = "/sites/{id}/enrollment-tokens", tag = "fleet", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 201, description = "Token and the command to run on the host", body = EnrollmentTokenView),
        (status = 404, description = "No such site of the caller's", body = gsw_protocol::ErrorBody),
    ))]
async fn create_enrollment_token(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiPath(site_id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<EnrollmentTokenView>)> {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!(
        "gswe_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let now = Utc::now();
    let record = NewEnrollmentToken {
        id: Uuid::now_v7(),
        site_id,
        token_hash: token_hash(&token),
        created_at: now,
        expires_at: now + Duration::minutes(ENROLLMENT_TTL_MINUTES),
    };
    if !state
        .store
        .create_enrollment_token(user.id, &record)
        .await?
    {
        return Err(AppError::NotFound("site"));
    }
    let server = public_url(&state, &headers);
    let command =
        format!("wp-agent enroll --server {server} --token {token} --wp-path /var/www/html");
    Ok((
        StatusCode::CREATED,
        Json(EnrollmentTokenView {
            token,
            expires_at: record.expires_at,
            command,
        }),
    ))
}

/// What `wp-agent enroll` sends.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub token: String,
    /// The agent's Ed25519 public key, base64.
    pub public_key: String,
    #[schema(max_length = 253)]
    pub hostname: String,
    #[schema(max_length = 64)]
    pub agent_version: String,
}

/// What an enrolled agent needs to know.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EnrollResponse {
    pub agent_id: Uuid,
    pub site_id: Uuid,
    /// The control plane's bundle-signing public key (Ed25519, base64).
    pub bundle_signing_key: String,
    /// Path of the WebSocket to dial, relative to the server URL.
    pub connect_path: String,
}

/// Registers an agent with a one-time enrollment token.
#[utoipa::path(post, path = "/agents/enroll", tag = "fleet", request_body = EnrollRequest,
    responses(
        (status = 201, description = "Enrolled", body = EnrollResponse),
        (status = 401, description = "Token unknown, already used or expired", body = gsw_protocol::ErrorBody),
        (status = 422, description = "Bad public key or hostname", body = gsw_protocol::ErrorBody),
    ))]
async fn enroll(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EnrollRequest>,
) -> ApiResult<(StatusCode, Json<EnrollResponse>)> {
    let public_key = STANDARD
        .decode(body.public_key.trim())
        .ok()
        .filter(|k| {
            k.len() == 32
                && <[u8; 32]>::try_from(k.as_slice())
                    .ok()
                    .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok())
                    .is_some()
        })
        .ok_or_else(|| {
            AppError::Validation(
                "public_key: must be a base64 Ed25519 public key (32 bytes)".into(),
            )
        })?;
    let hostname = validate::line("hostname", &body.hostname, 253)?;
    let agent_version = validate::line("agent_version", &body.agent_version, 64)?;
    if body.token.len() > 128 {
        return Err(AppError::EnrollmentRefused("unknown enrollment token"));
    }
    let agent = NewAgent {
        id: Uuid::now_v7(),
        public_key,
        agent_version,
        hostname,
    };
    match state
        .store
        .enroll_agent(&token_hash(&body.token), &agent, Utc::now())
        .await?
    {
        Enrollment::Enrolled(agent) => {
            tracing::info!(agent_id = %agent.id, site_id = %agent.site_id, "agent enrolled");
            // The site's earlier agent, if any, was revoked with this
            // enrollment: close its connection now, so it receives nothing more.
            state.fleet.disconnect_revoked(agent.site_id).await;
            Ok((
                StatusCode::CREATED,
                Json(EnrollResponse {
                    agent_id: agent.id,
                    site_id: agent.site_id,
                    bundle_signing_key: STANDARD
                        .encode(state.fleet.signing_key.verifying_key().as_bytes()),
                    connect_path: AGENT_CONNECT_PATH.to_owned(),
                }),
            ))
        }
        Enrollment::Used => Err(AppError::EnrollmentRefused(
            "this enrollment token was already used; make a new one",
        )),
        Enrollment::Expired => Err(AppError::EnrollmentRefused(
            "this enrollment token has expired; make a new one",
        )),
        Enrollment::Unknown => Err(AppError::EnrollmentRefused("unknown enrollment token")),
    }
}

/// The agent's WebSocket. Unauthenticated at the HTTP level: the agent
/// proves its identity inside, by signing the server's challenge.
///
/// The upgrade is done here rather than with axum's `WebSocketUpgrade` so the
/// connection is a plain tokio-tungstenite stream, which can send a bundle as
/// fragments sharing one payload buffer across thousands of agents.
async fn connect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: axum::extract::Request,
) -> ApiResult<Response> {
    let headers = request.headers();
    let wants_websocket = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let version_13 = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let key = headers.get(header::SEC_WEBSOCKET_KEY).cloned();
    let (true, true, Some(key)) = (wants_websocket, version_13, key) else {
        return Err(AppError::MalformedRequest(
            "this endpoint takes a WebSocket upgrade (version 13) from wp-agent".into(),
        ));
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let fleet = state.fleet.clone();
    let max_message = usize::try_from(fleet.settings.max_bundle_bytes)
        .unwrap_or(usize::MAX)
        .max(MAX_TEXT_FRAME_BYTES);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(err) => {
                tracing::warn!(%peer, %err, "agent WebSocket upgrade failed");
                return;
            }
        };
        // Small buffers: one node holds many thousands of mostly idle agents.
        let config = WebSocketConfig::default()
            .read_buffer_size(1024)
            .write_buffer_size(0)
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message));
        let socket = tokio_tungstenite::WebSocketStream::from_raw_socket(
            hyper_util::rt::TokioIo::new(upgraded),
            Role::Server,
            Some(config),
        )
        .await;
        super::serve_agent(fleet, socket, peer.to_string()).await;
    });
    Ok(Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .body(axum::body::Body::empty())
        .map_err(anyhow::Error::from)?)
}

/// A site's agent as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    pub id: Uuid,
    pub site_id: Uuid,
    /// Connected to the control plane right now.
    pub online: bool,
    pub last_seen: Option<DateTime<Utc>>,
    pub enrolled_at: DateTime<Utc>,
    pub hostname: String,
    pub agent_version: String,
    /// Highest bundle sequence the agent reported applied.
    pub last_applied: i64,
}

async fn agent_view(state: &AppState, agent: Agent) -> AgentView {
    AgentView {
        online: state.fleet.is_online(agent.site_id, agent.id).await,
        id: agent.id,
        site_id: agent.site_id,
        last_seen: agent.last_seen,
        enrolled_at: agent.enrolled_at,
        hostname: agent.hostname,
        agent_version: agent.agent_version,
        last_applied: agent.last_applied,
    }
}

/// The site's enrolled agent and whether it is online.
#[utoipa::path(get, path = "/sites/{id}/agent", tag = "fleet", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The agent", body = AgentView),
        (status = 404, description = "No such site, or no agent enrolled", body = gsw_protocol::ErrorBody),
    ))]
async fn get_agent(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(site_id): ApiPath<Uuid>,
) -> ApiResult<Json<AgentView>> {
    let agent = state
        .store
        .site_agent(user.id, site_id)
        .await?
        .ok_or(AppError::NotFound("agent"))?;
    Ok(Json(agent_view(&state, agent).await))
}

/// Revokes the site's agent: its connection closes and it cannot reconnect.
#[utoipa::path(delete, path = "/sites/{id}/agent", tag = "fleet", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such site, or no agent enrolled", body = gsw_protocol::ErrorBody),
    ))]
async fn revoke_agent(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(site_id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let agent_id = state
        .store
        .revoke_site_agent(user.id, site_id, Utc::now())
        .await?
        .ok_or(AppError::NotFound("agent"))?;
    tracing::info!(%agent_id, %site_id, "agent revoked");
    state.fleet.disconnect_revoked(site_id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// One item to deploy: text in `content`, or bytes in `content_base64`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    /// `content`, `theme`, `plugin`, `design` or `media`.
    #[schema(value_type = String, example = "content")]
    pub kind: ItemKind,
    /// Relative path inside the kind's folder, e.g. `pages/home.json`.
    pub path: String,
    pub content: Option<String>,
    pub content_base64: Option<String>,
}

/// A bundle to deploy to one site.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    pub items: Vec<ItemInput>,
    /// Seconds the bundle stays valid (default 7 days).
    pub ttl_secs: Option<u64>,
}

/// A bundle to deploy to many sites.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDeployRequest {
    pub site_ids: Vec<Uuid>,
    pub items: Vec<ItemInput>,
    pub ttl_secs: Option<u64>,
}

/// A deployment as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentView {
    pub id: Uuid,
    pub site_id: Uuid,
    pub sequence: i64,
    /// `queued`, `delivered`, `applied`, `failed` or `refused`.
    #[schema(value_type = String, example = "queued")]
    pub status: DeploymentStatus,
    /// What the bundle carries.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<ItemEntry>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Per-item results once applied.
    pub results: Option<Vec<ItemResult>>,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// For a rollback, the deployment it undoes.
    pub rollback_of: Option<Uuid>,
}

impl From<Deployment> for DeploymentView {
    fn from(d: Deployment) -> Self {
        let manifest: Option<Manifest> = serde_json::from_slice(&d.manifest).ok();
        Self {
            id: d.id,
            site_id: d.site_id,
            sequence: d.sequence,
            status: d.status,
            items: manifest
                .as_ref()
                .map(|m| m.items.clone())
                .unwrap_or_default(),
            expires_at: manifest.and_then(|m| DateTime::from_timestamp(m.expires_at, 0)),
            results: d.results.and_then(|r| serde_json::from_value(r).ok()),
            error_code: d.error_code,
            error: d.error,
            created_at: d.created_at,
            updated_at: d.updated_at,
            rollback_of: d.rollback_of,
        }
    }
}

/// One page of deployments.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentList {
    pub deployments: Vec<DeploymentView>,
}

fn payload(state: &AppState, items: Vec<ItemInput>) -> ApiResult<Payload> {
    if items.is_empty() {
        return Err(AppError::Validation("items: send at least one item".into()));
    }
    let mut decoded = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let bytes = match (item.content, item.content_base64) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(b64)) => STANDARD.decode(b64.as_bytes()).map_err(|e| {
                AppError::Validation(format!("items[{i}].content_base64: not base64 ({e})"))
            })?,
            _ => {
                return Err(AppError::Validation(format!(
                    "items[{i}]: send exactly one of content and content_base64"
                )))
            }
        };
        decoded.push((item.kind, item.path, bytes));
    }
    let payload =
        Payload::build(decoded).map_err(|e| AppError::Validation(format!("items: {e}")))?;
    if payload.bytes.len() as u64 > state.fleet.settings.max_bundle_bytes {
        return Err(AppError::Validation(format!(
            "items: {} bytes in all, over the {}-byte bundle limit",
            payload.bytes.len(),
            state.fleet.settings.max_bundle_bytes
        )));
    }
    Ok(payload)
}

/// Signs and queues one bundle per site, then wakes the sites' agents.
pub(crate) async fn deploy(
    state: &AppState,
    owner: Uuid,
    site_ids: &[Uuid],
    payload: Payload,
    ttl_secs: Option<u64>,
) -> ApiResult<Vec<Deployment>> {
    deploy_release(state, owner, site_ids, payload, ttl_secs, None).await
}

async fn deploy_release(
    state: &AppState,
    owner: Uuid,
    site_ids: &[Uuid],
    payload: Payload,
    ttl_secs: Option<u64>,
    rollback_of: Option<Uuid>,
) -> ApiResult<Vec<Deployment>> {
    let ttl = match ttl_secs {
        None => state.fleet.settings.bundle_ttl,
        Some(secs @ 60..=31_536_000) => std::time::Duration::from_secs(secs),
        Some(_) => {
            return Err(AppError::Validation(
                "ttl_secs: must be between 60 and 31536000".into(),
            ))
        }
    };
    let now = Utc::now();
    let created_at = now.timestamp();
    let expires_at = created_at + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let key = &state.fleet.signing_key;
    let items = payload.items;
    let sign = |to: &SignFor| {
        let manifest = Manifest {
            format: FORMAT,
            bundle_id: to.id,
            site_id: to.site_id,
            sequence: to.sequence,
            created_at,
            expires_at,
            policy: Policy {
                unfiltered_html: to.unfiltered_html,
            },
            items: items.clone(),
        };
        let signed = SignedManifest::sign(&manifest, key);
        SignedForSite {
            manifest: signed.manifest,
            signature: signed.signature.to_vec(),
        }
    };
    let release = NewRelease {
        id: Uuid::now_v7(),
        user_id: owner,
        items: serde_json::to_value(&items).map_err(anyhow::Error::from)?,
        payload: payload.bytes,
        created_at: now,
        rollback_of,
    };
    let deployments = state
        .store
        .create_deployments(owner, &release, site_ids, &sign)
        .await?
        .ok_or(AppError::NotFound("site"))?;
    state.fleet.deliver(deployments.clone()).await;
    Ok(deployments)
}

/// Queues a bundle for one site: the items sent, or with an empty body the
/// site's current draft (pages, navigation, design and plugin plan).
#[utoipa::path(post, path = "/sites/{id}/deployments", tag = "fleet", params(("id" = Uuid, Path)),
    request_body(content = DeployRequest, description = "Items to deploy; an empty body deploys the site's current draft"),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued; delivered when the agent is connected", body = DeploymentView),
        (status = 404, description = "No such site of the caller's", body = gsw_protocol::ErrorBody),
        (status = 422, description = "Bad items, or an empty body for a site with no draft", body = gsw_protocol::ErrorBody),
    ))]
async fn create_site_deployment(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(site_id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<impl IntoResponse> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        _ => AppError::MalformedRequest(rejection.body_text()),
    })?;
    let (payload, ttl_secs) = if body.iter().all(u8::is_ascii_whitespace) {
        (draft_payload(&state, user.id, site_id).await?, None)
    } else {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return Err(AppError::UnsupportedMediaType);
        }
        let request: DeployRequest = serde_json::from_slice(&body).map_err(|err| {
            if err.is_syntax() || err.is_eof() {
                AppError::MalformedRequest(format!("the body is not valid JSON: {err}"))
            } else {
                AppError::Validation(err.to_string())
            }
        })?;
        (payload(&state, request.items)?, request.ttl_secs)
    };
    let mut made = deploy(&state, user.id, &[site_id], payload, ttl_secs).await?;
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

/// The bundle items of a site's current draft.
async fn draft_payload(state: &AppState, owner: Uuid, site_id: Uuid) -> ApiResult<Payload> {
    if state.store.site(owner, site_id).await?.is_none() {
        return Err(AppError::NotFound("site"));
    }
    let record = state
        .store
        .site_draft(owner, site_id)
        .await?
        .ok_or_else(|| {
            AppError::Validation(
                "this site has no draft to deploy: generate one, or send the items to deploy"
                    .into(),
            )
        })?;
    let draft = crate::api::generation::stored_draft(record.draft)?;
    let items = draft_items(&draft).map_err(anyhow::Error::from)?;
    Payload::build(items).map_err(|e| AppError::Internal(anyhow::anyhow!("draft bundle: {e}")))
}

/// Lays a draft out as bundle items, the format the connector plugin applies:
/// `content/pages/<slug>.json` per page (keyed by `page:<slug>` so applying
/// again updates rather than duplicates), `content/navigation.json`,
/// `design/design.json` and `plugin/plan.json`.
pub fn draft_items(draft: &SiteDraft) -> serde_json::Result<Vec<(ItemKind, String, Vec<u8>)>> {
    let mut items = Vec::with_capacity(draft.pages.len() + 3);
    for page in &draft.pages {
        let item = serde_json::json!({
            "key": format!("page:{}", page.slug),
            "type": "page",
            "slug": page.slug,
            "title": page.title,
            "parent_key": page.parent.as_ref().map(|p| format!("page:{p}")),
            "status": "publish",
            "front_page": page.slug == "home",
            "content": page.blocks,
            "seo": { "title": page.seo_title, "description": page.meta_description },
        });
        items.push((
            ItemKind::Content,
            format!("pages/{}.json", page.slug),
            serde_json::to_vec(&item)?,
        ));
    }
    let navigation: Vec<_> = draft
        .sitemap
        .navigation
        .iter()
        .filter_map(|slug| draft.pages.iter().find(|p| &p.slug == slug))
        .map(|page| serde_json::json!({ "key": format!("page:{}", page.slug), "label": page.title, "path": page.path }))
        .collect();
    items.push((
        ItemKind::Content,
        "navigation.json".to_owned(),
        serde_json::to_vec(&serde_json::json!({ "items": navigation }))?,
    ));
    items.push((
        ItemKind::Design,
        "design.json".to_owned(),
        serde_json::to_vec(&draft.design)?,
    ));
    items.push((
        ItemKind::Plugin,
        "plan.json".to_owned(),
        serde_json::to_vec(&draft.plugins)?,
    ));
    Ok(items)
}

/// Queues one bundle for each of many sites.
#[utoipa::path(post, path = "/deployments", tag = "fleet", request_body = BulkDeployRequest, security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued, one deployment per site", body = DeploymentList),
        (status = 404, description = "A site is not the caller's; nothing was queued", body = gsw_protocol::ErrorBody),
        (status = 422, description = "Bad items or site list", body = gsw_protocol::ErrorBody),
    ))]
async fn create_bulk_deployment(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<BulkDeployRequest>,
) -> ApiResult<(StatusCode, Json<DeploymentList>)> {
    let mut site_ids = body.site_ids;
    site_ids.sort_unstable();
    site_ids.dedup();
    if site_ids.is_empty() || site_ids.len() > MAX_BULK_SITES {
        return Err(AppError::Validation(format!(
            "site_ids: name between 1 and {MAX_BULK_SITES} sites"
        )));
    }
    let payload = payload(&state, body.items)?;
    let made = deploy(&state, user.id, &site_ids, payload, body.ttl_secs).await?;
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
    let instruction = serde_json::json!({
        "deployment_id": target.id,
        "sequence": target.sequence,
    });
    let payload = Payload::build([(
        ItemKind::Rollback,
        "rollback.json",
        serde_json::to_vec(&instruction).map_err(anyhow::Error::from)?,
    )])
    .map_err(|e| anyhow::anyhow!("building a rollback bundle: {e}"))?;
    let mut made = deploy_release(
        &state,
        user.id,
        &[target.site_id],
        payload,
        None,
        Some(target.id),
    )
    .await?;
    let rollback = made.pop().ok_or(AppError::NotFound("site"))?;
    Ok((StatusCode::ACCEPTED, Json(rollback.into())))
}
