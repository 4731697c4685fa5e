//! Shared by the extension's test binaries.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The extension as PHP loads it. `cargo test` builds only this crate's
/// rlib, so the cdylib is built here, once, into a target folder of the
/// tests' own (the outer build may still hold the main one's lock).
pub fn extension() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("php-ext");
            let status = Command::new(env!("CARGO"))
                .args(["build", "--offline", "--lib", "--manifest-path"])
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
                .arg("--target-dir")
                .arg(&target)
                .status()
                .expect("running cargo build for the extension");
            assert!(status.success(), "building the PHP extension failed");
            let so = target.join("debug/libgsw_php_ext.so");
            assert!(so.exists(), "{} not built", so.display());
            so
        })
        .clone()
}

// Each test binary uses part of the WordPress helpers.
#[allow(dead_code)]
pub mod site;
