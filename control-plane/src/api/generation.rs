//! Generation requests: `POST /sites/generate` (a new site from a business
//! description) and `POST /sites/{id}/regenerate` (one page or section again).
//! Both queue a job; its progress is under `api::jobs` and `api::job_events`.

use axum::extract::State;
use axum::response::IntoResponse;
use chrono::Utc;
use gsw_generation::draft::Brief;
use gsw_generation::orchestrator::JobInput;
use gsw_storage::{JobKind, JobRef, NewJob, NewSite, SiteStatus};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::views::JobAccepted;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiPath, AuthUser};
use crate::generation::Generation;
use crate::state::AppState;
use crate::validate::{self, text};

/// Routes for generation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(generate_site))
        .routes(routes!(regenerate))
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
    /// Not blank.
    #[schema(example = "Maison Lune", max_length = 200, pattern = r"\S")]
    pub business_name: String,
    /// What kind of business it is.
    #[serde(rename = "type")]
    #[schema(example = "bakery", max_length = 100, pattern = r"\S")]
    pub business_type: String,
    #[schema(
        example = "A family bakery in Lyon making sourdough bread, croissants and celebration cakes.",
        max_length = 4000,
        pattern = r"\S"
    )]
    pub description: String,
    /// What the site should achieve, one per entry (1 to 10).
    #[schema(example = json!(["Take online orders", "Be found on Google"]), min_items = 1, max_items = 10)]
    pub goals: Vec<String>,
    /// Style preferences in the user's words, for the design (optional).
    #[schema(
        example = "Look: warm, classic. Colours: deep green and cream.",
        max_length = 500
    )]
    pub style: Option<String>,
    /// The language to write the site in (BCP 47: `en`, `nl`, `fr-BE`…); English when absent.
    #[schema(example = "nl-BE", max_length = 35)]
    pub language: Option<String>,
    /// Postal address as it should appear on the site (optional; read from the description when absent).
    #[schema(example = "Kortrijksesteenweg 12, 9000 Gent", max_length = 200)]
    pub address: Option<String>,
    /// Phone number (optional; read from the description when absent):
    /// 5 to 15 digits, with spaces and `+ ( ) . - /`.
    #[schema(
        example = "+32 9 123 45 67",
        max_length = 40,
        pattern = r"^\s*([ +().\-/]*([0-9][ +().\-/]*){5,15})?\s*$"
    )]
    pub phone: Option<String>,
    /// Contact e-mail address (optional; read from the description when absent).
    #[schema(example = "hallo@velovandaag.be", max_length = 254)]
    pub email: Option<String>,
    /// Opening hours in your words (optional; read from the description when absent).
    #[schema(example = "Tuesday to Saturday 9:00-18:00", max_length = 200)]
    pub opening_hours: Option<String>,
}

/// What to rewrite: a page, or one section of it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Regenerate {
    /// The page's slug.
    #[schema(example = "about")]
    pub page: String,
    /// The section's index on the page (0 is the hero); absent rewrites the whole page.
    #[serde(default, deserialize_with = "super::whole_or_none")]
    pub section: Option<usize>,
}

fn brief_of(body: &GenerateSite) -> ApiResult<Brief> {
    if body.goals.is_empty() || body.goals.len() > GOALS_MAX {
        return Err(AppError::invalid(
            "goals",
            format!("give between 1 and {GOALS_MAX} goals"),
        ));
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
        language: optional(&body.language, |v| validate::language_tag("language", v))?,
        address: optional(&body.address, |v| validate::line("address", v, 200))?,
        phone: optional(&body.phone, |v| validate::phone("phone", v))?,
        email: optional(&body.email, |v| validate::email_address("email", v))?,
        opening_hours: optional(&body.opening_hours, |v| {
            validate::line("opening_hours", v, 200)
        })?,
    })
}

/// An optional field: absent or blank is `None`, anything else must pass `check`.
fn optional(
    value: &Option<String>,
    check: impl FnOnce(&str) -> ApiResult<String>,
) -> ApiResult<Option<String>> {
    value
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .map(check)
        .transpose()
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
    Ok(JobAccepted::response(&job))
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
    let (_, draft) = super::drafts::owned_draft(&state, user.id, id).await?;
    let failed = draft.failed_pages.iter().any(|f| f.slug == body.page);
    match draft.pages.iter().find(|p| p.slug == body.page) {
        Some(page) => {
            if let Some(section) = body.section {
                if section >= page.content.sections.len() {
                    return Err(AppError::invalid(
                        "section",
                        format!(
                            "the {} page has sections 0 to {}",
                            page.slug,
                            page.content.sections.len().saturating_sub(1)
                        ),
                    ));
                }
            }
        }
        // A page that failed during generation can be written now, whole.
        None if failed && body.section.is_none() => {}
        None if failed => {
            return Err(AppError::invalid(
                "section",
                format!(
                    "the {} page was never written; regenerate the whole page",
                    body.page
                ),
            ))
        }
        None => {
            return Err(AppError::invalid(
                "page",
                format!("the draft has no page {:?}", body.page),
            ))
        }
    }
    let input = serde_json::to_value(JobInput::Regenerate {
        page: body.page,
        section: body.section,
    })
    .map_err(anyhow::Error::from)?;
    let job = generation
        .start_job(user.id, id, JobKind::Generation, &input)
        .await?;
    Ok(JobAccepted::response(&job))
}
