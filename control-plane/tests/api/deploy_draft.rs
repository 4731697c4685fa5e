//! `POST /sites/{id}/deployments` with an empty body deploys the site's draft.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::generation::{bakery, finished_job, generate};
use crate::helpers::{error_code, TestApp};
use crate::on_both_backends;

on_both_backends!(
    an_empty_body_deploys_the_current_draft,
    a_site_without_a_draft_needs_items,
);

async fn an_empty_body_deploys_the_current_draft(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(&app, &ada, bakery()).await;
    let job = finished_job(&app, &ada, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    let site_id = accepted["site_id"].as_str().unwrap();

    let response = app
        .client
        .post(app.url(&format!("/api/v1/sites/{site_id}/deployments")))
        .bearer_auth(&ada.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let deployment: Value = response.json().await.unwrap();
    assert_eq!(deployment["status"], "queued");
    let paths: Vec<String> = deployment["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i["kind"].as_str().unwrap(),
                i["path"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        paths.contains(&"content/pages/home.json".to_owned()),
        "{paths:?}"
    );
    for expected in [
        "content/navigation.json",
        "design/design.json",
        "plugin/plan.json",
    ] {
        assert!(
            paths.contains(&expected.to_owned()),
            "{expected} missing from {paths:?}"
        );
    }

    // The page items carry what the connector plugin needs, from the draft itself.
    let draft: Value = app
        .api(
            Method::GET,
            &format!("/sites/{site_id}/draft"),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let pages = draft["pages"].as_array().unwrap();
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.starts_with("content/pages/"))
            .count(),
        pages.len()
    );
    let draft_model: gsw_generation::draft::SiteDraft =
        serde_json::from_value(draft.clone()).unwrap();
    let items = gsw_control_plane::fleet::release::draft_items(
        &draft_model,
        &Default::default(),
        &Default::default(),
    )
    .unwrap();
    let (_, _, home) = items
        .iter()
        .find(|(_, path, _)| path == "pages/home.json")
        .unwrap();
    let home: Value = serde_json::from_slice(home).unwrap();
    assert_eq!(home["key"], "page:home");
    assert_eq!(home["front_page"], true);
    assert_eq!(
        home["content"],
        pages.iter().find(|p| p["slug"] == "home").unwrap()["blocks"]
    );
    assert!(home["seo"]["title"].as_str().unwrap().len() <= 60);

    // `{}` and a body with only `ttl_secs` mean the same as no body.
    for body in [json!({}), json!({"ttl_secs": 3600})] {
        let response = app
            .api(
                Method::POST,
                &format!("/sites/{site_id}/deployments"),
                Some(&ada.access),
                Some(body.clone()),
            )
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{body}");
        let deployment: Value = response.json().await.unwrap();
        assert_eq!(
            deployment["items"].as_array().unwrap().len(),
            paths.len(),
            "{body}"
        );
    }
}

async fn a_site_without_a_draft_needs_items(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let site = app
        .create_site(&ada, json!({"name": "Hand-made site"}))
        .await;
    let path = format!("/api/v1/sites/{}/deployments", site["id"].as_str().unwrap());
    let response = app
        .client
        .post(app.url(&path))
        .bearer_auth(&ada.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(response).await, "validation_failed");
    // A body that is not JSON is still refused as such.
    let response = app
        .client
        .post(app.url(&path))
        .bearer_auth(&ada.access)
        .header("content-type", "text/plain")
        .body("items")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let missing = format!("/api/v1/sites/{}/deployments", uuid::Uuid::now_v7());
    let response = app
        .client
        .post(app.url(&missing))
        .bearer_auth(&ada.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
