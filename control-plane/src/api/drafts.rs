//! A site's draft: `GET /sites/{id}/draft`, and
//! `PATCH /sites/{id}/draft/pages/{slug}`, the dashboard editor's simple
//! edits to one page of it (title, section texts, SEO title and meta
//! description). The structured content is changed and the page's block
//! markup rendered again by `gsw_generation::blocks`, so edits obey the same
//! rules (escaping, one H1, valid block grammar) as generated text.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use gsw_generation::blocks::{render_page, META_DESCRIPTION_MAX, SEO_TITLE_MAX};
use gsw_generation::draft::{DraftPage, Item, SiteDraft};
use gsw_generation::{fonts, images, theme};
use gsw_storage::{DraftWrite, SiteDraftRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiPath, AuthUser};
use crate::state::AppState;
use crate::validate::{self, text};

/// The caller's draft of site `id`, read: its record (without the JSON) and
/// the draft. 404 when the site is not theirs or has no draft yet.
pub(crate) async fn owned_draft(
    state: &AppState,
    user: Uuid,
    id: Uuid,
) -> ApiResult<(SiteDraftRecord, SiteDraft)> {
    let mut record = state
        .store
        .site_draft(user, id)
        .await?
        .ok_or(AppError::NotFound("draft"))?;
    let draft = SiteDraft::from_stored(std::mem::take(&mut record.draft))?;
    Ok((record, draft))
}

/// Routes for drafts.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_draft))
        .routes(routes!(draft_theme_css))
        .routes(routes!(draft_image))
        .routes(routes!(edit_page))
        .routes(routes!(font_file))
}

/// The stylesheet of the site's generated theme, as the dashboard's preview
/// renders the draft with it: the same section styles the deployed theme
/// loads, with the theme's presets as custom properties and its fonts
/// served by `/fonts/{family}/{file}`.
#[utoipa::path(get, path = "/sites/{id}/draft/theme.css", tag = "sites", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "CSS", content_type = "text/css", body = String),
        (status = 404, description = "No such site of the caller's, or no draft yet", body = gsw_protocol::ErrorBody),
    ))]
async fn draft_theme_css(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    let (_, draft) = owned_draft(&state, user.id, id).await?;
    let prefix = format!("{}/fonts", gsw_protocol::API_PREFIX);
    let css = theme::stylesheet(&draft, |family, file| format!("{prefix}/{family}/{file}"));
    Ok((
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        css,
    ))
}

/// An image the draft's pages show (`images/<file>` in their markup),
/// exactly as the deployment uploads it: drawn in the site's palette, or
/// the downloaded stock photo (from the cache, or fetched again and checked
/// against its recorded hash). The dashboard's preview shows the same
/// pictures the site will.
#[utoipa::path(get, path = "/sites/{id}/draft/images/{file}", tag = "sites",
    params(("id" = Uuid, Path), ("file" = String, Path, example = "hero-home.png")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The image: PNG when drawn; a photo's JPEG, PNG or WebP", content_type = "image/png", body = Vec<u8>),
        (status = 404, description = "No such site of the caller's, no draft, or no such image", body = gsw_protocol::ErrorBody),
        (status = 503, description = "A stock photo whose bytes could not be fetched again", body = gsw_protocol::ErrorBody),
    ))]
async fn draft_image(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, file)): ApiPath<(Uuid, String)>,
) -> ApiResult<impl IntoResponse> {
    let (_, draft) = owned_draft(&state, user.id, id).await?;
    let path = format!("images/{file}");
    let used = path == images::ICON_PATH
        || draft
            .pages
            .iter()
            .any(|page| images::referenced(&page.blocks).contains(&path));
    if !used {
        return Err(AppError::NotFound("image"));
    }
    let photo = draft
        .photos
        .iter()
        .find(|p| p.file.as_ref().is_some_and(|f| f.path == path));
    let (content_type, bytes) = match photo {
        Some(photo) => {
            let bytes = state
                .photos
                .bytes(photo)
                .await
                .map_err(|e| {
                    tracing::warn!(%path, error = %e, "a draft's photo cannot be had");
                    AppError::Unavailable(
                        "the photo could not be fetched from its provider; try again later".into(),
                    )
                })?
                .ok_or(AppError::NotFound("image"))?;
            let content_type = images::sniff(&bytes).unwrap_or("application/octet-stream");
            (content_type, bytes)
        }
        None => {
            let identity = theme::identity_of(&draft);
            let png = images::render(&path, &identity.name, &draft.design.palette)
                .ok_or(AppError::NotFound("image"))?;
            ("image/png", png)
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, no-cache"),
        ],
        bytes,
    ))
}

/// One of the open-licence font files generated themes ship (WOFF2). Public
/// and cacheable for good: a file's name never changes its bytes. Readable
/// from any origin, for the preview's sandboxed frame.
#[utoipa::path(get, path = "/fonts/{family}/{file}", tag = "sites",
    params(("family" = String, Path, example = "inter"), ("file" = String, Path, example = "inter-latin-wght-normal.woff2")),
    responses(
        (status = 200, description = "The font file", content_type = "font/woff2", body = Vec<u8>),
        (status = 404, description = "No such font", body = gsw_protocol::ErrorBody),
    ))]
async fn font_file(
    ApiPath((family, file)): ApiPath<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let face = fonts::FAMILIES
        .iter()
        .find(|f| f.slug == family)
        .and_then(|f| f.faces.iter().find(|face| face.file == file))
        .ok_or(AppError::NotFound("font"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "font/woff2"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        face.bytes,
    ))
}

/// Longest page title, in characters.
pub const PAGE_TITLE_MAX: usize = 100;
/// Longest section heading or item title, in characters.
pub const HEADING_MAX: usize = 200;
/// Longest paragraph or item text, in characters.
pub const PARAGRAPH_MAX: usize = 2000;
/// Most paragraphs or items in one section.
pub const SECTION_PARTS_MAX: usize = 12;
/// Attempts at an edit when another edit lands between reading and writing.
const WRITE_ATTEMPTS: usize = 3;

/// New texts for one section; absent fields stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionEdit {
    /// The section's index on the page (0 is the hero).
    #[serde(deserialize_with = "super::whole")]
    pub index: usize,
    #[schema(max_length = 200)]
    pub heading: Option<String>,
    /// Replaces all the section's paragraphs (0 to 12).
    #[schema(max_items = 12)]
    pub paragraphs: Option<Vec<String>>,
    /// Replaces all the section's items (0 to 12): feature, step or question.
    #[schema(max_items = 12)]
    pub items: Option<Vec<ItemEdit>>,
    /// The label of the section's button, if it has one.
    #[schema(max_length = 60)]
    pub link_label: Option<String>,
}

/// An item's title and text.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemEdit {
    pub title: String,
    pub text: String,
}

/// Changes to one page of a draft; at least one field.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct PageEdit {
    /// The page's title (also its navigation label).
    #[schema(example = "About us", max_length = 100)]
    pub title: Option<String>,
    #[schema(
        example = "About Maison Lune, a family bakery in Lyon",
        max_length = 60
    )]
    pub seo_title: Option<String>,
    #[schema(max_length = 156)]
    pub meta_description: Option<String>,
    #[serde(default)]
    pub sections: Vec<SectionEdit>,
}

/// The edited page and when the draft changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EditedPage {
    pub site_id: Uuid,
    /// The draft's new `updated_at`.
    pub updated_at: DateTime<Utc>,
    pub page: DraftPage,
}

/// Checks a text against its limit, saying how long it is.
fn limited(field: &str, raw: &str, max: usize) -> ApiResult<String> {
    let count = raw.trim().chars().count();
    if count > max {
        return Err(AppError::invalid(
            field,
            format!("must be at most {max} characters (it has {count})"),
        ));
    }
    validate::line(field, raw, max)
}

/// Applies `edit` to the page with `slug` in `draft`, re-rendering its blocks.
/// Every field is checked before anything changes.
pub fn apply(draft: &mut SiteDraft, slug: &str, edit: &PageEdit) -> ApiResult<DraftPage> {
    if edit.title.is_none()
        && edit.seo_title.is_none()
        && edit.meta_description.is_none()
        && edit.sections.is_empty()
    {
        return Err(AppError::invalid_body(
            "nothing to change: send at least one of title, seo_title, meta_description, sections",
        ));
    }
    let at = draft
        .pages
        .iter()
        .position(|p| p.slug == slug)
        .ok_or(AppError::NotFound("page"))?;
    let mut page = draft.pages[at].clone();
    if let Some(title) = &edit.title {
        page.title = limited("title", title, PAGE_TITLE_MAX)?;
    }
    if let Some(seo_title) = &edit.seo_title {
        page.seo_title = limited("seo_title", seo_title, SEO_TITLE_MAX)?;
        page.content.seo_title = page.seo_title.clone();
    }
    if let Some(description) = &edit.meta_description {
        page.meta_description = limited("meta_description", description, META_DESCRIPTION_MAX)?;
        page.content.meta_description = page.meta_description.clone();
    }
    let count = page.content.sections.len();
    for (n, change) in edit.sections.iter().enumerate() {
        let field = |name: &str| format!("sections[{n}].{name}");
        let section = page.content.sections.get_mut(change.index).ok_or_else(|| {
            AppError::invalid(
                field("index"),
                format!(
                    "the {slug} page has sections 0 to {}",
                    count.saturating_sub(1)
                ),
            )
        })?;
        if let Some(heading) = &change.heading {
            section.heading = limited(&field("heading"), heading, HEADING_MAX)?;
        }
        if let Some(paragraphs) = &change.paragraphs {
            if paragraphs.len() > SECTION_PARTS_MAX {
                return Err(AppError::invalid(
                    field("paragraphs"),
                    format!("at most {SECTION_PARTS_MAX} paragraphs"),
                ));
            }
            section.paragraphs = paragraphs
                .iter()
                .enumerate()
                .map(|(i, p)| text(&field(&format!("paragraphs[{i}]")), p, PARAGRAPH_MAX))
                .collect::<ApiResult<_>>()?;
        }
        if let Some(items) = &change.items {
            if items.len() > SECTION_PARTS_MAX {
                return Err(AppError::invalid(
                    field("items"),
                    format!("at most {SECTION_PARTS_MAX} items"),
                ));
            }
            section.items = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    Ok(Item {
                        title: limited(
                            &field(&format!("items[{i}].title")),
                            &item.title,
                            HEADING_MAX,
                        )?,
                        text: text(
                            &field(&format!("items[{i}].text")),
                            &item.text,
                            PARAGRAPH_MAX,
                        )?,
                    })
                })
                .collect::<ApiResult<_>>()?;
        }
        if let Some(label) = &change.link_label {
            let link = section.link.as_mut().ok_or_else(|| {
                AppError::invalid(
                    field("link_label"),
                    format!("section {} has no button", change.index),
                )
            })?;
            link.label = limited(&field("link_label"), label, 60)?;
        }
    }
    page.blocks = render_page(&page.slug, &page.content, &draft.sitemap, &draft.photos);
    if let Some(plan) = draft.sitemap.pages.iter_mut().find(|p| p.slug == slug) {
        plan.title = page.title.clone();
    }
    draft.pages[at] = page.clone();
    Ok(page)
}

/// Edits one page of the site's draft: title, section texts, SEO title and
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
    let (record, draft) = owned_draft(&state, user.id, id).await?;
    Ok(Json(DraftView {
        site_id: record.site_id,
        job_id: record.job_id,
        updated_at: record.updated_at,
        draft,
    }))
}

/// meta description. The page's block markup is rendered again from the result.
#[utoipa::path(patch, path = "/sites/{id}/draft/pages/{slug}", tag = "sites",
    params(("id" = Uuid, Path), ("slug" = String, Path, description = "The page's slug")),
    request_body = PageEdit, security(("bearer" = [])),
    responses(
        (status = 200, description = "The edited page", body = EditedPage),
        (status = 404, description = "No such site of the caller's, no draft yet, or no such page", body = gsw_protocol::ErrorBody),
        (status = 409, description = "A generation job on this site is unfinished; edit once it is done", body = gsw_protocol::ErrorBody),
        (status = 422, description = "A field breaks its rule, or nothing to change", body = gsw_protocol::ErrorBody),
    ))]
async fn edit_page(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((site_id, slug)): ApiPath<(Uuid, String)>,
    ApiJson(edit): ApiJson<PageEdit>,
) -> ApiResult<Json<EditedPage>> {
    for _ in 0..WRITE_ATTEMPTS {
        let record = state
            .store
            .site_draft(user.id, site_id)
            .await?
            .ok_or(AppError::NotFound("draft"))?;
        let mut draft = SiteDraft::from_stored(record.draft)?;
        let page = apply(&mut draft, &slug, &edit)?;
        let value = serde_json::to_value(&draft).map_err(anyhow::Error::from)?;
        match state
            .store
            .write_site_draft(user.id, site_id, record.updated_at, &value, Utc::now())
            .await?
        {
            DraftWrite::Written(updated_at) => {
                return Ok(Json(EditedPage {
                    site_id,
                    updated_at,
                    page,
                }))
            }
            DraftWrite::Busy => return Err(AppError::InvalidState(
                "a generation on this site is still running; edit the page once it has finished"
                    .into(),
            )),
            DraftWrite::Missing => return Err(AppError::NotFound("draft")),
            // Another edit landed in between: apply ours to the new draft.
            DraftWrite::Stale => continue,
        }
    }
    Err(AppError::InvalidState(
        "the draft kept changing while this edit was saved; try again".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use gsw_generation::agents::Agents;
    use gsw_generation::draft::Brief;
    use gsw_generation::offline::OfflineEngine;
    use gsw_generation::orchestrator::generate_in_memory;
    use gsw_generation::provider::ModelRoutes;

    fn draft() -> SiteDraft {
        let agents = Agents {
            provider: Arc::new(OfflineEngine),
            routes: ModelRoutes {
                small: "small".into(),
                large: "large".into(),
            },
        };
        let brief = Brief {
            business_name: "Maison Lune".into(),
            business_type: "bakery".into(),
            description: "A family bakery in Lyon making sourdough bread.".into(),
            goals: vec!["Take orders".into()],
            style: None,
            ..Default::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(generate_in_memory(&agents, &brief, 2))
            .unwrap()
    }

    fn edit() -> PageEdit {
        PageEdit {
            title: None,
            seo_title: None,
            meta_description: None,
            sections: vec![],
        }
    }

    #[test]
    fn an_edit_changes_the_content_and_renders_the_blocks_again() {
        let mut draft = draft();
        let page = apply(
            &mut draft,
            "about",
            &PageEdit {
                title: Some(" Our story ".into()),
                seo_title: Some("The story of <Maison Lune>".into()),
                sections: vec![SectionEdit {
                    index: 0,
                    heading: Some("Bread & butter".into()),
                    paragraphs: Some(vec!["Since 1987.".into()]),
                    items: None,
                    link_label: None,
                }],
                ..edit()
            },
        )
        .unwrap();
        assert_eq!(page.title, "Our story");
        assert_eq!(page.content.seo_title, "The story of <Maison Lune>");
        assert!(
            page.blocks.contains("Bread &amp; butter"),
            "{}",
            page.blocks
        );
        assert!(page.blocks.contains("<p>Since 1987.</p>"));
        assert_eq!(draft.sitemap.page("about").unwrap().title, "Our story");
        assert_eq!(draft.pages.iter().find(|p| p.slug == "about"), Some(&page));
    }

    #[test]
    fn bad_edits_change_nothing() {
        let mut draft = draft();
        let before = draft.clone();
        let too_long = PageEdit {
            title: Some("Fine".into()),
            seo_title: Some("x".repeat(61)),
            ..edit()
        };
        let err = apply(&mut draft, "about", &too_long).unwrap_err();
        assert_eq!(
            err.to_string(),
            "seo_title: must be at most 60 characters (it has 61)"
        );
        let no_section = PageEdit {
            sections: vec![SectionEdit {
                index: 99,
                heading: Some("x".into()),
                paragraphs: None,
                items: None,
                link_label: None,
            }],
            ..edit()
        };
        assert!(apply(&mut draft, "about", &no_section)
            .unwrap_err()
            .to_string()
            .starts_with("sections[0].index: the about page has sections 0 to"));
        assert!(matches!(
            apply(&mut draft, "nowhere", &too_long),
            Err(AppError::NotFound("page"))
        ));
        assert!(apply(&mut draft, "about", &edit()).is_err());
        assert_eq!(draft, before);
    }
}
