//! How the offline engine words things: [`Facts::say`] fills one of the
//! language's phrases (`phrases.toml`) with this business's details, and
//! the helpers here build what those phrases need (lists, the lead
//! sentence, English gerunds, capitals, variants).

use super::facts::{Facts, Goal};
use super::phrases::{fill, Lang};

impl Facts<'_> {
    /// `template` (one of `self.words`) filled with this business's details
    /// and `extra` (`[("service", "croissants")]`).
    pub fn say(&self, template: &str, extra: &[(&str, &str)]) -> String {
        let services = self.services_list();
        let in_place = self.in_place();
        let a_kind = format!("{} {}", self.article(), self.kind);
        let kind = capitalise(&self.kind);
        let services_cap = capitalise(&services);
        let mut vars: Vec<(&str, &str)> = vec![
            ("name", self.name),
            ("kind", &self.kind),
            ("Kind", &kind),
            ("a_kind", &a_kind),
            ("place", self.place.as_deref().unwrap_or_default()),
            ("in_place", &in_place),
            ("services", &services),
            ("Services", &services_cap),
            ("audience", &self.audience),
        ];
        vars.extend_from_slice(extra);
        // A value is filled in once: the user's text is never read as a template.
        let said = fill(template, &vars);
        if self.lang == Lang::Fr {
            french_spacing(&said)
        } else {
            said
        }
    }

    /// " in Lyon" (" à Lyon"…), or nothing when the place is unknown.
    pub fn in_place(&self) -> String {
        self.place
            .as_ref()
            .map(|p| fill(&self.words.in_place, &[("place", p)]))
            .unwrap_or_default()
    }

    /// "sourdough bread, croissants and celebration cakes".
    pub fn services_list(&self) -> String {
        join_and(&self.services, &self.words.and)
    }

    /// "a" or "an", for the business's kind (English only).
    pub fn article(&self) -> &'static str {
        match self.kind.chars().next() {
            Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
            _ => "a",
        }
    }

    /// The description's first sentence, made to name the business.
    pub fn lead(&self) -> String {
        let w = self.words;
        let starts = |openings: &[String], text: &str| openings.iter().any(|o| text.starts_with(o));
        match self.sentences.first() {
            Some(first) if first.contains(self.name) => first.clone(),
            // "A family bakery in Lyon…" → "Maison Lune is a family bakery in Lyon…"
            Some(first) if starts(&w.articles, first) => {
                self.say(&w.lead_is, &[("rest", &lowercase_first(first))])
            }
            // "We bake…" → "At Maison Lune, we bake…"
            Some(first) if starts(&w.we, first) => {
                self.say(&w.lead_we, &[("rest", &lowercase_first(first))])
            }
            Some(first) => self.say(&w.lead_plain, &[("rest", &lowercase_first(first))]),
            None => self.say(&w.lead_none, &[]),
        }
    }

    /// The goals as a list: in English as "-ing" phrases ("taking online
    /// orders and being found on Google"), in other languages as written.
    pub fn goal_phrases(&self) -> String {
        let phrases: Vec<String> = self
            .goals
            .iter()
            .map(|(_, g)| {
                let g = lowercase_first(g.trim_end_matches('.'));
                if self.lang == Lang::En {
                    gerund(&g)
                } else {
                    g
                }
            })
            .collect();
        join_and(&phrases, &self.words.and)
    }

    /// One sentence on what the main goal means for the visitor.
    pub fn goal_sentence(&self, variant: u32, salt: usize) -> String {
        let lines = &self.words.goal;
        let first = self.goals.first().map(|(g, _)| *g).unwrap_or(Goal::Other);
        let template = match first {
            Goal::Sell => &lines.sell,
            Goal::Booking => &lines.booking,
            Goal::Donations => &lines.donations,
            Goal::Events => &lines.events,
            Goal::Newsletter => &lines.newsletter,
            Goal::Leads | Goal::Visibility | Goal::Other => pick(variant, salt, &lines.contact),
        };
        self.say(template, &[])
    }
}

/// Picks one of several phrasings: stable for a variant, different for the next.
pub(super) fn pick<T>(variant: u32, salt: usize, options: &[T]) -> &T {
    &options[(variant as usize + salt) % options.len()]
}

/// Verbs a goal may start with, as the brief writes them ("Take online orders").
const GOAL_VERBS: &[&str] = &[
    "accept",
    "add",
    "advertise",
    "announce",
    "answer",
    "attract",
    "be",
    "become",
    "boost",
    "book",
    "bring",
    "build",
    "capture",
    "collect",
    "connect",
    "convert",
    "create",
    "double",
    "drive",
    "earn",
    "educate",
    "encourage",
    "engage",
    "establish",
    "expand",
    "explain",
    "feature",
    "fill",
    "find",
    "gain",
    "generate",
    "get",
    "give",
    "grow",
    "handle",
    "have",
    "help",
    "highlight",
    "improve",
    "increase",
    "inform",
    "invite",
    "keep",
    "land",
    "launch",
    "let",
    "list",
    "make",
    "manage",
    "offer",
    "open",
    "plan",
    "post",
    "present",
    "promote",
    "provide",
    "publish",
    "raise",
    "rank",
    "reach",
    "receive",
    "recruit",
    "reduce",
    "retain",
    "run",
    "save",
    "secure",
    "sell",
    "set",
    "share",
    "shop",
    "show",
    "showcase",
    "sign",
    "start",
    "stop",
    "take",
    "tell",
    "track",
    "turn",
    "update",
    "use",
    "welcome",
    "win",
    "write",
];

/// Short verbs that double their last consonant: "get" → "getting".
const DOUBLING: &[&str] = &[
    "get", "set", "let", "run", "win", "stop", "plan", "shop", "put", "cut",
];

/// "take online orders" → "taking online orders"; leaves phrases that do
/// not start with a verb we know as they are.
fn gerund(phrase: &str) -> String {
    let (first, rest) = phrase.split_once(' ').unwrap_or((phrase, ""));
    if !GOAL_VERBS.contains(&first) {
        return phrase.to_owned();
    }
    let ing = if first == "be" {
        "being".to_owned()
    } else if DOUBLING.contains(&first) {
        let last = &first[first.len() - 1..];
        format!("{first}{last}ing")
    } else if let Some(stem) = first.strip_suffix("ie") {
        format!("{stem}ying")
    } else if first.ends_with('e') && !first.ends_with("ee") && !first.ends_with("ye") {
        format!("{}ing", &first[..first.len() - 1])
    } else {
        format!("{first}ing")
    };
    if rest.is_empty() {
        ing
    } else {
        format!("{ing} {rest}")
    }
}

/// Lowercases the first letter, leaving acronyms and names ("SEO", "Lyon") as they are.
pub(super) fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c)
            if chars
                .clone()
                .next()
                .is_some_and(|n| n.is_lowercase() || n == ' ') =>
        {
            c.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}

/// Uppercases the first letter: "croissants" → "Croissants".
pub(super) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "a, b and c" (with the language's "and").
fn join_and(items: &[String], and: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {and} {last}", init.join(", ")),
    }
}

/// French puts a space before `:`, `;`, `!` and `?` that must not break
/// (else a heading can start a line with the colon): the space before them
/// becomes a no-break space.
fn french_spacing(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' && matches!(chars.peek(), Some(':' | ';' | '!' | '?')) {
            out.push('\u{a0}');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draft::Brief;

    #[test]
    fn goals_become_gerunds_and_lists_read_as_english() {
        assert_eq!(gerund("take online orders"), "taking online orders");
        assert_eq!(gerund("get more clients"), "getting more clients");
        assert_eq!(gerund("be found on Google"), "being found on Google");
        assert_eq!(gerund("SEO"), "SEO");
        assert_eq!(lowercase_first("Be found"), "be found");
        assert_eq!(lowercase_first("SEO first"), "SEO first");
        assert_eq!(
            join_and(&["a".into(), "b".into(), "c".into()], "and"),
            "a, b and c"
        );
        assert_eq!(capitalise("éclairs"), "Éclairs");
    }

    #[test]
    fn the_brief_s_goals_read_as_one_english_phrase() {
        let brief = Brief {
            business_name: "Lex & Co".into(),
            business_type: "Law firm".into(),
            description: "A law firm in Leeds.".into(),
            goals: vec![
                "Generate consultation requests".into(),
                "Take online orders".into(),
                "Get more bookings".into(),
                "Grow the newsletter".into(),
                "Improve our ranking.".into(),
                "Online appointment booking".into(),
            ],
            ..Default::default()
        };
        assert_eq!(
            Facts::of(&brief).goal_phrases(),
            "generating consultation requests, taking online orders, getting more bookings, \
             growing the newsletter, improving our ranking and online appointment booking"
        );
    }

    #[test]
    fn the_space_before_french_double_punctuation_does_not_break() {
        assert_eq!(
            french_spacing("Atelier Yoga Soleil : du yoga ? Oui !"),
            "Atelier Yoga Soleil\u{a0}: du yoga\u{a0}? Oui\u{a0}!"
        );
        assert_eq!(french_spacing("9:00 et 10 h"), "9:00 et 10 h");
    }
}
