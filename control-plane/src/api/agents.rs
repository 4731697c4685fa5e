//! Agents and enrollment: one-time enrollment tokens, `POST /agents/enroll`,
//! the agents' WebSocket (`GET /agents/connect`), and a site's agent (shown
//! or revoked).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use gsw_protocol::bundle::key_fingerprint;
use gsw_protocol::frame::{AGENT_CONNECT_PATH, MAX_TEXT_FRAME_BYTES};
use gsw_storage::{Agent, Enrollment, NewAgent, NewEnrollmentToken};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiPath, AuthUser, ClientAddr};
use crate::state::AppState;
use crate::validate;

/// Enrollment tokens live this long.
const ENROLLMENT_TTL_MINUTES: i64 = 60;

/// Agent routes, mounted under `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_enrollment_token))
        .routes(routes!(enroll))
        .routes(routes!(get_agent, revoke_agent))
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
    /// The command to run on the WordPress host: `commands` as one line,
    /// joined with `&&`.
    pub command: String,
    /// The steps on a WordPress host with the `gsw-agent` package installed,
    /// in order: enroll as the agent's own user (the token on standard input,
    /// so it never shows in the process list), then start its service. The
    /// WordPress path is the usual `/var/www/html`: change it to the host's.
    pub commands: Vec<String>,
    /// Fingerprint of the key that signs this control plane's bundles
    /// (`SHA256:…`); the command passes it as `--expect-key`, so the agent
    /// trusts no other.
    #[schema(example = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")]
    pub bundle_key_fingerprint: String,
}

/// The URL agents and people reach this control plane at: the configured
/// one. Without it the node listens on loopback only (settings insist), and
/// the command names this machine: the request's Host when it says so
/// (the port a test bound), never a name from outside.
fn public_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.settings.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_loopback_authority(h))
        .map(str::to_owned)
        .unwrap_or_else(|| state.settings.listen.to_string());
    format!("http://{host}")
}

/// `localhost`, `127.x.y.z` or `[::1]`, with an optional port.
fn is_loopback_authority(authority: &str) -> bool {
    let Ok(url) = url::Url::parse(&format!("http://{authority}/")) else {
        return false;
    };
    if url.path() != "/" || url.username() != "" || url.password().is_some() {
        return false;
    }
    url.host_str().is_some_and(gsw_protocol::is_loopback_host)
}

/// What a user runs on a WordPress host where the `gsw-agent` package
/// (`deploy/debian`) is installed. `printf` is the shell's own, so the
/// token is never any process's argument; the server URL, the token
/// (URL-safe base64) and the fingerprint need no quoting.
fn host_commands(server: &str, token: &str, fingerprint: &str) -> Vec<String> {
    vec![
        format!(
            "printf '%s\\n' {token} | sudo -u gsw-agent wp-agent enroll --server {server} --token - --expect-key {fingerprint} --wp-path /var/www/html"
        ),
        "sudo systemctl enable --now gsw-agent".to_owned(),
    ]
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
    let fingerprint = key_fingerprint(&state.fleet.signing_key.verifying_key());
    let commands = host_commands(&server, &token, &fingerprint);
    Ok((
        StatusCode::CREATED,
        Json(EnrollmentTokenView {
            token,
            expires_at: record.expires_at,
            command: commands.join(" && "),
            commands,
            bundle_key_fingerprint: fingerprint,
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
            AppError::invalid(
                "public_key",
                "must be a base64 Ed25519 public key (32 bytes)",
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
/// proves its identity inside, by signing the server's challenge, within
/// the hello deadline. Until it has, the connection holds one of its client
/// address's `agent_max_pending_per_address` slots; an address holding all
/// of them is refused with 429 before the upgrade.
///
/// The upgrade is done here rather than with axum's `WebSocketUpgrade` so the
/// connection is a plain tokio-tungstenite stream, which can send a bundle as
/// fragments sharing one payload buffer across thousands of agents.
async fn connect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ClientAddr(client): ClientAddr,
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
    let Some(pending) = state.agents_pending.try_take(client) else {
        tracing::warn!(%client, max = state.agents_pending.max(), "agent connections waiting to authenticate: refusing another");
        return Err(AppError::TooManyAtOnce(format!(
            "{client} already has {} agent connections waiting to authenticate; try again once they have",
            state.agents_pending.max()
        )));
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let fleet = state.fleet.clone();
    // Agents send only text frames of at most MAX_TEXT_FRAME_BYTES (bundles
    // go the other way), so nothing bigger is ever buffered for them, before
    // authentication or after: a frame a little over the limit is read and
    // refused with TOO_LARGE, one far over it ends the connection unread.
    let max_message = 2 * MAX_TEXT_FRAME_BYTES;
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
        crate::fleet::serve_agent(fleet, socket, peer.to_string(), pending).await;
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
