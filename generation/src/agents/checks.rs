//! What the agents accept from a model: each stage's output checked and,
//! where it safely can be, repaired (unique slugs, a home and a contact
//! page, one hero first, links only inside the site, clipped titles,
//! readable colours, catalog plugins only) before anyone stores it.

use std::collections::HashSet;

use crate::blocks::{clip, META_DESCRIPTION_MAX, SEO_TITLE_MAX};
use crate::catalog;
use crate::contrast;
use crate::draft::{
    Brief, Design, Link, PageContent, PagePlan, PluginChoice, PluginPlan, SectionKind, SectionPlan,
    Sitemap,
};

/// Lower-case words joined by hyphens, accents folded ("Réparation de
/// vélos" → "reparation-de-velos").
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if let Some(plain) = fold(c) {
            slug.push_str(plain);
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

/// The plain letters of an accented Latin letter.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => "a",
        'ç' => "c",
        'è' | 'é' | 'ê' | 'ë' => "e",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
        'ù' | 'ú' | 'û' | 'ü' => "u",
        'ý' | 'ÿ' => "y",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        _ => return None,
    })
}

/// Makes a sitemap safe to build on: unique slugs, home first, a contact
/// page, real parents, a hero first on every page, navigation of real pages.
pub fn check_sitemap(mut sitemap: Sitemap) -> Result<Sitemap, String> {
    let mut seen = HashSet::new();
    sitemap.pages.truncate(12);
    for page in &mut sitemap.pages {
        check_page_plan(page, &mut seen)?;
    }
    put_home_first(&mut sitemap, &mut seen)?;
    if !seen.contains("contact") {
        sitemap.pages.push(contact_page_plan());
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

/// Gives a planned page a unique, non-empty slug (recorded in `seen`) and
/// exactly one hero, first; fails if it has no title or no usable slug.
fn check_page_plan(page: &mut PagePlan, seen: &mut HashSet<String>) -> Result<(), String> {
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
    Ok(())
}

/// Moves the page called home to the front, or makes the first page home
/// (following its parents and navigation) when the model named it otherwise.
fn put_home_first(sitemap: &mut Sitemap, seen: &mut HashSet<String>) -> Result<(), String> {
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
    Ok(())
}

/// The contact page added to a sitemap that has none.
fn contact_page_plan() -> PagePlan {
    PagePlan {
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
    }
}

/// Makes a design usable: readable colours, a theme and fonts.
pub fn check_design(mut design: Design) -> Design {
    contrast::make_readable(&mut design.palette);
    if design.theme.trim().is_empty() {
        design.theme = "twentytwentythree".into();
    }
    // Fonts the site can ship (`fonts::FAMILIES`): a name we do not carry
    // becomes ours of the same class, so the draft names what it will show.
    design.fonts.heading = crate::fonts::family_or_nearest(&design.fonts.heading)
        .name
        .to_owned();
    design.fonts.body = crate::fonts::family_or_nearest(&design.fonts.body)
        .name
        .to_owned();
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

    #[test]
    fn slugs_fold_accents() {
        assert_eq!(slugify("Réparation de vélos"), "reparation-de-velos");
        assert_eq!(slugify("Straße & Café"), "strasse-cafe");
    }
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
            ..Default::default()
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
