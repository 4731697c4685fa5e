//! End to end with a real WordPress: the control plane, the real `wp-agent`
//! binary and WordPress (Debian's 6.1 on MariaDB, a copy of the test's own)
//! as real processes. A generated site is deployed, checked with
//! WordPress's own functions, deployed again (a no-op), drifted, and rolled
//! back; a bundle signed with the wrong key never reaches WordPress. A
//! second test puts a stand-in `php` in front of the real one to hold an
//! apply open and to crash one; a third pushes theme and plugin zips through
//! the API, and one that escapes its folder.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use gsw_control_plane::settings::Secret;
use gsw_control_plane::testing::directory::FakeDirectory;
use gsw_control_plane::testing::{spawn_app, spawn_app_with, TestApp, TestUser};
use gsw_protocol::bundle::{ItemKind, Payload};
use gsw_storage::Backend;
use gsw_testkit::packages::{plugin_zip, theme_zip, zip_of};
use gsw_testkit::{php_extension, WordPress};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

mod common;
// The fake Anthropic API the control plane's tests use.
#[allow(dead_code)]
#[path = "../../control-plane/tests/api/fake_anthropic.rs"]
mod fake_anthropic;
use common::{manifest_for, queue_raw};

const AGENT: &str = env!("CARGO_BIN_EXE_wp-agent");

/// A WordPress host set up as the README says: `wp-agent` with the gsw
/// extension beside it, and no flags naming PHP or the extension.
struct Host {
    dir: tempfile::TempDir,
    agent: Option<Child>,
}

impl Host {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::fs::copy(AGENT, dir.path().join("bin/wp-agent")).unwrap();
        std::fs::copy(php_extension(), dir.path().join("bin/libgsw_php_ext.so")).unwrap();
        Self { dir, agent: None }
    }

    fn agent(&self) -> PathBuf {
        self.dir.path().join("bin/wp-agent")
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }

    async fn enroll(&self, app: &TestApp, user: &TestUser, site_id: &str, wp: &Path) {
        self.enroll_with(app, user, site_id, wp, &[]).await;
    }

    async fn enroll_with(
        &self,
        app: &TestApp,
        user: &TestUser,
        site_id: &str,
        wp: &Path,
        flags: &[&std::ffi::OsStr],
    ) {
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
        let output = Command::new(self.agent())
            .arg("--state-dir")
            .arg(self.state_dir())
            .args(["enroll", "--server", &app.address, "--token"])
            .arg(token["token"].as_str().unwrap())
            .arg("--wp-path")
            .arg(wp)
            .args(flags)
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "enroll failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("agent.log"))
            .unwrap();
        let child = Command::new(self.agent())
            .arg("--state-dir")
            .arg(self.state_dir())
            .arg("run")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.agent = Some(child);
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.agent.take() {
            child.kill().await.unwrap();
        }
    }
}

async fn get(app: &TestApp, user: &TestUser, path: &str) -> Value {
    app.api(Method::GET, path, Some(&user.access), None)
        .await
        .json()
        .await
        .unwrap()
}

async fn wait_for<F, Fut>(what: &str, host: &Host, mut check: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Value>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}; agent log:\n{}", host.log());
}

async fn settled(app: &TestApp, user: &TestUser, host: &Host, deployment: &Value) -> Value {
    let path = format!("/deployments/{}", deployment["id"].as_str().unwrap());
    wait_for("the deployment to settle", host, || async {
        let now = get(app, user, &path).await;
        ["applied", "failed", "refused"]
            .contains(&now["status"].as_str().unwrap_or_default())
            .then_some(now)
    })
    .await
}

async fn deploy_draft(app: &TestApp, user: &TestUser, site_id: &str) -> Value {
    let response = app
        .api(
            Method::POST,
            &format!("/sites/{site_id}/deployments"),
            Some(&user.access),
            None,
        )
        .await;
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_deployed_keeping_the_sites_theme_leaves_it_active_and_still_looks_designed() {
    let app = spawn_app(Backend::Sqlite).await;
    let ada = app.signed_up("ada@example.com").await;
    let (site_id, draft) = generated_site(&app, &ada).await;
    let wp = WordPress::install();
    let theme_before = wp.php("echo get_stylesheet();");
    let mut host = Host::new();
    host.enroll(&app, &ada, &site_id, wp.path()).await;
    host.start();

    let response = app
        .api(
            Method::POST,
            &format!("/sites/{site_id}/deployments"),
            Some(&ada.access),
            Some(json!({"theme": "keep"})),
        )
        .await;
    assert_eq!(response.status(), 202);
    let deployment: Value = response.json().await.unwrap();
    let deployment = settled(&app, &ada, &host, &deployment).await;
    assert_eq!(
        deployment["status"],
        "applied",
        "{deployment}\n{}",
        host.log()
    );

    assert_eq!(wp.php("echo get_stylesheet();"), theme_before);
    // The home page's sections are coloured by their own blocks, in the
    // draft's palette, whatever the theme.
    let secondary = draft["design"]["palette"]["secondary"].as_str().unwrap();
    let html = wp.php(
        "$p = get_post((int) get_option('page_on_front')); echo apply_filters('the_content', $p->post_content);",
    );
    assert!(
        html.contains(&format!("background-color:{secondary}")),
        "{html}"
    );
    assert!(html.contains("has-background"), "{html}");
    // The site's theme prints the page title as the page's H1: the content
    // brings none of its own.
    assert!(!html.contains("<h1"), "{html}");
    assert!(html.contains("<h2"), "{html}");
}

/// Asks for a deployment's rollback; returns the rollback deployment queued.
async fn roll_back(app: &TestApp, user: &TestUser, deployment: &Value) -> Value {
    let response = app
        .api(
            Method::POST,
            &format!(
                "/deployments/{}/rollback",
                deployment["id"].as_str().unwrap()
            ),
            Some(&user.access),
            None,
        )
        .await;
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

/// Generates a site with the offline engine; returns its id and draft.
async fn generated_site(app: &TestApp, user: &TestUser) -> (String, Value) {
    generated_site_from(
        app,
        user,
        json!({
            "business_name": "Maison Lune",
            "type": "bakery",
            "description": "A family bakery in Lyon making sourdough bread, croissants and celebration cakes.",
            "goals": ["Take online orders for collection", "Be found on Google"]
        }),
    )
    .await
}

/// Generates a site from `brief` with the offline engine; returns its id and draft.
async fn generated_site_from(app: &TestApp, user: &TestUser, brief: Value) -> (String, Value) {
    let accepted: Value = app
        .api(
            Method::POST,
            "/sites/generate",
            Some(&user.access),
            Some(brief),
        )
        .await
        .json()
        .await
        .unwrap();
    let job_path = format!("/jobs/{}", accepted["job_id"].as_str().unwrap());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let job = get(app, user, &job_path).await;
        if job["status"] == "completed" {
            break;
        }
        assert!(job["status"] != "failed", "generation failed: {job}");
        assert!(tokio::time::Instant::now() < deadline, "generation: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let site_id = accepted["site_id"].as_str().unwrap().to_owned();
    let draft = get(app, user, &format!("/sites/{site_id}/draft")).await;
    (site_id, draft)
}

/// Pages the connector made, as WordPress's own functions show them.
fn deployed_pages(wp: &WordPress) -> Value {
    wp.json(
        r#"$out = [];
        foreach (get_posts(['post_type' => 'page', 'post_status' => 'any', 'numberposts' => -1, 'meta_key' => '_gsw_key']) as $p) {
            $out[get_post_meta($p->ID, '_gsw_key', true)] = [
                'id' => $p->ID, 'title' => $p->post_title, 'slug' => $p->post_name, 'status' => $p->post_status,
                'parent' => $p->post_parent ? get_post_meta($p->post_parent, '_gsw_key', true) : null,
                'yoast_title' => get_post_meta($p->ID, '_yoast_wpseo_title', true),
                'rank_math_description' => get_post_meta($p->ID, 'rank_math_description', true),
            ];
        }
        echo json_encode((object) $out);"#,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_site_is_deployed_into_wordpress_and_rolled_back() {
    let app = spawn_app(Backend::Sqlite).await;
    let ada = app.signed_up("ada@example.com").await;
    let (site_id, draft) = generated_site(&app, &ada).await;
    let wp = WordPress::install();
    let front_before = wp.php("echo get_option('show_on_front');");

    // Enrolling installs and activates the connector plugin.
    let mut host = Host::new();
    host.enroll(&app, &ada, &site_id, wp.path()).await;
    assert_eq!(
        wp.php("require_once ABSPATH . 'wp-admin/includes/plugin.php'; echo is_plugin_active('gsw-connector/gsw-connector.php') ? 'yes' : 'no';"),
        "yes"
    );

    // On connect the agent reports what the WordPress is.
    host.start();
    let site_path = format!("/sites/{site_id}");
    let site = wait_for("the inventory", &host, || async {
        let site = get(&app, &ada, &site_path).await;
        (!site["inventory"].is_null()).then_some(site)
    })
    .await;
    let inventory = &site["inventory"];
    assert!(
        inventory["wordpress_version"]
            .as_str()
            .unwrap()
            .starts_with("6."),
        "{inventory}"
    );
    assert!(inventory["php_version"].as_str().unwrap().starts_with("8."));
    let connector = inventory["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["slug"] == "gsw-connector")
        .unwrap_or_else(|| panic!("no connector in {inventory}"));
    assert_eq!(connector["active"], true);

    // The draft, deployed: pages, parents, front page, SEO, navigation, design.
    let first = deploy_draft(&app, &ada, &site_id).await;
    let first = settled(&app, &ada, &host, &first).await;
    assert_eq!(first["status"], "applied", "{first}\n{}", host.log());
    let pages = deployed_pages(&wp);
    let draft_pages = draft["pages"].as_array().unwrap();
    assert_eq!(
        pages.as_object().unwrap().len(),
        draft_pages.len(),
        "{pages}"
    );
    for page in draft_pages {
        let key = format!("page:{}", page["slug"].as_str().unwrap());
        let made = &pages[&key];
        assert_eq!(made["title"], page["title"], "{key}");
        assert_eq!(made["status"], "publish");
        assert_eq!(made["yoast_title"], page["seo_title"], "{key}");
        assert_eq!(made["rank_math_description"], page["meta_description"]);
        let parent = page["parent"].as_str().map(|p| format!("page:{p}"));
        assert_eq!(made["parent"], json!(parent), "{key}");
    }
    let home_id = pages["page:home"]["id"].as_u64().unwrap();
    assert_eq!(
        wp.php("echo get_option('show_on_front'), ' ', get_option('page_on_front');"),
        format!("page {home_id}")
    );
    let navigation = wp.json(
        "$n = get_posts(['post_type' => 'wp_navigation', 'post_status' => 'publish', 'numberposts' => 1]); echo json_encode($n ? $n[0]->post_content : null);",
    );
    let navigation = navigation.as_str().expect("a wp_navigation menu");
    for slug in draft["sitemap"]["navigation"].as_array().unwrap() {
        let id = pages[&format!("page:{}", slug.as_str().unwrap())]["id"]
            .as_u64()
            .unwrap();
        assert!(navigation.contains(&format!("\"id\":{id}")), "{navigation}");
    }
    let styles = wp.php("echo json_encode(wp_get_global_settings());");
    let primary = draft["design"]["palette"]["primary"].as_str().unwrap();
    assert!(
        styles.to_lowercase().contains(&primary.to_lowercase()),
        "palette colour {primary} not in the global settings"
    );

    // After the apply the inventory and drift are fresh; nothing drifted.
    let site = get(&app, &ada, &site_path).await;
    assert_eq!(site["drift"]["drifted"], json!([]), "{}", site["drift"]);

    // The same draft again changes nothing.
    let second = deploy_draft(&app, &ada, &site_id).await;
    let second = settled(&app, &ada, &host, &second).await;
    assert_eq!(second["status"], "applied");
    for result in second["results"].as_array().unwrap() {
        if result["kind"] == "content" {
            assert_eq!(result["status"], "unchanged", "{result}");
        }
    }

    // A bundle signed with another key is refused by the agent; WordPress is untouched.
    let forged = forged_deployment(&app, &ada, &site_id).await;
    let forged = settled(&app, &ada, &host, &json!({"id": forged})).await;
    assert_eq!(forged["status"], "refused");
    assert_eq!(deployed_pages(&wp), pages);

    // Someone edits a page in WordPress: the agent reports it as drift.
    let about = pages
        .as_object()
        .unwrap()
        .iter()
        .find(|(key, _)| *key != "page:home")
        .map(|(key, page)| (key.clone(), page["id"].as_u64().unwrap()))
        .unwrap();
    wp.php(&format!(
        "wp_update_post(['ID' => {}, 'post_content' => 'Edited by hand']);",
        about.1
    ));
    host.stop().await;
    host.start();
    let drift = wait_for("the drift report", &host, || async {
        let site = get(&app, &ada, &site_path).await;
        let drifted = site["drift"]["drifted"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (!drifted.is_empty()).then_some(site["drift"].clone())
    })
    .await;
    assert_eq!(drift["drifted"][0]["key"], about.0.as_str(), "{drift}");
    assert_eq!(drift["drifted"][0]["state"], "modified");

    // Rolling the first deployment back restores the site as it was before it.
    let rollback = roll_back(&app, &ada, &first).await;
    let rollback = settled(&app, &ada, &host, &rollback).await;
    assert_eq!(rollback["status"], "applied", "{rollback}\n{}", host.log());
    assert_eq!(deployed_pages(&wp), json!({}));
    assert_eq!(wp.php("echo get_option('show_on_front');"), front_before);
    host.stop().await;
}

/// A stand-in for WPForms Lite: its shortcode shows the labels of the form
/// the connector made, as WPForms stores forms (JSON in a `wpforms` post).
fn fake_wpforms() -> Vec<u8> {
    let main = r#"<?php
/**
 * Plugin Name: WPForms Lite (test stand-in)
 * Version: 1.9.2
 */
add_action('init', function () { register_post_type('wpforms', ['public' => false]); });
add_shortcode('wpforms', function ($atts) {
    $form = get_post((int) ($atts['id'] ?? 0));
    $data = $form ? json_decode($form->post_content, true) : null;
    if (!is_array($data) || (int) $data['id'] !== $form->ID) {
        return '<p>no such form</p>';
    }
    $labels = array_map(fn ($f) => '<label>' . esc_html($f['type'] . ':' . $f['label']) . '</label>', $data['fields']);
    return '<form class="wpforms-form" id="wpforms-form-' . $form->ID . '">' . implode('', $labels) . '</form>';
});
"#;
    zip_of(&[("wpforms-lite/wpforms-lite.php", main.as_bytes())])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planned_plugins_come_from_the_directory_and_one_it_lacks_is_a_warning() {
    let directory = FakeDirectory::start().await;
    directory.add("wpforms-lite", "1.9.2", fake_wpforms());
    let url = directory.url.clone();
    let app = spawn_app_with(Backend::Sqlite, |s| s.plugin_directory_url = url).await;
    let ada = app.signed_up("ada@example.com").await;
    let (site_id, draft) = generated_site(&app, &ada).await;
    let planned: Vec<String> = draft["plugins"]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_owned())
        .collect();
    let lacking = planned
        .iter()
        .find(|slug| *slug != "wpforms-lite")
        .expect("the bakery's plan has more than a form");
    assert!(planned.iter().any(|s| s == "wpforms-lite"), "{planned:?}");
    let wp = WordPress::install();
    let mut host = Host::new();
    host.enroll(&app, &ada, &site_id, wp.path()).await;
    host.start();

    let deployment = deploy_draft(&app, &ada, &site_id).await;
    let deployment = settled(&app, &ada, &host, &deployment).await;
    assert_eq!(
        deployment["status"],
        "applied",
        "{deployment}\n{}",
        host.log()
    );
    let zip = deployment["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "plugin" && r["path"] == "wpforms-lite.zip")
        .unwrap_or_else(|| panic!("no zip in {deployment}"));
    assert_eq!(zip["status"], "applied", "{zip}");
    // Applied, with warnings: the plan's plugins the directory lacks are named.
    let warnings: Vec<&str> = deployment["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let skipped = warnings
        .iter()
        .find(|w| w.starts_with("plan.json: "))
        .unwrap_or_else(|| panic!("no plan warning in {warnings:?}"));
    assert!(
        skipped.contains(&format!(
            "{lacking} (not in the WordPress.org plugin directory)"
        )),
        "{skipped}"
    );
    assert!(!skipped.contains("wpforms-lite"), "{skipped}");

    // WordPress has the plugin active, and its form on the contact page.
    assert_eq!(
        wp.php("require_once ABSPATH . 'wp-admin/includes/plugin.php'; echo is_plugin_active('wpforms-lite/wpforms-lite.php') ? 'yes' : 'no';"),
        "yes"
    );
    let contact = wp.json(
        r#"$id = get_posts(['post_type' => 'page', 'meta_key' => '_gsw_key', 'meta_value' => 'page:contact', 'fields' => 'ids'])[0];
        $form = get_posts(['post_type' => 'wpforms', 'meta_key' => '_gsw_key', 'meta_value' => 'form:wpforms-lite', 'fields' => 'ids']);
        echo json_encode(['content' => get_post($id)->post_content, 'html' => apply_filters('the_content', get_post($id)->post_content), 'forms' => $form]);"#,
    );
    let form = contact["forms"][0]
        .as_u64()
        .expect("the form the connector made");
    let content = contact["content"].as_str().unwrap();
    let shortcode = format!("[wpforms id=\"{form}\"]");
    assert_eq!(content.matches(&shortcode).count(), 1, "{content}");
    let html = contact["html"].as_str().unwrap();
    assert!(
        html.contains(&format!("id=\"wpforms-form-{form}\"")),
        "{html}"
    );
    assert!(
        html.contains("email:Email") && html.contains("textarea:Message"),
        "{html}"
    );
    let site = get(&app, &ada, &format!("/sites/{site_id}")).await;
    assert_eq!(site["drift"]["drifted"], json!([]), "{}", site["drift"]);

    // The same draft again: the zip comes from the cache, nothing changes.
    let downloads = directory
        .requests()
        .iter()
        .filter(|r| r.starts_with("/plugin/"))
        .count();
    let again = deploy_draft(&app, &ada, &site_id).await;
    let again = settled(&app, &ada, &host, &again).await;
    assert_eq!(again["status"], "applied", "{again}");
    for result in again["results"].as_array().unwrap() {
        if result["kind"] == "content" || result["kind"] == "plugin" {
            assert_eq!(result["status"], "unchanged", "{result}");
        }
    }
    assert_eq!(
        directory
            .requests()
            .iter()
            .filter(|r| r.starts_with("/plugin/"))
            .count(),
        downloads
    );
    let after = wp.php("echo get_post(get_posts(['post_type' => 'page', 'meta_key' => '_gsw_key', 'meta_value' => 'page:contact', 'fields' => 'ids'])[0])->post_content;");
    assert_eq!(after, content);

    // Rolling the first deployment back removes the plugin and the form it made.
    let rollback = roll_back(&app, &ada, &deployment).await;
    let rollback = settled(&app, &ada, &host, &rollback).await;
    assert_eq!(rollback["status"], "applied", "{rollback}\n{}", host.log());
    assert_eq!(
        wp.php("echo count(get_posts(['post_type' => 'wpforms', 'post_status' => 'any', 'meta_key' => '_gsw_key'])), is_dir(WP_PLUGIN_DIR . '/wpforms-lite') ? ' folder' : ' gone';"),
        "0 gone"
    );
    host.stop().await;
}

/// A stand-in for Simply Schedule Appointments: its `[ssa_booking]`
/// shortcode draws a marked booking widget.
fn fake_booking_plugin() -> Vec<u8> {
    let main = r#"<?php
/**
 * Plugin Name: Simply Schedule Appointments (test stand-in)
 * Version: 1.6.8
 */
add_shortcode('ssa_booking', function () {
    return '<div class="ssa-booking-stand-in">Pick a time</div>';
});
"#;
    zip_of(&[(
        "simply-schedule-appointments/simply-schedule-appointments.php",
        main.as_bytes(),
    )])
}

/// A plan with a booking plugin: the plugin comes from the directory, is
/// active, and its calendar is on the booking page, once, even when the
/// draft is deployed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_booking_plugin_puts_its_calendar_on_the_booking_page() {
    let directory = FakeDirectory::start().await;
    directory.add(
        "simply-schedule-appointments",
        "1.6.8",
        fake_booking_plugin(),
    );
    let url = directory.url.clone();
    let app = spawn_app_with(Backend::Sqlite, |s| s.plugin_directory_url = url).await;
    let ada = app.signed_up("ada@example.com").await;
    let (site_id, draft) = generated_site_from(
        &app,
        &ada,
        json!({
            "business_name": "Clearwater Dental",
            "type": "dental clinic",
            "description": "Family dentist in Bristol offering check-ups, hygiene and whitening.",
            "goals": ["Online appointment booking"]
        }),
    )
    .await;
    let planned = draft["plugins"]["plugins"].as_array().unwrap();
    assert!(
        planned
            .iter()
            .any(|p| p["slug"] == "simply-schedule-appointments"),
        "{planned:?}"
    );
    let wp = WordPress::install();
    let mut host = Host::new();
    host.enroll(&app, &ada, &site_id, wp.path()).await;
    host.start();
    let book_page = r#"$id = get_posts(['post_type' => 'page', 'meta_key' => '_gsw_key', 'meta_value' => 'page:book', 'fields' => 'ids'])[0];
        echo json_encode(['content' => get_post($id)->post_content, 'html' => apply_filters('the_content', get_post($id)->post_content)]);"#;
    for round in ["first", "again"] {
        let deployment = deploy_draft(&app, &ada, &site_id).await;
        let deployment = settled(&app, &ada, &host, &deployment).await;
        assert_eq!(
            deployment["status"],
            "applied",
            "{round}: {deployment}\n{}",
            host.log()
        );
        assert_eq!(
            wp.php("require_once ABSPATH . 'wp-admin/includes/plugin.php'; echo is_plugin_active('simply-schedule-appointments/simply-schedule-appointments.php') ? 'yes' : 'no';"),
            "yes",
            "{round}"
        );
        let book = wp.json(book_page);
        let content = book["content"].as_str().unwrap();
        assert_eq!(
            content.matches("[ssa_booking]").count(),
            1,
            "{round}: {content}"
        );
        let html = book["html"].as_str().unwrap();
        assert!(html.contains("ssa-booking-stand-in"), "{round}: {html}");
    }
    host.stop().await;
}

/// Queues a deployment whose manifest is signed with a key that is not the
/// control plane's.
async fn forged_deployment(app: &TestApp, user: &TestUser, site_id: &str) -> String {
    let payload = Payload::build([(
        ItemKind::Content,
        "pages/home.json",
        br#"{"key":"page:home","title":"Forged","slug":"home","content":""}"#.to_vec(),
    )])
    .unwrap();
    let wrong_key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let items = payload.items.clone();
    queue_raw(
        app,
        user,
        site_id,
        payload.bytes,
        move |id, site, sequence| manifest_for(&items, id, site, sequence),
        &wrong_key,
    )
    .await
}

/// A stand-in for `php` that runs the real one, except for `bin/apply.php`
/// when the file `mode` says `slow` (waits 3 s first) or `crash` (prints no
/// report and dies, as PHP does when it runs out of memory). The agent
/// starts apply processes ahead of their bundles, so the mode is read once
/// the request has come on stdin, and the request is passed on.
fn php_stand_in(host: &Host) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let mode = host.dir.path().join("mode");
    let script = host.dir.path().join("bin/php");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$*\" in\n  *bin/apply.php*)\n    IFS= read -r request || exit 0\n    case \"$(cat '{mode}' 2>/dev/null)\" in\n      slow) sleep 3 ;;\n      crash) echo 'PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted'; exit 255 ;;\n    esac\n    printf '%s\\n' \"$request\" | php \"$@\"\n    exit $? ;;\nesac\nexec php \"$@\"\n",
            mode = mode.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, mode)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_during_an_apply_waits_a_crash_is_reported_and_old_snapshots_go() {
    let app = spawn_app(Backend::Sqlite).await;
    let ada = app.signed_up("ada@example.com").await;
    let (site_id, _) = generated_site(&app, &ada).await;
    let wp = WordPress::install();
    let mut host = Host::new();
    let (php, mode) = php_stand_in(&host);
    host.enroll_with(
        &app,
        &ada,
        &site_id,
        wp.path(),
        &[
            "--php".as_ref(),
            php.as_os_str(),
            "--keep-snapshots".as_ref(),
            "2".as_ref(),
        ],
    )
    .await;
    host.start();

    // A deployment arrives while the one before it is still applying: the
    // agent keeps serving the connection, holds it, and applies it after.
    std::fs::write(&mode, "slow").unwrap();
    let first = deploy_draft(&app, &ada, &site_id).await;
    let first_path = format!("/deployments/{}", first["id"].as_str().unwrap());
    wait_for("the first bundle on the agent's disk", &host, || async {
        let now = get(&app, &ada, &first_path).await;
        (now["status"] == "delivered").then_some(now)
    })
    .await;
    let second = deploy_draft(&app, &ada, &site_id).await;
    let first = settled(&app, &ada, &host, &first).await;
    let second = settled(&app, &ada, &host, &second).await;
    assert_eq!(first["status"], "applied", "{first}\n{}", host.log());
    assert_eq!(second["status"], "applied", "{second}\n{}", host.log());
    for result in second["results"].as_array().unwrap() {
        if result["kind"] == "content" {
            assert_eq!(
                result["status"], "unchanged",
                "applied after the first: {result}"
            );
        }
    }
    let log = host.log();
    let applied: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("bundle applied"))
        .collect();
    assert!(
        applied.len() == 2
            && applied[0].contains("sequence=1")
            && applied[1].contains("sequence=2"),
        "{log}"
    );
    assert_eq!(
        log.matches(" connected").count(),
        1,
        "one connection throughout: {log}"
    );

    // The connector dies without a report: every item is reported failed,
    // with what to do about it.
    std::fs::write(&mode, "crash").unwrap();
    let crashed = deploy_draft(&app, &ada, &site_id).await;
    let crashed = settled(&app, &ada, &host, &crashed).await;
    assert_eq!(crashed["status"], "failed", "{crashed}");
    let results = crashed["results"].as_array().unwrap();
    assert_eq!(results.len(), crashed["items"].as_array().unwrap().len());
    for result in results {
        assert_eq!(result["status"], "failed", "{result}");
        let message = result["message"].as_str().unwrap();
        assert!(message.contains("no readable report"), "{message}");
        assert!(
            message.contains("Allowed memory size"),
            "the output is kept: {message}"
        );
        assert!(
            message.contains("rolling this deployment back"),
            "{message}"
        );
    }

    // Only the two newest snapshots stay (sequence 3 never wrote one).
    std::fs::write(&mode, "").unwrap();
    let fourth = deploy_draft(&app, &ada, &site_id).await;
    let fourth = settled(&app, &ada, &host, &fourth).await;
    assert_eq!(fourth["status"], "applied", "{fourth}");
    let mut kept: Vec<String> = std::fs::read_dir(host.state_dir().join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept, ["2", "4"]);

    // The agent says which it keeps; the control plane then refuses to
    // roll back the first deployment, and says why.
    let site_path = format!("/sites/{site_id}");
    wait_for("the kept snapshots in the inventory", &host, || async {
        let site = get(&app, &ada, &site_path).await;
        (site["inventory"]["snapshots"] == json!([2, 4])).then_some(site)
    })
    .await;
    let response = app
        .api(
            Method::POST,
            &format!("/deployments/{}/rollback", first["id"].as_str().unwrap()),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(response.status(), 409);
    let refused: Value = response.json().await.unwrap();
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("no longer keeps the snapshot of deployment #1"),
        "{message}"
    );

    // A snapshot gone behind the agent's back (a disk cleanup): the
    // rollback reaches the connector, which fails it and says why.
    std::fs::remove_dir_all(host.state_dir().join("snapshots/2")).unwrap();
    let rollback = roll_back(&app, &ada, &second).await;
    let rollback = settled(&app, &ada, &host, &rollback).await;
    assert_eq!(rollback["status"], "failed", "{rollback}");
    let message = rollback["results"][0]["message"].as_str().unwrap();
    assert!(message.contains("no snapshot of sequence 2"), "{message}");
    host.stop().await;
}

/// Deploys items through the API, as a script or the dashboard would.
async fn deploy_items(app: &TestApp, user: &TestUser, site_id: &str, items: Value) -> Value {
    let response = app
        .api(
            Method::POST,
            &format!("/sites/{site_id}/deployments"),
            Some(&user.access),
            Some(json!({ "items": items })),
        )
        .await;
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

fn zip_item(kind: &str, path: &str, zip: Vec<u8>) -> Value {
    use base64::Engine;
    json!({"kind": kind, "path": path, "content_base64": base64::engine::general_purpose::STANDARD.encode(zip)})
}

/// A page whose link and image have nothing behind them, and a site icon
/// that was never uploaded: the page still goes up, the link goes to the
/// home page, the image is left out, the icon is left as it was, and the
/// deployment says all three (applied with warnings, not plain green).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_image_or_icon_with_nothing_behind_it_falls_back_and_says_so() {
    let app = spawn_app(Backend::Sqlite).await;
    let ada = app.signed_up("ada@example.com").await;
    let (site_id, _) = generated_site(&app, &ada).await;
    let wp = WordPress::install();
    let mut host = Host::new();
    host.enroll(&app, &ada, &site_id, wp.path()).await;
    host.start();
    let icon_before = wp.php("echo (int) get_option('site_icon');");

    let content = "<!-- wp:paragraph -->\n<p>See <a href=\"#gsw-page=nowhere\">our rates</a>.</p>\n<!-- /wp:paragraph -->\n\n\
        <!-- wp:image {\"sizeSlug\":\"large\"} -->\n<figure class=\"wp-block-image size-large\"><img src=\"#gsw-media=images/never.png\" alt=\"Never uploaded\"/></figure>\n<!-- /wp:image -->";
    let page = json!({
        "content": content, "front_page": false, "key": "page:lonely", "parent_key": null,
        "seo": {"description": "", "title": ""}, "slug": "lonely", "status": "publish",
        "title": "Lonely", "type": "page"
    });
    let site = json!({"icon": "images/absent.png", "language": "en", "tagline": "Still here", "title": "Fallback Test"});
    let deployment = deploy_items(
        &app,
        &ada,
        &site_id,
        json!([
            {"kind": "content", "path": "pages/lonely.json", "content": page.to_string()},
            {"kind": "content", "path": "site.json", "content": site.to_string()},
        ]),
    )
    .await;
    let deployment = settled(&app, &ada, &host, &deployment).await;
    assert_eq!(
        deployment["status"],
        "applied",
        "{deployment}\n{}",
        host.log()
    );
    let warnings: Vec<&str> = deployment["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let said = |what: &str| warnings.iter().any(|w| w.contains(what));
    assert!(
        said("pages/lonely.json: link to page:nowhere goes to the home page"),
        "{warnings:?}"
    );
    assert!(
        said("image media:images/never.png left out: it was not uploaded"),
        "{warnings:?}"
    );
    assert!(
        said("site.json: icon media:images/absent.png not found"),
        "{warnings:?}"
    );

    // What WordPress holds: the page, with its link to the home page and no
    // broken image; the title changed, the icon as it was.
    let stored = wp.json(
        r#"$page = get_page_by_path('lonely');
        echo json_encode(['content' => $page ? $page->post_content : null, 'home' => home_url('/')]);"#,
    );
    let stored_content = stored["content"].as_str().expect("the page exists");
    let home = stored["home"].as_str().unwrap();
    assert!(
        stored_content.contains(&format!("href=\"{home}\"")),
        "{stored_content}"
    );
    assert!(!stored_content.contains("gsw-page="), "{stored_content}");
    assert!(!stored_content.contains("<img"), "{stored_content}");
    assert!(!stored_content.contains("wp:image"), "{stored_content}");
    assert_eq!(wp.php("echo get_option('blogname');"), "Fallback Test");
    assert_eq!(wp.php("echo (int) get_option('site_icon');"), icon_before);
    host.stop().await;
}

/// Processes of `bin/apply.php` waiting for a request, for the WordPress at `wp`.
fn waiting_apply_processes(wp: &Path) -> Vec<u32> {
    let wp = wp.to_string_lossy();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (cmdline.contains("--request-on-stdin") && cmdline.contains(wp.as_ref())).then_some(pid)
        })
        .collect()
}

fn folder_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn theme_and_plugin_zips_reach_wordpress_and_an_escaping_zip_is_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let ada = app.signed_up("ada@example.com").await;
    let (site_id, _) = generated_site(&app, &ada).await;
    let wp = WordPress::install();
    let mut host = Host::new();
    host.enroll(&app, &ada, &site_id, wp.path()).await;
    host.start();

    // A theme and a plugin, pushed through the API: installed by
    // WordPress's upgraders and activated.
    let packages = deploy_items(
        &app,
        &ada,
        &site_id,
        json!([
            zip_item(
                "theme",
                "gsw-test-theme.zip",
                theme_zip("gsw-test-theme", "1.0")
            ),
            zip_item("plugin", "gsw-hello.zip", plugin_zip("gsw-hello", "1.0")),
            // A plan may set only the options on the connector's allow-list
            // (audit finding 5): not where themes are looked for, the site's
            // address, its permalinks, widgets or language.
            {"kind": "plugin", "path": "plan.json", "content": json!({"plugins": [{
                "slug": "gsw-hello", "name": "Hello", "category": "demo", "reason": "test", "settings": {},
                "options": {
                    "template_root": "/tmp/gsw-evil-themes",
                    "siteurl": "https://evil.example",
                    "permalink_structure": "/%postname%.php",
                    "sidebars_widgets": {"wp_inactive_widgets": []},
                    "widget_text": {"2": {"text": "<script>evil()</script>"}},
                    "WPLANG": "xx",
                    "woocommerce_currency": "EUR",
                },
            }]}).to_string()},
        ]),
    )
    .await;
    let packages = settled(&app, &ada, &host, &packages).await;
    assert_eq!(packages["status"], "applied", "{packages}\n{}", host.log());
    let state = wp.json(
        "require_once ABSPATH . 'wp-admin/includes/plugin.php'; echo json_encode(['theme' => get_stylesheet(), 'active' => is_plugin_active('gsw-hello/gsw-hello.php'), 'activated' => get_option('gsw-hello_activated')]);",
    );
    assert_eq!(
        state,
        json!({"theme": "gsw-test-theme", "active": true, "activated": "1.0"})
    );
    let plan = packages["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "plan.json")
        .unwrap_or_else(|| panic!("{packages}"));
    let notes = plan["message"].as_str().unwrap();
    for refused in [
        "template_root",
        "siteurl",
        "permalink_structure",
        "sidebars_widgets",
        "widget_text",
        "WPLANG",
    ] {
        assert!(
            notes.contains(&format!(
                "gsw-hello: option {refused} is not one a plan may set"
            )),
            "{refused}: {plan}"
        );
    }
    let options = wp.json(
        "echo json_encode(['template_root' => get_option('template_root'), 'siteurl' => get_option('siteurl'), 'permalinks' => get_option('permalink_structure'), 'widget_text' => get_option('widget_text'), 'lang' => get_option('WPLANG'), 'currency' => get_option('woocommerce_currency')]);",
    );
    assert_ne!(
        options["template_root"], "/tmp/gsw-evil-themes",
        "{options}"
    );
    assert!(
        !options["siteurl"].as_str().unwrap().contains("evil"),
        "{options}"
    );
    assert_ne!(options["permalinks"], "/%postname%.php", "{options}");
    assert!(
        !options["widget_text"].to_string().contains("evil"),
        "{options}"
    );
    assert_ne!(options["lang"], "xx", "{options}");
    assert_eq!(options["currency"], "EUR", "an allowed option is written");
    // And the inventory the agent sends after the apply shows them.
    let site_path = format!("/sites/{site_id}");
    let inventory = wait_for("the new inventory", &host, || async {
        let site = get(&app, &ada, &site_path).await;
        let inventory = site["inventory"].clone();
        let plugins = inventory["plugins"].as_array().cloned().unwrap_or_default();
        plugins
            .iter()
            .any(|p| p["slug"] == "gsw-hello" && p["active"] == true)
            .then_some(inventory)
    })
    .await;
    let theme = inventory["themes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "gsw-test-theme")
        .unwrap_or_else(|| panic!("{inventory}"));
    assert_eq!(theme["active"], true);
    assert_eq!(theme["version"], "1.0");

    // The PHP waiting for the next apply dies first (killed, out of
    // memory): the agent starts a fresh one for the next bundle.
    let waiting = waiting_apply_processes(wp.path());
    assert_eq!(waiting.len(), 1, "{}", host.log());
    let killed = std::process::Command::new("kill")
        .args(["-9", &waiting[0].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    // A plugin zip with an entry outside its folder is refused before
    // anything is written, and the deployment says so.
    let plugins_before = folder_names(&wp.path().join("wp-content/plugins"));
    let escaping = deploy_items(
        &app,
        &ada,
        &site_id,
        json!([zip_item(
            "plugin",
            "evil.zip",
            zip_of(&[
                ("evil/evil.php", b"<?php /* Plugin Name: Evil */"),
                ("evil/../../../gsw-escaped.php", b"<?php echo 'owned';"),
            ]),
        )]),
    )
    .await;
    let escaping = settled(&app, &ada, &host, &escaping).await;
    assert_eq!(escaping["status"], "failed", "{escaping}");
    let result = &escaping["results"][0];
    assert_eq!(result["status"], "failed");
    assert!(
        result["message"].as_str().unwrap().contains("zip refused"),
        "{result}"
    );
    assert!(!wp.path().join("gsw-escaped.php").exists());
    assert!(!wp.path().join("wp-content/gsw-escaped.php").exists());
    assert_eq!(
        folder_names(&wp.path().join("wp-content/plugins")),
        plugins_before
    );

    // The next apply's PHP is already started, waiting for its request;
    // when the agent goes, it goes too.
    assert_eq!(
        waiting_apply_processes(wp.path()).len(),
        1,
        "{}",
        host.log()
    );
    host.stop().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !waiting_apply_processes(wp.path()).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the waiting PHP outlived the agent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn the_connector_zip_installs_and_activates_through_wordpress() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("gsw-connector.zip");
    let output = std::process::Command::new(AGENT)
        .args(["connector-zip", "--out"])
        .arg(&zip)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The same agent writes the same bytes.
    let first = std::fs::read(&zip).unwrap();
    let again = dir.path().join("again.zip");
    let output = std::process::Command::new(AGENT)
        .args(["connector-zip", "--out"])
        .arg(&again)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(std::fs::read(&again).unwrap(), first);

    // Installed as any plugin zip is, by WordPress's own upgrader.
    let wp = WordPress::install();
    let state = wp.json(&format!(
        r#"define('FS_METHOD', 'direct');
        foreach (['file', 'misc', 'plugin', 'class-wp-upgrader'] as $admin) {{
            require_once ABSPATH . "wp-admin/includes/$admin.php";
        }}
        wp_set_current_user(1);
        $installed = (new Plugin_Upgrader(new Automatic_Upgrader_Skin()))->install('{}');
        $activated = activate_plugin('gsw-connector/gsw-connector.php');
        echo json_encode([
            'installed' => $installed === true,
            'active' => is_plugin_active('gsw-connector/gsw-connector.php'),
            'activation_error' => is_wp_error($activated) ? $activated->get_error_message() : null,
            'apply' => is_file(WP_PLUGIN_DIR . '/gsw-connector/bin/apply.php'),
            'name' => get_plugins()['gsw-connector/gsw-connector.php']['Name'] ?? null,
        ]);"#,
        zip.display()
    ));
    assert_eq!(state["installed"], true, "{state}");
    assert_eq!(state["active"], true, "{state}");
    assert_eq!(state["apply"], true, "{state}");
    assert!(state["name"].as_str().is_some(), "{state}");
}

/// WordPress served over HTTP by PHP's built-in server (four workers), with
/// a router that hands every path that is not a file to WordPress, as a
/// web server's rewrite rules would. `siteurl` and `home` point at it.
struct Served {
    url: String,
    server: Child,
}

impl Served {
    async fn start(wp: &WordPress) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        std::fs::write(
            wp.path().join("gsw-router.php"),
            "<?php\n$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);\nif ($path !== '/' && is_file(__DIR__ . $path)) {\n    return false;\n}\n$_SERVER['SCRIPT_NAME'] = '/index.php';\nrequire __DIR__ . '/index.php';\n",
        )
        .unwrap();
        wp.php(&format!(
            "update_option('siteurl', '{url}'); update_option('home', '{url}');"
        ));
        let server = Command::new("php")
            .arg("-S")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-t")
            .arg(wp.path())
            .arg(wp.path().join("gsw-router.php"))
            .env("PHP_CLI_SERVER_WORKERS", "4")
            .current_dir(wp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("starting php -S");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(&url).send().await.is_ok() {
                return Self { url, server };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("php -S did not answer on {url}");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.server.start_kill();
    }
}

/// The dashboard a visitor test compares the live site with: its address,
/// a signed-in user and the site.
struct Dashboard<'a> {
    app: &'a TestApp,
    user: &'a TestUser,
    site_id: &'a str,
}

/// Runs `web/e2e/visitor.mjs` against a served site, comparing it with the
/// dashboard's preview; panics with its report when a check fails.
async fn visit(
    served: &Served,
    dashboard: &Dashboard<'_>,
    name: &str,
    heading_font: &str,
    label: &str,
    out: &Path,
) -> Value {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    assert!(
        web.join("node_modules/playwright-core/package.json")
            .exists(),
        "the visitor test needs Node.js 20, `npm ci` in web/ and Debian's chromium"
    );
    std::fs::create_dir_all(out).unwrap();
    let session = out.join(format!("{label}-session.json"));
    std::fs::write(
        &session,
        json!({"access_token": dashboard.user.access, "refresh_token": dashboard.user.refresh})
            .to_string(),
    )
    .unwrap();
    let output = Command::new("node")
        .current_dir(&web)
        .arg("e2e/visitor.mjs")
        .args(["--base-url", &served.url, "--site-name", name])
        .args([
            "--heading-font",
            heading_font,
            "--label",
            label,
            "--lighthouse",
        ])
        .args(["--dashboard", &dashboard.app.address])
        .args(["--site-id", dashboard.site_id])
        .arg("--session")
        .arg(&session)
        .arg("--out")
        .arg(out)
        .output()
        .await
        .expect("running node (Node.js 20 or newer)");
    let _ = std::fs::remove_file(&session);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{label}: the visitor's checks failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("not JSON: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_site_is_what_a_visitor_sees() {
    let app = spawn_app(Backend::Sqlite).await;
    let ada = app.signed_up("ada@example.com").await;
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/visitor");
    let briefs = [
        (
            "plain",
            json!({
                "business_name": "Velo Vandaag",
                "type": "bicycle repair workshop",
                "description": "A bicycle repair workshop in Ghent run by two mechanics, open Tuesday to Saturday 9:00-18:00. We fix city bikes, e-bikes and cargo bikes, and service wheels and brakes.",
                "goals": ["Get repair bookings", "Be found on Google"],
                "address": "Kortrijksesteenweg 12, 9000 Gent",
                "phone": "+32 9 123 45 67",
                "email": "hallo@velovandaag.be"
            }),
        ),
        (
            "pretty",
            json!({
                "business_name": "Maison Lune",
                "type": "bakery",
                "description": "A family bakery in Lyon making sourdough bread, croissants and celebration cakes. Open Monday to Saturday 7:00-19:00.",
                "goals": ["Take online orders for collection", "Be found on Google"]
            }),
        ),
        (
            "plain",
            json!({
                "business_name": "Tandartsen De Linde",
                "type": "tandartspraktijk",
                "language": "nl-BE",
                "description": "Een tandartspraktijk in Leuven met drie tandartsen. Wij doen controles, mondhygiëne en implantaten voor gezinnen. Open maandag tot vrijdag 8:30-18:00.",
                "goals": ["Meer afspraken", "Gevonden worden op Google"],
                "phone": "016 12 34 56"
            }),
        ),
        (
            "pretty",
            json!({
                "business_name": "Northside Plumbing",
                "type": "plumber",
                "description": "A plumbing company in Leeds fixing leaks, installing boilers and unblocking drains for homeowners and landlords.",
                "goals": ["Get more quote requests"],
                "email": "jobs@northside-plumbing.example"
            }),
        ),
        (
            "pretty",
            json!({
                "business_name": "Atelier Yoga Soleil",
                "type": "studio de yoga",
                "language": "fr",
                "description": "Un studio de yoga à Nantes qui propose du hatha yoga, du yoga prénatal et de la méditation. Ouvert du lundi au samedi.",
                "goals": ["Remplir les cours", "Être trouvé sur Google"]
            }),
        ),
    ];
    // One more, written through the model path: a local fake of the
    // Anthropic API answers every agent.
    let fake = fake_anthropic::FakeAnthropic::start().await;
    let url = fake.url.clone();
    let claude = spawn_app_with(Backend::Sqlite, |s| {
        s.anthropic_api_key = Some(Secret::new("sk-test"));
        s.anthropic_base_url = url;
    })
    .await;
    let bob = claude.signed_up("bob@example.com").await;
    let harbour = json!({
        "business_name": "Harbour Plumbing",
        "type": "plumber",
        "description": "Plumbers in Bristol: emergency repairs, boiler installations and maintenance.",
        "goals": ["Get more emergency call-outs"]
    });
    let sites = briefs
        .into_iter()
        .map(|(permalinks, brief)| (permalinks, brief, &app, &ada))
        .chain([("plain", harbour, &claude, &bob)]);
    let mut labels = Vec::new();
    for (permalinks, brief, app, ada) in sites {
        let ada: &TestUser = ada;
        let app: &TestApp = app;
        let label = format!("{permalinks}-{}", labels.len() + 1);
        labels.push(label.clone());
        let language = brief["language"].as_str().unwrap_or("en").to_owned();
        let name = brief["business_name"].as_str().unwrap().to_owned();
        let (site_id, draft) = generated_site_from(app, ada, brief).await;
        let wp = WordPress::install();
        if permalinks == "pretty" {
            wp.php(
                "update_option('permalink_structure', '/%postname%/'); flush_rewrite_rules(false);",
            );
        }
        // Served first: WordPress writes its own URL into the links it makes.
        let served = Served::start(&wp).await;
        let mut host = Host::new();
        host.enroll(app, ada, &site_id, wp.path()).await;
        host.start();
        let deployment = deploy_draft(app, ada, &site_id).await;
        let deployment = settled(app, ada, &host, &deployment).await;
        assert_eq!(
            deployment["status"],
            "applied",
            "{deployment}\n{}",
            host.log()
        );

        // The planned plugins are not to be had here: the deployment says so
        // rather than pass for a plain success.
        if !draft["plugins"]["plugins"].as_array().unwrap().is_empty() {
            let warnings = deployment["warnings"].as_array().unwrap();
            assert!(
                warnings
                    .iter()
                    .any(|w| w.as_str().unwrap().starts_with("plan.json: ")),
                "{deployment}"
            );
        }

        // WordPress says who the site is.
        assert_eq!(wp.php("echo get_option('blogname');"), name);
        let theme = wp.php("echo get_stylesheet();");
        assert!(
            theme.starts_with("gsw-"),
            "the generated theme is active: {theme}"
        );
        assert!(
            !wp.php("echo get_option('blogdescription');").is_empty(),
            "a tagline"
        );

        let heading_font = draft["design"]["fonts"]["heading"].as_str().unwrap();
        let dashboard = Dashboard {
            app,
            user: ada,
            site_id: &site_id,
        };
        let report = visit(&served, &dashboard, &name, heading_font, &label, &out).await;
        eprintln!(
            "{label}: preview against the live page: {}",
            report["preview"]
        );
        let lang = report["pages"]["home"]["lang"].as_str().unwrap();
        assert_eq!(lang, language, "<html lang> of {name}");
        let visited = report["pages_visited"].as_u64().unwrap() as usize;
        assert!(
            visited >= draft["pages"].as_array().unwrap().len(),
            "every page is reachable from the home page: {report}\n{}",
            draft["pages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| format!("{} ({})", p["slug"], p["title"]))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let home = reqwest::get(format!("{}/", served.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            home.contains("application/ld+json"),
            "structured data on the home page"
        );
        if name == "Velo Vandaag" {
            assert!(
                home.contains("tel:+3291234567"),
                "the phone number in the footer"
            );
            assert!(home.contains("Kortrijksesteenweg 12, 9000 Gent"));
            assert!(
                home.contains("\"@type\":\"") && home.contains("\"openingHoursSpecification\"")
            );
        }
        host.stop().await;
    }
}

/// A site on shared hosting: WordPress with the connector plugin alone (no
/// agent, no PHP extension), installed from the control plane's own zip.
struct PluginOnly {
    wp: WordPress,
    served: Served,
}

impl PluginOnly {
    async fn install(app: &TestApp) -> Self {
        let wp = WordPress::install();
        let zip = app
            .api(Method::GET, "/connector.zip", None, None)
            .await
            .bytes()
            .await
            .unwrap();
        let zip_path = wp.path().join("gsw-connector.zip");
        std::fs::write(&zip_path, &zip).unwrap();
        // Installed as Plugins > Add New > Upload does it.
        let installed = wp.php(&format!(
            "foreach (['file', 'misc', 'plugin', 'class-wp-upgrader'] as $f) {{ require_once ABSPATH . \"wp-admin/includes/$f.php\"; }} \
             wp_set_current_user(1); define('FS_METHOD', 'direct'); \
             $u = new Plugin_Upgrader(new Automatic_Upgrader_Skin()); $r = $u->install('{}'); \
             $a = activate_plugin('gsw-connector/gsw-connector.php'); echo $r === true && $a === null ? 'ok' : 'failed';",
            zip_path.display()
        ));
        assert_eq!(installed, "ok");
        let served = Served::start(&wp).await;
        Self { wp, served }
    }

    /// An application password for the administrator, as Users > Profile makes one.
    fn application_password(&self) -> String {
        self.wp.php(
            "[$password] = WP_Application_Passwords::create_new_application_password(1, ['name' => uniqid('gsWstudio ')]); echo $password;",
        )
    }

    /// What a real cron runs every minute: `php bin/pull.php`, plain PHP.
    async fn pull(&self, flags: &[&str]) -> Value {
        let output = Command::new("php")
            .arg(
                self.wp
                    .path()
                    .join("wp-content/plugins/gsw-connector/bin/pull.php"),
            )
            .args(flags)
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let summary: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
            panic!(
                "pull.php printed no JSON: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        assert!(
            output.status.success(),
            "{summary}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        summary
    }

    /// What WP-Cron does on a visit: the pull inside a web request.
    async fn cron(&self) {
        let response = reqwest::get(format!("{}/wp-cron.php?doing_wp_cron", self.served.url))
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_with_only_the_connector_plugin_is_connected_deployed_and_rolled_back() {
    // The WordPress runs on this machine, which the guarded client refuses
    // unless told otherwise (as for local development).
    let app = spawn_app_with(Backend::Sqlite, |s| s.allow_private_targets = true).await;
    let ada = app.signed_up("ada@example.com").await;
    let (site_id, draft) = generated_site(&app, &ada).await;
    let site = PluginOnly::install(&app).await;
    assert_eq!(
        site.wp
            .php("echo extension_loaded('gsw-php-ext') ? 'yes' : 'no';"),
        "no"
    );

    // Before it is connected, the plugin answers nobody: its route wants an administrator.
    let client = reqwest::Client::new();
    let connect_url = format!("{}/?rest_route=/gsw/v1/connect", site.served.url);
    let anonymous = client
        .post(&connect_url)
        .json(&json!({"server": app.address, "token": "gswe_x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // Connected with an application password; the key is pinned by its fingerprint.
    let token = app
        .api(
            Method::POST,
            &format!("/sites/{site_id}/enrollment-tokens"),
            Some(&ada.access),
            None,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let wrong_pin = client
        .post(&connect_url)
        .basic_auth("admin", Some(site.application_password()))
        .json(&json!({"server": app.address, "token": token["token"], "expect_key": format!("SHA256:{}", "A".repeat(43))}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong_pin.status(),
        422,
        "{}",
        wrong_pin.text().await.unwrap()
    );
    // Connected from the dashboard: the control plane checks the site and
    // the credentials, then has the connector enroll itself. The
    // application password is used once and kept nowhere.
    let password = site.application_password();
    let checked = app
        .api(
            Method::POST,
            "/wordpress/validate",
            Some(&ada.access),
            Some(json!({"url": site.served.url, "username": "admin", "application_password": password})),
        )
        .await;
    assert_eq!(checked.status(), 200);
    let checked: Value = checked.json().await.unwrap();
    assert_eq!(checked["user"]["is_administrator"], true, "{checked}");
    assert_eq!(checked["connector"]["active"], true, "{checked}");
    let connected = app
        .api(
            Method::POST,
            &format!("/sites/{site_id}/connect"),
            Some(&ada.access),
            Some(json!({"url": site.served.url, "username": "admin", "application_password": password})),
        )
        .await;
    assert_eq!(
        connected.status(),
        200,
        "{}",
        connected.text().await.unwrap()
    );
    let connected: Value = connected.json().await.unwrap();
    assert_eq!(connected["site_id"], site_id.as_str());
    assert_eq!(connected["connection"], "plugin");
    let link = site
        .wp
        .json("echo json_encode(get_option('gsw_link')['site_id']);");
    assert_eq!(link, site_id.as_str());

    // The first pull reports the inventory; the site shows as a plugin connection.
    site.pull(&[]).await;
    let agent = get(&app, &ada, &format!("/sites/{site_id}/agent")).await;
    assert_eq!(agent["connection"], "plugin", "{agent}");
    let inventory = get(&app, &ada, &format!("/sites/{site_id}")).await["inventory"].clone();
    assert_eq!(
        inventory["site_url"],
        site.served.url.as_str(),
        "{inventory}"
    );
    assert_eq!(inventory["extension_version"], Value::Null);

    // The draft, pulled and applied by the plugin alone.
    let first = deploy_draft(&app, &ada, &site_id).await;
    let summary = site.pull(&[]).await;
    assert_eq!(summary["applied"], 1, "{summary}");
    let first = get(
        &app,
        &ada,
        &format!("/deployments/{}", first["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(first["status"], "applied", "{first}");
    let pages = deployed_pages(&site.wp);
    assert_eq!(
        pages.as_object().unwrap().len(),
        draft["pages"].as_array().unwrap().len(),
        "{pages}"
    );
    let agent = get(&app, &ada, &format!("/sites/{site_id}/agent")).await;
    assert_eq!(agent["online"], true, "{agent}");

    // A bundle signed with another key is refused; WordPress is untouched.
    let forged = forged_deployment(&app, &ada, &site_id).await;
    let summary = site.pull(&[]).await;
    assert_eq!(summary["refused"], 1, "{summary}");
    let forged = get(&app, &ada, &format!("/deployments/{forged}")).await;
    assert_eq!(forged["status"], "refused", "{forged}");
    assert_eq!(deployed_pages(&site.wp), pages);

    // An edit in WordPress is reported as drift.
    let (key, id) = pages
        .as_object()
        .unwrap()
        .iter()
        .find(|(key, _)| *key != "page:home")
        .map(|(key, page)| (key.clone(), page["id"].as_u64().unwrap()))
        .unwrap();
    site.wp.php(&format!(
        "wp_update_post(['ID' => {id}, 'post_content' => 'Edited by hand']);"
    ));
    site.pull(&["--report"]).await;
    let drift = get(&app, &ada, &format!("/sites/{site_id}")).await["drift"].clone();
    assert_eq!(drift["drifted"][0]["key"], key.as_str(), "{drift}");

    // Rolled back through WP-Cron, inside a web request this time.
    let rollback = roll_back(&app, &ada, &first).await;
    site.cron().await;
    let rollback = get(
        &app,
        &ada,
        &format!("/deployments/{}", rollback["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(rollback["status"], "applied", "{rollback}");
    assert_eq!(deployed_pages(&site.wp), json!({}));

    // Revoked from the dashboard: the plugin stops asking.
    let revoked = app
        .api(
            Method::DELETE,
            &format!("/sites/{site_id}/agent"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(revoked.status(), 204);
    let output = Command::new("php")
        .arg(
            site.wp
                .path()
                .join("wp-content/plugins/gsw-connector/bin/pull.php"),
        )
        .output()
        .await
        .unwrap();
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        summary["error"].as_str().unwrap().contains("agent_revoked"),
        "{summary}"
    );
    assert_eq!(
        site.wp
            .json("echo json_encode(get_option('gsw_link')['revoked']);"),
        json!(true)
    );
}
