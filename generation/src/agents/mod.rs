//! The four agents. Each has a typed input and output: it turns the input
//! into a [`ModelRequest`] whose tool schema is the output contract, and
//! checks (and where it safely can, repairs) what comes back before anyone
//! stores it ([`checks`]). The checks are what make every provider's output
//! safe to render: unique slugs, one hero per page, readable colours, catalog
//! plugins only.

use std::sync::Arc;

use gsw_storage::TokenCounts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::blocks::{META_DESCRIPTION_MAX, SEO_TITLE_MAX};
use crate::catalog;
use crate::draft::{Brief, Design, PageContent, PluginPlan, SectionKind, Sitemap};
use crate::provider::{ModelError, ModelProvider, ModelRequest, ModelRoutes, Stage, ToolSpec};
use checks::{check_design, check_page, check_plugins, check_sitemap};

pub mod checks;

/// The design agent's input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DesignInput {
    pub brief: Brief,
    pub sitemap: Sitemap,
}

/// The content agent's input: one page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContentInput {
    pub brief: Brief,
    pub sitemap: Sitemap,
    pub slug: String,
    /// 0 for the first version; regenerating asks for the next.
    pub variant: u32,
    /// When set, only this section (by index) is to be rewritten.
    pub section: Option<usize>,
}

/// The plugin agent's input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginInput {
    pub brief: Brief,
    pub sitemap: Sitemap,
}

/// An agent's checked output and what the call cost.
#[derive(Debug, Clone)]
pub struct Outcome<T> {
    pub output: T,
    pub tokens: TokenCounts,
    pub model: String,
    pub cached: bool,
}

/// The agents over one provider.
#[derive(Clone)]
pub struct Agents {
    pub provider: Arc<dyn ModelProvider>,
    pub routes: ModelRoutes,
}

const TRIES: u32 = 2;

impl Agents {
    /// Sends a request and checks the answer; a malformed answer is asked for once more.
    // The parts of one request, spelled out at each agent so each reads on its own.
    #[allow(clippy::too_many_arguments)]
    async fn call<T: DeserializeOwned>(
        &self,
        stage: Stage,
        system: &str,
        prompt: String,
        tool: ToolSpec,
        input: Value,
        max_tokens: u32,
        check: impl Fn(T) -> Result<T, String>,
    ) -> Result<Outcome<T>, ModelError> {
        let request = ModelRequest {
            stage,
            model: self.routes.model_for(stage).to_owned(),
            system: system.to_owned(),
            prompt,
            tool,
            input,
            max_tokens,
        };
        let mut tokens = TokenCounts::default();
        let mut last = String::new();
        for _ in 0..TRIES {
            let reply = self.provider.generate(&request).await?;
            tokens += reply.tokens;
            let checked = serde_json::from_value::<T>(reply.output)
                .map_err(|e| format!("does not match the schema: {e}"))
                .and_then(&check);
            match checked {
                Ok(output) => {
                    return Ok(Outcome {
                        output,
                        tokens,
                        model: reply.model,
                        cached: reply.cached,
                    })
                }
                Err(why) => {
                    // A cached bad answer would come back on every retry.
                    self.provider.reject(&request).await;
                    last = why;
                }
            }
        }
        Err(ModelError::Malformed(format!(
            "{} output {last}",
            stage.as_str()
        )))
    }

    /// Planning: the sitemap.
    pub async fn plan(&self, brief: &Brief) -> Result<Outcome<Sitemap>, ModelError> {
        let prompt = format!(
            "Plan the website of this business.\n\n{}",
            serde_json::to_string_pretty(brief).unwrap_or_default()
        );
        self.call(
            Stage::Planning,
            PLANNING_SYSTEM,
            prompt,
            tool(
                "record_sitemap",
                "Record the site's sitemap.",
                sitemap_schema(),
            ),
            json!(brief),
            4096,
            check_sitemap,
        )
        .await
    }

    /// Design: theme, palette and fonts.
    pub async fn design(&self, input: &DesignInput) -> Result<Outcome<Design>, ModelError> {
        let prompt = format!(
            "Design the website of this business.\n\n{}",
            serde_json::to_string_pretty(&input.brief).unwrap_or_default()
        );
        self.call(
            Stage::Design,
            &format!(
                "{DESIGN_SYSTEM} Choose both fonts from the families the site can ship: {}.",
                crate::fonts::FAMILIES
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            prompt,
            tool(
                "record_design",
                "Record the site's design.",
                design_schema(),
            ),
            json!(input),
            2048,
            |design: Design| Ok(check_design(design)),
        )
        .await
    }

    /// Content: one page, or one section of it.
    pub async fn page(&self, input: &ContentInput) -> Result<Outcome<PageContent>, ModelError> {
        let page = input
            .sitemap
            .page(&input.slug)
            .ok_or_else(|| {
                ModelError::Malformed(format!("no page {:?} in the sitemap", input.slug))
            })?
            .clone();
        let mut prompt = format!(
            "Write the page \"{}\" (slug `{}`) of this business's website.\n\nBusiness:\n{}\n\nPage plan:\n{}\n\nOther pages you may link to (by slug): {}\n",
            page.title,
            page.slug,
            serde_json::to_string_pretty(&input.brief).unwrap_or_default(),
            serde_json::to_string_pretty(&page).unwrap_or_default(),
            input.sitemap.pages.iter().map(|p| p.slug.as_str()).collect::<Vec<_>>().join(", "),
        );
        if input.variant > 0 {
            prompt.push_str(&format!(
                "\nThis is rewrite number {}: say it differently from before.\n",
                input.variant
            ));
        }
        if let Some(section) = input.section {
            prompt.push_str(&format!(
                "\nOnly section number {} is being rewritten; return the whole page.\n",
                section + 1
            ));
        }
        let brief = input.brief.clone();
        let sitemap = input.sitemap.clone();
        self.call(
            Stage::Content,
            CONTENT_SYSTEM,
            prompt,
            tool("record_page", "Record the page's content.", page_schema()),
            json!(input),
            8192,
            move |content: PageContent| check_page(content, &page, &brief, &sitemap),
        )
        .await
    }

    /// Plugins: chosen from the catalog for the goals.
    pub async fn plugins(&self, input: &PluginInput) -> Result<Outcome<PluginPlan>, ModelError> {
        let catalog: Vec<Value> = catalog::CATALOG
            .iter()
            .map(|p| json!({"slug": p.slug, "name": p.name, "category": p.category, "for": p.what_for}))
            .collect();
        let prompt = format!(
            "Choose plugins for this business's website from the catalog.\n\nBusiness:\n{}\n\nCatalog:\n{}",
            serde_json::to_string_pretty(&input.brief).unwrap_or_default(),
            serde_json::to_string_pretty(&catalog).unwrap_or_default(),
        );
        let name = input.brief.business_name.clone();
        self.call(
            Stage::Plugins,
            PLUGIN_SYSTEM,
            prompt,
            tool(
                "record_plugins",
                "Record the chosen plugins.",
                plugins_schema(),
            ),
            json!(input),
            2048,
            move |plan: PluginPlan| Ok(check_plugins(plan, &name)),
        )
        .await
    }
}

fn tool(name: &str, description: &str, input_schema: Value) -> ToolSpec {
    ToolSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        input_schema,
    }
}

const PLANNING_SYSTEM: &str = "You are the information architect of gsWstudio, which builds WordPress sites for small businesses. \
Plan a sitemap fitted to the business type and its goals: a home page first (slug `home`), a contact page, a page for what the business offers, \
and pages the goals need (booking, shop, events, donations…). Child pages name their parent's slug. Give every page its purpose and an ordered list \
of sections; the first section of every page is a `hero`. Slugs are lower-case ASCII words joined by hyphens; page titles are in the site's language \
(the brief's `language`, a BCP 47 tag; English when it is absent). Answer only by calling the tool.";

const DESIGN_SYSTEM: &str = "You are the designer of gsWstudio. Choose a WordPress block theme, a colour palette and a heading/body font pairing \
that fit the business. Text colours must meet WCAG AA (4.5:1) on the backgrounds they are used on: `contrast` on `base` and on `secondary`, \
`primary` on `base`, `on_primary` on `primary`. Colours are #rrggbb. Answer only by calling the tool.";

const CONTENT_SYSTEM: &str = "You are the copywriter of gsWstudio. Write one page of a small business's website as structured sections, never HTML. \
Write every word a visitor reads in the site's language (the brief's `language`, a BCP 47 tag; English when it is absent). \
Write for this business only: use its name, its place, its services and its goals; never filler, never placeholder text, never invented prices, \
phone numbers, addresses, opening hours, awards or testimonials: contact details and hours only as the brief gives them. \
Never promise a form, calendar, shop or chat on the page: the site shows those only when their plugin is installed. The first section is the page's only `hero` (its heading is the page's H1). \
Links point to other pages of the site by slug. The SEO title is at most 60 characters, the meta description at most 156. Answer only by calling the tool.";

const PLUGIN_SYSTEM: &str = "You are the WordPress engineer of gsWstudio. From the catalog only, choose the plugins this site needs for its goals \
(SEO, forms, caching, shop, booking, newsletter…), each with the reason in one sentence and its starting settings. Answer only by calling the tool.";

fn sitemap_schema() -> Value {
    let kinds: Vec<&str> = SectionKind::ALL.iter().map(|k| k.as_str()).collect();
    json!({
        "type": "object",
        "required": ["pages", "navigation"],
        "properties": {
            "pages": {"type": "array", "minItems": 1, "maxItems": 12, "items": {
                "type": "object",
                "required": ["slug", "title", "purpose", "sections"],
                "properties": {
                    "slug": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
                    "title": {"type": "string"},
                    "parent": {"type": ["string", "null"]},
                    "purpose": {"type": "string"},
                    "sections": {"type": "array", "minItems": 1, "items": {
                        "type": "object",
                        "required": ["kind", "intent"],
                        "properties": {"kind": {"enum": kinds}, "intent": {"type": "string"}}
                    }}
                }
            }},
            "navigation": {"type": "array", "items": {"type": "string"}}
        }
    })
}

fn design_schema() -> Value {
    let colour = json!({"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"});
    json!({
        "type": "object",
        "required": ["theme", "style", "palette", "fonts"],
        "properties": {
            "theme": {"type": "string"},
            "style": {"type": "string"},
            "palette": {"type": "object",
                "required": ["base", "contrast", "primary", "on_primary", "secondary", "accent"],
                "properties": {"base": colour, "contrast": colour, "primary": colour, "on_primary": colour, "secondary": colour, "accent": colour}},
            "fonts": {"type": "object", "required": ["heading", "body"],
                "properties": {"heading": {"type": "string"}, "body": {"type": "string"}}}
        }
    })
}

fn page_schema() -> Value {
    let kinds: Vec<&str> = SectionKind::ALL.iter().map(|k| k.as_str()).collect();
    json!({
        "type": "object",
        "required": ["seo_title", "meta_description", "sections"],
        "properties": {
            "seo_title": {"type": "string", "maxLength": SEO_TITLE_MAX},
            "meta_description": {"type": "string", "maxLength": META_DESCRIPTION_MAX},
            "sections": {"type": "array", "minItems": 1, "items": {
                "type": "object",
                "required": ["kind", "heading"],
                "properties": {
                    "kind": {"enum": kinds},
                    "heading": {"type": "string"},
                    "paragraphs": {"type": "array", "items": {"type": "string"}},
                    "items": {"type": "array", "items": {"type": "object", "required": ["title", "text"],
                        "properties": {"title": {"type": "string"}, "text": {"type": "string"}}}},
                    "link": {"type": ["object", "null"], "required": ["label", "slug"],
                        "properties": {"label": {"type": "string"}, "slug": {"type": "string"}}}
                }
            }}
        }
    })
}

fn plugins_schema() -> Value {
    let slugs: Vec<&str> = catalog::CATALOG.iter().map(|p| p.slug).collect();
    json!({
        "type": "object",
        "required": ["plugins"],
        "properties": {"plugins": {"type": "array", "items": {
            "type": "object",
            "required": ["slug", "reason", "settings"],
            "properties": {
                "slug": {"enum": slugs},
                "name": {"type": "string"},
                "category": {"type": "string"},
                "reason": {"type": "string"},
                "settings": {"type": "object"}
            }
        }}}
    })
}
