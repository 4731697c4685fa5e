//! Extractors whose rejections are [`AppError`]s, so a malformed request gets
//! the same JSON error shape as everything else.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use gsw_storage::Role;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::auth::tokens::AccessTokenError;
use crate::error::AppError;
use crate::state::AppState;

/// A JSON body, which must be a JSON object: serde would take an array for a
/// struct, field by position (`["a@example.com", "…"]` for credentials).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(request.headers()) {
            return Err(AppError::UnsupportedMediaType);
        }
        let body = Bytes::from_request(request, state).await?;
        json_object(&body).map(ApiJson)
    }
}

/// Reads a body declared as JSON that must be a JSON object of type `T`, as
/// [`ApiJson`] does, for handlers that look at the raw body first.
pub fn json_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => AppError::invalid_body("the body must be a JSON object"),
                Err(err) => {
                    AppError::MalformedRequest(format!("the body is not valid JSON: {err}"))
                }
            },
        );
    }
    let axum::Json(value) = axum::Json::<T>::from_bytes(body)?;
    Ok(value)
}

/// The token of an `Authorization: Bearer <token>` value; the scheme's
/// name is case-insensitive (RFC 9110).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// `application/json`, or a `+json` type, as axum's own `Json` accepts.
pub fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Path parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// Query parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// The signed-in caller, from a valid `Authorization: Bearer` access token.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub id: Uuid,
    pub role: Role,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(AppError::Unauthorized(
                "sign in: send `Authorization: Bearer <access token>`",
            ))?;
        let token = header
            .to_str()
            .ok()
            .and_then(bearer_token)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthorized(
                "the Authorization header must be `Bearer <access token>`",
            ))?;
        let claims = state.tokens.verify_access(token).map_err(|err| match err {
            AccessTokenError::Expired => {
                AppError::Unauthorized("the access token has expired; refresh it")
            }
            AccessTokenError::Invalid => AppError::Unauthorized("the access token is not valid"),
        })?;
        Ok(AuthUser {
            id: claims.sub,
            role: claims.role,
        })
    }
}

/// A signed-in caller with the `admin` role.
#[derive(Debug, Clone, Copy)]
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        match user.role {
            Role::Admin => Ok(AdminUser(user)),
            Role::User => Err(AppError::Forbidden("admin")),
        }
    }
}

/// A place among the deployment uploads handled at once. Taken from the
/// request's head, so a handler that lists it before its body reads no body
/// without one; refused with 503 and Retry-After when all are taken.
pub struct UploadSlot(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

impl FromRequestParts<AppState> for UploadSlot {
    type Rejection = AppError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let permit = state
            .deployment_uploads
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppError::Busy {
                message: format!(
                    "{} deployments are being uploaded already, the most this server takes at once; send it again in a few seconds",
                    state.settings.max_concurrent_deployment_uploads
                ),
                retry_after: std::time::Duration::from_secs(5),
            })?;
        Ok(UploadSlot(permit))
    }
}

/// The client's address: the peer, or behind a trusted proxy the address
/// that proxy appended to `X-Forwarded-For`.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if state.settings.trust_forwarded_for {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
                .next_back();
            if let Some(ip) = forwarded {
                return Ok(ClientAddr(ip));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(ClientAddr(peer))
    }
}

/// The URL agents and people reach this control plane at
/// ([`crate::fleet::enrollment::public_url`]: the configured one, or on
/// loopback this machine as the request's Host names it).
#[derive(Debug, Clone)]
pub struct PublicUrl(pub String);

impl FromRequestParts<AppState> for PublicUrl {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok());
        Ok(PublicUrl(crate::fleet::enrollment::public_url(
            &state.settings,
            host,
        )))
    }
}
