//! The typefaces the control plane carries: open-licence fonts (SIL OFL
//! 1.1, from the Fontsource packages; each folder of `generation/fonts/`
//! holds its licence), Latin subset, WOFF2, variable where the family has a
//! variable cut. A generated theme ships the two it uses and loads them from
//! its own `theme.json`: a site never asks a font CDN for anything.

/// Serif or sans: which fallback stack follows the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Serif,
    Sans,
}

/// One font file.
#[derive(Debug)]
pub struct Face {
    /// The file's name in the theme's `assets/fonts/<slug>/`.
    pub file: &'static str,
    /// A CSS `font-weight`: one weight, or a range for a variable font.
    pub weight: &'static str,
    pub bytes: &'static [u8],
}

/// A family we can ship.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub slug: &'static str,
    pub class: Class,
    pub faces: &'static [Face],
}

impl Family {
    /// The CSS font stack: the family, then system fonts of its class.
    pub fn stack(&self) -> String {
        match self.class {
            Class::Serif => format!("\"{}\", Georgia, \"Times New Roman\", serif", self.name),
            Class::Sans => format!(
                "\"{}\", system-ui, -apple-system, \"Segoe UI\", Roboto, sans-serif",
                self.name
            ),
        }
    }
}

/// Every family, by name.
pub static FAMILIES: &[Family] = &[
    Family {
        name: "Archivo",
        slug: "archivo",
        class: Class::Sans,
        faces: &[Face {
            file: "archivo-latin-wght-normal.woff2",
            weight: "100 900",
            bytes: include_bytes!("../fonts/archivo/archivo-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Cormorant Garamond",
        slug: "cormorant-garamond",
        class: Class::Serif,
        faces: &[Face {
            file: "cormorant-garamond-latin-wght-normal.woff2",
            weight: "300 700",
            bytes: include_bytes!(
                "../fonts/cormorant-garamond/cormorant-garamond-latin-wght-normal.woff2"
            ),
        }],
    },
    Family {
        name: "DM Sans",
        slug: "dm-sans",
        class: Class::Sans,
        faces: &[Face {
            file: "dm-sans-latin-wght-normal.woff2",
            weight: "100 1000",
            bytes: include_bytes!("../fonts/dm-sans/dm-sans-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "DM Serif Display",
        slug: "dm-serif-display",
        class: Class::Serif,
        faces: &[Face {
            file: "dm-serif-display-latin-400-normal.woff2",
            weight: "400",
            bytes: include_bytes!(
                "../fonts/dm-serif-display/dm-serif-display-latin-400-normal.woff2"
            ),
        }],
    },
    Family {
        name: "Fraunces",
        slug: "fraunces",
        class: Class::Serif,
        faces: &[Face {
            file: "fraunces-latin-wght-normal.woff2",
            weight: "100 900",
            bytes: include_bytes!("../fonts/fraunces/fraunces-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Inter",
        slug: "inter",
        class: Class::Sans,
        faces: &[Face {
            file: "inter-latin-wght-normal.woff2",
            weight: "100 900",
            bytes: include_bytes!("../fonts/inter/inter-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Lato",
        slug: "lato",
        class: Class::Sans,
        faces: &[
            Face {
                file: "lato-latin-400-normal.woff2",
                weight: "400",
                bytes: include_bytes!("../fonts/lato/lato-latin-400-normal.woff2"),
            },
            Face {
                file: "lato-latin-700-normal.woff2",
                weight: "700",
                bytes: include_bytes!("../fonts/lato/lato-latin-700-normal.woff2"),
            },
        ],
    },
    Family {
        name: "Libre Baskerville",
        slug: "libre-baskerville",
        class: Class::Serif,
        faces: &[Face {
            file: "libre-baskerville-latin-wght-normal.woff2",
            weight: "400 700",
            bytes: include_bytes!(
                "../fonts/libre-baskerville/libre-baskerville-latin-wght-normal.woff2"
            ),
        }],
    },
    Family {
        name: "Lora",
        slug: "lora",
        class: Class::Serif,
        faces: &[Face {
            file: "lora-latin-wght-normal.woff2",
            weight: "400 700",
            bytes: include_bytes!("../fonts/lora/lora-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Merriweather",
        slug: "merriweather",
        class: Class::Serif,
        faces: &[Face {
            file: "merriweather-latin-wght-normal.woff2",
            weight: "300 900",
            bytes: include_bytes!("../fonts/merriweather/merriweather-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Montserrat",
        slug: "montserrat",
        class: Class::Sans,
        faces: &[Face {
            file: "montserrat-latin-wght-normal.woff2",
            weight: "100 900",
            bytes: include_bytes!("../fonts/montserrat/montserrat-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Noto Sans",
        slug: "noto-sans",
        class: Class::Sans,
        faces: &[Face {
            file: "noto-sans-latin-wght-normal.woff2",
            weight: "100 900",
            bytes: include_bytes!("../fonts/noto-sans/noto-sans-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Nunito",
        slug: "nunito",
        class: Class::Sans,
        faces: &[Face {
            file: "nunito-latin-wght-normal.woff2",
            weight: "200 1000",
            bytes: include_bytes!("../fonts/nunito/nunito-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Open Sans",
        slug: "open-sans",
        class: Class::Sans,
        faces: &[Face {
            file: "open-sans-latin-wght-normal.woff2",
            weight: "300 800",
            bytes: include_bytes!("../fonts/open-sans/open-sans-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Oswald",
        slug: "oswald",
        class: Class::Sans,
        faces: &[Face {
            file: "oswald-latin-wght-normal.woff2",
            weight: "200 700",
            bytes: include_bytes!("../fonts/oswald/oswald-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Playfair Display",
        slug: "playfair-display",
        class: Class::Serif,
        faces: &[Face {
            file: "playfair-display-latin-wght-normal.woff2",
            weight: "400 900",
            bytes: include_bytes!(
                "../fonts/playfair-display/playfair-display-latin-wght-normal.woff2"
            ),
        }],
    },
    Family {
        name: "Poppins",
        slug: "poppins",
        class: Class::Sans,
        faces: &[
            Face {
                file: "poppins-latin-400-normal.woff2",
                weight: "400",
                bytes: include_bytes!("../fonts/poppins/poppins-latin-400-normal.woff2"),
            },
            Face {
                file: "poppins-latin-700-normal.woff2",
                weight: "700",
                bytes: include_bytes!("../fonts/poppins/poppins-latin-700-normal.woff2"),
            },
        ],
    },
    Family {
        name: "Raleway",
        slug: "raleway",
        class: Class::Sans,
        faces: &[Face {
            file: "raleway-latin-wght-normal.woff2",
            weight: "100 900",
            bytes: include_bytes!("../fonts/raleway/raleway-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Roboto",
        slug: "roboto",
        class: Class::Sans,
        faces: &[Face {
            file: "roboto-latin-wght-normal.woff2",
            weight: "100 900",
            bytes: include_bytes!("../fonts/roboto/roboto-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Source Sans 3",
        slug: "source-sans-3",
        class: Class::Sans,
        faces: &[Face {
            file: "source-sans-3-latin-wght-normal.woff2",
            weight: "200 900",
            bytes: include_bytes!("../fonts/source-sans-3/source-sans-3-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Space Grotesk",
        slug: "space-grotesk",
        class: Class::Sans,
        faces: &[Face {
            file: "space-grotesk-latin-wght-normal.woff2",
            weight: "300 700",
            bytes: include_bytes!("../fonts/space-grotesk/space-grotesk-latin-wght-normal.woff2"),
        }],
    },
    Family {
        name: "Work Sans",
        slug: "work-sans",
        class: Class::Sans,
        faces: &[Face {
            file: "work-sans-latin-wght-normal.woff2",
            weight: "100 900",
            bytes: include_bytes!("../fonts/work-sans/work-sans-latin-wght-normal.woff2"),
        }],
    },
];

/// The family with this name (case and spacing ignored).
pub fn family(name: &str) -> Option<&'static Family> {
    let key = |s: &str| {
        s.to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let name = key(name);
    FAMILIES.iter().find(|f| key(f.name) == name)
}

/// The family to use for a name a designer (or a model) gave: that family
/// when we carry it, else ours of the same class (a name with "serif" and
/// not "sans" in it, or a known serif, is a serif).
pub fn family_or_nearest(name: &str) -> &'static Family {
    if let Some(found) = family(name) {
        return found;
    }
    let lower = name.to_lowercase();
    let serif = (lower.contains("serif") && !lower.contains("sans"))
        || [
            "garamond",
            "georgia",
            "times",
            "baskerville",
            "bodoni",
            "didot",
            "caslon",
            "slab",
        ]
        .iter()
        .any(|s| lower.contains(s));
    let fallback = if serif { "Lora" } else { "Inter" };
    family(fallback).unwrap_or(&FAMILIES[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_face_is_a_woff2_file() {
        for family in FAMILIES {
            assert!(!family.faces.is_empty(), "{}", family.name);
            for face in family.faces {
                assert_eq!(&face.bytes[..4], b"wOF2", "{}", face.file);
            }
        }
    }

    #[test]
    fn unknown_names_get_a_family_of_their_class() {
        assert_eq!(
            family("playfair  display").unwrap().slug,
            "playfair-display"
        );
        assert_eq!(family_or_nearest("Some Serif Display").class, Class::Serif);
        assert_eq!(family_or_nearest("Helvetica Neue").class, Class::Sans);
        assert_eq!(family_or_nearest("System Sans-serif").class, Class::Sans);
    }
}
