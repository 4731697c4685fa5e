//! The offline engine: the embedded default when no API key is set. It
//! answers the same structured requests as a language model, deterministically,
//! from the business's own details: its name, type, place, services, audience
//! and goals, drawn from the brief. A business type picks a profile (pages,
//! palette, fonts, wording), which the brief's style preferences adjust
//! (`style.rs`); everything a visitor reads names this business.

use async_trait::async_trait;
use gsw_storage::TokenCounts;
use serde_json::Value;

use crate::agents::{slugify, ContentInput, DesignInput, PluginInput};
use crate::catalog;
use crate::draft::{
    Brief, Design, FontPair, Item, Link, PageContent, PagePlan, Palette, PluginChoice, PluginPlan,
    Section, SectionKind, SectionPlan, Sitemap,
};
use crate::provider::{ModelError, ModelProvider, ModelReply, ModelRequest, Stage};
use style::Wish;

mod style;

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

/// Answers one request, synchronously.
pub fn answer(stage: Stage, input: &Value) -> Result<Value, ModelError> {
    let bad = |e: serde_json::Error| {
        ModelError::Malformed(format!("offline {} input: {e}", stage.as_str()))
    };
    let output = match stage {
        Stage::Planning => {
            let brief: Brief = serde_json::from_value(input.clone()).map_err(bad)?;
            serde_json::to_value(plan(&Facts::of(&brief)))
        }
        Stage::Design => {
            let input: DesignInput = serde_json::from_value(input.clone()).map_err(bad)?;
            serde_json::to_value(design(&Facts::of(&input.brief)))
        }
        Stage::Content => {
            let input: ContentInput = serde_json::from_value(input.clone()).map_err(bad)?;
            let page = input.sitemap.page(&input.slug).ok_or_else(|| {
                ModelError::Malformed(format!("no page {:?} in the sitemap", input.slug))
            })?;
            serde_json::to_value(write_page(
                &Facts::of(&input.brief),
                &input.sitemap,
                page,
                input.variant,
            ))
        }
        Stage::Plugins => {
            let input: PluginInput = serde_json::from_value(input.clone()).map_err(bad)?;
            serde_json::to_value(plugins(&Facts::of(&input.brief)))
        }
    };
    output.map_err(|e| ModelError::Malformed(e.to_string()))
}

/// What a kind of business needs and how it looks.
struct Profile {
    words: &'static [&'static str],
    /// The page listing what the business offers: slug and title.
    offer: (&'static str, &'static str),
    customers: &'static str,
    defaults: &'static [&'static str],
    palette: [&'static str; 6],
    fonts: (&'static str, &'static str),
    style: &'static str,
    /// First visit, in three steps.
    steps: [(&'static str, &'static str); 3],
}

const PROFILES: &[Profile] = &[
    Profile {
        words: &[
            "bakery",
            "restaurant",
            "cafe",
            "café",
            "bistro",
            "pizzeria",
            "bar",
            "catering",
            "patisserie",
            "deli",
            "brasserie",
            "coffee",
        ],
        offer: ("menu", "Menu"),
        customers: "neighbours, regulars and food lovers",
        defaults: &["seasonal dishes", "takeaway", "catering for events"],
        palette: [
            "#fffaf3", "#2b1d12", "#8a3b12", "#ffffff", "#f3e6d3", "#d98e04",
        ],
        fonts: ("Playfair Display", "Source Sans 3"),
        style: "Warm cream and roasted browns with an editorial serif: appetising and homely.",
        steps: [
            (
                "Have a look at the menu",
                "See what is on offer this season.",
            ),
            ("Order or reserve", "Tell us what you would like and when."),
            ("Enjoy", "Collect, sit down or have it delivered."),
        ],
    },
    Profile {
        words: &[
            "salon", "spa", "barber", "beauty", "nail", "hair", "massage", "cosmetic",
        ],
        offer: ("treatments", "Treatments"),
        customers: "clients who want to look and feel their best",
        defaults: &["haircuts and styling", "colour", "treatments"],
        palette: [
            "#fdf8f8", "#2d2226", "#8c2f5a", "#ffffff", "#f4e4ea", "#c9a27e",
        ],
        fonts: ("Cormorant Garamond", "Lato"),
        style: "Soft blush and deep plum with an elegant serif: calm and refined.",
        steps: [
            ("Choose a treatment", "Pick what you would like done."),
            ("Book a time", "Choose a slot that suits you."),
            (
                "Relax",
                "Arrive a few minutes early and let us do the rest.",
            ),
        ],
    },
    Profile {
        words: &[
            "dentist",
            "dental",
            "clinic",
            "physio",
            "therapist",
            "therapy",
            "doctor",
            "medical",
            "vet",
            "veterinary",
            "osteopath",
            "optician",
            "pharmacy",
            "health",
        ],
        offer: ("services", "Services"),
        customers: "patients and families",
        defaults: &["check-ups", "treatment", "advice and prevention"],
        palette: [
            "#f7fbfc", "#102a36", "#0b6477", "#ffffff", "#e3f1f4", "#14a098",
        ],
        fonts: ("Nunito", "Open Sans"),
        style: "Clean teal on airy white with rounded type: reassuring and clear.",
        steps: [
            ("Get in touch", "Tell us what you need."),
            ("Book an appointment", "We find a time that works for you."),
            ("Visit us", "Bring any notes or previous records."),
        ],
    },
    Profile {
        words: &[
            "law",
            "lawyer",
            "attorney",
            "solicitor",
            "notary",
            "accountant",
            "accounting",
            "consult",
            "advis",
            "financial",
            "insurance",
            "agency",
            "marketing",
        ],
        offer: ("services", "Services"),
        customers: "private clients and businesses",
        defaults: &["advice", "representation", "ongoing support"],
        palette: [
            "#ffffff", "#1c2333", "#1f3a68", "#ffffff", "#eef1f6", "#b08d57",
        ],
        fonts: ("Libre Baskerville", "Inter"),
        style: "Navy and brass with a classic serif: trustworthy and precise.",
        steps: [
            (
                "Tell us about your situation",
                "A short message is enough to start.",
            ),
            (
                "First conversation",
                "We explain your options and what they involve.",
            ),
            (
                "We get to work",
                "You get a clear plan and a named contact.",
            ),
        ],
    },
    Profile {
        words: &[
            "plumb",
            "electric",
            "builder",
            "roof",
            "carpent",
            "painter",
            "decorat",
            "cleaning",
            "cleaner",
            "landscap",
            "garden",
            "repair",
            "handyman",
            "construction",
            "renovat",
            "locksmith",
            "hvac",
            "heating",
        ],
        offer: ("services", "Services"),
        customers: "homeowners, landlords and local businesses",
        defaults: &["repairs", "installations", "maintenance"],
        palette: [
            "#ffffff", "#1f2328", "#a63a0a", "#ffffff", "#f2f4f5", "#f2a900",
        ],
        fonts: ("Oswald", "Roboto"),
        style: "Bold safety orange on clean white with a strong sans: dependable and direct.",
        steps: [
            (
                "Describe the job",
                "Send a message with a few details or photos.",
            ),
            ("Get a quote", "A clear price before any work starts."),
            ("Job done", "We do the work and leave the place tidy."),
        ],
    },
    Profile {
        words: &[
            "gym", "fitness", "yoga", "pilates", "trainer", "training", "dance", "martial",
            "crossfit", "boxing", "climbing", "sport",
        ],
        offer: ("classes", "Classes"),
        customers: "beginners and regulars alike",
        defaults: &["group classes", "personal training", "open sessions"],
        palette: [
            "#f9fafb", "#111827", "#b91c1c", "#ffffff", "#eceff3", "#f59e0b",
        ],
        fonts: ("Montserrat", "Inter"),
        style: "Energetic red on cool greys with a geometric sans: lively and motivating.",
        steps: [
            ("Pick a class", "Find one that matches your level."),
            ("Book your spot", "Reserve a place in a few clicks."),
            ("Show up", "Bring water and comfortable clothes."),
        ],
    },
    Profile {
        words: &[
            "photograph",
            "studio",
            "artist",
            "architect",
            "videograph",
            "film",
            "wedding",
            "illustrat",
            "designer",
            "design",
        ],
        offer: ("portfolio", "Portfolio"),
        customers: "people planning something worth remembering",
        defaults: &["commissions", "sessions", "prints"],
        palette: [
            "#fafaf7", "#1a1a1a", "#3d3d3d", "#ffffff", "#ecebe6", "#c8553d",
        ],
        fonts: ("DM Serif Display", "DM Sans"),
        style: "Gallery white and charcoal that let the work speak, with one warm accent.",
        steps: [
            ("Share your idea", "Tell us what you have in mind."),
            (
                "Plan it together",
                "We agree on the details, dates and price.",
            ),
            ("Receive the work", "Delivered finished and ready to use."),
        ],
    },
    Profile {
        words: &[
            "shop", "store", "boutique", "florist", "bookshop", "jewel", "gift", "retail",
            "market", "wine", "fashion", "clothing",
        ],
        offer: ("products", "Products"),
        customers: "local shoppers and gift hunters",
        defaults: &["new arrivals", "gifts", "local favourites"],
        palette: [
            "#fffdf9", "#2a2522", "#5b3a8c", "#ffffff", "#f1ece4", "#e07a5f",
        ],
        fonts: ("Fraunces", "Work Sans"),
        style: "Boutique aubergine on warm paper with a characterful serif: curated and inviting.",
        steps: [
            ("Browse", "See what is in stock."),
            ("Order", "Buy online or reserve for collection."),
            (
                "Collect or receive",
                "Pick it up in store or have it delivered.",
            ),
        ],
    },
    Profile {
        words: &[
            "hotel",
            "b&b",
            "bed and breakfast",
            "guesthouse",
            "guest house",
            "inn",
            "camping",
            "hostel",
            "cottage",
            "lodge",
            "holiday",
        ],
        offer: ("rooms", "Rooms"),
        customers: "travellers and weekend guests",
        defaults: &["rooms", "breakfast", "local tips"],
        palette: [
            "#fbfaf6", "#23271f", "#3f5e3a", "#ffffff", "#eae8dc", "#c99a4b",
        ],
        fonts: ("Lora", "Raleway"),
        style: "Forest green and linen with a gentle serif: restful and welcoming.",
        steps: [
            ("Choose your dates", "Check when you would like to stay."),
            ("Book your room", "Reserve directly with us."),
            (
                "Arrive and unwind",
                "We share arrival details before your stay.",
            ),
        ],
    },
    Profile {
        words: &[
            "charity",
            "nonprofit",
            "non-profit",
            "association",
            "foundation",
            "church",
            "community",
            "volunteer",
            "ngo",
        ],
        offer: ("what-we-do", "What we do"),
        customers: "supporters, volunteers and the people we serve",
        defaults: &["community programmes", "volunteering", "support"],
        palette: [
            "#ffffff", "#1b2a2f", "#1d6b48", "#ffffff", "#e8f3ed", "#f2b134",
        ],
        fonts: ("Merriweather", "Source Sans 3"),
        style: "Hopeful green on white with a sturdy serif: open and credible.",
        steps: [
            ("Learn about our work", "See what we do and why."),
            ("Get involved", "Volunteer, donate or spread the word."),
            (
                "See the difference",
                "We report on what your support achieves.",
            ),
        ],
    },
    Profile {
        words: &[
            "school",
            "tutor",
            "course",
            "academy",
            "language",
            "driving",
            "lesson",
            "teach",
            "education",
            "training centre",
            "music",
        ],
        offer: ("courses", "Courses"),
        customers: "learners of every level",
        defaults: &["courses", "private lessons", "exam preparation"],
        palette: [
            "#fdfdfb", "#1e2a3a", "#2e4f9e", "#ffffff", "#eaf0fa", "#f5a623",
        ],
        fonts: ("Poppins", "Noto Sans"),
        style:
            "Confident blue with a sunny accent and friendly geometric type: clear and encouraging.",
        steps: [
            ("Find your course", "Pick the level and format that fits."),
            ("Enrol", "Reserve your place."),
            ("Start learning", "Your first lesson sets a clear plan."),
        ],
    },
    Profile {
        words: &[
            "software",
            "saas",
            "app",
            "startup",
            "it ",
            "tech",
            "platform",
            "developer",
            "web",
        ],
        offer: ("features", "Features"),
        customers: "teams who want their tools to just work",
        defaults: &["the product", "integrations", "support"],
        palette: [
            "#ffffff", "#0f172a", "#4338ca", "#ffffff", "#eef2ff", "#06b6d4",
        ],
        fonts: ("Space Grotesk", "Inter"),
        style: "Indigo on crisp white with a technical grotesk: modern and focused.",
        steps: [
            ("See how it works", "A short tour of the essentials."),
            ("Try it", "Set it up with your own data."),
            (
                "Grow with it",
                "Add people and integrations as you need them.",
            ),
        ],
    },
];

const GENERAL: Profile = Profile {
    words: &[],
    offer: ("services", "Services"),
    customers: "local customers",
    defaults: &["our services", "advice", "aftercare"],
    palette: [
        "#ffffff", "#1f2933", "#245d8f", "#ffffff", "#eef2f6", "#e3a008",
    ],
    fonts: ("Archivo", "Source Sans 3"),
    style: "Steady blue on white with a clean sans: straightforward and trustworthy.",
    steps: [
        ("Get in touch", "Tell us what you need."),
        ("Agree the details", "We confirm what, when and how much."),
        ("We deliver", "And stay available for questions afterwards."),
    ],
};

/// What the visitor should end up doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    Booking,
    Sell,
    Donations,
    Events,
    Newsletter,
    Leads,
    Visibility,
    Other,
}

fn goal_of(text: &str) -> Goal {
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
struct Facts<'a> {
    brief: &'a Brief,
    name: &'a str,
    kind: String,
    profile: &'static Profile,
    place: Option<String>,
    services: Vec<String>,
    audience: String,
    goals: Vec<(Goal, String)>,
    sentences: Vec<String>,
}

impl<'a> Facts<'a> {
    fn of(brief: &'a Brief) -> Self {
        let type_text = brief.business_type.to_lowercase();
        let all = format!("{} {}", type_text, brief.description.to_lowercase());
        let profile = PROFILES
            .iter()
            .find(|p| p.words.iter().any(|w| type_text.contains(w)))
            .or_else(|| {
                PROFILES
                    .iter()
                    .find(|p| p.words.iter().any(|w| all.contains(w)))
            })
            .unwrap_or(&GENERAL);
        let services = services_in(&brief.description);
        let services = if services.len() >= 2 {
            services
        } else {
            profile.defaults.iter().map(|s| s.to_string()).collect()
        };
        Facts {
            brief,
            name: brief.business_name.trim(),
            kind: brief.business_type.trim().to_lowercase(),
            profile,
            place: place_in(&brief.description),
            services,
            audience: audience_in(&brief.description)
                .unwrap_or_else(|| profile.customers.to_owned()),
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

    fn has(&self, goal: Goal) -> bool {
        self.goals.iter().any(|(g, _)| *g == goal)
    }

    fn in_place(&self) -> String {
        self.place
            .as_ref()
            .map(|p| format!(" in {p}"))
            .unwrap_or_default()
    }

    fn services_list(&self) -> String {
        join_and(&self.services)
    }

    /// The main thing a visitor can do, as (page slug, button label).
    fn action(&self) -> (&'static str, String) {
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

    fn article(&self) -> &'static str {
        match self.kind.chars().next() {
            Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
            _ => "a",
        }
    }

    /// The description's sentences that mention the business, or its first one.
    fn lead(&self) -> String {
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
    fn goal_phrases(&self) -> String {
        join_and(
            &self
                .goals
                .iter()
                .map(|(_, g)| gerund(&lowercase_first(g)))
                .collect::<Vec<_>>(),
        )
    }

    /// One sentence on what the main goal means for the visitor.
    fn goal_sentence(&self, variant: u32, salt: usize) -> String {
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

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        // Leave acronyms and names ("SEO", "Lyon") as they are.
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

pub(crate) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
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
            let joiner = !place.is_empty()
                && matches!(clean, "de" | "du" | "la" | "le" | "upon" | "on" | "am");
            if !(capital || joiner) || clean.is_empty() {
                break;
            }
            place.push(clean.trim_end_matches("'s").trim_end_matches("’s"));
            if clean.len() != next.len() || place.len() == 4 {
                break;
            }
        }
        while place
            .last()
            .is_some_and(|w| matches!(*w, "de" | "du" | "la" | "le" | "upon" | "on" | "am"))
        {
            place.pop();
        }
        if !place.is_empty() {
            return Some(place.join(" "));
        }
    }
    None
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

/// The things the business offers, after "offer", "sell", "make", "specialise in"…
fn services_in(description: &str) -> Vec<String> {
    const VERBS: &[&str] = &[
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
    let lower = description.to_lowercase();
    for verb in VERBS {
        let Some(at) = lower.find(verb) else { continue };
        let start = at + verb.len();
        let tail = &description[start..];
        let clause = tail
            .split(['.', ';', ':', '!', '?', '('])
            .next()
            .unwrap_or("");
        let mut items = Vec::new();
        for part in clause
            .split(',')
            .flat_map(|p| p.split(" and "))
            .flat_map(|p| p.split(" & "))
        {
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
            if (3..=40).contains(&len) && !item.chars().any(|c| c.is_ascii_digit()) {
                items.push(item.to_owned());
            }
        }
        items.dedup();
        if items.len() >= 2 {
            items.truncate(6);
            return items;
        }
    }
    Vec::new()
}

fn section(kind: SectionKind, intent: impl Into<String>) -> SectionPlan {
    SectionPlan {
        kind,
        intent: intent.into(),
    }
}

fn page(
    slug: &str,
    title: &str,
    parent: Option<&str>,
    purpose: String,
    sections: Vec<SectionPlan>,
) -> PagePlan {
    PagePlan {
        slug: slug.into(),
        title: title.into(),
        parent: parent.map(Into::into),
        purpose,
        sections,
    }
}

fn plan(f: &Facts) -> Sitemap {
    use SectionKind::*;
    let (offer_slug, offer_title) = f.profile.offer;
    let mut pages = vec![page(
        "home",
        "Home",
        None,
        format!(
            "Introduce {} and lead visitors to {}.",
            f.name,
            f.action().1.to_lowercase()
        ),
        vec![
            section(
                Hero,
                "Say who we are and what we offer, with the main call to action.",
            ),
            section(Features, "Show the main services."),
            section(Text, "Why people choose us."),
            section(Steps, "How a first visit or order works."),
            section(CallToAction, "Lead to the main goal."),
        ],
    )];
    pages.push(page(
        offer_slug,
        offer_title,
        None,
        format!("Present everything {} offers.", f.name),
        vec![
            section(Hero, "Introduce the offer."),
            section(Features, "Every service with a short description."),
            section(CallToAction, "Lead to the main goal."),
        ],
    ));
    for service in f.services.iter().take(3) {
        let slug = slugify(service);
        if slug.is_empty() || pages.iter().any(|p| p.slug == slug) {
            continue;
        }
        pages.push(page(
            &slug,
            &capitalise(service),
            Some(offer_slug),
            format!("Explain {service} at {} and how to get it.", f.name),
            vec![
                section(Hero, format!("Introduce {service}.")),
                section(Text, "What it involves."),
                section(Steps, "How to get it."),
                section(CallToAction, "Lead to the main goal."),
            ],
        ));
    }
    let goal_pages = [
        (Goal::Booking, "book", "Book", "Let visitors book online."),
        (Goal::Sell, "shop", "Shop", "Let visitors buy online."),
        (Goal::Events, "events", "Events", "List what is coming up."),
        (Goal::Donations, "donate", "Donate", "Make giving easy."),
    ];
    for (goal, slug, title, purpose) in goal_pages {
        if f.has(goal) && !pages.iter().any(|p| p.slug == slug) {
            pages.push(page(
                slug,
                title,
                None,
                purpose.into(),
                vec![
                    section(Hero, purpose),
                    section(Steps, "How it works."),
                    section(Faq, "Practical questions."),
                ],
            ));
        }
    }
    pages.push(page(
        "about",
        "About",
        None,
        format!("Tell the story of {} and what it stands for.", f.name),
        vec![
            section(Hero, "Who we are."),
            section(Text, "Our story."),
            section(Features, "What we stand for."),
            section(CallToAction, "Invite the visitor to get in touch."),
        ],
    ));
    pages.push(page(
        "faq",
        "FAQ",
        None,
        format!("Answer the questions people ask {} most.", f.name),
        vec![
            section(Hero, "Introduce the questions."),
            section(Faq, "Questions and answers."),
            section(CallToAction, "Offer a way to ask anything else."),
        ],
    ));
    pages.push(page(
        "contact",
        "Contact",
        None,
        format!("Make it easy to reach {}.", f.name),
        vec![
            section(Hero, "Invite the visitor to get in touch."),
            section(Contact, "How to reach us."),
        ],
    ));
    let mut navigation: Vec<String> = vec!["home".into(), offer_slug.into()];
    for slug in [
        "book", "shop", "events", "donate", "about", "faq", "contact",
    ] {
        if pages.iter().any(|p| p.slug == slug) {
            navigation.push(slug.into());
        }
    }
    Sitemap { pages, navigation }
}

/// The business type's look, changed as far as the brief's style
/// preferences ask and [`Wish`] can read them.
fn design(f: &Facts) -> Design {
    let [base, contrast, primary, on_primary, secondary, accent] = f.profile.palette;
    let palette = Palette {
        base: base.into(),
        contrast: contrast.into(),
        primary: primary.into(),
        on_primary: on_primary.into(),
        secondary: secondary.into(),
        accent: accent.into(),
    };
    let fonts = FontPair {
        heading: f.profile.fonts.0.into(),
        body: f.profile.fonts.1.into(),
    };
    let style = f.brief.style.as_deref().unwrap_or_default();
    let wish = Wish::read(style);
    Design {
        theme: "twentytwentythree".into(),
        style: if wish.is_empty() {
            f.profile.style.into()
        } else {
            wish.describe(style)
        },
        palette: wish.palette(&palette),
        fonts: wish.fonts(&fonts),
    }
}

fn plugins(f: &Facts) -> PluginPlan {
    let mut plugins = Vec::new();
    for entry in catalog::CATALOG {
        let goal = f.brief.goals.iter().find(|g| catalog::serves(entry, g));
        let by_type = catalog::serves(entry, &f.brief.business_type);
        let reason = match (goal, by_type, entry.essential) {
            (Some(goal), _, _) => format!(
                "{} gives {} {} for the goal \u{201c}{}\u{201d}.",
                entry.name,
                f.name,
                entry.what_for,
                goal.trim()
            ),
            (None, true, _) => format!(
                "{} gives {} {}, which {} {} needs.",
                entry.name,
                f.name,
                entry.what_for,
                f.article(),
                f.kind
            ),
            (None, false, true) => format!(
                "Every site needs {}; {} covers it for {}.",
                entry.what_for, entry.name, f.name
            ),
            (None, false, false) => continue,
        };
        plugins.push(PluginChoice {
            slug: entry.slug.into(),
            name: entry.name.into(),
            category: entry.category.into(),
            reason,
            settings: catalog::default_settings(entry, f.name),
        });
    }
    PluginPlan { plugins }
}

/// Picks one of several phrasings: stable for a variant, different for the next.
fn pick<'s>(variant: u32, salt: usize, options: &[&'s str]) -> &'s str {
    options[(variant as usize + salt) % options.len()]
}

fn link(sitemap: &Sitemap, slug: &str, label: String) -> Option<Link> {
    sitemap.page(slug).map(|_| Link {
        label,
        slug: slug.into(),
    })
}

fn write_page(f: &Facts, sitemap: &Sitemap, plan: &PagePlan, variant: u32) -> PageContent {
    let (action_slug, action_label) = f.action();
    let action = link(sitemap, action_slug, action_label.clone())
        .or_else(|| link(sitemap, "contact", format!("Contact {}", f.name)));
    let offer_slug = f.profile.offer.0;
    let service = f.services.iter().find(|s| slugify(s) == plan.slug).cloned();
    let mut sections = Vec::new();
    for (index, planned) in plan.sections.iter().enumerate() {
        let mut s = Section {
            kind: planned.kind,
            heading: String::new(),
            paragraphs: vec![],
            items: vec![],
            link: None,
        };
        match planned.kind {
            SectionKind::Hero => {
                s.heading = match (plan.slug.as_str(), &service) {
                    ("home", _) => match pick(variant, 0, &["a", "b"]) {
                        "a" => format!(
                            "{}: {}{}",
                            f.name,
                            capitalise(&f.services_list()).to_owned(),
                            f.in_place()
                        ),
                        _ => format!(
                            "{}{} from {}",
                            capitalise(&f.services_list()),
                            f.in_place(),
                            f.name
                        ),
                    },
                    (_, Some(service)) => {
                        format!("{}{} at {}", capitalise(service), f.in_place(), f.name)
                    }
                    ("about", _) => format!("About {}", f.name),
                    ("contact", _) => format!("Contact {}", f.name),
                    ("faq", _) => format!("Questions about {}", f.name),
                    ("book", _) => format!("Book with {}", f.name),
                    ("shop", _) => format!("Shop {} online", f.name),
                    ("events", _) => format!("Events at {}", f.name),
                    ("donate", _) => format!("Support {}", f.name),
                    (slug, _) if slug == offer_slug => format!("{} at {}", plan.title, f.name),
                    _ => format!("{}: {}", plan.title, f.name),
                };
                s.paragraphs.push(match (plan.slug.as_str(), &service) {
                    ("home", _) => f.lead(),
                    (_, Some(service)) => format!(
                        "{} offers {service}{} for {}. {}",
                        f.name, f.in_place(), f.audience,
                        pick(variant, index, &["Here is what it involves and how to arrange it.", "This page explains what to expect and how to get started."])
                    ),
                    ("about", _) => format!("{} is {} {}{}, working for {}.", f.name, f.article(), f.kind, f.in_place(), f.audience),
                    ("contact", _) => format!("Questions about {}? Write to {} and you will hear back from a person, not a robot.", f.services_list(), f.name),
                    ("faq", _) => format!("Straight answers to what people ask {} most often, from {} to how to get in touch.", f.name, f.services.first().cloned().unwrap_or_default()),
                    ("book", _) => format!("Choose a time that suits you and book with {} online, day or night.", f.name),
                    ("shop", _) => format!("Order {} from {} online{}.", f.services_list(), f.name, f.place.as_ref().map(|p| format!(" and collect in {p} or have it delivered")).unwrap_or_default()),
                    ("events", _) => format!("What is coming up at {}{}, and how to join in.", f.name, f.in_place()),
                    ("donate", _) => format!("Your gift lets {} keep its work going{}.", f.name, f.in_place()),
                    _ => format!("Everything {} offers{}: {}.", f.name, f.in_place(), f.services_list()),
                });
                if plan.slug != "contact" {
                    s.link = action.clone().filter(|l| l.slug != plan.slug);
                }
            }
            SectionKind::Features => {
                if plan.slug == "about" {
                    s.heading = format!("What {} stands for", f.name);
                    s.items = vec![
                        Item { title: "Made for you".into(), text: format!("Everything {} does is shaped around {}.", f.name, f.audience) },
                        Item { title: format!("Rooted{}", f.in_place()).trim().to_owned().replace("Rooted", if f.place.is_some() { "Rooted" } else { "Local and personal" }), text: format!("{} knows its customers by name and its work by heart.", f.name) },
                        Item { title: "Clear from the start".into(), text: format!("You know what {} will do, when, and what it costs before anything begins.", f.name) },
                    ];
                } else {
                    s.heading = pick(
                        variant,
                        index,
                        &["What {name} offers", "Our {offer} at {name}"],
                    )
                    .replace("{name}", f.name)
                    .replace("{offer}", &f.profile.offer.1.to_lowercase());
                    s.items = f
                        .services
                        .iter()
                        .enumerate()
                        .map(|(i, svc)| {
                            let has_page = sitemap.page(&slugify(svc)).is_some();
                            let text = match (i % 3, has_page) {
                                (0, _) => format!(
                                    "{} from {}{}, for {}.",
                                    capitalise(svc),
                                    f.name,
                                    f.in_place(),
                                    f.audience
                                ),
                                (1, true) => format!(
                                    "{}, the way {} does it: the {} page says what to expect.",
                                    capitalise(svc),
                                    f.name,
                                    svc
                                ),
                                _ => format!("Ask {} about {svc} when you get in touch.", f.name),
                            };
                            Item {
                                title: capitalise(svc),
                                text,
                            }
                        })
                        .collect();
                    if plan.slug == "home" {
                        s.link = link(
                            sitemap,
                            offer_slug,
                            format!("See all {}", f.profile.offer.1.to_lowercase()),
                        );
                    }
                }
            }
            SectionKind::Text => {
                if let Some(service) = &service {
                    s.heading = format!("{}: what to expect", capitalise(service));
                    s.paragraphs.push(format!("{} takes care of {service} for {}{}. Tell {} what you need and you will get a clear suggestion and price before anything starts.", f.name, f.audience, f.in_place(), f.name));
                } else if plan.slug == "about" {
                    s.heading = pick(variant, index, &["Our story", "How {name} began"])
                        .replace("{name}", f.name);
                    s.paragraphs.extend(f.sentences.iter().cloned());
                    if !f.goals.is_empty() {
                        s.paragraphs.push(format!(
                            "Today {} is focused on {}.",
                            f.name,
                            f.goal_phrases()
                        ));
                    }
                } else {
                    s.heading = format!("Why {} choose {}", f.audience, f.name);
                    let mut text = f.sentences.iter().skip(1).cloned().collect::<Vec<_>>();
                    if text.is_empty() {
                        text.push(format!(
                            "{} brings {} together in one place{}.",
                            f.name,
                            f.services_list(),
                            f.in_place()
                        ));
                    }
                    s.paragraphs = text;
                    s.link = link(sitemap, "about", format!("More about {}", f.name));
                }
            }
            SectionKind::Steps => {
                s.heading = match &service {
                    Some(service) => format!("How to get {service}"),
                    None => format!("How it works at {}", f.name),
                };
                let mut steps: Vec<Item> = f
                    .profile
                    .steps
                    .iter()
                    .map(|(t, d)| Item {
                        title: (*t).into(),
                        text: (*d).into(),
                    })
                    .collect();
                match plan.slug.as_str() {
                    "book" => {
                        steps[1] = Item {
                            title: "Book online".into(),
                            text: format!(
                                "Pick a time in {}'s calendar below and confirm.",
                                f.name
                            ),
                        }
                    }
                    "shop" => {
                        steps[1] = Item {
                            title: "Order online".into(),
                            text: format!(
                                "Add what you like to the basket and check out with {}.",
                                f.name
                            ),
                        }
                    }
                    _ => {}
                }
                s.items = steps;
            }
            SectionKind::Faq => {
                s.heading = pick(
                    variant,
                    index,
                    &["Frequently asked questions", "Good to know"],
                )
                .into();
                let mut items = vec![Item {
                    title: format!("What does {} offer?", f.name),
                    text: format!("{} offers {}.", f.name, f.services_list()),
                }];
                if let Some(place) = &f.place {
                    items.push(Item {
                        title: format!("Where is {}?", f.name),
                        text: format!(
                            "{} is in {place}. The contact page has the details.",
                            f.name
                        ),
                    });
                }
                items.push(Item {
                    title: format!("Who is {} for?", f.name),
                    text: format!("For {}.", f.audience),
                });
                items.push(Item {
                    title: match action_slug {
                        "book" => "How do I book?".into(),
                        "shop" => "How do I order?".into(),
                        "donate" => "How can I give?".into(),
                        "events" => "How do I join an event?".into(),
                        _ => format!("How do I contact {}?", f.name),
                    },
                    text: format!(
                        "Use the \u{201c}{}\u{201d} button on this site; it takes under a minute.",
                        action_label
                    ),
                });
                s.items = items;
            }
            SectionKind::CallToAction => {
                s.heading = match action_slug {
                    "book" => format!("Ready to book with {}?", f.name),
                    "shop" => format!("Order from {} today", f.name),
                    "donate" => format!("Help {} do more", f.name),
                    "events" => format!("Join {} at the next event", f.name),
                    _ => format!("Talk to {}", f.name),
                };
                s.paragraphs.push(match f.goals.first() {
                    Some(_) => f.goal_sentence(variant, index),
                    None => format!("Tell {} what you need; it only takes a minute.", f.name),
                });
                s.link = action.clone().filter(|l| l.slug != plan.slug).or_else(|| {
                    link(sitemap, "contact", format!("Contact {}", f.name))
                        .filter(|l| l.slug != plan.slug)
                });
            }
            SectionKind::Contact => {
                s.heading = format!("Get in touch with {}", f.name);
                s.paragraphs.push(format!("Send {} a message with the form on this page and say what you are interested in: {}.", f.name, f.services_list()));
                if let Some(place) = &f.place {
                    s.paragraphs
                        .push(format!("{} welcomes visitors in {place}.", f.name));
                }
                s.link = link(
                    sitemap,
                    "faq",
                    "Read the answers to common questions".into(),
                );
            }
        }
        sections.push(s);
    }
    let place = f
        .place
        .as_ref()
        .map(|p| format!(" in {p}"))
        .unwrap_or_default();
    let seo_title = match plan.slug.as_str() {
        "home" => format!(
            "{} | {}{}",
            f.name,
            capitalise(f.services.first().map(String::as_str).unwrap_or(&f.kind)),
            place
        ),
        _ => format!("{} | {}", plan.title, f.name),
    };
    let meta_description = match plan.slug.as_str() {
        "home" => format!(
            "{} is {} {}{} offering {}.",
            f.name,
            f.article(),
            f.kind,
            place,
            f.services_list()
        ),
        // The hero's lead says what the page is about, in this business's words.
        _ => sections
            .first()
            .and_then(|s| s.paragraphs.first())
            .cloned()
            .unwrap_or_else(|| format!("{} | {}{}", plan.title, f.name, place)),
    };
    PageContent {
        seo_title,
        meta_description,
        sections,
    }
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
        assert_eq!(facts.profile.offer.0, "menu");
        assert_eq!(
            place_in("Plumbers based in Milton Keynes, since 1990."),
            Some("Milton Keynes".into())
        );
        assert_eq!(place_in("we are in business"), None);
        assert_eq!(goal_of("More table reservations"), Goal::Booking);
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
                page.blocks.contains("href=\"/"),
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
        assert!(home.blocks.contains("href=\"/shop/\""));
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

    #[tokio::test]
    async fn business_types_shape_the_site() {
        let brief = Brief {
            business_name: "Clearwater Dental".into(),
            business_type: "dental clinic".into(),
            description: "Family dentist in Bristol.".into(),
            goals: vec!["Online appointment booking".into()],
            style: None,
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

    #[test]
    fn every_profile_palette_meets_wcag_aa() {
        for profile in PROFILES.iter().chain([&GENERAL]) {
            let [base, contrast_, primary, on_primary, secondary, accent] = profile.palette;
            let palette = Palette {
                base: base.into(),
                contrast: contrast_.into(),
                primary: primary.into(),
                on_primary: on_primary.into(),
                secondary: secondary.into(),
                accent: accent.into(),
            };
            assert!(
                contrast::meets_aa(&palette),
                "{:?}: {:?}",
                profile.words,
                contrast::palette_ratios(&palette)
            );
        }
    }
}
