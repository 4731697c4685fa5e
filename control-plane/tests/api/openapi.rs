//! `web/openapi.json`, the snapshot the dashboard's TypeScript types are
//! generated from, is the document the server serves. With
//! `GSW_TEST_UPDATE_OPENAPI=1` the test rewrites the snapshot instead.

use std::path::PathBuf;

use gsw_storage::Backend;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

const REFRESH: &str = "refresh it with `GSW_TEST_UPDATE_OPENAPI=1 cargo test -p gsw-control-plane \
                       --test api openapi`, regenerate the dashboard's types with `npm run \
                       gen:api` in web/, and commit both";

#[tokio::test]
async fn the_committed_openapi_snapshot_is_the_served_document() {
    // The document does not depend on the backend: one run is enough.
    let app = spawn_app(Backend::Sqlite).await;
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    let served = serde_json::to_string_pretty(&document).unwrap() + "\n";

    let snapshot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/openapi.json");
    if std::env::var("GSW_TEST_UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(&snapshot, &served)
            .unwrap_or_else(|err| panic!("writing {}: {err}", snapshot.display()));
        return;
    }
    let committed = match std::fs::read_to_string(&snapshot) {
        Ok(text) => text,
        Err(err) => panic!("reading {}: {err}; {REFRESH}", snapshot.display()),
    };
    if committed != served {
        let (line, want, got) = first_difference(&served, &committed);
        panic!(
            "web/openapi.json is not the document the server serves \
             (first difference at line {line}: the server has {want:?}, the file {got:?}); \
             {REFRESH}"
        );
    }
}

/// The first line (1-based) where `a` and `b` differ, and that line of each.
fn first_difference<'a>(a: &'a str, b: &'a str) -> (usize, &'a str, &'a str) {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let n = a.len().max(b.len());
    let i = (0..n).find(|&i| a.get(i) != b.get(i)).unwrap_or(n);
    let line = |lines: &[&'a str]| lines.get(i).copied().unwrap_or("<end>");
    (i + 1, line(&a), line(&b))
}
