//! The typed inputs and outputs of the agents, and the site draft they add up to.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the user tells us about the business.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Brief {
    pub business_name: String,
    /// Free text: "bakery", "dental clinic", "law firm"…
    #[serde(rename = "type")]
    pub business_type: String,
    pub description: String,
    pub goals: Vec<String>,
    /// Style preferences in the user's words ("Look: minimal. Colours: deep
    /// green and cream."), for the design agent; absent when none were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// The language the site is written in (BCP 47, e.g. `en`, `nl-BE`);
    /// absent: English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Postal address, as it should be shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Opening hours in the user's words ("Tuesday to Saturday 9:00-18:00").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<String>,
}

/// The kinds of section the renderer has a block template for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// The page's opening: its one H1, a lead paragraph and a call to action.
    Hero,
    /// Heading and paragraphs.
    Text,
    /// Heading and a grid of items (services, reasons, products).
    Features,
    /// Heading and a numbered list of steps.
    Steps,
    /// Questions and answers.
    Faq,
    /// A short pitch and a button.
    CallToAction,
    /// How to get in touch.
    Contact,
}

impl SectionKind {
    /// Every kind, for schemas.
    pub const ALL: [SectionKind; 7] = [
        Self::Hero,
        Self::Text,
        Self::Features,
        Self::Steps,
        Self::Faq,
        Self::CallToAction,
        Self::Contact,
    ];

    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hero => "hero",
            Self::Text => "text",
            Self::Features => "features",
            Self::Steps => "steps",
            Self::Faq => "faq",
            Self::CallToAction => "call_to_action",
            Self::Contact => "contact",
        }
    }
}

/// One section the planner wants on a page, and what it is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SectionPlan {
    pub kind: SectionKind,
    pub intent: String,
}

/// One page of the sitemap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PagePlan {
    pub slug: String,
    pub title: String,
    /// The slug of the parent page, for nested pages.
    pub parent: Option<String>,
    pub purpose: String,
    pub sections: Vec<SectionPlan>,
}

/// The planning agent's output: pages, their hierarchy, and the navigation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Sitemap {
    pub pages: Vec<PagePlan>,
    /// Slugs in menu order.
    pub navigation: Vec<String>,
}

impl Sitemap {
    /// The page with this slug.
    pub fn page(&self, slug: &str) -> Option<&PagePlan> {
        self.pages.iter().find(|p| p.slug == slug)
    }

    /// The URL path of a page: `/` for the home page, `/parent/slug/` for a child.
    pub fn path(&self, slug: &str) -> String {
        match self.page(slug) {
            Some(page) if page.slug == "home" => "/".to_owned(),
            Some(page) => match &page.parent {
                Some(parent) if parent != "home" => format!("/{parent}/{}/", page.slug),
                _ => format!("/{}/", page.slug),
            },
            None => "/".to_owned(),
        }
    }
}

/// Colours as `#rrggbb`. Text and background pairs meet WCAG AA (see `contrast`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Palette {
    /// Page background.
    pub base: String,
    /// Body text on `base`.
    pub contrast: String,
    /// Buttons and highlights; also link and heading colour on `base`.
    pub primary: String,
    /// Text on `primary` (button labels).
    pub on_primary: String,
    /// Background of alternate sections.
    pub secondary: String,
    /// Small decorative touches.
    pub accent: String,
}

/// A heading and a body typeface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FontPair {
    pub heading: String,
    pub body: String,
}

/// The design agent's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Design {
    /// The block theme the bundle builds on.
    pub theme: String,
    /// One line on the look and why it fits the business.
    pub style: String,
    pub palette: Palette,
    pub fonts: FontPair,
}

/// A link to another page of the site, by slug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    pub label: String,
    pub slug: String,
}

/// An entry of a features grid, a step, or a question and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Item {
    pub title: String,
    pub text: String,
}

/// A section as the content agent writes it: structured text, never HTML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Section {
    pub kind: SectionKind,
    pub heading: String,
    #[serde(default)]
    pub paragraphs: Vec<String>,
    #[serde(default)]
    pub items: Vec<Item>,
    #[serde(default)]
    pub link: Option<Link>,
}

/// The content agent's output for one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PageContent {
    pub seo_title: String,
    pub meta_description: String,
    pub sections: Vec<Section>,
}

/// A plugin chosen from the catalog, why, and how to set it up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PluginChoice {
    /// The wordpress.org slug.
    pub slug: String,
    /// Filled in from the catalog.
    #[serde(default)]
    pub name: String,
    /// Filled in from the catalog.
    #[serde(default)]
    pub category: String,
    pub reason: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
}

/// The plugin agent's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PluginPlan {
    pub plugins: Vec<PluginChoice>,
}

/// A finished page of the draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DraftPage {
    pub slug: String,
    pub title: String,
    pub parent: Option<String>,
    /// URL path, e.g. `/services/`.
    pub path: String,
    pub seo_title: String,
    pub meta_description: String,
    /// Gutenberg block markup, from our block templates.
    pub blocks: String,
    /// The structured content the blocks were rendered from (kept for regeneration).
    pub content: PageContent,
    /// How many times the page or one of its sections was regenerated.
    #[serde(default)]
    pub variant: u32,
}

/// A page that could not be written, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PageFailure {
    pub slug: String,
    pub reason: String,
}

/// The days and times a business is open, in schema.org's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpeningHoursSpec {
    /// schema.org day names: `Monday` … `Sunday`.
    pub days: Vec<String>,
    /// `HH:MM`, 24-hour.
    pub opens: String,
    /// `HH:MM`, 24-hour.
    pub closes: String,
}

/// Who the site is for, as visitors and search engines see it: the site
/// title and tagline, the logo's text, the footer's contact details and the
/// home page's structured data. Taken from the brief's fields, and from its
/// description where the fields are empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Identity {
    /// The site title (`blogname`).
    pub name: String,
    /// One line under the title (`blogdescription`).
    pub tagline: String,
    /// BCP 47; `en` when the brief gave none.
    pub language: String,
    /// The schema.org type of the home page's structured data
    /// (`LocalBusiness` or one of its subtypes, e.g. `Bakery`).
    pub schema_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Opening hours as shown to visitors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<String>,
    /// The same hours, structured, when they could be read.
    #[serde(default)]
    pub hours: Vec<OpeningHoursSpec>,
}

/// Who the photo comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PhotoProvider {
    Pexels,
    Unsplash,
}

/// A downloaded photo's bytes, shipped in the bundle as a media item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PhotoFile {
    /// Bundle path, named like the slot with the type's extension
    /// (`images/hero-home.jpg`).
    pub path: String,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// `image/jpeg`, `image/png` or `image/webp`, read from the bytes.
    pub content_type: String,
}

/// A stock photo chosen for one picture slot of the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Photo {
    /// The drawn image's path it stands in for (`images/hero-home.png`).
    pub slot: String,
    pub provider: PhotoProvider,
    /// The provider's id of the photo.
    pub id: String,
    /// The image's URL at the provider: where the bytes were downloaded
    /// from, or, for a hotlinked photo, the `src` the page shows.
    pub image_url: String,
    /// The downloaded bytes; absent for a hotlinked photo (Unsplash's API
    /// guidelines ask that its images be shown from its own servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PhotoFile>,
    /// Alt text: the provider's description, else the slot's title.
    pub alt: String,
    pub photographer: String,
    /// The photographer's page (with the referral parameters the provider asks for).
    pub photographer_url: String,
    /// The provider's link in the credit (with the referral parameters the provider asks for).
    pub provider_url: String,
    /// The site's language (BCP 47), which the credit is written in;
    /// absent: English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// A complete, editable site draft: what a later step turns into a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SiteDraft {
    pub brief: Brief,
    /// Drafts made before identities existed read with an empty one;
    /// `theme::identity_of` fills it from the brief.
    #[serde(default)]
    pub identity: Identity,
    pub sitemap: Sitemap,
    pub design: Design,
    pub pages: Vec<DraftPage>,
    pub plugins: PluginPlan,
    /// Pages that failed even after a retry; the rest of the site is complete.
    #[serde(default)]
    pub failed_pages: Vec<PageFailure>,
    /// The stock photos its pages show in place of drawn images (none
    /// without a photo provider's key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<Photo>,
}

/// A stored draft that no longer reads as a [`SiteDraft`]: a bug or a
/// migration gone wrong, never the caller's fault.
#[derive(Debug, thiserror::Error)]
#[error("a stored draft does not read: {0}")]
pub struct UnreadableDraft(#[from] serde_json::Error);

impl SiteDraft {
    /// A draft as the store keeps it (JSON), read back.
    pub fn from_stored(value: serde_json::Value) -> Result<Self, UnreadableDraft> {
        Ok(serde_json::from_value(value)?)
    }
}
