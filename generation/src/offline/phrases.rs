//! The offline engine's own words, per language: `phrases.toml`, compiled
//! in and parsed once. Every language has every phrase (the parse checks
//! it); the business's own words go in through `{placeholders}`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::draft::Item;

/// The table as written; a unit test checks that it parses.
const SOURCE: &str = include_str!("phrases.toml");

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    // Compiled in and parsed by `the_phrase_table_parses`: a failure here is a build mistake.
    toml::from_str(SOURCE).unwrap_or_else(|e| panic!("offline/phrases.toml: {e}"))
});

/// A language the engine writes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    En,
    Nl,
    Fr,
    De,
    Es,
}

impl Lang {
    #[cfg(test)]
    pub const ALL: [Lang; 5] = [Lang::En, Lang::Nl, Lang::Fr, Lang::De, Lang::Es];

    /// The language of a BCP 47 tag, by its primary subtag ("nl-BE" is
    /// Dutch); English for any language we do not write.
    pub fn of(tag: &str) -> Lang {
        let primary = tag
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "nl" => Lang::Nl,
            "fr" => Lang::Fr,
            "de" => Lang::De,
            "es" => Lang::Es,
            _ => Lang::En,
        }
    }

    /// The language's phrases.
    pub fn phrases(self) -> &'static Phrases {
        let table = &*TABLE;
        match self {
            Lang::En => &table.en,
            Lang::Nl => &table.nl,
            Lang::Fr => &table.fr,
            Lang::De => &table.de,
            Lang::Es => &table.es,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    en: Phrases,
    nl: Phrases,
    fr: Phrases,
    de: Phrases,
    es: Phrases,
}

/// One language's phrases (see `phrases.toml` for the placeholders).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Phrases {
    /// The word that joins the last two items of a list.
    pub and: String,
    /// Whether nouns keep their capital inside a sentence (German).
    pub nouns_capitalised: bool,
    pub in_place: String,
    /// Words before a place name in a description ("in", "à").
    pub place_words: Vec<String>,
    /// Words before the people a description says it serves ("for", "voor").
    pub for_words: Vec<String>,
    /// Verbs after which a description lists what the business offers, tried in order.
    pub offer_verbs: Vec<String>,
    /// Articles a listed item may start with, cut off ("du hatha yoga" →
    /// "hatha yoga"), lower case with their space.
    pub item_articles: Vec<String>,
    /// Openings of a description that read on after "{name} is".
    pub articles: Vec<String>,
    /// Openings of a description in the first person ("We ").
    pub we: Vec<String>,
    pub lead_is: String,
    pub lead_we: String,
    pub lead_plain: String,
    pub lead_none: String,
    pub tagline: String,
    pub tagline_place: String,
    pub titles: Titles,
    pub actions: Actions,
    /// The offer page's title, by the offer key of a business type.
    pub offers: BTreeMap<String, String>,
    /// A first visit in three steps, by a family's flow.
    pub flows: BTreeMap<String, [Item; 3]>,
    pub hero: Hero,
    pub lead: Lead,
    pub about: About,
    pub home: Home,
    pub offer: OfferGrid,
    pub service: Service,
    pub how: How,
    pub faq: Faq,
    pub cta: Cta,
    pub goal: GoalLines,
    pub contact: Contact,
    pub seo: Seo,
}

/// Page titles.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Titles {
    pub home: String,
    pub about: String,
    pub faq: String,
    pub contact: String,
    pub book: String,
    pub shop: String,
    pub events: String,
    pub donate: String,
}

/// Button labels of the main actions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Actions {
    pub book: String,
    pub shop: String,
    pub donate: String,
    pub events: String,
    pub contact: String,
}

/// The H1 of each kind of page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Hero {
    pub home: Vec<String>,
    pub service: String,
    pub about: String,
    pub contact: String,
    pub faq: String,
    pub book: String,
    pub shop: String,
    pub events: String,
    pub donate: String,
    pub offer: String,
    pub other: String,
}

/// The paragraph under each kind of page's H1.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Lead {
    pub service: String,
    pub service_more: Vec<String>,
    pub about: String,
    pub contact: String,
    pub faq: String,
    pub book: String,
    pub shop: String,
    pub events: String,
    pub donate: String,
    pub offer: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct About {
    pub story: Vec<String>,
    pub goals: String,
    pub glance: String,
    pub what: String,
    pub who: String,
    #[serde(rename = "where")]
    pub where_: String,
    pub when: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Home {
    pub why: String,
    pub together: String,
    pub more: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OfferGrid {
    pub heading: Vec<String>,
    pub see_all: String,
    /// Three lines under a service, used in turn; the second only when the service has a page.
    pub line: [String; 3],
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Service {
    pub heading: String,
    pub text: String,
    pub steps: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct How {
    pub heading: String,
    pub book: Item,
    pub shop: Item,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Faq {
    pub heading: Vec<String>,
    pub what_q: String,
    pub what_a: String,
    pub where_q: String,
    pub where_a: String,
    pub when_q: String,
    pub who_q: String,
    pub who_a: String,
    pub how_book: String,
    pub how_shop: String,
    pub how_donate: String,
    pub how_events: String,
    pub how_contact: String,
    pub how_a: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Cta {
    pub book: String,
    pub shop: String,
    pub donate: String,
    pub events: String,
    pub contact: String,
    pub default: String,
}

/// What the main goal means for the visitor, in one sentence.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GoalLines {
    pub sell: String,
    pub booking: String,
    pub donations: String,
    pub events: String,
    pub newsletter: String,
    pub contact: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Contact {
    pub heading: String,
    pub form: String,
    pub based: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub hours: String,
    pub faq_link: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Seo {
    pub home: String,
    pub page: String,
    pub meta_home: String,
}

/// `template` with each `{key}` of `vars` replaced by its value; unknown
/// keys are left as they are (a test looks for them in whole sites).
pub(super) fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let key = &after[..close];
                match vars.iter().find(|(k, _)| *k == key) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phrase_table_parses_with_every_language() {
        let table: Table =
            toml::from_str(SOURCE).unwrap_or_else(|e| panic!("offline/phrases.toml: {e}"));
        let en = &table.en;
        for lang in Lang::ALL {
            let p = lang.phrases();
            let keys = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(&p.offers), keys(&en.offers), "{lang:?} offers");
            assert_eq!(
                p.flows.keys().collect::<Vec<_>>(),
                en.flows.keys().collect::<Vec<_>>(),
                "{lang:?} flows"
            );
            assert!(!p.hero.home.is_empty() && !p.faq.heading.is_empty());
        }
    }

    #[test]
    fn languages_are_chosen_by_their_primary_subtag() {
        assert_eq!(Lang::of("nl-BE"), Lang::Nl);
        assert_eq!(Lang::of("FR"), Lang::Fr);
        assert_eq!(Lang::of("de_CH"), Lang::De);
        assert_eq!(Lang::of("es-419"), Lang::Es);
        assert_eq!(Lang::of("it"), Lang::En);
        assert_eq!(Lang::of(""), Lang::En);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill(
                "{name} in {place}, {x}",
                &[("name", "Ada"), ("place", "Lyon")]
            ),
            "Ada in Lyon, {x}"
        );
        assert_eq!(fill("no braces {", &[]), "no braces {");
    }
}
