//! WCAG 2.x contrast: relative luminance, contrast ratios, and nudging a
//! colour until a text and background pair meets AA.

use crate::draft::Palette;

/// WCAG AA for normal text.
pub const AA_NORMAL_TEXT: f64 = 4.5;

/// Parses `#rrggbb` (or `#rgb`).
pub fn parse_hex(colour: &str) -> Option<[u8; 3]> {
    let hex = colour.strip_prefix('#')?;
    let digits: Vec<u8> = match hex.len() {
        3 => hex
            .chars()
            .map(|c| c.to_digit(16).map(|d| (d * 17) as u8))
            .collect::<Option<_>>()?,
        6 => (0..3)
            .map(|i| u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok())
            .collect::<Option<_>>()?,
        _ => return None,
    };
    Some([digits[0], digits[1], digits[2]])
}

/// Formats as lower-case `#rrggbb`.
pub fn to_hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Relative luminance, 0 (black) to 1 (white).
pub fn luminance(rgb: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2])
}

/// Contrast ratio between two colours, 1 to 21.
pub fn ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// The text-on-background pairs of a palette that must be readable.
pub fn text_pairs(p: &Palette) -> [(&'static str, &str, &str); 4] {
    [
        ("contrast on base", &p.contrast, &p.base),
        ("primary on base", &p.primary, &p.base),
        ("on_primary on primary", &p.on_primary, &p.primary),
        ("contrast on secondary", &p.contrast, &p.secondary),
    ]
}

/// Each pair's name and ratio; `None` for a pair with an unreadable colour.
pub fn palette_ratios(p: &Palette) -> Vec<(&'static str, Option<f64>)> {
    text_pairs(p)
        .into_iter()
        .map(|(name, fg, bg)| {
            let pair = parse_hex(fg).zip(parse_hex(bg));
            (name, pair.map(|(fg, bg)| ratio(fg, bg)))
        })
        .collect()
}

/// Whether every text pair meets AA.
pub fn meets_aa(p: &Palette) -> bool {
    palette_ratios(p)
        .iter()
        .all(|(_, r)| r.is_some_and(|r| r >= AA_NORMAL_TEXT))
}

/// Moves `fg` towards black or white (whichever contrasts more with `bg`)
/// in small steps until the pair meets AA; keeps the hue as long as it can.
pub fn readable_on(fg: [u8; 3], bg: [u8; 3]) -> [u8; 3] {
    let toward: [u8; 3] = if luminance(bg) > 0.18 {
        [0, 0, 0]
    } else {
        [255; 3]
    };
    let mut colour = fg;
    for step in 0..=20 {
        let t = f64::from(step) / 20.0;
        colour = [0, 1, 2].map(|i| {
            (f64::from(fg[i]) + (f64::from(toward[i]) - f64::from(fg[i])) * t).round() as u8
        });
        if ratio(colour, bg) >= AA_NORMAL_TEXT {
            break;
        }
    }
    colour
}

/// Makes every text pair of a palette meet AA, changing only text colours
/// (and replacing colours that do not parse).
pub fn make_readable(p: &mut Palette) {
    let base = parse_hex(&p.base).unwrap_or([255, 255, 255]);
    let secondary = parse_hex(&p.secondary).unwrap_or(base);
    let contrast = parse_hex(&p.contrast).unwrap_or([17, 17, 17]);
    let primary = parse_hex(&p.primary).unwrap_or([30, 64, 175]);
    let on_primary = parse_hex(&p.on_primary).unwrap_or([255, 255, 255]);
    // Body text must read on both backgrounds: fix it against the worse one.
    let worse = if ratio(contrast, base) < ratio(contrast, secondary) {
        base
    } else {
        secondary
    };
    let mut contrast = readable_on(contrast, worse);
    if ratio(contrast, base) < AA_NORMAL_TEXT || ratio(contrast, secondary) < AA_NORMAL_TEXT {
        contrast = readable_on(contrast, if worse == base { secondary } else { base });
    }
    let primary = readable_on(primary, base);
    let on_primary = readable_on(on_primary, primary);
    p.base = to_hex(base);
    p.secondary = to_hex(secondary);
    p.contrast = to_hex(contrast);
    p.primary = to_hex(primary);
    p.on_primary = to_hex(on_primary);
    if parse_hex(&p.accent).is_none() {
        p.accent = to_hex(primary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_match_the_wcag_reference_values() {
        assert!((ratio([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
        assert!((ratio([255, 255, 255], [255, 255, 255]) - 1.0).abs() < 1e-9);
        // #777777 on white is the classic just-failing grey: 4.48.
        let grey = ratio(parse_hex("#777").unwrap(), [255; 3]);
        assert!((grey - 4.48).abs() < 0.01, "{grey}");
        // #767676 on white is the lightest grey that passes: 4.54.
        let grey = ratio(parse_hex("#767676").unwrap(), [255; 3]);
        assert!((grey - 4.54).abs() < 0.01, "{grey}");
        assert!(parse_hex("#12345").is_none());
        assert!(parse_hex("red").is_none());
        assert_eq!(to_hex(parse_hex("#AbC").unwrap()), "#aabbcc");
    }

    #[test]
    fn unreadable_palettes_are_made_readable() {
        let mut palette = Palette {
            base: "#ffffff".into(),
            contrast: "#999999".into(),
            primary: "#ffcc00".into(),
            on_primary: "#ffffff".into(),
            secondary: "#eeeeee".into(),
            accent: "nonsense".into(),
        };
        assert!(!meets_aa(&palette));
        make_readable(&mut palette);
        assert!(meets_aa(&palette), "{:?}", palette_ratios(&palette));
        assert!(parse_hex(&palette.accent).is_some());
    }
}
