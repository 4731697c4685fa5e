//! AI generation: `POST /sites/generate`, `GET /sites/{id}/draft`,
//! `POST /sites/{id}/regenerate`, live progress on `GET /jobs/{id}/events`
//! (WebSocket) and token usage.

use std::time::Duration;

use axum::extract::ws::{
    rejection::WebSocketUpgradeRejection, Message, WebSocket, WebSocketUpgrade,
};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use gsw_generation::draft::{Brief, SiteDraft};
use gsw_generation::orchestrator::JobInput;
use gsw_storage::{
    Job, JobKind, JobRef, JobStatus, NewJob, NewSite, SiteStatus, Store, TokenCounts,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::jobs::JobView;
use crate::app::AppState;
use crate::auth::tokens::AccessTokenError;
use crate::error::{ApiResult, AppError};
use crate::events::JobEvent;
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::generation::Generation;
use crate::validate;

/// Routes for generation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(generate_site))
        .routes(routes!(get_draft))
        .routes(routes!(regenerate))
        .routes(routes!(job_events))
        .routes(routes!(job_usage))
        .routes(routes!(my_usage))
        .routes(routes!(site_jobs))
        .routes(routes!(retry_job))
}

/// Longest business description, in characters.
pub const DESCRIPTION_MAX: usize = 4000;
/// Most goals.
pub const GOALS_MAX: usize = 10;
/// Longest style preferences, in characters.
pub const STYLE_MAX: usize = 500;

/// A business to generate a site for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateSite {
    #[schema(example = "Maison Lune", max_length = 200)]
    pub business_name: String,
    /// What kind of business it is.
    #[serde(rename = "type")]
    #[schema(example = "bakery", max_length = 100)]
    pub business_type: String,
    #[schema(
        example = "A family bakery in Lyon making sourdough bread, croissants and celebration cakes.",
        max_length = 4000
    )]
    pub description: String,
    /// What the site should achieve, one per entry (1 to 10).
    #[schema(example = json!(["Take online orders", "Be found on Google"]))]
    pub goals: Vec<String>,
    /// Style preferences in the user's words, for the design (optional).
    #[schema(
        example = "Look: warm, classic. Colours: deep green and cream.",
        max_length = 500
    )]
    pub style: Option<String>,
}

/// A job accepted for the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobAccepted {
    pub job_id: Uuid,
    pub site_id: Uuid,
    /// Always `queued`.
    #[schema(example = "queued")]
    pub status: String,
}

/// What to rewrite: a page, or one section of it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Regenerate {
    /// The page's slug.
    #[schema(example = "about")]
    pub page: String,
    /// The section's index on the page (0 is the hero); absent rewrites the whole page.
    pub section: Option<usize>,
}

/// A site's draft.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftView {
    pub site_id: Uuid,
    /// The job that wrote it last.
    pub job_id: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub draft: SiteDraft,
}

/// Tokens spent on model calls.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_creation_tokens: i64,
}

impl From<TokenCounts> for UsageView {
    fn from(t: TokenCounts) -> Self {
        Self {
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            cache_read_tokens: t.cache_read_tokens,
            cache_creation_tokens: t.cache_creation_tokens,
        }
    }
}

/// Multi-line text: not blank, at most `max` characters, no control characters but line breaks and tabs.
pub(crate) fn text(field: &str, raw: &str, max: usize) -> ApiResult<String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(AppError::Validation(format!("{field}: must not be empty")));
    }
    if text.chars().count() > max {
        return Err(AppError::Validation(format!(
            "{field}: must be at most {max} characters"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::Validation(format!(
            "{field}: must not contain control characters"
        )));
    }
    Ok(text.to_owned())
}

fn brief_of(body: &GenerateSite) -> ApiResult<Brief> {
    if body.goals.is_empty() || body.goals.len() > GOALS_MAX {
        return Err(AppError::Validation(format!(
            "goals: give between 1 and {GOALS_MAX} goals"
        )));
    }
    let goals = body
        .goals
        .iter()
        .enumerate()
        .map(|(i, g)| validate::line(&format!("goals[{i}]"), g, 200))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Brief {
        business_name: validate::line(
            "business_name",
            &body.business_name,
            validate::SITE_NAME_MAX,
        )?,
        business_type: validate::line("type", &body.business_type, 100)?,
        description: text("description", &body.description, DESCRIPTION_MAX)?,
        goals,
        style: body
            .style
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| validate::line("style", s, STYLE_MAX))
            .transpose()?,
    })
}

/// A draft as the store keeps it (JSON), read back; one that no longer reads
/// is an internal error.
pub(crate) fn stored_draft(value: serde_json::Value) -> ApiResult<SiteDraft> {
    serde_json::from_value(value)
        .map_err(|e| AppError::Internal(anyhow::Error::from(e).context("reading a stored draft")))
}

fn accepted(job: &Job) -> (StatusCode, Json<JobAccepted>) {
    (
        StatusCode::ACCEPTED,
        Json(JobAccepted {
            job_id: job.id,
            site_id: job.site_id,
            status: JobStatus::Queued.as_str().to_owned(),
        }),
    )
}

/// Generates a site: creates it in `generating` state with a queued job, and answers at once.
#[utoipa::path(post, path = "/sites/generate", tag = "sites", request_body = GenerateSite, security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued; follow it at /jobs/{job_id} or /jobs/{job_id}/events", body = JobAccepted),
        (status = 422, description = "A field breaks its rule", body = gsw_protocol::ErrorBody),
    ))]
async fn generate_site(
    State(state): State<AppState>,
    generation: Generation,
    user: AuthUser,
    ApiJson(body): ApiJson<GenerateSite>,
) -> ApiResult<impl IntoResponse> {
    let brief = brief_of(&body)?;
    let now = Utc::now();
    let site = NewSite {
        id: Uuid::now_v7(),
        user_id: user.id,
        name: brief.business_name.clone(),
        domain: None,
        wp_admin_url: None,
        status: SiteStatus::Generating,
        metadata: serde_json::json!({"business_type": brief.business_type}),
        created_at: now,
    };
    let job = NewJob {
        id: Uuid::now_v7(),
        site_id: site.id,
        user_id: user.id,
        kind: JobKind::Generation,
        created_at: now,
    };
    let input = serde_json::to_value(JobInput::Generate { brief }).map_err(anyhow::Error::from)?;
    let job = state
        .store
        .create_site_with_job(&site, &job, &input)
        .await?;
    generation
        .enqueue(JobRef {
            job_id: job.id,
            user_id: user.id,
        })
        .await;
    Ok(accepted(&job))
}

/// The site's draft: sitemap, design, pages (title, slug, block markup, SEO title, meta description) and plugin plan.
#[utoipa::path(get, path = "/sites/{id}/draft", tag = "sites", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The draft", body = DraftView),
        (status = 404, description = "No such site of the caller's, or no draft yet", body = gsw_protocol::ErrorBody),
    ))]
async fn get_draft(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DraftView>> {
    let record = state
        .store
        .site_draft(user.id, id)
        .await?
        .ok_or(AppError::NotFound("draft"))?;
    let draft = stored_draft(record.draft)?;
    Ok(Json(DraftView {
        site_id: record.site_id,
        job_id: record.job_id,
        updated_at: record.updated_at,
        draft,
    }))
}

/// Rewrites one page, or one section of a page, leaving the rest of the draft as it is.
#[utoipa::path(post, path = "/sites/{id}/regenerate", tag = "sites", params(("id" = Uuid, Path)),
    request_body = Regenerate, security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued", body = JobAccepted),
        (status = 404, description = "No such site of the caller's, or no draft yet", body = gsw_protocol::ErrorBody),
        (status = 409, description = "A generation job on this site is still unfinished", body = gsw_protocol::ErrorBody),
        (status = 422, description = "No such page or section in the draft", body = gsw_protocol::ErrorBody),
    ))]
async fn regenerate(
    State(state): State<AppState>,
    generation: Generation,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Regenerate>,
) -> ApiResult<impl IntoResponse> {
    let record = state
        .store
        .site_draft(user.id, id)
        .await?
        .ok_or(AppError::NotFound("draft"))?;
    let draft = stored_draft(record.draft)?;
    let failed = draft.failed_pages.iter().any(|f| f.slug == body.page);
    match draft.pages.iter().find(|p| p.slug == body.page) {
        Some(page) => {
            if let Some(section) = body.section {
                if section >= page.content.sections.len() {
                    return Err(AppError::Validation(format!(
                        "section: the {} page has sections 0 to {}",
                        page.slug,
                        page.content.sections.len().saturating_sub(1)
                    )));
                }
            }
        }
        // A page that failed during generation can be written now, whole.
        None if failed && body.section.is_none() => {}
        None if failed => {
            return Err(AppError::Validation(format!(
                "section: the {} page was never written; regenerate the whole page",
                body.page
            )))
        }
        None => {
            return Err(AppError::Validation(format!(
                "page: the draft has no page {:?}",
                body.page
            )))
        }
    }
    let job = NewJob {
        id: Uuid::now_v7(),
        site_id: id,
        user_id: user.id,
        kind: JobKind::Generation,
        created_at: Utc::now(),
    };
    let input = serde_json::to_value(JobInput::Regenerate {
        page: body.page,
        section: body.section,
    })
    .map_err(anyhow::Error::from)?;
    let job = state
        .store
        .create_job_with_input(&job, &input)
        .await?
        .ok_or(AppError::NotFound("site"))?;
    generation
        .enqueue(JobRef {
            job_id: job.id,
            user_id: user.id,
        })
        .await;
    Ok(accepted(&job))
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
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
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
/// current state first; the server closes it when the job finishes.
#[utoipa::path(get, path = "/jobs/{id}/events", tag = "jobs", params(("id" = Uuid, Path), EventsQuery), security(("bearer" = [])),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, description = "No valid access token", body = gsw_protocol::ErrorBody),
        (status = 404, description = "No such job of the caller's", body = gsw_protocol::ErrorBody),
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
    let upgrade = if by_protocol {
        upgrade.protocols(["bearer"])
    } else {
        upgrade
    };
    let store = state.store.clone();
    Ok(upgrade.on_upgrade(move |socket| follow_job(socket, store, generation, owner, job)))
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

/// Tokens one of the caller's jobs used.
#[utoipa::path(get, path = "/jobs/{id}/usage", tag = "jobs", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "Token totals", body = UsageView),
        (status = 404, description = "No such job of the caller's", body = gsw_protocol::ErrorBody),
    ))]
async fn job_usage(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<UsageView>> {
    state
        .store
        .job(user.id, id)
        .await?
        .ok_or(AppError::NotFound("job"))?;
    Ok(Json(state.store.job_token_usage(user.id, id).await?.into()))
}

/// Tokens the caller's jobs used, in all.
#[utoipa::path(get, path = "/usage", tag = "jobs", security(("bearer" = [])),
    responses((status = 200, description = "Token totals", body = UsageView)))]
async fn my_usage(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<UsageView>> {
    Ok(Json(state.store.user_token_usage(user.id).await?.into()))
}

/// A site's jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
}

/// The site's jobs (generations and regenerations), newest first: where a
/// dashboard finds the job to follow for a site that is generating.
#[utoipa::path(get, path = "/sites/{id}/jobs", tag = "jobs", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "Up to 50 jobs, newest first", body = JobList),
        (status = 404, description = "No such site of the caller's", body = gsw_protocol::ErrorBody),
    ))]
async fn site_jobs(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(site_id): ApiPath<Uuid>,
) -> ApiResult<Json<JobList>> {
    if state.store.site(user.id, site_id).await?.is_none() {
        return Err(AppError::NotFound("site"));
    }
    let jobs = state.store.site_jobs(user.id, site_id, 50).await?;
    Ok(Json(JobList {
        jobs: jobs.into_iter().map(Into::into).collect(),
    }))
}

/// Runs a failed job again from the same input, as a new job on the same site.
#[utoipa::path(post, path = "/jobs/{id}/retry", tag = "jobs", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 202, description = "The new job, queued", body = JobAccepted),
        (status = 404, description = "No such job of the caller's", body = gsw_protocol::ErrorBody),
        (status = 409, description = "The job has not failed, or another generation on the site is unfinished", body = gsw_protocol::ErrorBody),
    ))]
async fn retry_job(
    State(state): State<AppState>,
    generation: Generation,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    let failed = state
        .store
        .job(user.id, id)
        .await?
        .ok_or(AppError::NotFound("job"))?;
    if failed.status != JobStatus::Failed {
        return Err(AppError::InvalidState(
            "only a failed job can be retried; this one has not failed".into(),
        ));
    }
    let input = state
        .store
        .job_input(user.id, id)
        .await?
        .ok_or(AppError::NotFound("job"))?;
    let job = NewJob {
        id: Uuid::now_v7(),
        site_id: failed.site_id,
        user_id: user.id,
        kind: failed.kind,
        created_at: Utc::now(),
    };
    let job = state
        .store
        .create_job_with_input(&job, &input)
        .await?
        .ok_or(AppError::NotFound("site"))?;
    generation
        .enqueue(JobRef {
            job_id: job.id,
            user_id: user.id,
        })
        .await;
    Ok(accepted(&job))
}
