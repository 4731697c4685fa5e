//! Our own Gutenberg block renderer. The model writes structured content
//! ([`PageContent`]); only this module writes markup, from fixed block
//! templates, so every page is valid block grammar with escaped text, one H1,
//! headings in order (h1, then h2 per section, h3 per item) and internal links.

use serde_json::{json, Value};

use crate::draft::{Item, PageContent, Section, SectionKind, Sitemap};
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

fn heading(level: u8, text: &str) -> String {
    block(
        "heading",
        &heading_attributes(level),
        &format!(
            "<h{level} class=\"wp-block-heading\">{}</h{level}>",
            escape_text(text)
        ),
    )
}

fn paragraph(text: &str) -> String {
    block("paragraph", &[], &format!("<p>{}</p>", escape_text(text)))
}

fn button(label: &str, href: &str) -> String {
    let inner = block(
        "button",
        &[],
        &format!(
            "<div class=\"wp-block-button\"><a class=\"wp-block-button__link wp-element-button\" href=\"{}\">{}</a></div>",
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

fn group(class: &str, anchor: &str, children: &[String]) -> String {
    let attrs = [
        ("tagName", json!("section")),
        ("anchor", json!(anchor)),
        ("className", json!(class)),
        ("layout", json!({"type": "constrained"})),
    ];
    block(
        "group",
        &attrs,
        &format!(
            "<section id=\"{}\" class=\"wp-block-group {}\">{}</section>",
            escape_attribute(anchor),
            escape_attribute(class),
            children.join("\n\n")
        ),
    )
}

/// A heading whose text links to a page.
fn linked_heading(level: u8, text: &str, slug: &str) -> String {
    block(
        "heading",
        &heading_attributes(level),
        &format!(
            "<h{level} class=\"wp-block-heading\"><a href=\"{}\">{}</a></h{level}>",
            escape_attribute(&page_link(slug)),
            escape_text(text)
        ),
    )
}

/// A grid of items; an item named like one of the site's sub-pages (a
/// service with a page of its own) links to it from its heading.
fn columns(items: &[Item], sitemap: &Sitemap, photos: &[Photo]) -> String {
    let columns: Vec<String> = items
        .iter()
        .map(|item| {
            let page = sitemap.pages.iter().find(|p| {
                p.parent.is_some() && p.title.trim().eq_ignore_ascii_case(item.title.trim())
            });
            let title = match page {
                Some(page) => linked_heading(3, &item.title, &page.slug),
                None => heading(3, &item.title),
            };
            let slot = images::item_path(&item.title);
            block(
                "column",
                &[],
                &format!(
                    "<div class=\"wp-block-column\">{}\n\n{}\n\n{}</div>",
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
fn steps(items: &[Item]) -> String {
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
                    heading(3, &item.title),
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
/// "Photo by <photographer> on <provider>", both linked.
fn credit(photo: &Photo) -> String {
    format!(
        "<figcaption class=\"wp-element-caption\">Photo by <a href=\"{}\">{}</a> on <a href=\"{}\">{}</a></figcaption>",
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
    let mut out = Vec::with_capacity(content.sections.len());
    for (index, section) in content.sections.iter().enumerate() {
        out.push(render_section(slug, index, section, sitemap, photos));
    }
    out.join("\n\n")
}

fn render_section(
    slug: &str,
    index: usize,
    section: &Section,
    sitemap: &Sitemap,
    photos: &[Photo],
) -> String {
    let level = if section.kind == SectionKind::Hero {
        1
    } else {
        2
    };
    let mut children = vec![heading(level, &section.heading)];
    if section.kind == SectionKind::Contact {
        children.extend(section.paragraphs.iter().map(|p| contact_paragraph(p)));
    } else {
        children.extend(section.paragraphs.iter().map(|p| paragraph(p)));
    }
    if !section.items.is_empty() {
        match section.kind {
            SectionKind::Steps => children.push(steps(&section.items)),
            SectionKind::Faq => {
                for item in &section.items {
                    children.push(heading(3, &item.title));
                    children.push(paragraph(&item.text));
                }
            }
            _ => children.push(columns(&section.items, sitemap, photos)),
        }
    }
    if let Some(link) = &section.link {
        if sitemap.page(&link.slug).is_some() {
            children.push(button(&link.label, &page_link(&link.slug)));
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
    group(&class, &anchor, &children)
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
