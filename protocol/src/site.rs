//! What an agent reports about its WordPress: the inventory (versions,
//! themes, plugins) and drift (deployed content changed in WordPress since).
//!
//! The connector plugin prints these as JSON (`docs/connector.md`); the agent
//! forwards them unchanged and the control plane keeps the latest of each.
//! Unknown fields are ignored so a newer connector can say more.

use serde::{Deserialize, Serialize};

/// Most drifted entries one report carries; the count says how many there were.
pub const MAX_DRIFTED: usize = 200;

/// The WordPress installation as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Inventory {
    pub wordpress_version: String,
    pub php_version: String,
    pub site_url: String,
    #[serde(default)]
    pub home_url: String,
    #[serde(default)]
    pub connector_version: String,
    #[serde(default)]
    pub extension_version: Option<String>,
    #[serde(default)]
    pub active_theme: String,
    #[serde(default)]
    pub themes: Vec<ThemeInfo>,
    #[serde(default)]
    pub plugins: Vec<PluginInfo>,
    /// The sequences whose snapshot the agent keeps, oldest first: the
    /// deployments that can still be rolled back. Added by the agent (the
    /// connector does not know its retention); absent from agents that do
    /// not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<Vec<u64>>,
}

impl Inventory {
    /// Whether the deployment of `sequence` surely has no snapshot any more:
    /// it is older than the oldest the agent said it keeps (an agent removes
    /// only older ones, and a deployment newer than its last report may
    /// have one it has not reported yet).
    pub fn snapshot_pruned(&self, sequence: u64) -> bool {
        self.snapshots
            .as_ref()
            .and_then(|kept| kept.first())
            .is_some_and(|oldest| sequence < *oldest)
    }
}

/// An installed theme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThemeInfo {
    pub slug: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub active: bool,
}

/// An installed plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginInfo {
    /// Its main file relative to the plugins folder, e.g. `akismet/akismet.php`.
    pub file: String,
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub active: bool,
}

/// Deployed content that no longer matches what was deployed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Drift {
    /// How many deployed items were checked.
    pub checked: u64,
    /// Up to [`MAX_DRIFTED`] of them.
    pub drifted: Vec<DriftedItem>,
    /// How many drifted in all, when more than `drifted` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_drifted: Option<u64>,
}

impl Drift {
    /// Keeps at most [`MAX_DRIFTED`] entries, recording the full count.
    pub fn capped(mut self) -> Self {
        if self.drifted.len() > MAX_DRIFTED {
            self.total_drifted = Some(self.drifted.len() as u64);
            self.drifted.truncate(MAX_DRIFTED);
        }
        self
    }
}

/// One drifted item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriftedItem {
    /// The item's key, e.g. `page:about`.
    pub key: String,
    #[serde(default)]
    pub post_id: Option<u64>,
    /// `modified`, `trashed` or `deleted`.
    pub state: String,
    #[serde(default)]
    pub modified_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_connectors_report_and_ignores_what_it_does_not_know() {
        let inventory: Inventory = serde_json::from_str(
            r#"{"wordpress_version":"6.1.1","php_version":"8.2.7","site_url":"http://x","home_url":"http://x",
                "connector_version":"0.2.0","extension_version":null,"active_theme":"twentytwentythree",
                "themes":[{"slug":"twentytwentythree","name":"Twenty Twenty-Three","version":"1.0","active":true}],
                "plugins":[{"file":"gsw-connector/gsw-connector.php","slug":"gsw-connector","name":"gsWstudio Connector","version":"0.2.0","active":true,"network":false}],
                "multisite": false}"#,
        )
        .unwrap();
        assert_eq!(inventory.plugins[0].slug, "gsw-connector");
        assert!(inventory.themes[0].active);
    }

    #[test]
    fn drift_reports_are_capped() {
        let item = DriftedItem {
            key: "page:a".into(),
            post_id: Some(1),
            state: "modified".into(),
            modified_at: None,
        };
        let drift = Drift {
            checked: 500,
            drifted: vec![item; 450],
            total_drifted: None,
        }
        .capped();
        assert_eq!(drift.drifted.len(), MAX_DRIFTED);
        assert_eq!(drift.total_drifted, Some(450));
        let json = serde_json::to_string(&drift).unwrap();
        assert!(json.len() < crate::frame::MAX_TEXT_FRAME_BYTES);
    }
}
