//! The one error type of the API, and the JSON shape every error takes.

use std::time::Duration;

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gsw_protocol::{ErrorBody, ErrorDetail};
use gsw_storage::StoreError;

tokio::task_local! {
    /// The id of the request being served, set by the request-id middleware.
    pub static REQUEST_ID: String;
}

/// The id of the request this task is serving, or `-` outside of one.
pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

/// Every failure a request can end in. Each variant a caller can cause says
/// what to fix; internal failures are logged and shown only as a request id.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The body is not JSON, or not JSON of the expected shape.
    #[error("{0}")]
    MalformedRequest(String),
    /// Well-formed, but a value breaks a rule (length, format, range). The
    /// field is named on its own for programs, and in the message for people.
    #[error("{}", validation_message(field.as_deref(), message))]
    Validation {
        /// Path of the offending field (`email`, `goals[2]`, `sections[0].heading`), if one is to blame.
        field: Option<String>,
        /// What is wrong with it and what is allowed.
        message: String,
    },
    /// The body is not declared as JSON.
    #[error("send the body as JSON with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// The body is larger than the server accepts.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// No usable access token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Wrong email or password.
    #[error("wrong email or password")]
    InvalidCredentials,
    /// The refresh token is unknown, expired or revoked.
    #[error("the refresh token is not valid; log in again")]
    InvalidRefreshToken,
    /// A refresh token was presented twice: its family is now revoked.
    #[error("this refresh token was already used; every session it belonged to has been signed out, log in again")]
    RefreshTokenReused,
    /// An enrollment token that cannot be used.
    #[error("{0}")]
    EnrollmentRefused(&'static str),
    /// A request on an agent's behalf that is not signed by an enrolled key.
    #[error("{0}")]
    AgentUnauthenticated(&'static str),
    /// The agent (or connector plugin) was revoked: it must be connected again.
    #[error("this connection was revoked; connect the site again")]
    AgentRevoked,
    /// Signed in, but the role does not allow this.
    #[error("this needs the {0} role")]
    Forbidden(&'static str),
    /// No such resource (or not the caller's).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The path names no route.
    #[error("no such route")]
    NoRoute,
    /// The route exists, but not for this method.
    #[error("this route does not accept that method")]
    MethodNotAllowed,
    /// A unique value is taken.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The resource is not in a state that allows this (yet, or any more).
    #[error("{0}")]
    InvalidState(String),
    /// Too many attempts; try again after the given time.
    #[error("too many attempts; try again in {} seconds", .0.as_secs().max(1))]
    RateLimited(Duration),
    /// The caller holds as many of something as it may at once (connections,
    /// sockets); the message says which and how many.
    #[error("{0}")]
    TooManyAtOnce(String),
    /// The server is doing as much of this as it takes at once; try again
    /// after the given time.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after: Duration,
    },
    /// A WordPress site named by the caller could not be checked or
    /// connected; the failure carries its own code.
    #[error(transparent)]
    WordPress(#[from] crate::wordpress::Failure),
    /// A dependency (the database) is not reachable.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an outage: details go to the log, not to the caller.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn validation_message(field: Option<&str>, message: &str) -> String {
    match field {
        Some(field) => format!("{field}: {message}"),
        None => message.to_owned(),
    }
}

impl AppError {
    /// A value of `field` breaks a rule, said by `message`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// The request as a whole breaks a rule (no single field is to blame).
    pub fn invalid_body(message: impl Into<String>) -> Self {
        AppError::Validation {
            field: None,
            message: message.into(),
        }
    }

    /// A body that did not deserialize into the expected shape, from serde's
    /// words: `goals[0]: invalid type…` names its field first; a missing or
    /// unknown field at the top is named in backticks.
    fn from_serde(text: &str) -> Self {
        // A field path starts with a name: `[0]` is serde's positional form
        // of a whole body sent as an array, no field of ours.
        let is_path = |p: &str| {
            p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_[].".contains(c))
        };
        if let Some((path, rest)) = text.split_once(": ").filter(|(p, _)| is_path(p)) {
            return AppError::invalid(path, rest);
        }
        let named = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|lead| text.strip_prefix(lead))
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name)
            .filter(|name| is_path(name));
        AppError::Validation {
            field: named.map(str::to_owned),
            message: text.to_owned(),
        }
    }

    /// HTTP status and stable code of this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use AppError::*;
        match self {
            MalformedRequest(_) => (StatusCode::BAD_REQUEST, "malformed_request"),
            Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            InvalidRefreshToken => (StatusCode::UNAUTHORIZED, "invalid_refresh_token"),
            RefreshTokenReused => (StatusCode::UNAUTHORIZED, "refresh_token_reused"),
            EnrollmentRefused(_) => (StatusCode::UNAUTHORIZED, "enrollment_refused"),
            AgentUnauthenticated(_) => (StatusCode::UNAUTHORIZED, "agent_auth_failed"),
            AgentRevoked => (StatusCode::UNAUTHORIZED, "agent_revoked"),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            NotFound(_) | NoRoute => (StatusCode::NOT_FOUND, "not_found"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            InvalidState(_) => (StatusCode::CONFLICT, "invalid_state"),
            RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            TooManyAtOnce(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_at_once"),
            Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            WordPress(failure) => {
                use crate::wordpress::Failure;
                let status = match failure {
                    Failure::ConnectorMissing(_) => StatusCode::CONFLICT,
                    Failure::ConnectFailed(_) => StatusCode::BAD_GATEWAY,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                (status, failure.code())
            }
            Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let request_id = current_request_id();
        let message = match &self {
            AppError::Internal(err) => {
                tracing::error!(error = ?err, "internal error");
                format!("internal error; quote request id {request_id} when reporting it")
            }
            AppError::Unavailable(why) => {
                tracing::warn!(%why, "dependency unavailable");
                self.to_string()
            }
            other => other.to_string(),
        };
        let field = match &self {
            AppError::Validation { field, .. } => field.clone(),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                field,
                request_id,
            },
        };
        let mut response = (status, Json(body)).into_response();
        match &self {
            AppError::RateLimited(wait)
            | AppError::Busy {
                retry_after: wait, ..
            } => {
                let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            AppError::Unauthorized(_) | AppError::InvalidCredentials => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => AppError::Conflict(what),
            other => AppError::Internal(anyhow::Error::new(other).context("storage")),
        }
    }
}

impl From<gsw_generation::draft::UnreadableDraft> for AppError {
    fn from(err: gsw_generation::draft::UnreadableDraft) -> Self {
        AppError::Internal(anyhow::Error::new(err))
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(err) => {
                AppError::from_serde(&serde_message(&err.body_text()))
            }
            JsonRejection::JsonSyntaxError(err) => AppError::MalformedRequest(format!(
                "the body is not valid JSON: {}",
                serde_message(&err.body_text())
            )),
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType,
            JsonRejection::BytesRejection(err) => err.into(),
            other => AppError::MalformedRequest(other.body_text()),
        }
    }
}

impl From<BytesRejection> for AppError {
    fn from(rejection: BytesRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            _ => AppError::MalformedRequest(rejection.body_text()),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::MalformedRequest(format!("bad path parameter: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::MalformedRequest(format!("bad query string: {}", rejection.body_text()))
    }
}

/// Drops axum's "Failed to deserialize the JSON body into the target type: "
/// preamble, keeping serde's own words (field, expected type, line, column).
fn serde_message(text: &str) -> String {
    text.split_once(": ")
        .map(|(_, rest)| rest)
        .unwrap_or(text)
        .to_owned()
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(err: AppError) -> (StatusCode, serde_json::Value, Response) {
        let response = REQUEST_ID
            .scope("req-1".to_owned(), async { err.into_response() })
            .await;
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap();
        (
            parts.status,
            json,
            Response::from_parts(parts, axum::body::Body::empty()),
        )
    }

    #[tokio::test]
    async fn internal_errors_show_only_the_request_id() {
        let err = AppError::Internal(anyhow::anyhow!("relation \"users\" does not exist"));
        let (status, json, _) = body_of(err).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json["error"]["code"], "internal");
        assert_eq!(json["error"]["request_id"], "req-1");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(!message.contains("relation"), "{message}");
        assert!(message.contains("req-1"));
    }

    #[tokio::test]
    async fn validation_errors_name_their_field_apart() {
        let (status, json, _) = body_of(AppError::invalid("goals[1]", "must not be empty")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(json["error"]["field"], "goals[1]");
        assert_eq!(json["error"]["message"], "goals[1]: must not be empty");
        let (_, json, _) = body_of(AppError::invalid_body("send at least one item")).await;
        assert!(json["error"].get("field").is_none(), "{json}");
    }

    #[test]
    fn serde_errors_name_the_field_they_are_about() {
        let field = |text: &str| match AppError::from_serde(text) {
            AppError::Validation { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field("goals[0]: invalid type: integer `3`, expected a string at line 1 column 9"),
            Some("goals[0]".into())
        );
        assert_eq!(
            field("missing field `email` at line 1 column 2"),
            Some("email".into())
        );
        assert_eq!(
            field("unknown field `admin`, expected `email` or `password` at line 1 column 8"),
            Some("admin".into())
        );
        assert_eq!(
            field("invalid type: sequence, expected struct Credentials"),
            None
        );
    }

    #[tokio::test]
    async fn rate_limits_say_when_to_come_back() {
        let (status, json, response) =
            body_of(AppError::RateLimited(Duration::from_millis(2300))).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(json["error"]["code"], "rate_limited");
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
    }
}
