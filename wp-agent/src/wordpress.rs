//! Applying bundles inside WordPress through the connector plugin.
//!
//! The agent never touches WordPress's database: it runs the connector's
//! command-line entry points with the machine's PHP and the gsw extension
//! (`docs/connector.md`), each with a time limit, and reads the one JSON
//! report each prints. The connector plugin ships inside this binary and is
//! installed (and kept at this agent's version) on enroll and on start.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use gsw_protocol::bundle::VerifiedBundle;
use gsw_protocol::frame::{ItemResult, ItemStatus};
use gsw_protocol::site::{Drift, Inventory};
use serde::Deserialize;

use crate::apply::{Applier, Outcome};
use crate::config::AgentConfig;
use crate::disk;

include!(concat!(env!("OUT_DIR"), "/connector_files.rs"));

/// The plugin's folder name under wp-content/plugins.
pub const PLUGIN_DIR: &str = "gsw-connector";
/// The extension's file name as cargo builds it.
pub const EXTENSION_FILE: &str = "libgsw_php_ext.so";
/// The name PHP knows the loaded extension by.
const EXTENSION_NAME: &str = "gsw-php-ext";
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

/// An apply process started before its bundle arrives: PHP is up (its
/// start costs about 20 ms with a distribution's usual extensions) and
/// `bin/apply.php --request-on-stdin` waits for its request. WordPress is
/// loaded only when the request comes, so it sees the site as it is then.
/// Dropped unused, its stdin closes and it exits quietly.
#[derive(Debug)]
struct Warm {
    child: Child,
    stdin: ChildStdin,
}

/// What a connector command printed and how it exited.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
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

    fn plugin_dir(&self) -> PathBuf {
        self.wp_path.join("wp-content/plugins").join(PLUGIN_DIR)
    }

    /// Writes the connector plugin's files where they differ from this
    /// agent's copy; true if anything was written.
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
        Ok(changed)
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

    fn php_command(&self) -> Command {
        let mut command = Command::new(&self.php);
        if let Some(cache) = &self.opcache {
            if disk::private_dir(cache).is_ok() {
                // The cache folder is the agent's own: its files are
                // checked by size when loaded, and skipping the checksum
                // of every cached script saves a tenth of WordPress's load.
                command
                    .args([
                        "-d",
                        "opcache.enable_cli=1",
                        "-d",
                        "opcache.file_cache_only=1",
                        "-d",
                        "opcache.file_cache_consistency_checks=0",
                    ])
                    .arg("-d")
                    .arg(format!("opcache.file_cache={}", cache.display()));
            }
        }
        if let Some(extension) = &self.extension {
            command
                .arg("-d")
                .arg(format!("extension={}", extension.display()));
        }
        command
    }

    fn connector_command(&self, script: &str) -> Command {
        let mut command = self.php_command();
        command
            .arg(self.plugin_dir().join("bin").join(script))
            .current_dir(&self.wp_path);
        command
    }

    /// Runs a command with a time limit, its output going to files (a pipe
    /// could fill and stall it); kills it when time is up.
    fn run(&self, command: Command, limit: Duration, name: &str) -> anyhow::Result<Ran> {
        let child = self.start(command, Stdio::null(), name)?;
        self.wait(child, limit, name)
    }

    fn output_paths(&self, name: &str) -> (PathBuf, PathBuf) {
        (
            self.scratch.join(format!("{name}.out")),
            self.scratch.join(format!("{name}.err")),
        )
    }

    /// Starts a command with its output going to the `name` files.
    fn start(&self, mut command: Command, stdin: Stdio, name: &str) -> anyhow::Result<Child> {
        disk::private_dir(&self.scratch)?;
        let (out_path, err_path) = self.output_paths(name);
        let stdout = std::fs::File::create(&out_path)?;
        let stderr = std::fs::File::create(&err_path)?;
        command
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", self.php.display()))
    }

    /// Waits for a command started by [`Self::start`] for at most `limit`,
    /// killing it then, and reads what it printed.
    fn wait(&self, mut child: Child, limit: Duration, name: &str) -> anyhow::Result<Ran> {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            let elapsed = started.elapsed();
            if elapsed >= limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            // Finely at first (most commands take well under a second), then coarsely.
            std::thread::sleep(if elapsed < Duration::from_secs(2) {
                Duration::from_millis(1)
            } else {
                Duration::from_millis(20)
            });
        };
        let read = |path: &Path| {
            let text = std::fs::read(path).unwrap_or_default();
            String::from_utf8_lossy(&text).into_owned()
        };
        let (out_path, err_path) = self.output_paths(name);
        let ran = Ran {
            code: status.and_then(|s| s.code()),
            stdout: read(&out_path),
            stderr: read(&err_path),
        };
        if status.is_none() {
            bail!(
                "stopped after the {}-second time limit ({})",
                limit.as_secs(),
                ran.explain()
            );
        }
        Ok(ran)
    }

    /// Starts `bin/apply.php --request-on-stdin`.
    fn start_apply(&self) -> anyhow::Result<Warm> {
        let mut command = self.connector_command("apply.php");
        command.arg("--request-on-stdin");
        let mut child = self.start(command, Stdio::piped(), "apply")?;
        let stdin = child
            .stdin
            .take()
            .context("the apply process has no stdin")?;
        Ok(Warm { child, stdin })
    }

    /// Starts the next apply's PHP now, so the next bundle does not wait
    /// for it; a failure here only means the next apply starts its own.
    pub fn prestart(&self) {
        let mut slot = self.warm.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return;
        }
        match self.start_apply() {
            Ok(warm) => *slot = Some(warm),
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "starting PHP ahead of the next apply")
            }
        }
    }

    /// Runs one apply: hands the request to the process started ahead (or
    /// to a new one, if none is waiting or it died meanwhile) and waits for
    /// its report within the time limit.
    fn run_apply(&self, request: &serde_json::Value) -> anyhow::Result<Ran> {
        let mut line = serde_json::to_vec(request)?;
        line.push(b'\n');
        let waiting = self.warm.lock().unwrap_or_else(|e| e.into_inner()).take();
        let handed = waiting.and_then(|mut warm| {
            let alive = matches!(warm.child.try_wait(), Ok(None));
            if alive && warm.stdin.write_all(&line).is_ok() {
                Some(warm.child)
            } else {
                let _ = warm.child.kill();
                let _ = warm.child.wait();
                None
            }
        });
        let child = match handed {
            Some(child) => child,
            None => {
                let mut fresh = self.start_apply()?;
                fresh
                    .stdin
                    .write_all(&line)
                    .context("handing the request to PHP")?;
                fresh.child
            }
        };
        // stdin closed with the Warm: the connector reads one line.
        self.wait(child, self.apply_limit, "apply")
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

impl Ran {
    /// Exit status and the end of what the command printed (stderr, or
    /// stdout when stderr is empty: PHP's CLI prints its fatal errors
    /// there), for error messages.
    fn explain(&self) -> String {
        let printed = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let tail = tail(printed.trim(), 400);
        match self.code {
            Some(code) if tail.is_empty() => format!("exit {code}"),
            Some(code) => format!("exit {code}: {tail}"),
            None if tail.is_empty() => "killed".to_owned(),
            None => format!("killed: {tail}"),
        }
    }
}

/// The last `max` bytes of `text` or a little less, on a character boundary.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// The last line of output that parses as `T` (PHP may print notices first).
fn last_json<T: serde::de::DeserializeOwned>(stdout: &str) -> anyhow::Result<T> {
    let mut last_error = None;
    for line in stdout
        .lines()
        .rev()
        .filter(|l| l.trim_start().starts_with('{'))
    {
        match serde_json::from_str(line) {
            Ok(value) => return Ok(value),
            Err(err) => last_error = Some(err),
        }
    }
    match last_error {
        Some(err) => Err(err.into()),
        None => bail!("no JSON report on stdout"),
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

/// The connector plugin, as embedded in this agent, as an installable
/// plugin zip (every entry under `gsw-connector/`, stored, with fixed
/// times so the same agent always writes the same bytes), for installing
/// it by hand (Plugins > Add New > Upload) or with WP-CLI.
pub fn connector_zip() -> anyhow::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (relative, bytes) in CONNECTOR_FILES {
        zip.start_file(format!("{PLUGIN_DIR}/{relative}"), options)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// Keeps the `keep` newest snapshots in `dir` (the connector's folders,
/// named by sequence) and removes older ones, and the work folders
/// (`.N.tmp-PID`, `.work-N-PID`) of connector runs that never finished.
/// Call it only while no connector runs. Returns how many folders went.
pub fn prune_snapshots(dir: &Path, keep: usize) -> anyhow::Result<usize> {
    let (mut snapshots, leftovers) = snapshot_folders(dir)?;
    snapshots.sort_by_key(|(sequence, _)| std::cmp::Reverse(*sequence));
    let old = snapshots
        .into_iter()
        .skip(keep.max(1))
        .map(|(_, path)| path);
    let mut removed = 0;
    for path in old.chain(leftovers) {
        std::fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
        removed += 1;
    }
    Ok(removed)
}

/// The sequences of the complete snapshots in `dir`, oldest first.
pub fn kept_snapshots(dir: &Path) -> anyhow::Result<Vec<u64>> {
    let (snapshots, _) = snapshot_folders(dir)?;
    let mut kept: Vec<u64> = snapshots
        .into_iter()
        .filter(|(_, path)| path.join("snapshot.json").is_file())
        .map(|(sequence, _)| sequence)
        .collect();
    kept.sort_unstable();
    Ok(kept)
}

/// A snapshot folder: its sequence and path.
type SnapshotFolder = (u64, PathBuf);

/// The snapshot folders in `dir` (named by sequence), and the work folders
/// of connector runs (`.N.tmp-PID`, `.work-N-PID`).
fn snapshot_folders(dir: &Path) -> anyhow::Result<(Vec<SnapshotFolder>, Vec<PathBuf>)> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(err) => return Err(err).with_context(|| format!("reading {}", dir.display())),
    };
    let mut snapshots = Vec::new();
    let mut work = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Ok(sequence) = name.parse::<u64>() {
            snapshots.push((sequence, entry.path()));
        } else if name.starts_with(".work-") || (name.starts_with('.') && name.contains(".tmp-")) {
            work.push(entry.path());
        }
    }
    Ok((snapshots, work))
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

/// The PHP to run: the one named, else `php` on the `PATH`.
pub fn find_php(named: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = named {
        return Ok(path.to_owned());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_connector_is_embedded() {
        let names: Vec<&str> = CONNECTOR_FILES.iter().map(|(name, _)| *name).collect();
        for needed in [
            "gsw-connector.php",
            "readme.txt",
            "uninstall.php",
            "bin/apply.php",
        ] {
            assert!(names.contains(&needed), "{needed} missing from {names:?}");
        }
    }

    fn scratch_wordpress(dir: &Path) -> WordPress {
        WordPress {
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

    #[test]
    fn a_command_over_its_time_limit_is_killed_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let wordpress = scratch_wordpress(dir.path());
        let mut slow = Command::new("sh");
        slow.args(["-c", "echo working >&2; sleep 30"]);
        let started = Instant::now();
        let err = wordpress
            .run(slow, Duration::from_millis(200), "slow")
            .unwrap_err()
            .to_string();
        assert!(started.elapsed() < Duration::from_secs(10), "not killed");
        assert!(err.contains("time limit"), "{err}");
        assert!(err.contains("killed: working"), "{err}");

        let mut quick = Command::new("sh");
        quick.args(["-c", "echo '{\"status\": \"applied\"}'; exit 1"]);
        let ran = wordpress
            .run(quick, Duration::from_secs(10), "quick")
            .unwrap();
        assert_eq!(ran.code, Some(1));
        assert_eq!(
            last_json::<ApplyReport>(&ran.stdout).unwrap().status,
            "applied"
        );
    }

    #[test]
    fn only_the_newest_snapshots_and_no_leftovers_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let snapshots = dir.path().join("snapshots");
        assert_eq!(prune_snapshots(&snapshots, 2).unwrap(), 0, "no folder yet");
        for name in ["1", "2", "9", "10", ".11.tmp-42", ".work-11-42", "notes"] {
            std::fs::create_dir_all(snapshots.join(name)).unwrap();
        }
        std::fs::write(snapshots.join("10/snapshot.json"), "{}").unwrap();
        std::fs::write(snapshots.join("3"), "a file, not a snapshot").unwrap();
        assert_eq!(prune_snapshots(&snapshots, 2).unwrap(), 4);
        let mut left: Vec<String> = std::fs::read_dir(&snapshots)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        // By number, not by name: 10 is newer than 9.
        assert_eq!(left, ["10", "3", "9", "notes"]);
        assert!(snapshots.join("10/snapshot.json").is_file());
        assert_eq!(prune_snapshots(&snapshots, 2).unwrap(), 0);
        // Only complete snapshots count as kept.
        assert_eq!(kept_snapshots(&snapshots).unwrap(), [10]);
        std::fs::write(snapshots.join("9/snapshot.json"), "{}").unwrap();
        assert_eq!(kept_snapshots(&snapshots).unwrap(), [9, 10]);
        assert!(kept_snapshots(&dir.path().join("none")).unwrap().is_empty());
    }

    #[test]
    fn reports_are_read_past_php_notices() {
        let out = "PHP Notice: something\n{\"status\": \"applied\", \"results\": []}\n";
        let report: ApplyReport = last_json(out).unwrap();
        assert_eq!(report.status, "applied");
        assert!(last_json::<ApplyReport>("Fatal error: out of memory").is_err());
    }
}
