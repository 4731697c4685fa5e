//! Applying bundles inside WordPress through the connector plugin.
//!
//! The agent never touches WordPress's database: it runs the connector's
//! command-line entry points with the machine's PHP and the gsw extension
//! (`docs/connector.md`), each with a time limit, and reads the one JSON
//! report each prints. The connector plugin ships inside this binary and is
//! installed (and kept at this agent's version) on enroll and on start.
//!
//! - [`php`]: finding PHP and the gsw extension;
//! - [`connector`]: the embedded connector plugin, installed, activated or zipped;
//! - [`process`]: running a connector command with a time limit, and the
//!   apply process started ahead of its bundle;
//! - [`snapshots`]: the connector's snapshots the agent keeps or prunes.

mod connector;
mod php;
mod process;
mod snapshots;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use gsw_protocol::bundle::VerifiedBundle;
use gsw_protocol::frame::{ItemResult, ItemStatus};
use gsw_protocol::site::{Drift, Inventory};
use serde::Deserialize;

use crate::apply::{Applier, Outcome};
use crate::config::AgentConfig;
use crate::disk;

pub use connector::connector_zip;
pub use php::{find_extension, find_php};
pub use snapshots::{kept_snapshots, prune_snapshots};

use process::{last_json, Warm};

pub use gsw_connector::PLUGIN_DIR;
/// Time limit of the quick commands (inventory, drift, activation).
const QUICK_LIMIT: Duration = Duration::from_secs(60);

/// How to reach one WordPress installation.
#[derive(Debug, Clone)]
pub struct WordPress {
    pub wp_path: PathBuf,
    pub php: PathBuf,
    /// `None` when the machine's PHP loads the extension already.
    pub extension: Option<PathBuf>,
    /// Where the connector keeps its snapshots, one folder per sequence.
    pub snapshots: PathBuf,
    /// Scratch folder for command output.
    pub scratch: PathBuf,
    /// opcache's file cache, so each command finds WordPress compiled
    /// instead of compiling it again (several times faster; see
    /// docs/benchmarks.md).
    pub opcache: Option<PathBuf>,
    /// What the connector checks bundles against, as the agent does.
    pub bundle_key: String,
    pub site_id: uuid::Uuid,
    pub max_bundle_bytes: u64,
    pub apply_limit: Duration,
    /// How many of the newest snapshots [`prune_snapshots`] keeps.
    pub keep_snapshots: usize,
    /// The next apply's PHP, started ahead (see [`Warm`]); shared by clones.
    warm: Arc<Mutex<Option<Warm>>>,
}

impl WordPress {
    /// The WordPress an agent's settings name, finding PHP and the
    /// extension as [`find_php`] and [`find_extension`] do.
    pub fn from_config(config: &AgentConfig, state_dir: &Path) -> anyhow::Result<Self> {
        let php = find_php(config.php.as_deref())?;
        let extension = find_extension(&php, config.php_extension.as_deref())?;
        Ok(Self {
            wp_path: config.wp_path.clone(),
            php,
            extension,
            snapshots: state_dir.join("snapshots"),
            scratch: state_dir.join("run"),
            opcache: Some(state_dir.join("opcache")),
            bundle_key: config.bundle_signing_key.clone(),
            site_id: config.site_id,
            max_bundle_bytes: config.max_bundle_bytes,
            apply_limit: Duration::from_secs(config.apply_timeout_secs.max(1)),
            keep_snapshots: config.keep_snapshots.max(1),
            warm: Arc::default(),
        })
    }

    /// Checks that `wp_path` holds WordPress and `php` runs.
    pub fn check(&self) -> anyhow::Result<()> {
        if !self.wp_path.join("wp-load.php").is_file() {
            bail!(
                "{} is not a WordPress installation (no wp-load.php there); pass the folder that holds wp-config.php as --wp-path",
                self.wp_path.display()
            );
        }
        let version = Command::new(&self.php)
            .arg("-v")
            .output()
            .with_context(|| format!("running {} (pass --php)", self.php.display()))?;
        if !version.status.success() {
            bail!("{} -v failed", self.php.display());
        }
        Ok(())
    }

    /// Installs (or updates) and activates the connector, then checks the
    /// whole chain by asking for the inventory.
    pub fn prepare(&self) -> anyhow::Result<Inventory> {
        self.check()?;
        if self.install_connector()? {
            tracing::info!(path = %self.plugin_dir().display(), "connector plugin installed");
        }
        self.activate_connector()?;
        let inventory = self.inventory()?;
        if self.extension.is_some() || inventory.extension_version.is_some() {
            Ok(inventory)
        } else {
            bail!("the gsw PHP extension is not loaded; pass --php-extension")
        }
    }

    /// WordPress and PHP versions, themes and plugins, and the snapshots
    /// this agent keeps.
    pub fn inventory(&self) -> anyhow::Result<Inventory> {
        let ran = self.run(
            self.connector_command("inventory.php"),
            QUICK_LIMIT,
            "inventory",
        )?;
        let mut inventory: Inventory = last_json(&ran.stdout)
            .with_context(|| format!("reading the connector's inventory ({})", ran.explain()))?;
        // A folder that cannot be read leaves the list out (the control plane
        // then lets the connector decide) rather than the whole report.
        inventory.snapshots = kept_snapshots(&self.snapshots)
            .inspect_err(
                |err| tracing::warn!(error = %format!("{err:#}"), "listing the kept snapshots"),
            )
            .ok();
        Ok(inventory)
    }

    /// Deployed content changed in WordPress since it was deployed.
    pub fn drift(&self) -> anyhow::Result<Drift> {
        let ran = self.run(self.connector_command("drift.php"), QUICK_LIMIT, "drift")?;
        let drift: Drift = last_json(&ran.stdout)
            .with_context(|| format!("reading the connector's drift report ({})", ran.explain()))?;
        Ok(drift.capped())
    }
}

/// The connector's apply report (`docs/connector.md`).
#[derive(Debug, Deserialize)]
struct ApplyReport {
    status: String,
    #[serde(default)]
    results: Vec<ItemResult>,
    #[serde(default)]
    error: Option<String>,
}

impl Applier for WordPress {
    fn apply(&self, bundle: &VerifiedBundle<'_>, file: &Path) -> Outcome {
        let outcome = self.apply_bundle(bundle, file);
        // No connector runs now: what is beyond the newest snapshots, and
        // any folder a killed one left half-written, can go.
        match prune_snapshots(&self.snapshots, self.keep_snapshots) {
            Ok(0) => {}
            Ok(removed) => tracing::info!(
                removed,
                kept = self.keep_snapshots,
                "older snapshots removed"
            ),
            Err(err) => tracing::warn!(error = %format!("{err:#}"), "pruning snapshots"),
        }
        self.prestart();
        outcome
    }

    fn inventory(&self) -> Option<anyhow::Result<Inventory>> {
        Some(WordPress::inventory(self))
    }

    fn drift(&self) -> Option<anyhow::Result<Drift>> {
        Some(WordPress::drift(self))
    }
}

impl WordPress {
    fn apply_bundle(&self, bundle: &VerifiedBundle<'_>, file: &Path) -> Outcome {
        let sequence = bundle.manifest.sequence;
        if let Err(err) = disk::private_dir(&self.snapshots) {
            return everything_failed(bundle, &format!("{err:#}"));
        }
        // The options of `bin/apply.php`, as one JSON line on its stdin.
        let (Some(bundle_path), Some(snapshots)) = (file.to_str(), self.snapshots.to_str()) else {
            return everything_failed(
                bundle,
                "the agent's state folder has a path that is not UTF-8; move it (--state-dir)",
            );
        };
        let request = serde_json::json!({
            "bundle": bundle_path,
            "public-key": self.bundle_key,
            "site-id": self.site_id.to_string(),
            "last-applied": sequence.saturating_sub(1),
            "max-bytes": self.max_bundle_bytes,
            "snapshots": snapshots,
        });
        let ran = match self.run_apply(&request) {
            Ok(ran) => ran,
            Err(err) => {
                return everything_failed(
                    bundle,
                    &format!(
                        "apply interrupted: {err:#}; part of the bundle may be applied, and rolling this deployment back restores the state before it"
                    ),
                )
            }
        };
        match last_json::<ApplyReport>(&ran.stdout) {
            Ok(report) if report.status == "refused" => Outcome::Refused {
                code: "connector_refused".into(),
                reason: report
                    .error
                    .unwrap_or_else(|| "the connector refused the bundle".into()),
            },
            Ok(report) => {
                let mut results = report.results;
                // Every item gets a result, even one the connector left out.
                for (entry, _) in bundle.items() {
                    if !results
                        .iter()
                        .any(|r| r.kind == entry.kind && r.path == entry.path)
                    {
                        results.push(ItemResult {
                            kind: entry.kind,
                            path: entry.path.clone(),
                            status: ItemStatus::Failed,
                            message: Some("the connector did not report this item".into()),
                        });
                    }
                }
                Outcome::Applied(results)
            }
            Err(err) => everything_failed(
                bundle,
                &format!(
                    "the connector gave no readable report ({err}; {}); part of the bundle may be applied, and rolling this deployment back restores the state before it",
                    ran.explain()
                ),
            ),
        }
    }
}

fn everything_failed(bundle: &VerifiedBundle<'_>, message: &str) -> Outcome {
    Outcome::Applied(
        bundle
            .items()
            .map(|(entry, _)| ItemResult {
                kind: entry.kind,
                path: entry.path.clone(),
                status: ItemStatus::Failed,
                message: Some(message.to_owned()),
            })
            .collect(),
    )
}

#[cfg(test)]
impl WordPress {
    /// A WordPress at `dir` with short limits and no extension, for unit tests.
    fn scratch(dir: &Path) -> Self {
        Self {
            wp_path: dir.to_owned(),
            php: PathBuf::from("php"),
            extension: None,
            snapshots: dir.join("snapshots"),
            scratch: dir.join("run"),
            opcache: None,
            bundle_key: String::new(),
            site_id: uuid::Uuid::nil(),
            max_bundle_bytes: 1024,
            apply_limit: Duration::from_millis(200),
            keep_snapshots: 2,
            warm: Arc::default(),
        }
    }
}
