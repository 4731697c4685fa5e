//! What the generation tests share.

use gsw_generation::blocks::{render_page_with, Styling};
use gsw_generation::draft::{
    Item, Link, PageContent, PagePlan, Palette, Section, SectionKind, Sitemap,
};

/// A page written to stress the renderer: every section kind, and text with
/// every character that matters to HTML, rich text or block comments.
pub fn hostile_page() -> String {
    hostile_page_with(Styling::Classes)
}

/// A palette as the design agent might send one, short forms and capitals.
#[allow(dead_code)] // Not every test binary that shares this module uses it.
pub fn palette() -> Palette {
    Palette {
        base: "#FFFFFF".into(),
        contrast: "#1a1a1a".into(),
        primary: "#b4461f".into(),
        on_primary: "#fff".into(),
        secondary: "#F4EDE4".into(),
        accent: "#2f6f5e".into(),
    }
}

/// [`hostile_page`] styled as `styling` says.
pub fn hostile_page_with(styling: Styling<'_>) -> String {
    let plan = |slug: &str, parent: Option<&str>| PagePlan {
        slug: slug.into(),
        title: slug.into(),
        parent: parent.map(Into::into),
        purpose: String::new(),
        sections: vec![],
    };
    let sitemap = Sitemap {
        pages: vec![
            plan("home", None),
            plan("contact", None),
            plan("b", Some("home")),
        ],
        navigation: vec!["home".into()],
    };
    let nasty = "Tom & Jerry's <b>\"best\"</b> -- café --> <!-- wp:paragraph --> &amp; \\ \u{a0} \u{2028} 🍰";
    let content = PageContent {
        seo_title: nasty.into(),
        meta_description: nasty.into(),
        sections: SectionKind::ALL
            .iter()
            .map(|kind| Section {
                kind: *kind,
                heading: nasty.into(),
                paragraphs: vec![
                    nasty.into(),
                    "Call +32 9 123 45 67 or write to a&b@example.org".into(),
                ],
                items: vec![
                    Item {
                        title: nasty.into(),
                        text: nasty.into(),
                    },
                    Item {
                        title: "b".into(),
                        text: "c".into(),
                    },
                ],
                link: Some(Link {
                    label: nasty.into(),
                    slug: "contact".into(),
                }),
            })
            .collect(),
    };
    render_page_with("every-kind", &content, &sitemap, &[], styling)
}
