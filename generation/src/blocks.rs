//! Our own Gutenberg block renderer. The model writes structured content
//! ([`PageContent`]); only this module writes markup, from fixed block
//! templates, so every page is valid block grammar with escaped text, one H1,
//! headings in order (h1, then h2 per section, h3 per item) and internal links.

use serde_json::{json, Value};

use crate::draft::{Item, PageContent, Palette, Section, SectionKind, Sitemap};
use crate::identity;
use crate::images::{self, MEDIA_PREFIX};
use crate::photos::{self, Photo};

/// Longest SEO title, in characters.
pub const SEO_TITLE_MAX: usize = 60;
/// Longest meta description, in characters.
pub const META_DESCRIPTION_MAX: usize = 156;

/// Escapes text the way the block editor writes rich text (the browser's
/// HTML serialization of a text node: `&`, `<`, `>` and the no-break space
/// as `&nbsp;`), so a page opened in the editor and saved unchanged comes
/// back byte for byte: apostrophes and quotes stay as they are.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value the way the block editor does (`&`, `"`,
/// `<` and `>`).
pub fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        match c {
            // Like the editor's `escapeAmpersand`: an `&` that already starts
            // a character reference (`&amp;`, `&#39;`, `&#x27;`) is kept.
            '&' if starts_reference(&text[i + 1..]) => out.push('&'),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether `rest` (what follows an `&`) is the rest of a character
/// reference: letters and digits, `#` and digits, or `#x` and hex digits,
/// then `;`.
fn starts_reference(rest: &str) -> bool {
    let Some(end) = rest.find(';') else {
        return false;
    };
    let name = &rest[..end];
    let hex = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X"));
    match (hex, name.strip_prefix('#')) {
        (Some(digits), _) => !digits.is_empty() && digits.chars().all(|c| c.is_ascii_hexdigit()),
        (None, Some(digits)) => !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()),
        (None, None) => !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
    }
}

/// The prefix of an internal link's `href` in generated markup:
/// `#gsw-page=<slug>`. The connector plugin replaces it with the page's
/// real permalink when it applies the page (so links work under any
/// permalink setting); left alone it is a harmless same-page link.
pub const PAGE_LINK_PREFIX: &str = "#gsw-page=";

/// The `href` of a link to the page with this slug.
pub fn page_link(slug: &str) -> String {
    format!("{PAGE_LINK_PREFIX}{slug}")
}

/// Where a page's look comes from.
#[derive(Debug, Clone, Copy)]
pub enum Styling<'a> {
    /// Class names only (`gsw-section gsw-hero`, …), which the generated
    /// theme's section styles draw.
    Classes,
    /// The blocks' own colour, spacing and border attributes, in this
    /// palette's colours, for a site that keeps its own theme: the sections
    /// look designed under any theme, and the editor shows and edits them.
    Inline(&'a Palette),
}

/// Sections' top and bottom, then left and right padding, when inline.
const SECTION_PADDING: (&str, &str) = ("4rem", "1.5rem");
/// A card's padding on every side, when inline.
const CARD_PADDING: &str = "1.5rem";
/// A button's corner radius, when inline.
const BUTTON_RADIUS: &str = "8px";

/// A section's colours when styled inline (hex values).
#[derive(Debug, Clone, PartialEq)]
struct SectionLook<'a> {
    background: String,
    text: &'a str,
    heading: &'a str,
    button: ButtonColors<'a>,
    card: CardLook<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct ButtonColors<'a> {
    background: &'a str,
    text: &'a str,
}

/// A features card when styled inline. Its corners stay square: WordPress
/// 6.1's column block has no radius support, so a radius would make it
/// invalid there.
#[derive(Debug, Clone, PartialEq)]
struct CardLook<'a> {
    background: &'a str,
    text: &'a str,
    border: String,
    heading: &'a str,
}

impl<'a> Styling<'a> {
    /// The look of a section of this kind, mirroring the theme's section
    /// styles (`theme::SECTION_CSS`) in plain colours; none with classes.
    fn section(self, kind: SectionKind) -> Option<SectionLook<'a>> {
        let Styling::Inline(palette) = self else {
            return None;
        };
        let on_primary = ButtonColors {
            background: &palette.primary,
            text: &palette.on_primary,
        };
        let plain = |background: &str| background.to_owned();
        let (background, text, heading, button) = match kind {
            SectionKind::Hero => (
                plain(&palette.secondary),
                &palette.contrast,
                &palette.primary,
                on_primary,
            ),
            SectionKind::Contact => (
                plain(&palette.secondary),
                &palette.contrast,
                &palette.contrast,
                on_primary,
            ),
            SectionKind::CallToAction => (
                plain(&palette.primary),
                &palette.on_primary,
                &palette.on_primary,
                ButtonColors {
                    background: &palette.on_primary,
                    text: &palette.primary,
                },
            ),
            // A tinted band, as the theme draws the steps.
            SectionKind::Steps => (
                mix(&palette.secondary, &palette.base, 0.55),
                &palette.contrast,
                &palette.contrast,
                on_primary,
            ),
            SectionKind::Text | SectionKind::Features | SectionKind::Faq => (
                plain(&palette.base),
                &palette.contrast,
                &palette.contrast,
                on_primary,
            ),
        };
        Some(SectionLook {
            background,
            text,
            heading,
            button,
            card: CardLook {
                background: &palette.base,
                text: &palette.contrast,
                border: mix(&palette.contrast, &palette.base, 0.12),
                heading: &palette.primary,
            },
        })
    }
}

/// `a` and `b` mixed, `weight` of `a` (sRGB, like CSS `color-mix`), as
/// `#rrggbb`; `b` when either is not a hex colour.
fn mix(a: &str, b: &str, weight: f64) -> String {
    let (Some(a), Some(bb)) = (rgb(a), rgb(b)) else {
        return b.to_owned();
    };
    let channel =
        |i: usize| (f64::from(a[i]) * weight + f64::from(bb[i]) * (1.0 - weight)).round() as u8;
    format!("#{:02x}{:02x}{:02x}", channel(0), channel(1), channel(2))
}

/// The channels of `#rgb` or `#rrggbb`.
fn rgb(hex: &str) -> Option<[u8; 3]> {
    let digits = hex.strip_prefix('#')?;
    let value = |s: &str| u8::from_str_radix(s, 16).ok();
    match digits.len() {
        3 => {
            let mut out = [0; 3];
            for (i, c) in digits.chars().enumerate() {
                out[i] = value(&format!("{c}{c}"))?;
            }
            Some(out)
        }
        6 if digits.is_ascii() => Some([
            value(&digits[0..2])?,
            value(&digits[2..4])?,
            value(&digits[4..6])?,
        ]),
        _ => None,
    }
}

/// A card column's attributes, extra classes and `style` attribute, as
/// the column block's save() writes them.
fn card_style(card: &CardLook<'_>) -> (Vec<(&'static str, Value)>, &'static str, String) {
    let attrs = vec![(
        "style",
        json!({
            "border": {"color": card.border, "style": "solid", "width": "1px"},
            "color": {"background": card.background, "text": card.text},
            "spacing": {"padding": {
                "bottom": CARD_PADDING, "left": CARD_PADDING, "right": CARD_PADDING, "top": CARD_PADDING,
            }},
        }),
    )];
    let style = format!(
        " style=\"border-color:{};border-style:solid;border-width:1px;color:{};background-color:{};padding-top:{CARD_PADDING};padding-right:{CARD_PADDING};padding-bottom:{CARD_PADDING};padding-left:{CARD_PADDING}\"",
        escape_attribute(&card.border),
        escape_attribute(card.text),
        escape_attribute(card.background),
    );
    (
        attrs,
        " has-border-color has-text-color has-background",
        style,
    )
}

/// Block attributes as WordPress's `serialize_block_attributes()` writes them,
/// so a page survives `parse_blocks` → `serialize_blocks` byte for byte: JSON
/// with `--`, `<`, `>`, `&` and `\"` escaped as unicode so no attribute can
/// end the HTML comment the block lives in.
pub fn block_attributes(attrs: &Value) -> String {
    escape_comment_json(attrs.to_string())
}

/// Block attributes in the order given. The block editor writes a block's
/// attributes in the order its block type declares them (the block's own
/// first, then those its supports add: `anchor`, `className`, `layout`,
/// …), not sorted, so a page it saves unchanged keeps this order.
fn ordered_block_attributes(attrs: &[(&str, Value)]) -> String {
    let fields: Vec<String> = attrs
        .iter()
        .map(|(name, value)| format!("{}:{value}", Value::from(*name)))
        .collect();
    escape_comment_json(format!("{{{}}}", fields.join(",")))
}

fn escape_comment_json(json: String) -> String {
    json.replace("--", "\\u002d\\u002d")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace("\\\"", "\\u0022")
}

/// A block with content, as the editor saves it; `attrs` in the order the
/// block type declares them.
fn block(name: &str, attrs: &[(&str, Value)], inner: &str) -> String {
    let attrs = if attrs.is_empty() {
        String::new()
    } else {
        format!("{} ", ordered_block_attributes(attrs))
    };
    format!("<!-- wp:{name} {attrs}-->\n{inner}\n<!-- /wp:{name} -->")
}

/// The heading block's attributes: level 2 is its default, which the
/// editor leaves out.
fn heading_attributes(level: u8) -> Vec<(&'static str, Value)> {
    if level == 2 {
        vec![]
    } else {
        vec![("level", json!(level))]
    }
}

fn heading(level: u8, text: &str, color: Option<&str>) -> String {
    styled_heading(level, &escape_text(text), color)
}

/// A heading of already escaped `html`, in `color` (its own text colour,
/// as the editor's colour support writes it) or the theme's.
fn styled_heading(level: u8, html: &str, color: Option<&str>) -> String {
    let mut attrs = heading_attributes(level);
    let (classes, style) = match color {
        Some(color) => {
            attrs.push(("style", json!({"color": {"text": color}})));
            (
                " has-text-color",
                format!(" style=\"color:{}\"", escape_attribute(color)),
            )
        }
        None => ("", String::new()),
    };
    block(
        "heading",
        &attrs,
        &format!("<h{level} class=\"wp-block-heading{classes}\"{style}>{html}</h{level}>"),
    )
}

fn paragraph(text: &str) -> String {
    block("paragraph", &[], &format!("<p>{}</p>", escape_text(text)))
}

fn button(label: &str, href: &str, colors: Option<ButtonColors<'_>>) -> String {
    let (attrs, classes, style) = match colors {
        Some(ButtonColors { background, text }) => (
            vec![(
                "style",
                json!({
                    "border": {"radius": BUTTON_RADIUS},
                    "color": {"background": background, "text": text},
                }),
            )],
            " has-text-color has-background",
            format!(
                " style=\"border-radius:{BUTTON_RADIUS};color:{};background-color:{}\"",
                escape_attribute(text),
                escape_attribute(background)
            ),
        ),
        None => (vec![], "", String::new()),
    };
    let inner = block(
        "button",
        &attrs,
        &format!(
            "<div class=\"wp-block-button\"><a class=\"wp-block-button__link{classes} wp-element-button\" href=\"{}\"{style}>{}</a></div>",
            escape_attribute(href),
            escape_text(label)
        ),
    );
    block(
        "buttons",
        &[],
        &format!("<div class=\"wp-block-buttons\">{inner}</div>"),
    )
}

fn group(class: &str, anchor: &str, look: Option<&SectionLook>, children: &[String]) -> String {
    let children = children.join("\n\n");
    let Some(look) = look else {
        let attrs = [
            ("tagName", json!("section")),
            ("anchor", json!(anchor)),
            ("className", json!(class)),
            ("layout", json!({"type": "constrained"})),
        ];
        return block(
            "group",
            &attrs,
            &format!(
                "<section id=\"{}\" class=\"wp-block-group {}\">{children}</section>",
                escape_attribute(anchor),
                escape_attribute(class),
            ),
        );
    };
    // A full-width band, touching the next, as the theme's section styles
    // draw it; the editor writes `class` before `id` once it adds colours.
    let attrs = [
        ("tagName", json!("section")),
        ("align", json!("full")),
        ("anchor", json!(anchor)),
        ("className", json!(class)),
        (
            "style",
            json!({
                "color": {"background": look.background, "text": look.text},
                "spacing": {
                    "margin": {"bottom": "0", "top": "0"},
                    "padding": {
                        "bottom": SECTION_PADDING.0,
                        "left": SECTION_PADDING.1,
                        "right": SECTION_PADDING.1,
                        "top": SECTION_PADDING.0,
                    },
                },
            }),
        ),
        ("layout", json!({"type": "constrained"})),
    ];
    let (block_end, inline) = SECTION_PADDING;
    block(
        "group",
        &attrs,
        &format!(
            "<section class=\"wp-block-group alignfull {} has-text-color has-background\" id=\"{}\" style=\"color:{};background-color:{};margin-top:0;margin-bottom:0;padding-top:{block_end};padding-right:{inline};padding-bottom:{block_end};padding-left:{inline}\">{children}</section>",
            escape_attribute(class),
            escape_attribute(anchor),
            escape_attribute(look.text),
            escape_attribute(&look.background),
        ),
    )
}

/// A heading whose text links to a page.
fn linked_heading(level: u8, text: &str, slug: &str, color: Option<&str>) -> String {
    styled_heading(
        level,
        &format!(
            "<a href=\"{}\">{}</a>",
            escape_attribute(&page_link(slug)),
            escape_text(text)
        ),
        color,
    )
}

/// A grid of items; an item named like one of the site's sub-pages (a
/// service with a page of its own) links to it from its heading.
fn columns(
    items: &[Item],
    sitemap: &Sitemap,
    photos: &[Photo],
    look: Option<&SectionLook>,
) -> String {
    let card = look.map(|look| &look.card);
    let columns: Vec<String> = items
        .iter()
        .map(|item| {
            let page = sitemap.pages.iter().find(|p| {
                p.parent.is_some() && p.title.trim().eq_ignore_ascii_case(item.title.trim())
            });
            let color = card.map(|card| card.heading);
            let title = match page {
                Some(page) => linked_heading(3, &item.title, &page.slug, color),
                None => heading(3, &item.title, color),
            };
            let slot = images::item_path(&item.title);
            let (attrs, classes, style) = match card {
                Some(card) => card_style(card),
                None => (vec![], "", String::new()),
            };
            block(
                "column",
                &attrs,
                &format!(
                    "<div class=\"wp-block-column{classes}\"{style}>{}\n\n{}\n\n{}</div>",
                    image(
                        &slot,
                        &item.title,
                        "gsw-item-image",
                        photos::for_slot(photos, &slot)
                    ),
                    title,
                    paragraph(&item.text)
                ),
            )
        })
        .collect();
    // Wide: three cards in the content width leave a few words a line.
    block(
        "columns",
        &[("align", json!("wide"))],
        &format!(
            "<div class=\"wp-block-columns alignwide\">{}</div>",
            columns.join("\n\n")
        ),
    )
}

/// Steps as a sequence of groups (numbered by the theme's CSS), not a list
/// block: the list block's markup differs between WordPress versions, so
/// the editor would rewrite it on save.
fn steps(items: &[Item], heading_color: Option<&str>) -> String {
    let steps: Vec<String> = items
        .iter()
        .map(|item| {
            block(
                "group",
                &[
                    ("className", json!("gsw-step")),
                    ("layout", json!({"type": "default"})),
                ],
                &format!(
                    "<div class=\"wp-block-group gsw-step\">{}\n\n{}</div>",
                    heading(3, &item.title, heading_color),
                    paragraph(&item.text)
                ),
            )
        })
        .collect();
    block(
        "group",
        &[
            ("className", json!("gsw-step-list")),
            ("layout", json!({"type": "default"})),
        ],
        &format!(
            "<div class=\"wp-block-group gsw-step-list\">{}</div>",
            steps.join("\n\n")
        ),
    )
}

/// An image block showing the picture of `slot`: the stock photo chosen for
/// it, with its alt text and the credit its provider asks for as the
/// caption, or else the drawn image (`images::render` draws it) with `alt`.
/// The connector uploads a bundled picture and writes in its URL and
/// attachment ID; a hotlinked photo's URL stays as it is.
fn image(slot: &str, alt: &str, class: &str, photo: Option<&Photo>) -> String {
    let (src, alt, caption) = match photo {
        Some(photo) => (photo.src(), photo.alt.as_str(), credit(photo)),
        None => (format!("{MEDIA_PREFIX}{slot}"), alt, String::new()),
    };
    block(
        "image",
        &[
            ("sizeSlug", json!("large")),
            ("linkDestination", json!("none")),
            ("className", json!(class)),
        ],
        &format!(
            "<figure class=\"wp-block-image size-large {}\"><img src=\"{}\" alt=\"{}\"/>{caption}</figure>",
            escape_attribute(class),
            escape_attribute(&src),
            escape_attribute(alt)
        ),
    )
}

/// The image block's caption crediting a photo as its provider asks:
/// "Photo by <photographer> on <provider>", both linked, in the site's
/// language where the offline engine writes it (else English).
fn credit(photo: &Photo) -> String {
    let primary = photo
        .language
        .as_deref()
        .and_then(|tag| tag.split('-').next())
        .unwrap_or("en")
        .to_ascii_lowercase();
    let (by, on) = match primary.as_str() {
        "nl" => ("Foto door", "op"),
        "fr" => ("Photo de", "sur"),
        "de" => ("Foto von", "auf"),
        "es" => ("Foto de", "en"),
        _ => ("Photo by", "on"),
    };
    format!(
        "<figcaption class=\"wp-element-caption\">{by} <a href=\"{}\">{}</a> {on} <a href=\"{}\">{}</a></figcaption>",
        escape_attribute(&photo.photographer_url),
        escape_text(&photo.photographer),
        escape_attribute(&photo.provider_url),
        escape_text(photo.provider.label())
    )
}

/// Renders one page's content to block markup. Internal links resolve
/// through the sitemap; a link to an unknown page is dropped, not guessed.
/// The hero gets the page's hero image, features items theirs: the stock
/// photo `photos` has for the slot, or the drawn one.
pub fn render_page(
    slug: &str,
    content: &PageContent,
    sitemap: &Sitemap,
    photos: &[Photo],
) -> String {
    render_page_with(slug, content, sitemap, photos, Styling::Classes)
}

/// [`render_page`] with the sections' look carried as `styling` says.
pub fn render_page_with(
    slug: &str,
    content: &PageContent,
    sitemap: &Sitemap,
    photos: &[Photo],
    styling: Styling<'_>,
) -> String {
    let mut out = Vec::with_capacity(content.sections.len());
    for (index, section) in content.sections.iter().enumerate() {
        let look = styling.section(section.kind);
        out.push(render_section(
            slug,
            index,
            section,
            sitemap,
            photos,
            look.as_ref(),
        ));
    }
    out.join("\n\n")
}

fn render_section(
    slug: &str,
    index: usize,
    section: &Section,
    sitemap: &Sitemap,
    photos: &[Photo],
    look: Option<&SectionLook>,
) -> String {
    // The page's one H1 is the hero's, in our theme's landing template; a
    // site keeping its own theme prints the page title as its H1, so there
    // the hero's heading is an H2.
    let level = if section.kind == SectionKind::Hero && look.is_none() {
        1
    } else {
        2
    };
    let heading_color = look.map(|look| look.heading);
    let mut children = vec![heading(level, &section.heading, heading_color)];
    if section.kind == SectionKind::Contact {
        children.extend(section.paragraphs.iter().map(|p| contact_paragraph(p)));
    } else {
        children.extend(section.paragraphs.iter().map(|p| paragraph(p)));
    }
    if !section.items.is_empty() {
        match section.kind {
            SectionKind::Steps => children.push(steps(&section.items, heading_color)),
            SectionKind::Faq => {
                for item in &section.items {
                    children.push(heading(3, &item.title, heading_color));
                    children.push(paragraph(&item.text));
                }
            }
            _ => children.push(columns(&section.items, sitemap, photos, look)),
        }
    }
    if let Some(link) = &section.link {
        if sitemap.page(&link.slug).is_some() {
            children.push(button(
                &link.label,
                &page_link(&link.slug),
                look.map(|look| look.button),
            ));
        }
    }
    if section.kind == SectionKind::Hero {
        let slot = images::hero_path(slug);
        children.push(image(
            &slot,
            &section.heading,
            "gsw-hero-image",
            photos::for_slot(photos, &slot),
        ));
    }
    let class = format!(
        "gsw-section gsw-{}",
        section.kind.as_str().replace('_', "-")
    );
    let anchor = format!("section-{}", index + 1);
    group(&class, &anchor, look, &children)
}

/// A paragraph of contact details, with what works without any plugin made
/// into links: a phone number calls (`tel:`), an e-mail address writes
/// (`mailto:`), a street address opens on a map (OpenStreetMap's search).
fn contact_paragraph(text: &str) -> String {
    let link = |found: &str, href: String| -> Option<(usize, usize, String)> {
        let start = text.find(found)?;
        Some((
            start,
            start + found.len(),
            format!(
                "<a href=\"{}\">{}</a>",
                escape_attribute(&href),
                escape_text(found)
            ),
        ))
    };
    let found = identity::email_in(text)
        .and_then(|email| link(&email, format!("mailto:{email}")))
        .or_else(|| {
            identity::phone_in(text).and_then(|phone| {
                let dial: String = phone
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == '+')
                    .collect();
                link(&phone, format!("tel:{dial}"))
            })
        })
        .or_else(|| {
            identity::address_in(text).and_then(|address| {
                link(
                    &address,
                    format!(
                        "https://www.openstreetmap.org/search?query={}",
                        percent_encode(&address)
                    ),
                )
            })
        });
    match found {
        Some((start, end, anchor)) => block(
            "paragraph",
            &[],
            &format!(
                "<p>{}{}{}</p>",
                escape_text(&text[..start]),
                anchor,
                escape_text(&text[end..])
            ),
        ),
        None => paragraph(text),
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Cuts text to at most `max` characters at a word boundary, without a
/// dangling separator, so titles and descriptions fit search results.
pub fn clip(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let mut out = String::new();
    for word in text.split(' ') {
        let next = if out.is_empty() {
            word.chars().count()
        } else {
            out.chars().count() + 1 + word.chars().count()
        };
        if next > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        out = text.chars().take(max).collect();
    }
    out.trim_end_matches([',', ';', ':', '-', '|', '–', '—', ' '])
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_credit_is_in_the_sites_language() {
        let photo = |language: Option<&str>| Photo {
            slot: "images/hero-home.png".into(),
            provider: crate::draft::PhotoProvider::Pexels,
            id: "1".into(),
            image_url: "https://images.pexels.com/photos/1/a.jpeg".into(),
            file: None,
            alt: "A bike".into(),
            photographer: "Zoë".into(),
            photographer_url: "https://www.pexels.com/@zoe".into(),
            provider_url: "https://www.pexels.com/photo/1/".into(),
            language: language.map(str::to_owned),
        };
        assert!(credit(&photo(None))
            .contains(">Photo by <a href=\"https://www.pexels.com/@zoe\">Zoë</a> on <a"));
        assert!(credit(&photo(Some("nl-BE"))).contains(">Foto door <a"));
        assert!(credit(&photo(Some("nl-BE"))).contains("</a> op <a"));
        assert!(credit(&photo(Some("FR"))).contains(">Photo de <a"));
        assert!(credit(&photo(Some("de"))).contains("</a> auf <a"));
        assert!(credit(&photo(Some("es-MX"))).contains(">Foto de <a"));
        assert!(credit(&photo(Some("ja"))).contains(">Photo by <a"));
    }
    use crate::draft::{Link, PagePlan};

    fn sitemap() -> Sitemap {
        let page = |slug: &str| PagePlan {
            slug: slug.into(),
            title: slug.into(),
            parent: None,
            purpose: String::new(),
            sections: vec![],
        };
        Sitemap {
            pages: vec![page("home"), page("contact")],
            navigation: vec!["home".into(), "contact".into()],
        }
    }

    #[test]
    fn text_is_escaped_and_attributes_cannot_close_the_comment() {
        let content = PageContent {
            seo_title: "t".into(),
            meta_description: "d".into(),
            sections: vec![Section {
                kind: SectionKind::Hero,
                heading: "Fish & Chips <script>alert(1)</script> \"best\"".into(),
                paragraphs: vec!["Ends with --> here".into()],
                items: vec![],
                link: Some(Link {
                    label: "Call <us>".into(),
                    slug: "contact".into(),
                }),
            }],
        };
        let html = render_page("home", &content, &sitemap(), &[]);
        assert!(html.contains("Fish &amp; Chips &lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"));
        assert!(
            html.contains("\"best\""),
            "quotes stay as the editor writes them"
        );
        assert!(html.contains("Ends with --&gt; here"));
        assert!(html.contains("href=\"#gsw-page=contact\""));
        assert!(
            html.starts_with("<!-- wp:group {\"tagName\":\"section\",\"anchor\":\"section-1\""),
            "{html}"
        );
        assert_eq!(
            escape_text("«\u{a0}Commander\u{a0}»"),
            "«&nbsp;Commander&nbsp;»"
        );
        assert_eq!(escape_attribute("a&b\"<c>"), "a&amp;b&quot;&lt;c&gt;");
        assert_eq!(
            block_attributes(&json!({"a": "x--<y>&\"z\""})),
            r#"{"a":"x\u002d\u002d\u003cy\u003e\u0026\u0022z\u0022"}"#
        );
    }

    #[test]
    fn contact_details_are_links_that_work_without_plugins() {
        let html = contact_paragraph("Phone: +32 9 123 45 67");
        assert!(
            html.contains("Phone: <a href=\"tel:+3291234567\">+32 9 123 45 67</a>"),
            "{html}"
        );
        let html = contact_paragraph("Email: hallo@velo.be.");
        assert!(
            html.contains("<a href=\"mailto:hallo@velo.be\">hallo@velo.be</a>."),
            "{html}"
        );
        let html = contact_paragraph("Address: Kortrijksesteenweg 12, 9000 Gent");
        assert!(
            html.contains("href=\"https://www.openstreetmap.org/search?query=Kortrijksesteenweg%2012%2C%209000%20Gent\""),
            "{html}"
        );
        assert_eq!(contact_paragraph("Open <daily>"), paragraph("Open <daily>"));
    }

    #[test]
    fn inline_styling_carries_the_palette_in_the_blocks_own_attributes() {
        let palette = Palette {
            base: "#ffffff".into(),
            contrast: "#111111".into(),
            primary: "#aa3300".into(),
            on_primary: "#ffffff".into(),
            secondary: "#f0e8e0".into(),
            accent: "#336655".into(),
        };
        let section = |kind| Section {
            kind,
            heading: "Welcome".into(),
            paragraphs: vec!["Hello".into()],
            items: vec![],
            link: Some(Link {
                label: "Call".into(),
                slug: "contact".into(),
            }),
        };
        let content = PageContent {
            seo_title: "t".into(),
            meta_description: "d".into(),
            sections: vec![
                section(SectionKind::Hero),
                section(SectionKind::CallToAction),
            ],
        };
        let html = render_page_with("home", &content, &sitemap(), &[], Styling::Inline(&palette));
        // The site's own theme prints the page title as its H1.
        assert!(!html.contains("<h1"), "{html}");
        assert!(
            html.contains(r##"{"tagName":"section","align":"full","anchor":"section-1","className":"gsw-section gsw-hero","style":{"color":{"background":"#f0e8e0","text":"#111111"}"##),
            "{html}"
        );
        assert!(
            html.contains(r#"<h2 class="wp-block-heading has-text-color" style="color:#aa3300">"#),
            "{html}"
        );
        assert!(
            html.contains(
                r#"style="border-radius:8px;color:#aa3300;background-color:#ffffff">Call</a>"#
            ),
            "the call to action's button is reversed: {html}"
        );
        assert_eq!(
            render_page("home", &content, &sitemap(), &[]),
            render_page_with("home", &content, &sitemap(), &[], Styling::Classes)
        );
        assert!(!render_page("home", &content, &sitemap(), &[]).contains("style"));
        assert_eq!(mix("#000000", "#ffffff", 0.12), "#e0e0e0");
        assert_eq!(mix("#fff", "#000", 1.0), "#ffffff");
        assert_eq!(mix("red", "#000000", 0.5), "#000000");
    }

    #[test]
    fn clipping_keeps_whole_words() {
        assert_eq!(clip("Short title", 60), "Short title");
        let long = "Fresh sourdough, pastries and celebration cakes baked daily in Lyon by Ada";
        let cut = clip(long, 60);
        assert!(cut.chars().count() <= 60);
        assert!(long.starts_with(&cut));
        assert!(!cut.ends_with(','));
        assert_eq!(clip(&"x".repeat(80), 10), "x".repeat(10));
    }
}
