//! How the offline engine words things: phrase helpers (lists, gerunds,
//! capitals, variants) and the sentences about the business that every
//! stage reuses (its place, its lead, its goals).

use super::facts::{Facts, Goal};

impl Facts<'_> {
    /// " in Lyon", or nothing when the place is unknown.
    pub fn in_place(&self) -> String {
        self.place
            .as_ref()
            .map(|p| format!(" in {p}"))
            .unwrap_or_default()
    }

    /// "sourdough bread, croissants and celebration cakes".
    pub fn services_list(&self) -> String {
        join_and(&self.services)
    }

    /// "a" or "an", for the business's kind.
    pub fn article(&self) -> &'static str {
        match self.kind.chars().next() {
            Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
            _ => "a",
        }
    }

    /// The description's sentences that mention the business, or its first one.
    pub fn lead(&self) -> String {
        match self.sentences.first() {
            Some(first) if first.contains(self.name) => first.clone(),
            // "A family bakery in Lyon…" → "Maison Lune is a family bakery in Lyon…"
            Some(first) if ["A ", "An ", "The "].iter().any(|a| first.starts_with(a)) => {
                format!("{} is {}", self.name, lowercase_first(first))
            }
            // "We bake…" → "At Maison Lune, we bake…"
            Some(first) if first.starts_with("We ") || first.starts_with("Our ") => {
                format!("At {}, {}", self.name, lowercase_first(first))
            }
            Some(first) => format!("{}: {}", self.name, lowercase_first(first)),
            None => format!(
                "{} is {} {}{}.",
                self.name,
                self.article(),
                self.kind,
                self.in_place()
            ),
        }
    }

    /// The goals as "-ing" phrases: "taking online orders and being found on Google".
    pub fn goal_phrases(&self) -> String {
        join_and(
            &self
                .goals
                .iter()
                .map(|(_, g)| gerund(&lowercase_first(g)))
                .collect::<Vec<_>>(),
        )
    }

    /// One sentence on what the main goal means for the visitor.
    pub fn goal_sentence(&self, variant: u32, salt: usize) -> String {
        let first = self.goals.first().map(|(g, _)| *g).unwrap_or(Goal::Other);
        match first {
            Goal::Sell => "Order online in a few clicks and collect it when it suits you.".into(),
            Goal::Booking => "Pick a time online and get a confirmation straight away.".into(),
            Goal::Donations => format!(
                "Every gift goes straight to {}'s work{}.",
                self.name,
                self.in_place()
            ),
            Goal::Events => "See what is coming up and save your place.".into(),
            Goal::Newsletter => format!(
                "Sign up for news from {} and hear first about what is new.",
                self.name
            ),
            Goal::Leads | Goal::Visibility | Goal::Other => format!(
                "Send {} a short message and get a clear answer. {}",
                self.name,
                pick(
                    variant,
                    salt,
                    &["It only takes a minute.", "There is no obligation."]
                )
            ),
        }
    }
}

/// Picks one of several phrasings: stable for a variant, different for the next.
pub(super) fn pick<'s>(variant: u32, salt: usize, options: &[&'s str]) -> &'s str {
    options[(variant as usize + salt) % options.len()]
}

/// "take online orders" → "taking online orders"; leaves phrases that do not start with a verb we know.
fn gerund(phrase: &str) -> String {
    let (first, rest) = phrase.split_once(' ').unwrap_or((phrase, ""));
    let ing = match first {
        "be" => "being".to_owned(),
        "get" | "set" | "win" | "run" => format!("{first}{}ing", &first[first.len() - 1..]),
        "take" | "make" | "raise" | "increase" | "have" | "create" | "share" | "improve"
        | "use" | "receive" | "manage" | "welcome" => {
            format!("{}ing", &first[..first.len() - 1])
        }
        "sell" | "grow" | "book" | "build" | "reach" | "attract" | "accept" | "offer" | "show"
        | "collect" | "find" | "recruit" | "launch" | "keep" | "bring" | "help" | "turn"
        | "fill" | "sign" | "start" | "generate" | "list" | "rank" | "add" => {
            format!("{first}ing")
        }
        _ => return phrase.to_owned(),
    };
    if rest.is_empty() {
        ing
    } else {
        format!("{ing} {rest}")
    }
}

/// Lowercases the first letter, leaving acronyms and names ("SEO", "Lyon") as they are.
fn lowercase_first(text: &str) -> String {
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

/// "a, b and c".
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_become_gerunds_and_lists_read_as_english() {
        assert_eq!(gerund("take online orders"), "taking online orders");
        assert_eq!(gerund("get more clients"), "getting more clients");
        assert_eq!(gerund("be found on Google"), "being found on Google");
        assert_eq!(gerund("SEO"), "SEO");
        assert_eq!(lowercase_first("Be found"), "be found");
        assert_eq!(lowercase_first("SEO first"), "SEO first");
        assert_eq!(
            join_and(&["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
        assert_eq!(capitalise("éclairs"), "Éclairs");
    }
}
