//! The dashboard end to end in a real browser: starts the control plane
//! (with the dashboard compiled in) on port 0 and runs `web/e2e/run.mjs`,
//! which drives Debian's Chromium with playwright-core through sign-up, the
//! wizard, live progress, editing and the other screens, writes a screenshot
//! of each into the folder printed below, and measures time to interactive.
//!
//! It needs Node.js, `npm ci` in `web/` (playwright-core) and Debian's
//! `chromium`; `.ci/run` installs them. Without them this test fails and says
//! what is missing: it never passes by skipping.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use gsw_control_plane::testing::spawn_app;
use gsw_storage::Backend;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What the e2e run needs and is missing, in words.
fn missing() -> Vec<String> {
    let mut missing = Vec::new();
    let chromium =
        std::env::var("GSW_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        missing.push(format!(
            "Chromium at {chromium}: apt-get install chromium (or set GSW_TEST_CHROMIUM)"
        ));
    }
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        missing.push("Node.js (node on the PATH, version 20 or newer)".into());
    }
    if !repo()
        .join("web/node_modules/playwright-core/package.json")
        .exists()
    {
        missing.push("playwright-core: run `npm ci` in web/".into());
    }
    missing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_chromium() {
    let missing = missing();
    assert!(
        missing.is_empty(),
        "the dashboard's browser test cannot run; missing:\n  - {}",
        missing.join("\n  - ")
    );
    let app = spawn_app(Backend::Sqlite).await;
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-e2e");
    let _ = std::fs::remove_dir_all(&out);
    println!("screenshots: {}", out.display());
    let runs = std::env::var("GSW_TEST_E2E_RUNS").unwrap_or_else(|_| "3".into());
    let mut child = tokio::process::Command::new("node")
        .arg(repo().join("web/e2e/run.mjs"))
        .args(["--base-url", &app.address, "--runs", &runs, "--out"])
        .arg(&out)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("starting node");
    let status = tokio::time::timeout(Duration::from_secs(600), child.wait())
        .await
        .expect("the browser test took more than 10 minutes")
        .expect("waiting for node");
    assert!(
        status.success(),
        "the browser test failed ({status}); its output is above, screenshots in {}",
        out.display()
    );
    for screen in [
        "login",
        "sites-empty",
        "wizard-review",
        "job-completed",
        "editor-saved",
        "site-detail",
        "billing",
    ] {
        let found = std::fs::read_dir(&out).unwrap().flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with(&format!("-{screen}.png"))
        });
        assert!(found, "no screenshot of {screen} in {}", out.display());
    }
}
