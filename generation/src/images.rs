//! The images a generated site's layout calls for, drawn offline in the
//! site's palette: a hero image per page, one per features item, and the
//! site's icon (also its logo mark). Abstract compositions (soft bands,
//! discs and a dot grid), seeded by the site and the image's path so each
//! page gets its own and the same draft always gives the same bytes.
//!
//! Markup names an image by its bundle path (`images/hero-about.png`) in
//! `src="#gsw-media=<path>"`; the connector plugin uploads the bytes to the
//! Media Library and writes the attachment's URL and ID into the block
//! (see `docs/connector.md`). [`render`] draws the image a path names.

use sha2::{Digest, Sha256};
use tiny_skia::{
    Color, FillRule, GradientStop, LinearGradient, Paint, PathBuilder, Pixmap, Point, Rect,
    SpreadMode, Transform,
};

use crate::draft::Palette;

/// The prefix of a generated image's `src` in markup.
pub const MEDIA_PREFIX: &str = "#gsw-media=";

/// The site icon's path (square; also the header's logo mark).
pub const ICON_PATH: &str = "images/icon.png";

/// What a path asks for, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `images/hero-<slug>.png`: 1200 × 675.
    Hero,
    /// `images/item-<slug>.png`: 800 × 500.
    Item,
    /// `images/icon.png`: 512 × 512.
    Icon,
}

impl Shape {
    /// The shape a bundle path names, if it is one of ours.
    pub fn of(path: &str) -> Option<Shape> {
        let name = path.strip_prefix("images/")?.strip_suffix(".png")?;
        let plain = |rest: &str| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if name == "icon" {
            Some(Shape::Icon)
        } else if name.strip_prefix("hero-").is_some_and(plain) {
            Some(Shape::Hero)
        } else if name.strip_prefix("item-").is_some_and(plain) {
            Some(Shape::Item)
        } else {
            None
        }
    }

    fn size(self) -> (u32, u32) {
        match self {
            Shape::Hero => (1200, 675),
            Shape::Item => (800, 500),
            Shape::Icon => (512, 512),
        }
    }
}

/// The bundle path of a page's hero image.
pub fn hero_path(page_slug: &str) -> String {
    format!("images/hero-{}.png", path_slug(page_slug))
}

/// The bundle path of a features item's image.
pub fn item_path(title: &str) -> String {
    format!("images/item-{}.png", path_slug(title))
}

/// Lower-case ASCII letters, digits and dashes.
fn path_slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.to_lowercase().chars() {
        let c = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            'ß' => 's',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "image".to_owned()
    } else {
        out
    }
}

/// The bundle path of a downloaded photo standing in for `slot`'s drawn
/// image: the slot's name with the extension of the photo's type
/// (`images/hero-home.png` → `images/hero-home.jpg`). `None` for a type
/// that is not JPEG, PNG or WebP, or a slot that is not one of ours.
pub fn photo_path(slot: &str, content_type: &str) -> Option<String> {
    Shape::of(slot)?;
    let ext = match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        _ => return None,
    };
    let stem = slot.strip_suffix(".png")?;
    Some(format!("{stem}.{ext}"))
}

/// Whether `path` names a photo in a bundle (`images/hero-<slug>.jpg` and the like).
pub fn is_photo_path(path: &str) -> bool {
    ["jpg", "webp"].iter().any(|ext| {
        path.strip_suffix(ext)
            .and_then(|stem| stem.strip_suffix('.'))
            .is_some_and(|stem| {
                matches!(
                    Shape::of(&format!("{stem}.png")),
                    Some(Shape::Hero | Shape::Item)
                )
            })
    }) || matches!(Shape::of(path), Some(Shape::Hero | Shape::Item))
}

/// The content type of an image's bytes, by their magic: JPEG, PNG or WebP.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Every generated image or photo a page's markup refers to, by path, in order.
pub fn referenced(blocks: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = blocks;
    while let Some(at) = rest.find(MEDIA_PREFIX) {
        let after = &rest[at + MEDIA_PREFIX.len()..];
        let end = after.find('"').unwrap_or(after.len());
        let path = &after[..end];
        if (Shape::of(path).is_some() || is_photo_path(path)) && !paths.iter().any(|p| p == path) {
            paths.push(path.to_owned());
        }
        rest = &after[end..];
    }
    paths
}

/// A small deterministic stream of numbers from a seed.
struct Dice([u8; 32], usize);

impl Dice {
    fn new(seed: &str) -> Self {
        Dice(Sha256::digest(seed.as_bytes()).into(), 0)
    }

    /// A number in `[low, high)`.
    fn between(&mut self, low: f32, high: f32) -> f32 {
        let byte = self.0[self.1 % 32];
        self.1 += 1;
        if self.1.is_multiple_of(32) {
            self.0 = Sha256::digest(self.0).into();
        }
        low + (high - low) * f32::from(byte) / 256.0
    }
}

fn colour(hex: &str, alpha: f32) -> Color {
    let hex = hex.trim_start_matches('#');
    let expanded: String = if hex.len() == 3 {
        hex.chars().flat_map(|c| [c, c]).collect()
    } else {
        hex.to_owned()
    };
    let byte = |i: usize| {
        expanded
            .get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(128)
    };
    Color::from_rgba8(
        byte(0),
        byte(2),
        byte(4),
        (alpha.clamp(0.0, 1.0) * 255.0) as u8,
    )
}

fn paint(color: Color) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color(color);
    paint.anti_alias = true;
    paint
}

fn circle(pixmap: &mut Pixmap, x: f32, y: f32, r: f32, color: Color) {
    if let Some(path) = PathBuilder::from_circle(x, y, r) {
        pixmap.fill_path(
            &path,
            &paint(color),
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
}

/// Draws the image `path` names for a site; `None` for a path that is not one of ours.
pub fn render(path: &str, site: &str, palette: &Palette) -> Option<Vec<u8>> {
    let shape = Shape::of(path)?;
    let (w, h) = shape.size();
    let mut pixmap = Pixmap::new(w, h)?;
    let mut dice = Dice::new(&format!("{site}\n{path}"));
    let (wf, hf) = (w as f32, h as f32);

    // A soft diagonal wash from the section tint to the page background.
    let wash = LinearGradient::new(
        Point::from_xy(0.0, 0.0),
        Point::from_xy(wf, hf),
        vec![
            GradientStop::new(0.0, colour(&palette.secondary, 1.0)),
            GradientStop::new(1.0, colour(&palette.base, 1.0)),
        ],
        SpreadMode::Pad,
        Transform::identity(),
    );
    let mut background = Paint::default();
    if let Some(shader) = wash {
        background.shader = shader;
    } else {
        background.set_color(colour(&palette.secondary, 1.0));
    }
    pixmap.fill_rect(
        Rect::from_xywh(0.0, 0.0, wf, hf)?,
        &background,
        Transform::identity(),
        None,
    );

    if shape == Shape::Icon {
        // A rounded square in the primary colour with an accent disc: the
        // site's mark, readable at 32 pixels.
        let mut rounded = PathBuilder::new();
        let (r, m) = (wf * 0.22, 0.0);
        rounded.move_to(m + r, m);
        rounded.line_to(wf - m - r, m);
        rounded.quad_to(wf - m, m, wf - m, m + r);
        rounded.line_to(wf - m, hf - m - r);
        rounded.quad_to(wf - m, hf - m, wf - m - r, hf - m);
        rounded.line_to(m + r, hf - m);
        rounded.quad_to(m, hf - m, m, hf - m - r);
        rounded.line_to(m, m + r);
        rounded.quad_to(m, m, m + r, m);
        rounded.close();
        pixmap.fill(Color::TRANSPARENT);
        if let Some(path) = rounded.finish() {
            pixmap.fill_path(
                &path,
                &paint(colour(&palette.primary, 1.0)),
                FillRule::Winding,
                Transform::identity(),
                None,
            );
        }
        circle(
            &mut pixmap,
            wf * 0.62,
            hf * 0.40,
            wf * 0.2,
            colour(&palette.accent, 1.0),
        );
        circle(
            &mut pixmap,
            wf * 0.38,
            hf * 0.64,
            wf * 0.13,
            colour(&palette.on_primary, 0.9),
        );
        return pixmap.encode_png().ok();
    }

    // A dot grid in the text colour, faint.
    let step = (wf / dice.between(16.0, 24.0)).max(18.0);
    let (gx, gy) = (dice.between(0.05, 0.45) * wf, dice.between(0.1, 0.5) * hf);
    for i in 0..6 {
        for j in 0..4 {
            circle(
                &mut pixmap,
                gx + i as f32 * step,
                gy + j as f32 * step,
                step * 0.12,
                colour(&palette.contrast, 0.18),
            );
        }
    }

    // A wave across the lower part, in the primary colour, translucent.
    let mut wave = PathBuilder::new();
    let base_y = hf * dice.between(0.62, 0.78);
    wave.move_to(0.0, base_y);
    wave.cubic_to(
        wf * 0.3,
        base_y - hf * dice.between(0.1, 0.3),
        wf * 0.6,
        base_y + hf * dice.between(0.05, 0.25),
        wf,
        base_y - hf * dice.between(0.0, 0.15),
    );
    wave.line_to(wf, hf);
    wave.line_to(0.0, hf);
    wave.close();
    if let Some(path) = wave.finish() {
        pixmap.fill_path(
            &path,
            &paint(colour(&palette.primary, 0.22)),
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }

    // The main disc in the primary colour, a smaller accent one overlapping it,
    // and a ring.
    let r = hf * dice.between(0.26, 0.36);
    let (cx, cy) = (wf * dice.between(0.55, 0.75), hf * dice.between(0.38, 0.55));
    circle(&mut pixmap, cx, cy, r, colour(&palette.primary, 0.92));
    let angle = dice.between(0.0, std::f32::consts::TAU);
    circle(
        &mut pixmap,
        cx + angle.cos() * r * 0.95,
        cy + angle.sin() * r * 0.95,
        r * dice.between(0.3, 0.45),
        colour(&palette.accent, 0.95),
    );
    if let Some(ring) = PathBuilder::from_circle(
        wf * dice.between(0.12, 0.3),
        hf * dice.between(0.2, 0.4),
        hf * dice.between(0.08, 0.14),
    ) {
        let stroke = tiny_skia::Stroke {
            width: hf * 0.02,
            ..tiny_skia::Stroke::default()
        };
        pixmap.stroke_path(
            &ring,
            &paint(colour(&palette.accent, 0.9)),
            &stroke,
            Transform::identity(),
            None,
        );
    }
    pixmap.encode_png().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn palette() -> Palette {
        Palette {
            base: "#ffffff".into(),
            contrast: "#1f2933".into(),
            primary: "#0f6e56".into(),
            on_primary: "#ffffff".into(),
            secondary: "#e3f0ec".into(),
            accent: "#e3a008".into(),
        }
    }

    #[test]
    fn paths_name_shapes_and_nothing_else() {
        assert_eq!(Shape::of(&hero_path("about")), Some(Shape::Hero));
        assert_eq!(Shape::of(&item_path("Réparations vélo")), Some(Shape::Item));
        assert_eq!(
            item_path("Réparations vélo"),
            "images/item-reparations-velo.png"
        );
        assert_eq!(Shape::of(ICON_PATH), Some(Shape::Icon));
        for bad in [
            "images/../x.png",
            "images/hero-.png",
            "hero-a.png",
            "images/hero-A.png",
            "images/item-a.php",
        ] {
            assert_eq!(Shape::of(bad), None, "{bad}");
        }
    }

    #[test]
    fn images_are_pngs_of_their_size_and_the_same_each_time() {
        let hero = render(&hero_path("home"), "Velo Vandaag", &palette()).unwrap();
        assert_eq!(&hero[1..4], b"PNG");
        assert_eq!(u32::from_be_bytes(hero[16..20].try_into().unwrap()), 1200);
        assert_eq!(u32::from_be_bytes(hero[20..24].try_into().unwrap()), 675);
        assert_eq!(
            render(&hero_path("home"), "Velo Vandaag", &palette()).unwrap(),
            hero
        );
        assert_ne!(
            render(&hero_path("about"), "Velo Vandaag", &palette()).unwrap(),
            hero
        );
        assert!(hero.len() < 200_000, "{} bytes", hero.len());
        let icon = render(ICON_PATH, "Velo Vandaag", &palette()).unwrap();
        assert_eq!(u32::from_be_bytes(icon[16..20].try_into().unwrap()), 512);
        assert_eq!(render("images/other.png", "x", &palette()), None);
    }

    #[test]
    fn markup_references_are_found_once() {
        let blocks = format!(
            "<img src=\"{MEDIA_PREFIX}images/hero-home.png\" alt=\"a\"/><img src=\"{MEDIA_PREFIX}images/hero-home.png\"/><img src=\"{MEDIA_PREFIX}images/../x\"/>"
        );
        assert_eq!(referenced(&blocks), vec!["images/hero-home.png".to_owned()]);
        let photo = format!("<img src=\"{MEDIA_PREFIX}images/item-a.jpg\"/><img src=\"{MEDIA_PREFIX}images/icon.jpg\"/>");
        assert_eq!(referenced(&photo), vec!["images/item-a.jpg".to_owned()]);
    }

    #[test]
    fn photos_are_named_like_their_slot_by_their_type() {
        assert_eq!(
            photo_path("images/hero-home.png", "image/jpeg").as_deref(),
            Some("images/hero-home.jpg")
        );
        assert_eq!(
            photo_path("images/item-a.png", "image/webp").as_deref(),
            Some("images/item-a.webp")
        );
        assert_eq!(photo_path("images/hero-home.png", "image/gif"), None);
        assert_eq!(photo_path("../x.png", "image/jpeg"), None);
        assert!(is_photo_path("images/hero-home.jpg"));
        assert!(!is_photo_path("images/icon.jpg"));
        assert!(!is_photo_path("images/hero-../x.jpg"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"<html>"), None);
    }
}
