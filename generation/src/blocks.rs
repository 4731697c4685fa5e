//! Our own Gutenberg block renderer. The model writes structured content
//! ([`PageContent`]); only this module writes markup, from fixed block
//! templates, so every page is valid block grammar with escaped text, one H1,
//! headings in order (h1, then h2 per section, h3 per item) and internal links.

use serde_json::{json, Value};

use crate::draft::{Item, PageContent, Section, SectionKind, Sitemap};

/// Longest SEO title, in characters.
pub const SEO_TITLE_MAX: usize = 60;
/// Longest meta description, in characters.
pub const META_DESCRIPTION_MAX: usize = 156;

/// Escapes text for HTML content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#039;"),
            c => out.push(c),
        }
    }
    out
}

/// Block attributes as WordPress's `serialize_block_attributes()` writes them,
/// so a page survives `parse_blocks` → `serialize_blocks` byte for byte: JSON
/// with `--`, `<`, `>`, `&` and `\"` escaped as unicode so no attribute can
/// end the HTML comment the block lives in.
pub fn block_attributes(attrs: &Value) -> String {
    let json = attrs.to_string();
    json.replace("--", "\\u002d\\u002d")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace("\\\"", "\\u0022")
}

/// A block with content, as the editor saves it.
fn block(name: &str, attrs: Option<Value>, inner: &str) -> String {
    let attrs = match attrs {
        Some(a) if a.as_object().is_some_and(|o| !o.is_empty()) => {
            format!("{} ", block_attributes(&a))
        }
        _ => String::new(),
    };
    format!("<!-- wp:{name} {attrs}-->\n{inner}\n<!-- /wp:{name} -->")
}

fn heading(level: u8, text: &str) -> String {
    // Level 2 is the heading block's default, which the editor leaves out.
    let attrs = (level != 2).then(|| json!({ "level": level }));
    block(
        "heading",
        attrs,
        &format!(
            "<h{level} class=\"wp-block-heading\">{}</h{level}>",
            escape_html(text)
        ),
    )
}

fn paragraph(text: &str) -> String {
    block("paragraph", None, &format!("<p>{}</p>", escape_html(text)))
}

fn button(label: &str, href: &str) -> String {
    let inner = block(
        "button",
        None,
        &format!(
            "<div class=\"wp-block-button\"><a class=\"wp-block-button__link wp-element-button\" href=\"{}\">{}</a></div>",
            escape_html(href),
            escape_html(label)
        ),
    );
    block(
        "buttons",
        None,
        &format!("<div class=\"wp-block-buttons\">{inner}</div>"),
    )
}

fn group(class: &str, anchor: &str, children: &[String]) -> String {
    let attrs = json!({
        "tagName": "section",
        "anchor": anchor,
        "className": class,
        "layout": {"type": "constrained"},
    });
    block(
        "group",
        Some(attrs),
        &format!(
            "<section id=\"{}\" class=\"wp-block-group {}\">{}</section>",
            escape_html(anchor),
            escape_html(class),
            children.join("\n\n")
        ),
    )
}

fn columns(items: &[Item]) -> String {
    let columns: Vec<String> = items
        .iter()
        .map(|item| {
            block(
                "column",
                None,
                &format!(
                    "<div class=\"wp-block-column\">{}\n\n{}</div>",
                    heading(3, &item.title),
                    paragraph(&item.text)
                ),
            )
        })
        .collect();
    block(
        "columns",
        None,
        &format!(
            "<div class=\"wp-block-columns\">{}</div>",
            columns.join("\n\n")
        ),
    )
}

fn ordered_list(items: &[Item]) -> String {
    let entries: Vec<String> = items
        .iter()
        .map(|item| {
            block(
                "list-item",
                None,
                &format!(
                    "<li><strong>{}</strong> {}</li>",
                    escape_html(&item.title),
                    escape_html(&item.text)
                ),
            )
        })
        .collect();
    block(
        "list",
        Some(json!({"ordered": true})),
        &format!("<ol>{}</ol>", entries.join("\n\n")),
    )
}

/// Renders one page's content to block markup. Internal links resolve
/// through the sitemap; a link to an unknown page is dropped, not guessed.
pub fn render_page(content: &PageContent, sitemap: &Sitemap) -> String {
    let mut out = Vec::with_capacity(content.sections.len());
    for (index, section) in content.sections.iter().enumerate() {
        out.push(render_section(index, section, sitemap));
    }
    out.join("\n\n")
}

fn render_section(index: usize, section: &Section, sitemap: &Sitemap) -> String {
    let level = if section.kind == SectionKind::Hero {
        1
    } else {
        2
    };
    let mut children = vec![heading(level, &section.heading)];
    children.extend(section.paragraphs.iter().map(|p| paragraph(p)));
    if !section.items.is_empty() {
        match section.kind {
            SectionKind::Steps => children.push(ordered_list(&section.items)),
            SectionKind::Faq => {
                for item in &section.items {
                    children.push(heading(3, &item.title));
                    children.push(paragraph(&item.text));
                }
            }
            _ => children.push(columns(&section.items)),
        }
    }
    if let Some(link) = &section.link {
        if sitemap.page(&link.slug).is_some() {
            children.push(button(&link.label, &sitemap.path(&link.slug)));
        }
    }
    let class = format!(
        "gsw-section gsw-{}",
        section.kind.as_str().replace('_', "-")
    );
    let anchor = format!("section-{}", index + 1);
    group(&class, &anchor, &children)
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
        let html = render_page(&content, &sitemap());
        assert!(html.contains("Fish &amp; Chips &lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"));
        assert!(html.contains("Ends with --&gt; here"));
        assert!(html.contains("href=\"/contact/\""));
        assert!(
            html.starts_with("<!-- wp:group {\"anchor\":\"section-1\""),
            "{html}"
        );
        assert_eq!(
            block_attributes(&json!({"a": "x--<y>&\"z\""})),
            r#"{"a":"x\u002d\u002d\u003cy\u003e\u0026\u0022z\u0022"}"#
        );
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
