//! Liveness, readiness and metrics, outside `/api/v1`, for `serve` and for
//! `worker` alike. Metrics are not public: on the main listener only to a
//! scraper holding `metrics_token`, and on `metrics_listen` (a private
//! address) to any scraper, or only to holders of the token when one is set.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::{ApiResult, AppError};
use crate::fleet::Fleet;
use crate::metrics::{Metrics, Scrape};
use crate::queue::worker::Heartbeat;
use crate::queue::JobQueue;
use crate::settings::Secret;
use crate::state::AppState;

/// What the health and metrics routes read: in `serve` taken from
/// [`AppState`], in `worker` (which has no API state) built on its own.
#[derive(Clone)]
pub struct Health {
    pub metrics: Arc<Metrics>,
    pub store: Arc<dyn gsw_storage::Store>,
    pub metrics_token: Option<Secret>,
    /// The agents' hub, where this process holds agent connections (`serve`):
    /// its Redis bus is checked for readiness and its agents counted.
    pub fleet: Option<Arc<Fleet>>,
    /// The job queue, checked for readiness where there is no fleet (`worker`).
    pub queue: Option<Arc<dyn JobQueue>>,
    /// The worker loop's heartbeat: `/healthz` fails once it is stale.
    pub heartbeat: Option<Arc<Heartbeat>>,
}

impl FromRef<AppState> for Health {
    fn from_ref(state: &AppState) -> Self {
        Self {
            metrics: state.metrics.clone(),
            store: state.store.clone(),
            metrics_token: state.settings.metrics_token.clone(),
            fleet: Some(state.fleet.clone()),
            queue: None,
            heartbeat: None,
        }
    }
}

/// `/healthz`, `/readyz`, and `/metrics` for holders of the metrics token.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_with_token))
}

/// What the metrics listener serves: `/metrics`, and `/healthz` and
/// `/readyz` for the probes of a process that may have no other listener.
pub fn metrics_router() -> Router<Health> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_on_private_address))
}

/// The process is up, and its worker loop (where it runs one here) went
/// round within [`Heartbeat::STALE_AFTER`].
async fn healthz(State(health): State<Health>) -> ApiResult<Json<serde_json::Value>> {
    if let Some(heartbeat) = &health.heartbeat {
        if !heartbeat.is_fresh() {
            let age = heartbeat.age().as_secs();
            tracing::warn!(age_secs = age, "liveness check: the worker loop is stuck");
            return Err(AppError::Unavailable(format!(
                "the worker loop has not gone round for {age} seconds"
            )));
        }
    }
    Ok(Json(json!({"status": "ok"})))
}

/// Storage (and Redis, when configured) answer within two seconds.
async fn readyz(State(state): State<Health>) -> ApiResult<Json<serde_json::Value>> {
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
    let redis_ping = async {
        match (&state.fleet, &state.queue) {
            (Some(fleet), _) => fleet.bus_ping().await,
            (None, Some(queue)) => queue.ping().await,
            (None, None) => Ok(None),
        }
    };
    let redis = match tokio::time::timeout(Duration::from_secs(2), redis_ping).await {
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
    State(state): State<Health>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let Some(token) = &state.metrics_token else {
        return Err(AppError::NoRoute);
    };
    if !holds_token(&headers, token.expose()) {
        return Err(AppError::Unauthorized(NEEDS_TOKEN));
    }
    Ok(metrics(&state).await)
}

/// `/metrics` on `metrics_listen`: the token too, when one is set.
async fn metrics_on_private_address(
    State(state): State<Health>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    if let Some(token) = &state.metrics_token {
        if !holds_token(&headers, token.expose()) {
            return Err(AppError::Unauthorized(NEEDS_TOKEN));
        }
    }
    Ok(metrics(&state).await)
}

/// Prometheus text exposition.
async fn metrics(state: &Health) -> impl IntoResponse {
    let text = state
        .metrics
        .render(Scrape {
            store: state.store.as_ref(),
            agents_connected: state.fleet.as_ref().map(|fleet| fleet.connected()),
        })
        .await;
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
}
