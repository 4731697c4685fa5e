//! Access tokens (short-lived JWTs) and refresh tokens (opaque, rotated).

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use gsw_storage::{NewRefreshToken, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const ISSUER: &str = "gsw-control-plane";
const REFRESH_PREFIX: &str = "gswr_";

/// What an access token says about its bearer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: Uuid,
    pub role: Role,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

/// Signs and checks access tokens; mints refresh tokens.
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

/// A freshly minted refresh token: the secret for the client, the record for storage.
pub struct MintedRefresh {
    pub token: String,
    pub record: NewRefreshToken,
}

impl TokenIssuer {
    /// An issuer signing with HS256 under `secret`.
    pub fn new(secret: &[u8], access_ttl_secs: u64, refresh_ttl_secs: u64) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl: Duration::seconds(i64::try_from(access_ttl_secs).context("access ttl")?),
            refresh_ttl: Duration::seconds(i64::try_from(refresh_ttl_secs).context("refresh ttl")?),
        })
    }

    /// Seconds an access token lives.
    pub fn access_ttl_secs(&self) -> i64 {
        self.access_ttl.num_seconds()
    }

    /// Seconds a refresh token lives.
    pub fn refresh_ttl_secs(&self) -> i64 {
        self.refresh_ttl.num_seconds()
    }

    /// Signs an access token for a user.
    pub fn access_token(
        &self,
        user: Uuid,
        role: Role,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user,
            role,
            iss: ISSUER.to_owned(),
            iat: now.timestamp(),
            exp: (now + self.access_ttl).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .context("signing an access token")
    }

    /// Checks an access token's signature, issuer and expiry.
    pub fn verify_access(&self, token: &str) -> Result<Claims, AccessTokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AccessTokenError::Expired,
                _ => AccessTokenError::Invalid,
            })
    }

    /// Mints a new random refresh token.
    pub fn refresh_token(&self, now: DateTime<Utc>) -> MintedRefresh {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let token = format!("{REFRESH_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
        let record = NewRefreshToken {
            id: Uuid::now_v7(),
            token_hash: refresh_hash(&token),
            created_at: now,
            expires_at: now + self.refresh_ttl,
        };
        MintedRefresh { token, record }
    }
}

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessTokenError {
    Expired,
    Invalid,
}

/// The hash under which a refresh token is stored; the token itself never is.
pub fn refresh_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(&[7u8; 32], 60, 3600).unwrap()
    }

    #[test]
    fn access_tokens_round_trip() {
        let user = Uuid::now_v7();
        let token = issuer()
            .access_token(user, Role::Admin, Utc::now())
            .unwrap();
        let claims = issuer().verify_access(&token).unwrap();
        assert_eq!(claims.sub, user);
        assert_eq!(claims.role, Role::Admin);
    }

    #[test]
    fn expired_forged_and_garbage_tokens_are_refused() {
        let user = Uuid::now_v7();
        let old = issuer()
            .access_token(user, Role::User, Utc::now() - Duration::hours(1))
            .unwrap();
        assert_eq!(
            issuer().verify_access(&old).unwrap_err(),
            AccessTokenError::Expired
        );
        let other = TokenIssuer::new(&[8u8; 32], 60, 3600).unwrap();
        let forged = other.access_token(user, Role::Admin, Utc::now()).unwrap();
        assert_eq!(
            issuer().verify_access(&forged).unwrap_err(),
            AccessTokenError::Invalid
        );
        assert_eq!(
            issuer().verify_access("a.b.c").unwrap_err(),
            AccessTokenError::Invalid
        );
        // An unsigned token must never pass, whatever it claims.
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(format!(
                r#"{{"sub":"{user}","role":"admin","iss":"gsw-control-plane","iat":0,"exp":99999999999}}"#
            ))
        );
        assert_eq!(
            issuer().verify_access(&unsigned).unwrap_err(),
            AccessTokenError::Invalid
        );
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let now = Utc::now();
        let a = issuer().refresh_token(now);
        let b = issuer().refresh_token(now);
        assert_ne!(a.token, b.token);
        assert!(a.token.starts_with(REFRESH_PREFIX));
        assert_eq!(a.record.token_hash, refresh_hash(&a.token));
        assert!(!a
            .record
            .token_hash
            .windows(5)
            .any(|w| w == REFRESH_PREFIX.as_bytes()));
        assert_eq!(a.record.expires_at, now + Duration::seconds(3600));
    }
}
