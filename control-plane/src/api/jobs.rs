//! Jobs: background work on a user's sites (`/jobs/{id}`, a site's jobs,
//! retrying a failed one) and the model tokens they used.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use gsw_storage::JobStatus;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::views::{JobAccepted, JobView, UsageView};
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiPath, AuthUser};
use crate::generation::Generation;
use crate::state::AppState;

/// Routes under `/jobs`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_job))
        .routes(routes!(site_jobs))
        .routes(routes!(retry_job))
        .routes(routes!(job_usage))
        .routes(routes!(my_usage))
}

/// Status, progress and log of one of the caller's jobs.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 404, description = "No such job of the caller's", body = gsw_protocol::ErrorBody),
    ))]
async fn get_job(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<JobView>> {
    let job = state
        .store
        .job(user.id, id)
        .await?
        .ok_or(AppError::NotFound("job"))?;
    Ok(Json(job.into()))
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
    let job = generation
        .start_job(user.id, failed.site_id, failed.kind, &input)
        .await?;
    Ok(JobAccepted::response(&job))
}
