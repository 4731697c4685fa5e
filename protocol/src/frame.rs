//! Frames on the agent's WebSocket, versioned by [`PROTOCOL_VERSION`].
//!
//! Control messages are JSON text frames tagged by `type`. A bundle travels
//! as one binary frame: the 16-byte deployment id, then the bundle bytes, so
//! an agent can report on a delivery even when the bundle itself is garbage.
//!
//! ```text
//! server                               agent
//!   ── challenge {nonce} ──────────────▶
//!   ◀────────── hello {agent_id, signature over nonce, last_applied}
//!   ── welcome {site_id} ──────────────▶
//!   ── binary: deployment id ‖ bundle ─▶
//!   ◀────────────── ack | refused {deployment_id, sequence}
//!   ◀────────────── applied {deployment_id, sequence, results}
//!   ◀────────────── inventory {…} | drift {…}   (on connect, after applies)
//!   ── restarting {…} / revoked ───────▶   (then the server closes)
//! ```
//! WebSocket pings go both ways as heartbeats.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The frame protocol version both sides must speak.
pub const PROTOCOL_VERSION: u32 = 1;

/// Path of the agent's WebSocket endpoint on the control plane.
pub const AGENT_CONNECT_PATH: &str = "/api/v1/agent/connect";

/// What an agent signs to prove its identity: this context, the server's
/// nonce, then its own id, so a signature is good for one connection only.
pub const AUTH_CONTEXT: &[u8] = b"gsw-agent-auth-v1\0";

/// Largest text frame either side accepts.
pub const MAX_TEXT_FRAME_BYTES: usize = 64 * 1024;

/// The message an agent signs in its `hello`.
pub fn auth_message(nonce: &[u8], agent_id: Uuid) -> Vec<u8> {
    let mut message = Vec::with_capacity(AUTH_CONTEXT.len() + nonce.len() + 16);
    message.extend_from_slice(AUTH_CONTEXT);
    message.extend_from_slice(nonce);
    message.extend_from_slice(agent_id.as_bytes());
    message
}

/// Frames the control plane sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerFrame {
    /// First frame: prove who you are by signing `nonce` (base64).
    Challenge { version: u32, nonce: String },
    /// Authenticated; deliveries follow.
    Welcome { site_id: Uuid, heartbeat_secs: u64 },
    /// The server is going away: reconnect after `retry_after_ms` plus a
    /// random share of `spread_ms`, so agents do not all return at once.
    Restarting { retry_after_ms: u64, spread_ms: u64 },
    /// This agent has been revoked; stop reconnecting.
    Revoked,
}

/// Frames an agent sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentFrame {
    /// Answer to the challenge.
    Hello {
        version: u32,
        agent_id: Uuid,
        /// Ed25519 signature of [`auth_message`], base64.
        signature: String,
        agent_version: String,
        /// Highest bundle sequence applied so far.
        last_applied: u64,
    },
    /// The bundle is verified and safely on disk.
    Ack { deployment_id: Uuid, sequence: u64 },
    /// The bundle was refused and will never be applied.
    Refused {
        deployment_id: Uuid,
        sequence: Option<u64>,
        code: String,
        reason: String,
    },
    /// The bundle was applied; one result per item.
    Applied {
        deployment_id: Uuid,
        sequence: u64,
        results: Vec<ItemResult>,
    },
    /// The WordPress installation as it is now; sent on connect and after each apply.
    Inventory { inventory: crate::site::Inventory },
    /// Deployed content changed in WordPress since; sent on connect, after
    /// each apply and periodically.
    Drift { drift: crate::site::Drift },
}

/// What happened to one item of an applied bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemResult {
    pub kind: crate::bundle::ItemKind,
    pub path: String,
    pub status: ItemStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What applying one item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ItemStatus {
    /// Changed the site as the item says.
    Applied,
    /// The site already was as the item says.
    Unchanged,
    /// Not applied, on purpose (a planned plugin that is not there); the message says why.
    Skipped,
    /// Not applied because of an error; the message says what.
    Failed,
}

/// Splits a delivery binary frame into deployment id and bundle bytes.
pub fn split_delivery(frame: &[u8]) -> Option<(Uuid, &[u8])> {
    let (id, bundle) = frame.split_first_chunk::<16>()?;
    Some((Uuid::from_bytes(*id), bundle))
}

/// Makes a delivery binary frame: the deployment id, then the bundle.
pub fn delivery_frame(
    deployment_id: Uuid,
    bundle: &crate::bundle::SignedManifest,
    payload: &[u8],
) -> Vec<u8> {
    let mut frame = Vec::with_capacity(16 + bundle.encoded_len(payload.len()));
    frame.extend_from_slice(deployment_id.as_bytes());
    bundle.encode_into(&mut frame, payload);
    frame
}

/// WebSocket close codes with the reason each stands for.
pub mod close {
    /// The frame was not valid JSON or not of the expected shape.
    pub const MALFORMED: u16 = 4400;
    /// The identity proof failed (unknown agent, bad signature).
    pub const AUTH_FAILED: u16 = 4401;
    /// The agent has been revoked.
    pub const REVOKED: u16 = 4403;
    /// No hello, or no traffic, within the allowed time.
    pub const TIMEOUT: u16 = 4408;
    /// A frame arrived that is not allowed at this point of the conversation.
    pub const OUT_OF_ORDER: u16 = 4409;
    /// The same agent connected again; this older connection is closed.
    pub const REPLACED: u16 = 4410;
    /// A frame larger than allowed.
    pub const TOO_LARGE: u16 = 4413;
    /// A frame type this side does not know.
    pub const UNKNOWN_TYPE: u16 = 4415;
    /// The other side speaks another protocol version.
    pub const UNSUPPORTED_VERSION: u16 = 4426;
    /// The server is restarting (standard 1012).
    pub const SERVICE_RESTART: u16 = 1012;
}

/// Why a text frame could not be read, with the close code it calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub close_code: u16,
    pub reason: String,
}

/// Reads a text frame, telling an unknown type apart from a malformed frame.
pub fn parse_frame<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FrameError> {
    if text.len() > MAX_TEXT_FRAME_BYTES {
        return Err(FrameError {
            close_code: close::TOO_LARGE,
            reason: "frame too large".into(),
        });
    }
    serde_json::from_str(text).map_err(|err| {
        let unknown = err.to_string().starts_with("unknown variant");
        FrameError {
            close_code: if unknown {
                close::UNKNOWN_TYPE
            } else {
                close::MALFORMED
            },
            reason: truncate(&err.to_string(), 100),
        }
    })
}

/// Close reasons must fit in a control frame (123 bytes).
fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_a_stable_json_shape() {
        let frame = AgentFrame::Ack {
            deployment_id: Uuid::nil(),
            sequence: 3,
        };
        let json = serde_json::to_value(&frame).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "ack", "deployment_id": "00000000-0000-0000-0000-000000000000", "sequence": 3})
        );
        let back: AgentFrame = parse_frame(&json.to_string()).unwrap();
        assert_eq!(back, frame);
    }

    #[test]
    fn bad_frames_map_to_close_codes() {
        let unknown = parse_frame::<AgentFrame>(r#"{"type":"launch_missiles"}"#).unwrap_err();
        assert_eq!(unknown.close_code, close::UNKNOWN_TYPE);
        let malformed =
            parse_frame::<AgentFrame>(r#"{"type":"ack","sequence":"three"}"#).unwrap_err();
        assert_eq!(malformed.close_code, close::MALFORMED);
        let garbage = parse_frame::<AgentFrame>("not json").unwrap_err();
        assert_eq!(garbage.close_code, close::MALFORMED);
        let big = parse_frame::<AgentFrame>(&"x".repeat(MAX_TEXT_FRAME_BYTES + 1)).unwrap_err();
        assert_eq!(big.close_code, close::TOO_LARGE);
        assert!(unknown.reason.len() <= 123);
    }

    #[test]
    fn delivery_frames_round_trip() {
        let id = Uuid::now_v7();
        let signed = crate::bundle::SignedManifest {
            manifest: b"{}".to_vec(),
            signature: [7; 64],
        };
        let frame = delivery_frame(id, &signed, b"payload");
        assert_eq!(
            split_delivery(&frame),
            Some((id, signed.encode(b"payload").as_slice()))
        );
        assert_eq!(split_delivery(b"short"), None);
    }
}
