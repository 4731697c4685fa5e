//! A generated page opened in the block editor and saved unchanged comes
//! back byte for byte: every block is valid as the editor's current version
//! of it (no deprecation, no built-in fix), and the editor's serializer
//! writes the same markup. Runs `web/e2e/block-roundtrip.mjs`, which parses
//! and serializes with the editor's own code in Node: the newest packages
//! (`@wordpress/blocks` and `@wordpress/block-library`, byte for byte), and
//! the editors of WordPress 6.1 (the scripts Debian's WordPress ships) and
//! 6.7 (its packages, in `web/e2e/wordpress-6.7`), which must open every
//! block as it is. Without Node.js, Debian's WordPress or `npm ci` in those
//! folders it fails and says what to install, like the other tests that
//! need a real dependency.
//!
//! The theme's template parts and templates are checked too: the site
//! editor parses and saves them the same way; and every page as it is
//! deployed to a site that keeps its own theme (`Styling::Inline`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use gsw_generation::agents::{Agents, ContentInput};
use gsw_generation::blocks::{render_page, render_page_with, Styling};
use gsw_generation::draft::{Brief, SiteDraft};
use gsw_generation::offline::OfflineEngine;
use gsw_generation::orchestrator::generate_in_memory;
use gsw_generation::photos::{self, Photo, PhotoFile, PhotoProvider};
use gsw_generation::provider::ModelRoutes;
use gsw_generation::theme;
use serde_json::{json, Value};

mod common;
use common::{hostile_page, hostile_page_with, palette};

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// WordPress 6.1's own editor scripts: Debian's `wordpress` package.
const WORDPRESS_6_1: &str = "/usr/share/wordpress";
/// The editor's packages as WordPress 6.7 was built from them, installed by
/// `npm ci` in this folder of `web/`.
const WORDPRESS_6_7: &str = "e2e/wordpress-6.7";

/// Node.js and the editors' packages, or a message saying what to install.
fn check_requirements(web: &Path) {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "no `node` on this machine: the editor round-trip test needs Node.js 20 and `npm ci` run in web/"
    );
    for package in ["@wordpress/blocks", "@wordpress/block-library", "happy-dom"] {
        assert!(
            web.join("node_modules").join(package).exists(),
            "{package} is not installed in {}: run `npm ci` in web/ (the editor round-trip test needs Node.js 20 and web's devDependencies)",
            web.display()
        );
    }
    assert!(
        Path::new(WORDPRESS_6_1).join("wp-includes/js/dist/blocks.js").exists(),
        "no WordPress 6.1 in {WORDPRESS_6_1}: install Debian's `wordpress` package (its editor scripts are checked too)"
    );
    assert!(
        web.join(WORDPRESS_6_7)
            .join("node_modules/@wordpress/block-library")
            .exists(),
        "the WordPress 6.7 editor packages are not installed: run `npm ci` in web/{WORDPRESS_6_7}"
    );
}

fn agents() -> Agents {
    Agents {
        provider: Arc::new(OfflineEngine),
        routes: ModelRoutes {
            small: "s".into(),
            large: "l".into(),
        },
    }
}

/// Businesses of different types, in each language the offline engine
/// writes, with the contact details that become links.
fn briefs() -> Vec<Brief> {
    let brief = |name: &str, kind: &str, language: &str, description: &str, goals: &[&str]| Brief {
        business_name: name.into(),
        business_type: kind.into(),
        description: description.into(),
        goals: goals.iter().map(|g| g.to_string()).collect(),
        language: Some(language.into()),
        ..Default::default()
    };
    vec![
        Brief {
            phone: Some("+44 117 496 0123".into()),
            email: Some("hello@clearwater.example".into()),
            address: Some("12 Park Street, Bristol BS1 5HX".into()),
            opening_hours: Some("Monday to Friday 8:00-18:00".into()),
            ..brief("Clearwater Dental's \"Smile\" Studio", "dental clinic", "en", "Family dentist in Bristol offering check-ups, hygiene & whitening.", &["Online appointment booking"])
        },
        brief("Maison Lune", "boulangerie", "fr", "Une boulangerie familiale à Lyon : pain au levain, croissants et gâteaux d'anniversaire. Téléphone : 04 72 00 00 00.", &["Commandes en ligne", "Être trouvé sur Google"]),
        brief("O'Brien & Sons -- Plumbing", "plumber", "en-IE", "Plumbers in Cork providing repairs, boiler installs and \"no call-out fee\" quotes. Email: jobs@obrien.example", &["More quote requests <fast>"]),
        Brief {
            address: Some("Kastanienallee 7, 10435 Berlin".into()),
            ..brief("Yoga im Hof", "yoga", "de", "Yoga in Berlin: Vinyasa, Yin und Schwangerschaftsyoga für Anfänger.", &["Kurse verkaufen", "Newsletter"])
        },
        brief("Hart voor Gent", "charity", "nl-BE", "Een buurtstichting in Gent met voedselbanken en jeugdclubs. Tel. 09 123 45 67.", &["Donaties", "Vrijwilligers werven"]),
        brief("Abogados Ruiz & Vidal", "lawyer", "es", "Despacho de abogados en Sevilla: derecho laboral, familia y herencias.", &["Más consultas"]),
        brief("Pedal Works", "bicycle repair", "en", "Bike repairs and servicing in Utrecht, e-bikes welcome.", &["Book a service"]),
        brief("Hotel Zeezicht", "hotel", "nl", "Klein hotel aan zee in Zandvoort met twaalf kamers en ontbijt.", &["Meer directe boekingen"]),
    ]
}

/// Pages as the dashboard's regenerate button leaves them: the home page
/// rewritten whole, and one section of the last page rewritten alone.
async fn regenerated(agents: &Agents, draft: &SiteDraft) -> Vec<(String, String)> {
    let mut pages = Vec::new();
    let input = |slug: &str, section| ContentInput {
        brief: draft.brief.clone(),
        sitemap: draft.sitemap.clone(),
        slug: slug.to_owned(),
        variant: 1,
        section,
    };
    if let Some(home) = draft.pages.first() {
        let content = agents.page(&input(&home.slug, None)).await.unwrap().output;
        pages.push((
            format!("{} (rewritten)", home.slug),
            render_page(&home.slug, &content, &draft.sitemap, &[]),
        ));
    }
    if let Some(last) = draft.pages.last().filter(|p| p.content.sections.len() > 1) {
        let fresh = agents
            .page(&input(&last.slug, Some(1)))
            .await
            .unwrap()
            .output;
        let mut content = last.content.clone();
        if let Some(section) = fresh.sections.get(1) {
            content.sections[1] = section.clone();
        }
        pages.push((
            format!("{} (section 2 rewritten)", last.slug),
            render_page(&last.slug, &content, &draft.sitemap, &[]),
        ));
    }
    pages
}

/// Every page of a draft with stock photos in its pictures, as a site with
/// a photo provider's key gets them: downloaded ones (Pexels) behind
/// `#gsw-media=`, hotlinked ones (Unsplash, URLs with `&` in their query)
/// as they are, each with the credit as its caption; names and
/// descriptions with characters that need escaping.
fn with_photos(draft: &SiteDraft) -> Vec<(String, String)> {
    let wanted = photos::wanted(&draft.brief, &draft.sitemap, |slug| {
        draft
            .pages
            .iter()
            .find(|p| p.slug == slug)
            .map(|p| &p.content)
    });
    assert!(wanted.len() > 2, "{wanted:?}");
    let chosen: Vec<Photo> = wanted
        .iter()
        .enumerate()
        .map(|(i, want)| {
            let pexels = i % 2 == 0;
            Photo {
                slot: want.slot.clone(),
                provider: if pexels {
                    PhotoProvider::Pexels
                } else {
                    PhotoProvider::Unsplash
                },
                id: format!("{i}"),
                image_url: if pexels {
                    format!("https://images.pexels.com/photos/{i}/pexels-photo-{i}.jpeg?auto=compress&cs=tinysrgb&h=650&w=940")
                } else {
                    format!("https://images.unsplash.com/photo-{i}?crop=entropy&cs=tinysrgb&fit=max&fm=jpg&ixid=M3w&q=80&w=1080")
                },
                file: pexels.then(|| PhotoFile {
                    path: gsw_generation::images::photo_path(&want.slot, "image/jpeg").unwrap(),
                    sha256: "0".repeat(64),
                    content_type: "image/jpeg".into(),
                }),
                alt: if i == 1 { want.title.clone() } else { format!("A mechanic's \"hands\" & a <wheel> {i}") },
                photographer: "Zoë O'Neil & Co".into(),
                photographer_url: if pexels {
                    "https://www.pexels.com/@zoe-oneil".into()
                } else {
                    "https://unsplash.com/@zoe?utm_source=gswstudio&utm_medium=referral".into()
                },
                provider_url: if pexels {
                    format!("https://www.pexels.com/photo/bike-{i}/")
                } else {
                    "https://unsplash.com/?utm_source=gswstudio&utm_medium=referral".into()
                },
                // Credits in two languages.
                language: (i % 3 == 2).then(|| "nl-BE".to_owned()),
            }
        })
        .collect();
    draft
        .pages
        .iter()
        .map(|page| {
            let blocks = render_page(&page.slug, &page.content, &draft.sitemap, &chosen);
            assert!(blocks.contains("wp-element-caption"), "{blocks}");
            (format!("{} (photos)", page.slug), blocks)
        })
        .collect()
}

/// The theme's block markup: template parts and templates. The site editor
/// saves them without the file's final newline, which is no change.
fn theme_markup(draft: &SiteDraft) -> Vec<(String, String)> {
    theme::build(draft)
        .files
        .into_iter()
        .filter(|(path, _)| {
            (path.starts_with("parts/") || path.starts_with("templates/"))
                && path.ends_with(".html")
        })
        .map(|(path, bytes)| {
            let markup = String::from_utf8(bytes).expect("templates are UTF-8");
            (
                format!("theme: {path}"),
                markup.strip_suffix('\n').unwrap_or(&markup).to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn generated_pages_are_unchanged_by_the_block_editor() {
    let web = web_dir();
    check_requirements(&web);
    let agents = agents();
    let mut pages: Vec<Value> = Vec::new();
    let mut add = |site: &str, slug: String, blocks: String| {
        pages.push(json!({"site": site, "slug": slug, "blocks": blocks}));
    };
    for brief in briefs() {
        let draft = generate_in_memory(&agents, &brief, 4).await.unwrap();
        assert!(draft.failed_pages.is_empty(), "{:?}", draft.failed_pages);
        let site = &brief.business_name;
        for page in &draft.pages {
            add(site, page.slug.clone(), page.blocks.clone());
        }
        // As deployed to a site that keeps its own theme: the look in the
        // blocks' own attributes.
        for page in &draft.pages {
            let blocks = render_page_with(
                &page.slug,
                &page.content,
                &draft.sitemap,
                &draft.photos,
                Styling::Inline(&draft.design.palette),
            );
            assert!(blocks.contains("has-background"), "{blocks}");
            add(site, format!("{} (inline styling)", page.slug), blocks);
        }
        for (slug, blocks) in regenerated(&agents, &draft).await {
            add(site, slug, blocks);
        }
        for (slug, blocks) in theme_markup(&draft) {
            add(site, slug, blocks);
        }
        if brief.business_type == "bicycle repair" {
            for (slug, blocks) in with_photos(&draft) {
                add(site, slug, blocks);
            }
        }
    }
    add("stress", "every-section-kind".into(), hostile_page());
    let palette = palette();
    add(
        "stress",
        "every-section-kind (inline styling)".into(),
        hostile_page_with(Styling::Inline(&palette)),
    );
    let count = pages.len();

    // Kept in target/ for a look (and for running other editors by hand).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/editor-roundtrip");
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("pages.json");
    std::fs::write(&input, serde_json::to_vec(&pages).unwrap()).unwrap();
    let newest = roundtrip(&web, &input, "newest");
    assert_eq!(newest["pages"], count, "{newest:#}");
    assert!(
        newest["blocks"].as_u64().unwrap_or(0) >= 2 * count as u64,
        "{newest:#}"
    );
    for kind in ["invalid", "migrated", "rewritten"] {
        assert!(
            newest[kind].as_array().is_some_and(Vec::is_empty),
            "the block editor would change generated markup ({kind}):\n{newest:#}"
        );
    }
    // Older editors open every block as it is (none broken, none migrated);
    // each writes some attributes in its own dialect on save (6.7 keeps a
    // group's anchor only in its `id`, 6.1 also adds `wp-block-heading` to
    // a heading's className and drops a block binding it does not know),
    // which changes no content: counted, not failed.
    for editor in [
        format!("wordpress:{}", WORDPRESS_6_1),
        format!("packages:{}", WORDPRESS_6_7),
    ] {
        let report = roundtrip(&web, &input, &editor);
        assert_eq!(report["blocks"], newest["blocks"], "{report:#}");
        for kind in ["invalid", "migrated"] {
            assert!(
                report[kind].as_array().is_some_and(Vec::is_empty),
                "the block editor of {editor} would not open generated markup as it is ({kind}):\n{report:#}"
            );
        }
        eprintln!(
            "{editor}: {} blocks on {} pages open as they are; {} pages saved in its own dialect",
            report["blocks"],
            report["pages"],
            report["rewritten"].as_array().map_or(0, Vec::len)
        );
    }
}

/// Runs `block-roundtrip.mjs` on the pages with one editor and reads its report.
fn roundtrip(web: &Path, input: &Path, editor: &str) -> Value {
    let output = Command::new("node")
        .arg("e2e/block-roundtrip.mjs")
        .arg(input)
        .args(["--editor", editor])
        .current_dir(web)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "block-roundtrip.mjs --editor {editor} printed no report ({e}); exit {:?}\nstdout: {stdout}\nstderr: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(report["editor"], editor, "{report:#}");
    report
}
