//! `/jobs`: background work on a user's sites.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use gsw_storage::{Job, JobKind, JobStatus};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiPath, AuthUser};

/// Routes under `/jobs`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_job))
}

/// A job as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: Uuid,
    pub site_id: Uuid,
    #[schema(value_type = String, example = "generation")]
    pub kind: JobKind,
    /// `queued`, `running`, `completed` or `failed`.
    #[schema(value_type = String, example = "running")]
    pub status: JobStatus,
    /// 0 to 100.
    #[schema(minimum = 0, maximum = 100)]
    pub progress: i16,
    pub logs: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The step a running job is on (`planning`, `content`, `plugins`, `saving`, `done`, `failed`).
    pub stage: Option<String>,
    /// Why a failed job failed.
    pub error: Option<String>,
}

impl From<Job> for JobView {
    fn from(job: Job) -> Self {
        Self {
            id: job.id,
            site_id: job.site_id,
            kind: job.kind,
            status: job.status,
            progress: job.progress,
            logs: job.logs,
            created_at: job.created_at,
            updated_at: job.updated_at,
            stage: job.stage,
            error: job.error,
        }
    }
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
