//! The offline engine: the embedded default when no API key is set. It
//! answers the same structured requests as a language model, deterministically,
//! from the business's own details: its name, type, place, services, audience
//! and goals, drawn from the brief. A business type picks a profile (pages,
//! palette, fonts, wording), which the brief's style preferences adjust;
//! everything a visitor reads names this business.
//!
//! One module a concern: `facts` reads the brief, `profiles` holds the
//! per-business-type table (`profiles.toml`), `style` reads style
//! preferences, `wording` builds phrases and sentences; `sitemap`, `design`,
//! `page` and `plugins` answer the four stages.

use async_trait::async_trait;
use gsw_storage::TokenCounts;
use serde_json::Value;

use crate::agents::{ContentInput, DesignInput, PluginInput};
use crate::draft::Brief;
use crate::provider::{ModelError, ModelProvider, ModelReply, ModelRequest, Stage};
use facts::Facts;

mod design;
mod facts;
mod page;
mod plugins;
mod profiles;
mod sitemap;
mod style;
mod wording;

/// The offline engine.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineEngine;

#[async_trait]
impl ModelProvider for OfflineEngine {
    fn name(&self) -> &'static str {
        "offline"
    }

    async fn generate(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        let output = answer(request.stage, &request.input)?;
        Ok(ModelReply {
            output,
            tokens: TokenCounts::default(),
            model: "offline".into(),
            cached: false,
        })
    }
}

/// The schema.org type of a business's structured data.
pub fn schema_type(brief: &Brief) -> &'static str {
    &Facts::of(brief).profile.schema_type
}

/// One line under the site title: what the business is, and where when the
/// description says.
pub fn tagline(brief: &Brief) -> String {
    let facts = Facts::of(brief);
    let kind = brief.business_type.trim();
    let mut line: String = kind.chars().take(1).flat_map(char::to_uppercase).collect();
    line.push_str(&kind.chars().skip(1).collect::<String>());
    match &facts.place {
        Some(place) => format!("{line} in {place}"),
        None => line,
    }
}

/// Answers one request, synchronously.
pub fn answer(stage: Stage, input: &Value) -> Result<Value, ModelError> {
    let bad = |e: serde_json::Error| {
        ModelError::Malformed(format!("offline {} input: {e}", stage.as_str()))
    };
    let output = match stage {
        Stage::Planning => {
            let brief: Brief = serde_json::from_value(input.clone()).map_err(bad)?;
            serde_json::to_value(sitemap::plan(&Facts::of(&brief)))
        }
        Stage::Design => {
            let input: DesignInput = serde_json::from_value(input.clone()).map_err(bad)?;
            serde_json::to_value(design::design(&Facts::of(&input.brief)))
        }
        Stage::Content => {
            let input: ContentInput = serde_json::from_value(input.clone()).map_err(bad)?;
            let page = input.sitemap.page(&input.slug).ok_or_else(|| {
                ModelError::Malformed(format!("no page {:?} in the sitemap", input.slug))
            })?;
            serde_json::to_value(page::write_page(
                &Facts::of(&input.brief),
                &input.sitemap,
                page,
                input.variant,
            ))
        }
        Stage::Plugins => {
            let input: PluginInput = serde_json::from_value(input.clone()).map_err(bad)?;
            serde_json::to_value(plugins::plugins(&Facts::of(&input.brief)))
        }
    };
    output.map_err(|e| ModelError::Malformed(e.to_string()))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::agents::Agents;
    use crate::blocks::{META_DESCRIPTION_MAX, SEO_TITLE_MAX};
    use crate::contrast;
    use crate::orchestrator::generate_in_memory;
    use crate::provider::ModelRoutes;

    fn agents() -> Agents {
        Agents {
            provider: Arc::new(OfflineEngine),
            routes: ModelRoutes {
                small: "small".into(),
                large: "large".into(),
            },
        }
    }

    pub(crate) fn bakery() -> Brief {
        Brief {
            business_name: "Maison Lune".into(),
            business_type: "Bakery".into(),
            description: "A family bakery in Lyon making sourdough bread, croissants and celebration cakes for busy families. Everything is baked before dawn with organic French flour.".into(),
            goals: vec!["Take online orders for collection".into(), "Be found on Google".into()],
            style: None,
            ..Default::default()
        }
    }

    /// Headings of a page, as levels, in order.
    fn heading_levels(blocks: &str) -> Vec<u8> {
        blocks
            .match_indices("<h")
            .filter_map(|(at, _)| {
                blocks[at + 2..]
                    .chars()
                    .next()?
                    .to_digit(10)
                    .map(|d| d as u8)
            })
            .collect()
    }

    #[tokio::test]
    async fn a_bakery_gets_a_specific_complete_site() {
        let brief = bakery();
        let draft = generate_in_memory(&agents(), &brief, 4).await.unwrap();
        assert!(draft.failed_pages.is_empty());
        let slugs: Vec<&str> = draft.pages.iter().map(|p| p.slug.as_str()).collect();
        assert_eq!(
            slugs,
            [
                "home",
                "menu",
                "sourdough-bread",
                "croissants",
                "celebration-cakes",
                "shop",
                "about",
                "faq",
                "contact"
            ]
        );
        let cakes = draft
            .pages
            .iter()
            .find(|p| p.slug == "celebration-cakes")
            .unwrap();
        assert_eq!(cakes.parent.as_deref(), Some("menu"));
        assert_eq!(cakes.path, "/menu/celebration-cakes/");
        for page in &draft.pages {
            let levels = heading_levels(&page.blocks);
            assert_eq!(
                levels.iter().filter(|l| **l == 1).count(),
                1,
                "{}",
                page.slug
            );
            assert_eq!(levels[0], 1);
            for pair in levels.windows(2) {
                assert!(
                    pair[1] <= pair[0] + 1,
                    "{} skips a heading level: {levels:?}",
                    page.slug
                );
            }
            assert!(
                page.seo_title.chars().count() <= SEO_TITLE_MAX,
                "{}",
                page.seo_title
            );
            assert!(page.meta_description.chars().count() <= META_DESCRIPTION_MAX);
            assert!(
                page.blocks.contains("href=\"#gsw-page="),
                "{} has no internal link",
                page.slug
            );
            assert!(
                page.blocks.contains("Maison Lune"),
                "{} does not name the business",
                page.slug
            );
            assert!(!page.blocks.to_lowercase().contains("lorem"));
        }
        let home = &draft.pages[0];
        assert!(home.blocks.contains("Lyon"));
        assert!(home.blocks.contains("href=\"#gsw-page=shop\""));
        assert!(home.seo_title.starts_with("Maison Lune"));
        assert!(contrast::meets_aa(&draft.design.palette));
        let plugins: Vec<&str> = draft
            .plugins
            .plugins
            .iter()
            .map(|p| p.slug.as_str())
            .collect();
        assert!(plugins.contains(&"woocommerce"), "{plugins:?}");
        assert!(plugins.contains(&"wordpress-seo"));
        let shop = draft
            .plugins
            .plugins
            .iter()
            .find(|p| p.slug == "woocommerce")
            .unwrap();
        assert!(
            shop.reason.contains("Take online orders"),
            "{}",
            shop.reason
        );

        // Deterministic: the same brief gives the same draft.
        assert_eq!(
            generate_in_memory(&agents(), &brief, 2).await.unwrap(),
            draft
        );
    }

    #[tokio::test]
    async fn business_types_shape_the_site() {
        let brief = Brief {
            business_name: "Clearwater Dental".into(),
            business_type: "dental clinic".into(),
            description: "Family dentist in Bristol.".into(),
            goals: vec!["Online appointment booking".into()],
            style: None,
            ..Default::default()
        };
        let draft = generate_in_memory(&agents(), &brief, 4).await.unwrap();
        assert!(draft.sitemap.page("book").is_some());
        assert!(draft.sitemap.page("services").is_some());
        assert!(draft
            .plugins
            .plugins
            .iter()
            .any(|p| p.slug == "simply-schedule-appointments"));
        assert_eq!(draft.design.palette.primary, "#0b6477");
        assert!(draft.pages[0].blocks.contains("Clearwater Dental"));
    }
}
