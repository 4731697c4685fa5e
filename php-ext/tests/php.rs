//! The extension loaded into the machine's PHP, as the connector plugin
//! will load it: `php -d extension=<the .so>`.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use ed25519_dalek::SigningKey;
use gsw_protocol::bundle::{ItemKind, Manifest, Payload, SignedManifest, FORMAT};
use serde_json::Value;
use uuid::Uuid;

mod common;
use common::extension;

/// Runs PHP code with the extension and returns (stdout, success).
fn php(code: &str) -> (String, bool) {
    let output = Command::new("php")
        .arg("-n")
        .arg("-d")
        .arg(format!("extension={}", extension().display()))
        .arg("-r")
        .arg(code)
        .output()
        .expect("php is installed (Debian package php8.2-cli)");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (text, output.status.success())
}

struct Fixture {
    dir: tempfile::TempDir,
    key: SigningKey,
    site: Uuid,
}

impl Fixture {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            key: SigningKey::from_bytes(&[5u8; 32]),
            site: Uuid::now_v7(),
        }
    }

    fn public_key(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key.verifying_key().as_bytes())
    }

    fn write(&self, name: &str, sequence: u64, payload: &Payload, tamper: bool) -> PathBuf {
        let now = chrono_now();
        let manifest = Manifest {
            format: FORMAT,
            bundle_id: Uuid::now_v7(),
            site_id: self.site,
            sequence,
            created_at: now,
            expires_at: now + 3600,
            policy: Default::default(),
            items: payload.items.clone(),
        };
        let mut bytes = SignedManifest::sign(&manifest, &self.key).encode(&payload.bytes);
        if tamper {
            *bytes.last_mut().unwrap() ^= 1;
        }
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn open_code(&self, path: &Path, last_applied: u64) -> String {
        format!(
            r#"try {{ $b = gsw_bundle_open('{}', '{}', '{}', {last_applied}, 1048576);
                 foreach ($b['items'] as &$i) {{ $i['content'] = base64_encode($i['content']); }}
                 echo json_encode($b); }}
               catch (\Exception $e) {{ echo 'EXCEPTION: ', $e->getMessage(); }}"#,
            path.display(),
            self.public_key(),
            self.site
        )
    }
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn a_verified_bundle_reaches_php_as_arrays() {
    let f = Fixture::new();
    let binary: Vec<u8> = vec![0, 159, 146, 150, 255, b'\n'];
    let payload = Payload::build([
        (
            ItemKind::Content,
            "pages/home.json",
            br#"{"title":"Home"}"#.to_vec(),
        ),
        (ItemKind::Plugin, "form.zip", binary.clone()),
    ])
    .unwrap();
    let path = f.write("good.bundle", 3, &payload, false);
    let (out, ok) = php(&f.open_code(&path, 2));
    assert!(ok, "{out}");
    let value: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("not JSON: {out}"));
    assert_eq!(value["manifest"]["sequence"], 3);
    assert_eq!(value["manifest"]["site_id"], f.site.to_string());
    assert_eq!(value["items"][0]["kind"], "content");
    assert_eq!(value["items"][0]["path"], "pages/home.json");
    let engine = base64::engine::general_purpose::STANDARD;
    assert_eq!(
        engine
            .decode(value["items"][0]["content"].as_str().unwrap())
            .unwrap(),
        br#"{"title":"Home"}"#
    );
    assert_eq!(
        engine
            .decode(value["items"][1]["content"].as_str().unwrap())
            .unwrap(),
        binary,
        "binary content survives"
    );
    assert_eq!(value["items"][1]["size"], 6);
    assert_eq!(
        value["manifest"]["policy"],
        serde_json::json!({"unfiltered_html": false}),
        "an absent policy is the default"
    );
}

#[test]
fn zips_are_checked_from_php_and_refusals_are_exceptions() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.zip");
    std::fs::write(
        &good,
        gsw_testkit::packages::zip_of(&[("hello/hello.php", b"<?php"), ("hello/a/b.txt", b"b")]),
    )
    .unwrap();
    let bad = dir.path().join("bad.zip");
    std::fs::write(
        &bad,
        gsw_testkit::packages::zip_of(&[
            ("hello/hello.php", b"<?php"),
            ("hello/../../x.php", b"<?php"),
        ]),
    )
    .unwrap();
    let code = |path: &Path, limit: i64| {
        format!(
            r#"try {{ echo json_encode(gsw_zip_check('{}', {limit})); }} catch (\Exception $e) {{ echo 'EXCEPTION: ', $e->getMessage(); }}"#,
            path.display()
        )
    };
    let (out, ok) = php(&code(&good, 1 << 20));
    assert!(ok, "{out}");
    let value: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}"));
    assert_eq!(
        value,
        serde_json::json!({"folder": "hello", "entries": 2, "unpacked_bytes": 6})
    );
    for (path, limit, reason) in [
        (&bad, 1 << 20, "climbs out"),
        (&good, 3, "over the 3-byte limit"),
        (&dir.path().join("missing.zip"), 1 << 20, "cannot read"),
    ] {
        let (out, ok) = php(&code(path, limit));
        assert!(ok, "{out}");
        assert!(
            out.starts_with("EXCEPTION: gsw: ") && out.contains(reason),
            "{out}"
        );
    }
    let (out, _) = php(&code(&good, -1));
    assert!(out.contains("must not be negative"), "{out}");
}

#[test]
fn refused_bundles_are_php_exceptions_with_the_reason() {
    let f = Fixture::new();
    let payload = Payload::build([(ItemKind::Content, "a.json", b"{}".to_vec())]).unwrap();
    let tampered = f.write("tampered.bundle", 3, &payload, true);
    let (out, _) = php(&f.open_code(&tampered, 0));
    assert!(
        out.starts_with("EXCEPTION: gsw: bundle refused (hash_mismatch)"),
        "{out}"
    );

    let good = f.write("good.bundle", 3, &payload, false);
    let (out, _) = php(&f.open_code(&good, 3));
    assert!(
        out.starts_with("EXCEPTION: gsw: bundle refused (replay)"),
        "{out}"
    );

    let (out, _) = php(&format!(
        "try {{ gsw_bundle_open('{}', 'bm90IGEga2V5', '{}', 0, 100); }} catch (\\Exception $e) {{ echo 'EXCEPTION: ', $e->getMessage(); }}",
        good.display(),
        f.site
    ));
    assert!(
        out.starts_with("EXCEPTION: gsw: the public key must be 32 bytes"),
        "{out}"
    );
    let (out, _) = php(&format!(
        "try {{ gsw_bundle_open('/nonexistent', '{}', '{}', 0, 100); }} catch (\\Exception $e) {{ echo 'EXCEPTION: ', $e->getMessage(); }}",
        f.public_key(),
        f.site
    ));
    assert!(
        out.starts_with("EXCEPTION: gsw: cannot read /nonexistent"),
        "{out}"
    );
}

#[test]
fn block_markup_is_parsed_and_broken_markup_refused() {
    let (out, ok) = php(
        r#"echo json_encode(gsw_blocks_parse('<!-- wp:group --><div><!-- wp:heading {"level":1} --><h1>Hi</h1><!-- /wp:heading --></div><!-- /wp:group -->'));"#,
    );
    assert!(ok, "{out}");
    let blocks: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        blocks,
        serde_json::json!([{"name": "core/group", "depth": 0}, {"name": "core/heading", "depth": 1}])
    );
    let (out, _) = php(
        r#"try { gsw_blocks_parse('<!-- wp:paragraph --><p>x</p>'); } catch (\Exception $e) { echo 'EXCEPTION: ', $e->getMessage(); }"#,
    );
    assert_eq!(
        out,
        "EXCEPTION: gsw: invalid block markup: block core/paragraph is never closed"
    );
}

#[test]
fn content_hashes_match_the_rust_side() {
    let (out, ok) = php(r#"echo gsw_content_hash("Hello\0world");"#);
    assert!(ok, "{out}");
    assert_eq!(out, gsw_php_ext::content_hash(b"Hello\0world"));
}
