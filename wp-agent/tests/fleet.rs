//! End to end: the real `wp-agent` binary against the real control plane,
//! over real sockets.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::Utc;
use gsw_control_plane::testing::{spawn_app, spawn_app_with, TestApp, TestUser};
use gsw_protocol::bundle::{ItemKind, Manifest, Payload};
use gsw_storage::{Backend, NewEnrollmentToken};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::process::{Child, Command};
use uuid::Uuid;

mod common;
use common::{
    deploy, deploy_and_settle, enrollment_token, home_page, manifest_for, queue_raw, settled,
    user_with_site, wait_until,
};

const AGENT: &str = env!("CARGO_BIN_EXE_wp-agent");

/// One WordPress host: the agent's state folder, and the agent if running.
struct Host {
    dir: tempfile::TempDir,
    agent: Option<Child>,
}

impl Host {
    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn site_dir(&self) -> PathBuf {
        self.state_dir().join("site")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("agent.log")
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .unwrap();
        let child = Command::new(AGENT)
            .arg("--state-dir")
            .arg(self.state_dir())
            .arg("run")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("starting wp-agent run");
        self.agent = Some(child);
    }

    async fn kill(&mut self) {
        if let Some(mut child) = self.agent.take() {
            child.kill().await.unwrap();
        }
    }

    /// Files under the apply folder with their contents.
    fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut dirs = vec![self.site_dir()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let name = path
                        .strip_prefix(self.site_dir())
                        .unwrap()
                        .display()
                        .to_string();
                    out.push((name, std::fs::read(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    }
}

async fn enroll_command(
    server: &str,
    token: &str,
    state_dir: &Path,
    extra: &[&str],
) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    // The token goes in on standard input, kept off the command line.
    let mut child = Command::new(AGENT)
        .arg("--state-dir")
        .arg(state_dir)
        .args(["enroll", "--server", server, "--token", "-"])
        // No WordPress here (so no --wp-path): bundles are written into a
        // folder (tests/wordpress.rs applies them inside a real WordPress).
        .arg("--apply-dir")
        .arg(state_dir.join("site"))
        .args(extra)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running wp-agent enroll");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{token}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    child
        .wait_with_output()
        .await
        .expect("running wp-agent enroll")
}

/// Enrolls a new host for the site and starts its agent.
async fn connected_host(app: &TestApp, user: &TestUser, site_id: &str, extra: &[&str]) -> Host {
    let host = Host {
        dir: tempfile::tempdir().unwrap(),
        agent: None,
    };
    connect(app, user, site_id, extra, host).await
}

/// Enrolls `host` for the site and starts its agent.
async fn connect(
    app: &TestApp,
    user: &TestUser,
    site_id: &str,
    extra: &[&str],
    mut host: Host,
) -> Host {
    let token = enrollment_token(app, user, site_id).await;
    let output = enroll_command(
        &app.address,
        token["token"].as_str().unwrap(),
        &host.state_dir(),
        extra,
    )
    .await;
    assert!(
        output.status.success(),
        "enroll failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The command it says to run next works as it is.
    let said = String::from_utf8_lossy(&output.stdout);
    let state_dir = host.state_dir();
    assert!(
        said.contains(&format!("wp-agent --state-dir {} run", state_dir.display())),
        "{said}"
    );
    host.start();
    wait_until("the agent is online", || async {
        let response = app
            .api(
                Method::GET,
                &format!("/sites/{site_id}/agent"),
                Some(&user.access),
                None,
            )
            .await;
        response.status() == 200 && response.json::<Value>().await.unwrap()["online"] == true
    })
    .await;
    host
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_then_a_deployment_is_applied() {
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;

    let token = enrollment_token(&app, &ada, &site_id).await;
    let command = token["command"].as_str().unwrap();
    assert!(
        command.contains(&format!(
            "wp-agent enroll --server {} --token - ",
            app.address
        )),
        "{command}"
    );

    let mut host = connected_host(&app, &ada, &site_id, &[]).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(host.state_dir().join("agent.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the identity file is readable only by its owner"
        );
    }

    let plugin = vec![0x50u8, 0x4b, 3, 4, 0, 1, 2, 3];
    use base64::Engine;
    let items = json!([
        {"kind": "content", "path": "pages/home.json", "content": "{\"title\": \"Home\"}"},
        {"kind": "plugin", "path": "contact-form.zip", "content_base64": base64::engine::general_purpose::STANDARD.encode(&plugin)},
    ]);
    let id = deploy(&app, &ada, &site_id, items.clone()).await;
    let done = settled(&app, &ada, &id).await;
    assert_eq!(done["status"], "applied", "{done}");
    assert_eq!(done["sequence"], 1);
    let statuses: Vec<_> = done["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("applied"), json!("applied")]);
    assert_eq!(
        host.files(),
        [
            (
                "content/pages/home.json".to_owned(),
                b"{\"title\": \"Home\"}".to_vec()
            ),
            ("plugin/contact-form.zip".to_owned(), plugin)
        ]
    );

    // The same content again is applied as a no-op.
    let again = settled(&app, &ada, &deploy(&app, &ada, &site_id, items).await).await;
    assert_eq!(again["status"], "applied");
    assert_eq!(again["sequence"], 2);
    assert!(
        again["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "unchanged"),
        "{again}"
    );

    let agent: Value = app
        .api(
            Method::GET,
            &format!("/sites/{site_id}/agent"),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(agent["last_applied"], 2);
    host.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reused_expired_and_unknown_enrollment_tokens_are_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let token = enrollment_token(&app, &ada, &site_id).await;
    let token = token["token"].as_str().unwrap();

    let first = tempfile::tempdir().unwrap();
    assert!(enroll_command(&app.address, token, first.path(), &[])
        .await
        .status
        .success());

    let second = tempfile::tempdir().unwrap();
    let reused = enroll_command(&app.address, token, second.path(), &[]).await;
    assert!(!reused.status.success());
    assert!(
        String::from_utf8_lossy(&reused.stderr).contains("already used"),
        "{reused:?}"
    );
    assert!(
        !second.path().join("agent.json").exists(),
        "a refused enrollment writes no identity"
    );

    let expired = "gswe_expired-token";
    let now = Utc::now();
    let record = NewEnrollmentToken {
        id: Uuid::now_v7(),
        site_id: site_id.parse().unwrap(),
        token_hash: Sha256::digest(expired.as_bytes()).to_vec(),
        created_at: now - chrono::Duration::hours(2),
        expires_at: now - chrono::Duration::hours(1),
    };
    assert!(app
        .store
        .create_enrollment_token(ada.id.parse().unwrap(), &record)
        .await
        .unwrap());
    let refused = enroll_command(&app.address, expired, second.path(), &[]).await;
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("expired"),
        "{refused:?}"
    );

    let unknown = enroll_command(&app.address, "gswe_never-issued", second.path(), &[]).await;
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("unknown enrollment token"),
        "{unknown:?}"
    );

    // An agent that was never enrolled has nothing to run with.
    let never = Command::new(AGENT)
        .arg("--state-dir")
        .arg(second.path())
        .arg("run")
        .output()
        .await
        .unwrap();
    assert!(!never.status.success());
    assert!(
        String::from_utf8_lossy(&never.stderr).contains("enroll this agent first"),
        "{never:?}"
    );
}

/// Revokes the site's agent through `app` and waits for the agent process to
/// exit with a failure.
async fn revoke_and_see_the_agent_stop(
    app: &TestApp,
    user: &TestUser,
    site_id: &str,
    host: &mut Host,
) {
    let path = format!("/sites/{site_id}/agent");
    let response = app
        .api(Method::DELETE, &path, Some(&user.access), None)
        .await;
    assert_eq!(response.status(), 204);
    let mut agent = host.agent.take().expect("the agent is running");
    let status = tokio::time::timeout(Duration::from_secs(10), agent.wait())
        .await
        .expect("the revoked agent stops")
        .unwrap();
    // Its own status, which the packaged unit does not restart on.
    assert_eq!(status.code(), Some(3), "{status}");
}

/// The command `enroll` prints works as printed from anywhere: paths given
/// relative to where enroll ran are written down whole (a service starts in
/// `/`), and the state folder is named since it is not the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_start_command_works_from_another_folder() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let token = enrollment_token(&app, &ada, &site_id).await;
    let dir = tempfile::tempdir().unwrap();
    let (here, elsewhere) = (dir.path().join("here"), dir.path().join("elsewhere"));
    std::fs::create_dir_all(&here).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();

    // Enrolled with relative paths and without --wp-path.
    let mut enroll = Command::new(AGENT)
        .current_dir(&here)
        .env_remove("GSW_AGENT_STATE_DIR")
        .args(["enroll", "--server", &app.address, "--token", "-"])
        .args(["--state-dir", "state", "--apply-dir", "site"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = enroll.stdin.take().unwrap();
    let secret = token["token"].as_str().unwrap();
    stdin
        .write_all(format!("{secret}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let enrolled = enroll.wait_with_output().await.unwrap();
    assert!(enrolled.status.success(), "{enrolled:?}");
    let said = String::from_utf8_lossy(&enrolled.stdout);
    let start = said
        .lines()
        .find_map(|line| line.strip_prefix("Start it with: "))
        .unwrap_or_else(|| panic!("no command to start it: {said}"));
    let state = here.join("state");
    assert!(
        start.ends_with(&format!("wp-agent --state-dir {} run", state.display())),
        "{start}"
    );

    // Run exactly as printed, from another folder.
    let log = std::fs::File::create(dir.path().join("agent.log")).unwrap();
    let mut agent = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {start}"))
        .current_dir(&elsewhere)
        .env_remove("GSW_AGENT_STATE_DIR")
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let done = deploy_and_settle(&app, &ada, &site_id, json!([home_page()])).await;
    assert_eq!(done["status"], "applied", "{done}");
    // Into the folder named at enrollment, not one under the new folder.
    assert_eq!(
        std::fs::read(here.join("site/content/pages/home.json")).unwrap(),
        b"{}"
    );
    assert!(!elsewhere.join("site").exists());
    agent.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_agent_is_disconnected_and_cannot_reconnect() {
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let mut host = connected_host(&app, &ada, &site_id, &[]).await;

    revoke_and_see_the_agent_stop(&app, &ada, &site_id, &mut host).await;

    // Starting it again gets it refused at once.
    let again = Command::new(AGENT)
        .arg("--state-dir")
        .arg(host.state_dir())
        .arg("run")
        .output();
    let again = tokio::time::timeout(Duration::from_secs(10), again)
        .await
        .expect("refused quickly")
        .unwrap();
    assert_eq!(again.status.code(), Some(3), "{again:?}");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("revoked"),
        "{again:?}"
    );
    let response = app
        .api(
            Method::GET,
            &format!("/sites/{site_id}/agent"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(response.status(), 404);
    let response = app
        .api(
            Method::DELETE,
            &format!("/sites/{site_id}/agent"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_site_stops_its_agent() {
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let mut host = connected_host(&app, &ada, &site_id, &[]).await;
    let response = app
        .api(
            Method::DELETE,
            &format!("/sites/{site_id}"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(response.status(), 204);
    let mut agent = host.agent.take().expect("the agent is running");
    let status = tokio::time::timeout(Duration::from_secs(10), agent.wait())
        .await
        .expect("the deleted site's agent stops")
        .unwrap();
    assert!(!status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_trusts_only_an_authenticated_control_plane() {
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let token = enrollment_token(&app, &ada, &site_id).await;
    let secret = token["token"].as_str().unwrap();
    let host = Host {
        dir: tempfile::tempdir().unwrap(),
        agent: None,
    };

    // Plain http:// to another machine: refused before anything is sent
    // (the address is a documentation range no test reaches).
    let output = enroll_command("http://192.0.2.10:8080", secret, &host.state_dir(), &[]).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--insecure"), "{stderr}");
    assert!(!host.state_dir().join("agent.json").exists());

    // A control plane whose key is not the expected one: nothing is saved.
    let output = enroll_command(
        &app.address,
        secret,
        &host.state_dir(),
        &["--expect-key", "SHA256:not-the-key"],
    )
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not the SHA256:not-the-key you expected"),
        "{stderr}"
    );
    assert!(!host.state_dir().join("agent.json").exists());

    // The command the API gives pins the key, and enrolls.
    let fingerprint = token_fingerprint(&token);
    let mut host = connected_host(&app, &ada, &site_id, &["--expect-key", &fingerprint]).await;
    host.kill().await;
}

fn token_fingerprint(token: &Value) -> String {
    let fingerprint = token["bundle_key_fingerprint"].as_str().unwrap().to_owned();
    let command = token["command"].as_str().unwrap();
    assert!(
        command.contains(&format!("--expect-key {fingerprint}")),
        "{command}"
    );
    fingerprint
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolling_a_site_again_revokes_its_earlier_agent() {
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let mut old = connected_host(&app, &ada, &site_id, &[]).await;

    // Enrolling a new host, not yet started, revokes the old agent at once:
    // it is disconnected and stops, rather than receiving bundles meanwhile.
    let token = enrollment_token(&app, &ada, &site_id).await;
    let mut new = Host {
        dir: tempfile::tempdir().unwrap(),
        agent: None,
    };
    let output = enroll_command(
        &app.address,
        token["token"].as_str().unwrap(),
        &new.state_dir(),
        &[],
    )
    .await;
    assert!(output.status.success());
    let mut agent = old.agent.take().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), agent.wait())
        .await
        .expect("the replaced agent stops before its successor connects")
        .unwrap();
    assert!(!status.success());
    new.start();

    let id = deploy(
        &app,
        &ada,
        &site_id,
        json!([{"kind": "content", "path": "n.json", "content": "new"}]),
    )
    .await;
    assert_eq!(settled(&app, &ada, &id).await["status"], "applied");
    assert_eq!(new.files().len(), 1);
    assert!(old.files().is_empty(), "the revoked host received nothing");
    new.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bundles_are_refused_reported_and_never_applied() {
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let mut host = connected_host(&app, &ada, &site_id, &["--max-bundle-bytes", "65536"]).await;
    let good = settled(
        &app,
        &ada,
        &deploy(
            &app,
            &ada,
            &site_id,
            json!([{"kind": "content", "path": "a.json", "content": "1"}]),
        )
        .await,
    )
    .await;
    assert_eq!(good["status"], "applied");
    let before = host.files();

    let key = app.state.fleet.signing_key.clone();
    let payload = Payload::build([(ItemKind::Content, "a.json", b"evil".to_vec())]).unwrap();
    let items = payload.items.clone();
    let other_key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let escaping =
        Payload::build([(ItemKind::Plugin, "x.php", b"<?php evil();".to_vec())]).unwrap();
    let mut escaping_items = escaping.items.clone();
    escaping_items[0].path = "../../../wp-config.php".into();
    let big = Payload::build([(ItemKind::Media, "big.bin", vec![1u8; 100_000])]).unwrap();

    let cases: Vec<(&str, String)> = vec![
        (
            "hash_mismatch",
            queue_raw(
                &app,
                &ada,
                &site_id,
                b"evjl".to_vec(),
                |id, s, q| manifest_for(&items, id, s, q),
                &key,
            )
            .await,
        ),
        (
            "bad_signature",
            queue_raw(
                &app,
                &ada,
                &site_id,
                payload.bytes.clone(),
                |id, s, q| manifest_for(&items, id, s, q),
                &other_key,
            )
            .await,
        ),
        (
            "replay",
            queue_raw(
                &app,
                &ada,
                &site_id,
                payload.bytes.clone(),
                |id, s, _| manifest_for(&items, id, s, 1),
                &key,
            )
            .await,
        ),
        (
            "expired",
            queue_raw(
                &app,
                &ada,
                &site_id,
                payload.bytes.clone(),
                |id, s, q| Manifest {
                    expires_at: Utc::now().timestamp() - 5,
                    ..manifest_for(&items, id, s, q)
                },
                &key,
            )
            .await,
        ),
        (
            "wrong_site",
            queue_raw(
                &app,
                &ada,
                &site_id,
                payload.bytes.clone(),
                |id, _, q| manifest_for(&items, id, Uuid::now_v7(), q),
                &key,
            )
            .await,
        ),
        (
            "unsafe_path",
            queue_raw(
                &app,
                &ada,
                &site_id,
                escaping.bytes.clone(),
                |id, s, q| manifest_for(&escaping_items, id, s, q),
                &key,
            )
            .await,
        ),
        (
            "too_large",
            queue_raw(
                &app,
                &ada,
                &site_id,
                big.bytes.clone(),
                |id, s, q| manifest_for(&big.items, id, s, q),
                &key,
            )
            .await,
        ),
    ];
    for (code, id) in cases {
        let done = settled(&app, &ada, &id).await;
        assert_eq!(done["status"], "refused", "{code}: {done}");
        assert_eq!(done["error_code"], code, "{done}");
        assert!(!done["error"].as_str().unwrap().is_empty());
        assert_eq!(host.files(), before, "{code}: nothing may be applied");
    }
    assert!(!host.dir.path().join("wp-config.php").exists());

    // The agent is still connected and a good bundle still goes through.
    let fine = settled(
        &app,
        &ada,
        &deploy(
            &app,
            &ada,
            &site_id,
            json!([{"kind": "content", "path": "b.json", "content": "2"}]),
        )
        .await,
    )
    .await;
    assert_eq!(fine["status"], "applied", "{fine}");
    host.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_killed_mid_transfer_gets_the_bundle_again_and_applies_it_once() {
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let mut host = connected_host(&app, &ada, &site_id, &[]).await;

    use base64::Engine;
    let blob: Vec<u8> = (0..24 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let items = json!([{"kind": "media", "path": "video.bin", "content_base64": base64::engine::general_purpose::STANDARD.encode(&blob)}]);
    let id = deploy(&app, &ada, &site_id, items).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    host.kill().await;
    let status: Value = app
        .api(
            Method::GET,
            &format!("/deployments/{id}"),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(status["status"], "refused");

    host.start();
    let done = settled(&app, &ada, &id).await;
    assert_eq!(done["status"], "applied", "{done}");
    assert_eq!(
        done["results"][0]["status"], "applied",
        "applied once, not found already there: {done}"
    );
    assert_eq!(host.files(), [("media/video.bin".to_owned(), blob)]);
    let journal = std::fs::read_dir(host.state_dir().join("journal"))
        .unwrap()
        .count();
    assert_eq!(journal, 1);
    assert_eq!(
        std::fs::read_dir(host.state_dir().join("spool"))
            .unwrap()
            .count(),
        0,
        "spool emptied"
    );
    host.kill().await;
}

/// A tmpfs of `size` mounted at `path` (root only: CI runs as root), unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Self {
        if std::env::var_os("GSW_SKIP_ROOT_TESTS").is_some() {
            panic!("skipped by GSW_SKIP_ROOT_TESTS; this test mounts a tmpfs");
        }
        std::fs::create_dir_all(path).unwrap();
        let status = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "this test mounts a small tmpfs to fill the agent's disk, which needs root \
             (CI runs as root); run it as root, or set GSW_SKIP_ROOT_TESTS=1 and leave it to CI"
        );
        Self(path.to_owned())
    }

    fn resize(&self, size: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_while_spooling_loses_nothing_and_applies_once_when_there_is_room() {
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    // The agent's state folder (spool, journal, and here its apply folder)
    // on a disk of one megabyte; its log beside it, elsewhere.
    let host = Host {
        dir: tempfile::tempdir().unwrap(),
        agent: None,
    };
    let disk = Tmpfs::mount(&host.state_dir(), "1m");
    let mut host = connect(&app, &ada, &site_id, &[], host).await;

    use base64::Engine;
    let blob: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let items = json!([{"kind": "media", "path": "video.bin", "content_base64": base64::engine::general_purpose::STANDARD.encode(&blob)}]);
    let id = deploy(&app, &ada, &site_id, items).await;
    wait_until("the agent to run out of disk", || async {
        std::fs::read_to_string(host.log())
            .unwrap_or_default()
            .contains("No space left on device")
    })
    .await;
    // Not acknowledged, so the control plane keeps it; nothing half-written stays.
    let status: Value = app
        .api(
            Method::GET,
            &format!("/deployments/{id}"),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "queued", "{status}");
    let spool: Vec<_> = std::fs::read_dir(host.state_dir().join("spool"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(spool.is_empty(), "{spool:?}");
    assert!(host.files().is_empty());

    // Room again: the agent, reconnecting, gets the bundle and applies it once.
    disk.resize("64m");
    let done = settled(&app, &ada, &id).await;
    assert_eq!(done["status"], "applied", "{done}");
    assert_eq!(done["results"][0]["status"], "applied", "{done}");
    assert_eq!(host.files(), [("media/video.bin".to_owned(), blob)]);
    let journal = std::fs::read_dir(host.state_dir().join("journal"))
        .unwrap()
        .count();
    assert_eq!(journal, 1);
    host.kill().await;
    drop(disk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_plane_restart_loses_no_queued_deployment() {
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let mut host = connected_host(&app, &ada, &site_id, &[]).await;

    // Queued while the agent is away, then the control plane restarts.
    host.kill().await;
    let queued = deploy(
        &app,
        &ada,
        &site_id,
        json!([{"kind": "content", "path": "queued.json", "content": "q"}]),
    )
    .await;
    let app = app.restart().await;
    host.start();
    let done = settled(&app, &ada, &queued).await;
    assert_eq!(done["status"], "applied", "{done}");

    // A restart with the agent connected: it is told, comes back by itself,
    // and the next deployment reaches it.
    let app = app.restart().await;
    let after = deploy(
        &app,
        &ada,
        &site_id,
        json!([{"kind": "content", "path": "after.json", "content": "a"}]),
    )
    .await;
    let done = settled(&app, &ada, &after).await;
    assert_eq!(done["status"], "applied", "{done}");
    assert_eq!(host.files().len(), 2);
    host.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_made_on_one_node_reaches_an_agent_on_another_through_redis() {
    let redis =
        std::env::var("GSW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let redis = redis.as_str();
    let key =
        gsw_control_plane::settings::Secret::new("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=");
    let node_a = spawn_app_with(Backend::Postgres, |s| {
        s.redis_url = Some(gsw_control_plane::settings::Secret::new(redis));
        s.bundle_signing_key = Some(key.clone());
        s.node_id = Some(format!("a-{}", Uuid::new_v4().simple()));
    })
    .await;
    let mut settings_b = node_a.settings.clone();
    settings_b.listen = "127.0.0.1:0".parse().unwrap();
    settings_b.node_id = Some(format!("b-{}", Uuid::new_v4().simple()));
    let data_b = std::sync::Arc::new(tempfile::tempdir().unwrap());
    settings_b.data_dir = data_b.path().to_owned();
    let node_b = gsw_control_plane::testing::start(settings_b, node_a.db.clone(), data_b).await;

    let ready: Value = node_b
        .client
        .get(node_b.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["redis"], "ok", "{ready}");
    let (ada, site_id) = user_with_site(&node_a).await;
    // The agent is enrolled through, and connected to, node B.
    let mut host = connected_host(&node_b, &ada, &site_id, &[]).await;
    let agent: Value = node_a
        .api(
            Method::GET,
            &format!("/sites/{site_id}/agent"),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        agent["online"], true,
        "node A sees the agent online through Redis"
    );

    let id = deploy(
        &node_a,
        &ada,
        &site_id,
        json!([{"kind": "design", "path": "palette.json", "content": "{}"}]),
    )
    .await;
    let done = settled(&node_a, &ada, &id).await;
    assert_eq!(done["status"], "applied", "{done}");

    // Revoking through node A closes the connection held by node B.
    revoke_and_see_the_agent_stop(&node_a, &ada, &site_id, &mut host).await;
}

/// Opens a raw WebSocket to the agent endpoint and returns it after the challenge.
async fn raw_connection(
    app: &TestApp,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use futures::StreamExt;
    let url = format!(
        "{}/api/v1/agent/connect",
        app.address.replace("http://", "ws://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connecting");
    let challenge = socket.next().await.unwrap().unwrap();
    assert!(
        challenge.to_text().unwrap().contains("\"challenge\""),
        "{challenge:?}"
    );
    socket
}

/// The close code the server ends a raw connection with.
async fn close_code(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> u16 {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match tokio::time::timeout(Duration::from_secs(15), socket.next())
            .await
            .expect("server closes")
        {
            Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
            Some(Ok(_)) => continue,
            other => panic!("connection ended without a close frame: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_connections_are_closed_alone() {
    use futures::SinkExt;
    use gsw_protocol::frame::close;
    use tokio_tungstenite::tungstenite::Message;

    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let mut host = connected_host(&app, &ada, &site_id, &[]).await;
    let agent_id = {
        let config: Value =
            serde_json::from_slice(&std::fs::read(host.state_dir().join("agent.json")).unwrap())
                .unwrap();
        config["agent_id"].as_str().unwrap().to_owned()
    };
    let hello = |signature: &str| {
        json!({"type": "hello", "version": 1, "agent_id": agent_id, "signature": signature, "agent_version": "x", "last_applied": 0}).to_string()
    };

    let cases: Vec<(&str, Message, u16)> = vec![
        ("not JSON", Message::Text("{{{".into()), close::MALFORMED),
        (
            "an unknown frame type",
            Message::Text(r#"{"type":"format_disk"}"#.into()),
            close::UNKNOWN_TYPE,
        ),
        (
            "a report before hello",
            Message::Text(
                format!(
                    r#"{{"type":"ack","deployment_id":"{}","sequence":1}}"#,
                    Uuid::nil()
                )
                .into(),
            ),
            close::OUT_OF_ORDER,
        ),
        (
            "a binary frame before hello",
            Message::Binary(vec![0u8; 32].into()),
            close::OUT_OF_ORDER,
        ),
        (
            "an oversized frame",
            Message::Text("x".repeat(100 * 1024).into()),
            close::TOO_LARGE,
        ),
        (
            "someone else's identity",
            Message::Text(hello(&"A".repeat(88)).into()),
            close::AUTH_FAILED,
        ),
        (
            "an unknown agent",
            Message::Text(
                hello("sig")
                    .replace(&agent_id, &Uuid::now_v7().to_string())
                    .into(),
            ),
            close::AUTH_FAILED,
        ),
        (
            "another protocol version",
            Message::Text(
                hello("sig")
                    .replace("\"version\":1", "\"version\":99")
                    .into(),
            ),
            close::UNSUPPORTED_VERSION,
        ),
    ];
    for (what, message, expected) in cases {
        let mut socket = raw_connection(&app).await;
        socket.send(message).await.unwrap();
        assert_eq!(close_code(&mut socket).await, expected, "{what}");
    }
    // A frame far over the limit (a bundle's size, which only the server
    // sends) is never buffered: the connection ends on its header, unread.
    // (Read whole, it would be answered with a TOO_LARGE close frame.)
    let mut huge = raw_connection(&app).await;
    let _ = huge
        .send(Message::Text("x".repeat(32 * 1024 * 1024).into()))
        .await;
    let ended = tokio::time::timeout(Duration::from_secs(15), async {
        use futures::StreamExt;
        loop {
            match huge.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await
    .expect("a connection sending 32 MiB was kept");
    assert_ne!(
        ended,
        Some(close::TOO_LARGE),
        "the server read a 32 MiB frame"
    );

    // Silence after the challenge ends in a timeout close, too.
    let mut silent = raw_connection(&app).await;
    assert_eq!(close_code(&mut silent).await, close::TIMEOUT);

    // The honest agent was never disturbed.
    let done = settled(
        &app,
        &ada,
        &deploy(
            &app,
            &ada,
            &site_id,
            json!([{"kind": "content", "path": "ok.json", "content": "ok"}]),
        )
        .await,
    )
    .await;
    assert_eq!(done["status"], "applied", "{done}");
    host.kill().await;
}

/// A TLS-terminating proxy in front of the control plane, with a CA of its
/// own: what production looks like, and the agent's `--ca-cert` option.
async fn tls_proxy(backend: String, dir: &Path) -> (u16, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let ca_pem = dir.join("ca.pem");
    std::fs::write(&ca_pem, ca.pem()).unwrap();

    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der())
                .into(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let backend = backend.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(&backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (port, ca_pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_connects_over_wss_trusting_a_custom_ca() {
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let mut host = Host {
        dir: tempfile::tempdir().unwrap(),
        agent: None,
    };
    let (port, ca_pem) = tls_proxy(
        app.address.trim_start_matches("http://").to_owned(),
        host.dir.path(),
    )
    .await;
    let server = format!("https://localhost:{port}");
    let token = enrollment_token(&app, &ada, &site_id).await;
    let token = token["token"].as_str().unwrap();

    // Without the CA, the proxy's certificate is not trusted.
    let untrusted = enroll_command(&server, token, &host.state_dir(), &[]).await;
    assert!(!untrusted.status.success(), "an unknown CA must be refused");

    let ca = ca_pem.display().to_string();
    let output = enroll_command(&server, token, &host.state_dir(), &["--ca-cert", &ca]).await;
    assert!(
        output.status.success(),
        "enroll over https failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    host.start();
    let id = deploy(
        &app,
        &ada,
        &site_id,
        json!([{"kind": "content", "path": "tls.json", "content": "over wss"}]),
    )
    .await;
    let done = settled(&app, &ada, &id).await;
    assert_eq!(
        done["status"],
        "applied",
        "{done}; agent log: {}",
        std::fs::read_to_string(host.log()).unwrap_or_default()
    );
    assert_eq!(
        host.files(),
        [("content/tls.json".to_owned(), b"over wss".to_vec())]
    );
    host.kill().await;
}
