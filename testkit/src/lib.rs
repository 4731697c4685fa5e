//! Fixtures for tests that need the real thing: a WordPress installation of
//! the test's own on MariaDB, and the gsw PHP extension built for this PHP.
//!
//! WordPress comes from Debian's `wordpress` package (6.1, in
//! `/usr/share/wordpress`, or `GSW_TEST_WORDPRESS_DIR`), copied into a
//! temporary folder (core files hard-linked) with a plain `wp-config.php`
//! and installed with
//! `wp_install()` from the PHP CLI; each gets a MariaDB database of its own
//! (root without a password on 127.0.0.1, or `GSW_TEST_MYSQL_HOST`), dropped
//! with it.

pub mod packages;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use uuid::Uuid;

/// Where Debian's package puts WordPress.
pub const DEBIAN_WORDPRESS: &str = "/usr/share/wordpress";

fn wordpress_source() -> PathBuf {
    std::env::var_os("GSW_TEST_WORDPRESS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEBIAN_WORDPRESS))
}

fn mysql_host() -> String {
    std::env::var("GSW_TEST_MYSQL_HOST").unwrap_or_else(|_| "127.0.0.1".to_owned())
}

/// Runs PHP code in `dir`; panics with its output if it fails.
pub fn php_in(dir: &Path, code: &str) -> String {
    let output = Command::new("php")
        .current_dir(dir)
        .arg("-r")
        .arg(code)
        .output()
        .expect("running php (Debian package php-cli)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "php failed: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// A WordPress site of a test's own, dropped with its database at the end.
pub struct WordPress {
    dir: tempfile::TempDir,
    database: String,
}

/// Copies WordPress from `from` to `to`: its core files as hard links
/// (tests never write there, and copying 3,000 files costs seconds; a copy
/// where linking fails), `wp-content`'s plugins and themes for real, since
/// tests install and change those. Debian's `wp-config.php` (which reads
/// `/etc/wordpress`) is left out: each site gets its own.
fn copy_wordpress(from: &Path, to: &Path) {
    let run = |command: &mut Command| command.status().is_ok_and(|s| s.success());
    for entry in std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("reading {}: {e}", from.display()))
        .flatten()
    {
        let name = entry.file_name();
        if name == "wp-content" || name == "wp-config.php" {
            continue;
        }
        let linked = run(Command::new("cp").arg("-al").arg(entry.path()).arg(to));
        assert!(
            linked || run(Command::new("cp").arg("-r").arg(entry.path()).arg(to)),
            "copying {}",
            entry.path().display()
        );
    }
    let content = to.join("wp-content");
    for folder in ["languages", "uploads", "plugins", "themes"] {
        std::fs::create_dir_all(content.join(folder)).unwrap();
    }
    for folder in ["plugins", "themes"] {
        let source = from.join("wp-content").join(folder);
        if source.is_dir() {
            assert!(
                run(Command::new("cp")
                    .arg("-r")
                    .arg(format!("{}/.", source.display()))
                    .arg(content.join(folder))),
                "copying {}",
                source.display()
            );
        }
    }
}

impl WordPress {
    /// Copies WordPress, creates its database and installs it.
    pub fn install() -> Self {
        let source = wordpress_source();
        assert!(
            source.join("wp-load.php").exists(),
            "no WordPress in {} (Debian package `wordpress`, or set GSW_TEST_WORDPRESS_DIR)",
            source.display()
        );
        let dir = tempfile::tempdir().unwrap();
        copy_wordpress(&source, dir.path());
        let database = format!("gsw_wp_{}", Uuid::new_v4().simple());
        let host = mysql_host();
        php_in(
            dir.path(),
            &format!(
                r#"$m = new mysqli("{host}", "root", ""); $m->query("CREATE DATABASE {database}") or die($m->error);"#
            ),
        );
        // No FS_METHOD: the connector must work on a site that never set it.
        std::fs::write(
            dir.path().join("wp-config.php"),
            format!(
                "<?php\ndefine('DB_NAME', '{database}');\ndefine('DB_USER', 'root');\ndefine('DB_PASSWORD', '');\ndefine('DB_HOST', '{host}');\ndefine('DB_CHARSET', 'utf8mb4');\ndefine('DB_COLLATE', '');\n$table_prefix = 'wp_';\ndefine('WP_DEBUG', false);\ndefine('WP_ENVIRONMENT_TYPE', 'local');\ndefine('DISABLE_WP_CRON', true);\nif (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');\nrequire_once ABSPATH . 'wp-settings.php';\n"
            ),
        )
        .unwrap();
        php_in(
            dir.path(),
            r#"define('WP_INSTALLING', true); $_SERVER['HTTP_HOST'] = 'localhost'; require 'wp-load.php'; require_once ABSPATH . 'wp-admin/includes/upgrade.php'; wp_install('Test site', 'admin', 'admin@example.com', true, '', 'password');"#,
        );
        WordPress { dir, database }
    }

    /// The site's MariaDB database.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The installation's folder (the one with wp-config.php).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs PHP code with WordPress loaded; returns what it printed.
    pub fn php(&self, code: &str) -> String {
        php_in(
            self.path(),
            &format!("$_SERVER['HTTP_HOST'] = 'localhost'; require 'wp-load.php'; {code}"),
        )
    }

    /// Runs PHP code with WordPress loaded that prints one JSON value.
    pub fn json(&self, code: &str) -> Value {
        let out = self.php(code);
        serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("not JSON: {out}"))
    }
}

impl Drop for WordPress {
    fn drop(&mut self) {
        let _ = Command::new("php")
            .arg("-r")
            .arg(format!(
                r#"$m = new mysqli("{}", "root", ""); $m->query("DROP DATABASE IF EXISTS {}");"#,
                mysql_host(),
                self.database
            ))
            .status();
    }
}

/// The gsw PHP extension as PHP loads it, built once per test binary into
/// a target folder of its own (the outer `cargo test` may hold the main
/// one's lock), from this workspace's `php-ext`. It is built with the
/// caller's optimisation: debug for `cargo test`, release for `cargo bench`
/// (a benchmark measures the extension hosts run, not a debug build).
pub fn php_extension() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace.join("target"))
                .join("testkit-php-ext");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let release = !cfg!(debug_assertions);
            let status = Command::new(cargo)
                .args(["build", "--offline", "--lib"])
                .args(release.then_some("--release"))
                .arg("--manifest-path")
                .arg(workspace.join("php-ext/Cargo.toml"))
                .arg("--target-dir")
                .arg(&target)
                .status()
                .expect("running cargo build for the extension");
            assert!(status.success(), "building the PHP extension failed");
            let so = target
                .join(if release { "release" } else { "debug" })
                .join("libgsw_php_ext.so");
            assert!(so.exists(), "{} not built", so.display());
            so
        })
        .clone()
}
