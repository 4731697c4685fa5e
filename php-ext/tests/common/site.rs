//! A real WordPress of a test's own (`gsw_testkit::WordPress`: Debian's
//! package in a temporary folder, on a MariaDB database of its own), and the
//! agent's side of the contract: signed bundles in, the connector's
//! command-line entry points run as the agent runs them.

use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use ed25519_dalek::SigningKey;
use gsw_protocol::bundle::{ItemKind, Manifest, Payload, Policy, SignedManifest, FORMAT};
use gsw_testkit::packages::zip_of;
use gsw_testkit::WordPress;
use serde_json::{json, Value};
use uuid::Uuid;

use super::extension;

/// One bundle item: kind, path inside the kind's folder, bytes.
pub type Item = (ItemKind, String, Vec<u8>);

/// A WordPress site (`gsw_testkit::WordPress`) with the connector copied
/// in, and the control plane's signing key for it.
pub struct Site {
    pub wp: WordPress,
    pub key: SigningKey,
    pub site_id: Uuid,
    /// Extra `php -d` settings the connector's commands run with (benchmarks).
    pub php_flags: Vec<String>,
    /// Whether PHP loads the gsw extension (true unless a test says otherwise).
    pub extension: bool,
    sequence: Cell<u64>,
}

impl Site {
    pub fn install() -> Self {
        let wp = WordPress::install();
        let plugin = wp.path().join("wp-content/plugins/gsw-connector");
        let status = Command::new("cp")
            .arg("-r")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("connector/gsw-connector"))
            .arg(&plugin)
            .status()
            .unwrap();
        assert!(status.success());
        Site {
            wp,
            key: SigningKey::from_bytes(&[11u8; 32]),
            site_id: Uuid::now_v7(),
            php_flags: Vec::new(),
            extension: true,
            sequence: Cell::new(0),
        }
    }

    /// `php` as the connector's commands run: the extension (unless
    /// switched off) and the site's flags.
    fn php(&self) -> Command {
        let mut command = self.php_without_flags();
        command.args(&self.php_flags);
        command
    }

    fn php_without_flags(&self) -> Command {
        let mut command = Command::new("php");
        if self.extension {
            command
                .arg("-d")
                .arg(format!("extension={}", extension().display()));
        }
        command
    }

    pub fn root(&self) -> &Path {
        self.wp.path()
    }

    pub fn snapshots(&self) -> PathBuf {
        self.root().join("gsw-snapshots")
    }

    pub fn public_key(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key.verifying_key().as_bytes())
    }

    /// Writes a signed bundle for this site; `tamper` flips its last byte.
    pub fn write_bundle(
        &self,
        sequence: u64,
        items: Vec<Item>,
        policy: Policy,
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
            site_id: self.site_id,
            sequence,
            created_at: now,
            expires_at: now + 3600,
            items: payload.items.clone(),
            policy,
        };
        let mut bytes = SignedManifest::sign(&manifest, &self.key).encode(&payload.bytes);
        if tamper {
            *bytes.last_mut().unwrap() ^= 1;
        }
        let path = self.root().join(format!("{sequence}.bundle"));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Runs `bin/apply.php` on a bundle file as the agent does.
    pub fn apply_file(&self, bundle: &Path, last_applied: u64, extra: &[&str]) -> (Value, i32) {
        let output = self
            .php()
            .arg(self.connector("apply"))
            .args(["--bundle", &bundle.display().to_string()])
            .args(["--public-key", &self.public_key()])
            .args(["--site-id", &self.site_id.to_string()])
            .args(["--last-applied", &last_applied.to_string()])
            .args(["--max-bytes", "67108864"])
            .args(["--snapshots", &self.snapshots().display().to_string()])
            .args(extra)
            .output()
            .unwrap();
        if std::env::var_os("GSW_PROFILE").is_some() {
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
        }
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let report = serde_json::from_str(text.trim()).unwrap_or_else(|_| {
            panic!(
                "not one JSON report: {text} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (report, output.status.code().unwrap_or(-1))
    }

    /// Starts `bin/apply.php --request-on-stdin` as the agent does, ahead
    /// of its request; hand it one with [`finish_on_stdin`](Self::finish_on_stdin).
    pub fn start_on_stdin(&self) -> std::process::Child {
        self.php()
            .arg(self.connector("apply"))
            .arg("--request-on-stdin")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Writes `input` to a started apply's stdin, closes it, and waits;
    /// returns its stdout and exit code (stderr too with `GSW_PROFILE`).
    pub fn finish_on_stdin(mut child: std::process::Child, input: &[u8]) -> (String, i32) {
        child.stdin.take().unwrap().write_all(input).unwrap();
        let output = child.wait_with_output().unwrap();
        if std::env::var_os("GSW_PROFILE").is_some() {
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
        }
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            output.status.code().unwrap_or(-1),
        )
    }

    /// Runs `bin/apply.php --request-on-stdin` with `input` on its stdin;
    /// returns its stdout and exit code.
    pub fn apply_on_stdin(&self, input: &[u8]) -> (String, i32) {
        Self::finish_on_stdin(self.start_on_stdin(), input)
    }

    /// The request the agent writes for a bundle file.
    pub fn request_for(&self, bundle: &Path, last_applied: u64) -> Value {
        json!({
            "bundle": bundle, "public-key": self.public_key(), "site-id": self.site_id.to_string(),
            "last-applied": last_applied, "max-bytes": 67108864, "snapshots": self.snapshots(),
        })
    }

    /// Signs the site's next bundle and applies it.
    pub fn deploy_with(&self, items: Vec<Item>, policy: Policy, extra: &[&str]) -> (Value, i32) {
        let sequence = self.sequence.get() + 1;
        self.sequence.set(sequence);
        let bundle = self.write_bundle(sequence, items, policy, false);
        self.apply_file(&bundle, sequence - 1, extra)
    }

    /// The next bundle, default policy; asserts it applied with exit 0.
    pub fn deploy(&self, items: Vec<Item>) -> Value {
        let (report, code) = self.deploy_with(items, Policy::default(), &[]);
        assert_eq!(code, 0, "{report:#}");
        assert_eq!(report["status"], "applied", "{report:#}");
        report
    }

    /// Rolls back to the state before `sequence`; asserts it applied.
    pub fn rollback(&self, sequence: u64) -> Value {
        let item = json!({"deployment_id": Uuid::now_v7(), "sequence": sequence});
        self.deploy(vec![(
            ItemKind::Rollback,
            "rollback.json".into(),
            serde_json::to_vec(&item).unwrap(),
        )])
    }

    /// The last sequence signed for this site.
    pub fn sequence(&self) -> u64 {
        self.sequence.get()
    }

    pub fn next_sequence(&self) -> u64 {
        self.sequence.set(self.sequence.get() + 1);
        self.sequence.get()
    }

    pub fn connector(&self, command: &str) -> PathBuf {
        self.root().join(format!(
            "wp-content/plugins/gsw-connector/bin/{command}.php"
        ))
    }

    /// Runs `bin/inventory.php` or `bin/drift.php`; returns its JSON and exit code.
    pub fn command(&self, name: &str) -> (Value, i32) {
        let output = self.php().arg(self.connector(name)).output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let value = serde_json::from_str(text.trim()).unwrap_or_else(|_| {
            panic!(
                "not one JSON object: {text} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (value, output.status.code().unwrap_or(-1))
    }

    /// Runs PHP inside this WordPress (as its administrator); the code
    /// `return`s a value, which comes back as JSON.
    pub fn wp(&self, code: &str) -> Value {
        let script = format!(
            "<?php\n$_SERVER['HTTP_HOST'] = 'localhost';\nrequire '{root}/wp-load.php';\nrequire_once ABSPATH . 'wp-admin/includes/plugin.php';\nwp_set_current_user(1);\n$gsw_out = (function () {{\n{code}\n}})();\necho \"\\n@@\", json_encode($gsw_out, JSON_UNESCAPED_SLASHES);\n",
            root = self.root().display()
        );
        let mut file = tempfile::Builder::new().suffix(".php").tempfile().unwrap();
        file.write_all(script.as_bytes()).unwrap();
        let output = self.php_without_flags().arg(file.path()).output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "php failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json = text.rsplit_once("\n@@").map(|(_, j)| j).unwrap_or("");
        serde_json::from_str(json).unwrap_or_else(|_| panic!("{text}"))
    }
}

/// A page item with paragraph markup and SEO fields.
pub fn page(slug: &str, title: &str, parent: Option<&str>, body: &str) -> Item {
    content(json!({
        "key": format!("page:{slug}"), "type": "page", "slug": slug, "title": title,
        "parent_key": parent.map(|p| format!("page:{p}")), "status": "publish", "front_page": slug == "home",
        "content": format!("<!-- wp:paragraph -->\n<p>{body}</p>\n<!-- /wp:paragraph -->"),
        "seo": {"title": format!("{title} | Maison Lune"), "description": format!("About {title}.")},
    }))
}

/// A content item from its JSON: `pages/<slug>.json` or `posts/<slug>.json` by its type.
pub fn content(item: Value) -> Item {
    let folder = if item["type"] == "post" {
        "posts"
    } else {
        "pages"
    };
    (
        ItemKind::Content,
        format!("{folder}/{}.json", item["slug"].as_str().unwrap()),
        serde_json::to_vec(&item).unwrap(),
    )
}

/// `content/navigation.json` linking to pages by slug.
pub fn navigation(name: &str, slugs: &[&str]) -> Item {
    let items: Vec<Value> = slugs
        .iter()
        .map(|s| json!({"key": format!("page:{s}"), "label": s.to_uppercase(), "path": format!("/{s}/")}))
        .collect();
    (
        ItemKind::Content,
        "navigation.json".into(),
        serde_json::to_vec(&json!({"name": name, "items": items})).unwrap(),
    )
}

/// A folder zipped the way readme.txt says: every entry under `name/`.
pub fn folder_zip(dir: &Path, name: &str) -> Vec<u8> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = format!("{prefix}/{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &name, out);
            } else {
                out.push((name, std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, name, &mut files);
    let entries: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    zip_of(&entries)
}

/// A page of realistic size (about 4 KB of block markup: cover, columns,
/// lists, buttons) for benchmarks.
pub fn realistic_page(i: usize) -> Value {
    let slug = format!("page-{i}");
    let mut blocks = format!(
        "<!-- wp:cover {{\"dimRatio\":50,\"minHeight\":420}} -->\n<div class=\"wp-block-cover\" style=\"min-height:420px\"><span aria-hidden=\"true\" class=\"wp-block-cover__background has-background-dim\"></span><div class=\"wp-block-cover__inner-container\"><!-- wp:heading {{\"level\":1}} -->\n<h1>Service {i}: bread, pastry and cakes</h1>\n<!-- /wp:heading -->\n<!-- wp:paragraph -->\n<p>Maison Lune bakes every morning in Lyon. This page tells you about service {i}, what it costs and how to order.</p>\n<!-- /wp:paragraph --></div></div>\n<!-- /wp:cover -->\n"
    );
    for column in 0..3 {
        blocks.push_str(&format!(
            "<!-- wp:columns -->\n<div class=\"wp-block-columns\"><!-- wp:column -->\n<div class=\"wp-block-column\"><!-- wp:heading {{\"level\":3}} -->\n<h3>Part {column} of service {i}</h3>\n<!-- /wp:heading -->\n<!-- wp:paragraph -->\n<p>Our bakers start at four. Sourdough rests for thirty-six hours, croissants are laminated by hand and cakes are made to order for weddings, birthdays and office parties. <strong>Order two days ahead</strong> and collect in the shop or have it delivered anywhere in the city.</p>\n<!-- /wp:paragraph --></div>\n<!-- /wp:column -->\n<!-- wp:column -->\n<div class=\"wp-block-column\"><!-- wp:list -->\n<ul><li>Organic flour from the Monts du Lyonnais</li><li>Butter from Charentes-Poitou</li><li>No additives, no frozen dough</li></ul>\n<!-- /wp:list --></div>\n<!-- /wp:column --></div>\n<!-- /wp:columns -->\n"
        ));
    }
    blocks.push_str("<!-- wp:buttons -->\n<div class=\"wp-block-buttons\"><!-- wp:button -->\n<div class=\"wp-block-button\"><a class=\"wp-block-button__link wp-element-button\" href=\"/contact/\">Order now</a></div>\n<!-- /wp:button --></div>\n<!-- /wp:buttons -->");
    json!({
        "key": format!("page:{slug}"), "type": "page", "slug": slug, "title": format!("Service {i}"),
        "parent_key": null, "status": "publish", "front_page": i == 0, "menu_order": i,
        "content": blocks,
        "seo": {"title": format!("Service {i} | Maison Lune"), "description": format!("Service {i} of Maison Lune, the family bakery in Lyon.")},
    })
}
