//! `gsw` PHP extension: what the connector plugin needs natively.
//!
//! - `gsw_bundle_open(path, public_key, site_id, last_applied, max_bytes)`
//!   verifies a bundle with the same `gsw_protocol::bundle::verify` the
//!   control plane and agent use, and returns its manifest and items.
//! - `gsw_blocks_parse(markup)` checks Gutenberg block grammar.
//! - `gsw_content_hash(content)` hashes content for drift checks.
//! - `gsw_zip_check(path, max_unpacked_bytes)` reads a plugin or theme zip's
//!   directory and refuses it unless every entry stays inside one folder.
//!
//! Every failure is a PHP exception with a message; a Rust panic is caught
//! and becomes an exception too; nothing here touches the network.

use std::panic::{catch_unwind, AssertUnwindSafe};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use ext_php_rs::binary::Binary;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::exception::PhpException;
use ext_php_rs::prelude::*;
use ext_php_rs::types::ZendHashTable;
use gsw_protocol::bundle::{self, Expectations};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub mod zipcheck;

/// Runs `body`, turning an error or a panic into a PHP exception.
fn guarded<T>(body: impl FnOnce() -> Result<T, String>) -> PhpResult<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(message)) => Err(PhpException::from_message(message)),
        Err(_) => Err(PhpException::from_message(
            "gsw: internal error (a Rust panic was caught)".to_owned(),
        )),
    }
}

fn table_error(err: ext_php_rs::error::Error) -> String {
    format!("gsw: building the result failed: {err}")
}

/// What a verified bundle holds, independent of PHP: tested without it.
pub struct OpenedBundle {
    pub bundle_id: Uuid,
    pub site_id: Uuid,
    pub sequence: u64,
    pub created_at: i64,
    pub expires_at: i64,
    /// The manifest's `policy.unfiltered_html`.
    pub unfiltered_html: bool,
    /// (kind, path, sha256, bytes)
    pub items: Vec<(String, String, String, Vec<u8>)>,
}

/// Reads and verifies a bundle file; every refusal is a readable message.
pub fn open_bundle(
    path: &str,
    public_key: &str,
    site_id: &str,
    last_applied: u64,
    max_bytes: u64,
    now: i64,
) -> Result<OpenedBundle, String> {
    let key: [u8; 32] = STANDARD
        .decode(public_key.trim())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or("gsw: the public key must be 32 bytes, base64")?;
    let key =
        VerifyingKey::from_bytes(&key).map_err(|_| "gsw: the public key is not an Ed25519 key")?;
    let site_id: Uuid = site_id
        .parse()
        .map_err(|_| "gsw: the site id is not a UUID")?;
    let size = std::fs::metadata(path)
        .map_err(|e| format!("gsw: cannot read {path}: {e}"))?
        .len();
    if size > max_bytes {
        return Err(format!(
            "gsw: bundle refused: bundle is {size} bytes, over the {max_bytes}-byte limit"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("gsw: cannot read {path}: {e}"))?;
    let expect = Expectations {
        site_id,
        last_applied,
        now,
        max_bundle_bytes: max_bytes,
        max_unpacked_bytes: max_bytes,
    };
    let verified = bundle::verify(&bytes, &key, &expect)
        .map_err(|e| format!("gsw: bundle refused ({}): {e}", e.code()))?;
    let manifest = &verified.manifest;
    Ok(OpenedBundle {
        bundle_id: manifest.bundle_id,
        site_id: manifest.site_id,
        sequence: manifest.sequence,
        created_at: manifest.created_at,
        expires_at: manifest.expires_at,
        unfiltered_html: manifest.policy.unfiltered_html,
        items: verified
            .items()
            .map(|(entry, data)| {
                (
                    entry.kind.as_str().to_owned(),
                    entry.path.clone(),
                    entry.sha256.clone(),
                    data.to_vec(),
                )
            })
            .collect(),
    })
}

/// The hash used for drift checks: SHA-256 of the content, lower-case hex.
pub fn content_hash(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

/// Opens and verifies a bundle; returns `['manifest' => [...], 'items' => [[kind, path, sha256, content], ...]]`.
#[php_function]
pub fn gsw_bundle_open(
    path: String,
    public_key: String,
    site_id: String,
    last_applied: i64,
    max_bytes: i64,
) -> PhpResult<ZBox<ZendHashTable>> {
    guarded(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| "gsw: the clock is before 1970")?
            .as_secs() as i64;
        let last_applied =
            u64::try_from(last_applied).map_err(|_| "gsw: last_applied must not be negative")?;
        let max_bytes =
            u64::try_from(max_bytes).map_err(|_| "gsw: max_bytes must not be negative")?;
        let opened = open_bundle(&path, &public_key, &site_id, last_applied, max_bytes, now)?;
        let mut manifest = ZendHashTable::new();
        manifest
            .insert("bundle_id", opened.bundle_id.to_string())
            .map_err(table_error)?;
        manifest
            .insert("site_id", opened.site_id.to_string())
            .map_err(table_error)?;
        manifest
            .insert("sequence", opened.sequence as i64)
            .map_err(table_error)?;
        manifest
            .insert("created_at", opened.created_at)
            .map_err(table_error)?;
        manifest
            .insert("expires_at", opened.expires_at)
            .map_err(table_error)?;
        let mut policy = ZendHashTable::new();
        policy
            .insert("unfiltered_html", opened.unfiltered_html)
            .map_err(table_error)?;
        manifest.insert("policy", policy).map_err(table_error)?;
        let mut items = ZendHashTable::new();
        for (kind, path, sha256, data) in opened.items {
            let mut item = ZendHashTable::new();
            item.insert("kind", kind).map_err(table_error)?;
            item.insert("path", path).map_err(table_error)?;
            item.insert("sha256", sha256).map_err(table_error)?;
            item.insert("size", data.len() as i64)
                .map_err(table_error)?;
            item.insert("content", Binary::from(data))
                .map_err(table_error)?;
            items.push(item).map_err(table_error)?;
        }
        let mut result = ZendHashTable::new();
        result.insert("manifest", manifest).map_err(table_error)?;
        result.insert("items", items).map_err(table_error)?;
        Ok(result)
    })
}

/// Checks block markup; returns `[['name' => 'core/heading', 'depth' => 1], ...]`.
#[php_function]
pub fn gsw_blocks_parse(markup: String) -> PhpResult<ZBox<ZendHashTable>> {
    guarded(|| {
        let blocks = gsw_protocol::blocks::parse(&markup)
            .map_err(|e| format!("gsw: invalid block markup: {e}"))?;
        let mut list = ZendHashTable::new();
        for block in blocks {
            let mut entry = ZendHashTable::new();
            entry.insert("name", block.name).map_err(table_error)?;
            entry
                .insert("depth", block.depth as i64)
                .map_err(table_error)?;
            list.push(entry).map_err(table_error)?;
        }
        Ok(list)
    })
}

/// SHA-256 of content, hex: what was deployed, to compare with what is there now.
#[php_function]
pub fn gsw_content_hash(content: Binary<u8>) -> PhpResult<String> {
    guarded(|| Ok(content_hash(&Vec::from(content))))
}

/// Checks a plugin or theme zip; returns `['folder' => 'name', 'entries' => n, 'unpacked_bytes' => n]`.
#[php_function]
pub fn gsw_zip_check(path: String, max_unpacked_bytes: i64) -> PhpResult<ZBox<ZendHashTable>> {
    guarded(|| {
        let limit = u64::try_from(max_unpacked_bytes)
            .map_err(|_| "gsw: max_unpacked_bytes must not be negative")?;
        let bytes = std::fs::read(&path).map_err(|e| format!("gsw: cannot read {path}: {e}"))?;
        let folder =
            zipcheck::check(&bytes, limit).map_err(|e| format!("gsw: zip refused: {e}"))?;
        let mut result = ZendHashTable::new();
        result
            .insert("folder", folder.folder)
            .map_err(table_error)?;
        result
            .insert("entries", folder.entries as i64)
            .map_err(table_error)?;
        result
            .insert("unpacked_bytes", folder.unpacked_bytes as i64)
            .map_err(table_error)?;
        Ok(result)
    })
}

/// The module PHP loads.
#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .function(wrap_function!(gsw_bundle_open))
        .function(wrap_function!(gsw_blocks_parse))
        .function(wrap_function!(gsw_content_hash))
        .function(wrap_function!(gsw_zip_check))
}
