//! The connector plugin applying bundles inside a real WordPress (Debian's
//! package, copied into a folder of the test's own, on a MariaDB database of
//! its own), through its command-line entry point as the agent runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use ed25519_dalek::SigningKey;
use gsw_protocol::bundle::{ItemKind, Manifest, Payload, SignedManifest, FORMAT};
use serde_json::{json, Value};
use uuid::Uuid;

mod common;
use common::extension;

const WORDPRESS: &str = "/usr/share/wordpress";

/// A WordPress site of this test's own, dropped with its database at the end.
struct Site {
    dir: tempfile::TempDir,
    database: String,
}

fn php_in(dir: &Path, code: &str) -> String {
    let output = Command::new("php")
        .current_dir(dir)
        .arg("-r")
        .arg(code)
        .output()
        .expect("php");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "php failed: {text}");
    text
}

impl Site {
    fn install() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("cp")
            .arg("-r")
            .arg(format!("{WORDPRESS}/."))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "copying WordPress from {WORDPRESS} (Debian package `wordpress`)"
        );
        let database = format!("gsw_wp_{}", Uuid::new_v4().simple());
        php_in(
            dir.path(),
            &format!(
                r#"$m = new mysqli("127.0.0.1", "root", ""); $m->query("CREATE DATABASE {database}") or die($m->error);"#
            ),
        );
        std::fs::write(
            dir.path().join("wp-config.php"),
            format!(
                "<?php\ndefine('DB_NAME', '{database}');\ndefine('DB_USER', 'root');\ndefine('DB_PASSWORD', '');\ndefine('DB_HOST', '127.0.0.1');\ndefine('DB_CHARSET', 'utf8mb4');\ndefine('DB_COLLATE', '');\n$table_prefix = 'wp_';\ndefine('WP_DEBUG', false);\nif (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');\nrequire_once ABSPATH . 'wp-settings.php';\n"
            ),
        )
        .unwrap();
        php_in(
            dir.path(),
            r#"define('WP_INSTALLING', true); $_SERVER['HTTP_HOST'] = 'localhost'; require 'wp-load.php'; require_once ABSPATH . 'wp-admin/includes/upgrade.php'; wp_install('Test site', 'admin', 'admin@example.com', true, '', 'password');"#,
        );
        let plugin = dir.path().join("wp-content/plugins/gsw-connector");
        let status = Command::new("cp")
            .arg("-r")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("connector/gsw-connector"))
            .arg(&plugin)
            .status()
            .unwrap();
        assert!(status.success());
        Site { dir, database }
    }

    fn apply(
        &self,
        bundle: &Path,
        key: &SigningKey,
        site: Uuid,
        last_applied: u64,
    ) -> (Value, i32) {
        let output = Command::new("php")
            .arg("-d")
            .arg(format!("extension={}", extension().display()))
            .arg(
                self.dir
                    .path()
                    .join("wp-content/plugins/gsw-connector/bin/apply.php"),
            )
            .args(["--bundle", &bundle.display().to_string()])
            .args([
                "--public-key",
                &base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes()),
            ])
            .args(["--site-id", &site.to_string()])
            .args(["--last-applied", &last_applied.to_string()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let report = serde_json::from_str(text.trim()).unwrap_or_else(|_| {
            panic!(
                "not a JSON report: {text} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (report, output.status.code().unwrap_or(-1))
    }

    /// Pages as WordPress's own functions show them.
    fn pages(&self) -> Value {
        let out = php_in(
            self.dir.path(),
            r#"$_SERVER['HTTP_HOST'] = 'localhost'; require 'wp-load.php';
            $out = [];
            foreach (get_posts(['post_type' => 'page', 'post_status' => 'any', 'numberposts' => -1, 'orderby' => 'ID', 'order' => 'ASC']) as $p) {
                $out[] = ['title' => $p->post_title, 'slug' => $p->post_name, 'key' => get_post_meta($p->ID, '_gsw_key', true),
                          'content' => $p->post_content, 'parent' => $p->post_parent ? get_post_meta($p->post_parent, '_gsw_key', true) : null,
                          'yoast_title' => get_post_meta($p->ID, '_yoast_wpseo_title', true), 'rank_math_description' => get_post_meta($p->ID, 'rank_math_description', true),
                          'front' => (int) get_option('page_on_front') === $p->ID, 'modified' => $p->post_modified_gmt];
            }
            echo json_encode($out);"#,
        );
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}"))
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = Command::new("php")
            .arg("-r")
            .arg(format!(r#"$m = new mysqli("127.0.0.1", "root", ""); $m->query("DROP DATABASE IF EXISTS {}");"#, self.database))
            .status();
    }
}

fn page(slug: &str, title: &str, parent: Option<&str>, body: &str) -> (ItemKind, String, Vec<u8>) {
    let item = json!({
        "key": format!("page:{slug}"), "type": "page", "slug": slug, "title": title,
        "parent_key": parent.map(|p| format!("page:{p}")), "status": "publish", "front_page": slug == "home",
        "content": format!("<!-- wp:paragraph -->\n<p>{body}</p>\n<!-- /wp:paragraph -->"),
        "seo": {"title": format!("{title} | Maison Lune"), "description": format!("About {title}.")},
    });
    (
        ItemKind::Content,
        format!("pages/{slug}.json"),
        serde_json::to_vec(&item).unwrap(),
    )
}

fn bundle(
    dir: &Path,
    name: &str,
    key: &SigningKey,
    site: Uuid,
    sequence: u64,
    items: Vec<(ItemKind, String, Vec<u8>)>,
    tamper: bool,
) -> PathBuf {
    let payload = Payload::build(items).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let manifest = Manifest {
        format: FORMAT,
        bundle_id: Uuid::now_v7(),
        site_id: site,
        sequence,
        created_at: now,
        expires_at: now + 3600,
        items: payload.items.clone(),
        policy: Default::default(),
    };
    let mut bytes = SignedManifest::sign(&manifest, key).encode(&payload.bytes);
    if tamper {
        *bytes.last_mut().unwrap() ^= 1;
    }
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_bundle_becomes_pages_once_and_a_tampered_one_changes_nothing() {
    let wp = Site::install();
    let key = SigningKey::from_bytes(&[11u8; 32]);
    let site = Uuid::now_v7();
    let items = vec![
        page("services", "Services", None, "Bread & cakes"),
        page("home", "Home", None, "Welcome to Maison Lune"),
        page(
            "wedding-cakes",
            "Wedding cakes",
            Some("services"),
            "<?php echo 'not code'; ?> Tiered cakes <script>alert(1)</script>",
        ),
    ];
    let first = bundle(
        wp.dir.path(),
        "1.bundle",
        &key,
        site,
        1,
        items.clone(),
        false,
    );
    let (report, code) = wp.apply(&first, &key, site, 0);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["status"], "applied");
    assert!(
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "applied"),
        "{report}"
    );

    let pages = wp.pages();
    let by_key = |k: &str| {
        pages
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["key"] == k)
            .cloned()
            .unwrap_or_else(|| panic!("{k} missing: {pages}"))
    };
    assert_eq!(by_key("page:home")["front"], true);
    assert_eq!(by_key("page:wedding-cakes")["parent"], "page:services");
    assert_eq!(
        by_key("page:services")["yoast_title"],
        "Services | Maison Lune"
    );
    assert_eq!(
        by_key("page:services")["rank_math_description"],
        "About Services."
    );
    let cakes = by_key("page:wedding-cakes")["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        cakes.contains("<!-- wp:paragraph -->"),
        "block delimiters survive filtering: {cakes}"
    );
    assert!(
        !cakes.contains("<script>"),
        "filtered as for a user without unfiltered_html: {cakes}"
    );
    assert!(
        !cakes.contains("<?php"),
        "PHP-looking text is not kept as PHP: {cakes}"
    );

    // The same content again (a newer bundle) changes nothing.
    let again = bundle(
        wp.dir.path(),
        "2.bundle",
        &key,
        site,
        2,
        items.clone(),
        false,
    );
    let (report, code) = wp.apply(&again, &key, site, 1);
    assert_eq!(code, 0, "{report}");
    assert!(
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "unchanged"),
        "{report}"
    );
    assert_eq!(wp.pages(), pages, "applying twice is a no-op");

    // A tampered bundle is refused before WordPress is touched.
    let mut changed = items.clone();
    changed[1] = page("home", "Hacked", None, "defaced");
    let tampered = bundle(wp.dir.path(), "3.bundle", &key, site, 3, changed, true);
    let (report, code) = wp.apply(&tampered, &key, site, 2);
    assert_eq!(code, 2, "{report}");
    assert_eq!(report["status"], "refused");
    assert!(
        report["error"].as_str().unwrap().contains("hash_mismatch"),
        "{report}"
    );
    assert_eq!(wp.pages(), pages, "a refused bundle changes nothing");
}
