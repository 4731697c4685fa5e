//! Agent frames: any text maps to a frame or to a close code, never a panic,
//! and every frame reads back as itself.

use gsw_protocol::bundle::{ItemKind, SignedManifest};
use gsw_protocol::frame::{
    close, delivery_frame, parse_frame, split_delivery, AgentFrame, FrameError, ItemResult,
    ItemStatus, ServerFrame,
};
use proptest::prelude::*;
use serde_json::Value;
use uuid::Uuid;

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn text() -> impl Strategy<Value = String> {
    ".{0,40}"
}

fn server_frame() -> impl Strategy<Value = ServerFrame> {
    prop_oneof![
        (any::<u32>(), text())
            .prop_map(|(version, nonce)| ServerFrame::Challenge { version, nonce }),
        (uuid(), any::<u64>()).prop_map(|(site_id, heartbeat_secs)| ServerFrame::Welcome {
            site_id,
            heartbeat_secs
        }),
        (any::<u64>(), any::<u64>()).prop_map(|(retry_after_ms, spread_ms)| {
            ServerFrame::Restarting {
                retry_after_ms,
                spread_ms,
            }
        }),
        Just(ServerFrame::Revoked),
    ]
}

fn item_result() -> impl Strategy<Value = ItemResult> {
    let kind = prop_oneof![
        Just(ItemKind::Content),
        Just(ItemKind::Theme),
        Just(ItemKind::Plugin),
        Just(ItemKind::Design),
        Just(ItemKind::Media),
        Just(ItemKind::Rollback),
    ];
    let status = prop_oneof![
        Just(ItemStatus::Applied),
        Just(ItemStatus::Unchanged),
        Just(ItemStatus::Skipped),
        Just(ItemStatus::Failed),
    ];
    (kind, text(), status, prop::option::of(text())).prop_map(|(kind, path, status, message)| {
        ItemResult {
            kind,
            path,
            status,
            message,
        }
    })
}

fn agent_frame() -> impl Strategy<Value = AgentFrame> {
    prop_oneof![
        (any::<u32>(), uuid(), text(), text(), any::<u64>()).prop_map(
            |(version, agent_id, signature, agent_version, last_applied)| AgentFrame::Hello {
                version,
                agent_id,
                signature,
                agent_version,
                last_applied,
            }
        ),
        (uuid(), any::<u64>()).prop_map(|(deployment_id, sequence)| AgentFrame::Ack {
            deployment_id,
            sequence
        }),
        (uuid(), prop::option::of(any::<u64>()), text(), text()).prop_map(
            |(deployment_id, sequence, code, reason)| AgentFrame::Refused {
                deployment_id,
                sequence,
                code,
                reason,
            }
        ),
        (
            uuid(),
            any::<u64>(),
            prop::collection::vec(item_result(), 0..4)
        )
            .prop_map(|(deployment_id, sequence, results)| AgentFrame::Applied {
                deployment_id,
                sequence,
                results,
            }),
    ]
}

/// Any JSON value, nested a few levels.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object that looks like a frame: a known or unknown `type` and
/// fields with the frames' names holding any JSON.
fn frame_like() -> impl Strategy<Value = String> {
    let ty = prop_oneof![
        prop::sample::select(vec![
            "challenge",
            "welcome",
            "restarting",
            "revoked",
            "hello",
            "ack",
            "refused",
            "applied",
            "inventory",
            "drift",
        ])
        .prop_map(str::to_owned),
        text(),
    ];
    let field = prop::sample::select(vec![
        "version",
        "nonce",
        "site_id",
        "heartbeat_secs",
        "retry_after_ms",
        "spread_ms",
        "agent_id",
        "signature",
        "agent_version",
        "last_applied",
        "deployment_id",
        "sequence",
        "code",
        "reason",
        "results",
        "inventory",
        "drift",
        "kind",
        "path",
        "status",
    ]);
    (ty, prop::collection::vec((field, json()), 0..6)).prop_map(|(ty, fields)| {
        let mut object = serde_json::Map::new();
        object.insert("type".into(), Value::String(ty));
        for (name, value) in fields {
            object.insert(name.into(), value);
        }
        Value::Object(object).to_string()
    })
}

/// A refusal is one of the three close codes and fits in a close frame.
fn well_formed_refusal(err: &FrameError) -> bool {
    [close::MALFORMED, close::UNKNOWN_TYPE, close::TOO_LARGE].contains(&err.close_code)
        && err.reason.len() <= 123
}

fn check_parses<T: serde::de::DeserializeOwned + serde::Serialize>(
    text: &str,
) -> Result<(), TestCaseError> {
    match parse_frame::<T>(text) {
        // Whatever was accepted must survive being sent on again.
        Ok(frame) => {
            let again = serde_json::to_string(&frame).expect("a frame serialises");
            prop_assert!(parse_frame::<T>(&again).is_ok(), "{again}");
        }
        Err(err) => prop_assert!(well_formed_refusal(&err), "{err:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::config(256))]

    #[test]
    fn arbitrary_text_is_a_frame_or_a_close_code(text in "\\PC{0,200}|.{0,200}") {
        check_parses::<AgentFrame>(&text)?;
        check_parses::<ServerFrame>(&text)?;
    }

    #[test]
    fn arbitrary_json_is_a_frame_or_a_close_code(value in json()) {
        let text = value.to_string();
        check_parses::<AgentFrame>(&text)?;
        check_parses::<ServerFrame>(&text)?;
    }

    #[test]
    fn frame_shaped_json_is_a_frame_or_a_close_code(text in frame_like()) {
        check_parses::<AgentFrame>(&text)?;
        check_parses::<ServerFrame>(&text)?;
    }

    #[test]
    fn agent_frames_round_trip(frame in agent_frame()) {
        let text = serde_json::to_string(&frame).unwrap();
        prop_assert_eq!(parse_frame::<AgentFrame>(&text), Ok(frame));
    }

    #[test]
    fn server_frames_round_trip(frame in server_frame()) {
        let text = serde_json::to_string(&frame).unwrap();
        prop_assert_eq!(parse_frame::<ServerFrame>(&text), Ok(frame));
    }

    #[test]
    fn delivery_frames_round_trip(
        id in uuid(),
        manifest in prop::collection::vec(any::<u8>(), 0..64),
        signature in prop::array::uniform32(any::<u8>()),
        payload in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut full = [0u8; 64];
        full[..32].copy_from_slice(&signature);
        let signed = SignedManifest { manifest, signature: full };
        let frame = delivery_frame(id, &signed, &payload);
        let encoded = signed.encode(&payload);
        prop_assert_eq!(split_delivery(&frame), Some((id, encoded.as_slice())));
    }

    #[test]
    fn any_binary_frame_splits_or_is_too_short(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        match split_delivery(&bytes) {
            Some((id, rest)) => {
                prop_assert_eq!(id.as_bytes().as_slice(), &bytes[..16]);
                prop_assert_eq!(rest, &bytes[16..]);
            }
            None => prop_assert!(bytes.len() < 16),
        }
    }
}
