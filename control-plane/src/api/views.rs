//! Response shapes that more than one resource's routes return. Each
//! resource's own request and response types live with its routes; these are
//! here so no handler module imports another.

use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use gsw_protocol::bundle::{ItemEntry, ItemKind, Manifest};
use gsw_protocol::frame::{ItemResult, ItemStatus};
use gsw_protocol::site::{Drift, Inventory};
use gsw_storage::{
    Deployment, DeploymentStatus, Job, JobKind, JobStatus, Role, Site, SiteStatus, TokenCounts,
    User,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A user as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    #[schema(example = "user")]
    pub role: Role,
    pub subscription_tier: String,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            email: user.email,
            role: user.role,
            subscription_tier: user.subscription_tier,
            created_at: user.created_at,
        }
    }
}

/// A site as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteView {
    pub id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub wp_admin_url: Option<String>,
    #[schema(example = "draft")]
    pub status: SiteStatus,
    /// Free-form JSON object (tags, notes…).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Deploy content unfiltered, as a WordPress user with `unfiltered_html`
    /// would write it; otherwise it is filtered as WordPress filters authors.
    pub allow_unfiltered_html: bool,
    /// WordPress as the site's agent last reported it; `null` until it has.
    pub inventory: Option<Inventory>,
    pub inventory_at: Option<DateTime<Utc>>,
    /// Deployed content changed in WordPress since, as last reported.
    pub drift: Option<Drift>,
    pub drift_at: Option<DateTime<Utc>>,
    /// Only in `GET /sites/{id}`: the site's enrolled agent or plugin
    /// connection, as `GET /sites/{id}/agent` shows it; absent when none is
    /// enrolled (and from lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentView>,
}

impl From<Site> for SiteView {
    fn from(site: Site) -> Self {
        Self {
            id: site.id,
            name: site.name,
            domain: site.domain,
            wp_admin_url: site.wp_admin_url,
            status: site.status,
            metadata: site.metadata,
            created_at: site.created_at,
            updated_at: site.updated_at,
            allow_unfiltered_html: site.allow_unfiltered_html,
            // Stored as the agent sent them; a report this version cannot
            // read shows as none rather than failing the whole site.
            inventory: site.inventory.and_then(|v| serde_json::from_value(v).ok()),
            inventory_at: site.inventory_at,
            drift: site.drift.and_then(|v| serde_json::from_value(v).ok()),
            drift_at: site.drift_at,
            agent: None,
        }
    }
}

/// A job as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: Uuid,
    pub site_id: Uuid,
    #[schema(example = "generation")]
    pub kind: JobKind,
    /// `queued`, `running`, `completed` or `failed`.
    #[schema(example = "running")]
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

/// A deployment as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentView {
    pub id: Uuid,
    pub site_id: Uuid,
    pub sequence: i64,
    /// `queued`, `delivered`, `applied`, `failed` or `refused`.
    #[schema(example = "queued")]
    pub status: DeploymentStatus,
    /// What the bundle carries.
    pub items: Vec<ItemEntry>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Per-item results once applied.
    pub results: Option<Vec<ItemResult>>,
    /// What an applied deployment did not do as planned, one line per item:
    /// items skipped (a planned plugin that is not there), and notes on
    /// content, design and plugin items (a link to a page that does not
    /// exist, a theme that is not installed). An applied deployment with
    /// warnings is "applied with warnings", never plain success.
    pub warnings: Vec<String>,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// For a rollback, the deployment it undoes.
    pub rollback_of: Option<Uuid>,
}

impl From<Deployment> for DeploymentView {
    fn from(d: Deployment) -> Self {
        let manifest: Option<Manifest> = serde_json::from_slice(&d.manifest).ok();
        let results: Option<Vec<ItemResult>> =
            d.results.and_then(|r| serde_json::from_value(r).ok());
        let warnings = results.as_deref().map(warnings_of).unwrap_or_default();
        Self {
            id: d.id,
            site_id: d.site_id,
            sequence: d.sequence,
            status: d.status,
            items: manifest
                .as_ref()
                .map(|m| m.items.clone())
                .unwrap_or_default(),
            expires_at: manifest.and_then(|m| DateTime::from_timestamp(m.expires_at, 0)),
            results,
            warnings,
            error_code: d.error_code,
            error: d.error,
            created_at: d.created_at,
            updated_at: d.updated_at,
            rollback_of: d.rollback_of,
        }
    }
}

/// The warnings of an apply's results (see [`DeploymentView::warnings`]).
/// Navigation notes are information, not warnings.
pub fn warnings_of(results: &[ItemResult]) -> Vec<String> {
    results
        .iter()
        .filter(|r| r.status != ItemStatus::Failed)
        .filter_map(|r| {
            let message = r.message.as_deref().filter(|m| !m.is_empty());
            let note = r.kind != ItemKind::Content || r.path != "navigation.json";
            match (r.status, message) {
                (ItemStatus::Skipped, Some(m)) => Some(format!("{}: {m}", r.path)),
                (ItemStatus::Skipped, None) => Some(format!("{}: skipped", r.path)),
                (_, Some(m)) if note => Some(format!("{}: {m}", r.path)),
                _ => None,
            }
        })
        .collect()
}

/// One page of deployments.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentList {
    pub deployments: Vec<DeploymentView>,
}

/// A job accepted for the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobAccepted {
    pub job_id: Uuid,
    pub site_id: Uuid,
    /// Always `queued`.
    #[schema(example = "queued")]
    pub status: JobStatus,
}

impl JobAccepted {
    /// `202 Accepted` with the queued job.
    pub fn response(job: &Job) -> (StatusCode, Json<JobAccepted>) {
        (
            StatusCode::ACCEPTED,
            Json(JobAccepted {
                job_id: job.id,
                site_id: job.site_id,
                status: JobStatus::Queued,
            }),
        )
    }
}

/// A site's agent as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    pub id: Uuid,
    pub site_id: Uuid,
    /// `agent` (the sidecar's WebSocket) or `plugin` (the connector alone).
    pub connection: gsw_storage::Connection,
    /// Connected to the control plane right now (a plugin connection:
    /// heard from within the last 15 minutes).
    pub online: bool,
    /// Last contact.
    pub last_seen: Option<DateTime<Utc>>,
    pub enrolled_at: DateTime<Utc>,
    pub hostname: String,
    pub agent_version: String,
    /// Highest bundle sequence the agent reported applied.
    pub last_applied: i64,
}

impl AgentView {
    /// `agent` as the API shows it, online if `fleet` holds its connection.
    pub async fn of(fleet: &crate::fleet::Fleet, agent: gsw_storage::Agent) -> Self {
        Self {
            online: fleet.is_online(&agent).await,
            id: agent.id,
            site_id: agent.site_id,
            connection: agent.connection,
            last_seen: agent.last_seen,
            enrolled_at: agent.enrolled_at,
            hostname: agent.hostname,
            agent_version: agent.agent_version,
            last_applied: agent.last_applied,
        }
    }
}
