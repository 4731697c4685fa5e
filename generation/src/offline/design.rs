//! The design stage: the business family's look, changed as far as the brief's
//! style preferences ask and [`Wish`] can read them.

use super::facts::Facts;
use super::style::Wish;
use crate::draft::Design;

/// The site's theme, palette, fonts and a description of the look.
pub(super) fn design(f: &Facts) -> Design {
    let style = f.brief.style.as_deref().unwrap_or_default();
    let wish = Wish::read(style);
    Design {
        theme: "twentytwentythree".into(),
        style: if wish.is_empty() {
            f.family.style.clone()
        } else {
            wish.describe(style)
        },
        palette: wish.palette(&f.family.palette),
        fonts: wish.fonts(&f.family.fonts),
    }
}
