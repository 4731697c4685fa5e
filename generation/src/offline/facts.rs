//! What the offline engine reads from a brief: the business's name, kind,
//! place, services, audience and goals, and the profile its type picks.

use super::profiles::Profile;
use crate::draft::Brief;

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

/// The goal a line of the brief's goals asks for.
pub(super) fn goal_of(text: &str) -> Goal {
    let t = text.to_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if any(&["book", "appointment", "reserv", "schedul"]) {
        Goal::Booking
    } else if any(&[
        "sell",
        "shop",
        "store",
        "order",
        "e-commerce",
        "ecommerce",
        "product",
    ]) {
        Goal::Sell
    } else if any(&["donat", "fundrais"]) {
        Goal::Donations
    } else if any(&["event", "workshop", "class"]) {
        Goal::Events
    } else if any(&["newsletter", "subscri", "mailing", "email list"]) {
        Goal::Newsletter
    } else if any(&[
        "lead", "enquir", "inquir", "quote", "call", "contact", "client", "customer",
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
    /// The business type, lowercase: "bakery".
    pub kind: String,
    pub profile: &'static Profile,
    pub place: Option<String>,
    pub services: Vec<String>,
    pub audience: String,
    /// Each goal as read, with the brief's words for it.
    pub goals: Vec<(Goal, String)>,
    /// The description, sentence by sentence.
    pub sentences: Vec<String>,
}

impl<'a> Facts<'a> {
    /// Reads a brief.
    pub fn of(brief: &'a Brief) -> Self {
        let type_text = brief.business_type.to_lowercase();
        let all = format!("{} {}", type_text, brief.description.to_lowercase());
        let profile = Profile::matching(&type_text, &all);
        let services = services_in(&brief.description);
        let services = if services.len() >= 2 {
            services
        } else {
            profile.defaults.clone()
        };
        Facts {
            brief,
            name: brief.business_name.trim(),
            kind: brief.business_type.trim().to_lowercase(),
            profile,
            place: place_in(&brief.description),
            services,
            audience: audience_in(&brief.description).unwrap_or_else(|| profile.customers.clone()),
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
        }
    }

    /// Whether one of the goals is `goal`.
    pub fn has(&self, goal: Goal) -> bool {
        self.goals.iter().any(|(g, _)| *g == goal)
    }

    /// The main thing a visitor can do, as (page slug, button label).
    pub fn action(&self) -> (&'static str, String) {
        for (goal, _) in &self.goals {
            match goal {
                Goal::Booking => return ("book", "Book now".into()),
                Goal::Sell => return ("shop", "Shop online".into()),
                Goal::Donations => return ("donate", "Donate".into()),
                Goal::Events => return ("events", "See upcoming events".into()),
                _ => {}
            }
        }
        ("contact", format!("Contact {}", self.name))
    }
}

/// The place after "in", "based in" or "located in": capitalised words.
fn place_in(description: &str) -> Option<String> {
    let words: Vec<&str> = description.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        if !matches!(*word, "in" | "In") {
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

/// What follows "for" when it names people ("for busy families").
fn audience_in(description: &str) -> Option<String> {
    let lower = description.to_lowercase();
    let at = lower.find(" for ")?;
    let rest = &description[at + 5..];
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

/// Verbs after which a description lists what the business offers, tried in this order.
const OFFER_VERBS: &[&str] = &[
    "offering ",
    "offers ",
    "offer ",
    "specialising in ",
    "specializing in ",
    "specialises in ",
    "specializes in ",
    "specialise in ",
    "specialize in ",
    "providing ",
    "provides ",
    "provide ",
    "selling ",
    "sells ",
    "sell ",
    "making ",
    "makes ",
    "make ",
    "baking ",
    "bakes ",
    "bake ",
    "serving ",
    "serves ",
    "serve ",
    "including ",
    "from ",
];

/// The things the business offers, after "offer", "sell", "make", "specialise in"…
fn services_in(description: &str) -> Vec<String> {
    let lower = description.to_lowercase();
    for verb in OFFER_VERBS {
        let Some(at) = lower.find(verb) else { continue };
        let tail = &description[at + verb.len()..];
        let clause = tail
            .split(['.', ';', ':', '!', '?', '('])
            .next()
            .unwrap_or("");
        let mut items: Vec<String> = clause
            .split(',')
            .flat_map(|p| p.split(" and "))
            .flat_map(|p| p.split(" & "))
            .filter_map(offered_item)
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
fn offered_item(part: &str) -> Option<String> {
    let mut item = part.trim();
    for cut in [
        " for ", " to ", " in ", " since ", " across ", " with ", " at ", " every ",
    ] {
        if let Some(i) = item.to_lowercase().find(cut) {
            item = &item[..i];
        }
    }
    let item = item
        .trim()
        .trim_start_matches("a ")
        .trim_start_matches("an ")
        .trim_start_matches("the ")
        .trim_start_matches("our ")
        .trim_start_matches("also ")
        .trim();
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
        assert_eq!(facts.profile.offer.slug, "menu");
        assert_eq!(
            place_in("Plumbers based in Milton Keynes, since 1990."),
            Some("Milton Keynes".into())
        );
        assert_eq!(place_in("we are in business"), None);
        assert_eq!(goal_of("More table reservations"), Goal::Booking);
    }
}
