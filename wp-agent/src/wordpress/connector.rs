//! The connector plugin this agent carries: installed into WordPress (and
//! kept at this agent's version), activated, or written as a plugin zip.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

use super::process::last_json;
use super::{WordPress, PLUGIN_DIR, QUICK_LIMIT};
use crate::disk;

use gsw_connector::CONNECTOR_FILES;

impl WordPress {
    pub(super) fn plugin_dir(&self) -> PathBuf {
        self.wp_path.join("wp-content/plugins").join(PLUGIN_DIR)
    }

    /// Writes the connector plugin's files where they differ from this
    /// agent's copy and removes files it does not have (an older
    /// connector's, which would otherwise linger as loadable PHP); true if
    /// anything changed.
    pub fn install_connector(&self) -> anyhow::Result<bool> {
        let plugins = self.wp_path.join("wp-content/plugins");
        if !plugins.is_dir() {
            bail!("{} does not exist", plugins.display());
        }
        let dir = self.plugin_dir();
        let mut changed = false;
        for (relative, bytes) in CONNECTOR_FILES {
            let target = dir.join(relative);
            if std::fs::read(&target).is_ok_and(|current| current == *bytes) {
                continue;
            }
            let parent = target.parent().unwrap_or(&dir);
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
            disk::write_atomic(&target, bytes, 0o644)?;
            changed = true;
        }
        let removed = remove_stale(&dir, &dir)?;
        Ok(changed || removed)
    }

    /// Activates the connector in WordPress (a no-op when it is active).
    pub fn activate_connector(&self) -> anyhow::Result<()> {
        let code = r#"
            define('WP_USE_THEMES', false);
            $_SERVER['HTTP_HOST'] = $_SERVER['HTTP_HOST'] ?? 'localhost';
            require getcwd() . '/wp-load.php';
            require_once ABSPATH . 'wp-admin/includes/plugin.php';
            $file = 'gsw-connector/gsw-connector.php';
            $result = is_plugin_active($file) ? null : activate_plugin($file);
            echo json_encode(is_wp_error($result) ? ['error' => $result->get_error_message()] : ['active' => is_plugin_active($file)]), "\n";
        "#;
        let mut command = self.php_command();
        command.arg("-r").arg(code).current_dir(&self.wp_path);
        let ran = self.run(command, QUICK_LIMIT, "activate")?;
        #[derive(Deserialize)]
        struct Activated {
            active: Option<bool>,
            error: Option<String>,
        }
        let answer: Activated = last_json(&ran.stdout).with_context(|| {
            format!(
                "activating the connector plugin: no answer from WordPress ({})",
                ran.explain()
            )
        })?;
        match (answer.active, answer.error) {
            (Some(true), _) => Ok(()),
            (_, Some(error)) => {
                bail!("WordPress refused to activate the connector plugin: {error}")
            }
            _ => bail!("the connector plugin is still inactive after activation"),
        }
    }
}

/// Removes the files under `dir` that are not among the embedded ones
/// (paths relative to `root`), and the folders that leaves empty; true if
/// anything went.
fn remove_stale(root: &Path, dir: &Path) -> anyhow::Result<bool> {
    let mut removed = false;
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if path.is_dir() && !path.is_symlink() {
            removed |= remove_stale(root, &path)?;
            if std::fs::read_dir(&path).is_ok_and(|mut left| left.next().is_none()) {
                std::fs::remove_dir(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
                removed = true;
            }
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let embedded = CONNECTOR_FILES
            .iter()
            .any(|(name, _)| Path::new(name) == relative);
        if !embedded {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            removed = true;
        }
    }
    Ok(removed)
}

/// The connector plugin, as embedded in this agent, as an installable
/// plugin zip, for installing it by hand (Plugins > Add New > Upload) or
/// with WP-CLI.
pub fn connector_zip() -> anyhow::Result<Vec<u8>> {
    Ok(gsw_connector::zip()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installing_replaces_an_older_connector_whole() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = dir.path().join("wp-content/plugins").join(PLUGIN_DIR);
        // An older connector's layout: files this one no longer has.
        std::fs::create_dir_all(plugin.join("includes/old")).unwrap();
        std::fs::write(plugin.join("includes/apply.php"), "<?php // old").unwrap();
        std::fs::write(plugin.join("includes/old/menu.php"), "<?php // old").unwrap();
        std::fs::write(plugin.join("gsw-connector.php"), "<?php // old").unwrap();
        let wordpress = WordPress::scratch(dir.path());
        assert!(wordpress.install_connector().unwrap());
        assert!(!plugin.join("includes/apply.php").exists());
        assert!(!plugin.join("includes/old").exists());
        for (name, bytes) in CONNECTOR_FILES {
            assert_eq!(std::fs::read(plugin.join(name)).unwrap(), *bytes, "{name}");
        }
        assert!(!wordpress.install_connector().unwrap(), "nothing to change");
    }

    #[test]
    fn the_whole_connector_is_embedded() {
        let names: Vec<&str> = CONNECTOR_FILES.iter().map(|(name, _)| *name).collect();
        for needed in [
            "gsw-connector.php",
            "readme.txt",
            "uninstall.php",
            "bin/apply.php",
            "bin/activate-plugin.php",
            "bin/menu-locations.php",
            "includes/class-gsw-apply.php",
            "includes/class-gsw-cli.php",
        ] {
            assert!(names.contains(&needed), "{needed} missing from {names:?}");
        }
    }
}
