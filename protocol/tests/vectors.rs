//! The shared bundle vectors: bundles, valid and each kind of invalid, with
//! what a verifier must answer for each, in `tests/vectors/` (committed).
//! This test holds the Rust verifier to them; `php-ext/tests/natives.rs`
//! holds the connector's PHP verifier (`GSW_Bundle`) to the same files.
//!
//! The vectors are generated here, deterministically (a fixed key, fixed
//! UUIDs and clock): the test fails when the committed files differ from
//! what it generates, and `GSW_TEST_UPDATE_VECTORS=1` rewrites them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use gsw_protocol::bundle::{
    self, Expectations, ItemKind, Manifest, Payload, Policy, SignedManifest, FORMAT, MAGIC,
    MAX_CLOCK_SKEW_SECS, MAX_MANIFEST_BYTES, SIGNING_CONTEXT,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const NOW: i64 = 1_800_000_000;
const LAST_APPLIED: u64 = 4;
const LIMIT: u64 = 1 << 20;
const SITE: Uuid = Uuid::from_u128(0x0190_f3a2_7b4c_7d1e_8f00_1122_3344_5566);
const BUNDLE: Uuid = Uuid::from_u128(0x0190_f3a2_7b4c_7d1e_9a00_aabb_ccdd_eeff);
const OTHER_SITE: Uuid = Uuid::from_u128(0x0190_f3a2_7b4c_7d1e_8f00_0000_0000_0001);

fn key() -> SigningKey {
    SigningKey::from_bytes(&[0x5a; 32])
}

fn other_key() -> SigningKey {
    SigningKey::from_bytes(&[0xa5; 32])
}

/// One vector: the bundle's bytes, what the receiver expects, and the
/// answer a verifier must give (`None`: it verifies).
struct Vector {
    name: &'static str,
    about: &'static str,
    bytes: Vec<u8>,
    expect: Expectations,
    code: Option<&'static str>,
}

fn expectations() -> Expectations {
    Expectations {
        site_id: SITE,
        last_applied: LAST_APPLIED,
        now: NOW,
        max_bundle_bytes: LIMIT,
        max_unpacked_bytes: LIMIT,
    }
}

fn payload() -> Payload {
    Payload::build([
        (
            ItemKind::Content,
            "pages/home.json",
            br#"{"title":"Home","content":"<!-- wp:paragraph --><p>Hi</p><!-- /wp:paragraph -->"}"#
                .to_vec(),
        ),
        (
            ItemKind::Design,
            "design.json",
            br##"{"palette":{"primary":"#123456"}}"##.to_vec(),
        ),
        (
            ItemKind::Plugin,
            "contact-form.zip",
            (0..=255u8).cycle().take(700).collect(),
        ),
    ])
    .expect("the payload's paths are plain")
}

fn manifest(payload: &Payload) -> Manifest {
    Manifest {
        format: FORMAT,
        bundle_id: BUNDLE,
        site_id: SITE,
        sequence: LAST_APPLIED + 1,
        created_at: NOW - 60,
        expires_at: NOW + 3600,
        policy: Policy::default(),
        items: payload.items.clone(),
    }
}

/// A bundle of the given manifest bytes, signed by `key`, with `payload` after it.
fn signed_raw(manifest: &[u8], key: &SigningKey, payload: &[u8]) -> Vec<u8> {
    let mut message = SIGNING_CONTEXT.to_vec();
    message.extend_from_slice(manifest);
    let signature = key.sign(&message).to_bytes();
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(manifest.len() as u32).to_be_bytes());
    out.extend_from_slice(manifest);
    out.extend_from_slice(&64u16.to_be_bytes());
    out.extend_from_slice(&signature);
    out.extend_from_slice(payload);
    out
}

fn signed(manifest: &Manifest, payload: &[u8]) -> Vec<u8> {
    SignedManifest::sign(manifest, &key()).encode(payload)
}

/// The default manifest as a JSON value, to be bent into edge cases.
fn manifest_value() -> Value {
    serde_json::to_value(manifest(&payload())).expect("a manifest serialises")
}

/// A bundle of the default payload whose manifest is the given JSON text, signed.
fn with_json(text: &str) -> Vec<u8> {
    signed_raw(text.as_bytes(), &key(), &payload().bytes)
}

/// The default manifest changed by `edit` (on its JSON value), signed.
fn edited(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value = manifest_value();
    edit(&mut value);
    with_json(&value.to_string())
}

/// The default manifest's JSON text with `from` replaced by `to` (once), signed.
fn replaced(from: &str, to: &str) -> Vec<u8> {
    let text = manifest_value().to_string();
    assert!(text.contains(from), "{from} is in {text}");
    with_json(&text.replacen(from, to, 1))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn valid_vectors(out: &mut Vec<Vector>) {
    let p = payload();
    let mut push = |name, about, bytes| {
        out.push(Vector {
            name,
            about,
            bytes,
            expect: expectations(),
            code: None,
        })
    };
    push(
        "valid-basic",
        "content, design and a plugin zip; no policy (the default)",
        signed(&manifest(&p), &p.bytes),
    );
    let mut m = manifest(&p);
    m.policy = Policy {
        unfiltered_html: true,
    };
    push(
        "valid-policy",
        "policy.unfiltered_html true",
        signed(&m, &p.bytes),
    );
    push(
        "valid-policy-explicit-default",
        "policy written out with its default",
        edited(|v| v["policy"] = json!({"unfiltered_html": false})),
    );
    push(
        "valid-policy-empty-object",
        "policy {} is the default",
        edited(|v| v["policy"] = json!({})),
    );
    let mut m = manifest(&p);
    m.items.clear();
    push("valid-empty-items", "no items, no payload", signed(&m, &[]));
    let every_kind = Payload::build([
        (ItemKind::Content, "site.json", br#"{"title":"A"}"#.to_vec()),
        (ItemKind::Theme, "gsw-a.zip", vec![0x50, 0x4b, 0, 0xff]),
        (ItemKind::Plugin, "a/b.zip", vec![]),
        (ItemKind::Design, "design.json", b"{}".to_vec()),
        (
            ItemKind::Media,
            "images/hero.png",
            vec![0x89, b'P', b'N', b'G', 0, 10],
        ),
        (
            ItemKind::Media,
            "design.json",
            b"same path, other kind".to_vec(),
        ),
        (
            ItemKind::Rollback,
            "rollback.json",
            b"{\"sequence\":3}".to_vec(),
        ),
    ])
    .expect("plain paths");
    let mut m = manifest(&p);
    m.items = every_kind.items.clone();
    push(
        "valid-every-kind",
        "one item of each kind, an empty one, binary bytes, one path under two kinds",
        signed(&m, &every_kind.bytes),
    );
    let text = format!(
        "\n {{ \"items\" : {items} , \"expires_at\":{e},\"created_at\":{c},\t\"sequence\":5,\r\n\"site_id\":\"{site}\",\"bundle_id\":\"{{{bundle}}}\",\"format\":1 }} \n",
        items = serde_json::to_string(&p.items).unwrap().replace("pages/home.json", "pages\\/h\\u006fme.json"),
        e = NOW + 3600,
        c = NOW - 60,
        site = SITE.simple().to_string().to_uppercase(),
        bundle = BUNDLE.hyphenated().to_string().to_uppercase(),
    );
    push(
        "valid-reordered-escaped",
        "fields in another order, white space, escapes in a path, a simple upper-case site id, a braced bundle id",
        with_json(&text),
    );
    push(
        "valid-urn-site-id",
        "site id as a URN, its prefix in mixed case (the uuid crate ignores the prefix's case)",
        edited(|v| v["site_id"] = json!(format!("Urn:UUID:{SITE}"))),
    );
    let items: Vec<Value> = p
        .items
        .iter()
        .map(|i| json!([i.kind, i.path, i.size, i.sha256]))
        .collect();
    let seq = json!([1, BUNDLE, SITE, 5, NOW - 60, NOW + 3600, [true], items]);
    push(
        "valid-array-form",
        "the manifest, its policy and items as arrays of their fields in order, as serde reads structs",
        with_json(&seq.to_string()),
    );
    push(
        "valid-kind-as-map",
        "an item kind in serde's map form {\"content\": null}",
        replaced("\"kind\":\"content\"", "\"kind\":{\"content\":null}"),
    );
    push(
        "valid-max-sequence",
        "sequence u64::MAX",
        edited(|v| v["sequence"] = json!(u64::MAX)),
    );
    push(
        "valid-extreme-times",
        "created_at i64::MIN, expires_at i64::MAX",
        edited(|v| {
            v["created_at"] = json!(i64::MIN);
            v["expires_at"] = json!(i64::MAX);
        }),
    );
    push(
        "valid-created-at-skew-limit",
        "created exactly the allowed skew ahead",
        edited(|v| v["created_at"] = json!(NOW + MAX_CLOCK_SKEW_SECS)),
    );
}

fn refused(
    out: &mut Vec<Vector>,
    code: &'static str,
    name: &'static str,
    about: &'static str,
    bytes: Vec<u8>,
) {
    out.push(Vector {
        name,
        about,
        bytes,
        expect: expectations(),
        code: Some(code),
    });
}

fn framing_vectors(out: &mut Vec<Vector>) {
    let p = payload();
    let good = signed(&manifest(&p), &p.bytes);
    out.push(Vector {
        name: "too-large",
        about: "one byte over the receiver's bundle limit",
        bytes: good.clone(),
        expect: Expectations {
            max_bundle_bytes: good.len() as u64 - 1,
            ..expectations()
        },
        code: Some("too_large"),
    });
    refused(
        out,
        "malformed",
        "bad-magic",
        "a zip, not a bundle",
        b"PK\x03\x04 this is a zip".to_vec(),
    );
    refused(
        out,
        "malformed",
        "truncated-magic",
        "shorter than the magic",
        b"GSWBN".to_vec(),
    );
    refused(
        out,
        "malformed",
        "truncated-length",
        "cut inside the manifest length",
        good[..10].to_vec(),
    );
    refused(
        out,
        "malformed",
        "truncated-manifest",
        "cut inside the manifest",
        good[..40].to_vec(),
    );
    let manifest_len = u32::from_be_bytes(good[8..12].try_into().unwrap()) as usize;
    refused(
        out,
        "malformed",
        "truncated-signature-length",
        "cut after the manifest",
        good[..12 + manifest_len + 1].to_vec(),
    );
    refused(
        out,
        "malformed",
        "truncated-signature",
        "cut inside the signature",
        good[..12 + manifest_len + 2 + 30].to_vec(),
    );
    let mut huge = MAGIC.to_vec();
    huge.extend_from_slice(&(MAX_MANIFEST_BYTES as u32 + 1).to_be_bytes());
    huge.extend_from_slice(b"{}");
    refused(
        out,
        "malformed",
        "manifest-too-large",
        "a manifest length over 1 MiB",
        huge,
    );

    let mut unsigned = good[..12 + manifest_len].to_vec();
    unsigned.extend_from_slice(&0u16.to_be_bytes());
    unsigned.extend_from_slice(&p.bytes);
    refused(
        out,
        "missing_signature",
        "unsigned",
        "signature length 0",
        unsigned,
    );
    let mut short_sig = good.clone();
    short_sig[12 + manifest_len + 1] = 63;
    refused(
        out,
        "bad_signature",
        "signature-length-63",
        "a signature length other than 0 or 64",
        short_sig,
    );
    refused(
        out,
        "bad_signature",
        "other-signer",
        "signed by another key",
        signed_raw(
            &serde_json::to_vec(&manifest(&p)).unwrap(),
            &other_key(),
            &p.bytes,
        ),
    );
    let mut flipped = good.clone();
    flipped[12 + 20] ^= 1;
    refused(
        out,
        "bad_signature",
        "manifest-byte-flipped",
        "a manifest byte changed after signing",
        flipped,
    );
    let mut sig_flipped = good.clone();
    sig_flipped[12 + manifest_len + 2 + 5] ^= 0x80;
    refused(
        out,
        "bad_signature",
        "signature-byte-flipped",
        "a signature byte changed",
        sig_flipped,
    );
}

fn manifest_vectors(out: &mut Vec<Vector>) {
    let cases: Vec<(&'static str, &'static str, Vec<u8>)> = vec![
        (
            "unknown-field",
            "a field the manifest does not have",
            edited(|v| v["comment"] = json!("hi")),
        ),
        (
            "unknown-item-field",
            "an item field the format does not have",
            edited(|v| v["items"][0]["mode"] = json!(420)),
        ),
        (
            "unknown-policy-field",
            "a policy field the format does not have",
            edited(|v| v["policy"] = json!({"unfiltered_html": false, "allow_php": true})),
        ),
        (
            "duplicate-key",
            "sequence twice (json_decode would keep the last)",
            replaced("\"sequence\":5", "\"sequence\":5,\"sequence\":6"),
        ),
        (
            "duplicate-item-key",
            "an item's size twice",
            replaced(
                "\"kind\":\"content\"",
                "\"kind\":\"content\",\"kind\":\"content\"",
            ),
        ),
        (
            "duplicate-policy-key",
            "policy.unfiltered_html twice",
            edited_text(|t| {
                t.replacen(
                    "\"items\"",
                    "\"policy\":{\"unfiltered_html\":false,\"unfiltered_html\":true},\"items\"",
                    1,
                )
            }),
        ),
        (
            "sequence-as-string",
            "sequence \"5\"",
            edited(|v| v["sequence"] = json!("5")),
        ),
        (
            "sequence-as-float",
            "sequence 5.0",
            replaced("\"sequence\":5", "\"sequence\":5.0"),
        ),
        (
            "sequence-exponent",
            "sequence 5e0",
            replaced("\"sequence\":5", "\"sequence\":5e0"),
        ),
        (
            "sequence-over-u64",
            "sequence 2^64",
            replaced("\"sequence\":5", "\"sequence\":18446744073709551616"),
        ),
        (
            "sequence-negative",
            "sequence -5",
            edited(|v| v["sequence"] = json!(-5)),
        ),
        (
            "sequence-negative-zero",
            "sequence -0 (serde_json reads it as a float)",
            replaced("\"sequence\":5", "\"sequence\":-0"),
        ),
        (
            "sequence-leading-zero",
            "sequence 05 (not JSON)",
            replaced("\"sequence\":5", "\"sequence\":05"),
        ),
        (
            "sequence-null",
            "sequence null",
            edited(|v| v["sequence"] = Value::Null),
        ),
        (
            "size-negative",
            "an item size of -1",
            edited(|v| v["items"][0]["size"] = json!(-1)),
        ),
        (
            "size-as-string",
            "an item size as a string",
            edited(|v| {
                let s = v["items"][0]["size"].as_u64().unwrap();
                v["items"][0]["size"] = json!(s.to_string())
            }),
        ),
        (
            "format-as-string",
            "format \"1\"",
            edited(|v| v["format"] = json!("1")),
        ),
        (
            "format-over-u32",
            "format 2^32",
            edited(|v| v["format"] = json!(1u64 << 32)),
        ),
        (
            "created-at-over-i64",
            "created_at 2^63",
            edited(|v| v["created_at"] = json!(1u64 << 63)),
        ),
        (
            "expires-at-float",
            "expires_at with a fraction",
            edited(|v| v["expires_at"] = json!(1.9e9)),
        ),
        (
            "bundle-id-not-uuid",
            "bundle_id not a UUID",
            edited(|v| v["bundle_id"] = json!("not-a-uuid")),
        ),
        (
            "bundle-id-number",
            "bundle_id a number",
            edited(|v| v["bundle_id"] = json!(12345)),
        ),
        (
            "site-id-bad-prefix",
            "a URN prefix that is not urn:uuid:",
            edited(|v| v["site_id"] = json!(format!("urn:uid::{SITE}"))),
        ),
        (
            "site-id-bad-hyphens",
            "hyphens in the wrong places",
            edited(|v| {
                let h = SITE.to_string();
                v["site_id"] = json!(format!("{}-{}{}", &h[..7], &h[7..8], &h[9..]))
            }),
        ),
        (
            "kind-unknown",
            "an item kind the format does not have",
            edited(|v| v["items"][0]["kind"] = json!("script")),
        ),
        (
            "kind-capitalised",
            "an item kind in capitals",
            edited(|v| v["items"][0]["kind"] = json!("Content")),
        ),
        (
            "kind-map-with-value",
            "map-form kind with a value",
            replaced("\"kind\":\"content\"", "\"kind\":{\"content\":1}"),
        ),
        (
            "policy-null",
            "policy null",
            edited(|v| v["policy"] = Value::Null),
        ),
        (
            "policy-flag-as-number",
            "unfiltered_html 1",
            edited(|v| v["policy"] = json!({"unfiltered_html": 1})),
        ),
        (
            "policy-as-bool",
            "policy true",
            edited(|v| v["policy"] = json!(true)),
        ),
        (
            "items-as-object",
            "items an object",
            edited(|v| v["items"] = json!({})),
        ),
        (
            "items-missing",
            "no items field",
            edited(|v| {
                v.as_object_mut().unwrap().remove("items");
            }),
        ),
        (
            "sequence-missing",
            "no sequence field",
            edited(|v| {
                v.as_object_mut().unwrap().remove("sequence");
            }),
        ),
        (
            "sha256-missing",
            "an item without its hash",
            edited(|v| {
                v["items"][0].as_object_mut().unwrap().remove("sha256");
            }),
        ),
        (
            "path-as-number",
            "an item path as a number",
            edited(|v| v["items"][0]["path"] = json!(7)),
        ),
        (
            "trailing-characters",
            "something after the manifest",
            edited_text(|t| format!("{t} x")),
        ),
        (
            "trailing-comma",
            "a comma before the closing brace",
            edited_text(|t| format!("{},}}", &t[..t.len() - 1])),
        ),
        (
            "two-values",
            "two JSON values",
            edited_text(|t| format!("{t}{t}")),
        ),
        (
            "byte-order-mark",
            "a byte order mark first",
            edited_text(|t| format!("\u{feff}{t}")),
        ),
        (
            "array-form-too-long",
            "the array form with an element too many",
            with_json(&json!([1, BUNDLE, SITE, 5, NOW - 60, NOW + 3600, {}, [], 0]).to_string()),
        ),
        (
            "array-form-too-short",
            "the array form without items",
            with_json(&json!([1, BUNDLE, SITE, 5, NOW - 60, NOW + 3600, {}]).to_string()),
        ),
        (
            "not-an-object",
            "the manifest is a string",
            with_json("\"manifest\""),
        ),
        ("empty-manifest", "no manifest bytes", with_json("")),
        (
            "lone-surrogate",
            "a path with an unpaired UTF-16 surrogate escape",
            replaced("pages/home.json", "pages/\\ud800.json"),
        ),
        (
            "raw-control-character",
            "a raw tab inside a string",
            replaced("pages/home.json", "pages/\thome.json"),
        ),
        (
            "invalid-utf8",
            "a path with bytes that are not UTF-8",
            with_bytes_replaced(b"pages/home.json", b"pages/\xff\xfe.json"),
        ),
        (
            "bad-escape",
            "an escape JSON does not have",
            replaced("pages/home.json", "pages/\\xhome.json"),
        ),
        (
            "deep-nesting",
            "an unknown field 200 arrays deep",
            edited_text(|t| {
                format!(
                    "{},\"deep\":{}{}}}",
                    &t[..t.len() - 1],
                    "[".repeat(200),
                    "]".repeat(200)
                )
            }),
        ),
        (
            "single-quotes",
            "not JSON: single quotes",
            edited_text(|t| t.replace('"', "'")),
        ),
    ];
    for (name, about, bytes) in cases {
        refused(out, "malformed", name, about, bytes);
    }
}

/// The default manifest's JSON text rewritten by `edit`, signed.
fn edited_text(edit: impl FnOnce(String) -> String) -> Vec<u8> {
    with_json(&edit(manifest_value().to_string()))
}

fn with_bytes_replaced(from: &[u8], to: &[u8]) -> Vec<u8> {
    let text = manifest_value().to_string().into_bytes();
    let at = text
        .windows(from.len())
        .position(|w| w == from)
        .expect("the pattern is in the manifest");
    let mut raw = text[..at].to_vec();
    raw.extend_from_slice(to);
    raw.extend_from_slice(&text[at + from.len()..]);
    signed_raw(&raw, &key(), &payload().bytes)
}

fn check_vectors(out: &mut Vec<Vector>) {
    let p = payload();
    let with = |edit: &dyn Fn(&mut Manifest)| {
        let mut m = manifest(&p);
        edit(&mut m);
        signed(&m, &p.bytes)
    };
    let cases: Vec<(&'static str, &'static str, &'static str, Vec<u8>)> = vec![
        (
            "unsupported_format",
            "format-2",
            "format 2",
            with(&|m| m.format = 2),
        ),
        (
            "unsupported_format",
            "format-0",
            "format 0",
            with(&|m| m.format = 0),
        ),
        (
            "unsupported_format",
            "format-u32-max",
            "format u32::MAX",
            with(&|m| m.format = u32::MAX),
        ),
        (
            "wrong_site",
            "wrong-site",
            "for another site",
            with(&|m| m.site_id = OTHER_SITE),
        ),
        (
            "replay",
            "replay-equal",
            "sequence equal to the last applied",
            with(&|m| m.sequence = LAST_APPLIED),
        ),
        (
            "replay",
            "replay-zero",
            "sequence 0",
            with(&|m| m.sequence = 0),
        ),
        (
            "expired",
            "expired-now",
            "expires exactly now",
            with(&|m| m.expires_at = NOW),
        ),
        (
            "expired",
            "expired-long-ago",
            "expired at i64::MIN",
            with(&|m| m.expires_at = i64::MIN),
        ),
        (
            "not_yet_valid",
            "created-in-the-future",
            "created one second past the allowed skew",
            with(&|m| m.created_at = NOW + MAX_CLOCK_SKEW_SECS + 1),
        ),
        (
            "unsafe_path",
            "path-parent",
            "a .. part",
            with(&|m| m.items[0].path = "../wp-config.php".into()),
        ),
        (
            "unsafe_path",
            "path-inner-parent",
            "a .. part inside",
            with(&|m| m.items[0].path = "a/../../b".into()),
        ),
        (
            "unsafe_path",
            "path-absolute",
            "an absolute path",
            with(&|m| m.items[0].path = "/etc/passwd".into()),
        ),
        (
            "unsafe_path",
            "path-empty-part",
            "an empty part",
            with(&|m| m.items[0].path = "a//b".into()),
        ),
        (
            "unsafe_path",
            "path-trailing-slash",
            "a trailing slash",
            with(&|m| m.items[0].path = "pages/".into()),
        ),
        (
            "unsafe_path",
            "path-dot",
            "a . part",
            with(&|m| m.items[0].path = "./a".into()),
        ),
        (
            "unsafe_path",
            "path-backslash",
            "a backslash",
            with(&|m| m.items[0].path = "a\\..\\b".into()),
        ),
        (
            "unsafe_path",
            "path-colon",
            "a colon",
            with(&|m| m.items[0].path = "C:x".into()),
        ),
        (
            "unsafe_path",
            "path-nul",
            "a NUL",
            with(&|m| m.items[0].path = "a\0b".into()),
        ),
        (
            "unsafe_path",
            "path-c1-control",
            "a C1 control character",
            with(&|m| m.items[0].path = "a\u{85}b".into()),
        ),
        (
            "unsafe_path",
            "path-empty",
            "an empty path",
            with(&|m| m.items[0].path = String::new()),
        ),
        (
            "unsafe_path",
            "path-too-long",
            "513 bytes",
            with(&|m| m.items[0].path = "é".repeat(256) + "a"),
        ),
        (
            "unsafe_path",
            "path-duplicate",
            "the same kind and path twice",
            with(&|m| {
                m.items[1].kind = m.items[0].kind;
                m.items[1].path = m.items[0].path.clone();
            }),
        ),
        (
            "unpacked_too_large",
            "unpacked-too-large",
            "an item claiming u64::MAX / 2 bytes",
            with(&|m| m.items[2].size = u64::MAX / 2),
        ),
        (
            "unpacked_too_large",
            "unpacked-saturating",
            "sizes that overflow u64 when added",
            with(&|m| {
                m.items[1].size = u64::MAX;
                m.items[2].size = u64::MAX;
            }),
        ),
        (
            "hash_mismatch",
            "hash-uppercase",
            "a hash in upper case",
            with(&|m| m.items[1].sha256 = m.items[1].sha256.to_uppercase()),
        ),
        (
            "hash_mismatch",
            "hash-of-other-item",
            "items' hashes swapped",
            with(&|m| {
                let h = m.items[0].sha256.clone();
                m.items[0].sha256 = m.items[1].sha256.clone();
                m.items[1].sha256 = h;
            }),
        ),
    ];
    for (code, name, about, bytes) in cases {
        refused(out, code, name, about, bytes);
    }
    let good = signed(&manifest(&p), &p.bytes);
    let mut long = good.clone();
    long.push(0);
    refused(
        out,
        "size_mismatch",
        "payload-long",
        "a byte after the payload",
        long,
    );
    refused(
        out,
        "size_mismatch",
        "payload-short",
        "the payload's last byte cut",
        good[..good.len() - 1].to_vec(),
    );
    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 1;
    refused(
        out,
        "hash_mismatch",
        "payload-byte-flipped",
        "a payload byte changed",
        flipped,
    );
    let mut m = manifest(&p);
    m.items[0].size += 1;
    m.items[1].size -= 1;
    refused(
        out,
        "hash_mismatch",
        "sizes-shifted",
        "two sizes moved by one byte, same total",
        signed(&m, &p.bytes),
    );
}

fn vectors() -> Vec<Vector> {
    let mut out = Vec::new();
    valid_vectors(&mut out);
    framing_vectors(&mut out);
    manifest_vectors(&mut out);
    check_vectors(&mut out);
    out
}

fn folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// What `bundle::verify` answers, as the vectors file records it.
fn answer(vector: &Vector) -> Value {
    let key = key().verifying_key();
    match bundle::verify(&vector.bytes, &key, &vector.expect) {
        Ok(verified) => {
            let m = &verified.manifest;
            json!({"ok": {
                "bundle_id": m.bundle_id,
                "site_id": m.site_id,
                "sequence": m.sequence.to_string(),
                "created_at": m.created_at.to_string(),
                "expires_at": m.expires_at.to_string(),
                "unfiltered_html": m.policy.unfiltered_html,
                "items": verified.items().map(|(e, bytes)| {
                    assert_eq!(sha256_hex(bytes), e.sha256);
                    json!({"kind": e.kind, "path": e.path, "size": bytes.len(), "sha256": e.sha256})
                }).collect::<Vec<_>>(),
            }})
        }
        Err(e) => json!({"refused": {"code": e.code(), "message": e.to_string()}}),
    }
}

fn index(vectors: &[Vector]) -> Value {
    let list: Vec<Value> = vectors
        .iter()
        .map(|v| {
            json!({
                "name": v.name,
                "about": v.about,
                "file": format!("{}.bundle", v.name),
                "site_id": v.expect.site_id,
                "last_applied": v.expect.last_applied,
                "now": v.expect.now,
                "max_bundle_bytes": v.expect.max_bundle_bytes,
                "max_unpacked_bytes": v.expect.max_unpacked_bytes,
                "expected": answer(v),
            })
        })
        .collect();
    json!({
        "about": "Shared bundle vectors (protocol/tests/vectors.rs writes them; GSW_TEST_UPDATE_VECTORS=1 regenerates). \
                  Each bundle must verify to `ok` or be refused with `code`; `message` is the Rust verifier's, \
                  exact except after \"manifest is malformed: \", where the parser's words may differ.",
        "public_key": base64::engine::general_purpose::STANDARD.encode(key().verifying_key().as_bytes()),
        "vectors": list,
    })
}

#[test]
fn every_vector_gets_its_intended_answer() {
    let vectors = vectors();
    let mut names = BTreeMap::new();
    for vector in &vectors {
        assert!(
            names.insert(vector.name, ()).is_none(),
            "{} twice",
            vector.name
        );
        let answer = answer(vector);
        match vector.code {
            None => assert!(answer.get("ok").is_some(), "{}: {answer}", vector.name),
            Some(code) => assert_eq!(answer["refused"]["code"], code, "{}: {answer}", vector.name),
        }
    }
    // Every refusal the verifier has is among the vectors.
    for code in [
        "too_large",
        "malformed",
        "missing_signature",
        "bad_signature",
        "unsupported_format",
        "wrong_site",
        "replay",
        "expired",
        "not_yet_valid",
        "unsafe_path",
        "unpacked_too_large",
        "size_mismatch",
        "hash_mismatch",
    ] {
        assert!(
            vectors.iter().any(|v| v.code == Some(code)),
            "no vector for {code}"
        );
    }
}

#[test]
fn committed_vectors_are_current() {
    let vectors = vectors();
    let dir = folder();
    let index = serde_json::to_string_pretty(&index(&vectors)).unwrap() + "\n";
    if std::env::var_os("GSW_TEST_UPDATE_VECTORS").is_some() {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        for vector in &vectors {
            std::fs::write(dir.join(format!("{}.bundle", vector.name)), &vector.bytes).unwrap();
        }
        std::fs::write(dir.join("vectors.json"), &index).unwrap();
        return;
    }
    let stale = "the vectors in protocol/tests/vectors are not what protocol/tests/vectors.rs generates: \
                 run GSW_TEST_UPDATE_VECTORS=1 cargo test -p gsw-protocol --test vectors and commit them";
    let committed = std::fs::read_to_string(dir.join("vectors.json")).expect(stale);
    assert!(committed == index, "{stale}");
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, vectors.len() + 1, "{stale}");
    for vector in &vectors {
        let bytes = std::fs::read(dir.join(format!("{}.bundle", vector.name))).expect(stale);
        assert!(bytes == vector.bytes, "{}: {stale}", vector.name);
    }
}
