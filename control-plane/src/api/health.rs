//! Liveness, readiness and metrics, outside `/api/v1`. Metrics are not
//! public: on the main listener only to a scraper holding `metrics_token`,
//! and on `metrics_listen` (a private address) to any scraper, or only to
//! holders of the token when one is set.

use std::time::Duration;

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::{ApiResult, AppError};
use crate::state::AppState;

/// `/healthz`, `/readyz`, and `/metrics` for holders of the metrics token.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_with_token))
}

/// What the metrics listener serves: `/metrics`, and `/healthz` for its probes.
pub fn metrics_router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_on_private_address))
}

/// The process is up and serving.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Storage (and Redis, when configured) answer within two seconds.
async fn readyz(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness check: storage failed");
            return Err(AppError::Unavailable("storage is not reachable".into()));
        }
        Err(_) => {
            return Err(AppError::Unavailable(
                "storage did not answer within 2 seconds".into(),
            ))
        }
    }
    let redis = match tokio::time::timeout(Duration::from_secs(2), state.fleet.bus_ping()).await {
        Ok(Ok(Some(()))) => "ok",
        Ok(Ok(None)) => "not configured",
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness check: Redis failed");
            return Err(AppError::Unavailable("Redis is not reachable".into()));
        }
        Err(_) => {
            return Err(AppError::Unavailable(
                "Redis did not answer within 2 seconds".into(),
            ))
        }
    };
    Ok(Json(
        json!({"status": "ready", "storage": "ok", "redis": redis}),
    ))
}

/// Whether the request carries the metrics token. Both sides are hashed
/// first, so the comparison takes the same time wherever they differ.
fn holds_token(headers: &HeaderMap, token: &str) -> bool {
    let sent = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::extract::bearer_token)
        .unwrap_or_default();
    Sha256::digest(sent.as_bytes()) == Sha256::digest(token.as_bytes())
}

const NEEDS_TOKEN: &str =
    "send the metrics token (GSW_METRICS_TOKEN) as `Authorization: Bearer <token>`";

/// `/metrics` on the main listener: 404 unless a metrics token is set, then
/// only for a scraper sending it.
async fn metrics_with_token(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let Some(token) = &state.settings.metrics_token else {
        return Err(AppError::NoRoute);
    };
    if !holds_token(&headers, token.expose()) {
        return Err(AppError::Unauthorized(NEEDS_TOKEN));
    }
    Ok(metrics(&state))
}

/// `/metrics` on `metrics_listen`: the token too, when one is set.
async fn metrics_on_private_address(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    if let Some(token) = &state.settings.metrics_token {
        if !holds_token(&headers, token.expose()) {
            return Err(AppError::Unauthorized(NEEDS_TOKEN));
        }
    }
    Ok(metrics(&state))
}

/// Prometheus text exposition.
fn metrics(state: &AppState) -> impl IntoResponse {
    let mut text = state.metrics.render();
    text.push_str("# HELP gsw_fleet_agents_connected Agents connected to this node.\n");
    text.push_str("# TYPE gsw_fleet_agents_connected gauge\n");
    text.push_str(&format!(
        "gsw_fleet_agents_connected {}\n",
        state.fleet.connected()
    ));
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
}
