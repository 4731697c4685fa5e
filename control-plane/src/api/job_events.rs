//! `GET /jobs/{id}/events`: a job's live progress over a WebSocket.

use std::time::Duration;

use axum::extract::ws::{
    rejection::WebSocketUpgradeRejection, Message, WebSocket, WebSocketUpgrade,
};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use gsw_storage::{Job, JobStatus, Store};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::tokens::AccessTokenError;
use crate::error::{ApiResult, AppError};
use crate::events::JobEvent;
use crate::extract::{ApiPath, ApiQuery};
use crate::generation::Generation;
use crate::state::AppState;

/// The job events route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(job_events))
}

/// The access token for a WebSocket: browsers cannot set headers on one.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The access token, for clients that cannot send `Authorization`.
    pub token: Option<String>,
}

/// Who opens a WebSocket: from `Authorization: Bearer`, a `token` query
/// parameter, or the `Sec-WebSocket-Protocol: bearer, <token>` header (then
/// `bearer` is echoed back as the chosen protocol).
fn websocket_user(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> ApiResult<(Uuid, bool)> {
    let header_token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(crate::extract::bearer_token);
    let protocol_token = headers
        .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            let mut parts = h.split(',').map(str::trim);
            (parts.next() == Some("bearer"))
                .then(|| parts.next())
                .flatten()
        });
    let (token, by_protocol) = match (header_token, query, protocol_token) {
        (Some(t), _, _) | (None, Some(t), _) => (t, false),
        (None, None, Some(t)) => (t, true),
        (None, None, None) => {
            return Err(AppError::Unauthorized(
                "sign in: send `Authorization: Bearer <access token>`, `?token=<access token>` or the `bearer, <access token>` WebSocket protocol",
            ))
        }
    };
    let claims = state.tokens.verify_access(token).map_err(|err| match err {
        AccessTokenError::Expired => {
            AppError::Unauthorized("the access token has expired; refresh it")
        }
        AccessTokenError::Invalid => AppError::Unauthorized("the access token is not valid"),
    })?;
    Ok((claims.sub, by_protocol))
}

/// Live progress of one of the caller's jobs over a WebSocket: one JSON
/// event (`{job_id, status, progress, stage, message}`) per step, the
/// current state first; the server closes it when the job finishes. A user
/// holds at most `job_events_max_per_user` of these sockets at once.
#[utoipa::path(get, path = "/jobs/{id}/events", tag = "jobs", params(("id" = Uuid, Path), EventsQuery), security(("bearer" = [])),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, description = "No valid access token", body = gsw_protocol::ErrorBody),
        (status = 404, description = "No such job of the caller's", body = gsw_protocol::ErrorBody),
        (status = 429, description = "The caller already holds as many event sockets as allowed; close one", body = gsw_protocol::ErrorBody),
    ))]
async fn job_events(
    State(state): State<AppState>,
    generation: Generation,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<EventsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let (owner, by_protocol) = websocket_user(&state, &headers, query.token.as_deref())?;
    let job = state
        .store
        .job(owner, id)
        .await?
        .ok_or(AppError::NotFound("job"))?;
    let upgrade = upgrade.map_err(|_| {
        AppError::MalformedRequest(
            "this route speaks WebSocket: connect with `Upgrade: websocket`".into(),
        )
    })?;
    let Some(slot) = state.job_event_sockets.try_take(owner) else {
        return Err(AppError::TooManyAtOnce(format!(
            "you already have {} job event sockets open; close one (another tab following a job) first",
            state.job_event_sockets.max()
        )));
    };
    let upgrade = if by_protocol {
        upgrade.protocols(["bearer"])
    } else {
        upgrade
    };
    let store = state.store.clone();
    Ok(upgrade.on_upgrade(move |socket| async move {
        follow_job(socket, store, generation, owner, job).await;
        drop(slot);
    }))
}

fn snapshot(job: &Job) -> JobEvent {
    JobEvent {
        job_id: job.id,
        status: job.status,
        progress: job.progress,
        stage: job.stage.clone(),
        message: job
            .error
            .clone()
            .or_else(|| job.logs.lines().last().map(str::to_owned))
            .unwrap_or_default(),
    }
}

fn finished(status: JobStatus) -> bool {
    matches!(status, JobStatus::Completed | JobStatus::Failed)
}

async fn send(socket: &mut WebSocket, event: &JobEvent) -> bool {
    match serde_json::to_string(event) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

/// Pushes a job's events until it finishes or the client leaves. Events of
/// workers in this process arrive at once; the job row is also read every
/// second, for workers running elsewhere.
async fn follow_job(
    mut socket: WebSocket,
    store: std::sync::Arc<dyn Store>,
    generation: Generation,
    owner: Uuid,
    job: Job,
) {
    let mut events = generation.events.subscribe();
    let mut last = snapshot(&job);
    if !send(&mut socket, &last).await {
        return;
    }
    let mut poll = tokio::time::interval(Duration::from_secs(1));
    while !finished(last.status) {
        tokio::select! {
            event = events.recv() => match event {
                // Concurrent pages report out of order: never show progress going back.
                Ok(event) if event.job_id == job.id && (event.progress >= last.progress || event.status != last.status) => {
                    if !send(&mut socket, &event).await {
                        return;
                    }
                    last = event;
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            _ = poll.tick() => {
                let Ok(Some(row)) = store.job(owner, job.id).await else { continue };
                let now = snapshot(&row);
                if now.status != last.status || now.progress > last.progress {
                    if !send(&mut socket, &now).await {
                        return;
                    }
                    last = now;
                }
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
