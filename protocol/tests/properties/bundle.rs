//! `bundle::verify`: never panics, accepts exactly what was signed, and
//! refuses every change to a signed bundle.

use std::collections::HashSet;

use ed25519_dalek::SigningKey;
use gsw_protocol::bundle::{
    peek_manifest, verify, Expectations, ItemKind, Manifest, Payload, SignedManifest, FORMAT, MAGIC,
};
use proptest::prelude::*;
use uuid::Uuid;

/// Items as given to `Payload::build`: kind, path, bytes.
type Items = Vec<(ItemKind, String, Vec<u8>)>;

const NOW: i64 = 1_800_000_000;
const SITE: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn expect() -> Expectations {
    Expectations {
        site_id: SITE,
        last_applied: 4,
        now: NOW,
        max_bundle_bytes: 1 << 20,
        max_unpacked_bytes: 1 << 20,
    }
}

fn kind() -> impl Strategy<Value = ItemKind> {
    prop_oneof![
        Just(ItemKind::Content),
        Just(ItemKind::Theme),
        Just(ItemKind::Plugin),
        Just(ItemKind::Design),
        Just(ItemKind::Media),
        Just(ItemKind::Rollback),
    ]
}

/// Up to five items with plain, distinct paths and up to 300 bytes each.
fn items() -> impl Strategy<Value = Items> {
    let path = "[a-z0-9_-]{1,8}(/[a-z0-9_.-]{0,6}[a-z0-9_-]){0,2}";
    prop::collection::vec(
        (kind(), path, prop::collection::vec(any::<u8>(), 0..300)),
        0..5,
    )
    .prop_map(|items| {
        let mut seen = HashSet::new();
        items
            .into_iter()
            .filter(|(kind, path, _)| seen.insert((*kind, path.clone())))
            .collect()
    })
}

/// A valid signed bundle and the items it carries.
fn signed_bundle() -> impl Strategy<Value = (Vec<u8>, Items)> {
    (items(), 5..u64::MAX, any::<bool>()).prop_map(|(items, sequence, unfiltered_html)| {
        let payload = Payload::build(items.clone()).expect("the strategy makes plain paths");
        let manifest = Manifest {
            format: FORMAT,
            bundle_id: Uuid::from_u128(u128::from(sequence)),
            site_id: SITE,
            sequence,
            created_at: NOW - 10,
            expires_at: NOW + 3600,
            policy: gsw_protocol::bundle::Policy { unfiltered_html },
            items: payload.items.clone(),
        };
        let bytes = SignedManifest::sign(&manifest, &key()).encode(&payload.bytes);
        (bytes, items)
    })
}

/// What `verify` hands out, for comparing with what was signed.
fn verified_items(bytes: &[u8]) -> Result<Items, String> {
    let verified = verify(bytes, &key().verifying_key(), &expect()).map_err(|e| e.to_string())?;
    Ok(verified
        .items()
        .map(|(entry, data)| (entry.kind, entry.path.clone(), data.to_vec()))
        .collect())
}

proptest! {
    #![proptest_config(crate::config(256))]

    #[test]
    fn arbitrary_bytes_never_verify(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        prop_assert!(verify(&bytes, &key().verifying_key(), &expect()).is_err());
        let _ = peek_manifest(&bytes);
    }

    #[test]
    fn bytes_behind_the_magic_never_verify(
        manifest_len in prop_oneof![0u32..2048, any::<u32>()],
        rest in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&manifest_len.to_be_bytes());
        bytes.extend_from_slice(&rest);
        prop_assert!(verify(&bytes, &key().verifying_key(), &expect()).is_err());
        let _ = peek_manifest(&bytes);
    }
}

proptest! {
    // Each case signs a bundle, which is slow without optimisation.
    #![proptest_config(crate::config(64))]

    #[test]
    fn a_signed_bundle_verifies_to_exactly_its_items((bytes, items) in signed_bundle()) {
        prop_assert_eq!(verified_items(&bytes), Ok(items));
    }

    #[test]
    fn every_truncation_is_refused((bytes, _) in signed_bundle(), cut in any::<prop::sample::Index>()) {
        let len = cut.index(bytes.len());
        prop_assert!(verify(&bytes[..len], &key().verifying_key(), &expect()).is_err());
    }

    #[test]
    fn every_changed_byte_is_refused(
        (bytes, _) in signed_bundle(),
        at in any::<prop::sample::Index>(),
        flip in 1..=u8::MAX,
    ) {
        let mut changed = bytes.clone();
        changed[at.index(bytes.len())] ^= flip;
        let outcome = verified_items(&changed);
        prop_assert!(outcome.is_err(), "byte {} ^ {flip:#04x} verified: {outcome:?}", at.index(bytes.len()));
        let _ = peek_manifest(&changed);
    }

    #[test]
    fn an_inserted_or_removed_byte_is_refused(
        (bytes, _) in signed_bundle(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        insert in any::<bool>(),
    ) {
        let mut changed = bytes.clone();
        if insert {
            changed.insert(at.index(bytes.len() + 1), byte);
        } else {
            changed.remove(at.index(bytes.len()));
        }
        prop_assert!(verified_items(&changed).is_err());
    }
}
