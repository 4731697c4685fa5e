//! The content stage: one page of the sitemap, section by section as
//! planned, then its SEO title and meta description. Every sentence names
//! this business or what it offers; `variant` picks other phrasings when a
//! page or section is written again.

use super::facts::Facts;
use super::wording::{capitalise, pick};
use crate::agents::checks::slugify;
use crate::draft::{Item, Link, PageContent, PagePlan, Section, SectionKind, Sitemap};

/// Writes the page `plan` of `sitemap`.
pub(super) fn write_page(
    f: &Facts,
    sitemap: &Sitemap,
    plan: &PagePlan,
    variant: u32,
) -> PageContent {
    let page = Page::new(f, sitemap, plan, variant);
    let sections: Vec<Section> = plan
        .sections
        .iter()
        .enumerate()
        .map(|(index, planned)| page.section(planned.kind, index))
        .collect();
    PageContent {
        seo_title: page.seo_title(),
        meta_description: page.meta_description(&sections),
        sections,
    }
}

/// A page being written: the business, the page's place in the sitemap and
/// what its buttons lead to.
struct Page<'a> {
    f: &'a Facts<'a>,
    sitemap: &'a Sitemap,
    plan: &'a PagePlan,
    variant: u32,
    /// The main action's page slug and button label.
    action_slug: &'static str,
    action_label: String,
    /// The button to the main action, or to the contact page if the site has no page for it.
    action: Option<Link>,
    /// The service this page presents, on a service page.
    service: Option<String>,
}

/// A link to `slug`, if the sitemap has that page.
fn link(sitemap: &Sitemap, slug: &str, label: String) -> Option<Link> {
    sitemap.page(slug).map(|_| Link {
        label,
        slug: slug.into(),
    })
}

impl<'a> Page<'a> {
    fn new(f: &'a Facts<'a>, sitemap: &'a Sitemap, plan: &'a PagePlan, variant: u32) -> Self {
        let (action_slug, action_label) = f.action();
        let action = link(sitemap, action_slug, action_label.clone())
            .or_else(|| link(sitemap, "contact", format!("Contact {}", f.name)));
        Page {
            f,
            sitemap,
            plan,
            variant,
            action_slug,
            action_label,
            action,
            service: f.services.iter().find(|s| slugify(s) == plan.slug).cloned(),
        }
    }

    /// Section `index` of the page, of the kind planned.
    fn section(&self, kind: SectionKind, index: usize) -> Section {
        let mut section = Section {
            kind,
            heading: String::new(),
            paragraphs: vec![],
            items: vec![],
            link: None,
        };
        match kind {
            SectionKind::Hero => self.hero(&mut section, index),
            SectionKind::Features if self.plan.slug == "about" => self.values(&mut section),
            SectionKind::Features => self.offer_grid(&mut section, index),
            SectionKind::Text => self.text(&mut section, index),
            SectionKind::Steps => self.steps(&mut section),
            SectionKind::Faq => self.faq(&mut section, index),
            SectionKind::CallToAction => self.call_to_action(&mut section, index),
            SectionKind::Contact => self.contact(&mut section),
        }
        section
    }

    /// The page's opening: its H1, a lead paragraph and the main action.
    fn hero(&self, s: &mut Section, index: usize) {
        s.heading = self.hero_heading();
        s.paragraphs.push(self.hero_lead(index));
        if self.plan.slug != "contact" {
            s.link = self.action.clone().filter(|l| l.slug != self.plan.slug);
        }
    }

    fn hero_heading(&self) -> String {
        let f = self.f;
        match (self.plan.slug.as_str(), &self.service) {
            ("home", _) => match pick(self.variant, 0, &["a", "b"]) {
                "a" => format!(
                    "{}: {}{}",
                    f.name,
                    capitalise(&f.services_list()),
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
            (slug, _) if slug == f.profile.offer.slug => {
                format!("{} at {}", self.plan.title, f.name)
            }
            _ => format!("{}: {}", self.plan.title, f.name),
        }
    }

    fn hero_lead(&self, index: usize) -> String {
        let f = self.f;
        match (self.plan.slug.as_str(), &self.service) {
            ("home", _) => f.lead(),
            (_, Some(service)) => format!(
                "{} offers {service}{} for {}. {}",
                f.name,
                f.in_place(),
                f.audience,
                pick(
                    self.variant,
                    index,
                    &[
                        "Here is what it involves and how to arrange it.",
                        "This page explains what to expect and how to get started."
                    ]
                )
            ),
            ("about", _) => format!(
                "{} is {} {}{}, working for {}.",
                f.name,
                f.article(),
                f.kind,
                f.in_place(),
                f.audience
            ),
            ("contact", _) => format!(
                "Questions about {}? Write to {} and you will hear back from a person, not a robot.",
                f.services_list(),
                f.name
            ),
            ("faq", _) => format!(
                "Straight answers to what people ask {} most often, from {} to how to get in touch.",
                f.name,
                f.services.first().cloned().unwrap_or_default()
            ),
            ("book", _) => format!(
                "Choose a time that suits you and book with {} online, day or night.",
                f.name
            ),
            ("shop", _) => format!(
                "Order {} from {} online{}.",
                f.services_list(),
                f.name,
                f.place
                    .as_ref()
                    .map(|p| format!(" and collect in {p} or have it delivered"))
                    .unwrap_or_default()
            ),
            ("events", _) => format!(
                "What is coming up at {}{}, and how to join in.",
                f.name,
                f.in_place()
            ),
            ("donate", _) => format!(
                "Your gift lets {} keep its work going{}.",
                f.name,
                f.in_place()
            ),
            _ => format!(
                "Everything {} offers{}: {}.",
                f.name,
                f.in_place(),
                f.services_list()
            ),
        }
    }

    /// The about page's features: what the business stands for.
    fn values(&self, s: &mut Section) {
        let f = self.f;
        s.heading = format!("What {} stands for", f.name);
        s.items = vec![
            Item {
                title: "Made for you".into(),
                text: format!(
                    "Everything {} does is shaped around {}.",
                    f.name, f.audience
                ),
            },
            Item {
                title: match &f.place {
                    Some(place) => format!("Rooted in {place}"),
                    None => "Local and personal".into(),
                },
                text: format!(
                    "{} knows its customers by name and its work by heart.",
                    f.name
                ),
            },
            Item {
                title: "Clear from the start".into(),
                text: format!(
                    "You know what {} will do, when, and what it costs before anything begins.",
                    f.name
                ),
            },
        ];
    }

    /// Every service, with a line each; on the home page, a link to the offer page.
    fn offer_grid(&self, s: &mut Section, index: usize) {
        let f = self.f;
        let offer = f.profile.offer.title.to_lowercase();
        s.heading = pick(
            self.variant,
            index,
            &["What {name} offers", "Our {offer} at {name}"],
        )
        .replace("{name}", f.name)
        .replace("{offer}", &offer);
        s.items = f
            .services
            .iter()
            .enumerate()
            .map(|(i, service)| Item {
                title: capitalise(service),
                text: self.service_line(i, service),
            })
            .collect();
        if self.plan.slug == "home" {
            s.link = link(
                self.sitemap,
                &f.profile.offer.slug,
                format!("See all {offer}"),
            );
        }
    }

    /// The line under service number `i` in the grid, worded in turn three ways.
    fn service_line(&self, i: usize, service: &str) -> String {
        let f = self.f;
        let has_page = self.sitemap.page(&slugify(service)).is_some();
        match (i % 3, has_page) {
            (0, _) => format!(
                "{} from {}{}, for {}.",
                capitalise(service),
                f.name,
                f.in_place(),
                f.audience
            ),
            (1, true) => format!(
                "{}, the way {} does it: the {} page says what to expect.",
                capitalise(service),
                f.name,
                service
            ),
            _ => format!("Ask {} about {service} when you get in touch.", f.name),
        }
    }

    /// What a service involves, the business's story, or why people choose it.
    fn text(&self, s: &mut Section, index: usize) {
        let f = self.f;
        if let Some(service) = &self.service {
            s.heading = format!("{}: what to expect", capitalise(service));
            s.paragraphs.push(format!(
                "{} takes care of {service} for {}{}. Tell {} what you need and you will get a clear suggestion and price before anything starts.",
                f.name,
                f.audience,
                f.in_place(),
                f.name
            ));
        } else if self.plan.slug == "about" {
            s.heading = pick(self.variant, index, &["Our story", "How {name} began"])
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
            s.link = link(self.sitemap, "about", format!("More about {}", f.name));
        }
    }

    /// The profile's three steps, the second made concrete on the booking and shop pages.
    fn steps(&self, s: &mut Section) {
        let f = self.f;
        s.heading = match &self.service {
            Some(service) => format!("How to get {service}"),
            None => format!("How it works at {}", f.name),
        };
        let mut steps = f.profile.steps.to_vec();
        match self.plan.slug.as_str() {
            "book" => {
                steps[1] = Item {
                    title: "Book online".into(),
                    text: format!("Pick a time in {}'s calendar below and confirm.", f.name),
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

    /// What it offers, where it is, who it is for, and how to take the main action.
    fn faq(&self, s: &mut Section, index: usize) {
        let f = self.f;
        s.heading = pick(
            self.variant,
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
            title: match self.action_slug {
                "book" => "How do I book?".into(),
                "shop" => "How do I order?".into(),
                "donate" => "How can I give?".into(),
                "events" => "How do I join an event?".into(),
                _ => format!("How do I contact {}?", f.name),
            },
            text: format!(
                "Use the \u{201c}{}\u{201d} button on this site; it takes under a minute.",
                self.action_label
            ),
        });
        s.items = items;
    }

    /// A short pitch and a button to the main action (or contact, on the action's own page).
    fn call_to_action(&self, s: &mut Section, index: usize) {
        let f = self.f;
        let here = self.plan.slug.as_str();
        s.heading = match self.action_slug {
            "book" => format!("Ready to book with {}?", f.name),
            "shop" => format!("Order from {} today", f.name),
            "donate" => format!("Help {} do more", f.name),
            "events" => format!("Join {} at the next event", f.name),
            _ => format!("Talk to {}", f.name),
        };
        s.paragraphs.push(match f.goals.first() {
            Some(_) => f.goal_sentence(self.variant, index),
            None => format!("Tell {} what you need; it only takes a minute.", f.name),
        });
        s.link = self.action.clone().filter(|l| l.slug != here).or_else(|| {
            link(self.sitemap, "contact", format!("Contact {}", f.name)).filter(|l| l.slug != here)
        });
    }

    /// How to reach the business, and a pointer to the FAQ.
    fn contact(&self, s: &mut Section) {
        let f = self.f;
        s.heading = format!("Get in touch with {}", f.name);
        s.paragraphs.push(format!(
            "Send {} a message with the form on this page and say what you are interested in: {}.",
            f.name,
            f.services_list()
        ));
        if let Some(place) = &f.place {
            s.paragraphs
                .push(format!("{} welcomes visitors in {place}.", f.name));
        }
        s.link = link(
            self.sitemap,
            "faq",
            "Read the answers to common questions".into(),
        );
    }

    /// "Name | Main service in Place" at home, "Page | Name" elsewhere.
    fn seo_title(&self) -> String {
        let f = self.f;
        match self.plan.slug.as_str() {
            "home" => format!(
                "{} | {}{}",
                f.name,
                capitalise(f.services.first().map(String::as_str).unwrap_or(&f.kind)),
                f.in_place()
            ),
            _ => format!("{} | {}", self.plan.title, f.name),
        }
    }

    fn meta_description(&self, sections: &[Section]) -> String {
        let f = self.f;
        match self.plan.slug.as_str() {
            "home" => format!(
                "{} is {} {}{} offering {}.",
                f.name,
                f.article(),
                f.kind,
                f.in_place(),
                f.services_list()
            ),
            // The hero's lead says what the page is about, in this business's words.
            _ => sections
                .first()
                .and_then(|s| s.paragraphs.first())
                .cloned()
                .unwrap_or_else(|| format!("{} | {}{}", self.plan.title, f.name, f.in_place())),
        }
    }
}
