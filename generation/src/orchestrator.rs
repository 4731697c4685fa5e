//! Runs a generation job: planning, then design and the pages concurrently
//! (at most `page_concurrency` pages at once), then plugins. Every stage's
//! output is stored as soon as it exists, so a job resumed after a crash
//! starts from the last finished stage; a page that fails is retried once
//! and, if it fails again, reported in the draft while the rest completes.
//!
//! Progress goes to the job's row and to a [`JobEventSink`] the caller
//! supplies (the control plane's live broadcast), so this crate needs no
//! queue or event system of its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::Utc;
use futures::stream::{self, StreamExt};
use futures::FutureExt;
use gsw_storage::{JobRef, NewTokenUsage, Store, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::agents::{Agents, ContentInput, DesignInput, Outcome, PluginInput};
use crate::blocks::render_page;
use crate::draft::{
    Brief, Design, DraftPage, PageContent, PageFailure, PagePlan, PluginPlan, SiteDraft, Sitemap,
};
use crate::photos::{self, Photo, PhotoSource};
use crate::provider::{ModelError, Stage};

/// What a generation job works from (the job row's `input`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobInput {
    /// Generate a whole site from a brief.
    Generate { brief: Brief },
    /// Rewrite one page, or one section of it, of the site's current draft.
    Regenerate {
        page: String,
        section: Option<usize>,
    },
}

/// Why a generation stopped.
#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    /// Another worker took the job over (our lease ran out): stop quietly.
    #[error("the job's lease was lost to another worker")]
    LostLease,
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The job cannot be done as asked (no draft to regenerate, no such page…).
    #[error("{0}")]
    Invalid(String),
}

/// Where a running job's progress goes besides its row: the control plane's
/// live broadcast to browsers, or nowhere (`()`). The orchestrator only
/// calls it; what a listener does with it is the caller's business.
pub trait JobEventSink: Send + Sync {
    /// The job is running and has got `progress` percent of the way, at `stage`.
    fn running(&self, job: JobRef, progress: i16, stage: &str, message: &str);
}

/// Nobody listens: progress goes to the job row only.
impl JobEventSink for () {
    fn running(&self, _job: JobRef, _progress: i16, _stage: &str, _message: &str) {}
}

/// Reports a job's progress to its row (checking the lease) and to `events`.
#[derive(Clone)]
pub struct Progress<E> {
    pub store: Arc<dyn Store>,
    pub events: E,
    pub job: JobRef,
    pub worker: String,
}

impl<E: JobEventSink> Progress<E> {
    /// Records progress; fails with [`GenerationError::LostLease`] if the job is no longer ours.
    pub async fn report(
        &self,
        progress: i16,
        stage: &str,
        message: &str,
    ) -> Result<(), GenerationError> {
        let held = self
            .store
            .record_job_progress(self.job, &self.worker, progress, stage, message, Utc::now())
            .await?;
        if !held {
            return Err(GenerationError::LostLease);
        }
        self.events.running(self.job, progress, stage, message);
        Ok(())
    }
}

/// The agents, and how to run them for a job.
#[derive(Clone)]
pub struct Orchestrator {
    pub store: Arc<dyn Store>,
    pub agents: Agents,
    /// Pages written at once.
    pub page_concurrency: usize,
    /// Where stock photos come from; `None`: every picture is drawn.
    pub photos: Option<Arc<dyn PhotoSource>>,
}

/// Tries a page gets before it is reported as failed.
const PAGE_TRIES: u32 = 2;

fn page_key(slug: &str) -> String {
    format!("page:{slug}")
}

impl Orchestrator {
    /// Runs a job to its draft (not yet stored: the worker completes the job with it).
    pub async fn run<E: JobEventSink>(
        &self,
        job: JobRef,
        site_id: Uuid,
        input: &Value,
        progress: &Progress<E>,
    ) -> Result<SiteDraft, GenerationError> {
        let input: JobInput = serde_json::from_value(input.clone())
            .map_err(|e| GenerationError::Invalid(format!("unreadable job input: {e}")))?;
        match input {
            JobInput::Generate { brief } => self.generate(job, &brief, progress).await,
            JobInput::Regenerate { page, section } => {
                self.regenerate(job, site_id, &page, section, progress)
                    .await
            }
        }
    }

    async fn record<T>(
        &self,
        job: JobRef,
        stage: Stage,
        outcome: &Outcome<T>,
    ) -> Result<(), StoreError> {
        if outcome.tokens.is_zero() {
            return Ok(());
        }
        self.store
            .record_token_usage(&NewTokenUsage {
                id: Uuid::now_v7(),
                user_id: job.user_id,
                job_id: Some(job.job_id),
                stage: stage.as_str().to_owned(),
                model: outcome.model.clone(),
                tokens: outcome.tokens,
                created_at: Utc::now(),
            })
            .await
    }

    async fn save<T: Serialize>(
        &self,
        job: JobRef,
        key: &str,
        output: &T,
    ) -> Result<(), GenerationError> {
        let value =
            serde_json::to_value(output).map_err(|e| GenerationError::Invalid(e.to_string()))?;
        self.store
            .save_stage_output(job, key, &value, Utc::now())
            .await?;
        Ok(())
    }

    /// Records an agent's token usage and stores its output under `key`, so
    /// a resumed job need not ask again.
    async fn keep<T: Serialize>(
        &self,
        job: JobRef,
        stage: Stage,
        key: &str,
        outcome: Outcome<T>,
    ) -> Result<T, GenerationError> {
        self.record(job, stage, &outcome).await?;
        self.save(job, key, &outcome.output).await?;
        Ok(outcome.output)
    }

    async fn generate<E: JobEventSink>(
        &self,
        job: JobRef,
        brief: &Brief,
        progress: &Progress<E>,
    ) -> Result<SiteDraft, GenerationError> {
        let stored = StoredStages(
            self.store
                .stage_outputs(job)
                .await?
                .into_iter()
                .map(|o| (o.stage, o.output))
                .collect(),
        );
        let sitemap: Sitemap = match stored.get("plan") {
            Some(sitemap) => sitemap,
            None => {
                progress
                    .report(5, "planning", "planning the sitemap")
                    .await?;
                let outcome = self.agents.plan(brief).await?;
                self.keep(job, Stage::Planning, "plan", outcome).await?
            }
        };
        let titles: Vec<&str> = sitemap.pages.iter().map(|p| p.title.as_str()).collect();
        let message = format!(
            "{}planned {} pages: {}",
            if stored.0.is_empty() { "" } else { "resumed; " },
            sitemap.pages.len(),
            titles.join(", ")
        );
        progress.report(15, "content", &message).await?;

        let design = async {
            if let Some(design) = stored.get::<Design>("design") {
                return Ok::<_, GenerationError>(design);
            }
            let input = DesignInput {
                brief: brief.clone(),
                sitemap: sitemap.clone(),
            };
            let outcome = self.agents.design(&input).await?;
            self.keep(job, Stage::Design, "design", outcome).await
        };
        let pages = self.write_pages(job, brief, &sitemap, &stored, progress);
        let (design, pages) = tokio::join!(design, pages);
        let design = design?;
        let (written, failed_pages) = pages?;
        let photos = self
            .choose_photos(job, brief, &sitemap, &written, &stored, progress)
            .await?;

        let plugins: PluginPlan = match stored.get("plugins") {
            Some(plan) => plan,
            None => {
                progress.report(88, "plugins", "choosing plugins").await?;
                let input = PluginInput {
                    brief: brief.clone(),
                    sitemap: sitemap.clone(),
                };
                let outcome = self.agents.plugins(&input).await?;
                self.keep(job, Stage::Plugins, "plugins", outcome).await?
            }
        };
        progress
            .report(95, "saving", "assembling the draft")
            .await?;
        Ok(assemble(
            brief.clone(),
            sitemap,
            design,
            written,
            plugins,
            failed_pages,
            photos,
        ))
    }

    /// The stock photos for the pages' pictures, when a photo source is
    /// set: searched once and stored as the `photos` stage, so a resumed
    /// job does not search again. A picture without a photo keeps its
    /// drawn image; nothing here fails the job (only losing the lease or
    /// the store does).
    async fn choose_photos<E: JobEventSink>(
        &self,
        job: JobRef,
        brief: &Brief,
        sitemap: &Sitemap,
        written: &HashMap<String, PageContent>,
        stored: &StoredStages,
        progress: &Progress<E>,
    ) -> Result<Vec<Photo>, GenerationError> {
        if let Some(photos) = stored.get::<Vec<Photo>>("photos") {
            return Ok(photos);
        }
        let Some(source) = &self.photos else {
            return Ok(Vec::new());
        };
        let wanted = photos::wanted(brief, sitemap, |slug| written.get(slug));
        progress
            .report(
                86,
                "photos",
                &format!("searching {} for {} pictures", source.name(), wanted.len()),
            )
            .await?;
        let mut chosen = source.choose(&wanted).await;
        for photo in &mut chosen {
            photo.language.clone_from(&brief.language);
        }
        self.save(job, "photos", &chosen).await?;
        progress
            .report(
                87,
                "photos",
                &format!(
                    "chose {} photos; {} pictures stay drawn",
                    chosen.len(),
                    wanted.len() - chosen.len().min(wanted.len())
                ),
            )
            .await?;
        Ok(chosen)
    }

    /// Writes every page of the sitemap, `page_concurrency` at once: the
    /// pages written, and those that failed with why. Fails if none could be written.
    async fn write_pages<E: JobEventSink>(
        &self,
        job: JobRef,
        brief: &Brief,
        sitemap: &Sitemap,
        stored: &StoredStages,
        progress: &Progress<E>,
    ) -> Result<(HashMap<String, PageContent>, Vec<PageFailure>), GenerationError> {
        let total = sitemap.pages.len().max(1);
        let done = AtomicUsize::new(0);
        let pages: Vec<_> = sitemap
            .pages
            .iter()
            .map(|plan| {
                let work = PageWork {
                    job,
                    brief,
                    sitemap,
                    plan,
                    stored: stored.get(&page_key(&plan.slug)),
                    done: &done,
                    total,
                    progress,
                };
                self.write_page(work).boxed()
            })
            .collect();
        let pages = stream::iter(pages)
            .buffer_unordered(self.page_concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        let mut written = HashMap::new();
        let mut failed_pages = Vec::new();
        for page in pages {
            match page? {
                (slug, Ok(content)) => {
                    written.insert(slug, content);
                }
                (slug, Err(reason)) => failed_pages.push(PageFailure { slug, reason }),
            }
        }
        if written.is_empty() {
            let reason = failed_pages
                .first()
                .map(|f| f.reason.clone())
                .unwrap_or_default();
            return Err(GenerationError::Invalid(format!(
                "no page could be written: {reason}"
            )));
        }
        Ok((written, failed_pages))
    }

    /// Writes one page (or takes it from storage), retrying once; a failure is
    /// returned as the page's reason, not as an error, so the rest carries on.
    async fn write_page<E: JobEventSink>(
        &self,
        work: PageWork<'_, E>,
    ) -> Result<(String, Result<PageContent, String>), GenerationError> {
        let PageWork {
            job,
            brief,
            sitemap,
            plan,
            stored,
            done,
            total,
            progress,
        } = work;
        if let Some(content) = stored {
            done.fetch_add(1, Ordering::Relaxed);
            return Ok((plan.slug.clone(), Ok(content)));
        }
        let input = ContentInput {
            brief: brief.clone(),
            sitemap: sitemap.clone(),
            slug: plan.slug.clone(),
            variant: 0,
            section: None,
        };
        let mut last = None;
        for _ in 0..PAGE_TRIES {
            match self.agents.page(&input).await {
                Ok(outcome) => {
                    self.record(job, Stage::Content, &outcome).await?;
                    self.save(job, &page_key(&plan.slug), &outcome.output)
                        .await?;
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    let pct = 15 + (70 * n / total) as i16;
                    progress
                        .report(pct, "content", &format!("wrote the {} page", plan.title))
                        .await?;
                    return Ok((plan.slug.clone(), Ok(outcome.output)));
                }
                Err(err) => {
                    let permanent = err.is_permanent();
                    last = Some(err);
                    if permanent {
                        break;
                    }
                }
            }
        }
        let reason = last.map(|e| e.to_string()).unwrap_or_default();
        let pct = 15 + (70 * done.load(Ordering::Relaxed) / total) as i16;
        progress
            .report(
                pct,
                "content",
                &format!("could not write the {} page: {reason}", plan.title),
            )
            .await?;
        Ok((plan.slug.clone(), Err(reason)))
    }

    async fn regenerate<E: JobEventSink>(
        &self,
        job: JobRef,
        site_id: Uuid,
        slug: &str,
        section: Option<usize>,
        progress: &Progress<E>,
    ) -> Result<SiteDraft, GenerationError> {
        let record = self
            .store
            .site_draft(job.user_id, site_id)
            .await?
            .ok_or_else(|| {
                GenerationError::Invalid("the site has no draft to regenerate".into())
            })?;
        let mut draft = SiteDraft::from_stored(record.draft)
            .map_err(|e| GenerationError::Invalid(e.to_string()))?;
        let at = match draft.pages.iter().position(|p| p.slug == slug) {
            Some(at) => at,
            None if section.is_none() && draft.failed_pages.iter().any(|f| f.slug == slug) => {
                return self.write_failed_page(job, draft, slug, progress).await;
            }
            None => {
                return Err(GenerationError::Invalid(format!(
                    "the draft has no page {slug:?}"
                )))
            }
        };
        let what = match section {
            Some(i) => format!("section {} of the {} page", i + 1, draft.pages[at].title),
            None => format!("the {} page", draft.pages[at].title),
        };
        progress
            .report(10, "content", &format!("rewriting {what}"))
            .await?;
        let variant = draft.pages[at].variant + 1;
        let input = ContentInput {
            brief: draft.brief.clone(),
            sitemap: draft.sitemap.clone(),
            slug: slug.to_owned(),
            variant,
            section,
        };
        let outcome = self.agents.page(&input).await?;
        self.record(job, Stage::Content, &outcome).await?;
        let page = &mut draft.pages[at];
        match section {
            None => page.content = outcome.output,
            Some(i) => {
                let fresh = outcome.output.sections.get(i).cloned().ok_or_else(|| {
                    GenerationError::Invalid(format!("the rewritten page has no section {}", i + 1))
                })?;
                let old = page.content.sections.get_mut(i).ok_or_else(|| {
                    GenerationError::Invalid(format!("the page has no section {}", i + 1))
                })?;
                *old = fresh;
            }
        }
        page.variant = variant;
        page.seo_title = page.content.seo_title.clone();
        page.meta_description = page.content.meta_description.clone();
        page.blocks = render_page(&page.slug, &page.content, &draft.sitemap, &draft.photos);
        progress
            .report(90, "saving", &format!("rewrote {what}"))
            .await?;
        Ok(draft)
    }
}

impl Orchestrator {
    /// Writes a page that failed during generation and puts it in its place in the draft.
    async fn write_failed_page<E: JobEventSink>(
        &self,
        job: JobRef,
        mut draft: SiteDraft,
        slug: &str,
        progress: &Progress<E>,
    ) -> Result<SiteDraft, GenerationError> {
        let plan =
            draft.sitemap.page(slug).cloned().ok_or_else(|| {
                GenerationError::Invalid(format!("the sitemap has no page {slug:?}"))
            })?;
        progress
            .report(10, "content", &format!("writing the {} page", plan.title))
            .await?;
        let input = ContentInput {
            brief: draft.brief.clone(),
            sitemap: draft.sitemap.clone(),
            slug: slug.to_owned(),
            variant: 0,
            section: None,
        };
        let outcome = self.agents.page(&input).await?;
        self.record(job, Stage::Content, &outcome).await?;
        let content = outcome.output;
        let page = DraftPage {
            slug: plan.slug.clone(),
            title: plan.title.clone(),
            parent: plan.parent.clone(),
            path: draft.sitemap.path(&plan.slug),
            seo_title: content.seo_title.clone(),
            meta_description: content.meta_description.clone(),
            blocks: render_page(&plan.slug, &content, &draft.sitemap, &draft.photos),
            content,
            variant: 0,
        };
        // Keep pages in sitemap order.
        let order = |s: &str| draft.sitemap.pages.iter().position(|p| p.slug == s);
        let at = draft
            .pages
            .iter()
            .position(|p| order(&p.slug) > order(slug))
            .unwrap_or(draft.pages.len());
        draft.pages.insert(at, page);
        draft.failed_pages.retain(|f| f.slug != slug);
        progress
            .report(90, "saving", &format!("wrote the {} page", plan.title))
            .await?;
        Ok(draft)
    }
}

/// The stage outputs a job stored before it stopped, by key ("plan",
/// "design", "page:{slug}", "photos", "plugins").
struct StoredStages(HashMap<String, Value>);

impl StoredStages {
    /// The output stored under `key`, if there is one and it still reads as a `T`.
    fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let value = self.0.get(key)?.clone();
        serde_json::from_value(value).ok()
    }
}

/// One page's share of a generation.
struct PageWork<'a, E> {
    job: JobRef,
    brief: &'a Brief,
    sitemap: &'a Sitemap,
    plan: &'a PagePlan,
    /// The page as a previous run of the job wrote it.
    stored: Option<PageContent>,
    done: &'a AtomicUsize,
    total: usize,
    progress: &'a Progress<E>,
}

/// Puts the stages' outputs together, pages in sitemap order, rendered to blocks.
pub fn assemble(
    brief: Brief,
    sitemap: Sitemap,
    design: Design,
    mut written: HashMap<String, PageContent>,
    plugins: PluginPlan,
    failed_pages: Vec<PageFailure>,
    photos: Vec<Photo>,
) -> SiteDraft {
    let pages = sitemap
        .pages
        .iter()
        .filter_map(|plan| {
            let content = written.remove(&plan.slug)?;
            Some(DraftPage {
                slug: plan.slug.clone(),
                title: plan.title.clone(),
                parent: plan.parent.clone(),
                path: sitemap.path(&plan.slug),
                seo_title: content.seo_title.clone(),
                meta_description: content.meta_description.clone(),
                blocks: render_page(&plan.slug, &content, &sitemap, &photos),
                content,
                variant: 0,
            })
        })
        .collect();
    SiteDraft {
        identity: crate::offline::identity(&brief),
        brief,
        sitemap,
        design,
        pages,
        plugins,
        failed_pages,
        photos,
    }
}

/// Generates a whole draft without storage or a job: the same agents and
/// concurrency, for previews, tests and benchmarks.
pub async fn generate_in_memory(
    agents: &Agents,
    brief: &Brief,
    page_concurrency: usize,
) -> Result<SiteDraft, ModelError> {
    let sitemap = agents.plan(brief).await?.output;
    let design_input = DesignInput {
        brief: brief.clone(),
        sitemap: sitemap.clone(),
    };
    let design = agents.design(&design_input);
    let pages = stream::iter(sitemap.pages.iter().map(|plan| {
        let input = ContentInput {
            brief: brief.clone(),
            sitemap: sitemap.clone(),
            slug: plan.slug.clone(),
            variant: 0,
            section: None,
        };
        async move { (plan.slug.clone(), agents.page(&input).await) }
    }))
    .buffer_unordered(page_concurrency.max(1))
    .collect::<Vec<_>>();
    let (design, pages) = tokio::join!(design, pages);
    let design = design?.output;
    let mut written = HashMap::new();
    let mut failed_pages = Vec::new();
    for (slug, page) in pages {
        match page {
            Ok(outcome) => {
                written.insert(slug, outcome.output);
            }
            Err(err) => failed_pages.push(PageFailure {
                slug,
                reason: err.to_string(),
            }),
        }
    }
    let plugins = agents
        .plugins(&PluginInput {
            brief: brief.clone(),
            sitemap: sitemap.clone(),
        })
        .await?
        .output;
    Ok(assemble(
        brief.clone(),
        sitemap,
        design,
        written,
        plugins,
        failed_pages,
        Vec::new(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offline::OfflineEngine;
    use crate::provider::ModelRoutes;
    use std::sync::atomic::AtomicUsize;

    /// Counts its searches and finds one photo per slot.
    #[derive(Default)]
    struct CountingSource(AtomicUsize);

    #[async_trait::async_trait]
    impl PhotoSource for CountingSource {
        fn name(&self) -> &'static str {
            "counting"
        }
        async fn choose(&self, wanted: &[photos::PhotoWanted]) -> Vec<Photo> {
            self.0.fetch_add(1, Ordering::SeqCst);
            wanted
                .iter()
                .take(1)
                .map(|w| Photo {
                    slot: w.slot.clone(),
                    provider: crate::draft::PhotoProvider::Unsplash,
                    id: "p1".into(),
                    image_url: "https://images.unsplash.com/photo-1".into(),
                    file: None,
                    alt: w.title.clone(),
                    photographer: "A".into(),
                    photographer_url: "https://unsplash.com/@a".into(),
                    provider_url: "https://unsplash.com/".into(),
                    language: None,
                })
                .collect()
        }
    }

    #[tokio::test]
    async fn a_resumed_job_takes_its_photos_from_the_stored_stage_without_searching() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store: Arc<dyn Store> = Arc::from(gsw_storage::connect(&url).await.unwrap());
        let source = Arc::new(CountingSource::default());
        let orchestrator = Orchestrator {
            store: store.clone(),
            agents: Agents {
                provider: Arc::new(OfflineEngine),
                routes: ModelRoutes {
                    small: "s".into(),
                    large: "l".into(),
                },
            },
            page_concurrency: 2,
            photos: Some(source.clone()),
        };
        let job = JobRef {
            job_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
        };
        let progress = Progress {
            store,
            events: (),
            job,
            worker: "w".into(),
        };
        let brief = Brief {
            business_name: "Velo".into(),
            business_type: "bicycle repair".into(),
            ..Default::default()
        };
        let sitemap = orchestrator.agents.plan(&brief).await.unwrap().output;
        let stored_photo = CountingSource::default()
            .choose(&[photos::PhotoWanted {
                slot: "images/hero-home.png".into(),
                query: "q".into(),
                title: "Stored".into(),
            }])
            .await;
        let stored = StoredStages(HashMap::from([(
            "photos".to_owned(),
            serde_json::to_value(&stored_photo).unwrap(),
        )]));
        let chosen = orchestrator
            .choose_photos(job, &brief, &sitemap, &HashMap::new(), &stored, &progress)
            .await
            .unwrap();
        assert_eq!(chosen, stored_photo);
        assert_eq!(source.0.load(Ordering::SeqCst), 0, "no search on resume");
    }
}
