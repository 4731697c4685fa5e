//! One-time enrollment tokens: made for one of a user's sites, used once by
//! the agent that enrolls for it (`wp-agent enroll`, or the connector plugin
//! when the site is connected with WordPress credentials).

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use gsw_protocol::bundle::key_fingerprint;
use gsw_storage::{NewEnrollmentToken, Store, StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::settings::Settings;

/// Enrollment tokens live this long.
pub const ENROLLMENT_TTL_MINUTES: i64 = 60;

/// A fresh token and what the enrolling side needs with it.
#[derive(Debug)]
pub struct IssuedToken {
    /// Single use; expires at `expires_at`. Stored only as its SHA-256.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// The URL the agent enrolls at (see [`public_url`]).
    pub server: String,
    /// Fingerprint of the key that signs this control plane's bundles
    /// (`SHA256:…`), which the enrolling side pins.
    pub bundle_key_fingerprint: String,
}

/// How a token is stored and looked up.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Makes a one-time token for `site_id`, a site of `owner`'s, to enroll at
/// `server` (see [`public_url`]); `None` when there is no such site of
/// theirs.
pub async fn issue(
    store: &dyn Store,
    signing_key: &ed25519_dalek::SigningKey,
    owner: Uuid,
    site_id: Uuid,
    server: String,
) -> Result<Option<IssuedToken>, StoreError> {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!(
        "gswe_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let now = Utc::now();
    let record = NewEnrollmentToken {
        id: Uuid::now_v7(),
        site_id,
        token_hash: token_hash(&token),
        created_at: now,
        expires_at: now + Duration::minutes(ENROLLMENT_TTL_MINUTES),
    };
    if !store.create_enrollment_token(owner, &record).await? {
        return Ok(None);
    }
    Ok(Some(IssuedToken {
        token,
        expires_at: record.expires_at,
        server,
        bundle_key_fingerprint: key_fingerprint(&signing_key.verifying_key()),
    }))
}

/// The URL agents and people reach this control plane at: the configured
/// one. Without it the node listens on loopback only (settings insist), and
/// the URL names this machine: the request's `host` when it says so (the
/// port a test bound), never a name from outside.
pub fn public_url(settings: &Settings, host: Option<&str>) -> String {
    if let Some(url) = &settings.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = host
        .filter(|h| is_loopback_authority(h))
        .map(str::to_owned)
        .unwrap_or_else(|| settings.listen.to_string());
    format!("http://{host}")
}

/// `localhost`, `127.x.y.z` or `[::1]`, with an optional port.
fn is_loopback_authority(authority: &str) -> bool {
    let Ok(url) = url::Url::parse(&format!("http://{authority}/")) else {
        return false;
    };
    if url.path() != "/" || url.username() != "" || url.password().is_some() {
        return false;
    }
    url.host_str().is_some_and(gsw_protocol::is_loopback_host)
}
