//! Plugin and theme zips for tests, written as WordPress's upgraders
//! expect them (one folder holding everything), or not, for the tests that
//! check hostile ones are refused.

use std::io::Write;

/// A zip of (name, bytes) entries, stored; names are written as given, so
/// tests can make the hostile ones.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A plugin whose main file records its version in an option when activated.
pub fn plugin_zip(slug: &str, version: &str) -> Vec<u8> {
    let main = format!(
        "<?php\n/**\n * Plugin Name: {slug}\n * Version: {version}\n */\nregister_activation_hook(__FILE__, function () {{ update_option('{slug}_activated', '{version}'); }});\n"
    );
    zip_of(&[
        (&format!("{slug}/{slug}.php"), main.as_bytes()),
        (&format!("{slug}/readme.txt"), version.as_bytes()),
    ])
}

/// A small block theme (theme.json, one template) that also registers a
/// classic menu location, as hybrid themes do.
pub fn theme_zip(slug: &str, version: &str) -> Vec<u8> {
    let style = format!("/*\nTheme Name: {slug}\nVersion: {version}\nRequires at least: 6.1\n*/\n");
    let functions = "<?php\nadd_action('after_setup_theme', function () { register_nav_menus(['primary' => 'Primary', 'footer' => 'Footer']); });\n";
    let theme_json = r##"{"version": 2, "settings": {"color": {"palette": [{"slug": "base", "color": "#ffffff", "name": "Base"}]}}}"##;
    zip_of(&[
        (&format!("{slug}/style.css"), style.as_bytes()),
        (&format!("{slug}/functions.php"), functions.as_bytes()),
        (&format!("{slug}/theme.json"), theme_json.as_bytes()),
        (
            &format!("{slug}/templates/index.html"),
            b"<!-- wp:post-content /-->".as_slice(),
        ),
    ])
}
