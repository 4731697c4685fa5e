//! Agents and enrollment: one-time enrollment tokens, `POST /agents/enroll`,
//! the agents' WebSocket (`GET /agents/connect`), and a site's agent (shown
//! or revoked).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use gsw_protocol::frame::{AGENT_CONNECT_PATH, MAX_TEXT_FRAME_BYTES};
use gsw_storage::{Connection, Enrollment, NewAgent};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiPath, AuthUser, ClientAddr, PublicUrl};
use crate::fleet::enrollment;
use crate::state::AppState;
use crate::validate;

use super::views::AgentView;

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
    PublicUrl(server): PublicUrl,
    ApiPath(site_id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<EnrollmentTokenView>)> {
    let issued = enrollment::issue(
        state.store.as_ref(),
        &state.fleet.signing_key,
        user.id,
        site_id,
        server,
    )
    .await?
    .ok_or(AppError::NotFound("site"))?;
    let commands = host_commands(
        &issued.server,
        &issued.token,
        &issued.bundle_key_fingerprint,
    );
    Ok((
        StatusCode::CREATED,
        Json(EnrollmentTokenView {
            token: issued.token,
            expires_at: issued.expires_at,
            command: commands.join(" && "),
            commands,
            bundle_key_fingerprint: issued.bundle_key_fingerprint,
        }),
    ))
}

/// What `wp-agent enroll` sends.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub token: String,
    /// The agent's Ed25519 public key, base64 (32 bytes).
    #[schema(pattern = "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")]
    pub public_key: String,
    #[schema(max_length = 253)]
    pub hostname: String,
    #[schema(max_length = 64)]
    pub agent_version: String,
    /// `agent` (the default): the sidecar, over its WebSocket; `plugin`: the
    /// connector plugin alone, pulling bundles over HTTPS.
    #[serde(default = "sidecar")]
    pub connection: Connection,
}

fn sidecar() -> Connection {
    Connection::Agent
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
    /// For a plugin connection: where to ask for the next bundle and where
    /// to post reports, relative to the server URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_paths: Option<PullPaths>,
}

/// The plugin connection's two routes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PullPaths {
    pub next_bundle: String,
    pub reports: String,
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
        connection: body.connection,
        public_key,
        agent_version,
        hostname,
    };
    match state
        .store
        .enroll_agent(&enrollment::token_hash(&body.token), &agent, Utc::now())
        .await?
    {
        Enrollment::Enrolled(agent) => {
            tracing::info!(agent_id = %agent.id, site_id = %agent.site_id, connection = %agent.connection, "agent enrolled");
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
                    pull_paths: (agent.connection == Connection::Plugin).then(|| PullPaths {
                        next_bundle: gsw_protocol::pull::NEXT_BUNDLE_PATH.to_owned(),
                        reports: gsw_protocol::pull::REPORTS_PATH.to_owned(),
                    }),
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
    Ok(Json(AgentView::of(&state.fleet, agent).await))
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
