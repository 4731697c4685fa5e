//! Shared by the agent's end-to-end test binaries (each uses a part).
#![allow(dead_code)]

use std::time::Duration;

use chrono::Utc;
use gsw_control_plane::testing::{TestApp, TestUser};
use gsw_protocol::bundle::{ItemEntry, Manifest, SignedManifest, FORMAT};
use gsw_storage::{NewRelease, SignFor, SignedForSite};
use reqwest::Method;
use serde_json::{json, Value};
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

/// A fresh enrollment token for the site, as the API answers it.
pub async fn enrollment_token(app: &TestApp, user: &TestUser, site_id: &str) -> Value {
    let response = app
        .api(
            Method::POST,
            &format!("/sites/{site_id}/enrollment-tokens"),
            Some(&user.access),
            None,
        )
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// Waits up to 30 seconds for `check` to hold.
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Waits for a deployment to reach a final status and returns it.
pub async fn settled(app: &TestApp, user: &TestUser, deployment_id: &str) -> Value {
    let path = format!("/deployments/{deployment_id}");
    let mut last = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        last = app
            .api(Method::GET, &path, Some(&user.access), None)
            .await
            .json()
            .await
            .unwrap();
        if ["applied", "failed", "refused"].contains(&last["status"].as_str().unwrap_or_default()) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deployment {deployment_id} did not settle: {last}");
}

/// Deploys `items` to the site; returns the deployment's id.
pub async fn deploy(app: &TestApp, user: &TestUser, site_id: &str, items: Value) -> String {
    let response = app
        .api(
            Method::POST,
            &format!("/sites/{site_id}/deployments"),
            Some(&user.access),
            Some(json!({"items": items})),
        )
        .await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "queued");
    body["id"].as_str().unwrap().to_owned()
}

/// An item of an empty home page, which a folder target writes to
/// `content/pages/home.json`.
pub fn home_page() -> Value {
    json!({"kind": "content", "path": "pages/home.json", "content": "{}"})
}

/// Deploys `items` to the site and waits until the deployment settles.
pub async fn deploy_and_settle(
    app: &TestApp,
    user: &TestUser,
    site_id: &str,
    items: Value,
) -> Value {
    let id = deploy(app, user, site_id, items).await;
    settled(app, user, &id).await
}

/// Ada, signed up, and a site of hers.
pub async fn user_with_site(app: &TestApp) -> (TestUser, String) {
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Ada's Bakery"})).await;
    (ada, site["id"].as_str().unwrap().to_owned())
}
