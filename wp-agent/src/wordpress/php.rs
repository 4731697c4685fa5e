//! Finding the PHP that runs the connector and the gsw extension it loads.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// The extension's file name as cargo builds it.
pub const EXTENSION_FILE: &str = "libgsw_php_ext.so";
/// The name PHP knows the loaded extension by.
const EXTENSION_NAME: &str = "gsw-php-ext";

/// Where a packaged agent finds the PHP it was built for, relative to its
/// folder's parent (`/usr/lib/gsw-agent/php` for `/usr/bin/wp-agent`: a link the Debian package
/// makes to the interpreter whose `php-config` built its extension), so a
/// second PHP installed later and made `php` does not take its place.
const PACKAGED_PHP: &str = "lib/gsw-agent/php";

/// The PHP to run: the one named, else the one a packaged agent was built
/// for, else `php` on the `PATH`.
pub fn find_php(named: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = named {
        return Ok(path.to_owned());
    }
    let packaged = std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.parent()?
                .parent()
                .map(|prefix| prefix.join(PACKAGED_PHP))
        })
        .filter(|php| php.is_file());
    if let Some(php) = packaged {
        return Ok(php);
    }
    search_path("php")
        .context("no `php` on the PATH; install PHP's command-line interpreter or pass --php")
}

fn search_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Where the gsw extension is, in this order: the path named; already
/// loaded by PHP (`None`); beside the `wp-agent` binary; in PHP's extension
/// folder as `gsw.so` or under its cargo name; `/usr/lib/gsw` and
/// `/usr/local/lib/gsw`.
pub fn find_extension(php: &Path, named: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    if let Some(path) = named {
        if !path.is_file() {
            bail!("--php-extension {} does not exist", path.display());
        }
        return Ok(Some(path.canonicalize()?));
    }
    let probe = Command::new(php)
        .arg("-r")
        .arg(format!(
            "echo extension_loaded('{EXTENSION_NAME}') ? 'loaded' : '', \"\\n\", ini_get('extension_dir');"
        ))
        .output()
        .with_context(|| format!("running {}", php.display()))?;
    let text = String::from_utf8_lossy(&probe.stdout);
    let mut lines = text.lines();
    if lines.next() == Some("loaded") {
        return Ok(None);
    }
    let extension_dir = lines.next().map(PathBuf::from);
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
    {
        candidates.push(dir.join(EXTENSION_FILE));
    }
    if let Some(dir) = extension_dir {
        candidates.push(dir.join("gsw.so"));
        candidates.push(dir.join(EXTENSION_FILE));
    }
    for dir in ["/usr/lib/gsw", "/usr/local/lib/gsw"] {
        candidates.push(Path::new(dir).join(EXTENSION_FILE));
    }
    match candidates.iter().find(|c| c.is_file()) {
        Some(found) => Ok(Some(found.canonicalize()?)),
        None => bail!(
            "the gsw PHP extension was not found (looked in: {}); install it as the README says or pass --php-extension",
            candidates
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
