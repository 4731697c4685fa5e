//! Shared by the extension's test binaries.

use std::path::PathBuf;

/// The extension as PHP loads it, built once into a folder shared with the
/// agent's WordPress tests (`gsw_testkit::php_extension`).
pub fn extension() -> PathBuf {
    gsw_testkit::php_extension()
}

// Each test binary uses part of the WordPress helpers.
#[allow(dead_code)]
pub mod site;
