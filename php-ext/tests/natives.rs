//! The connector's PHP implementations of the extension's functions
//! (`GSW_Native`'s fallbacks: `GSW_Bundle`, `GSW_Blocks`, `GSW_Zip_Check`)
//! against the Rust they port, on the same inputs: the shared bundle
//! vectors, a few hundred generated block documents and zips (valid,
//! hostile and broken), and the facade beside the loaded extension.
//! Each run is one `php -n` process over a folder of inputs (`-n`: no
//! php.ini, so nothing but PHP's built-in modules, as on a bare host).

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use ed25519_dalek::SigningKey;
use gsw_php_ext::zipcheck;
use gsw_protocol::bundle::{ItemKind, Manifest, Payload, SignedManifest, FORMAT};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use uuid::Uuid;

mod common;
use common::extension;

fn harness() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/php/natives.php")
}

/// Runs the harness with `args` under plain `php -n` (or with the extension) and reads its JSON.
fn run_harness(with_extension: bool, args: &[&str]) -> Value {
    let mut command = Command::new("php");
    command.arg("-n");
    if with_extension {
        command
            .arg("-d")
            .arg(format!("extension={}", extension().display()));
    }
    let output = command
        .arg(harness())
        .args(args)
        .output()
        .expect("php is installed (Debian package php8.2-cli)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn the_php_verifier_answers_every_shared_vector_as_rust_does() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol/tests/vectors");
    let index: Value =
        serde_json::from_slice(&std::fs::read(folder.join("vectors.json")).unwrap()).unwrap();
    let answers = run_harness(false, &["vectors", folder.to_str().unwrap()]);
    let vectors = index["vectors"].as_array().unwrap();
    assert!(vectors.len() > 90, "the vectors are all there");
    let mut refusals = std::collections::BTreeSet::new();
    for vector in vectors {
        let name = vector["name"].as_str().unwrap();
        let expected = &vector["expected"];
        let answer = &answers[name];
        let malformed_manifest = expected["refused"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("manifest is malformed: "));
        if malformed_manifest {
            // serde_json's words (line, column) are not the PHP parser's; the refusal is the same.
            assert_eq!(answer["refused"]["code"], "malformed", "{name}: {answer}");
            let message = answer["refused"]["message"].as_str().unwrap_or_default();
            assert!(
                message.starts_with("manifest is malformed: "),
                "{name}: {message}"
            );
        } else {
            assert_eq!(answer, expected, "{name} ({})", vector["about"]);
        }
        if let Some(code) = expected["refused"]["code"].as_str() {
            refusals.insert(code.to_owned());
        }
    }
    assert_eq!(
        refusals.len(),
        13,
        "every BundleError code is exercised: {refusals:?}"
    );
}

/// What `gsw_blocks_parse` answers, as the harness writes outcomes.
fn rust_blocks(markup: &str) -> Value {
    match gsw_protocol::blocks::parse(markup) {
        Ok(blocks) => {
            json!({"ok": blocks.iter().map(|b| json!({"name": b.name, "depth": b.depth})).collect::<Vec<_>>()})
        }
        Err(e) => {
            json!({"error": "Exception", "message": format!("gsw: invalid block markup: {e}")})
        }
    }
}

const BLOCK_NAMES: &[&str] = &[
    "paragraph",
    "core/group",
    "acme/map",
    "a",
    "my-plugin/x_y",
    "h2o",
    "Para",
    "1abc",
    "a/b/c",
    "a/",
    "/a",
    "ns/Local",
    "é",
    "a\u{301}",
    "a\"b",
    "a\\b",
    "a\u{200b}b",
    "a\0b",
    "a\u{7f}",
    "x{",
    "wp",
    "a/1",
    "a-",
    "a_/b",
];

const ATTRS: &[&str] = &[
    "",
    "{}",
    "{\"a\":1}",
    "{\"level\":2,\"align\":\"wide\"}",
    "[1]",
    "{not json}",
    "\"text\"",
    "null",
    "{\"a\":1e400}",
    "{\"a\":-1e400}",
    "{\"a\":-0}",
    "{\"a\":1.5e308}",
    "{\"a\":0e99999}",
    "{\"a\":123456789012345678901234567890}",
    "{\"a\":\"\\ud800\"}",
    "{\"a\":\"\\udc00x\"}",
    "{\"a\":\"\\ud83d\\ude00\"}",
    "{\"a\":01}",
    "{\"a\":1,}",
    "{\"a\":1} {\"b\":2}",
    "{\"\":1}",
    "{\"a\":true,\"a\":false}",
    "{\"a\":\"\\u0000\"}",
    "{\"a\":\"tab\there\"}",
    "{\"a\":.5}",
    "{\"a\":\"é<>&\"}",
    "{'a':1}",
    "{\"a\":[1,{\"b\":null}]}",
    "{\"a\":\"\\x\"}",
    "{\"a\":NaN}",
    "{\"a\":\"-->\"}",
    "{\"a\" : 1 }",
    "{\u{a0}\"a\":1}",
];

const SPACE: &[&str] = &[
    " ", "", "\n", "\t", "  ", "\u{a0}", "\u{3000}", "\u{85}", "\u{200b}", "\r\n", "\u{2028}",
];

const TEXT: &[&str] = &[
    "<p>x</p>",
    "é",
    "<!-- plain -->",
    "<!--",
    "-->",
    "<!-- wp",
    "<!---->",
    "<!-- -->",
    "<!-- /wp:",
    "wp:",
    "/",
    "{",
    "}",
    "<!--wp:a-->",
    "<!-- wp:a/-->",
    "<!-->",
    "<!--->",
    "\n",
    "<div class=\"x\">",
    "</div>",
    "😀",
    "<!-- wp:-->",
    "<!-- /wp:a /-->",
    "<!-- /wp:a {} -->",
];

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from.choose(rng).expect("not empty")
}

/// Nested JSON `depth` levels deep (serde_json reads 127, not 128).
fn deep_attrs(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

/// A well-formed document of valid names and attributes, `depth` levels at most.
fn well_formed(rng: &mut StdRng, depth: usize, out: &mut String) {
    for _ in 0..rng.gen_range(0..4) {
        let name = pick(rng, &BLOCK_NAMES[..6]);
        let attrs = if rng.gen_bool(0.5) {
            pick(rng, &ATTRS[..4])
        } else {
            ""
        };
        let space = pick(rng, &SPACE[..5]);
        out.push_str(pick(rng, &TEXT[..3]));
        if depth == 0 || rng.gen_bool(0.3) {
            out.push_str(&format!("<!--{space}wp:{name} {attrs} /-->"));
        } else {
            out.push_str(&format!("<!-- wp:{name}{space}{attrs}{space}-->"));
            well_formed(rng, depth - 1, out);
            out.push_str(&format!("<!--{space}/wp:{name}{space}-->"));
        }
    }
}

/// Any sequence of delimiters, names, attributes, white space and text.
fn soup(rng: &mut StdRng) -> String {
    let mut out = String::new();
    for _ in 0..rng.gen_range(0..10) {
        let (name, attrs, space) = (pick(rng, BLOCK_NAMES), pick(rng, ATTRS), pick(rng, SPACE));
        let piece = match rng.gen_range(0..5) {
            0 => format!("<!--{space}wp:{name}{space}{attrs}{space}-->"),
            1 => format!("<!--{space}/wp:{name}{space}-->"),
            2 => format!("<!--{space}wp:{name}{space}{attrs}{space}/{space}-->"),
            3 => format!("<!-- /wp:{name} {attrs}-->"),
            _ => pick(rng, TEXT).to_owned(),
        };
        out.push_str(&piece);
    }
    out
}

fn block_documents() -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(0x6273_7721);
    let mut documents = vec![
        String::new(),
        format!("<!-- wp:a {} /-->", deep_attrs(127)),
        format!("<!-- wp:a {} /-->", deep_attrs(128)),
        format!(
            "<!-- wp:a {{\"a\":{}1{}}} /-->",
            "[".repeat(126),
            "]".repeat(126)
        ),
        format!(
            "<!-- wp:a {{\"a\":{}1{}}} /-->",
            "[".repeat(127),
            "]".repeat(127)
        ),
    ];
    for _ in 0..300 {
        let mut document = String::new();
        well_formed(&mut rng, 3, &mut document);
        // Now and then one change breaks it, or does not.
        if rng.gen_bool(0.3) && !document.is_empty() {
            let at = (0..=document.len())
                .filter(|&i| document.is_char_boundary(i))
                .collect::<Vec<_>>()
                .choose(&mut rng)
                .copied()
                .unwrap_or(0);
            document.insert_str(at, &soup(&mut rng));
        }
        documents.push(document);
    }
    for _ in 0..300 {
        documents.push(soup(&mut rng));
    }
    documents
}

#[test]
fn the_php_block_grammar_accepts_and_refuses_what_rust_does() {
    let dir = tempfile::tempdir().unwrap();
    let documents = block_documents();
    for (i, document) in documents.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i:04}.txt")), document).unwrap();
    }
    let not_utf8 = b"<!-- wp:a --><p>\xff</p><!-- /wp:a -->";
    std::fs::write(dir.path().join("not-utf8.txt"), not_utf8).unwrap();
    let answers = run_harness(false, &["blocks", dir.path().to_str().unwrap()]);
    let (mut accepted, mut refused) = (0, 0);
    for (i, document) in documents.iter().enumerate() {
        let expected = rust_blocks(document);
        if expected.get("ok").is_some() {
            accepted += 1;
        } else {
            refused += 1;
        }
        assert_eq!(
            answers[format!("{i:04}.txt")],
            expected,
            "document {document:?}"
        );
    }
    assert!(
        accepted > 150 && refused > 150,
        "both outcomes are exercised: {accepted} accepted, {refused} refused"
    );
    // The extension takes a string argument: bytes that are not UTF-8 are a TypeError there too.
    assert_eq!(
        answers["not-utf8.txt"],
        json!({"error": "TypeError", "message": "Invalid value given for argument `markup`."})
    );
}

/// One entry of a hand-written stored zip: names as bytes (not UTF-8 too),
/// and everything a hostile archive can lie about.
#[derive(Clone)]
struct Entry {
    name: Vec<u8>,
    local_name: Option<Vec<u8>>,
    data: Vec<u8>,
    mode: u32,
    flags: u16,
    size: Option<u32>,
    extra: Vec<u8>,
}

fn entry(name: &[u8], data: &[u8]) -> Entry {
    Entry {
        name: name.to_vec(),
        local_name: None,
        data: data.to_vec(),
        mode: 0o100_644,
        flags: 0,
        size: None,
        extra: Vec::new(),
    }
}

/// A stored zip; `count` overrides the end record's entry count, `comment` trails it.
fn write_zip(entries: &[Entry], count: Option<u16>, comment: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        let local_name = e.local_name.as_deref().unwrap_or(&e.name);
        let size = e.size.unwrap_or(e.data.len() as u32);
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0]);
        out.extend_from_slice(&e.flags.to_le_bytes());
        out.extend_from_slice(&[0; 10]);
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(local_name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(local_name);
        out.extend_from_slice(&e.data);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 3, 20, 0]);
        central.extend_from_slice(&e.flags.to_le_bytes());
        central.extend_from_slice(&[0; 10]);
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        central.extend_from_slice(&(e.extra.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 6]); // comment, disk, internal
        central.extend_from_slice(&(e.mode << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(&e.name);
        central.extend_from_slice(&e.extra);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    let count = count.unwrap_or(entries.len() as u16);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    out.extend_from_slice(comment);
    out
}

const ZIP_NAMES: &[&[u8]] = &[
    b"hello/",
    b"hello/hello.php",
    b"hello/inc/a.php",
    b"hello/readme.txt",
    b"hello/\xc3\xa9.php",
    b"__MACOSX/hello/._hello.php",
    b"__MACOSX/",
    b"other/b.php",
    b"../evil.php",
    b"/tmp/evil.php",
    b"hello/../../x.php",
    b"hello\\..\\x.php",
    b"C:/x.php",
    b"hello//x.php",
    b"hello/./x.php",
    b"evil.php",
    b".hidden/x.php",
    b"hello/x\0.php",
    b"hello/\xc2\x85.php",
    b"h\xc3\xa9llo/a.php",
    b"hello/..",
    b"hello/a\"b.php",
    b"hello/\xff.php",
    b"hello/\xe2\x80\x8b.php",
    b"",
    b"hello",
    b"hello/a\x7f",
    b"hel lo/a.php",
    b"hello/\xcc\x81",
];

fn random_entry(rng: &mut StdRng) -> Entry {
    let mut e = entry(
        ZIP_NAMES.choose(rng).unwrap(),
        &vec![b'x'; rng.gen_range(0..40)],
    );
    match rng.gen_range(0..14) {
        0 => e.mode = 0o120_777,
        1 => e.flags = 1,
        2 => e.local_name = Some(b"../a.php".to_vec()),
        3 => e.size = Some(u32::MAX),
        4 => e.size = Some(rng.gen_range(0..5000)),
        5 => e.extra = vec![0u8; rng.gen_range(1..8)],
        _ => {}
    }
    e
}

fn zips() -> Vec<Vec<u8>> {
    use gsw_testkit::packages::{plugin_zip, theme_zip, zip_of};
    let mut rng = StdRng::seed_from_u64(0x7a69_7021);
    let mut zips = vec![
        plugin_zip("hello-gsw", "1.0"),
        theme_zip("gsw-theme", "2.0"),
        zip_of(&[
            ("hello/hello.php", b"<?php"),
            ("hello/../../x.php", b"<?php"),
        ]),
        zip_of(&[("hello/a.php", b""), ("other/b.php", b"")]),
        zip_of(&[("evil.php", b"<?php")]),
        zip_of(&[("hello/a.php", b"1"), ("__MACOSX/hello/._a.php", b"2")]),
        Vec::new(),
        b"PK\x05\x06".to_vec(),
        b"not a zip at all, just text".to_vec(),
        write_zip(&[], None, b""),
        write_zip(&[entry(b"hello/a.php", b"1")], Some(2), b""),
        write_zip(&[entry(b"hello/a.php", b"1")], Some(u16::MAX), b""),
        write_zip(
            &[entry(b"hello/a.php", b"1")],
            None,
            b"a comment PK\x05\x06 inside",
        ),
        write_zip(
            &[entry(b"hello/a.php", b"1"), entry(b"hello/a.php", b"2")],
            None,
            b"",
        ),
    ];
    let mut spanned = write_zip(&[entry(b"hello/a.php", b"1")], None, b"");
    let at = spanned.len() - 22 + 4;
    spanned[at] = 1;
    zips.push(spanned);
    // A zip after other bytes (a self-extractor's stub): offsets no longer point at headers.
    let mut prefixed = b"#!/bin/sh\nexit 0\n".to_vec();
    prefixed.extend(write_zip(&[entry(b"hello/a.php", b"1")], None, b""));
    zips.push(prefixed);
    for _ in 0..400 {
        let mut entries = vec![entry(b"hello/", b"")];
        for _ in 0..rng.gen_range(0..5) {
            entries.push(if rng.gen_bool(0.5) {
                entry(ZIP_NAMES[rng.gen_range(1..5)], b"<?php")
            } else {
                random_entry(&mut rng)
            });
        }
        entries.shuffle(&mut rng);
        let comment: &[u8] = if rng.gen_bool(0.1) {
            b"PK\x05\x06 a trap"
        } else {
            b""
        };
        let mut zip = write_zip(&entries, None, comment);
        match rng.gen_range(0..10) {
            0 => zip.truncate(rng.gen_range(0..zip.len())),
            1 => {
                let at = rng.gen_range(0..zip.len());
                zip[at] ^= 1 << rng.gen_range(0..8);
            }
            2 => zip.extend_from_slice(b"trailing"),
            _ => {}
        }
        zips.push(zip);
    }
    zips
}

/// What `gsw_zip_check` answers for these bytes.
fn rust_zip(bytes: &[u8], limit: u64) -> Value {
    match zipcheck::check(bytes, limit) {
        Ok(z) => {
            json!({"ok": {"folder": z.folder, "entries": z.entries, "unpacked_bytes": z.unpacked_bytes}})
        }
        Err(e) => json!({"error": "Exception", "message": format!("gsw: zip refused: {e}")}),
    }
}

#[test]
fn the_php_zip_check_refuses_and_passes_what_rust_does() {
    let dir = tempfile::tempdir().unwrap();
    let zips = zips();
    for (i, zip) in zips.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i:04}.zip")), zip).unwrap();
    }
    for limit in [1u64 << 20, 100] {
        let answers = run_harness(
            false,
            &["zips", dir.path().to_str().unwrap(), &limit.to_string()],
        );
        let (mut passed, mut refused) = (0, 0);
        for (i, zip) in zips.iter().enumerate() {
            let expected = rust_zip(zip, limit);
            if expected.get("ok").is_some() {
                passed += 1;
            } else {
                refused += 1;
            }
            assert_eq!(
                answers[format!("{i:04}.zip")],
                expected,
                "zip {i} at limit {limit}"
            );
        }
        assert!(
            passed > 40 && refused > 100,
            "limit {limit}: {passed} passed, {refused} refused"
        );
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn the_facade_gives_the_same_results_and_messages_as_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let public_key =
        base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes());
    let site = Uuid::now_v7();
    let payload = Payload::build([
        (
            ItemKind::Content,
            "pages/home.json",
            br#"{"title":"Home"}"#.to_vec(),
        ),
        (
            ItemKind::Plugin,
            "form.zip",
            vec![0, 159, 146, 150, 255, b'\n'],
        ),
        (ItemKind::Media, "images/empty.png", Vec::new()),
    ])
    .unwrap();
    let write = |name: &str, sequence: u64, unfiltered: bool, tamper: bool| {
        let manifest = Manifest {
            format: FORMAT,
            bundle_id: Uuid::now_v7(),
            site_id: site,
            sequence,
            created_at: now(),
            expires_at: now() + 3600,
            policy: gsw_protocol::bundle::Policy {
                unfiltered_html: unfiltered,
            },
            items: payload.items.clone(),
        };
        let mut bytes = SignedManifest::sign(&manifest, &key).encode(&payload.bytes);
        if tamper {
            *bytes.last_mut().unwrap() ^= 1;
        }
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let good = write("good.bundle", 7, false, false);
    let loose = write("loose.bundle", u64::MAX - 1, true, false);
    let tampered = write("tampered.bundle", 7, false, true);
    let zip = dir.path().join("plugin.zip");
    std::fs::write(&zip, gsw_testkit::packages::plugin_zip("hello", "1.0")).unwrap();
    let zip = zip.to_str().unwrap();
    let hostile = dir.path().join("hostile.zip");
    std::fs::write(
        &hostile,
        gsw_testkit::packages::zip_of(&[("hello/a.php", b""), ("hello/../../b.php", b"")]),
    )
    .unwrap();
    let hostile = hostile.to_str().unwrap();
    let folder = dir.path().to_str().unwrap();
    let site = site.to_string();
    let braced_site = format!("{{{}}}", site.to_uppercase());
    let spaced_key = format!(" {public_key}\n");
    let calls = json!([
        ["bundle_open", [good, public_key, site, 6, 1 << 20]],
        ["bundle_open", [good, spaced_key, braced_site, 6, 1 << 20]],
        ["bundle_open", [loose, public_key, site, 6, 1 << 20]],
        ["bundle_open", [good, public_key, site, 7, 1 << 20]],
        ["bundle_open", [tampered, public_key, site, 0, 1 << 20]],
        ["bundle_open", [good, public_key, Uuid::now_v7().to_string(), 0, 1 << 20]],
        ["bundle_open", [good, public_key, site, 0, 100]],
        ["bundle_open", [good, "bm90IGEga2V5", site, 0, 1 << 20]],
        ["bundle_open", [good, base64::engine::general_purpose::STANDARD.encode([0xffu8; 32]), site, 0, 1 << 20]],
        ["bundle_open", [good, public_key, "not-a-uuid", 0, 1 << 20]],
        ["bundle_open", [format!("{folder}/missing.bundle"), public_key, site, 0, 1 << 20]],
        ["bundle_open", [folder, public_key, site, 0, 1 << 20]],
        ["bundle_open", [good, public_key, site, -1, 1 << 20]],
        ["bundle_open", [good, public_key, site, 0, -1]],
        ["blocks_parse", ["<!-- wp:group --><div><!-- wp:heading {\"level\":1} --><h1>Hi</h1><!-- /wp:heading --></div><!-- /wp:group -->"]],
        ["blocks_parse", ["<!-- wp:paragraph --><p>x</p>"]],
        ["blocks_parse", [{"base64": base64::engine::general_purpose::STANDARD.encode(b"<!-- wp:a\xff /-->")}]],
        ["content_hash", [{"base64": base64::engine::general_purpose::STANDARD.encode(b"Hello\0world\xff")}]],
        ["content_hash", [""]],
        ["zip_check", [zip, 1 << 20]],
        ["zip_check", [zip, 3]],
        ["zip_check", [hostile, 1 << 20]],
        ["zip_check", [format!("{folder}/missing.zip"), 1 << 20]],
        ["zip_check", [folder, 1 << 20]],
        ["zip_check", [zip, -1]],
    ]);
    let calls_file = dir.path().join("calls.json");
    std::fs::write(&calls_file, calls.to_string()).unwrap();
    let results = run_harness(true, &["facade", calls_file.to_str().unwrap()]);
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), calls.as_array().unwrap().len());
    // A 32-byte string that is no valid Ed25519 key (not canonical): the
    // extension reads it and refuses the bundle's signature; libsodium,
    // stricter, refuses the key. Both refuse; that is the one difference.
    let weak_key = 8;
    assert_eq!(
        results[weak_key]["php"]["message"],
        "gsw: the public key is not an Ed25519 key"
    );
    assert!(results[weak_key]["extension"]["message"]
        .as_str()
        .unwrap()
        .contains("(bad_signature)"));
    for result in results {
        let i = result["call"].as_u64().unwrap() as usize;
        if i != weak_key {
            assert_eq!(result["php"], result["extension"], "{}", calls[i]);
        }
    }
    // The cases above reach what they are meant to (not all one refusal).
    let outcome = |i: usize| results[i]["php"].to_string();
    assert!(outcome(0).contains("\"sequence\":7"), "{}", outcome(0));
    assert!(
        outcome(2).contains("\"sequence\":-2") && outcome(2).contains("\"unfiltered_html\":true"),
        "{}",
        outcome(2)
    );
    assert!(outcome(3).contains("(replay)"), "{}", outcome(3));
    assert!(outcome(4).contains("(hash_mismatch)"), "{}", outcome(4));
    assert!(outcome(5).contains("(wrong_site)"), "{}", outcome(5));
    assert!(
        outcome(6).contains("gsw: bundle refused: bundle is"),
        "{}",
        outcome(6)
    );
    assert!(
        outcome(20).contains("over the 3-byte limit"),
        "{}",
        outcome(20)
    );
    assert!(outcome(21).contains("climbs out"), "{}", outcome(21));
}
