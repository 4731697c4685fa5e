//! Releases: one bundle signed for each site of a set, stored as deployments
//! (the database is the outbox) and handed to the sites' agents; and the
//! bundle items a site's draft is deployed as.

use std::time::Duration;

use chrono::Utc;
use gsw_generation::blocks::{render_page_with, Styling};
use gsw_generation::draft::SiteDraft;
use gsw_generation::{images, theme};
use gsw_protocol::bundle::{ItemKind, Manifest, Payload, Policy, SignedManifest, FORMAT};
use gsw_protocol::items::{
    NavigationItem, NavigationLink, PlannedPlugin, PluginPlanItem, PostItem, PostStatus, PostType,
    RollbackItem, Seo, SiteItem,
};
use gsw_storage::{Deployment, NewRelease, SignFor, SignedForSite, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Fleet;
use crate::error::{ApiResult, AppError};
use crate::photos::PhotoLibrary;
use crate::plugins::{PluginDirectory, Resolved, Unavailable};

/// The bytes of a draft's downloaded photos, by bundle path.
pub type PhotoBytes = std::collections::BTreeMap<String, Vec<u8>>;

/// The bytes of the downloaded photos `draft`'s pages show: cached, or
/// fetched again and checked against their recorded hash. A photo that
/// cannot be had is left out (the connector then leaves its image out and
/// says so); nothing here fails a deployment.
pub async fn photo_bytes(draft: &SiteDraft, library: &PhotoLibrary) -> PhotoBytes {
    let used: std::collections::HashSet<String> = draft
        .pages
        .iter()
        .flat_map(|page| images::referenced(&page.blocks))
        .collect();
    let mut out = PhotoBytes::new();
    for photo in &draft.photos {
        let Some(file) = photo.file.as_ref().filter(|f| used.contains(&f.path)) else {
            continue;
        };
        match library.bytes(photo).await {
            Ok(Some(bytes)) => {
                out.insert(file.path.clone(), bytes);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(path = %file.path, error = %e, "a draft's photo cannot be had; left out of the bundle");
            }
        }
    }
    out
}

/// The theme a draft is deployed with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SiteTheme {
    /// The block theme generated from the draft's design, installed and
    /// activated, with the design written into its global styles.
    #[default]
    Generated,
    /// The site's own theme, left as it is: no theme and no design item,
    /// and pages that carry their look in the blocks' own attributes.
    Keep,
}

/// Room kept in a draft's bundle for what is not a plugin zip's bytes
/// (the manifest, and the plan growing by its reasons).
const BUNDLE_SLACK: u64 = 256 * 1024;

/// Shortest and longest bundle lifetime a caller may ask for, in seconds.
pub const TTL_SECS: std::ops::RangeInclusive<u64> = 60..=31_536_000;

/// What to release, to whom.
pub struct Release<'a> {
    pub owner: Uuid,
    pub site_ids: &'a [Uuid],
    pub payload: Payload,
    /// Seconds the bundles stay valid; the fleet's default when `None`.
    pub ttl_secs: Option<u64>,
    /// The deployment this release rolls back, if it is a rollback.
    pub rollback_of: Option<Uuid>,
}

/// Signs and stores one bundle per site, then wakes the sites' agents.
/// Nothing is stored unless every site is the owner's.
pub async fn release(
    store: &dyn Store,
    fleet: &Fleet,
    release: Release<'_>,
) -> ApiResult<Vec<Deployment>> {
    let ttl = match release.ttl_secs {
        None => fleet.settings.bundle_ttl,
        Some(secs) if TTL_SECS.contains(&secs) => Duration::from_secs(secs),
        Some(_) => {
            return Err(AppError::invalid(
                "ttl_secs",
                format!(
                    "must be between {} and {}",
                    TTL_SECS.start(),
                    TTL_SECS.end()
                ),
            ))
        }
    };
    let now = Utc::now();
    let created_at = now.timestamp();
    let expires_at = created_at + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let key = &fleet.signing_key;
    let items = release.payload.items;
    let sign = |to: &SignFor| {
        let manifest = Manifest {
            format: FORMAT,
            bundle_id: to.id,
            site_id: to.site_id,
            sequence: to.sequence,
            created_at,
            expires_at,
            policy: Policy {
                unfiltered_html: to.unfiltered_html,
            },
            items: items.clone(),
        };
        let signed = SignedManifest::sign(&manifest, key);
        SignedForSite {
            manifest: signed.manifest,
            signature: signed.signature.to_vec(),
        }
    };
    let record = NewRelease {
        id: Uuid::now_v7(),
        user_id: release.owner,
        items: serde_json::to_value(&items).map_err(anyhow::Error::from)?,
        payload: release.payload.bytes,
        created_at: now,
        rollback_of: release.rollback_of,
    };
    let deployments = store
        .create_deployments(release.owner, &record, release.site_ids, &sign)
        .await?
        .ok_or(AppError::NotFound("site"))?;
    fleet.deliver(deployments.clone()).await;
    Ok(deployments)
}

/// The one-item bundle that rolls `target` back.
pub fn rollback_payload(target: &Deployment) -> ApiResult<Payload> {
    let item = RollbackItem {
        deployment_id: target.id,
        sequence: target.sequence,
    };
    let bytes = serde_json::to_vec(&item).map_err(anyhow::Error::from)?;
    Payload::build([(ItemKind::Rollback, "rollback.json", bytes)])
        .map_err(|e| AppError::Internal(anyhow::anyhow!("building a rollback bundle: {e}")))
}

/// The bundle a draft is deployed as, carrying the zips of its planned
/// plugins that could be had and fit under `max_bytes`; the others are
/// named in the plan with the reason, and the deployment goes ahead.
pub async fn draft_payload(
    draft: &SiteDraft,
    directory: &PluginDirectory,
    library: &PhotoLibrary,
    max_bytes: u64,
    site_theme: SiteTheme,
) -> ApiResult<Payload> {
    let photos = photo_bytes(draft, library).await;
    let mut slugs: Vec<String> = draft
        .plugins
        .plugins
        .iter()
        .map(|p| p.slug.clone())
        .collect();
    let mut seen = std::collections::HashSet::new();
    slugs.retain(|slug| seen.insert(slug.clone()));
    let mut plugins = directory.resolve(&slugs).await;
    let base = draft_items(draft, &Resolved::default(), &photos, site_theme)
        .map_err(anyhow::Error::from)?;
    let mut room = max_bytes
        .saturating_sub(BUNDLE_SLACK)
        .saturating_sub(base.iter().map(|(_, _, b)| b.len() as u64).sum());
    let mut fitting = Vec::with_capacity(plugins.zips.len());
    for zip in std::mem::take(&mut plugins.zips) {
        let size = zip.bytes.len() as u64;
        if size <= room {
            room -= size;
            fitting.push(zip);
        } else {
            plugins
                .unavailable
                .insert(zip.slug.clone(), Unavailable::NoRoom);
        }
    }
    plugins.zips = fitting;
    let items = draft_items(draft, &plugins, &photos, site_theme).map_err(anyhow::Error::from)?;
    Payload::build(items).map_err(|e| AppError::Internal(anyhow::anyhow!("draft bundle: {e}")))
}

/// Lays a draft out as bundle items, the format the connector plugin applies:
/// the site's own block theme (`theme/gsw-<name>.zip`, generated from its
/// design and identity), the images its pages show and its icon
/// (`media/images/*.png`, drawn in its palette, and the downloaded stock
/// photos in `photos`, `media/images/*.jpg` and the like), `content/site.json` (title,
/// tagline, language, icon),
/// `content/pages/<slug>.json` per page (keyed by `page:<slug>` so applying
/// again updates rather than duplicates), `content/navigation.json`,
/// `design/design.json` (which activates the theme), `plugin/<slug>.zip` for
/// each plugin in `plugins` and `plugin/plan.json` (naming why the plugins
/// `plugins` could not have are missing). With [`SiteTheme::Keep`], no theme
/// and no design item (the design item activates our theme and writes the
/// palette into the active theme's global styles), and the pages rendered
/// with their look inline ([`Styling::Inline`]) on the theme's default
/// page template.
pub fn draft_items(
    draft: &SiteDraft,
    plugins: &Resolved,
    photos: &PhotoBytes,
    site_theme: SiteTheme,
) -> serde_json::Result<Vec<(ItemKind, String, Vec<u8>)>> {
    let mut items = Vec::with_capacity(draft.pages.len() + plugins.zips.len() + 5);
    let theme = match site_theme {
        SiteTheme::Generated => Some(theme::build(draft)),
        SiteTheme::Keep => None,
    };
    if let Some(theme) = &theme {
        items.push((
            ItemKind::Theme,
            format!("{}.zip", theme.slug),
            theme_zip(theme).map_err(serde::ser::Error::custom)?,
        ));
    }
    let identity = theme::identity_of(draft);
    // The images the pages show and the site's icon, drawn in its palette.
    let mut media: Vec<String> = vec![images::ICON_PATH.to_owned()];
    for page in &draft.pages {
        for path in images::referenced(&page.blocks) {
            if !media.contains(&path) {
                media.push(path);
            }
        }
    }
    for path in media {
        let bytes = match photos.get(&path) {
            Some(bytes) => Some(bytes.clone()),
            None => images::render(&path, &identity.name, &draft.design.palette),
        };
        if let Some(bytes) = bytes {
            items.push((ItemKind::Media, path, bytes));
        }
    }
    items.push((
        ItemKind::Content,
        "site.json".to_owned(),
        serde_json::to_vec(&SiteItem {
            icon: Some(images::ICON_PATH.to_owned()),
            language: identity.language.clone(),
            tagline: identity.tagline.clone(),
            title: identity.name.clone(),
        })?,
    ));
    for page in &draft.pages {
        let content = match site_theme {
            SiteTheme::Generated => page.blocks.clone(),
            SiteTheme::Keep => render_page_with(
                &page.slug,
                &page.content,
                &draft.sitemap,
                &draft.photos,
                Styling::Inline(&draft.design.palette),
            ),
        };
        let item = PostItem {
            content,
            front_page: page.slug == "home",
            key: PostItem::page_key(&page.slug),
            parent_key: page.parent.as_deref().map(PostItem::page_key),
            posts_page: false,
            seo: Seo {
                description: page.meta_description.clone(),
                title: page.seo_title.clone(),
            },
            slug: page.slug.clone(),
            status: PostStatus::Publish,
            // The landing template is our theme's; another theme has none.
            template: theme.as_ref().map(|_| theme::LANDING_TEMPLATE.to_owned()),
            title: page.title.clone(),
            post_type: PostType::Page,
        };
        items.push((
            ItemKind::Content,
            format!("pages/{}.json", page.slug),
            serde_json::to_vec(&item)?,
        ));
    }
    let navigation = NavigationItem {
        items: draft
            .sitemap
            .navigation
            .iter()
            .filter_map(|slug| draft.pages.iter().find(|p| &p.slug == slug))
            .map(|page| NavigationLink {
                key: PostItem::page_key(&page.slug),
                label: page.title.clone(),
                path: page.path.clone(),
            })
            .collect(),
        name: None,
    };
    items.push((
        ItemKind::Content,
        "navigation.json".to_owned(),
        serde_json::to_vec(&navigation)?,
    ));
    if let Some(theme) = &theme {
        let mut design = draft.design.clone();
        design.theme = theme.slug.clone();
        items.push((
            ItemKind::Design,
            "design.json".to_owned(),
            serde_json::to_vec(&design)?,
        ));
    }
    for zip in &plugins.zips {
        items.push((
            ItemKind::Plugin,
            format!("{}.zip", zip.slug),
            zip.bytes.to_vec(),
        ));
    }
    let plan = PluginPlanItem {
        plugins: draft
            .plugins
            .plugins
            .iter()
            .map(|p| PlannedPlugin {
                category: p.category.clone(),
                name: p.name.clone(),
                reason: p.reason.clone(),
                settings: p.settings.clone(),
                slug: p.slug.clone(),
                unavailable: plugins.unavailable.get(&p.slug).map(ToString::to_string),
            })
            .collect(),
    };
    items.push((
        ItemKind::Plugin,
        "plan.json".to_owned(),
        serde_json::to_vec(&plan)?,
    ));
    Ok(items)
}

/// A generated theme as the zip WordPress's theme upgrader installs: one
/// folder named after the theme holding its files. Stored, not deflated:
/// most of its bytes are fonts, which are compressed already.
fn theme_zip(theme: &theme::Theme) -> zip::result::ZipResult<Vec<u8>> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // A fixed timestamp: the same theme zips to the same bytes, so the same
    // draft deployed again is recognised as unchanged.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (path, bytes) in &theme.files {
        zip.start_file(format!("{}/{path}", theme.slug), options)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}
