//! The business profiles as data: `profiles.toml`, compiled in and parsed
//! once. A profile says what a kind of business needs (its offer page, its
//! customers, its usual services, a first visit in three steps) and how it
//! looks (palette, fonts, the design's description).

use std::sync::LazyLock;

use serde::Deserialize;

use crate::draft::{FontPair, Item, Palette};

/// The table as written; a unit test checks that it parses.
const SOURCE: &str = include_str!("profiles.toml");

/// Every profile, parsed on first use.
static PROFILES: LazyLock<Profiles> = LazyLock::new(|| {
    // Compiled in and parsed by `the_profile_table_parses`: a failure here is a build mistake.
    toml::from_str(SOURCE).unwrap_or_else(|e| panic!("offline/profiles.toml: {e}"))
});

/// `profiles.toml`: the profiles in the order they are tried, and the one
/// for a business none of them matches.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profiles {
    general: Profile,
    #[serde(rename = "profile")]
    by_type: Vec<Profile>,
}

/// What a kind of business needs and how it looks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Profile {
    /// Words in a business type or description that pick this profile.
    #[serde(default)]
    pub words: Vec<String>,
    /// The schema.org type (`LocalBusiness` or a subtype) of its structured data.
    pub schema_type: String,
    /// The page listing what the business offers.
    pub offer: Offer,
    /// Who the business serves, when the description does not say.
    pub customers: String,
    /// Its services, when the description names fewer than two.
    pub defaults: Vec<String>,
    pub palette: Palette,
    pub fonts: FontPair,
    /// The design's description of the look.
    pub style: String,
    /// First visit, in three steps.
    pub steps: [Item; 3],
}

/// The page listing what a business offers ("menu", "treatments"…).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Offer {
    pub slug: String,
    pub title: String,
}

impl Profile {
    /// The first profile with a word in `business_type`, else the first with
    /// one in `type_and_description`, else the general one (both lowercase).
    pub fn matching(business_type: &str, type_and_description: &str) -> &'static Profile {
        let profiles = &*PROFILES;
        let names = |text: &str, p: &Profile| p.words.iter().any(|w| text.contains(w.as_str()));
        profiles
            .by_type
            .iter()
            .find(|p| names(business_type, p))
            .or_else(|| {
                profiles
                    .by_type
                    .iter()
                    .find(|p| names(type_and_description, p))
            })
            .unwrap_or(&profiles.general)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contrast;

    fn parsed() -> Profiles {
        toml::from_str(SOURCE).unwrap_or_else(|e| panic!("offline/profiles.toml: {e}"))
    }

    #[test]
    fn the_profile_table_parses() {
        let profiles = parsed();
        assert_eq!(profiles.by_type.len(), 12);
        assert!(profiles.general.words.is_empty());
        for profile in &profiles.by_type {
            assert!(!profile.words.is_empty(), "{}", profile.offer.slug);
        }
    }

    #[test]
    fn a_business_type_wins_over_its_description() {
        assert_eq!(Profile::matching("bakery", "bakery").offer.slug, "menu");
        assert_eq!(
            Profile::matching("dental clinic", "dental clinic with a cafe")
                .offer
                .slug,
            "services"
        );
        assert_eq!(
            Profile::matching("family business", "family business selling wine")
                .offer
                .slug,
            "products"
        );
        assert_eq!(
            Profile::matching("", "").customers,
            parsed().general.customers
        );
    }

    #[test]
    fn every_profile_palette_meets_wcag_aa() {
        let profiles = parsed();
        for profile in profiles.by_type.iter().chain([&profiles.general]) {
            assert!(
                contrast::meets_aa(&profile.palette),
                "{:?}: {:?}",
                profile.words,
                contrast::palette_ratios(&profile.palette)
            );
        }
    }
}
