//! What the offline engine reads from a brief: the business's name, kind,
//! place, services, audience, goals and contact details, the business type
//! its type picks, and the language it is written in.

use super::phrases::{Lang, Phrases};
use super::profiles::{BusinessType, Family};
use super::wording::lowercase_first;
use crate::draft::Brief;
use crate::identity::{address_in, email_in, hours_phrase, language_of, phone_in};

/// What the visitor should end up doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Goal {
    Booking,
    Sell,
    Donations,
    Events,
    Newsletter,
    Leads,
    Visibility,
    Other,
}

/// The goal a line of the brief's goals asks for, in any language we write.
pub(super) fn goal_of(text: &str) -> Goal {
    let t = text.to_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if any(&[
        "book",
        "appointment",
        "reserv",
        "schedul",
        "boek",
        "afspra",
        "rendez-vous",
        "termin",
        "buchen",
        "buchung",
        "cita",
    ]) {
        Goal::Booking
    } else if any(&[
        "sell",
        "shop",
        "store",
        "order",
        "e-commerce",
        "ecommerce",
        "product",
        "verkoop",
        "verkopen",
        "bestel",
        "winkel",
        "vendre",
        "vente",
        "commande",
        "verkauf",
        "bestell",
        "vender",
        "venta",
        "pedido",
        "tienda",
    ]) {
        Goal::Sell
    } else if any(&[
        "donat",
        "fundrais",
        "doneer",
        "faire un don",
        "dons",
        "spende",
        "donaci",
    ]) {
        Goal::Donations
    } else if any(&[
        "event",
        "workshop",
        "class",
        "evenement",
        "événement",
        "veranstaltung",
        "evento",
    ]) {
        Goal::Events
    } else if any(&[
        "newsletter",
        "subscri",
        "mailing",
        "email list",
        "nieuwsbrief",
        "lettre d",
        "infolettre",
        "abonn",
        "boletín",
        "suscri",
    ]) {
        Goal::Newsletter
    } else if any(&[
        "lead",
        "enquir",
        "inquir",
        "quote",
        "call",
        "contact",
        "client",
        "customer",
        "request",
        "consult",
        "offerte",
        "aanvra",
        "klant",
        "devis",
        "demande",
        "anfrage",
        "kunde",
        "presupuesto",
        "solicitud",
    ]) {
        Goal::Leads
    } else if any(&[
        "seo",
        "google",
        "found",
        "search",
        "visib",
        "rank",
        "traffic",
        "awareness",
        "gevonden",
        "vindbaar",
        "zichtbaar",
        "trouv",
        "gefunden",
        "sichtbar",
        "encontr",
    ]) {
        Goal::Visibility
    } else {
        Goal::Other
    }
}

/// Everything the engine knows about the business.
pub(super) struct Facts<'a> {
    pub brief: &'a Brief,
    pub name: &'a str,
    /// The business type as the user wrote it, in sentence case: "bakery".
    pub kind: String,
    pub business: &'static BusinessType,
    pub family: &'static Family,
    pub lang: Lang,
    /// The engine's own words, in the site's language.
    pub words: &'static Phrases,
    pub place: Option<String>,
    pub services: Vec<String>,
    pub audience: String,
    /// Each goal as read, with the brief's words for it.
    pub goals: Vec<(Goal, String)>,
    /// The description, sentence by sentence.
    pub sentences: Vec<String>,
    /// Details the brief gives, in its words (see `identity`).
    pub hours: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl<'a> Facts<'a> {
    /// Reads a brief.
    pub fn of(brief: &'a Brief) -> Self {
        let lang = Lang::of(&language_of(brief));
        let words = lang.phrases();
        let business = BusinessType::matching(&brief.business_type, &brief.description);
        let local = business.local(lang);
        let services = services_in(&brief.description, words);
        let services = if services.len() >= 2 {
            services
        } else {
            local.services.clone()
        };
        let given = |field: &Option<String>| {
            field
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let kind = brief.business_type.trim();
        Facts {
            brief,
            name: brief.business_name.trim(),
            kind: if words.nouns_capitalised {
                kind.to_owned()
            } else {
                lowercase_first(kind)
            },
            business,
            family: business.family(),
            lang,
            words,
            place: place_in(&brief.description, words),
            services,
            audience: audience_in(&brief.description, words)
                .unwrap_or_else(|| local.audience.clone()),
            goals: brief
                .goals
                .iter()
                .map(|g| (goal_of(g), g.trim().to_owned()))
                .collect(),
            sentences: brief
                .description
                .split_inclusive(['.', '!', '?'])
                .map(|s| s.trim().to_owned())
                .filter(|s| s.len() > 3)
                .collect(),
            hours: given(&brief.opening_hours).or_else(|| hours_phrase(&brief.description)),
            address: given(&brief.address).or_else(|| address_in(&brief.description)),
            phone: given(&brief.phone).or_else(|| phone_in(&brief.description)),
            email: given(&brief.email).or_else(|| email_in(&brief.description)),
        }
    }

    /// Whether one of the goals is `goal`.
    pub fn has(&self, goal: Goal) -> bool {
        self.goals.iter().any(|(g, _)| *g == goal)
    }

    /// The main thing a visitor can do, as (page slug, button label).
    pub fn action(&self) -> (&'static str, String) {
        let actions = &self.words.actions;
        for (goal, _) in &self.goals {
            match goal {
                Goal::Booking => return ("book", actions.book.clone()),
                Goal::Sell => return ("shop", actions.shop.clone()),
                Goal::Donations => return ("donate", actions.donate.clone()),
                Goal::Events => return ("events", actions.events.clone()),
                _ => {}
            }
        }
        ("contact", self.say(&actions.contact, &[]))
    }
}

/// The place after "in" (or the language's word for it: "à", "en"):
/// capitalised words.
fn place_in(description: &str, phrases: &Phrases) -> Option<String> {
    let words: Vec<&str> = description.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        let word = word.to_lowercase();
        if word != "in" && !phrases.place_words.contains(&word) {
            continue;
        }
        let mut place = Vec::new();
        for next in &words[i + 1..] {
            let clean = next.trim_end_matches([',', '.', ';', ':', '!', '?', ')']);
            let capital = clean.chars().next().is_some_and(char::is_uppercase);
            let joiner = !place.is_empty() && is_place_joiner(clean);
            if !(capital || joiner) || clean.is_empty() {
                break;
            }
            place.push(clean.trim_end_matches("'s").trim_end_matches("’s"));
            if clean.len() != next.len() || place.len() == 4 {
                break;
            }
        }
        while place.last().is_some_and(|w| is_place_joiner(w)) {
            place.pop();
        }
        if !place.is_empty() {
            return Some(place.join(" "));
        }
    }
    None
}

/// The small words inside place names: "Stratford upon Avon", "Aix la Chapelle".
fn is_place_joiner(word: &str) -> bool {
    matches!(word, "de" | "du" | "la" | "le" | "upon" | "on" | "am")
}

/// What follows "for" (or the language's word for it) when it names
/// people ("for busy families").
fn audience_in(description: &str, phrases: &Phrases) -> Option<String> {
    let lower = description.to_lowercase();
    let (at, len) = std::iter::once("for")
        .chain(phrases.for_words.iter().map(String::as_str))
        .filter_map(|w| {
            let marker = format!(" {w} ");
            lower.find(&marker).map(|at| (at, marker.len()))
        })
        .min()?;
    // Lowercasing keeps byte offsets only for most scripts; stay on a boundary.
    let rest = description.get(at + len..)?;
    let phrase: String = rest
        .split(['.', ',', ';', '!', '?'])
        .next()?
        .trim()
        .to_owned();
    let words = phrase.split_whitespace().count();
    let starts_like_people = !phrase.chars().next().is_some_and(|c| c.is_ascii_digit())
        && !phrase.to_lowercase().starts_with("over ")
        && !phrase.to_lowercase().starts_with("more ");
    (starts_like_people && (1..=6).contains(&words)).then_some(phrase)
}

/// The things the business offers, after "offer", "sell", "make", "specialise in"…
/// (the language's verbs, then English ones).
fn services_in(description: &str, phrases: &Phrases) -> Vec<String> {
    let lower = description.to_lowercase();
    let english = Lang::En.phrases();
    let and = format!(" {} ", phrases.and);
    for verb in phrases.offer_verbs.iter().chain(&english.offer_verbs) {
        let marker = format!("{verb} ");
        let found = lower
            .match_indices(&marker)
            .find(|(at, _)| *at == 0 || !lower[..*at].ends_with(|c: char| c.is_alphanumeric()));
        let Some((at, _)) = found else { continue };
        let Some(tail) = description.get(at + marker.len()..) else {
            continue;
        };
        let clause = tail
            .split(['.', ';', ':', '!', '?', '('])
            .next()
            .unwrap_or("");
        let mut items: Vec<String> = clause
            .split(',')
            .flat_map(|p| p.split(" and "))
            .flat_map(|p| p.split(and.as_str()))
            .flat_map(|p| p.split(" & "))
            .filter_map(|p| offered_item(p, phrases))
            .collect();
        items.dedup();
        if items.len() >= 2 {
            items.truncate(6);
            return items;
        }
    }
    Vec::new()
}

/// One item of a list of services, cut to the thing itself ("fresh bread
/// for the village" → "fresh bread"); `None` if it does not look like one.
fn offered_item(part: &str, phrases: &Phrases) -> Option<String> {
    let mut item = part.trim();
    let english = ["for", "to", "in", "since", "across", "with", "at", "every"];
    let cuts = english
        .into_iter()
        .chain(phrases.for_words.iter().map(String::as_str))
        .chain(phrases.place_words.iter().map(String::as_str));
    for cut in cuts {
        let cut = format!(" {cut} ");
        if let Some(i) = item.to_lowercase().find(&cut) {
            item = item.get(..i).unwrap_or(item);
        }
    }
    let mut item = item.trim();
    // The language's articles, then English ones, each cut once, any case.
    for article in phrases
        .item_articles
        .iter()
        .chain(&Lang::En.phrases().item_articles)
    {
        let starts = item
            .get(..article.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(article));
        if starts {
            item = item[article.len()..].trim_start();
        }
    }
    let item = item.trim();
    let len = item.chars().count();
    ((3..=40).contains(&len) && !item.chars().any(|c| c.is_ascii_digit())).then(|| item.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offline::tests::bakery;

    #[test]
    fn facts_come_from_the_description() {
        let brief = bakery();
        let facts = Facts::of(&brief);
        assert_eq!(facts.place.as_deref(), Some("Lyon"));
        assert_eq!(
            facts.services,
            vec!["sourdough bread", "croissants", "celebration cakes"]
        );
        assert_eq!(facts.audience, "busy families");
        assert_eq!(facts.business.offer, "menu");
        let en = Lang::En.phrases();
        assert_eq!(
            place_in("Plumbers based in Milton Keynes, since 1990.", en),
            Some("Milton Keynes".into())
        );
        assert_eq!(place_in("we are in business", en), None);
        let fr = Lang::Fr.phrases();
        assert_eq!(
            place_in("Une boulangerie à Lyon depuis 1990.", fr),
            Some("Lyon".into())
        );
        assert_eq!(
            services_in(
                "Wij bakken zuurdesembrood, croissants en taarten voor de buurt.",
                Lang::Nl.phrases()
            ),
            vec!["zuurdesembrood", "croissants", "taarten"]
        );
        // "doen", and the articles a language puts before each item.
        assert_eq!(
            services_in(
                "Een tandartspraktijk in Leuven. Wij doen controles, mondhygiëne en implantaten voor gezinnen.",
                Lang::Nl.phrases()
            ),
            vec!["controles", "mondhygiëne", "implantaten"]
        );
        assert_eq!(
            services_in(
                "Un studio de yoga à Nantes qui propose du hatha yoga, du yoga prénatal et de la méditation.",
                Lang::Fr.phrases()
            ),
            vec!["hatha yoga", "yoga prénatal", "méditation"]
        );
        assert_eq!(
            services_in(
                "Despacho en Sevilla: ofrecemos el derecho laboral, la familia y las herencias.",
                Lang::Es.phrases()
            ),
            vec!["derecho laboral", "familia", "herencias"]
        );
        assert_eq!(goal_of("More table reservations"), Goal::Booking);
    }
}
