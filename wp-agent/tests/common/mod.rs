//! Shared by the agent's end-to-end test binaries.

use chrono::Utc;
use gsw_control_plane::testing::{TestApp, TestUser};
use gsw_protocol::bundle::{ItemEntry, Manifest, SignedManifest, FORMAT};
use gsw_storage::{NewRelease, SignFor, SignedForSite};
use serde_json::json;
use uuid::Uuid;

/// Queues a bundle built by hand, bypassing the API's checks, as an attacker
/// or a bug might produce it.
pub async fn queue_raw(
    app: &TestApp,
    user: &TestUser,
    site_id: &str,
    payload_bytes: Vec<u8>,
    manifest: impl Fn(Uuid, Uuid, u64) -> Manifest + Send + Sync,
    key: &ed25519_dalek::SigningKey,
) -> String {
    let owner: Uuid = user.id.parse().unwrap();
    let release = NewRelease {
        id: Uuid::now_v7(),
        user_id: owner,
        items: json!([]),
        payload: payload_bytes,
        created_at: Utc::now(),
        rollback_of: None,
    };
    let sign = |to: &SignFor| {
        let signed = SignedManifest::sign(&manifest(to.id, to.site_id, to.sequence), key);
        SignedForSite {
            manifest: signed.manifest,
            signature: signed.signature.to_vec(),
        }
    };
    let site: Uuid = site_id.parse().unwrap();
    let made = app
        .store
        .create_deployments(owner, &release, &[site], &sign)
        .await
        .unwrap()
        .unwrap();
    app.state.fleet.notify_site(site).await;
    made[0].id.to_string()
}

/// A manifest for `items` that expires in an hour.
pub fn manifest_for(items: &[ItemEntry], id: Uuid, site: Uuid, sequence: u64) -> Manifest {
    let now = Utc::now().timestamp();
    Manifest {
        format: FORMAT,
        bundle_id: id,
        site_id: site,
        sequence,
        created_at: now,
        expires_at: now + 3600,
        policy: Default::default(),
        items: items.to_vec(),
    }
}
