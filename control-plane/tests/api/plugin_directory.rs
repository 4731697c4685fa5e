//! Planned plugins from the plugin directory: the client against a local
//! fake of WordPress.org's (unknown slugs, failures then success, oversize
//! zips, download links off its hosts, the cache), and a draft's deployment
//! carrying the zips it could have and naming the ones it could not.

use std::io::Write;
use std::time::Duration;

use gsw_control_plane::plugins::{PluginDirectory, Unavailable, ZipCache};
use gsw_control_plane::testing::directory::FakeDirectory;
use gsw_control_plane::testing::spawn_app_with;
use gsw_storage::Backend;
use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::generation::{bakery, finished_job, generate};

/// A plugin zip as WordPress.org serves them: everything in `<slug>/`.
fn plugin_zip(slug: &str, version: &str, padding: usize) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file(format!("{slug}/{slug}.php"), options)
        .unwrap();
    write!(
        zip,
        "<?php\n/**\n * Plugin Name: {slug}\n * Version: {version}\n */\n"
    )
    .unwrap();
    zip.start_file(format!("{slug}/readme.txt"), options)
        .unwrap();
    zip.write_all(&vec![b'x'; padding]).unwrap();
    zip.finish().unwrap().into_inner()
}

fn client(fake: &FakeDirectory, cache: &tempfile::TempDir, max_zip: u64) -> PluginDirectory {
    PluginDirectory::new(
        Url::parse(&fake.url).unwrap(),
        Duration::from_secs(5),
        max_zip,
        ZipCache::new(cache.path().to_owned(), 10 * 1024 * 1024),
    )
    .unwrap()
}

#[tokio::test]
async fn the_directory_client_gets_what_the_directory_has_and_names_what_it_cannot() {
    let fake = FakeDirectory::start().await;
    let zip = plugin_zip("wpforms-lite", "1.9.2", 100);
    fake.add("wpforms-lite", "1.9.2", zip.clone());
    fake.add(
        "big-plugin",
        "1.0",
        plugin_zip("big-plugin", "1.0", 200_000),
    );
    fake.add("wrong-folder", "1.0", plugin_zip("other", "1.0", 10));
    let cache = tempfile::tempdir().unwrap();
    let directory = client(&fake, &cache, 100_000);

    // The real directory's refusals: an unknown slug, and another action.
    assert_eq!(
        directory.info("no-such-plugin").await,
        Err(Unavailable::NotFound)
    );
    let wrong = reqwest::get(format!(
        "{}/plugins/info/1.2/?action=query_plugins&request[slug]=wpforms-lite",
        fake.url
    ))
    .await
    .unwrap();
    assert_eq!(wrong.status(), 400);

    // Asked exactly as the API wants; a 500 is tried again.
    fake.fail_next(&[500]);
    let info = directory.info("wpforms-lite").await.unwrap();
    assert_eq!(info.version, "1.9.2");
    let asked = fake.requests();
    assert_eq!(asked.len(), 4, "{asked:?}");
    assert_eq!(
        asked[3],
        "/plugins/info/1.2/?action=plugin_information&request[slug]=wpforms-lite"
    );

    // A 4xx is final: asked once.
    let before = fake.requests().len();
    fake.fail_next(&[403]);
    assert!(matches!(
        directory.info("wpforms-lite").await,
        Err(Unavailable::Refused(_))
    ));
    assert_eq!(fake.requests().len(), before + 1);

    // Downloaded with its hash, then cached: the zip is not asked for again.
    let fetched = directory.fetch("wpforms-lite").await.unwrap();
    assert_eq!(*fetched.bytes, zip);
    assert_eq!(fetched.sha256, hex(&zip));
    let downloads = |fake: &FakeDirectory| {
        fake.requests()
            .iter()
            .filter(|r| r.starts_with("/plugin/"))
            .count()
    };
    assert_eq!(downloads(&fake), 1);
    directory.fetch("wpforms-lite").await.unwrap();
    assert_eq!(downloads(&fake), 1);

    // The directory down (5xx every time): the cached version still serves.
    fake.fail_next(&[503, 503, 503]);
    assert_eq!(
        directory.fetch("wpforms-lite").await.unwrap().sha256,
        hex(&zip)
    );
    fake.fail_next(&[503, 503, 503]);
    assert!(matches!(
        directory.fetch("big-plugin").await,
        Err(Unavailable::Unreachable(_))
    ));

    // Too big, not the plugin's folder, or a link off the directory's hosts: refused.
    assert_eq!(
        directory.fetch("big-plugin").await.unwrap_err(),
        Unavailable::TooBig(100_000)
    );
    assert!(matches!(
        directory.fetch("wrong-folder").await,
        Err(Unavailable::BadZip(_))
    ));
    let port = Url::parse(&fake.url).unwrap().port().unwrap();
    fake.link_to(&format!("http://localhost:{port}"));
    let before = downloads(&fake);
    fake.add("other-host", "1.0", plugin_zip("other-host", "1.0", 10));
    assert!(matches!(
        directory.fetch("other-host").await,
        Err(Unavailable::ForeignHost(_))
    ));
    assert_eq!(
        downloads(&fake),
        before,
        "nothing fetched from a foreign host"
    );
}

#[tokio::test]
async fn a_deployed_draft_carries_the_plugins_it_can_have_and_names_the_others() {
    let fake = FakeDirectory::start().await;
    let zip = plugin_zip("wpforms-lite", "1.9.2", 100);
    fake.add("wpforms-lite", "1.9.2", zip.clone());
    let url = fake.url.clone();
    let app = spawn_app_with(Backend::Sqlite, |s| s.plugin_directory_url = url).await;
    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(&app, &ada, bakery()).await;
    finished_job(&app, &ada, accepted["job_id"].as_str().unwrap()).await;
    let site_id = accepted["site_id"].as_str().unwrap();
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
    let planned: Vec<&str> = draft["plugins"]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert!(planned.contains(&"wpforms-lite"), "{planned:?}");
    assert!(planned.len() > 1, "{planned:?}");

    let deployment: Value = app
        .api(
            Method::POST,
            &format!("/sites/{site_id}/deployments"),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let zips: Vec<&Value> = deployment["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "plugin" && i["path"] != "plan.json")
        .collect();
    assert_eq!(zips.len(), 1, "{}", deployment["items"]);
    assert_eq!(zips[0]["path"], "wpforms-lite.zip");
    assert_eq!(zips[0]["sha256"], hex(&zip));

    // The plan names why each other plugin is missing.
    let draft: gsw_generation::draft::SiteDraft = serde_json::from_value(draft).unwrap();
    let payload = gsw_control_plane::fleet::release::draft_payload(
        &draft,
        &app.state.plugins,
        &app.state.photos,
        64 << 20,
        Default::default(),
    )
    .await
    .unwrap();
    let mut at = 0;
    let mut plan = None;
    for item in &payload.items {
        let end = at + item.size as usize;
        if item.path == "plan.json" {
            plan = Some(serde_json::from_slice::<Value>(&payload.bytes[at..end]).unwrap());
        }
        at = end;
    }
    let plan = plan.expect("plan.json");
    for plugin in plan["plugins"].as_array().unwrap() {
        if plugin["slug"] == "wpforms-lite" {
            assert!(plugin.get("unavailable").is_none(), "{plugin}");
        } else {
            assert_eq!(
                plugin["unavailable"], "not in the WordPress.org plugin directory",
                "{plugin}"
            );
        }
    }

    // A bundle limit with no room left for the zip leaves it out.
    let small = gsw_control_plane::fleet::release::draft_payload(
        &draft,
        &app.state.plugins,
        &app.state.photos,
        payload.bytes.len() as u64 - zip.len() as u64,
        Default::default(),
    )
    .await
    .unwrap();
    assert!(small.items.iter().all(|i| i.path != "wpforms-lite.zip"));
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
