//! Rollback of a deployment, the site's apply policy, and what agents
//! report about WordPress (inventory, drift) shown on the site.

use chrono::Utc;
use gsw_protocol::bundle::Manifest;
use gsw_storage::DeliveryReport;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{error_code, TestApp, TestUser};
use crate::on_both_backends;

on_both_backends!(
    an_applied_deployment_can_be_rolled_back,
    only_deployments_that_changed_something_roll_back,
    a_deployment_whose_snapshot_the_host_no_longer_keeps_is_not_rolled_back,
    the_sites_policy_is_signed_into_its_bundles,
    sites_show_their_latest_inventory_and_drift,
);

/// Deploys one page to a site, as `user`; returns the accepted deployment.
pub async fn deploy_one_page(app: &TestApp, user: &TestUser, site_id: &str) -> Value {
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

async fn report(app: &TestApp, site_id: &str, deployment: &Value, report: DeliveryReport) {
    let site: Uuid = site_id.parse().unwrap();
    let id: Uuid = deployment["id"].as_str().unwrap().parse().unwrap();
    assert!(app
        .store
        .report_delivery(site, id, &report, Utc::now())
        .await
        .unwrap());
}

/// Asks for a deployment's rollback, as `user`.
async fn roll_back(app: &TestApp, user: &TestUser, deployment: &Value) -> reqwest::Response {
    app.api(
        Method::POST,
        &format!(
            "/deployments/{}/rollback",
            deployment["id"].as_str().unwrap()
        ),
        Some(&user.access),
        None,
    )
    .await
}

fn applied(sequence: i64) -> DeliveryReport {
    DeliveryReport::Applied {
        results: json!([{"kind": "content", "path": "pages/home.json", "status": "applied"}]),
        failed: false,
        sequence,
    }
}

async fn an_applied_deployment_can_be_rolled_back(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Bakery"})).await;
    let site_id = site["id"].as_str().unwrap();
    let deployment = deploy_one_page(&app, &ada, site_id).await;
    report(&app, site_id, &deployment, DeliveryReport::Acked).await;
    report(&app, site_id, &deployment, applied(1)).await;

    let id = deployment["id"].as_str().unwrap();
    let response = roll_back(&app, &ada, &deployment).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let rollback: Value = response.json().await.unwrap();
    assert_eq!(rollback["rollback_of"], id);
    assert_eq!(rollback["site_id"], site_id);
    assert_eq!(rollback["sequence"], 2);
    assert_eq!(rollback["status"], "queued");
    assert_eq!(rollback["items"].as_array().unwrap().len(), 1);
    assert_eq!(rollback["items"][0]["kind"], "rollback");
    assert_eq!(rollback["items"][0]["path"], "rollback.json");

    // The instruction names the deployment and the sequence to restore before.
    let rollback_id: Uuid = rollback["id"].as_str().unwrap().parse().unwrap();
    let stored = app
        .store
        .deployment(ada.id.parse().unwrap(), rollback_id)
        .await
        .unwrap()
        .unwrap();
    let payload = app
        .store
        .release_payload(stored.release_id)
        .await
        .unwrap()
        .unwrap();
    let instruction: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(instruction, json!({"deployment_id": id, "sequence": 1}));

    // It is listed with the site's deployments, newest first.
    let listed: Value = app
        .api(
            Method::GET,
            &format!("/sites/{site_id}/deployments"),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["deployments"][0]["id"], rollback["id"]);
    assert_eq!(listed["deployments"][1]["rollback_of"], Value::Null);

    // Another user cannot roll back Ada's deployment, nor learn it exists.
    let bob = app.signed_up("bob@example.com").await;
    let response = roll_back(&app, &bob, &deployment).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn only_deployments_that_changed_something_roll_back(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Bakery"})).await;
    let site_id = site["id"].as_str().unwrap();
    let queued = deploy_one_page(&app, &ada, site_id).await;
    let response = roll_back(&app, &ada, &queued).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(response).await, "invalid_state");

    report(
        &app,
        site_id,
        &queued,
        DeliveryReport::Refused {
            code: "bad_signature".into(),
            reason: "signature does not verify".into(),
        },
    )
    .await;
    let response = roll_back(&app, &ada, &queued).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // A failed apply may have changed part of the site: it can be undone.
    let failed = deploy_one_page(&app, &ada, site_id).await;
    report(
        &app,
        site_id,
        &failed,
        DeliveryReport::Applied {
            results: json!([{"kind": "plugin", "path": "x.zip", "status": "failed"}]),
            failed: true,
            sequence: 2,
        },
    )
    .await;
    let response = roll_back(&app, &ada, &failed).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let response = roll_back(&app, &ada, &json!({"id": Uuid::now_v7()})).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = roll_back(&app, &ada, &json!({"id": "not-a-uuid"})).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn the_sites_policy_is_signed_into_its_bundles(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Bakery"})).await;
    let site_id = site["id"].as_str().unwrap();
    assert_eq!(site["allow_unfiltered_html"], false);
    let manifest_of = |deployment: Value| {
        let app = &app;
        let owner: Uuid = ada.id.parse().unwrap();
        async move {
            let id: Uuid = deployment["id"].as_str().unwrap().parse().unwrap();
            let stored = app.store.deployment(owner, id).await.unwrap().unwrap();
            serde_json::from_slice::<Manifest>(&stored.manifest).unwrap()
        }
    };
    let strict = manifest_of(deploy_one_page(&app, &ada, site_id).await).await;
    assert!(!strict.policy.unfiltered_html);

    let response = app
        .api(
            Method::PATCH,
            &format!("/sites/{site_id}"),
            Some(&ada.access),
            Some(json!({"allow_unfiltered_html": true})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["allow_unfiltered_html"], true);
    let open = manifest_of(deploy_one_page(&app, &ada, site_id).await).await;
    assert!(open.policy.unfiltered_html);

    let response = app
        .api(
            Method::PATCH,
            &format!("/sites/{site_id}"),
            Some(&ada.access),
            Some(json!({"allow_unfiltered_html": "yes"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn sites_show_their_latest_inventory_and_drift(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Bakery"})).await;
    let site_id = site["id"].as_str().unwrap();
    assert_eq!(site["inventory"], Value::Null);
    assert_eq!(site["drift"], Value::Null);

    let id: Uuid = site_id.parse().unwrap();
    let inventory = json!({
        "wordpress_version": "6.1.1", "php_version": "8.2.7",
        "site_url": "http://bakery.example", "home_url": "http://bakery.example",
        "connector_version": "0.2.0", "extension_version": "0.1.0",
        "active_theme": "twentytwentythree",
        "themes": [{"slug": "twentytwentythree", "name": "Twenty Twenty-Three", "version": "1.0", "active": true}],
        "plugins": [{"file": "gsw-connector/gsw-connector.php", "slug": "gsw-connector", "name": "gsWstudio Connector", "version": "0.2.0", "active": true}],
    });
    app.store
        .record_site_inventory(id, &inventory, Utc::now())
        .await
        .unwrap();
    app.store
        .record_site_drift(
            id,
            &json!({"checked": 5, "drifted": [{"key": "page:about", "post_id": 7, "state": "modified", "modified_at": null}]}),
            Utc::now(),
        )
        .await
        .unwrap();
    let shown: Value = app
        .api(
            Method::GET,
            &format!("/sites/{site_id}"),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["inventory"]["wordpress_version"], "6.1.1");
    assert_eq!(shown["inventory"]["plugins"][0]["active"], true);
    assert_eq!(shown["drift"]["checked"], 5);
    assert_eq!(shown["drift"]["drifted"][0]["key"], "page:about");
    assert!(shown["inventory_at"].is_string());
    // The list carries the same, for the fleet table.
    let listed: Value = app
        .api(Method::GET, "/sites", Some(&ada.access), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["sites"][0]["inventory"]["php_version"], "8.2.7",
        "{listed}"
    );
}

async fn a_deployment_whose_snapshot_the_host_no_longer_keeps_is_not_rolled_back(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Bakery"})).await;
    let site_id = site["id"].as_str().unwrap();
    let mut deployments = Vec::new();
    for sequence in 1..=4 {
        let deployment = deploy_one_page(&app, &ada, site_id).await;
        report(&app, site_id, &deployment, DeliveryReport::Acked).await;
        report(&app, site_id, &deployment, applied(sequence)).await;
        deployments.push(deployment);
    }
    // Before the agent says what it keeps, every applied deployment may roll back.
    let response = roll_back(&app, &ada, &deployments[0]).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // The agent keeps the snapshots of #2 and #3 (its inventory predates #4).
    let inventory = json!({
        "wordpress_version": "6.1.1", "php_version": "8.2.7", "site_url": "http://bakery.example",
        "snapshots": [2, 3],
    });
    app.store
        .record_site_inventory(site_id.parse().unwrap(), &inventory, Utc::now())
        .await
        .unwrap();
    let response = roll_back(&app, &ada, &deployments[0]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_state");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("no longer keeps the snapshot of deployment #1"),
        "{message}"
    );
    for kept in [1, 2, 3] {
        let response = roll_back(&app, &ada, &deployments[kept]).await;
        assert_eq!(
            response.status(),
            StatusCode::ACCEPTED,
            "#{} is kept or newer than the report",
            kept + 1
        );
    }
}
