//! The offline engine's reading of a brief's style preferences (the
//! wizard's "Look: minimal, warm. Tone: friendly. Colours: deep green and
//! cream.", or anything a person types): colour names, a dark or light
//! scheme, a background tone and a type pairing, each from a small curated
//! table whose palettes meet WCAG AA. A language model reads the same line
//! freely; this is what the deterministic engine can honour.

use super::wording::capitalise;
use crate::contrast;
use crate::draft::{FontPair, Palette};

/// A colour a person may ask for, as palette parts that read well.
#[derive(Debug, PartialEq)]
pub struct Hue {
    /// The words that name it.
    pub words: &'static [&'static str],
    /// What the design's description calls it.
    pub name: &'static str,
    /// On a light background: primary (white text on it), a light tint for
    /// the secondary background, an accent.
    pub light: [&'static str; 3],
    /// On a dark background: primary (dark text on it), a dark tint, an accent.
    pub dark: [&'static str; 3],
}

pub const HUES: &[Hue] = &[
    Hue {
        words: &[
            "red", "crimson", "scarlet", "burgundy", "wine", "cherry", "rood", "rouge", "rot",
            "rojo", "bordeaux",
        ],
        name: "Red",
        light: ["#b3261e", "#fbe9e7", "#b7791f"],
        dark: ["#ff8a80", "#3a1f1f", "#f2c94c"],
    },
    Hue {
        words: &[
            "orange",
            "orangey",
            "orangy",
            "coral",
            "peach",
            "tangerine",
            "apricot",
            "oranje",
            "orangé",
            "naranja",
            "koraal",
            "corail",
            "koralle",
            "pfirsich",
            "abricot",
        ],
        name: "Orange",
        light: ["#b54708", "#fdeedc", "#1f6f8b"],
        dark: ["#ffb366", "#3a2a1a", "#7fd3e0"],
    },
    Hue {
        words: &[
            "yellow", "gold", "golden", "mustard", "amber", "ochre", "geel", "goud", "jaune",
            "gelb", "amarillo", "dorado", "oker", "ocre",
        ],
        name: "Gold",
        light: ["#7a5800", "#fdf3d1", "#b3261e"],
        dark: ["#f2c94c", "#332b14", "#ff8a80"],
    },
    Hue {
        words: &[
            "green", "olive", "sage", "forest", "emerald", "mint", "moss", "lime", "groen", "vert",
            "grün", "verde", "salie", "olijf",
        ],
        name: "Green",
        light: ["#1e6b3a", "#e3f1e7", "#c9a227"],
        dark: ["#7fd39b", "#1c2b21", "#f2c94c"],
    },
    Hue {
        words: &[
            "teal",
            "turquoise",
            "aqua",
            "cyan",
            "petrol",
            "turkoois",
            "turquesa",
            "türkis",
        ],
        name: "Teal",
        light: ["#0b6477", "#dff1f2", "#e07a5f"],
        dark: ["#6fd3d8", "#172b2d", "#ffb38a"],
    },
    Hue {
        words: &[
            "blue",
            "sky",
            "azure",
            "cobalt",
            "cornflower",
            "blauw",
            "bleu",
            "blau",
            "azul",
        ],
        name: "Blue",
        light: ["#1d4ed8", "#e4ecfb", "#f59e0b"],
        dark: ["#8ab4ff", "#1a2233", "#f6c453"],
    },
    Hue {
        words: &[
            "navy",
            "indigo",
            "midnight",
            "marine",
            "marineblauw",
            "marino",
        ],
        name: "Navy",
        light: ["#1e3a6e", "#e6ebf3", "#c9a227"],
        dark: ["#9fb8e8", "#1b2233", "#e8c468"],
    },
    Hue {
        words: &[
            "purple",
            "violet",
            "paars",
            "lila",
            "morado",
            "lavender",
            "plum",
            "aubergine",
            "lilac",
            "mauve",
        ],
        name: "Purple",
        light: ["#6b2fa3", "#efe6f7", "#d98e04"],
        dark: ["#c9a2f0", "#2a1f36", "#f2c94c"],
    },
    Hue {
        words: &[
            "pink",
            "rose",
            "magenta",
            "blush",
            "fuchsia",
            "raspberry",
            "roze",
            "rosa",
        ],
        name: "Pink",
        light: ["#b0245f", "#fbe7ef", "#2f6f6a"],
        dark: ["#ff9ec4", "#361d29", "#7fd3c4"],
    },
    Hue {
        words: &[
            "brown",
            "chocolate",
            "bruin",
            "brun",
            "braun",
            "marrón",
            "coffee",
            "terracotta",
            "rust",
            "copper",
            "caramel",
        ],
        name: "Brown",
        light: ["#8a3b12", "#f3e6d3", "#d98e04"],
        dark: ["#e0a877", "#2e2219", "#f2c94c"],
    },
    Hue {
        words: &[
            "black",
            "charcoal",
            "zwart",
            "noir",
            "schwarz",
            "negro",
            "grijs",
            "gris",
            "grau",
            "monochrome",
            "grey",
            "gray",
            "graphite",
            "slate",
        ],
        name: "Charcoal",
        light: ["#1f2933", "#eef0f2", "#c2410c"],
        dark: ["#e5e7eb", "#22262d", "#f59e0b"],
    },
];

/// The dark scheme's background and text (its surfaces come from the hue).
pub const DARK: [&str; 2] = ["#14161b", "#f2f2f0"];

/// Light backgrounds a person may ask for by name.
const BACKGROUNDS: &[(&[&str], &str, &str)] = &[
    (
        &["cream", "ivory", "beige", "sand", "linen", "paper"],
        "#fbf7ef",
        "cream",
    ),
    (&["white", "bright", "airy"], "#ffffff", "white"),
];

/// Type pairings by the look or tone that asks for them (heading, body, how
/// the description puts it).
const TYPE: &[(&[&str], (&str, &str), &str)] = &[
    (
        &["minimal", "minimalist", "clean", "simple"],
        ("Inter", "Inter"),
        "a clean sans",
    ),
    (
        &["modern", "contemporary"],
        ("Space Grotesk", "Inter"),
        "a modern grotesk",
    ),
    (
        &["classic", "traditional", "timeless"],
        ("Libre Baskerville", "Source Sans 3"),
        "a classic serif",
    ),
    (
        &["elegant", "luxurious", "luxury", "refined", "sophisticated"],
        ("Cormorant Garamond", "Lato"),
        "an elegant serif",
    ),
    (
        &["playful", "fun", "friendly", "rounded", "cheerful"],
        ("Nunito", "Nunito"),
        "a rounded sans",
    ),
    (
        &["bold", "strong", "striking", "loud"],
        ("Montserrat", "Open Sans"),
        "a bold geometric sans",
    ),
    (
        &["warm", "homely", "cosy", "cozy", "rustic"],
        ("Lora", "Source Sans 3"),
        "a warm serif",
    ),
    (
        &["technical", "tech", "techy", "engineering"],
        ("IBM Plex Sans", "IBM Plex Sans"),
        "a technical sans",
    ),
];

/// Words that turn down what follows them in a clause ("no red", "without
/// pink"); "anything but" does too, while a plain "but" ends the refusal
/// ("not too dark but green").
const NOT: &[&str] = &["no", "not", "without", "avoid", "except", "never"];

/// Words after a colour that make it the accent ("gold accents").
const ACCENT: &[&str] = &[
    "accent",
    "accents",
    "highlight",
    "highlights",
    "details",
    "touches",
];

/// Words for a dark scheme when they do not shade a colour ("dark green" is a green).
const DARK_WORDS: &[&str] = &["dark", "night", "moody", "noir"];

/// What a style line asks for, as far as the tables above can tell.
#[derive(Debug, Default, PartialEq)]
pub struct Wish {
    pub hue: Option<&'static Hue>,
    pub accent: Option<&'static Hue>,
    pub dark: bool,
    /// A light background by name: colour and word.
    pub background: Option<(&'static str, &'static str)>,
    /// Heading and body fonts, and how to describe them.
    pub fonts: Option<((&'static str, &'static str), &'static str)>,
}

/// The hue a word names; in a compound ("warm-orange", "blue-green") the
/// last part that names one.
fn hue_of(word: &str) -> Option<&'static Hue> {
    let named = |w: &str| HUES.iter().find(|h| h.words.contains(&w));
    named(word).or_else(|| word.rsplit('-').find_map(named))
}

impl Wish {
    /// Reads a style line; an empty wish when it names nothing known.
    pub fn read(style: &str) -> Self {
        let lower = style.to_lowercase();
        let mut wish = Wish::default();
        // Clause by clause, so a "no" turns down only what follows it there.
        for clause in lower.split(['.', ',', ';', ':', '\n', '!', '?']) {
            let words: Vec<&str> = clause
                .split(|c: char| !c.is_alphanumeric() && c != '-')
                .filter(|w| !w.is_empty())
                .collect();
            let mut refused = false;
            for (i, word) in words.iter().enumerate() {
                if NOT.contains(word) {
                    refused = true;
                    continue;
                }
                if *word == "but" {
                    let before = i.checked_sub(1).map(|j| words[j]);
                    refused = matches!(before, Some("anything" | "everything"));
                    continue;
                }
                let next = words.get(i + 1).copied();
                if let Some(hue) = hue_of(word) {
                    if refused {
                        continue;
                    }
                    if next.is_some_and(|n| ACCENT.contains(&n)) {
                        wish.accent.get_or_insert(hue);
                    } else {
                        wish.hue.get_or_insert(hue);
                    }
                    continue;
                }
                if DARK_WORDS.contains(word) && next.is_none_or(|n| hue_of(n).is_none()) {
                    wish.dark |= !refused;
                    continue;
                }
                if let Some((_, colour, name)) =
                    BACKGROUNDS.iter().find(|(w, _, _)| w.contains(word))
                {
                    if !refused && wish.background.is_none() {
                        wish.background = Some((colour, name));
                    }
                    continue;
                }
                if let Some((_, fonts, says)) = TYPE.iter().find(|(w, _, _)| w.contains(word)) {
                    if !refused && wish.fonts.is_none() {
                        wish.fonts = Some((*fonts, *says));
                    }
                }
            }
        }
        wish
    }

    /// Whether the line asked for anything this engine can honour.
    pub fn is_empty(&self) -> bool {
        *self == Wish::default()
    }

    /// `palette` (the business type's) changed as wished. Every hue's
    /// parts are chosen to meet AA on the backgrounds they go with.
    pub fn palette(&self, palette: &Palette) -> Palette {
        let mut out = palette.clone();
        if self.dark {
            out.base = DARK[0].into();
            out.contrast = DARK[1].into();
            out.on_primary = DARK[0].into();
            let hue = self.hue.unwrap_or(&HUES[HUES.len() - 1]);
            [out.primary, out.secondary, out.accent] = hue.dark.map(String::from);
            if self.hue.is_none() {
                // No colour named: the business's own primary, lightened to read on dark.
                if let (Some(fg), Some(bg)) = (
                    contrast::parse_hex(&palette.primary),
                    contrast::parse_hex(DARK[0]),
                ) {
                    let light = contrast::readable_on(fg, bg);
                    out.primary = contrast::to_hex(light);
                }
            }
            if let Some(accent) = self.accent {
                out.accent = accent.dark[0].into();
            }
            return out;
        }
        if let Some((colour, _)) = self.background {
            out.base = colour.into();
        }
        if let Some(hue) = self.hue {
            [out.primary, out.secondary, out.accent] = hue.light.map(String::from);
            out.on_primary = "#ffffff".into();
        }
        if let Some(accent) = self.accent {
            out.accent = accent.light[0].into();
        }
        out
    }

    /// `fonts` changed as wished.
    pub fn fonts(&self, fonts: &FontPair) -> FontPair {
        match self.fonts {
            Some(((heading, body), _)) => FontPair {
                heading: heading.into(),
                body: body.into(),
            },
            None => fonts.clone(),
        }
    }

    /// The design's description of a wish that is not empty: what was
    /// honoured, then the person's words.
    pub fn describe(&self, style: &str) -> String {
        let mut parts = Vec::new();
        let colour = self.hue.map(|h| h.name.to_owned());
        let ground = if self.dark {
            Some("a dark background".to_owned())
        } else {
            self.background.map(|(_, name)| name.to_owned())
        };
        match (colour, ground) {
            (Some(c), Some(g)) => parts.push(format!("{c} on {g}")),
            (Some(c), None) => parts.push(c),
            (None, Some(g)) => parts.push(capitalise(&g)),
            (None, None) => {}
        }
        if let Some(accent) = self.accent {
            parts.push(format!("{} accents", accent.name.to_lowercase()));
        }
        if let Some((_, says)) = self.fonts {
            parts.push(format!("with {says}"));
        }
        format!(
            "{}; from your preferences: {}",
            parts.join(", "),
            style.trim()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn palette(parts: [&str; 6]) -> Palette {
        let [base, contrast, primary, on_primary, secondary, accent] = parts.map(String::from);
        Palette {
            base,
            contrast,
            primary,
            on_primary,
            secondary,
            accent,
        }
    }

    #[test]
    fn the_wizards_line_is_read() {
        let wish =
            Wish::read("Look: minimal, warm. Tone: friendly. Colours: deep green and cream.");
        assert_eq!(wish.hue.unwrap().name, "Green");
        assert_eq!(wish.background, Some(("#fbf7ef", "cream")));
        assert_eq!(
            wish.fonts.unwrap().0,
            ("Inter", "Inter"),
            "the first look named wins"
        );
        assert!(!wish.dark);
    }

    #[test]
    fn dark_shades_a_colour_or_asks_for_a_dark_scheme() {
        let shade = Wish::read("Colours: dark green.");
        assert!(!shade.dark);
        assert_eq!(shade.hue.unwrap().name, "Green");
        let scheme = Wish::read("Something dark and moody, with gold accents");
        assert!(scheme.dark);
        assert!(scheme.hue.is_none());
        assert_eq!(scheme.accent.unwrap().name, "Gold");
    }

    #[test]
    fn refused_colours_and_words_inside_words_are_not_taken() {
        let wish = Wish::read("No red please; anything but pink. Tailored and coloured, blue.");
        assert_eq!(wish.hue.unwrap().name, "Blue", "{wish:?}");
        let wish = Wish::read("Not too dark but green");
        assert!(!wish.dark);
        assert_eq!(wish.hue.unwrap().name, "Green");
        assert!(Wish::read("A bakery that ordered flour").is_empty());
        assert!(Wish::read("").is_empty());
    }

    /// The hue of a `#rrggbb` colour, in degrees.
    fn hue_degrees(hex: &str) -> f64 {
        let [r, g, b] = contrast::parse_hex(hex)
            .unwrap()
            .map(|c| f64::from(c) / 255.0);
        let (max, min) = (r.max(g).max(b), r.min(g).min(b));
        let d = max - min;
        let h = if d == 0.0 {
            0.0
        } else if max == r {
            60.0 * (((g - b) / d) % 6.0)
        } else if max == g {
            60.0 * ((b - r) / d + 2.0)
        } else {
            60.0 * ((r - g) / d + 4.0)
        };
        (h + 360.0) % 360.0
    }

    #[test]
    fn warm_orange_gives_an_orange_that_reads() {
        let trades = palette([
            "#ffffff", "#1f2328", "#a63a0a", "#ffffff", "#f2f4f5", "#f2a900",
        ]);
        for line in [
            "Warm orange",
            "Look: warm. Colours: orange.",
            "warm-orange tones",
            "Warm oranje",
            "Un orangé chaleureux",
        ] {
            let wish = Wish::read(line);
            assert_eq!(wish.hue.map(|h| h.name), Some("Orange"), "{line}");
            let out = wish.palette(&trades);
            let hue = hue_degrees(&out.primary);
            assert!(
                (15.0..=40.0).contains(&hue),
                "{line}: {} is {hue}°",
                out.primary
            );
            // The primary is the button background and link colour: AA both ways.
            assert!(
                contrast::meets_aa(&out),
                "{:?}",
                contrast::palette_ratios(&out)
            );
            assert_ne!(
                out.accent, trades.accent,
                "{line}: the type's gold accent stays"
            );
        }
    }

    #[test]
    fn every_hue_meets_aa_on_every_background_it_can_get() {
        let bases = [
            palette([
                "#ffffff", "#1f2933", "#245d8f", "#ffffff", "#eef2f6", "#e3a008",
            ]),
            palette([
                "#fffaf3", "#2b1d12", "#8a3b12", "#ffffff", "#f3e6d3", "#d98e04",
            ]),
        ];
        for hue in HUES {
            for base in &bases {
                for background in [None, Some(("#fbf7ef", "cream")), Some(("#ffffff", "white"))] {
                    let light = Wish {
                        hue: Some(hue),
                        background,
                        ..Wish::default()
                    }
                    .palette(base);
                    assert!(
                        contrast::meets_aa(&light),
                        "{} light: {:?}",
                        hue.name,
                        contrast::palette_ratios(&light)
                    );
                }
                let dark = Wish {
                    hue: Some(hue),
                    dark: true,
                    ..Wish::default()
                }
                .palette(base);
                assert!(
                    contrast::meets_aa(&dark),
                    "{} dark: {:?}",
                    hue.name,
                    contrast::palette_ratios(&dark)
                );
            }
        }
        // Dark with no colour named keeps the business's own hue, lightened.
        let dark = Wish {
            dark: true,
            ..Wish::default()
        }
        .palette(&bases[0]);
        assert!(
            contrast::meets_aa(&dark),
            "{:?}",
            contrast::palette_ratios(&dark)
        );
        assert_ne!(dark.primary, bases[0].primary);
    }
}
