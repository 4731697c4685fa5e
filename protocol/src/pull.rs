//! The connector plugin's own connection, for hosts without the sidecar
//! (shared hosting: no shell, no PHP extension, no long-lived process).
//!
//! The plugin only dials out, like the agent, but over plain HTTPS requests
//! run from WP-Cron or a real cron instead of a WebSocket:
//!
//! ```text
//! plugin                                        control plane
//!   GET  /api/v1/agent/bundles/next?wait=N ──────▶  (held up to N seconds
//!   ◀── 200 bundle bytes (X-GSW-Deployment-Id)        while nothing is queued)
//!       or 204 nothing queued
//!   POST /api/v1/agent/reports [frames] ─────────▶  ack, refused, applied,
//!   ◀── 204                                          inventory, drift
//! ```
//!
//! The bundle is exactly the [`crate::bundle`] format and the reports are the
//! same [`crate::frame::AgentFrame`]s an agent sends over its WebSocket, so
//! both connections share verification, journal and report handling.
//!
//! Every request is signed with the key the plugin enrolled: headers
//! [`AGENT_HEADER`], [`TIMESTAMP_HEADER`] and [`SIGNATURE_HEADER`], the
//! signature being Ed25519 over [`request_message`]. The control plane takes a
//! timestamp at most [`MAX_REQUEST_SKEW_SECS`] away from its clock. A replayed
//! request can only fetch a bundle again (signed for this site alone) or
//! repeat a report (idempotent), never change anything new.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Where the plugin asks for its next bundle.
pub const NEXT_BUNDLE_PATH: &str = "/api/v1/agent/bundles/next";
/// Where the plugin posts its reports (a JSON array of agent frames).
pub const REPORTS_PATH: &str = "/api/v1/agent/reports";

/// The enrolled agent's id.
pub const AGENT_HEADER: &str = "x-gsw-agent";
/// Unix seconds when the request was signed.
pub const TIMESTAMP_HEADER: &str = "x-gsw-timestamp";
/// Ed25519 signature of [`request_message`], base64.
pub const SIGNATURE_HEADER: &str = "x-gsw-signature";
/// On a delivered bundle: the deployment it carries.
pub const DEPLOYMENT_HEADER: &str = "x-gsw-deployment-id";

/// Domain separation: a request signature is never valid as anything else.
pub const REQUEST_CONTEXT: &[u8] = b"gsw-pull-v1\0";
/// How far a request's timestamp may be from the control plane's clock.
pub const MAX_REQUEST_SKEW_SECS: i64 = 300;
/// Longest a bundle request is held open waiting for a deployment.
pub const MAX_WAIT_SECS: u64 = 25;
/// Most frames in one report request.
pub const MAX_REPORT_FRAMES: usize = 32;

/// What a request's signature covers, one field a line:
/// [`REQUEST_CONTEXT`], then the method, the path with its query exactly as
/// sent, the timestamp, the agent id and the SHA-256 (lower-case hex) of the
/// body (of nothing for a GET).
pub fn request_message(
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    agent_id: Uuid,
    body: &[u8],
) -> Vec<u8> {
    let mut message = REQUEST_CONTEXT.to_vec();
    message.extend_from_slice(
        format!(
            "{method}\n{path_and_query}\n{timestamp}\n{agent_id}\n{}",
            hex::encode(Sha256::digest(body))
        )
        .as_bytes(),
    );
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PHP connector builds the same bytes (`GSW_Link::request_message`);
    /// this pins them so neither side changes alone.
    #[test]
    fn the_signed_message_is_stable() {
        let agent = Uuid::parse_str("0190a5f2-0000-7000-8000-000000000001").unwrap();
        let message = request_message("POST", "/api/v1/agent/reports", 1_800_000_000, agent, b"[]");
        assert_eq!(
            String::from_utf8(message).unwrap(),
            "gsw-pull-v1\0POST\n/api/v1/agent/reports\n1800000000\n\
             0190a5f2-0000-7000-8000-000000000001\n\
             4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"
        );
    }
}
