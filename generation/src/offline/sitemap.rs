//! The planning stage: the sitemap. Home, the offer page and up to three
//! service pages under it, a page for each goal that needs one (booking,
//! shop, events, donations), then about, FAQ and contact.

use super::facts::{Facts, Goal};
use super::wording::capitalise;
use crate::agents::checks::slugify;
use crate::draft::SectionKind::{CallToAction, Contact, Faq, Features, Hero, Steps, Text};
use crate::draft::{PagePlan, SectionKind, SectionPlan, Sitemap};

/// Goals that get a page of their own: goal, slug, purpose.
const GOAL_PAGES: [(Goal, &str, &str); 4] = [
    (Goal::Booking, "book", "Let visitors book online."),
    (Goal::Sell, "shop", "Let visitors buy online."),
    (Goal::Events, "events", "List what is coming up."),
    (Goal::Donations, "donate", "Make giving easy."),
];

/// The menu after home and the offer page, in this order, where the sitemap has them.
const NAVIGATION: [&str; 7] = [
    "book", "shop", "events", "donate", "about", "faq", "contact",
];

/// Plans the site: slugs stay the same in every language (other code
/// relies on `home` and `contact`), titles are in the site's language.
pub(super) fn plan(f: &Facts) -> Sitemap {
    let mut pages = vec![home(f), offer(f)];
    for service in f.services.iter().take(3) {
        let slug = slugify(service);
        if !slug.is_empty() && !pages.iter().any(|p| p.slug == slug) {
            pages.push(service_page(f, service, &slug));
        }
    }
    let titles = &f.words.titles;
    for (goal, slug, purpose) in GOAL_PAGES {
        let title = match goal {
            Goal::Booking => &titles.book,
            Goal::Sell => &titles.shop,
            Goal::Events => &titles.events,
            _ => &titles.donate,
        };
        if f.has(goal) && !pages.iter().any(|p| p.slug == slug) {
            pages.push(goal_page(slug, title, purpose));
        }
    }
    pages.extend([about(f), faq(f), contact(f)]);
    let mut navigation: Vec<String> = vec!["home".into(), f.business.offer.clone()];
    for slug in NAVIGATION {
        if pages.iter().any(|p| p.slug == slug) {
            navigation.push(slug.into());
        }
    }
    Sitemap { pages, navigation }
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

fn home(f: &Facts) -> PagePlan {
    page(
        "home",
        &f.words.titles.home,
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
    )
}

fn offer(f: &Facts) -> PagePlan {
    let title = f
        .words
        .offers
        .get(&f.business.offer)
        .map_or(f.business.offer.as_str(), String::as_str);
    page(
        &f.business.offer,
        title,
        None,
        format!("Present everything {} offers.", f.name),
        vec![
            section(Hero, "Introduce the offer."),
            section(Features, "Every service with a short description."),
            section(CallToAction, "Lead to the main goal."),
        ],
    )
}

fn service_page(f: &Facts, service: &str, slug: &str) -> PagePlan {
    page(
        slug,
        &capitalise(service),
        Some(&f.business.offer),
        format!("Explain {service} at {} and how to get it.", f.name),
        vec![
            section(Hero, format!("Introduce {service}.")),
            section(Text, "What it involves."),
            section(Steps, "How to get it."),
            section(CallToAction, "Lead to the main goal."),
        ],
    )
}

fn goal_page(slug: &str, title: &str, purpose: &str) -> PagePlan {
    page(
        slug,
        title,
        None,
        purpose.into(),
        vec![
            section(Hero, purpose),
            section(Steps, "How it works."),
            section(Faq, "Practical questions."),
        ],
    )
}

fn about(f: &Facts) -> PagePlan {
    page(
        "about",
        &f.words.titles.about,
        None,
        format!("Tell the story of {} and what it stands for.", f.name),
        vec![
            section(Hero, "Who we are."),
            section(Text, "Our story."),
            section(Features, "What we stand for."),
            section(CallToAction, "Invite the visitor to get in touch."),
        ],
    )
}

fn faq(f: &Facts) -> PagePlan {
    page(
        "faq",
        &f.words.titles.faq,
        None,
        format!("Answer the questions people ask {} most.", f.name),
        vec![
            section(Hero, "Introduce the questions."),
            section(Faq, "Questions and answers."),
            section(CallToAction, "Offer a way to ask anything else."),
        ],
    )
}

fn contact(f: &Facts) -> PagePlan {
    page(
        "contact",
        &f.words.titles.contact,
        None,
        format!("Make it easy to reach {}.", f.name),
        vec![
            section(Hero, "Invite the visitor to get in touch."),
            section(Contact, "How to reach us."),
        ],
    )
}
