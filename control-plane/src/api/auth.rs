//! Routes for accounts and sessions: registration, login, refresh rotation, logout, `/me`.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use gsw_storage::{NewUser, Role, Rotation, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::views::UserView;
use crate::auth::ratelimit::RateLimiter;
use crate::auth::{password, tokens};
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, AuthUser, ClientAddr};
use crate::state::AppState;
use crate::validate;

/// Routes under `/auth`, plus `/me`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
}

/// Email and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[schema(example = "ada@example.com", max_length = 254, format = Email)]
    pub email: String,
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
}

/// A refresh token being presented.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(max_length = 128)]
    pub refresh_token: String,
}

/// Longest refresh token, in bytes (those issued are far shorter).
const REFRESH_TOKEN_MAX: usize = 128;

/// A refresh token over the documented length is no token of ours: it is
/// refused as invalid input (422), as the document's `maxLength` says.
fn refresh_token_length(body: &RefreshRequest) -> ApiResult<()> {
    if body.refresh_token.chars().count() > REFRESH_TOKEN_MAX {
        return Err(AppError::invalid(
            "refresh_token",
            format!("must be at most {REFRESH_TOKEN_MAX} characters"),
        ));
    }
    Ok(())
}

/// Tokens for a signed-in session.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: i64,
    /// Opaque token for `POST /auth/refresh`; each is good for one use.
    pub refresh_token: String,
    /// Seconds the refresh token lives.
    pub refresh_expires_in: i64,
    pub user: UserView,
}

/// Starts a new refresh-token family for a user who just proved who they are.
async fn open_session(state: &AppState, user: User) -> ApiResult<Session> {
    let now = Utc::now();
    let minted = state.tokens.refresh_token(now);
    state
        .store
        .start_refresh_family(user.id, &minted.record)
        .await?;
    session_for(state, user, minted.token, now)
}

fn session_for(
    state: &AppState,
    user: User,
    refresh_token: String,
    now: DateTime<Utc>,
) -> ApiResult<Session> {
    Ok(Session {
        access_token: state.tokens.access_token(user.id, user.role, now)?,
        token_type: "Bearer",
        expires_in: state.tokens.access_ttl_secs(),
        refresh_token,
        refresh_expires_in: state.tokens.refresh_ttl_secs(),
        user: user.into(),
    })
}

fn limit(limiter: &RateLimiter, key: &str) -> ApiResult<()> {
    limiter
        .check(key, Instant::now())
        .map_err(AppError::RateLimited)
}

/// What registration answers, the same whether the address was new or
/// already had an account, so it tells nobody which addresses have one.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registration {
    /// The address as it will be signed in with (trimmed, lower case).
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// What to do next: sign in with `POST /auth/login`.
    pub message: &'static str,
}

const REGISTERED: &str = "If this address had no account, it has one now: sign in with the password you chose. If it already had one, nothing changed.";

/// Creates an account for an address that has none. The answer is the same
/// (status, body and about the time it takes) when the address already has
/// an account: then nothing changes and nobody is signed in, so registering
/// cannot tell anyone which addresses have accounts. Sign in afterwards with
/// `POST /auth/login`.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = Credentials,
    responses(
        (status = 202, description = "Accepted: the address has an account now (a new one, or the one it had, unchanged); sign in with POST /auth/login", body = Registration),
        (status = 422, description = "Invalid email or password", body = gsw_protocol::ErrorBody),
        (status = 429, description = "Too many attempts", body = gsw_protocol::ErrorBody),
    ))]
async fn register(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<(StatusCode, Json<Registration>)> {
    let email = validate::email(&body.email)?;
    validate::password(&body.password)?;
    limit(&state.client_limiter, &client.to_string())?;
    // Hashed either way, so an existing address answers no faster.
    let user = NewUser {
        id: Uuid::now_v7(),
        email,
        password_hash: password::hash(body.password).await?,
        role: Role::User,
        created_at: Utc::now(),
    };
    match state.store.create_user(&user).await {
        Ok(user) => tracing::info!(user_id = %user.id, "account registered"),
        // No mail is sent yet (see docs/accounts.md): the attempt is only logged.
        Err(gsw_storage::StoreError::Conflict(_)) => {
            tracing::info!(%client, "registration for an address that already has an account; nothing changed")
        }
        Err(err) => return Err(err.into()),
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(Registration {
            email: user.email,
            message: REGISTERED,
        }),
    ))
}

/// Signs in with email and password.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Credentials,
    responses(
        (status = 200, description = "Signed in", body = Session),
        (status = 401, description = "Wrong email or password", body = gsw_protocol::ErrorBody),
        (status = 422, description = "Not an email address, or an over-long password", body = gsw_protocol::ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = gsw_protocol::ErrorBody),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<Json<Session>> {
    let email = validate::email(&body.email)?;
    if body.password.chars().count() > validate::PASSWORD_MAX {
        return Err(validate::password(&body.password).unwrap_err());
    }
    limit(&state.client_limiter, &client.to_string())?;
    limit(&state.email_limiter, &email)?;
    let user = state.store.user_by_email(&email).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    if !password::verify(body.password, stored).await? {
        tracing::info!(%client, "login refused");
        return Err(AppError::InvalidCredentials);
    }
    let user = user.ok_or(AppError::InvalidCredentials)?;
    Ok(Json(open_session(&state, user).await?))
}

/// Trades a refresh token for a new session. Each refresh token works once;
/// presenting one again signs out every session of its family.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New access and refresh tokens", body = Session),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = gsw_protocol::ErrorBody),
        (status = 422, description = "A refresh token over 128 characters", body = gsw_protocol::ErrorBody),
    ))]
async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Json<Session>> {
    refresh_token_length(&body)?;
    let now = Utc::now();
    let next = state.tokens.refresh_token(now);
    let presented = tokens::refresh_hash(&body.refresh_token);
    match state
        .store
        .rotate_refresh_token(&presented, &next.record, now)
        .await?
    {
        Rotation::Rotated { user_id, .. } => {
            let user = state
                .store
                .user_by_id(user_id)
                .await?
                .ok_or(AppError::InvalidRefreshToken)?;
            Ok(Json(session_for(&state, user, next.token, now)?))
        }
        Rotation::Reused { user_id, family_id } => {
            tracing::warn!(%user_id, %family_id, "refresh token reused; family revoked");
            Err(AppError::RefreshTokenReused)
        }
        Rotation::Revoked | Rotation::Expired | Rotation::Unknown => {
            Err(AppError::InvalidRefreshToken)
        }
    }
}

/// Signs out the session a refresh token belongs to.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Signed out (also when the token was already dead)")))]
async fn logout(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<StatusCode> {
    refresh_token_length(&body)?;
    let presented = tokens::refresh_hash(&body.refresh_token);
    state
        .store
        .revoke_refresh_family(&presented, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = UserView),
        (status = 401, description = "Not signed in", body = gsw_protocol::ErrorBody),
    ))]
async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<UserView>> {
    let user = state
        .store
        .user_by_id(user.id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    Ok(Json(user.into()))
}
