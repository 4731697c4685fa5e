//! The business types as data: `profiles.toml`, compiled in and parsed
//! once. A [`BusinessType`] says what a kind of business is called (with
//! its synonyms), whom it serves and what it usually offers in each
//! language, its offer page and its schema.org type; its [`Family`] says
//! how it looks and how a first visit goes.

use std::sync::LazyLock;

use serde::Deserialize;

use super::phrases::Lang;
use crate::draft::{FontPair, Palette};

/// The table as written; a unit test checks that it parses.
const SOURCE: &str = include_str!("profiles.toml");

/// Every type and family, parsed on first use.
static PROFILES: LazyLock<Profiles> = LazyLock::new(|| {
    // Compiled in and parsed by `the_profile_table_parses`: a failure here is a build mistake.
    toml::from_str(SOURCE).unwrap_or_else(|e| panic!("offline/profiles.toml: {e}"))
});

/// Every type's names, split into words once: (type index, words, whether
/// the last word is a stem).
static NAMES: LazyLock<Vec<(usize, Vec<String>, bool)>> = LazyLock::new(|| {
    PROFILES
        .types
        .iter()
        .enumerate()
        .flat_map(|(index, business)| {
            business.words.iter().map(move |name| {
                let stem = name.ends_with('*');
                (index, words(name.trim_end_matches('*')), stem)
            })
        })
        .filter(|(_, words, _)| !words.is_empty())
        .collect()
});

/// `profiles.toml`: the families, the types in the order they are tried,
/// and the type of a business none of them matches.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profiles {
    family: Vec<Family>,
    general: BusinessType,
    #[serde(rename = "type")]
    types: Vec<BusinessType>,
}

/// A look and a way of working that several business types share.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Family {
    pub key: String,
    /// The key of its first visit's three steps in `phrases.toml`.
    pub flow: String,
    pub palette: Palette,
    pub fonts: FontPair,
    /// The design's description of the look.
    pub style: String,
}

/// A kind of business.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BusinessType {
    /// A name for the type in tests and debug output.
    #[cfg_attr(not(test), allow(dead_code))]
    pub key: String,
    /// Its names and synonyms (whole words; a trailing `*` matches a word's start).
    #[serde(default)]
    pub words: Vec<String>,
    family: String,
    /// The schema.org type (`LocalBusiness` or a subtype) of its structured data.
    pub schema_type: String,
    /// The slug of the page listing what it offers, and its title's key in `phrases.toml`.
    pub offer: String,
    en: Local,
    nl: Local,
    fr: Local,
    de: Local,
    es: Local,
}

/// What a business type implies, in one language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Local {
    /// Who it serves, when the description does not say.
    pub audience: String,
    /// Its services, when the description names fewer than two.
    pub services: Vec<String>,
}

impl BusinessType {
    /// The type of a business: the longest of its names found in
    /// `business_type`, else in `description` (earlier types win a tie),
    /// else the general type.
    pub fn matching(business_type: &str, description: &str) -> &'static BusinessType {
        let profiles = &*PROFILES;
        best_in(&words(business_type))
            .or_else(|| best_in(&words(description)))
            .map_or(&profiles.general, |index| &profiles.types[index])
    }

    /// Its audience and services in `lang`.
    pub fn local(&self, lang: Lang) -> &Local {
        match lang {
            Lang::En => &self.en,
            Lang::Nl => &self.nl,
            Lang::Fr => &self.fr,
            Lang::De => &self.de,
            Lang::Es => &self.es,
        }
    }

    /// Its family (the general one if the table names one it lacks; a test
    /// makes sure it does not).
    pub fn family(&self) -> &'static Family {
        let families = &PROFILES.family;
        families
            .iter()
            .find(|f| f.key == self.family)
            .unwrap_or(&families[0])
    }
}

/// Each type's first name, for tests that go through every type.
#[cfg(test)]
pub(super) fn first_names() -> Vec<&'static str> {
    PROFILES
        .types
        .iter()
        .filter_map(|t| t.words.first())
        .map(|w| w.trim_end_matches('*'))
        .collect()
}

/// Lowercase words of `text`, split at anything not a letter or digit.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The index of the type with the longest name (in words) that `text`
/// contains; the earlier type when two are as long.
fn best_in(text: &[String]) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (index, name, stem) in NAMES.iter() {
        let longer = best.is_none_or(|(length, _)| name.len() > length);
        if longer && name_in(name, *stem, text) {
            best = Some((name.len(), *index));
        }
    }
    best.map(|(_, index)| index)
}

/// Whether `text` holds the words of `name` in a row: the last may take a
/// plural "s", or any ending when it is a `stem`.
fn name_in(name: &[String], stem: bool, text: &[String]) -> bool {
    let Some((last, init)) = name.split_last() else {
        return false;
    };
    text.windows(name.len()).any(|window| {
        let (word, before) = window.split_last().unwrap_or((&window[0], &[]));
        before == init
            && (word == last
                || (stem && word.starts_with(last.as_str()))
                || word.strip_suffix('s') == Some(last.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contrast;
    use crate::fonts;

    fn parsed() -> Profiles {
        toml::from_str(SOURCE).unwrap_or_else(|e| panic!("offline/profiles.toml: {e}"))
    }

    fn key(business_type: &str, description: &str) -> &'static str {
        &BusinessType::matching(business_type, description).key
    }

    #[test]
    fn the_profile_table_parses() {
        let profiles = parsed();
        assert!(profiles.types.len() >= 60, "{}", profiles.types.len());
        assert!(profiles.general.words.is_empty());
        let phrases = Lang::En.phrases();
        for business in profiles.types.iter().chain([&profiles.general]) {
            assert!(
                business.key == "general" || !business.words.is_empty(),
                "{}",
                business.key
            );
            assert!(
                profiles.family.iter().any(|f| f.key == business.family),
                "{}: no family {}",
                business.key,
                business.family
            );
            assert!(
                phrases.offers.contains_key(&business.offer),
                "{}: no offer {}",
                business.key,
                business.offer
            );
            for lang in Lang::ALL {
                let local = business.local(lang);
                assert!(!local.audience.is_empty(), "{} {lang:?}", business.key);
                assert!(!local.services.is_empty(), "{} {lang:?}", business.key);
            }
        }
        for family in &profiles.family {
            assert!(phrases.flows.contains_key(&family.flow), "{}", family.key);
        }
        let mut keys: Vec<&str> = profiles.types.iter().map(|t| t.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), profiles.types.len(), "type keys are unique");
    }

    #[test]
    fn every_family_font_is_one_we_carry() {
        for family in parsed().family {
            for font in [&family.fonts.heading, &family.fonts.body] {
                assert!(
                    fonts::family(font).is_some(),
                    "{}: {font} is not in fonts::FAMILIES",
                    family.key
                );
            }
        }
    }

    #[test]
    fn every_family_palette_meets_wcag_aa() {
        for family in parsed().family {
            assert!(
                contrast::meets_aa(&family.palette),
                "{}: {:?}",
                family.key,
                contrast::palette_ratios(&family.palette)
            );
        }
    }

    #[test]
    fn types_are_matched_by_whole_names_and_synonyms() {
        assert_eq!(key("bicycle repair workshop", ""), "bicycle");
        assert_eq!(key("Bike shop", ""), "bicycle");
        assert_eq!(key("cycle workshop", ""), "bicycle");
        assert_eq!(key("Fietsenmaker", ""), "bicycle");
        assert_eq!(key("barbershop", ""), "barber");
        assert_eq!(key("Hair salon", ""), "hair-salon");
        assert_eq!(key("nail salon", ""), "nail-salon");
        assert_eq!(key("car repair", ""), "garage");
        assert_eq!(key("phone repair shop", ""), "device-repair");
        assert_eq!(key("Plumbing and heating", ""), "plumber");
        assert_eq!(key("Landscape gardener", ""), "gardener");
        assert_eq!(key("garden centre", ""), "garden-centre");
        assert_eq!(key("coffee shop", ""), "cafe");
        assert_eq!(key("B&B", ""), "bed-and-breakfast");
        assert_eq!(key("yoga studio", ""), "yoga");
        assert_eq!(key("Accountancy firm", ""), "accountant");
        assert_eq!(key("Tandartspraktijk", ""), "dentist");
        assert_eq!(key("Boulangerie", ""), "bakery");
        assert_eq!(key("wedding photographer", ""), "photographer");
        assert_eq!(key("cycling club", ""), "sports-club");
        // "repair" alone names no trade, and words inside words do not count.
        assert_eq!(key("repair", ""), "general");
        assert_eq!(key("barista training", ""), "general");
    }

    #[test]
    fn a_business_type_wins_over_its_description() {
        assert_eq!(key("bakery", "bakery"), "bakery");
        assert_eq!(key("dental clinic", "dental clinic with a cafe"), "dentist");
        assert_eq!(
            key("family business", "family business selling wine"),
            "wine-shop"
        );
        assert_eq!(key("", ""), "general");
    }
}
