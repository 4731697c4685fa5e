//! Wire types shared by every gsWstudio process.
//!
//! Anything that crosses a process boundary between the control plane, the
//! `wp-agent` sidecar and the PHP extension is defined here once, so the
//! three cannot drift apart: the REST API's error body, the agent's
//! WebSocket frames ([`frame`]) and the signed bundle format ([`bundle`]).
#![forbid(unsafe_code)]

pub mod blocks;
pub mod bundle;
pub mod frame;
pub mod items;
pub mod pull;
pub mod site;

use serde::{Deserialize, Serialize};

/// Version of the REST API served under [`API_PREFIX`].
pub const API_VERSION: u32 = 1;

/// Path prefix of the control plane's REST API.
pub const API_PREFIX: &str = "/api/v1";

/// Header carrying the id of one request, echoed in responses and logs.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Whether a URL's host (`localhost`, `127.0.0.1`, `[::1]`) is this machine:
/// the one place plain HTTP between the agent and the control plane is safe.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Body of every error response from the REST API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// What went wrong, in a form a program can branch on and a person can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Stable machine-readable code, such as `validation_failed`.
    pub code: String,
    /// Human-readable explanation saying what to fix.
    pub message: String,
    /// For a validation error about one field, that field's path (`email`,
    /// `goals[2]`, `sections[0].heading`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Id of the request, to quote when asking an operator to look at logs.
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_the_documented_shape() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: "not_found".into(),
                message: "site not found".into(),
                field: None,
                request_id: "abc".into(),
            },
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "not_found", "message": "site not found", "request_id": "abc"}})
        );
    }

    #[test]
    fn loopback_hosts_are_this_machine_only() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.9.8.7", "[::1]"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "localhost.evil.example",
            "10.0.0.1",
            "[::2]",
            "example.com",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn error_body_rejects_unknown_fields() {
        let raw = r#"{"error":{"code":"x","message":"y","request_id":"z","extra":1}}"#;
        assert!(serde_json::from_str::<ErrorBody>(raw).is_err());
    }
}
