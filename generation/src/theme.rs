//! The block theme generated for each site from its design and identity:
//! `theme.json` (palette, fluid type scale, spacing, the fonts and their
//! faces), `style.css` (the section styles: hero, feature cards, steps,
//! questions, call-to-action and contact bands), templates and parts (a
//! header with the site title and navigation, a footer with the business's
//! details, a landing template that shows only the page's own H1), the
//! font files, and `functions.php`, which loads the stylesheet and prints
//! the home page's schema.org structured data.
//!
//! [`stylesheet`] is also what the dashboard's preview renders with, so the
//! preview and the live site share one source of styles.

use serde_json::{json, Value};

use crate::blocks::{block_attributes, escape_attribute, escape_text};
use crate::draft::{Identity, Palette, SiteDraft};
use crate::fonts::{self, Family};

/// The custom template generated pages use: no page title above the
/// page's own H1.
pub const LANDING_TEMPLATE: &str = "gsw-landing";

/// A generated theme: its folder name and its files (paths inside the folder).
#[derive(Debug, Clone)]
pub struct Theme {
    pub slug: String,
    pub files: Vec<(String, Vec<u8>)>,
}

/// The theme folder for a site: `gsw-` and the site name as a slug.
pub fn slug_for(name: &str) -> String {
    let mut slug = String::from("gsw-");
    let mut dash = false;
    for c in name.to_lowercase().chars() {
        let c = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            slug.push(c);
            dash = false;
        } else if !dash && slug.len() > 4 {
            slug.push('-');
            dash = true;
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug == "gsw" || slug == "gsw-" {
        "gsw-site".to_owned()
    } else {
        slug
    }
}

/// The two families a design uses, as we can ship them.
pub fn families(draft: &SiteDraft) -> (&'static Family, &'static Family) {
    (
        fonts::family_or_nearest(&draft.design.fonts.heading),
        fonts::family_or_nearest(&draft.design.fonts.body),
    )
}

/// The families to ship: the heading's, and the body's when it is another.
fn distinct(heading: &'static Family, body: &'static Family) -> Vec<&'static Family> {
    if heading.slug == body.slug {
        vec![heading]
    } else {
        vec![heading, body]
    }
}

/// Builds the theme for a draft.
pub fn build(draft: &SiteDraft) -> Theme {
    let identity = identity_of(draft);
    let slug = slug_for(&identity.name);
    let (heading, body) = families(draft);
    let mut files = vec![
        (
            "style.css".to_owned(),
            style_css(draft, &identity).into_bytes(),
        ),
        (
            "theme.json".to_owned(),
            serde_json::to_vec_pretty(&theme_json(&draft.design.palette, heading, body))
                .expect("a JSON value serialises"),
        ),
        (
            "functions.php".to_owned(),
            FUNCTIONS_PHP
                .replace("GSW_LANGUAGE", &language_tag(&identity.language))
                .into_bytes(),
        ),
        (
            "structured-data.json".to_owned(),
            serde_json::to_vec_pretty(&structured_data(draft, &identity))
                .expect("a JSON value serialises"),
        ),
        (
            "parts/header.html".to_owned(),
            HEADER_HTML.as_bytes().to_vec(),
        ),
        (
            "parts/footer.html".to_owned(),
            footer_html(&identity).into_bytes(),
        ),
        (
            "templates/index.html".to_owned(),
            INDEX_HTML.as_bytes().to_vec(),
        ),
        (
            "templates/page.html".to_owned(),
            PAGE_HTML.as_bytes().to_vec(),
        ),
        (
            "templates/single.html".to_owned(),
            PAGE_HTML.as_bytes().to_vec(),
        ),
        (
            format!("templates/{LANDING_TEMPLATE}.html"),
            LANDING_HTML.as_bytes().to_vec(),
        ),
        (
            "templates/404.html".to_owned(),
            NOT_FOUND_HTML.as_bytes().to_vec(),
        ),
    ];
    for family in distinct(heading, body) {
        for face in family.faces {
            files.push((
                format!("assets/fonts/{}/{}", family.slug, face.file),
                face.bytes.to_vec(),
            ));
        }
        files.push((
            format!("assets/fonts/{}/OFL.txt", family.slug),
            OFL_NOTE.replace("{family}", family.name).into_bytes(),
        ));
    }
    Theme { slug, files }
}

/// A draft's identity, read from its brief for drafts made before
/// identities existed.
pub fn identity_of(draft: &SiteDraft) -> Identity {
    if draft.identity.name.is_empty() {
        crate::offline::identity(&draft.brief)
    } else {
        draft.identity.clone()
    }
}

/// A language tag safe inside a PHP string and an HTML attribute: letters,
/// digits and dashes, `en` when nothing is left.
fn language_tag(language: &str) -> String {
    let tag: String = language
        .chars()
        .map(|c| if c == '_' { '-' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(35)
        .collect();
    if tag.is_empty() {
        "en".to_owned()
    } else {
        tag
    }
}

const OFL_NOTE: &str = "{family} is licensed under the SIL Open Font License, Version 1.1 \
(https://openfontlicense.org). The font files are the Latin subset distributed by \
Fontsource (https://fontsource.org).\n";

fn theme_json(palette: &Palette, heading: &Family, body: &Family) -> Value {
    let colour =
        |slug: &str, name: &str, value: &str| json!({"slug": slug, "name": name, "color": value});
    let family = |slug: &str, family: &Family| {
        let faces: Vec<Value> = family
            .faces
            .iter()
            .map(|face| {
                json!({
                    "fontFamily": family.name,
                    "fontWeight": face.weight,
                    "fontStyle": "normal",
                    "fontDisplay": "swap",
                    "src": [format!("file:./assets/fonts/{}/{}", family.slug, face.file)],
                })
            })
            .collect();
        json!({"slug": slug, "name": family.name, "fontFamily": family.stack(), "fontFace": faces})
    };
    let size = |slug: &str, name: &str, min: &str, max: &str, preferred: &str| {
        json!({
            "slug": slug,
            "name": name,
            "size": format!("clamp({min}, {preferred}, {max})"),
        })
    };
    json!({
        "$schema": "https://schemas.wp.org/wp/6.1/theme.json",
        "version": 2,
        "settings": {
            "appearanceTools": true,
            "useRootPaddingAwareAlignments": true,
            "layout": {"contentSize": "46rem", "wideSize": "72rem"},
            "color": {
                "defaultPalette": false,
                "defaultGradients": false,
                "defaultDuotone": false,
                "palette": [
                    colour("base", "Base", &palette.base),
                    colour("contrast", "Contrast", &palette.contrast),
                    colour("primary", "Primary", &palette.primary),
                    colour("on-primary", "On primary", &palette.on_primary),
                    colour("secondary", "Secondary", &palette.secondary),
                    colour("accent", "Accent", &palette.accent),
                ],
            },
            "typography": {
                "fluid": true,
                "dropCap": false,
                "fontFamilies": [family("heading", heading), family("body", body)],
                "fontSizes": [
                    size("small", "Small", "0.875rem", "0.95rem", "0.85rem + 0.2vw"),
                    size("medium", "Medium", "1rem", "1.125rem", "0.95rem + 0.25vw"),
                    size("large", "Large", "1.2rem", "1.45rem", "1.1rem + 0.5vw"),
                    size("x-large", "Extra large", "1.55rem", "2.25rem", "1.3rem + 1.25vw"),
                    size("xx-large", "Huge", "2rem", "3.25rem", "1.5rem + 2.6vw"),
                ],
            },
            "spacing": {
                "units": ["px", "em", "rem", "vh", "vw", "%"],
                "spacingScale": {"steps": 0},
                "spacingSizes": [
                    {"slug": "30", "name": "Small", "size": "clamp(0.75rem, 0.6rem + 0.6vw, 1rem)"},
                    {"slug": "40", "name": "Medium", "size": "clamp(1.25rem, 1rem + 1vw, 2rem)"},
                    {"slug": "50", "name": "Large", "size": "clamp(2rem, 1.5rem + 2.5vw, 3.5rem)"},
                    {"slug": "60", "name": "Extra large", "size": "clamp(3rem, 2rem + 4vw, 5.5rem)"},
                ],
            },
        },
        "styles": {
            "color": {
                "background": "var(--wp--preset--color--base)",
                "text": "var(--wp--preset--color--contrast)",
            },
            "spacing": {
                "blockGap": "1.25rem",
                "padding": {
                    "left": "var(--wp--preset--spacing--40)",
                    "right": "var(--wp--preset--spacing--40)",
                    "top": "0",
                    "bottom": "0",
                },
            },
            "typography": {
                "fontFamily": "var(--wp--preset--font-family--body)",
                "fontSize": "var(--wp--preset--font-size--medium)",
                "lineHeight": "1.65",
            },
            "elements": {
                "link": {"color": {"text": "var(--wp--preset--color--primary)"}},
                "heading": {
                    "typography": {
                        "fontFamily": "var(--wp--preset--font-family--heading)",
                        "lineHeight": "1.2",
                        "fontWeight": "700",
                    },
                },
                "h1": {"typography": {"fontSize": "var(--wp--preset--font-size--xx-large)"}},
                "h2": {"typography": {"fontSize": "var(--wp--preset--font-size--x-large)"}},
                "h3": {"typography": {"fontSize": "var(--wp--preset--font-size--large)"}},
                "button": {
                    "border": {"radius": "999px"},
                    "color": {
                        "background": "var(--wp--preset--color--primary)",
                        "text": "var(--wp--preset--color--on-primary)",
                    },
                    "typography": {"fontWeight": "600"},
                },
            },
        },
        "customTemplates": [
            {"name": LANDING_TEMPLATE, "title": "Landing page (the page's own heading, no title)", "postTypes": ["page"]},
        ],
        "templateParts": [
            {"name": "header", "title": "Header", "area": "header"},
            {"name": "footer", "title": "Footer", "area": "footer"},
        ],
    })
}

/// The section styles, in terms of the theme's presets
/// (`--wp--preset--…`): the stylesheet the theme loads and the dashboard's
/// preview renders with.
pub const SECTION_CSS: &str = r#"
/* Headings wrap between words, never inside one. */
h1, h2, h3, h4, .wp-block-site-title { overflow-wrap: normal; word-break: normal; hyphens: manual; text-wrap: balance; }
body { -webkit-font-smoothing: antialiased; }
.wp-site-blocks { padding-top: 0; padding-bottom: 0; }
.wp-site-blocks > * { margin-block-start: 0; }

.gsw-header { border-bottom: 1px solid color-mix(in srgb, var(--wp--preset--color--contrast) 12%, transparent); padding-top: var(--wp--preset--spacing--30); padding-bottom: var(--wp--preset--spacing--30); }
.gsw-header .wp-block-site-title { font-family: var(--wp--preset--font-family--heading); font-weight: 700; font-size: var(--wp--preset--font-size--large); margin: 0; }
.gsw-header .wp-block-site-title a { color: var(--wp--preset--color--contrast); text-decoration: none; }
.gsw-header .wp-block-navigation a { color: var(--wp--preset--color--contrast); text-decoration: none; font-weight: 500; }
.gsw-header .wp-block-navigation a:hover, .gsw-header .wp-block-navigation a:focus { color: var(--wp--preset--color--primary); text-decoration: underline; }

.gsw-section { padding-top: var(--wp--preset--spacing--60); padding-bottom: var(--wp--preset--spacing--60); }
/* Sections are bands that touch: beats the layout's block gap between them. */
.wp-site-blocks .gsw-section.gsw-section { margin-block-start: 0; margin-block-end: 0; }
.gsw-section > * + * { margin-block-start: 1.25rem; }
.gsw-section h2 { margin-block-end: 0.5rem; }

.gsw-hero { background: var(--wp--preset--color--secondary); }
.gsw-hero h1 { color: var(--wp--preset--color--primary); }
.gsw-hero p { font-size: var(--wp--preset--font-size--large); }

.gsw-features .wp-block-columns { gap: var(--wp--preset--spacing--40); margin-block-start: var(--wp--preset--spacing--40); }
.gsw-features .wp-block-column { overflow: hidden; background: var(--wp--preset--color--base); border: 1px solid color-mix(in srgb, var(--wp--preset--color--contrast) 12%, transparent); border-radius: 14px; padding: var(--wp--preset--spacing--40); box-shadow: 0 1px 2px rgb(0 0 0 / 5%), 0 8px 24px rgb(0 0 0 / 5%); }
.gsw-features .wp-block-column h3 { margin-top: 0; color: var(--wp--preset--color--primary); }
.gsw-features .wp-block-column > * + * { margin-block-start: 0.5rem; }
.gsw-features .wp-block-column > .gsw-item-image { margin: calc(-1 * var(--wp--preset--spacing--40)) calc(-1 * var(--wp--preset--spacing--40)) 1rem; }
.gsw-item-image img { display: block; width: 100%; height: auto; aspect-ratio: 8 / 5; object-fit: cover; border-radius: 14px 14px 0 0; }
.gsw-hero-image { margin-block-start: var(--wp--preset--spacing--40); }
.gsw-hero-image img { display: block; width: 100%; height: auto; aspect-ratio: 16 / 7; object-fit: cover; border-radius: 18px; }
.gsw-brand { gap: 0.6rem; align-items: center; }
.gsw-brand .wp-block-site-logo img { border-radius: 9px; }

.gsw-text:nth-of-type(even), .gsw-steps, .gsw-faq:nth-of-type(even) { background: color-mix(in srgb, var(--wp--preset--color--secondary) 55%, var(--wp--preset--color--base)); }
.gsw-step-list { counter-reset: gsw-step; display: grid; gap: 1.25rem; }
.gsw-step { border-left: 4px solid var(--wp--preset--color--accent); padding-left: 1rem; }
.gsw-step > * { margin-block: 0.25rem; }
.gsw-step h3::before { counter-increment: gsw-step; content: counter(gsw-step) ". "; color: var(--wp--preset--color--primary); }
.gsw-faq h3 { font-size: var(--wp--preset--font-size--medium); margin-block-start: 1.75rem; }

.gsw-call-to-action { background: var(--wp--preset--color--primary); color: var(--wp--preset--color--on-primary); text-align: center; }
.gsw-call-to-action h2, .gsw-call-to-action p { color: var(--wp--preset--color--on-primary); margin-left: auto; margin-right: auto; }
.gsw-call-to-action .wp-block-buttons { justify-content: center; }
.gsw-call-to-action .wp-block-button__link { background: var(--wp--preset--color--on-primary); color: var(--wp--preset--color--primary); }

.gsw-contact { background: var(--wp--preset--color--secondary); }
.gsw-contact a { font-weight: 600; }

.wp-block-button__link { padding: 0.8em 1.6em; text-decoration: none; transition: filter 0.15s ease; }
.wp-block-button__link:hover, .wp-block-button__link:focus { filter: brightness(0.92); }
:where(a):focus-visible, .wp-block-button__link:focus-visible { outline: 3px solid var(--wp--preset--color--accent); outline-offset: 2px; }

.gsw-footer { background: var(--wp--preset--color--contrast); color: var(--wp--preset--color--base); padding-top: var(--wp--preset--spacing--50); padding-bottom: var(--wp--preset--spacing--50); margin-block-start: 0; }
.gsw-footer a { color: var(--wp--preset--color--base); }
.gsw-footer h2 { color: var(--wp--preset--color--base); font-size: var(--wp--preset--font-size--large); margin: 0 0 0.5rem; }
.gsw-footer p { margin: 0.25rem 0; font-size: var(--wp--preset--font-size--small); }
.gsw-footer .gsw-footer-note { opacity: 0.85; margin-top: var(--wp--preset--spacing--40); max-width: var(--wp--style--global--wide-size); }

@media (max-width: 600px) {
  .gsw-header > .wp-block-group { gap: 0.5rem; }
}
"#;

/// `style.css`: the theme header WordPress reads, then [`SECTION_CSS`].
fn style_css(draft: &SiteDraft, identity: &Identity) -> String {
    let description = format!(
        "The site theme of {}, generated by gsWstudio from its design: {}",
        identity.name, draft.design.style
    )
    .replace(['\n', '*'], " ");
    format!(
        "/*\nTheme Name: {name}\nAuthor: gsWstudio\nDescription: {description}\nVersion: 1.0.0\nRequires at least: 6.1\nRequires PHP: 7.4\nLicense: GNU General Public License v2 or later\nText Domain: {slug}\n*/\n{SECTION_CSS}",
        name = identity.name.replace(['\n', '*'], " "),
        slug = slug_for(&identity.name),
    )
}

/// The stylesheet the dashboard's preview renders a draft with: the presets
/// WordPress would print from `theme.json` as custom properties, the base
/// element styles, and [`SECTION_CSS`]. `font_url` gives the URL of a font
/// file (`family slug`, `file name`).
pub fn stylesheet(draft: &SiteDraft, font_url: impl Fn(&str, &str) -> String) -> String {
    let palette = &draft.design.palette;
    let (heading, body) = families(draft);
    let mut css = String::new();
    for family in distinct(heading, body) {
        for face in family.faces {
            css.push_str(&format!(
                "@font-face {{ font-family: \"{}\"; font-weight: {}; font-style: normal; font-display: swap; src: url(\"{}\") format(\"woff2\"); }}\n",
                family.name,
                face.weight,
                font_url(family.slug, face.file)
            ));
        }
    }
    let json = theme_json(palette, heading, body);
    css.push_str(":root {\n");
    // Each preset as WordPress names its custom property.
    let presets = [
        ("color", &json["settings"]["color"]["palette"], "color"),
        (
            "font-size",
            &json["settings"]["typography"]["fontSizes"],
            "size",
        ),
        (
            "spacing",
            &json["settings"]["spacing"]["spacingSizes"],
            "size",
        ),
    ];
    for (kind, list, field) in presets {
        for preset in list.as_array().into_iter().flatten() {
            css.push_str(&format!(
                "  --wp--preset--{kind}--{}: {};\n",
                preset["slug"].as_str().unwrap_or_default(),
                preset[field].as_str().unwrap_or_default()
            ));
        }
    }
    css.push_str(&format!(
        "  --wp--preset--font-family--heading: {};\n  --wp--preset--font-family--body: {};\n}}\n",
        heading.stack(),
        body.stack()
    ));
    css.push_str(PREVIEW_BASE_CSS);
    css.push_str(SECTION_CSS);
    css
}

/// What WordPress prints from `theme.json`'s `styles` and its layout
/// support, for the preview (the same values as [`theme_json`]'s styles).
const PREVIEW_BASE_CSS: &str = r#"
.gsw-preview { background: var(--wp--preset--color--base); color: var(--wp--preset--color--contrast); font-family: var(--wp--preset--font-family--body); font-size: var(--wp--preset--font-size--medium); line-height: 1.65; }
.gsw-preview h1, .gsw-preview h2, .gsw-preview h3 { font-family: var(--wp--preset--font-family--heading); line-height: 1.2; font-weight: 700; }
.gsw-preview h1 { font-size: var(--wp--preset--font-size--xx-large); }
.gsw-preview h2 { font-size: var(--wp--preset--font-size--x-large); }
.gsw-preview h3 { font-size: var(--wp--preset--font-size--large); }
.gsw-preview a { color: var(--wp--preset--color--primary); }
/* Root padding, on the groups WordPress gives it to (constrained ones). */
.gsw-preview .gsw-section, .gsw-preview .gsw-header { padding-left: var(--wp--preset--spacing--40); padding-right: var(--wp--preset--spacing--40); }
/* WordPress's layout rules, at their specificity (body plus one class):
   the page content, default groups and columns flow with the block gap;
   sections are constrained to the content width, wide blocks to the wide one. */
body :is(main, .gsw-section, .gsw-step-list, .gsw-step, .wp-block-column) > * { margin-block-start: 0; margin-block-end: 0; }
body :is(main, .gsw-section, .gsw-step-list, .gsw-step, .wp-block-column) > * + * { margin-block-start: 1.25rem; margin-block-end: 0; }
body .gsw-section > :where(:not(.alignleft):not(.alignright):not(.alignfull)) { max-width: 46rem; margin-left: auto !important; margin-right: auto !important; }
body .gsw-section > .alignwide { max-width: 72rem; }
.gsw-preview .wp-block-columns { display: flex; flex-wrap: wrap; }
.gsw-preview .wp-block-column { flex: 1 1 14rem; min-width: 0; }
.gsw-preview .wp-block-buttons { display: flex; gap: 0.5rem; flex-wrap: wrap; }
.gsw-preview .wp-block-button__link { display: inline-block; border-radius: 999px; background: var(--wp--preset--color--primary); color: var(--wp--preset--color--on-primary); font-weight: 600; }
"#;

const FUNCTIONS_PHP: &str = r#"<?php
/**
 * Generated by gsWstudio: loads the section styles and prints the home
 * page's structured data (structured-data.json beside this file).
 */

if (!defined('ABSPATH')) {
    exit;
}

add_action('after_setup_theme', function () {
    add_theme_support('wp-block-styles');
    add_theme_support('editor-styles');
    add_editor_style('style.css');
});

add_action('wp_enqueue_scripts', function () {
    $theme = wp_get_theme();
    wp_enqueue_style(get_stylesheet(), get_stylesheet_uri(), [], $theme->get('Version') . '-' . filemtime(get_stylesheet_directory() . '/style.css'));
});

// The SEO title and meta description the page was deployed with (kept in
// Yoast's and Rank Math's fields), printed by the theme when neither plugin
// is active to print them.
$gsw_seo_plugin = function () {
    return defined('WPSEO_VERSION') || class_exists('RankMath');
};
$gsw_seo_field = function (string $key) {
    if (!is_singular()) {
        return '';
    }
    $value = get_post_meta(get_queried_object_id(), $key, true);
    return is_string($value) ? trim($value) : '';
};

add_filter('pre_get_document_title', function ($title) use ($gsw_seo_plugin, $gsw_seo_field) {
    if ($gsw_seo_plugin()) {
        return $title;
    }
    $seo = $gsw_seo_field('_yoast_wpseo_title');
    return $seo !== '' ? $seo : $title;
});

add_action('wp_head', function () use ($gsw_seo_plugin, $gsw_seo_field) {
    if ($gsw_seo_plugin()) {
        return;
    }
    $description = $gsw_seo_field('_yoast_wpseo_metadesc');
    if ($description !== '') {
        echo '<meta name="description" content="' . esc_attr($description) . '">' . "\n";
    }
}, 1);

// WordPress answers /robots.txt itself only under pretty permalinks; under
// plain ones the request would get the home page.
add_action('init', function () {
    if (get_option('permalink_structure')) {
        return;
    }
    $path = parse_url($_SERVER['REQUEST_URI'] ?? '', PHP_URL_PATH);
    if ($path === '/robots.txt') {
        do_robots();
        exit;
    }
});

// The site's language on <html lang>, even where WordPress lacks that
// language's pack (then WPLANG cannot be set and WordPress says en-US).
add_filter('language_attributes', function ($output) {
    $lang = 'GSW_LANGUAGE';
    return preg_match('/\blang="[^"]*"/', $output)
        ? preg_replace('/\blang="[^"]*"/', 'lang="' . $lang . '"', $output)
        : trim($output . ' lang="' . $lang . '"');
});

add_action('wp_head', function () {
    if (!is_front_page()) {
        return;
    }
    $raw = file_get_contents(__DIR__ . '/structured-data.json');
    $data = is_string($raw) ? json_decode($raw, true) : null;
    if (!is_array($data)) {
        return;
    }
    $data['url'] = home_url('/');
    echo '<script type="application/ld+json">' . wp_json_encode($data, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_HEX_TAG | JSON_HEX_AMP) . "</script>\n";
});
"#;

fn structured_data(draft: &SiteDraft, identity: &Identity) -> Value {
    let mut data = json!({
        "@context": "https://schema.org",
        "@type": if identity.schema_type.is_empty() { "LocalBusiness" } else { identity.schema_type.as_str() },
        "name": identity.name,
    });
    let description = draft
        .pages
        .iter()
        .find(|p| p.slug == "home")
        .map(|p| p.meta_description.clone())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| identity.tagline.clone());
    if !description.is_empty() {
        data["description"] = json!(description);
    }
    if let Some(address) = &identity.address {
        data["address"] = json!(address);
    }
    if let Some(phone) = &identity.phone {
        data["telephone"] = json!(phone);
    }
    if let Some(email) = &identity.email {
        data["email"] = json!(email);
    }
    if !identity.hours.is_empty() {
        data["openingHoursSpecification"] = identity
            .hours
            .iter()
            .map(|h| {
                json!({
                    "@type": "OpeningHoursSpecification",
                    "dayOfWeek": h.days,
                    "opens": h.opens,
                    "closes": h.closes,
                })
            })
            .collect();
    }
    if !identity.language.is_empty() {
        data["knowsLanguage"] = json!(identity.language);
    }
    data
}

const HEADER_HTML: &str = r#"<!-- wp:group {"tagName":"header","className":"gsw-header","layout":{"type":"constrained"}} -->
<header class="wp-block-group gsw-header"><!-- wp:group {"align":"wide","layout":{"type":"flex","flexWrap":"wrap","justifyContent":"space-between"}} -->
<div class="wp-block-group alignwide"><!-- wp:group {"className":"gsw-brand","layout":{"type":"flex","flexWrap":"nowrap"}} -->
<div class="wp-block-group gsw-brand"><!-- wp:site-logo {"width":40} /-->

<!-- wp:site-title {"level":0} /--></div>
<!-- /wp:group -->

<!-- wp:navigation {"layout":{"type":"flex","setCascadingProperties":true,"justifyContent":"right"}} /--></div>
<!-- /wp:group --></header>
<!-- /wp:group -->
"#;

/// A paragraph block.
fn paragraph(html: &str) -> String {
    format!("<!-- wp:paragraph -->\n<p>{html}</p>\n<!-- /wp:paragraph -->")
}

/// The footer: the business's name and tagline, where and when to find it,
/// how to reach it. A detail the identity lacks is left out.
fn footer_html(identity: &Identity) -> String {
    let mut about = vec![format!(
        "<!-- wp:heading {} -->\n<h2 class=\"wp-block-heading has-large-font-size\">{}</h2>\n<!-- /wp:heading -->",
        block_attributes(&json!({"fontSize": "large"})),
        escape_text(&identity.name)
    )];
    if !identity.tagline.is_empty() {
        about.push(paragraph(&escape_text(&identity.tagline)));
    }
    let mut visit = Vec::new();
    if let Some(address) = &identity.address {
        visit.push(paragraph(&escape_text(address)));
    }
    if let Some(hours) = &identity.opening_hours {
        visit.push(paragraph(&escape_text(hours)));
    }
    let mut reach = Vec::new();
    if let Some(phone) = &identity.phone {
        let tel: String = phone
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        reach.push(paragraph(&format!(
            "<a href=\"tel:{}\">{}</a>",
            escape_attribute(&tel),
            escape_text(phone)
        )));
    }
    if let Some(email) = &identity.email {
        reach.push(paragraph(&format!(
            "<a href=\"mailto:{}\">{}</a>",
            escape_attribute(email),
            escape_text(email)
        )));
    }
    let column = |blocks: Vec<String>| {
        format!(
            "<!-- wp:column -->\n<div class=\"wp-block-column\">{}</div>\n<!-- /wp:column -->",
            blocks.join("\n\n")
        )
    };
    let columns: Vec<String> = [about, visit, reach]
        .into_iter()
        .filter(|blocks| !blocks.is_empty())
        .map(column)
        .collect();
    format!(
        r#"<!-- wp:group {{"tagName":"footer","className":"gsw-footer","layout":{{"type":"constrained"}}}} -->
<footer class="wp-block-group gsw-footer"><!-- wp:columns {{"align":"wide"}} -->
<div class="wp-block-columns alignwide">{columns}</div>
<!-- /wp:columns -->

<!-- wp:paragraph {{"className":"gsw-footer-note"}} -->
<p class="gsw-footer-note">© {name}</p>
<!-- /wp:paragraph --></footer>
<!-- /wp:group -->
"#,
        columns = columns.join("\n\n"),
        name = escape_text(&identity.name),
    )
}

const LANDING_HTML: &str = r#"<!-- wp:template-part {"slug":"header","tagName":"header","area":"header"} /-->

<!-- wp:group {"tagName":"main","layout":{"type":"default"}} -->
<main class="wp-block-group"><!-- wp:post-content {"layout":{"type":"default"}} /--></main>
<!-- /wp:group -->

<!-- wp:template-part {"slug":"footer","tagName":"footer","area":"footer"} /-->
"#;

const PAGE_HTML: &str = r#"<!-- wp:template-part {"slug":"header","tagName":"header","area":"header"} /-->

<!-- wp:group {"tagName":"main","layout":{"type":"constrained"}} -->
<main class="wp-block-group"><!-- wp:group {"className":"gsw-section","layout":{"type":"constrained"}} -->
<div class="wp-block-group gsw-section"><!-- wp:post-title {"level":1} /-->

<!-- wp:post-content {"layout":{"type":"constrained"}} /--></div>
<!-- /wp:group --></main>
<!-- /wp:group -->

<!-- wp:template-part {"slug":"footer","tagName":"footer","area":"footer"} /-->
"#;

const INDEX_HTML: &str = r#"<!-- wp:template-part {"slug":"header","tagName":"header","area":"header"} /-->

<!-- wp:group {"tagName":"main","className":"gsw-section","layout":{"type":"constrained"}} -->
<main class="wp-block-group gsw-section"><!-- wp:query-title {"type":"archive"} /-->

<!-- wp:query {"query":{"perPage":10,"pages":0,"offset":0,"postType":"post","order":"desc","orderBy":"date","inherit":true}} -->
<div class="wp-block-query"><!-- wp:post-template -->
<!-- wp:post-title {"isLink":true} /-->

<!-- wp:post-date {"metadata":{"bindings":{"datetime":{"source":"core/post-data","args":{"field":"date"}}}}} /-->

<!-- wp:post-excerpt /-->
<!-- /wp:post-template -->

<!-- wp:query-pagination -->
<!-- wp:query-pagination-previous /-->

<!-- wp:query-pagination-next /-->
<!-- /wp:query-pagination --></div>
<!-- /wp:query --></main>
<!-- /wp:group -->

<!-- wp:template-part {"slug":"footer","tagName":"footer","area":"footer"} /-->
"#;

const NOT_FOUND_HTML: &str = r#"<!-- wp:template-part {"slug":"header","tagName":"header","area":"header"} /-->

<!-- wp:group {"tagName":"main","className":"gsw-section","layout":{"type":"constrained"}} -->
<main class="wp-block-group gsw-section"><!-- wp:heading {"level":1} -->
<h1 class="wp-block-heading">Page not found</h1>
<!-- /wp:heading -->

<!-- wp:search {"label":"Search","buttonText":"Search"} /--></main>
<!-- /wp:group -->

<!-- wp:template-part {"slug":"footer","tagName":"footer","area":"footer"} /-->
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_folder_names() {
        assert_eq!(slug_for("Velo Vandaag"), "gsw-velo-vandaag");
        assert_eq!(slug_for("Café Crème & Co."), "gsw-cafe-creme-co");
        assert_eq!(slug_for("!!!"), "gsw-site");
        assert!(slug_for(&"long name ".repeat(20)).len() <= 40);
    }

    #[test]
    fn the_footer_shows_only_what_is_known_and_escapes_it() {
        let identity = Identity {
            name: "Fish & Chips".into(),
            tagline: "Chippy in <Leeds>".into(),
            phone: Some("+44 113 496 0000".into()),
            ..Identity::default()
        };
        let html = footer_html(&identity);
        assert!(html.contains("Fish &amp; Chips"));
        assert!(html.contains("Chippy in &lt;Leeds&gt;"));
        assert!(html.contains("href=\"tel:+441134960000\""));
        assert!(!html.contains("mailto:"));
        assert!(gsw_protocol::blocks::parse(&html).is_ok(), "{html}");
    }
}
