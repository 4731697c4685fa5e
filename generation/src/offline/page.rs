//! The content stage: one page of the sitemap, section by section as
//! planned, then its SEO title and meta description, in the site's
//! language. Every sentence names this business or what it offers, and
//! says nothing about it that the brief does not: hours, address and the
//! like appear only when the brief gives them. `variant` picks other
//! phrasings when a page or section is written again.

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

/// A phrase of the brief's (its hours) as a sentence: ending with a full stop.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

impl<'a> Page<'a> {
    fn new(f: &'a Facts<'a>, sitemap: &'a Sitemap, plan: &'a PagePlan, variant: u32) -> Self {
        let (action_slug, action_label) = f.action();
        let action = link(sitemap, action_slug, action_label.clone())
            .or_else(|| link(sitemap, "contact", f.say(&f.words.actions.contact, &[])));
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

    /// A phrase of the site's language, filled with the business's details,
    /// this page's title and (on a service page) its service.
    fn say(&self, template: &str) -> String {
        let service = self.service.as_deref().unwrap_or_default();
        let service_cap = capitalise(service);
        self.f.say(
            template,
            &[
                ("title", &self.plan.title),
                ("service", service),
                ("Service", &service_cap),
            ],
        )
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
            SectionKind::Features if self.plan.slug == "about" => self.at_a_glance(&mut section),
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
        let hero = &self.f.words.hero;
        let template = match (self.plan.slug.as_str(), &self.service) {
            ("home", _) => pick(self.variant, 0, &hero.home),
            (_, Some(_)) => &hero.service,
            ("about", _) => &hero.about,
            ("contact", _) => &hero.contact,
            ("faq", _) => &hero.faq,
            ("book", _) => &hero.book,
            ("shop", _) => &hero.shop,
            ("events", _) => &hero.events,
            ("donate", _) => &hero.donate,
            (slug, _) if slug == self.f.business.offer => &hero.offer,
            _ => &hero.other,
        };
        self.say(template)
    }

    fn hero_lead(&self, index: usize) -> String {
        let f = self.f;
        let lead = &f.words.lead;
        let template = match (self.plan.slug.as_str(), &self.service) {
            ("home", _) => return f.lead(),
            (_, Some(_)) => {
                return format!(
                    "{} {}",
                    self.say(&lead.service),
                    pick(self.variant, index, &lead.service_more)
                )
            }
            ("about", _) => &lead.about,
            ("contact", _) => &lead.contact,
            ("faq", _) => &lead.faq,
            ("book", _) => &lead.book,
            ("shop", _) => &lead.shop,
            ("events", _) => &lead.events,
            ("donate", _) => &lead.donate,
            _ => &lead.offer,
        };
        self.say(template)
    }

    /// The about page's features: what the brief says about the business,
    /// one fact an item (what, for whom, and where and when if it says).
    fn at_a_glance(&self, s: &mut Section) {
        let f = self.f;
        let about = &f.words.about;
        s.heading = self.say(&about.glance);
        s.items.push(Item {
            title: about.what.clone(),
            text: sentence(&capitalise(&f.services_list())),
        });
        s.items.push(Item {
            title: about.who.clone(),
            text: sentence(&capitalise(&f.audience)),
        });
        if let Some(place) = f.address.as_ref().or(f.place.as_ref()) {
            s.items.push(Item {
                title: about.where_.clone(),
                text: sentence(place),
            });
        }
        if let Some(hours) = &f.hours {
            s.items.push(Item {
                title: about.when.clone(),
                text: sentence(hours),
            });
        }
    }

    /// Every service, with a line each; on the home page, a link to the offer page.
    fn offer_grid(&self, s: &mut Section, index: usize) {
        let f = self.f;
        let grid = &f.words.offer;
        let offer = self.offer_title();
        let offer_lc = offer.to_lowercase();
        let titles = [("offer", offer.as_str()), ("offer_lc", offer_lc.as_str())];
        s.heading = f.say(pick::<String>(self.variant, index, &grid.heading), &titles);
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
                &f.business.offer,
                f.say(&grid.see_all, &titles),
            );
        }
    }

    /// The offer page's title in the site's language.
    fn offer_title(&self) -> String {
        let f = self.f;
        self.sitemap
            .page(&f.business.offer)
            .map(|p| p.title.clone())
            .or_else(|| f.words.offers.get(&f.business.offer).cloned())
            .unwrap_or_default()
    }

    /// The line under service number `i` in the grid, worded in turn three ways.
    fn service_line(&self, i: usize, service: &str) -> String {
        let f = self.f;
        let lines = &f.words.offer.line;
        let has_page = self.sitemap.page(&slugify(service)).is_some();
        let template = match (i % 3, has_page) {
            (0, _) => &lines[0],
            (1, true) => &lines[1],
            _ => &lines[2],
        };
        f.say(
            template,
            &[("service", service), ("Service", &capitalise(service))],
        )
    }

    /// What a service involves, the business's story, or why people choose it.
    fn text(&self, s: &mut Section, index: usize) {
        let f = self.f;
        let w = f.words;
        if let Some(service) = &self.service {
            s.heading = self.say(&w.service.heading);
            // The description's own sentences about this service come first.
            let lower = service.to_lowercase();
            s.paragraphs.extend(
                f.sentences
                    .iter()
                    .filter(|s| s.to_lowercase().contains(&lower))
                    .cloned(),
            );
            s.paragraphs.push(self.say(&w.service.text));
        } else if self.plan.slug == "about" {
            s.heading = self.say(pick::<String>(self.variant, index, &w.about.story));
            s.paragraphs.extend(f.sentences.iter().cloned());
            if !f.goals.is_empty() {
                s.paragraphs
                    .push(f.say(&w.about.goals, &[("goals", &f.goal_phrases())]));
            }
        } else {
            s.heading = self.say(&w.home.why);
            let mut text = f.sentences.iter().skip(1).cloned().collect::<Vec<_>>();
            if text.is_empty() {
                text.push(self.say(&w.home.together));
            }
            s.paragraphs = text;
            s.link = link(self.sitemap, "about", self.say(&w.home.more));
        }
    }

    /// The family's three steps, the second made concrete on the booking and shop pages.
    fn steps(&self, s: &mut Section) {
        let f = self.f;
        let w = f.words;
        s.heading = match &self.service {
            Some(_) => self.say(&w.service.steps),
            None => self.say(&w.how.heading),
        };
        let flow = w
            .flows
            .get(&f.family.flow)
            .or_else(|| w.flows.get("contact"))
            .map(|steps| steps.to_vec())
            .unwrap_or_default();
        let mut steps: Vec<Item> = flow
            .iter()
            .map(|step| Item {
                title: self.say(&step.title),
                text: self.say(&step.text),
            })
            .collect();
        let concrete = match self.plan.slug.as_str() {
            "book" => Some(&w.how.book),
            "shop" => Some(&w.how.shop),
            _ => None,
        };
        if let (Some(step), Some(second)) = (concrete, steps.get_mut(1)) {
            *second = Item {
                title: self.say(&step.title),
                text: self.say(&step.text),
            };
        }
        s.items = steps;
    }

    /// What it offers, where it is, when it is open, who it is for, and how
    /// to take the main action: only what the brief says.
    fn faq(&self, s: &mut Section, index: usize) {
        let f = self.f;
        let faq = &f.words.faq;
        s.heading = pick(self.variant, index, &faq.heading).clone();
        let mut items = vec![Item {
            title: self.say(&faq.what_q),
            text: self.say(&faq.what_a),
        }];
        if f.place.is_some() {
            items.push(Item {
                title: self.say(&faq.where_q),
                text: match &f.address {
                    Some(address) => sentence(address),
                    None => self.say(&faq.where_a),
                },
            });
        }
        if let Some(hours) = &f.hours {
            items.push(Item {
                title: self.say(&faq.when_q),
                text: sentence(hours),
            });
        }
        items.push(Item {
            title: self.say(&faq.who_q),
            text: self.say(&faq.who_a),
        });
        let how = match self.action_slug {
            "book" => &faq.how_book,
            "shop" => &faq.how_shop,
            "donate" => &faq.how_donate,
            "events" => &faq.how_events,
            _ => &faq.how_contact,
        };
        items.push(Item {
            title: self.say(how),
            text: f.say(&faq.how_a, &[("action", &self.action_label)]),
        });
        s.items = items;
    }

    /// A short pitch and a button to the main action (or contact, on the action's own page).
    fn call_to_action(&self, s: &mut Section, index: usize) {
        let f = self.f;
        let cta = &f.words.cta;
        let here = self.plan.slug.as_str();
        s.heading = self.say(match self.action_slug {
            "book" => &cta.book,
            "shop" => &cta.shop,
            "donate" => &cta.donate,
            "events" => &cta.events,
            _ => &cta.contact,
        });
        s.paragraphs.push(match f.goals.first() {
            Some(_) => f.goal_sentence(self.variant, index),
            None => self.say(&cta.default),
        });
        s.link = self.action.clone().filter(|l| l.slug != here).or_else(|| {
            link(self.sitemap, "contact", self.say(&f.words.actions.contact))
                .filter(|l| l.slug != here)
        });
    }

    /// How to reach the business: the form, and the address, phone, e-mail
    /// and hours the brief gives; a pointer to the FAQ.
    fn contact(&self, s: &mut Section) {
        let f = self.f;
        let contact = &f.words.contact;
        s.heading = self.say(&contact.heading);
        s.paragraphs.push(self.say(&contact.form));
        match (&f.address, &f.place) {
            (Some(address), _) => s
                .paragraphs
                .push(f.say(&contact.address, &[("address", address)])),
            (None, Some(_)) => s.paragraphs.push(self.say(&contact.based)),
            (None, None) => {}
        }
        if let Some(phone) = &f.phone {
            s.paragraphs
                .push(f.say(&contact.phone, &[("phone", phone)]));
        }
        if let Some(email) = &f.email {
            s.paragraphs
                .push(f.say(&contact.email, &[("email", email)]));
        }
        if let Some(hours) = &f.hours {
            // "Open Tuesday to Saturday" reads on its own; "Tue-Sat 9-18" needs a label.
            let lower = hours.to_lowercase();
            let says_open = ["open", "geopend", "ouvert", "geöffnet", "abierto"]
                .iter()
                .any(|w| lower.starts_with(w));
            s.paragraphs.push(if says_open {
                sentence(hours)
            } else {
                f.say(&contact.hours, &[("hours", hours)])
            });
        }
        s.link = link(self.sitemap, "faq", self.say(&contact.faq_link));
    }

    /// "Name | Main service in Place" at home, "Page | Name" elsewhere.
    fn seo_title(&self) -> String {
        let f = self.f;
        match self.plan.slug.as_str() {
            "home" => {
                let first = f.services.first().unwrap_or(&f.kind);
                f.say(&f.words.seo.home, &[("Service", &capitalise(first))])
            }
            _ => self.say(&f.words.seo.page),
        }
    }

    fn meta_description(&self, sections: &[Section]) -> String {
        let f = self.f;
        match self.plan.slug.as_str() {
            "home" => f.say(&f.words.seo.meta_home, &[]),
            // The hero's lead says what the page is about, in this business's words.
            _ => sections
                .first()
                .and_then(|s| s.paragraphs.first())
                .cloned()
                .unwrap_or_else(|| self.say(&f.words.seo.page)),
        }
    }
}
