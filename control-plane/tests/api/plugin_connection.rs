//! The connector plugin's own connection (`gsw_protocol::pull`): signed
//! requests for the next bundle and with reports, for sites without the agent.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use gsw_protocol::bundle::{self, Expectations};
use gsw_protocol::pull::{request_message, NEXT_BUNDLE_PATH, REPORTS_PATH};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{error_code, TestApp, TestUser};
use crate::on_both_backends;

on_both_backends!(
    a_plugin_pulls_its_bundle_and_reports_it_applied,
    a_waiting_pull_is_woken_by_a_deployment,
    requests_not_signed_by_an_enrolled_plugin_are_refused,
    a_revoked_plugin_is_told_so,
    malformed_reports_are_refused_and_change_nothing,
    a_plugin_that_called_in_minutes_ago_is_online_a_sidecar_is_not,
);

/// A site with a connector enrolled as a plugin connection.
struct Plugin {
    key: SigningKey,
    agent_id: Uuid,
    site_id: String,
    bundle_key: VerifyingKey,
}

async fn enrolled(app: &TestApp, user: &TestUser, connection: &str) -> Plugin {
    let site = app.create_site(user, json!({"name": "Ada's Bakery"})).await;
    let site_id = site["id"].as_str().unwrap().to_owned();
    let token: Value = app
        .api(
            Method::POST,
            &format!("/sites/{site_id}/enrollment-tokens"),
            Some(&user.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let key = SigningKey::from_bytes(&rand_key());
    let response = app
        .api(
            Method::POST,
            "/agents/enroll",
            None,
            Some(json!({
                "token": token["token"],
                "public_key": STANDARD.encode(key.verifying_key().as_bytes()),
                "hostname": "shared-host.example",
                "agent_version": "gsw-connector 0.2.0",
                "connection": connection,
            })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let enrolled: Value = response.json().await.unwrap();
    if connection == "plugin" {
        assert_eq!(enrolled["pull_paths"]["next_bundle"], NEXT_BUNDLE_PATH);
        assert_eq!(enrolled["pull_paths"]["reports"], REPORTS_PATH);
    } else {
        assert!(enrolled.get("pull_paths").is_none(), "{enrolled}");
    }
    let bundle_key: [u8; 32] = STANDARD
        .decode(enrolled["bundle_signing_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    Plugin {
        key,
        agent_id: enrolled["agent_id"].as_str().unwrap().parse().unwrap(),
        site_id,
        bundle_key: VerifyingKey::from_bytes(&bundle_key).unwrap(),
    }
}

fn rand_key() -> [u8; 32] {
    rand::random()
}

impl Plugin {
    /// A request signed as the plugin signs it, `skew` seconds off the clock.
    async fn send(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: &[u8],
        skew: i64,
    ) -> reqwest::Response {
        let timestamp = chrono::Utc::now().timestamp() + skew;
        let signature = self.key.sign(&request_message(
            method.as_str(),
            path,
            timestamp,
            self.agent_id,
            body,
        ));
        app.client
            .request(method, app.url(path))
            .header("x-gsw-agent", self.agent_id.to_string())
            .header("x-gsw-timestamp", timestamp.to_string())
            .header("x-gsw-signature", STANDARD.encode(signature.to_bytes()))
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    async fn next(&self, app: &TestApp, wait: u64) -> reqwest::Response {
        let path = if wait == 0 {
            NEXT_BUNDLE_PATH.to_owned()
        } else {
            format!("{NEXT_BUNDLE_PATH}?wait={wait}")
        };
        self.send(app, Method::GET, &path, b"", 0).await
    }

    async fn report(&self, app: &TestApp, frames: Value) -> reqwest::Response {
        self.send(
            app,
            Method::POST,
            REPORTS_PATH,
            frames.to_string().as_bytes(),
            0,
        )
        .await
    }
}

async fn deploy_one_page(app: &TestApp, user: &TestUser, site_id: &str) -> Value {
    let response = app
        .api(
            Method::POST,
            &format!("/sites/{site_id}/deployments"),
            Some(&user.access),
            Some(json!({"items": [{"kind": "content", "path": "pages/home.json", "content": "{\"key\":\"page:home\"}"}]})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json().await.unwrap()
}

async fn deployment(app: &TestApp, user: &TestUser, id: &str) -> Value {
    app.api(
        Method::GET,
        &format!("/deployments/{id}"),
        Some(&user.access),
        None,
    )
    .await
    .json()
    .await
    .unwrap()
}

async fn a_plugin_pulls_its_bundle_and_reports_it_applied(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let plugin = enrolled(&app, &ada, "plugin").await;
    assert_eq!(plugin.next(&app, 0).await.status(), StatusCode::NO_CONTENT);

    let deployed = deploy_one_page(&app, &ada, &plugin.site_id).await;
    let response = plugin.next(&app, 0).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["x-gsw-deployment-id"],
        deployed["id"].as_str().unwrap()
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    let bytes = response.bytes().await.unwrap();
    let verified = bundle::verify(
        &bytes,
        &plugin.bundle_key,
        &Expectations {
            site_id: plugin.site_id.parse().unwrap(),
            last_applied: 0,
            now: chrono::Utc::now().timestamp(),
            max_bundle_bytes: 1 << 26,
            max_unpacked_bytes: 1 << 26,
        },
    )
    .expect("the pulled bundle is the site's, signed by the control plane");
    let sequence = verified.manifest.sequence;
    // Until it is acknowledged, the same bundle comes again.
    assert_eq!(plugin.next(&app, 0).await.bytes().await.unwrap(), bytes);

    let id = deployed["id"].as_str().unwrap();
    let stored = plugin
        .report(
            &app,
            json!([
                {"type": "ack", "deployment_id": id, "sequence": sequence},
                {"type": "applied", "deployment_id": id, "sequence": sequence,
                 "results": [{"kind": "content", "path": "pages/home.json", "status": "applied"}]},
                {"type": "inventory", "inventory": {"wordpress_version": "6.1.1", "php_version": "8.2.0",
                 "site_url": "https://shared-host.example", "connector_version": "0.2.0", "extension_version": null}},
            ]),
        )
        .await;
    assert_eq!(stored.status(), StatusCode::NO_CONTENT);
    // Stored before the answer: no waiting for a batch.
    assert_eq!(deployment(&app, &ada, id).await["status"], "applied");
    assert_eq!(plugin.next(&app, 0).await.status(), StatusCode::NO_CONTENT);

    // The fleet shows the site as a plugin connection, online, with its URL.
    let agent: Value = app
        .api(
            Method::GET,
            &format!("/sites/{}/agent", plugin.site_id),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(agent["connection"], "plugin");
    assert_eq!(agent["online"], true, "{agent}");
    let site: Value = app
        .api(
            Method::GET,
            &format!("/sites/{}", plugin.site_id),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(site["inventory"]["site_url"], "https://shared-host.example");
}

async fn a_waiting_pull_is_woken_by_a_deployment(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let plugin = enrolled(&app, &ada, "plugin").await;
    let started = Instant::now();
    let waiting = plugin.next(&app, 20);
    let deploy = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        deploy_one_page(&app, &ada, &plugin.site_id).await
    };
    let (response, deployed) = tokio::join!(waiting, deploy);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["x-gsw-deployment-id"],
        deployed["id"].as_str().unwrap()
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woken, not timed out"
    );
    // Nothing queued: the wait ends empty after its time.
    let started = Instant::now();
    let _ = plugin
        .report(
            &app,
            json!([{"type": "ack", "deployment_id": deployed["id"], "sequence": 1}]),
        )
        .await;
    assert_eq!(plugin.next(&app, 1).await.status(), StatusCode::NO_CONTENT);
    assert!(started.elapsed() >= Duration::from_secs(1));
    let over = plugin.next(&app, 26).await;
    assert_eq!(over.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn requests_not_signed_by_an_enrolled_plugin_are_refused(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let plugin = enrolled(&app, &ada, "plugin").await;
    deploy_one_page(&app, &ada, &plugin.site_id).await;

    // No signature at all.
    let bare = app
        .client
        .get(app.url(NEXT_BUNDLE_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(bare).await, "agent_auth_failed");
    // Signed by another key.
    let impostor = Plugin {
        key: SigningKey::from_bytes(&rand_key()),
        site_id: plugin.site_id.clone(),
        ..plugin
    };
    let forged = impostor.next(&app, 0).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    // A request from ten minutes ago, signed correctly, is refused.
    let fresh = enrolled(&app, &ada, "plugin").await;
    let stale = fresh
        .send(&app, Method::GET, NEXT_BUNDLE_PATH, b"", -600)
        .await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    // A signature over another path does not open this one.
    let timestamp = chrono::Utc::now().timestamp();
    let signature = fresh.key.sign(&request_message(
        "GET",
        &format!("{NEXT_BUNDLE_PATH}?wait=1"),
        timestamp,
        fresh.agent_id,
        b"",
    ));
    let moved = app
        .client
        .get(app.url(NEXT_BUNDLE_PATH))
        .header("x-gsw-agent", fresh.agent_id.to_string())
        .header("x-gsw-timestamp", timestamp.to_string())
        .header("x-gsw-signature", STANDARD.encode(signature.to_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::UNAUTHORIZED);
    // A sidecar agent's key does not work here: it has its WebSocket.
    let sidecar = enrolled(&app, &ada, "agent").await;
    assert_eq!(
        sidecar.next(&app, 0).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // And the properly signed request works.
    assert_eq!(fresh.next(&app, 0).await.status(), StatusCode::NO_CONTENT);
}

async fn a_revoked_plugin_is_told_so(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let plugin = enrolled(&app, &ada, "plugin").await;
    let revoked = app
        .api(
            Method::DELETE,
            &format!("/sites/{}/agent", plugin.site_id),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let response = plugin.next(&app, 0).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "agent_revoked");
}

async fn malformed_reports_are_refused_and_change_nothing(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let plugin = enrolled(&app, &ada, "plugin").await;
    let deployed = deploy_one_page(&app, &ada, &plugin.site_id).await;
    let id = deployed["id"].as_str().unwrap();
    for body in [
        json!({"type": "ack", "deployment_id": id, "sequence": 1}),
        json!([{"type": "hello", "version": 1, "agent_id": plugin.agent_id, "signature": "", "agent_version": "x", "last_applied": 0}]),
        json!([{"type": "ack", "deployment_id": id, "sequence": 1, "extra": true}]),
        json!((0..33)
            .map(|_| json!({"type": "ack", "deployment_id": id, "sequence": 1}))
            .collect::<Vec<_>>()),
    ] {
        let response = plugin.report(&app, body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(deployment(&app, &ada, id).await["status"], "queued");
    let huge = plugin
        .send(&app, Method::POST, REPORTS_PATH, &vec![b' '; 3 << 20], 0)
        .await;
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

async fn a_plugin_that_called_in_minutes_ago_is_online_a_sidecar_is_not(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let plugin = enrolled(&app, &ada, "plugin").await;
    let sidecar = enrolled(&app, &ada, "agent").await;
    // Both last heard from ten minutes ago: a plugin calls in from cron,
    // a sidecar that quiet has lost its connection.
    let ten_minutes_ago = chrono::Utc::now() - chrono::Duration::minutes(10);
    app.store
        .record_agents_seen(&[
            (plugin.agent_id, ten_minutes_ago),
            (sidecar.agent_id, ten_minutes_ago),
        ])
        .await
        .unwrap();
    let ids = |page: Value| -> Vec<String> {
        page["sites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["site"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let fleet = |filter: &'static str| {
        let app = &app;
        let ada = &ada;
        async move {
            app.api(
                Method::GET,
                &format!("/fleet/sites?agent={filter}"),
                Some(&ada.access),
                None,
            )
            .await
            .json::<Value>()
            .await
            .unwrap()
        }
    };
    assert_eq!(ids(fleet("online").await), [plugin.site_id.as_str()]);
    assert_eq!(ids(fleet("offline").await), [sidecar.site_id.as_str()]);
    let all = fleet("").await;
    let row = |site: &str| {
        all["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["site"]["id"] == site)
            .unwrap()["agent"]
            .clone()
    };
    assert_eq!(row(&plugin.site_id)["online"], true);
    assert_eq!(row(&plugin.site_id)["connection"], "plugin");
    assert_eq!(row(&sidecar.site_id)["online"], false);
}
