//! The offline engine: the embedded default when no API key is set. It
//! answers the same structured requests as a language model, deterministically,
//! from the business's own details: its name, type, place, services, audience,
//! goals and contact details, drawn from the brief. The business type picks
//! one of the types in `profiles.toml` (audience, usual services, offer page,
//! schema.org type) and its family (palette, fonts, first-visit steps), which
//! the brief's style preferences adjust. The engine writes in the brief's
//! language (English, Dutch, French, German or Spanish; English otherwise),
//! and everything a visitor reads names this business and claims nothing
//! about it that the brief does not say.
//!
//! One module a concern: `facts` reads the brief, `profiles` holds the
//! business types (`profiles.toml`), `phrases` the engine's own words per
//! language (`phrases.toml`), `style` reads style preferences, `wording`
//! fills phrases with the business's details; `sitemap`, `design`, `page`
//! and `plugins` answer the four stages.

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
mod phrases;
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

/// A site's whole identity: the details its brief gives
/// ([`crate::identity::details`]), with the tagline and schema.org type of
/// its business type.
pub fn identity(brief: &Brief) -> crate::draft::Identity {
    let mut identity = crate::identity::details(brief);
    identity.tagline = tagline(brief);
    identity.schema_type = schema_type(brief).to_owned();
    identity
}

/// The schema.org type of a business's structured data.
pub fn schema_type(brief: &Brief) -> &'static str {
    &Facts::of(brief).business.schema_type
}

/// One line under the site title, in the site's language: what the
/// business is (its type as the user wrote it), and where when the
/// description says.
pub fn tagline(brief: &Brief) -> String {
    let facts = Facts::of(brief);
    let words = facts.words;
    let template = match facts.place {
        Some(_) => &words.tagline_place,
        None => &words.tagline,
    };
    facts.say(
        template,
        &[("Kind", &wording::capitalise(brief.business_type.trim()))],
    )
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

    /// Everything the engine wrote on each page, by slug: titles, headings,
    /// paragraphs, items and button labels.
    fn texts(draft: &crate::draft::SiteDraft) -> Vec<(String, Vec<String>)> {
        draft
            .pages
            .iter()
            .map(|page| {
                let mut out = vec![
                    page.title.clone(),
                    page.seo_title.clone(),
                    page.meta_description.clone(),
                ];
                for section in &page.content.sections {
                    out.push(section.heading.clone());
                    out.extend(section.paragraphs.iter().cloned());
                    for item in &section.items {
                        out.push(item.title.clone());
                        out.push(item.text.clone());
                    }
                    out.extend(section.link.iter().map(|l| l.label.clone()));
                }
                (page.slug.clone(), out)
            })
            .collect()
    }

    fn all_text(draft: &crate::draft::SiteDraft) -> String {
        texts(draft)
            .into_iter()
            .flat_map(|(_, t)| t)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Claims no business type implies: only a brief could say them.
    const UNSUPPORTED: &[&str] = &[
        "tidy",
        "years of experience",
        "award",
        "guarantee",
        "not a robot",
        "day or night",
        "no obligation",
        "under a minute",
        "by heart",
        "what it costs",
        "delivered",
        "lorem",
    ];

    fn velo_vandaag() -> Brief {
        Brief {
            business_name: "Velo Vandaag".into(),
            business_type: "bicycle repair workshop".into(),
            description:
                "A bicycle repair workshop in Ghent run by two mechanics, open Tuesday to Saturday"
                    .into(),
            goals: vec!["Generate consultation requests".into()],
            style: Some("Warm orange".into()),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn the_bicycle_workshop_gets_a_bicycle_site() {
        let brief = velo_vandaag();
        let draft = generate_in_memory(&agents(), &brief, 4).await.unwrap();
        assert_eq!(schema_type(&brief), "BicycleStore");
        assert_eq!(draft.identity.schema_type, "BicycleStore");
        let repairs = draft.sitemap.page("repairs").expect("a repairs page");
        assert_eq!(repairs.title, "Repairs");
        assert_eq!(draft.sitemap.navigation[1], "repairs");
        let text = all_text(&draft);
        let lower = text.to_lowercase();
        for foreign in [
            "installation",
            "homeowner",
            "landlord",
            "tidy",
            "generateing",
        ] {
            assert!(!lower.contains(foreign), "{foreign:?} in:\n{text}");
        }
        assert!(text.contains("Bicycle repairs"), "{text}");
        assert!(text.contains("cyclists"), "{text}");
        let home = &texts(&draft)[0].1;
        assert!(home.iter().any(|t| t.contains("Ghent")), "{home:?}");
        let contact = texts(&draft)
            .into_iter()
            .find(|(s, _)| s == "contact")
            .unwrap()
            .1;
        assert!(
            contact.iter().any(|t| t == "Open Tuesday to Saturday."),
            "{contact:?}"
        );
        assert!(lower.contains("generating consultation requests"), "{text}");
        assert_eq!(tagline(&brief), "Bicycle repair workshop in Ghent");
    }

    /// A business type, the words its site must use and those of other types it must not.
    struct Case {
        kind: &'static str,
        description: &'static str,
        /// Its schema.org type.
        schema: &'static str,
        own: &'static [&'static str],
        foreign: &'static [&'static str],
    }

    #[tokio::test]
    async fn each_type_writes_about_its_own_services_and_no_other_types() {
        let cases = [
            Case {
                kind: "bicycle repair",
                description: "A bicycle repair workshop in Ghent.",
                schema: "BicycleStore",
                own: &["bicycle repairs", "servicing", "cyclists"],
                foreign: &[
                    "installation",
                    "homeowner",
                    "menu",
                    "patients",
                    "treatments",
                ],
            },
            Case {
                kind: "Bakery",
                description: "A family bakery in Lyon making sourdough bread, croissants and celebration cakes.",
                schema: "Bakery",
                own: &["sourdough bread", "croissants", "celebration cakes"],
                foreign: &[
                    "installation",
                    "homeowner",
                    "patients",
                    "repairs",
                    "classes",
                ],
            },
            Case {
                kind: "dentist",
                description: "A family dental practice in Bristol.",
                schema: "Dentist",
                own: &["check-ups", "fillings", "patients"],
                foreign: &[
                    "installation",
                    "homeowner",
                    "menu",
                    "croissant",
                    "repairs",
                    "classes",
                ],
            },
            Case {
                kind: "plumber",
                description: "A plumber in Leeds.",
                schema: "Plumber",
                own: &["leak repairs", "bathroom installations", "boiler servicing"],
                foreign: &["menu", "patients", "treatments", "classes", "cyclists"],
            },
            Case {
                kind: "yoga studio",
                description: "A small yoga studio in Utrecht.",
                schema: "SportsActivityLocation",
                own: &["yoga classes", "beginner courses"],
                foreign: &["installation", "homeowner", "patients", "menu", "repairs"],
            },
            Case {
                kind: "accountant",
                description: "An accounting practice in Cork for small businesses.",
                schema: "AccountingService",
                own: &["bookkeeping", "tax returns", "small businesses"],
                foreign: &[
                    "installation",
                    "homeowner",
                    "menu",
                    "patients",
                    "classes",
                    "repairs",
                ],
            },
        ];
        for Case {
            kind,
            description,
            schema,
            own,
            foreign,
        } in cases
        {
            let brief = Brief {
                business_name: "Northwind".into(),
                business_type: kind.into(),
                description: description.into(),
                goals: vec!["Get more customers".into()],
                ..Default::default()
            };
            let draft = generate_in_memory(&agents(), &brief, 4).await.unwrap();
            assert!(draft.failed_pages.is_empty(), "{kind}");
            assert_eq!(schema_type(&brief), schema, "{kind}");
            let text = all_text(&draft);
            let lower = text.to_lowercase();
            for word in own {
                assert!(lower.contains(word), "{kind}: no {word:?} in\n{text}");
            }
            for word in foreign.iter().chain(UNSUPPORTED) {
                assert!(!lower.contains(word), "{kind}: {word:?} in\n{text}");
            }
            assert!(
                !text.contains(['{', '}']),
                "{kind}: a placeholder in\n{text}"
            );
        }
    }

    /// English words that no Dutch, French, German or Spanish sentence of ours uses.
    const ENGLISH: &[&str] = &[
        "the", "and", "with", "your", "our", "what", "how", "about", "you", "are", "from", "get",
        "see", "read", "more", "answers", "offers", "book", "order", "touch", "why", "choose",
        "here", "this", "us", "at", "for", "to", "who", "where", "when", "pick", "ready", "talk",
    ];

    #[tokio::test]
    async fn the_site_is_written_in_the_brief_s_language() {
        let cases = [
            (
                "nl-BE",
                "fietsenmaker",
                "Een fietsenmaker in Gent, gerund door twee mechaniekers. Open dinsdag tot zaterdag.",
                "Meer afspraken krijgen",
                "Over ons",
                "Fietsenmaker in Gent",
            ),
            (
                "fr",
                "atelier vélo",
                "Un atelier vélo à Gand tenu par deux mécaniciens.",
                "Plus de rendez-vous",
                "À propos",
                "Atelier vélo à Gand",
            ),
            (
                "de-DE",
                "Fahrradwerkstatt",
                "Eine Fahrradwerkstatt in Gent, geführt von zwei Mechanikern.",
                "Mehr Terminbuchungen",
                "Über uns",
                "Fahrradwerkstatt in Gent",
            ),
            (
                "es",
                "taller de bicicletas",
                "Un taller de bicicletas en Gante llevado por dos mecánicos.",
                "Más citas",
                "Quiénes somos",
                "Taller de bicicletas en Gante",
            ),
        ];
        for (language, kind, description, goal, about, line) in cases {
            let brief = Brief {
                business_name: "Velo Vandaag".into(),
                business_type: kind.into(),
                description: description.into(),
                goals: vec![goal.into()],
                language: Some(language.into()),
                ..Default::default()
            };
            let draft = generate_in_memory(&agents(), &brief, 4).await.unwrap();
            assert!(draft.failed_pages.is_empty(), "{language}");
            assert_eq!(draft.sitemap.page("about").unwrap().title, about);
            assert!(
                draft.sitemap.page("home").is_some() && draft.sitemap.page("contact").is_some()
            );
            assert!(draft.sitemap.page("book").is_some(), "{language}");
            assert_eq!(tagline(&brief), line);
            // The user's own words are used as given; everything else is ours.
            let facts = Facts::of(&brief);
            let mut own: Vec<String> = facts.sentences.clone();
            own.extend(facts.services.iter().cloned());
            own.extend([
                brief.business_name.clone(),
                brief.business_type.clone(),
                facts.kind.clone(),
                goal.to_owned(),
                facts.audience.clone(),
            ]);
            own.extend(facts.place.clone());
            own.extend(facts.hours.clone());
            own.sort_by_key(|o| std::cmp::Reverse(o.len()));
            for (slug, page) in texts(&draft) {
                for text in page {
                    let mut ours = text.clone();
                    for phrase in &own {
                        ours = ours.replace(phrase.as_str(), " ");
                    }
                    for word in ours
                        .to_lowercase()
                        .split(|c: char| !c.is_alphanumeric())
                        .filter(|w| !w.is_empty())
                    {
                        assert!(
                            !ENGLISH.contains(&word),
                            "{language} {slug}: English {word:?} in {text:?}"
                        );
                    }
                    assert!(!text.contains(['{', '}']), "{language} {slug}: {text:?}");
                }
            }
        }
    }

    #[test]
    fn other_languages_fall_back_to_english() {
        let brief = Brief {
            language: Some("it-IT".into()),
            ..bakery()
        };
        let sitemap: crate::draft::Sitemap = serde_json::from_value(
            answer(Stage::Planning, &serde_json::to_value(&brief).unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(sitemap.page("about").unwrap().title, "About");
    }

    #[test]
    fn every_type_writes_every_page_in_every_language() {
        for name in profiles::first_names() {
            for language in ["en", "nl", "fr", "de", "es"] {
                let brief = Brief {
                    business_name: "Northwind".into(),
                    business_type: name.into(),
                    description: String::new(),
                    goals: vec!["Online booking".into(), "Sell online".into()],
                    language: Some(language.into()),
                    ..Default::default()
                };
                let value = serde_json::to_value(&brief).unwrap();
                let sitemap: crate::draft::Sitemap =
                    serde_json::from_value(answer(Stage::Planning, &value).unwrap()).unwrap();
                for page in &sitemap.pages {
                    assert!(!page.title.is_empty(), "{name} {language} {}", page.slug);
                    let input = ContentInput {
                        brief: brief.clone(),
                        sitemap: sitemap.clone(),
                        slug: page.slug.clone(),
                        variant: 0,
                        section: None,
                    };
                    let content = answer(Stage::Content, &serde_json::to_value(&input).unwrap())
                        .unwrap()
                        .to_string();
                    assert!(
                        !content.contains("{name}") && !content.contains("{service"),
                        "{name} {language} {}: {content}",
                        page.slug
                    );
                }
            }
        }
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
