//! The plugin stage: the catalog's plugins that serve one of the brief's
//! goals, its business type, or every site, each with its reason in this
//! business's words.

use super::facts::Facts;
use crate::catalog;
use crate::draft::{PluginChoice, PluginPlan};

/// The plugins to install, in catalog order.
pub(super) fn plugins(f: &Facts) -> PluginPlan {
    let mut plugins = Vec::new();
    for entry in catalog::CATALOG {
        let goal = f.brief.goals.iter().find(|g| catalog::serves(entry, g));
        let by_type = catalog::serves(entry, &f.brief.business_type);
        let reason = match (goal, by_type, entry.essential) {
            (Some(goal), _, _) => format!(
                "{} gives {} {} for the goal \u{201c}{}\u{201d}.",
                entry.name,
                f.name,
                entry.what_for,
                goal.trim()
            ),
            (None, true, _) => format!(
                "{} gives {} {}, which {} {} needs.",
                entry.name,
                f.name,
                entry.what_for,
                f.article(),
                f.kind
            ),
            (None, false, true) => format!(
                "Every site needs {}; {} covers it for {}.",
                entry.what_for, entry.name, f.name
            ),
            (None, false, false) => continue,
        };
        plugins.push(PluginChoice {
            slug: entry.slug.into(),
            name: entry.name.into(),
            category: entry.category.into(),
            reason,
            settings: catalog::default_settings(entry, f.name),
        });
    }
    PluginPlan { plugins }
}
