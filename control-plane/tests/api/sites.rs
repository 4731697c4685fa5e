use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{error_code, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_user_creates_reads_changes_and_deletes_a_site,
    another_users_site_is_not_found,
    sites_are_paged,
);

async fn a_user_creates_reads_changes_and_deletes_a_site(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let response = app
        .api(
            Method::POST,
            "/sites",
            Some(&ada.access),
            Some(json!({"name": "  Ada's Bakery ", "domain": "Bakery.Example", "metadata": {"tags": ["shop"]}})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let site: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/sites/{}", site["id"].as_str().unwrap())
    );
    assert_eq!(site["name"], "Ada's Bakery");
    assert_eq!(site["domain"], "bakery.example");
    assert_eq!(site["status"], "draft");
    assert_eq!(site["wp_admin_url"], Value::Null);
    assert_eq!(site["metadata"], json!({"tags": ["shop"]}));

    let path = format!("/sites/{}", site["id"].as_str().unwrap());
    let read: Value = app
        .api(Method::GET, &path, Some(&ada.access), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, site);

    let response = app
        .api(
            Method::PATCH,
            &path,
            Some(&ada.access),
            Some(json!({"wp_admin_url": "https://bakery.example/wp-admin/", "domain": null})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["name"], "Ada's Bakery");
    assert_eq!(changed["domain"], Value::Null);
    assert_eq!(changed["wp_admin_url"], "https://bakery.example/wp-admin/");

    let list: Value = app
        .api(Method::GET, "/sites", Some(&ada.access), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["sites"], json!([changed]));
    assert_eq!(list["next_after"], Value::Null);

    let response = app
        .api(Method::DELETE, &path, Some(&ada.access), None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.api(Method::GET, &path, Some(&ada.access), None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .api(Method::DELETE, &path, Some(&ada.access), None)
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn another_users_site_is_not_found(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Ada's Bakery"})).await;
    let path = format!("/sites/{}", site["id"].as_str().unwrap());

    // Bob gets exactly what he would get for a site that does not exist.
    let missing = format!("/sites/{}", uuid::Uuid::now_v7());
    for target in [&path, &missing] {
        for (method, body) in [
            (Method::GET, None),
            (Method::PATCH, Some(json!({"name": "Bob's now"}))),
            (Method::DELETE, None),
        ] {
            let response = app
                .api(method.clone(), target, Some(&bob.access), body)
                .await;
            assert_eq!(
                response.status(),
                StatusCode::NOT_FOUND,
                "{method} {target}"
            );
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "not_found");
            assert_eq!(body["error"]["message"], "site not found");
        }
    }
    let list: Value = app
        .api(Method::GET, "/sites", Some(&bob.access), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["sites"], json!([]));

    // Ada's site is exactly as it was.
    let read: Value = app
        .api(Method::GET, &path, Some(&ada.access), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, site);
}

async fn sites_are_paged(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let site = app
            .create_site(&ada, json!({"name": format!("Site {i}")}))
            .await;
        ids.push(site["id"].as_str().unwrap().to_owned());
    }
    let first: Value = app
        .api(Method::GET, "/sites?limit=2", Some(&ada.access), None)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = first["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Site 0", "Site 1"]);
    assert_eq!(first["next_after"], ids[1].as_str());

    let path = format!("/sites?limit=2&after={}", ids[3]);
    let last: Value = app
        .api(Method::GET, &path, Some(&ada.access), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(last["sites"].as_array().unwrap().len(), 1);
    assert_eq!(last["next_after"], Value::Null);

    for bad in ["/sites?limit=0", "/sites?limit=500"] {
        let response = app.api(Method::GET, bad, Some(&ada.access), None).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(error_code(response).await, "validation_failed");
    }
    for bad in [
        "/sites?limit=many",
        "/sites?after=not-a-uuid",
        "/sites?colour=red",
    ] {
        let response = app.api(Method::GET, bad, Some(&ada.access), None).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_code(response).await, "malformed_request");
    }
}
