//! The bundle: what the control plane sends a site, and the only thing an
//! agent or the PHP extension will apply.
//!
//! ```text
//! "GSWBNDL1"            8 bytes, magic and format version
//! manifest length       u32, big-endian
//! manifest              JSON (`Manifest`), exactly the bytes that were signed
//! signature length      u16, big-endian: 0 (unsigned, always refused) or 64
//! signature             Ed25519 over SIGNING_CONTEXT ‖ manifest
//! payload               every item's bytes, concatenated in manifest order
//! ```
//!
//! The signature covers the manifest, and the manifest names the target site,
//! a per-site sequence number, the validity window and every item's size and
//! SHA-256; so one signature check plus one hash per item proves everything.
//! The payload is independent of the site, so one payload serves a release
//! sent to many sites, each with its own small signed manifest.

use std::collections::HashSet;
use std::ops::Range;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// First bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"GSWBNDL1";
/// The manifest format this code reads and writes.
pub const FORMAT: u32 = 1;
/// Domain separation: a bundle signature can never be mistaken for another signature.
pub const SIGNING_CONTEXT: &[u8] = b"gsw-bundle-v1\0";
/// Largest manifest accepted.
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;
/// Longest item path, in bytes.
pub const MAX_PATH_BYTES: usize = 512;
/// How far in the future a bundle's creation time may be (clock skew), in seconds.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// What an item is for; it decides where and how it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A page, post or navigation, as JSON with block markup.
    Content,
    /// A theme zip.
    Theme,
    /// A plugin zip.
    Plugin,
    /// Palette, fonts and global styles, as JSON.
    Design,
    /// An image or other file to import as an attachment.
    Media,
    /// An instruction to restore the state before an earlier bundle, as JSON.
    Rollback,
}

impl ItemKind {
    /// The name used on the wire and in folders.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Content => "content",
            Self::Theme => "theme",
            Self::Plugin => "plugin",
            Self::Design => "design",
            Self::Media => "media",
            Self::Rollback => "rollback",
        }
    }
}

/// The fingerprint people compare to check a bundle-signing key out of band:
/// `SHA256:` and the unpadded base64 of the SHA-256 of the key's 32 bytes, as
/// SSH shows host keys.
pub fn key_fingerprint(key: &VerifyingKey) -> String {
    use base64::Engine;
    let digest = Sha256::digest(key.as_bytes());
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

/// One item of a bundle, as the manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemEntry {
    pub kind: ItemKind,
    /// Relative path inside the item kind's folder; never escapes it.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
}

/// The signed description of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The deployment this bundle carries.
    pub bundle_id: Uuid,
    /// The only site that may apply it.
    pub site_id: Uuid,
    /// Per-site, strictly increasing; an agent applies only sequences above its last.
    pub sequence: u64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; not applied after this.
    pub expires_at: i64,
    /// How the site applies the bundle; absent means the defaults.
    #[serde(default, skip_serializing_if = "Policy::is_default")]
    pub policy: Policy,
    pub items: Vec<ItemEntry>,
}

/// The site's apply policy, signed with the manifest so a host cannot be
/// talked into a looser one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Keep content as written instead of filtering it as WordPress filters a
    /// post by a user without `unfiltered_html`.
    #[serde(default)]
    pub unfiltered_html: bool,
}

impl Policy {
    /// Whether this is the default policy (left out of the manifest).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// The items of a release: built once, sent to any number of sites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub items: Vec<ItemEntry>,
    pub bytes: Vec<u8>,
}

impl Payload {
    /// Lays out items and computes their sizes and hashes. Paths are checked
    /// here too, so the control plane cannot build a bundle agents would refuse.
    pub fn build<I, P>(items: I) -> Result<Self, BundleError>
    where
        I: IntoIterator<Item = (ItemKind, P, Vec<u8>)>,
        P: Into<String>,
    {
        let mut entries = Vec::new();
        let mut bytes = Vec::new();
        let mut seen = HashSet::new();
        for (kind, path, data) in items {
            let path = path.into();
            check_path(&path)?;
            if !seen.insert((kind, path.clone())) {
                return Err(BundleError::DuplicatePath(path));
            }
            entries.push(ItemEntry {
                kind,
                path,
                size: data.len() as u64,
                sha256: hex::encode(Sha256::digest(&data)),
            });
            bytes.extend_from_slice(&data);
        }
        Ok(Self {
            items: entries,
            bytes,
        })
    }
}

/// A manifest and its signature, ready to be put in front of a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedManifest {
    /// The manifest exactly as signed.
    pub manifest: Vec<u8>,
    pub signature: [u8; 64],
}

impl SignedManifest {
    /// Serialises and signs a manifest.
    pub fn sign(manifest: &Manifest, key: &SigningKey) -> Self {
        let manifest = serde_json::to_vec(manifest).expect("a manifest always serialises");
        let signature = key.sign(&signed_message(&manifest)).to_bytes();
        Self {
            manifest,
            signature,
        }
    }

    /// The whole bundle: header, this manifest and signature, then the payload.
    pub fn encode(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len(payload.len()));
        self.encode_into(&mut out, payload);
        out
    }

    /// Size of the bundle [`Self::encode`] makes.
    pub fn encoded_len(&self, payload_len: usize) -> usize {
        MAGIC.len() + 4 + self.manifest.len() + 2 + 64 + payload_len
    }

    /// Appends the bundle to `out` (after a frame header, say), copying the payload once.
    pub fn encode_into(&self, out: &mut Vec<u8>, payload: &[u8]) {
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.manifest.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.manifest);
        out.extend_from_slice(&64u16.to_be_bytes());
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(payload);
    }
}

fn signed_message(manifest: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_CONTEXT.len() + manifest.len());
    message.extend_from_slice(SIGNING_CONTEXT);
    message.extend_from_slice(manifest);
    message
}

/// What the receiver requires of a bundle besides a valid signature.
#[derive(Debug, Clone, Copy)]
pub struct Expectations {
    /// The receiver's own site.
    pub site_id: Uuid,
    /// The last sequence applied; only higher ones are accepted.
    pub last_applied: u64,
    /// Unix seconds now.
    pub now: i64,
    /// Largest bundle accepted, as received.
    pub max_bundle_bytes: u64,
    /// Largest total size of the items.
    pub max_unpacked_bytes: u64,
}

/// Why a bundle is refused. Every variant means: nothing of it is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("bundle is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    #[error("not a bundle (bad magic bytes)")]
    BadMagic,
    #[error("bundle is truncated")]
    Truncated,
    #[error("manifest is {0} bytes, over the limit")]
    ManifestTooLarge(usize),
    #[error("bundle is not signed")]
    MissingSignature,
    #[error("bundle signature is not valid")]
    BadSignature,
    #[error("manifest is malformed: {0}")]
    BadManifest(String),
    #[error("manifest format {0} is not supported")]
    UnsupportedFormat(u32),
    #[error("bundle is for site {found}, not this site ({expected})")]
    WrongSite { expected: Uuid, found: Uuid },
    #[error("bundle sequence {sequence} is not above the last applied ({last_applied}): replay or rollback")]
    Replay { sequence: u64, last_applied: u64 },
    #[error("bundle expired at {expires_at} (now {now})")]
    Expired { expires_at: i64, now: i64 },
    #[error("bundle was created in the future ({created_at}, now {now})")]
    NotYetValid { created_at: i64, now: i64 },
    #[error("item path {0:?} is not a plain relative path inside its folder")]
    UnsafePath(String),
    #[error("item path {0:?} appears twice")]
    DuplicatePath(String),
    #[error("items would unpack to {size} bytes, over the {limit}-byte limit")]
    UnpackedTooLarge { size: u64, limit: u64 },
    #[error("payload is {actual} bytes but the manifest lists {declared}")]
    SizeMismatch { declared: u64, actual: u64 },
    #[error("item {0:?} does not match its SHA-256")]
    HashMismatch(String),
}

impl BundleError {
    /// Stable machine-readable code for reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::BadMagic | Self::Truncated | Self::ManifestTooLarge(_) | Self::BadManifest(_) => {
                "malformed"
            }
            Self::MissingSignature => "missing_signature",
            Self::BadSignature => "bad_signature",
            Self::UnsupportedFormat(_) => "unsupported_format",
            Self::WrongSite { .. } => "wrong_site",
            Self::Replay { .. } => "replay",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::UnsafePath(_) | Self::DuplicatePath(_) => "unsafe_path",
            Self::UnpackedTooLarge { .. } => "unpacked_too_large",
            Self::SizeMismatch { .. } => "size_mismatch",
            Self::HashMismatch(_) => "hash_mismatch",
        }
    }
}

/// A bundle whose signature, target, sequence, validity, paths, sizes and
/// hashes have all been checked. Only this type hands out item bytes.
#[derive(Debug, Clone)]
pub struct VerifiedBundle<'a> {
    pub manifest: Manifest,
    payload: &'a [u8],
    ranges: Vec<Range<usize>>,
}

impl<'a> VerifiedBundle<'a> {
    /// The items with their bytes, in manifest order.
    pub fn items(&self) -> impl Iterator<Item = (&ItemEntry, &'a [u8])> + '_ {
        self.manifest
            .items
            .iter()
            .zip(&self.ranges)
            .map(|(entry, range)| (entry, &self.payload[range.clone()]))
    }
}

/// Reads a bundle's manifest without checking anything: for logs and
/// reports about a bundle that failed verification. Never use it to apply.
pub fn peek_manifest(bytes: &[u8]) -> Option<Manifest> {
    serde_json::from_slice(split(bytes).ok()?.manifest).ok()
}

/// A bundle cut into its parts, nothing checked yet.
struct Parts<'a> {
    manifest: &'a [u8],
    signature: Option<&'a [u8]>,
    payload: &'a [u8],
}

fn split(bytes: &[u8]) -> Result<Parts<'_>, BundleError> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or(if bytes.len() < MAGIC.len() {
            BundleError::Truncated
        } else {
            BundleError::BadMagic
        })?;
    let (len, rest) = rest
        .split_first_chunk::<4>()
        .ok_or(BundleError::Truncated)?;
    let len = u32::from_be_bytes(*len) as usize;
    if len > MAX_MANIFEST_BYTES {
        return Err(BundleError::ManifestTooLarge(len));
    }
    let (manifest, rest) = rest.split_at_checked(len).ok_or(BundleError::Truncated)?;
    let (sig_len, rest) = rest
        .split_first_chunk::<2>()
        .ok_or(BundleError::Truncated)?;
    match u16::from_be_bytes(*sig_len) {
        0 => Ok(Parts {
            manifest,
            signature: None,
            payload: rest,
        }),
        64 => {
            let (signature, payload) = rest.split_at_checked(64).ok_or(BundleError::Truncated)?;
            Ok(Parts {
                manifest,
                signature: Some(signature),
                payload,
            })
        }
        _ => Err(BundleError::BadSignature),
    }
}

/// Checks that an item path is relative, plain and stays inside its folder.
pub fn check_path(path: &str) -> Result<(), BundleError> {
    let unsafe_path = || BundleError::UnsafePath(path.to_owned());
    if path.is_empty() || path.len() > MAX_PATH_BYTES || path.starts_with('/') {
        return Err(unsafe_path());
    }
    if path
        .chars()
        .any(|c| c.is_control() || c == '\\' || c == ':')
    {
        return Err(unsafe_path());
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(unsafe_path());
    }
    Ok(())
}

/// Verifies a bundle completely. Checks run from cheapest to dearest, and
/// nothing in the manifest is trusted before its signature is checked.
pub fn verify<'a>(
    bytes: &'a [u8],
    key: &VerifyingKey,
    expect: &Expectations,
) -> Result<VerifiedBundle<'a>, BundleError> {
    if bytes.len() as u64 > expect.max_bundle_bytes {
        return Err(BundleError::TooLarge {
            size: bytes.len() as u64,
            limit: expect.max_bundle_bytes,
        });
    }
    let Parts {
        manifest: manifest_bytes,
        signature,
        payload,
    } = split(bytes)?;
    let signature = signature.ok_or(BundleError::MissingSignature)?;
    let signature = Signature::from_slice(signature).map_err(|_| BundleError::BadSignature)?;
    key.verify(&signed_message(manifest_bytes), &signature)
        .map_err(|_| BundleError::BadSignature)?;

    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| BundleError::BadManifest(e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(BundleError::UnsupportedFormat(manifest.format));
    }
    if manifest.site_id != expect.site_id {
        return Err(BundleError::WrongSite {
            expected: expect.site_id,
            found: manifest.site_id,
        });
    }
    if manifest.sequence <= expect.last_applied {
        return Err(BundleError::Replay {
            sequence: manifest.sequence,
            last_applied: expect.last_applied,
        });
    }
    if expect.now >= manifest.expires_at {
        return Err(BundleError::Expired {
            expires_at: manifest.expires_at,
            now: expect.now,
        });
    }
    if manifest.created_at > expect.now + MAX_CLOCK_SKEW_SECS {
        return Err(BundleError::NotYetValid {
            created_at: manifest.created_at,
            now: expect.now,
        });
    }

    let mut seen = HashSet::new();
    let mut declared: u64 = 0;
    for item in &manifest.items {
        check_path(&item.path)?;
        if !seen.insert((item.kind, item.path.as_str())) {
            return Err(BundleError::DuplicatePath(item.path.clone()));
        }
        declared = declared.saturating_add(item.size);
    }
    if declared > expect.max_unpacked_bytes {
        return Err(BundleError::UnpackedTooLarge {
            size: declared,
            limit: expect.max_unpacked_bytes,
        });
    }
    if declared != payload.len() as u64 {
        return Err(BundleError::SizeMismatch {
            declared,
            actual: payload.len() as u64,
        });
    }

    let mut ranges = Vec::with_capacity(manifest.items.len());
    let mut at = 0usize;
    for item in &manifest.items {
        // Fits: the sizes add up to payload.len(), checked above.
        let range = at..at + item.size as usize;
        if hex::encode(Sha256::digest(&payload[range.clone()])) != item.sha256 {
            return Err(BundleError::HashMismatch(item.path.clone()));
        }
        at = range.end;
        ranges.push(range);
    }
    Ok(VerifiedBundle {
        manifest,
        payload,
        ranges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    struct Fixture {
        key: SigningKey,
        site: Uuid,
        payload: Payload,
    }

    fn fixture() -> Fixture {
        let payload = Payload::build([
            (
                ItemKind::Content,
                "pages/home.json",
                br#"{"title":"Home"}"#.to_vec(),
            ),
            (
                ItemKind::Design,
                "palette.json",
                br##"{"primary":"#123456"}"##.to_vec(),
            ),
            (ItemKind::Plugin, "contact-form.zip", vec![7u8; 1000]),
        ])
        .unwrap();
        Fixture {
            key: SigningKey::generate(&mut rand::rngs::OsRng),
            site: Uuid::now_v7(),
            payload,
        }
    }

    fn manifest(f: &Fixture, sequence: u64) -> Manifest {
        Manifest {
            format: FORMAT,
            bundle_id: Uuid::now_v7(),
            site_id: f.site,
            sequence,
            created_at: NOW - 10,
            expires_at: NOW + 3600,
            policy: Default::default(),
            items: f.payload.items.clone(),
        }
    }

    fn expect(f: &Fixture) -> Expectations {
        Expectations {
            site_id: f.site,
            last_applied: 4,
            now: NOW,
            max_bundle_bytes: 1 << 20,
            max_unpacked_bytes: 1 << 20,
        }
    }

    fn bundle(f: &Fixture, m: &Manifest) -> Vec<u8> {
        SignedManifest::sign(m, &f.key).encode(&f.payload.bytes)
    }

    fn refusal(f: &Fixture, bytes: &[u8]) -> BundleError {
        verify(bytes, &f.key.verifying_key(), &expect(f)).unwrap_err()
    }

    #[test]
    fn a_good_bundle_verifies_and_yields_its_items() {
        let f = fixture();
        let bytes = bundle(&f, &manifest(&f, 5));
        let verified = verify(&bytes, &f.key.verifying_key(), &expect(&f)).unwrap();
        let items: Vec<_> = verified
            .items()
            .map(|(e, b)| (e.path.as_str(), b.len()))
            .collect();
        assert_eq!(
            items,
            [
                ("pages/home.json", 16),
                ("palette.json", 21),
                ("contact-form.zip", 1000)
            ]
        );
        assert_eq!(verified.items().next().unwrap().1, br#"{"title":"Home"}"#);
        assert_eq!(peek_manifest(&bytes).unwrap().sequence, 5);
    }

    #[test]
    fn tampering_anywhere_is_caught() {
        let f = fixture();
        let good = bundle(&f, &manifest(&f, 5));
        // A flipped payload byte: the signature still holds, the hash does not.
        let mut payload_flip = good.clone();
        *payload_flip.last_mut().unwrap() ^= 1;
        assert_eq!(
            refusal(&f, &payload_flip),
            BundleError::HashMismatch("contact-form.zip".into())
        );
        // A changed manifest: the signature no longer holds.
        let mut manifest_flip = good.clone();
        let at = 12 + 20;
        manifest_flip[at] ^= 1;
        assert_eq!(refusal(&f, &manifest_flip), BundleError::BadSignature);
        // Signed by someone else.
        let other = SigningKey::generate(&mut rand::rngs::OsRng);
        let forged = SignedManifest::sign(&manifest(&f, 5), &other).encode(&f.payload.bytes);
        assert_eq!(refusal(&f, &forged), BundleError::BadSignature);
        // Unsigned.
        let m = serde_json::to_vec(&manifest(&f, 5)).unwrap();
        let mut unsigned = MAGIC.to_vec();
        unsigned.extend_from_slice(&(m.len() as u32).to_be_bytes());
        unsigned.extend_from_slice(&m);
        unsigned.extend_from_slice(&0u16.to_be_bytes());
        unsigned.extend_from_slice(&f.payload.bytes);
        assert_eq!(refusal(&f, &unsigned), BundleError::MissingSignature);
    }

    #[test]
    fn truncated_and_foreign_bytes_are_malformed() {
        let f = fixture();
        let good = bundle(&f, &manifest(&f, 5));
        assert_eq!(refusal(&f, b"GSW"), BundleError::Truncated);
        assert_eq!(
            refusal(&f, b"PK\x03\x04 this is a zip"),
            BundleError::BadMagic
        );
        assert_eq!(refusal(&f, &good[..40]), BundleError::Truncated);
        let short = &good[..good.len() - 1];
        assert!(matches!(
            refusal(&f, short),
            BundleError::SizeMismatch { .. }
        ));
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            refusal(&f, &long),
            BundleError::SizeMismatch { .. }
        ));
    }

    #[test]
    fn target_sequence_and_time_are_enforced() {
        let f = fixture();
        let mut m = manifest(&f, 5);
        m.site_id = Uuid::now_v7();
        assert!(matches!(
            refusal(&f, &bundle(&f, &m)),
            BundleError::WrongSite { .. }
        ));
        for sequence in [4, 3, 0] {
            let replay = bundle(&f, &manifest(&f, sequence));
            assert!(
                matches!(refusal(&f, &replay), BundleError::Replay { .. }),
                "{sequence}"
            );
        }
        let mut m = manifest(&f, 5);
        m.expires_at = NOW;
        assert!(matches!(
            refusal(&f, &bundle(&f, &m)),
            BundleError::Expired { .. }
        ));
        let mut m = manifest(&f, 5);
        m.created_at = NOW + MAX_CLOCK_SKEW_SECS + 1;
        assert!(matches!(
            refusal(&f, &bundle(&f, &m)),
            BundleError::NotYetValid { .. }
        ));
        let mut m = manifest(&f, 5);
        m.format = 2;
        assert_eq!(
            refusal(&f, &bundle(&f, &m)),
            BundleError::UnsupportedFormat(2)
        );
    }

    #[test]
    fn escaping_paths_are_refused_even_when_signed() {
        let f = fixture();
        for path in [
            "../wp-config.php",
            "a/../../b",
            "/etc/passwd",
            "a//b",
            "./a",
            "a\\..\\b",
            "C:x",
            "a\0b",
            "",
        ] {
            let mut m = manifest(&f, 5);
            m.items[0].path = path.to_owned();
            assert!(
                matches!(refusal(&f, &bundle(&f, &m)), BundleError::UnsafePath(_)),
                "{path:?}"
            );
            assert!(
                Payload::build([(ItemKind::Content, path, vec![])]).is_err(),
                "{path:?}"
            );
        }
        let mut m = manifest(&f, 5);
        m.items[1].path = m.items[0].path.clone();
        m.items[1].kind = m.items[0].kind;
        assert!(matches!(
            refusal(&f, &bundle(&f, &m)),
            BundleError::DuplicatePath(_)
        ));
    }

    #[test]
    fn size_limits_hold_before_and_after_unpacking() {
        let f = fixture();
        let bytes = bundle(&f, &manifest(&f, 5));
        let tight = Expectations {
            max_bundle_bytes: bytes.len() as u64 - 1,
            ..expect(&f)
        };
        let err = verify(&bytes, &f.key.verifying_key(), &tight).unwrap_err();
        assert!(matches!(err, BundleError::TooLarge { .. }));
        // A small bundle whose manifest claims huge items ("zip bomb" sizes).
        let mut m = manifest(&f, 5);
        m.items[2].size = u64::MAX / 2;
        let err = refusal(&f, &bundle(&f, &m));
        assert!(
            matches!(err, BundleError::UnpackedTooLarge { .. }),
            "{err:?}"
        );
        let mut huge_manifest = MAGIC.to_vec();
        huge_manifest.extend_from_slice(&(MAX_MANIFEST_BYTES as u32 + 1).to_be_bytes());
        assert!(matches!(
            refusal(&f, &huge_manifest),
            BundleError::ManifestTooLarge(_)
        ));
    }
}
