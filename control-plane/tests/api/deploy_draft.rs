//! `POST /sites/{id}/deployments` with an empty body deploys the site's draft.

use gsw_protocol::bundle::Manifest;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::generation::{bakery, finished_job, generate};
use crate::helpers::{error_code, TestApp};
use crate::on_both_backends;

on_both_backends!(
    an_empty_body_deploys_the_current_draft,
    a_site_without_a_draft_needs_items,
    keeping_the_sites_theme_deploys_pages_styled_inline,
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
        Default::default(),
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

async fn keeping_the_sites_theme_deploys_pages_styled_inline(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(&app, &ada, bakery()).await;
    let job = finished_job(&app, &ada, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    let site_id = accepted["site_id"].as_str().unwrap();
    let path = format!("/sites/{site_id}/deployments");

    let response = app
        .api(
            Method::POST,
            &path,
            Some(&ada.access),
            Some(json!({"theme": "keep"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let deployment: Value = response.json().await.unwrap();
    let kinds: Vec<&str> = deployment["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(!kinds.contains(&"theme"), "{deployment:#}");
    assert!(!kinds.contains(&"design"), "{deployment:#}");
    assert!(
        kinds.contains(&"content") && kinds.contains(&"media"),
        "{kinds:?}"
    );

    // The home page as the release carries it: its sections coloured by the
    // blocks' own attributes in the draft's palette, on the theme's own
    // page template.
    let draft: gsw_generation::draft::SiteDraft = app
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
    let home = release_item(&app, &ada.id, &deployment, "content", "pages/home.json").await;
    let content = home["content"].as_str().unwrap();
    let palette = &draft.design.palette;
    assert!(
        content.contains(&format!(
            r#""style":{{"color":{{"background":"{}","text":"{}"}}"#,
            palette.secondary, palette.contrast
        )),
        "{content}"
    );
    assert!(
        content.contains("has-text-color has-background"),
        "{content}"
    );
    assert!(
        content.contains(&format!("background-color:{}", palette.primary)),
        "{content}"
    );
    let drafted = &draft
        .pages
        .iter()
        .find(|p| p.slug == "home")
        .unwrap()
        .blocks;
    assert!(!drafted.contains("has-background"), "{drafted}");
    assert_eq!(home["template"], Value::Null, "{home}");

    // The default is the generated theme, as before.
    let response = app
        .api(
            Method::POST,
            &path,
            Some(&ada.access),
            Some(json!({"theme": "generated"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let deployment: Value = response.json().await.unwrap();
    assert!(deployment["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["kind"] == "theme"));

    for body in [
        json!({"theme": "own"}),
        json!({"theme": "keep", "items": [{"kind": "content", "path": "pages/a.json", "content": "{}"}]}),
    ] {
        let response = app
            .api(Method::POST, &path, Some(&ada.access), Some(body.clone()))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        assert_eq!(error_code(response).await, "validation_failed", "{body}");
    }
}

/// The JSON of one item of a deployment's release, as the agent gets it.
async fn release_item(
    app: &TestApp,
    owner: &str,
    deployment: &Value,
    kind: &str,
    path: &str,
) -> Value {
    let owner: Uuid = owner.parse().unwrap();
    let id: Uuid = deployment["id"].as_str().unwrap().parse().unwrap();
    let stored = app.store.deployment(owner, id).await.unwrap().unwrap();
    let manifest: Manifest = serde_json::from_slice(&stored.manifest).unwrap();
    let payload = app
        .store
        .release_payload(stored.release_id)
        .await
        .unwrap()
        .unwrap();
    let mut start = 0;
    for item in &manifest.items {
        let end = start + item.size as usize;
        if serde_json::to_value(item.kind).unwrap() == kind && item.path == path {
            return serde_json::from_slice(&payload[start..end]).unwrap();
        }
        start = end;
    }
    panic!("no {kind}/{path} in {:?}", manifest.items);
}
