//! Stock photos in place of the drawn illustrations, when the control plane
//! has a photo provider's key (Pexels or Unsplash): what a generation asks
//! for (one search per picture slot, its query built from the business and
//! the page or item), and what the draft records of each photo chosen (who
//! took it, where it came from, how to credit it, and for a downloaded
//! photo the bundle path and SHA-256 of its bytes).
//!
//! This crate does no photo HTTP itself: the control plane implements
//! [`PhotoSource`] with its provider clients and its cache of the bytes.
//! A slot the source finds nothing for keeps its drawn illustration; the
//! site's icon is always drawn.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::draft::{Brief, PageContent, SectionKind, Sitemap};
pub use crate::draft::{Photo, PhotoFile, PhotoProvider};
use crate::images;

impl PhotoProvider {
    /// The provider's name as its credit line says it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pexels => "Pexels",
            Self::Unsplash => "Unsplash",
        }
    }
}

impl Photo {
    /// The `src` a page gives it: the bundle path of the bytes behind
    /// `#gsw-media=`, or the provider's URL for a hotlinked photo.
    pub fn src(&self) -> String {
        match &self.file {
            Some(file) => format!("{}{}", images::MEDIA_PREFIX, file.path),
            None => self.image_url.clone(),
        }
    }
}

/// One picture slot a generation wants a photo for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoWanted {
    /// The drawn image's path (`images/hero-home.png`, `images/item-tune-ups.png`).
    pub slot: String,
    /// What to search for.
    pub query: String,
    /// Alt text when the provider gives none: the page's or item's title.
    pub title: String,
}

/// Finds photos for picture slots. Never fails a generation: a slot it
/// cannot fill (provider down, refused, nothing found, a bad image) is
/// simply left out of the answer.
#[async_trait]
pub trait PhotoSource: Send + Sync {
    /// Its name in logs (`pexels`, `unsplash`).
    fn name(&self) -> &'static str;
    /// A photo for each slot it could fill, each a different photo.
    async fn choose(&self, wanted: &[PhotoWanted]) -> Vec<Photo>;
}

/// The slots a site's pages show, with a search query for each: a page's
/// hero searches for the business's type and the page's title (the home
/// page for the type alone), a features item for the type and the item's
/// title. Pages in sitemap order, each slot once.
pub fn wanted<'a>(
    brief: &Brief,
    sitemap: &Sitemap,
    pages: impl Fn(&str) -> Option<&'a PageContent>,
) -> Vec<PhotoWanted> {
    let business = subject(brief);
    let mut out: Vec<PhotoWanted> = Vec::new();
    let mut push = |slot: String, query: String, title: &str| {
        if !out.iter().any(|w| w.slot == slot) {
            out.push(PhotoWanted {
                slot,
                query: clip_query(&query),
                title: title.to_owned(),
            });
        }
    };
    for plan in &sitemap.pages {
        let Some(content) = pages(&plan.slug) else {
            continue;
        };
        for section in &content.sections {
            match section.kind {
                SectionKind::Hero => {
                    let query = if plan.slug == "home" {
                        business.clone()
                    } else {
                        format!("{business} {}", plan.title)
                    };
                    push(images::hero_path(&plan.slug), query, &section.heading);
                }
                SectionKind::Features => {
                    for item in &section.items {
                        push(
                            images::item_path(&item.title),
                            format!("{business} {}", item.title),
                            &item.title,
                        );
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// What the business is, for a search: its type, or its name when the type is empty.
fn subject(brief: &Brief) -> String {
    let kind = brief.business_type.trim();
    if kind.is_empty() {
        brief.business_name.trim().to_owned()
    } else {
        kind.to_owned()
    }
}

/// A query of at most 100 characters, cut at a word.
fn clip_query(query: &str) -> String {
    let query = query.split_whitespace().collect::<Vec<_>>().join(" ");
    if query.chars().count() <= 100 {
        return query;
    }
    let mut out = String::new();
    for word in query.split(' ') {
        if out.chars().count() + word.chars().count() + 1 > 100 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The photo chosen for `slot`, if any.
pub fn for_slot<'a>(photos: &'a [Photo], slot: &str) -> Option<&'a Photo> {
    photos.iter().find(|p| p.slot == slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draft::{Item, PagePlan, Section};

    fn section(kind: SectionKind, heading: &str, items: &[&str]) -> Section {
        Section {
            kind,
            heading: heading.into(),
            paragraphs: vec![],
            items: items
                .iter()
                .map(|t| Item {
                    title: (*t).into(),
                    text: "x".into(),
                })
                .collect(),
            link: None,
        }
    }

    #[test]
    fn heroes_and_features_items_are_searched_for_with_the_business_type() {
        let brief = Brief {
            business_name: "Velo Vandaag".into(),
            business_type: "bicycle repair".into(),
            ..Default::default()
        };
        let plan = |slug: &str, title: &str| PagePlan {
            slug: slug.into(),
            title: title.into(),
            parent: None,
            purpose: String::new(),
            sections: vec![],
        };
        let sitemap = Sitemap {
            pages: vec![plan("home", "Home"), plan("services", "Services")],
            navigation: vec![],
        };
        let home = PageContent {
            seo_title: String::new(),
            meta_description: String::new(),
            sections: vec![
                section(SectionKind::Hero, "Bikes fixed fast", &[]),
                section(SectionKind::Features, "What we do", &["Tune-ups", "Wheels"]),
                section(SectionKind::Faq, "FAQ", &["Q?"]),
            ],
        };
        let services = PageContent {
            sections: vec![
                section(SectionKind::Hero, "Our services", &[]),
                section(SectionKind::Features, "More", &["Tune-ups"]),
            ],
            ..home.clone()
        };
        let wanted = wanted(&brief, &sitemap, |slug| match slug {
            "home" => Some(&home),
            "services" => Some(&services),
            _ => None,
        });
        let got: Vec<(&str, &str, &str)> = wanted
            .iter()
            .map(|w| (w.slot.as_str(), w.query.as_str(), w.title.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("images/hero-home.png", "bicycle repair", "Bikes fixed fast"),
                (
                    "images/item-tune-ups.png",
                    "bicycle repair Tune-ups",
                    "Tune-ups"
                ),
                ("images/item-wheels.png", "bicycle repair Wheels", "Wheels"),
                (
                    "images/hero-services.png",
                    "bicycle repair Services",
                    "Our services"
                ),
            ]
        );
        assert!(clip_query(&"word ".repeat(40)).len() <= 100);
    }
}
