//! The four agents. Each has a typed input and output: it turns the input
//! into a [`ModelRequest`] whose tool schema is the output contract, and
//! checks (and where it safely can, repairs) what comes back before anyone
//! stores it. The checks are what make every provider's output safe to
//! render: unique slugs, one hero per page, readable colours, catalog plugins only.

use std::collections::HashSet;
use std::sync::Arc;

use gsw_storage::TokenCounts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::blocks::{clip, META_DESCRIPTION_MAX, SEO_TITLE_MAX};
use crate::catalog;
use crate::contrast;
use crate::draft::{
    Brief, Design, Link, PageContent, PagePlan, PluginChoice, PluginPlan, SectionKind, SectionPlan,
    Sitemap,
};
use crate::provider::{ModelError, ModelProvider, ModelRequest, ModelRoutes, Stage, ToolSpec};

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
            DESIGN_SYSTEM,
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
of sections; the first section of every page is a `hero`. Slugs are lower-case words joined by hyphens. Answer only by calling the tool.";

const DESIGN_SYSTEM: &str = "You are the designer of gsWstudio. Choose a WordPress block theme, a colour palette and a heading/body font pairing \
that fit the business. Text colours must meet WCAG AA (4.5:1) on the backgrounds they are used on: `contrast` on `base` and on `secondary`, \
`primary` on `base`, `on_primary` on `primary`. Colours are #rrggbb. Answer only by calling the tool.";

const CONTENT_SYSTEM: &str = "You are the copywriter of gsWstudio. Write one page of a small business's website as structured sections, never HTML. \
Write for this business only: use its name, its place, its services and its goals; never filler, never placeholder text, never invented prices, \
phone numbers, addresses, awards or testimonials. The first section is the page's only `hero` (its heading is the page's H1). \
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

/// Lower-case words joined by hyphens.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-')
        .chars()
        .take(60)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// Makes a sitemap safe to build on: unique slugs, home first, a contact
/// page, real parents, a hero first on every page, navigation of real pages.
pub fn check_sitemap(mut sitemap: Sitemap) -> Result<Sitemap, String> {
    let mut seen = HashSet::new();
    sitemap.pages.truncate(12);
    for page in &mut sitemap.pages {
        page.slug = slugify(&page.slug);
        if page.slug.is_empty() {
            page.slug = slugify(&page.title);
        }
        if page.slug.is_empty() || !seen.insert(page.slug.clone()) {
            return Err(format!(
                "page {:?} has an empty or repeated slug",
                page.title
            ));
        }
        if page.title.trim().is_empty() {
            return Err(format!("page {} has no title", page.slug));
        }
        if !page
            .sections
            .first()
            .is_some_and(|s| s.kind == SectionKind::Hero)
        {
            page.sections.insert(
                0,
                SectionPlan {
                    kind: SectionKind::Hero,
                    intent: page.purpose.clone(),
                },
            );
        }
        for section in page.sections.iter_mut().skip(1) {
            if section.kind == SectionKind::Hero {
                section.kind = SectionKind::Text;
            }
        }
    }
    match sitemap.pages.iter().position(|p| p.slug == "home") {
        Some(0) => {}
        Some(at) => {
            let home = sitemap.pages.remove(at);
            sitemap.pages.insert(0, home);
        }
        // The model named the front page something else: the first page is it.
        None => match sitemap.pages.first_mut() {
            Some(first) => {
                let old = std::mem::replace(&mut first.slug, "home".into());
                seen.remove(&old);
                seen.insert("home".into());
                for page in &mut sitemap.pages {
                    if page.parent.as_deref() == Some(old.as_str()) {
                        page.parent = Some("home".into());
                    }
                }
                for slug in &mut sitemap.navigation {
                    if *slug == old {
                        *slug = "home".into();
                    }
                }
            }
            None => return Err("the sitemap has no pages".into()),
        },
    }
    if !seen.contains("contact") {
        sitemap.pages.push(PagePlan {
            slug: "contact".into(),
            title: "Contact".into(),
            parent: None,
            purpose: "Make it easy to get in touch.".into(),
            sections: vec![
                SectionPlan {
                    kind: SectionKind::Hero,
                    intent: "Invite the visitor to get in touch.".into(),
                },
                SectionPlan {
                    kind: SectionKind::Contact,
                    intent: "How to reach the business.".into(),
                },
            ],
        });
        seen.insert("contact".into());
    }
    for page in &mut sitemap.pages {
        let parent_ok = page
            .parent
            .as_ref()
            .is_some_and(|p| *p != page.slug && seen.contains(p.as_str()));
        if !parent_ok {
            page.parent = None;
        }
    }
    sitemap
        .navigation
        .retain(|slug| seen.contains(slug.as_str()));
    sitemap.navigation.dedup();
    if sitemap.navigation.is_empty() {
        sitemap.navigation = sitemap
            .pages
            .iter()
            .filter(|p| p.parent.is_none())
            .map(|p| p.slug.clone())
            .collect();
    }
    Ok(sitemap)
}

/// Makes a design usable: readable colours, a theme and fonts.
pub fn check_design(mut design: Design) -> Design {
    contrast::make_readable(&mut design.palette);
    if design.theme.trim().is_empty() {
        design.theme = "twentytwentythree".into();
    }
    if design.fonts.heading.trim().is_empty() {
        design.fonts.heading = "System Sans-serif".into();
    }
    if design.fonts.body.trim().is_empty() {
        design.fonts.body = "System Sans-serif".into();
    }
    design
}

/// Checks a page: real text, one hero first, titles that fit, links to real pages, at least one internal link.
pub fn check_page(
    mut content: PageContent,
    page: &PagePlan,
    brief: &Brief,
    sitemap: &Sitemap,
) -> Result<PageContent, String> {
    if content.sections.is_empty() {
        return Err("has no sections".into());
    }
    let text = serde_json::to_string(&content)
        .unwrap_or_default()
        .to_lowercase();
    for filler in [
        "lorem ipsum",
        "dolor sit amet",
        "[your ",
        "your business name",
        "insert ",
    ] {
        if text.contains(filler) {
            return Err(format!("contains placeholder text ({filler:?})"));
        }
    }
    for (index, section) in content.sections.iter_mut().enumerate() {
        if section.heading.trim().is_empty() {
            return Err(format!("section {} has no heading", index + 1));
        }
        match (index, section.kind) {
            (0, _) => section.kind = SectionKind::Hero,
            (_, SectionKind::Hero) => section.kind = SectionKind::Text,
            _ => {}
        }
        section.items.retain(|i| !i.title.trim().is_empty());
        if section
            .link
            .as_ref()
            .is_some_and(|l| sitemap.page(&l.slug).is_none() || l.slug == page.slug)
        {
            section.link = None;
        }
    }
    if content.sections.iter().all(|s| s.link.is_none()) {
        let (slug, label) = if page.slug == "contact" {
            ("home", format!("Back to {}", brief.business_name))
        } else {
            ("contact", format!("Contact {}", brief.business_name))
        };
        if let Some(last) = content.sections.last_mut() {
            last.link = Some(Link {
                label: clip(&label, 60),
                slug: slug.into(),
            });
        }
    }
    if content.seo_title.trim().is_empty() {
        content.seo_title = format!("{} | {}", page.title, brief.business_name);
    }
    content.seo_title = clip(&content.seo_title, SEO_TITLE_MAX);
    if content.meta_description.trim().is_empty() {
        content.meta_description = page.purpose.clone();
    }
    content.meta_description = clip(&content.meta_description, META_DESCRIPTION_MAX);
    Ok(content)
}

/// Keeps catalog plugins only (once each), fills names from the catalog,
/// and adds the essentials every site gets.
pub fn check_plugins(plan: PluginPlan, business_name: &str) -> PluginPlan {
    let mut seen = HashSet::new();
    let mut plugins = Vec::new();
    for choice in plan.plugins {
        let Some(entry) = catalog::find(&choice.slug) else {
            continue;
        };
        if !seen.insert(entry.slug) {
            continue;
        }
        let settings = if choice.settings.is_object() {
            choice.settings
        } else {
            catalog::default_settings(entry, business_name)
        };
        plugins.push(PluginChoice {
            slug: entry.slug.into(),
            name: entry.name.into(),
            category: entry.category.into(),
            reason: choice.reason,
            settings,
        });
    }
    for entry in catalog::CATALOG.iter().filter(|p| p.essential) {
        if seen.insert(entry.slug) {
            plugins.push(PluginChoice {
                slug: entry.slug.into(),
                name: entry.name.into(),
                category: entry.category.into(),
                reason: format!("Every site needs {}.", entry.what_for),
                settings: catalog::default_settings(entry, business_name),
            });
        }
    }
    PluginPlan { plugins }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draft::Section;

    fn plan(slug: &str, parent: Option<&str>, kinds: &[SectionKind]) -> PagePlan {
        PagePlan {
            slug: slug.into(),
            title: slug.to_uppercase(),
            parent: parent.map(Into::into),
            purpose: format!("The {slug} page."),
            sections: kinds
                .iter()
                .map(|k| SectionPlan {
                    kind: *k,
                    intent: "x".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn sitemaps_are_repaired_or_refused() {
        let sitemap = Sitemap {
            pages: vec![
                plan("Start Here", None, &[SectionKind::Text, SectionKind::Hero]),
                plan("services", Some("start-here"), &[SectionKind::Hero]),
                plan("team", Some("nowhere"), &[SectionKind::Hero]),
            ],
            navigation: vec!["start-here".into(), "ghost".into(), "services".into()],
        };
        let fixed = check_sitemap(sitemap).unwrap();
        let slugs: Vec<&str> = fixed.pages.iter().map(|p| p.slug.as_str()).collect();
        assert_eq!(slugs, ["home", "services", "team", "contact"]);
        assert_eq!(fixed.pages[1].parent.as_deref(), Some("home"));
        assert_eq!(fixed.pages[2].parent, None);
        assert_eq!(fixed.navigation, ["home", "services"]);
        let kinds: Vec<SectionKind> = fixed.pages[0].sections.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [SectionKind::Hero, SectionKind::Text, SectionKind::Text]
        );

        let twice = Sitemap {
            pages: vec![plan("home", None, &[]), plan("Home", None, &[])],
            navigation: vec![],
        };
        assert!(check_sitemap(twice).is_err());
    }

    #[test]
    fn pages_with_filler_are_refused_and_links_kept_inside_the_site() {
        let brief = Brief {
            business_name: "Maison Lune".into(),
            business_type: "bakery".into(),
            description: "A bakery.".into(),
            goals: vec!["Sell".into()],
            style: None,
        };
        let sitemap = Sitemap {
            pages: vec![plan("home", None, &[]), plan("contact", None, &[])],
            navigation: vec![],
        };
        let section = |kind, heading: &str, link: Option<&str>| Section {
            kind,
            heading: heading.into(),
            paragraphs: vec!["Fresh bread daily.".into()],
            items: vec![],
            link: link.map(|slug| Link {
                label: "Go".into(),
                slug: slug.into(),
            }),
        };
        let page = PageContent {
            seo_title:
                "Maison Lune, the bakery of the Croix-Rousse in Lyon, since 1998 and for ever"
                    .into(),
            meta_description: String::new(),
            sections: vec![
                section(SectionKind::Text, "Welcome", Some("https://evil.example")),
                section(SectionKind::Hero, "Second hero", None),
            ],
        };
        let checked = check_page(page.clone(), &sitemap.pages[0], &brief, &sitemap).unwrap();
        assert_eq!(checked.sections[0].kind, SectionKind::Hero);
        assert_eq!(checked.sections[1].kind, SectionKind::Text);
        assert_eq!(checked.sections[0].link, None);
        assert_eq!(
            checked.sections[1].link.as_ref().map(|l| l.slug.as_str()),
            Some("contact")
        );
        assert!(checked.seo_title.chars().count() <= SEO_TITLE_MAX);
        assert_eq!(checked.meta_description, "The home page.");

        let mut filler = page;
        filler.sections[0].paragraphs = vec!["Lorem ipsum dolor sit amet.".into()];
        assert!(check_page(filler, &sitemap.pages[0], &brief, &sitemap).is_err());
    }
}
