//! Liveness, readiness and metrics, outside `/api/v1`.

use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::error::{ApiResult, AppError};
use crate::state::AppState;

/// `/healthz`, `/readyz`, `/metrics`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
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

/// Prometheus text exposition.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
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
