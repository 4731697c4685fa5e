//! The connector plugin (`gsw-connector/` beside this crate), compiled in,
//! so the agent installs and the control plane serves the very connector
//! this build speaks to, with nothing to download or copy.

#![forbid(unsafe_code)]

use std::io::Write;

include!(concat!(env!("OUT_DIR"), "/connector_files.rs"));

/// The plugin's folder name under `wp-content/plugins`.
pub const PLUGIN_DIR: &str = "gsw-connector";

/// The connector as an installable plugin zip (every entry under
/// `gsw-connector/`, stored, with fixed times so the same build always
/// writes the same bytes), for Plugins > Add New > Upload or WP-CLI.
pub fn zip() -> zip::result::ZipResult<Vec<u8>> {
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

/// The plugin's version, from its header (`Version:`).
pub fn version() -> &'static str {
    CONNECTOR_FILES
        .iter()
        .find(|(name, _)| *name == "gsw-connector.php")
        .and_then(|(_, bytes)| std::str::from_utf8(bytes).ok())
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.trim_start_matches([' ', '*']).strip_prefix("Version:"))
        })
        .map(str::trim)
        .unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zip_holds_every_file_under_the_plugin_folder() {
        let bytes = zip().unwrap();
        let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
        assert_eq!(archive.len(), CONNECTOR_FILES.len());
        assert!(archive
            .file_names()
            .all(|name| name.is_ok_and(|n| n.starts_with("gsw-connector/"))));
        assert_eq!(zip().unwrap(), bytes, "the same build writes the same zip");
        assert!(
            version().chars().next().unwrap().is_ascii_digit(),
            "{}",
            version()
        );
    }
}
