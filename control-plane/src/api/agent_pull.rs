//! The connector plugin's own connection (`gsw_protocol::pull`): the next
//! bundle, and reports. Signed by the plugin's enrolled key, not by a user.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use gsw_protocol::frame::{AgentFrame, MAX_TEXT_FRAME_BYTES};
use gsw_protocol::pull::{
    AGENT_HEADER, DEPLOYMENT_HEADER, MAX_REPORT_FRAMES, MAX_WAIT_SECS, NEXT_BUNDLE_PATH,
    REPORTS_PATH, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use gsw_storage::Agent;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, AppError};
use crate::extract::ApiQuery;
use crate::fleet::pull::{Refusal, SignedRequest};
use crate::state::AppState;

/// Largest report request: as many frames as an agent may send at once.
const MAX_REPORT_BYTES: usize = MAX_REPORT_FRAMES * MAX_TEXT_FRAME_BYTES;

/// Plugin connection routes, mounted under `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    // The paths are the protocol's; utoipa's macros need them literally.
    debug_assert_eq!(NEXT_BUNDLE_PATH, "/api/v1/agent/bundles/next");
    debug_assert_eq!(REPORTS_PATH, "/api/v1/agent/reports");
    OpenApiRouter::new()
        .routes(routes!(next_bundle))
        .routes(routes!(post_reports))
}

/// How long to wait for a bundle.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NextQuery {
    /// Seconds to hold the request while nothing is queued (0 to 25; 0 by default).
    #[param(minimum = 0, maximum = 25)]
    pub wait: Option<u64>,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Agent> {
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    state
        .fleet
        .authenticate_pull(&SignedRequest {
            agent: header_str(headers, AGENT_HEADER),
            timestamp: header_str(headers, TIMESTAMP_HEADER),
            signature: header_str(headers, SIGNATURE_HEADER),
            method: method.as_str(),
            path_and_query,
            body,
        })
        .await
        .map_err(refused)
}

fn refused(refusal: Refusal) -> AppError {
    match refusal {
        Refusal::Unauthenticated(why) => AppError::AgentUnauthenticated(why),
        Refusal::Revoked => AppError::AgentRevoked,
        Refusal::Malformed(why) => AppError::MalformedRequest(why),
        Refusal::Store(err) => err.into(),
        Refusal::Internal(err) => AppError::Internal(err),
    }
}

/// The site's next bundle, for a connector plugin connected without the
/// agent: the bundle's bytes (`application/octet-stream`, the deployment in
/// `x-gsw-deployment-id`), or 204 when nothing is queued within `wait`
/// seconds. The same bundle comes again until the plugin acknowledges it.
#[utoipa::path(get, path = "/agent/bundles/next", tag = "fleet", params(NextQuery),
    responses(
        (status = 200, description = "The next bundle (gsw bundle format)", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("x-gsw-deployment-id" = String, description = "The deployment the bundle carries"))),
        (status = 204, description = "Nothing queued"),
        (status = 401, description = "Not signed by an enrolled plugin's key, or revoked (code `agent_revoked`)", body = gsw_protocol::ErrorBody),
    ))]
async fn next_bundle(
    State(state): State<AppState>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<NextQuery>,
) -> ApiResult<Response> {
    let agent = authenticate(&state, &method, &uri, &headers, b"").await?;
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(AppError::invalid(
            "wait",
            format!("must be at most {MAX_WAIT_SECS} seconds"),
        ));
    }
    let next = state
        .fleet
        .next_bundle(&agent, Duration::from_secs(wait))
        .await
        .map_err(refused)?;
    let Some((deployment_id, bytes)) = next else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    tracing::debug!(%deployment_id, site_id = %agent.site_id, "bundle pulled");
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        DEPLOYMENT_HEADER,
        HeaderValue::from_str(&deployment_id.to_string()).map_err(anyhow::Error::from)?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Reports from a connector plugin connected without the agent: a JSON
/// array of the frames an agent sends over its WebSocket after the
/// handshake (`ack`, `refused`, `applied`, `inventory`, `drift`), stored
/// before the answer.
#[utoipa::path(post, path = "/agent/reports", tag = "fleet",
    request_body(content = Vec<AgentFrame>, description = "At most 32 frames"),
    responses(
        (status = 204, description = "Stored"),
        (status = 400, description = "Not an array of report frames", body = gsw_protocol::ErrorBody),
        (status = 401, description = "Not signed by an enrolled plugin's key, or revoked (code `agent_revoked`)", body = gsw_protocol::ErrorBody),
        (status = 413, description = "Over 32 frames' worth of bytes", body = gsw_protocol::ErrorBody),
    ))]
async fn post_reports(
    State(state): State<AppState>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    if body.len() > MAX_REPORT_BYTES {
        return Err(AppError::PayloadTooLarge);
    }
    let agent = authenticate(&state, &method, &uri, &headers, &body).await?;
    let frames: Vec<AgentFrame> = serde_json::from_slice(&body).map_err(|e| {
        AppError::MalformedRequest(format!(
            "the body must be a JSON array of report frames: {e}"
        ))
    })?;
    if frames.len() > MAX_REPORT_FRAMES {
        return Err(AppError::MalformedRequest(format!(
            "at most {MAX_REPORT_FRAMES} frames per request"
        )));
    }
    state
        .fleet
        .record_pull_reports(agent.site_id, frames)
        .await
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}
