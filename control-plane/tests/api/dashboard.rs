//! What the dashboard needs beyond the core API: editing a draft page, the
//! fleet table, bulk deployment status, a site's jobs, retrying a failed job
//! and billing.

use base64::Engine;
use chrono::Utc;
use gsw_storage::{JobKind, JobRef, NewJob};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::generation::{bakery, finished_job, generate};
use crate::helpers::{error_code, TestApp, TestUser};
use crate::on_both_backends;

on_both_backends!(
    editing_a_page_renders_it_again_and_deploys_the_change,
    page_edits_are_validated,
    a_page_cannot_be_edited_while_a_generation_is_unfinished,
    the_fleet_table_searches_filters_and_pages,
    bulk_deployment_status_is_read_by_ids,
    a_failed_job_is_retried_and_listed_with_the_sites_jobs,
    billing_shows_the_plan_and_this_periods_usage,
    style_preferences_reach_the_brief_and_the_design,
    dashboard_routes_are_documented,
    the_preview_gets_the_themes_stylesheet_fonts_and_images,
);

/// What the editor's preview renders with: the generated theme's
/// stylesheet, its fonts (public, readable from the preview's opaque
/// origin) and the draft's images, only for the site's owner.
async fn the_preview_gets_the_themes_stylesheet_fonts_and_images(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let site = generated_site(&app, &ada).await;
    let draft = get(&app, &ada, &format!("/sites/{site}/draft")).await;

    let css = app
        .api(
            Method::GET,
            &format!("/sites/{site}/draft/theme.css"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let css = css.text().await.unwrap();
    let primary = draft["design"]["palette"]["primary"].as_str().unwrap();
    assert!(
        css.contains(&format!("--wp--preset--color--primary: {primary};")),
        "{css}"
    );
    assert!(css.contains("--wp--preset--font-size--xx-large: clamp("));
    assert!(css.contains("--wp--preset--spacing--40: "));
    assert!(css.contains(".gsw-hero"), "the theme's section styles");

    // Every font the stylesheet names is served, to any origin.
    let fonts: Vec<&str> = css
        .split("url(\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert!(!fonts.is_empty(), "{css}");
    for font in fonts {
        let response = app.client.get(app.url(font)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{font}");
        assert_eq!(response.headers()["content-type"], "font/woff2");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        assert_eq!(&response.bytes().await.unwrap()[..4], b"wOF2");
    }
    let missing = app
        .client
        .get(app.url("/api/v1/fonts/inter/../../etc/passwd"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let missing = app
        .api(Method::GET, "/fonts/no-such-family/x.woff2", None, None)
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // The home page's hero image, as the deployment uploads it; only images
    // the pages show, and only for the owner.
    let image = format!("/sites/{site}/draft/images/hero-home.png");
    let png = app.api(Method::GET, &image, Some(&ada.access), None).await;
    assert_eq!(png.status(), StatusCode::OK);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(&png.bytes().await.unwrap()[1..4], b"PNG");
    for other in ["hero-nowhere.png", "item-x.php", "..%2Fsecret.png"] {
        let response = app
            .api(
                Method::GET,
                &format!("/sites/{site}/draft/images/{other}"),
                Some(&ada.access),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{other}");
    }
    let bob = app.signed_up("bob@example.com").await;
    for path in [image.clone(), format!("/sites/{site}/draft/theme.css")] {
        let theirs = app.api(Method::GET, &path, Some(&bob.access), None).await;
        assert_eq!(theirs.status(), StatusCode::NOT_FOUND, "{path}");
        let anonymous = app.api(Method::GET, &path, None, None).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

async fn dashboard_routes_are_documented(app: TestApp) {
    let doc: Value = app
        .api(Method::GET, "/openapi.json", None, None)
        .await
        .json()
        .await
        .unwrap();
    for (path, method) in [
        ("/sites/{id}/draft/pages/{slug}", "patch"),
        ("/sites/{id}/jobs", "get"),
        ("/jobs/{id}/retry", "post"),
        ("/fleet/sites", "get"),
        ("/fleet/tags", "get"),
        ("/fleet/deployments", "get"),
        ("/billing", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not in the OpenAPI document"
        );
    }
    let fleet = &doc["paths"]["/fleet/sites"]["get"]["parameters"];
    for name in ["q", "status", "tag", "agent", "limit", "after"] {
        assert!(
            fleet.as_array().unwrap().iter().any(|p| p["name"] == name),
            "/fleet/sites has no parameter {name}"
        );
    }
    assert!(doc["components"]["schemas"]["PageEdit"]["properties"]["seo_title"].is_object());
    assert!(doc["components"]["schemas"]["GenerateSite"]["properties"]["style"].is_object());
}

async fn style_preferences_reach_the_brief_and_the_design(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let mut body = bakery();
    body["style"] = json!("Look: warm, classic. Colours: deep green and cream.");
    let accepted = generate(&app, &ada, body).await;
    let job = finished_job(&app, &ada, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    let site = accepted["site_id"].as_str().unwrap();
    let draft = get(&app, &ada, &format!("/sites/{site}/draft")).await;
    assert_eq!(
        draft["brief"]["style"],
        "Look: warm, classic. Colours: deep green and cream."
    );
    // The offline engine honours what it can read: green on cream, the first look's type.
    let design = &draft["design"];
    assert_eq!(design["palette"]["primary"], "#1e6b3a", "{design}");
    assert_eq!(design["palette"]["base"], "#fbf7ef", "{design}");
    assert_eq!(design["fonts"]["heading"], "Lora", "{design}");
    assert!(
        design["style"].as_str().unwrap().ends_with(
            "from your preferences: Look: warm, classic. Colours: deep green and cream."
        ),
        "{design}"
    );
    // Without one, the brief has none and the bakery looks like a bakery.
    let plain = generated_site(&app, &ada).await;
    let draft = get(&app, &ada, &format!("/sites/{plain}/draft")).await;
    assert!(draft["brief"].get("style").is_none(), "{}", draft["brief"]);
    assert_eq!(draft["design"]["palette"]["primary"], "#8a3b12");
}

async fn get(app: &TestApp, user: &TestUser, path: &str) -> Value {
    let response = app.api(Method::GET, path, Some(&user.access), None).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.json().await.unwrap()
}

/// Generates the bakery for `user` and returns its site id once the draft exists.
async fn generated_site(app: &TestApp, user: &TestUser) -> String {
    let accepted = generate(app, user, bakery()).await;
    let job = finished_job(app, user, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    accepted["site_id"].as_str().unwrap().to_owned()
}

async fn patch_page(
    app: &TestApp,
    user: &TestUser,
    site: &str,
    slug: &str,
    body: Value,
) -> reqwest::Response {
    app.api(
        Method::PATCH,
        &format!("/sites/{site}/draft/pages/{slug}"),
        Some(&user.access),
        Some(body),
    )
    .await
}

async fn editing_a_page_renders_it_again_and_deploys_the_change(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let site = generated_site(&app, &ada).await;
    let before = get(&app, &ada, &format!("/sites/{site}/draft")).await;

    let response = patch_page(
        &app,
        &ada,
        &site,
        "about",
        json!({
            "title": "Our story",
            "seo_title": "Our story: bread & cakes since 1987",
            "meta_description": "How a family bakery in Lyon came to bake before dawn.",
            "sections": [{"index": 0, "heading": "Baked <before> dawn", "paragraphs": ["Since 1987, in Lyon."]}]
        }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let edited: Value = response.json().await.unwrap();
    assert_eq!(edited["site_id"], site.as_str());
    let page = &edited["page"];
    assert_eq!(page["title"], "Our story");
    assert_eq!(page["seo_title"], "Our story: bread & cakes since 1987");
    let blocks = page["blocks"].as_str().unwrap();
    assert!(
        blocks.contains("Baked &lt;before&gt; dawn</h1>"),
        "{blocks}"
    );
    assert!(blocks.contains("<p>Since 1987, in Lyon.</p>"), "{blocks}");
    assert_eq!(blocks.matches("<h1").count(), 1);

    // The stored draft has the change, and every other page as it was.
    let after = get(&app, &ada, &format!("/sites/{site}/draft")).await;
    assert_ne!(after["updated_at"], before["updated_at"]);
    let pages = after["pages"].as_array().unwrap();
    let about = pages.iter().find(|p| p["slug"] == "about").unwrap();
    assert_eq!(about, page);
    assert_eq!(about["content"]["seo_title"], page["seo_title"]);
    for (old, new) in before["pages"].as_array().unwrap().iter().zip(pages) {
        if old["slug"] != "about" {
            assert_eq!(old, new);
        }
    }
    let plan = after["sitemap"]["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["slug"] == "about")
        .unwrap();
    assert_eq!(plan["title"], "Our story");

    // Deploying the draft carries the edit.
    let response = app
        .client
        .post(app.url(&format!("/api/v1/sites/{site}/deployments")))
        .bearer_auth(&ada.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let deployment: Value = response.json().await.unwrap();
    assert!(deployment["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["path"] == "pages/about.json"));

    // Two edits in a row both land.
    let response = patch_page(&app, &ada, &site, "about", json!({"title": "About us"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let again = get(&app, &ada, &format!("/sites/{site}/draft")).await;
    let about = again["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["slug"] == "about")
        .unwrap();
    assert_eq!(about["title"], "About us");
    assert_eq!(about["seo_title"], "Our story: bread & cakes since 1987");
}

async fn page_edits_are_validated(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let site = generated_site(&app, &ada).await;
    let before = get(&app, &ada, &format!("/sites/{site}/draft")).await;

    for (body, says) in [
        (json!({}), "nothing to change"),
        (
            json!({"seo_title": "x".repeat(61)}),
            "seo_title: must be at most 60 characters (it has 61)",
        ),
        (
            json!({"meta_description": "y".repeat(157)}),
            "meta_description: must be at most 156 characters",
        ),
        (json!({"title": "  "}), "title: must not be empty"),
        (
            json!({"title": "ok", "sections": [{"index": 40, "heading": "x"}]}),
            "sections[0].index",
        ),
        (
            json!({"sections": [{"index": 0, "paragraphs": ["fine", " "]}]}),
            "sections[0].paragraphs[1]: must not be empty",
        ),
        (
            json!({"sections": [{"index": 0, "items": [{"title": "t", "text": ""}]}]}),
            "sections[0].items[0].text",
        ),
    ] {
        let response = patch_page(&app, &ada, &site, "about", body.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    let response = patch_page(&app, &ada, &site, "about", json!({"colour": "red"})).await;
    assert_eq!(error_code(response).await, "validation_failed");
    let response = patch_page(&app, &ada, &site, "nowhere", json!({"title": "x"})).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = patch_page(&app, &bob, &site, "about", json!({"title": "x"})).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let nothing_generated = app.create_site(&ada, json!({"name": "Empty"})).await;
    let response = patch_page(
        &app,
        &ada,
        nothing_generated["id"].as_str().unwrap(),
        "home",
        json!({"title": "x"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Nothing was written.
    assert_eq!(
        get(&app, &ada, &format!("/sites/{site}/draft")).await,
        before
    );
}

async fn a_page_cannot_be_edited_while_a_generation_is_unfinished(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let site = generated_site(&app, &ada).await;
    // A queued regeneration nobody has enqueued stays queued.
    let job = NewJob {
        id: Uuid::now_v7(),
        site_id: site.parse().unwrap(),
        user_id: ada.id.parse().unwrap(),
        kind: JobKind::Generation,
        created_at: Utc::now(),
    };
    app.store
        .create_job_with_input(
            &job,
            &json!({"kind": "regenerate", "page": "about", "section": null}),
        )
        .await
        .unwrap()
        .unwrap();
    let response = patch_page(&app, &ada, &site, "about", json!({"title": "Our story"})).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("generation on this site is still running"));
}

async fn enroll_agent(app: &TestApp, user: &TestUser, site: &str) {
    let token: Value = app
        .api(
            Method::POST,
            &format!("/sites/{site}/enrollment-tokens"),
            Some(&user.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let response = app
        .api(
            Method::POST,
            "/agents/enroll",
            None,
            Some(json!({
                "token": token["token"],
                "public_key": base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes()),
                "hostname": "web-1.example",
                "agent_version": "0.1.0"
            })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

fn names(page: &Value) -> Vec<String> {
    page["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["site"]["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_fleet_table_searches_filters_and_pages(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let mut ids = vec![];
    for (name, domain, tags) in [
        (
            "Maison Lune",
            Some("lune.example"),
            json!(["bakery", "lyon"]),
        ),
        ("Café 50%_off", None, json!(["lyon"])),
        ("Dental Care", Some("teeth.example"), json!(["clinic"])),
        ("Law & Co", Some("law.example"), json!("not-a-list")),
    ] {
        let site = app
            .create_site(
                &ada,
                json!({"name": name, "domain": domain, "metadata": {"tags": tags}}),
            )
            .await;
        ids.push(site["id"].as_str().unwrap().to_owned());
    }
    app.create_site(
        &bob,
        json!({"name": "Bob's Lune", "metadata": {"tags": ["bakery"]}}),
    )
    .await;
    enroll_agent(&app, &ada, &ids[2]).await;

    let all = get(&app, &ada, "/fleet/sites").await;
    assert_eq!(
        names(&all),
        ["Maison Lune", "Café 50%_off", "Dental Care", "Law & Co"]
    );
    assert_eq!(all["total"], 4);
    assert_eq!(all["next_after"], Value::Null);
    let first = &all["sites"][0];
    assert_eq!(first["tags"], json!(["bakery", "lyon"]));
    assert_eq!(first["agent"], Value::Null);
    assert_eq!(first["last_deployment"], Value::Null);
    assert_eq!(first["site"]["domain"], "lune.example");
    let dental = &all["sites"][2]["agent"];
    assert_eq!(dental["online"], false);
    assert_eq!(dental["hostname"], "web-1.example");
    assert_eq!(dental["last_seen"], Value::Null);

    let search = |q: &str| format!("/fleet/sites?q={}", urlencode(q));
    assert_eq!(
        names(&get(&app, &ada, &search("LUNE")).await),
        ["Maison Lune"]
    );
    assert_eq!(
        names(&get(&app, &ada, &search("teeth")).await),
        ["Dental Care"]
    );
    // LIKE wildcards in the search are taken literally.
    assert_eq!(
        names(&get(&app, &ada, &search("50%_")).await),
        ["Café 50%_off"]
    );
    assert_eq!(
        names(&get(&app, &ada, &search("%")).await),
        ["Café 50%_off"]
    );
    assert_eq!(
        names(&get(&app, &ada, "/fleet/sites?tag=lyon").await),
        ["Maison Lune", "Café 50%_off"]
    );
    assert_eq!(
        names(&get(&app, &ada, "/fleet/sites?tag=lyon&q=maison").await),
        ["Maison Lune"]
    );
    assert_eq!(
        names(&get(&app, &ada, "/fleet/sites?agent=offline").await),
        ["Dental Care"]
    );
    assert_eq!(
        get(&app, &ada, "/fleet/sites?agent=online").await["total"],
        0
    );
    assert_eq!(get(&app, &ada, "/fleet/sites?agent=none").await["total"], 3);
    assert_eq!(
        get(&app, &ada, "/fleet/sites?status=generating").await["total"],
        0
    );
    assert_eq!(
        get(&app, &ada, "/fleet/sites?status=draft&q=").await["total"],
        4
    );

    let page = get(&app, &ada, "/fleet/sites?limit=3").await;
    assert_eq!(names(&page), ["Maison Lune", "Café 50%_off", "Dental Care"]);
    assert_eq!(page["total"], 4);
    let next = page["next_after"].as_str().unwrap();
    let rest = get(&app, &ada, &format!("/fleet/sites?limit=3&after={next}")).await;
    assert_eq!(names(&rest), ["Law & Co"]);
    assert_eq!(rest["next_after"], Value::Null);

    let tags = get(&app, &ada, "/fleet/tags").await;
    assert_eq!(
        tags["tags"],
        json!([{"tag": "bakery", "sites": 1}, {"tag": "clinic", "sites": 1}, {"tag": "lyon", "sites": 2}])
    );

    for (query, says) in [
        ("status=live", "status: must be draft, generating or active"),
        ("agent=maybe", "agent: must be online, offline or none"),
        ("limit=0", "limit: must be between 1 and 200"),
        ("colour=red", "colour"),
    ] {
        let response = app
            .api(
                Method::GET,
                &format!("/fleet/sites?{query}"),
                Some(&ada.access),
                None,
            )
            .await;
        let status = response.status();
        let error: Value = response.json().await.unwrap();
        assert!(status.is_client_error(), "{query}");
        assert!(
            error["error"]["message"].as_str().unwrap().contains(says),
            "{query}: {error}"
        );
    }
    let response = app.api(Method::GET, "/fleet/sites", None, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn bulk_deployment_status_is_read_by_ids(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let one = app.create_site(&ada, json!({"name": "One"})).await;
    let two = app.create_site(&ada, json!({"name": "Two"})).await;
    let bobs = app.create_site(&bob, json!({"name": "Bob's"})).await;
    let items = json!([{"kind": "content", "path": "pages/home.json", "content": "{}"}]);
    let response = app
        .api(
            Method::POST,
            "/deployments",
            Some(&ada.access),
            Some(json!({"site_ids": [one["id"], two["id"]], "items": items})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let made: Value = response.json().await.unwrap();
    let mut ids: Vec<String> = made["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    let response = app
        .api(
            Method::POST,
            &format!("/sites/{}/deployments", bobs["id"].as_str().unwrap()),
            Some(&bob.access),
            Some(json!({"items": items})),
        )
        .await;
    let bobs_deployment: Value = response.json().await.unwrap();

    let query = format!(
        "{},{}",
        ids.join(","),
        bobs_deployment["id"].as_str().unwrap()
    );
    let status = get(&app, &ada, &format!("/fleet/deployments?ids={query}")).await;
    let mut seen: Vec<String> = status["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["status"], "queued");
            d["id"].as_str().unwrap().to_owned()
        })
        .collect();
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids, "bob's deployment is left out");

    // The fleet table shows each site's last deployment.
    let table = get(&app, &ada, "/fleet/sites").await;
    for row in table["sites"].as_array().unwrap() {
        assert_eq!(row["last_deployment"]["status"], "queued");
        assert_eq!(row["last_deployment"]["sequence"], 1);
    }

    for query in ["ids=nope", "ids=", "ids=,,"] {
        let response = app
            .api(
                Method::GET,
                &format!("/fleet/deployments?{query}"),
                Some(&ada.access),
                None,
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        assert_eq!(error_code(response).await, "validation_failed");
    }
    let too_many = vec![Uuid::now_v7().to_string(); 1]
        .into_iter()
        .chain((0..200).map(|_| Uuid::now_v7().to_string()))
        .collect::<Vec<_>>()
        .join(",");
    let response = app
        .api(
            Method::GET,
            &format!("/fleet/deployments?ids={too_many}"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_failed_job_is_retried_and_listed_with_the_sites_jobs(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let site = generated_site(&app, &ada).await;
    let first = get(&app, &ada, &format!("/sites/{site}/jobs")).await;
    let first_id = first["jobs"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(first["jobs"].as_array().unwrap().len(), 1);

    // A regeneration that failed (as a dead letter would).
    let job = NewJob {
        id: Uuid::now_v7(),
        site_id: site.parse().unwrap(),
        user_id: ada.id.parse().unwrap(),
        kind: JobKind::Generation,
        created_at: Utc::now(),
    };
    let failed = app
        .store
        .create_job_with_input(
            &job,
            &json!({"kind": "regenerate", "page": "about", "section": 1}),
        )
        .await
        .unwrap()
        .unwrap();
    let job_ref = JobRef {
        job_id: failed.id,
        user_id: failed.user_id,
    };
    assert!(app
        .store
        .fail_job(job_ref, None, "the model was unreachable", Utc::now())
        .await
        .unwrap());

    let retry = |id: String, user: &TestUser| {
        let access = user.access.clone();
        let app = &app;
        async move {
            app.api(
                Method::POST,
                &format!("/jobs/{id}/retry"),
                Some(&access),
                None,
            )
            .await
        }
    };
    let response = retry(first_id.clone(), &ada).await;
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "a completed job is not retried"
    );
    let response = retry(failed.id.to_string(), &bob).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = retry(failed.id.to_string(), &ada).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["site_id"], site.as_str());
    let done = finished_job(&app, &ada, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(
        done["logs"].as_str().unwrap().contains("section 2 of the"),
        "{done}"
    );

    let jobs = get(&app, &ada, &format!("/sites/{site}/jobs")).await;
    let listed: Vec<&str> = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    let failed_id = failed.id.to_string();
    assert_eq!(
        listed,
        [
            accepted["job_id"].as_str().unwrap(),
            failed_id.as_str(),
            first_id.as_str()
        ]
    );
    assert_eq!(jobs["jobs"][1]["status"], "failed");
    assert_eq!(jobs["jobs"][1]["error"], "the model was unreachable");
    let response = app
        .api(
            Method::GET,
            &format!("/sites/{site}/jobs"),
            Some(&bob.access),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn billing_shows_the_plan_and_this_periods_usage(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let fresh = get(&app, &ada, "/billing").await;
    assert_eq!(fresh["plan"]["id"], "free");
    assert_eq!(fresh["plan"]["name"], "Free");
    assert_eq!(fresh["plan"]["status"], "active");
    assert_eq!(fresh["plan"]["limits"]["sites"], 3);
    assert_eq!(fresh["payments_enabled"], false);
    assert_eq!(fresh["usage"]["sites"], 0);
    assert_eq!(fresh["usage"]["generations"], 0);
    assert_eq!(fresh["usage"]["tokens"]["input_tokens"], 0);
    let start: chrono::DateTime<Utc> = fresh["period_start"].as_str().unwrap().parse().unwrap();
    let end: chrono::DateTime<Utc> = fresh["period_end"].as_str().unwrap().parse().unwrap();
    assert!(start <= Utc::now() && Utc::now() < end);

    let site = generated_site(&app, &ada).await;
    let response = app
        .client
        .post(app.url(&format!("/api/v1/sites/{site}/deployments")))
        .bearer_auth(&ada.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let used = get(&app, &ada, "/billing").await;
    assert_eq!(used["usage"]["sites"], 1);
    assert_eq!(used["usage"]["generations"], 1);
    assert_eq!(used["usage"]["deployments"], 1);
    let response = app.api(Method::GET, "/billing", None, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
