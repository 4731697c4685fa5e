//! The Debian package (`deploy/debian`) as a server has it installed: the
//! packaged `/usr/bin/wp-agent`, enrolled as the `gsw-agent` user with the
//! very command the API gives, then run until the control plane shows it
//! online.
//!
//! Needs the package installed (`.ci/run` builds and installs it before the
//! tests) and root, to act as `gsw-agent`; it fails saying what is missing
//! otherwise. `GSW_SKIP_PACKAGE_TESTS=1` skips it on a developer's machine.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;

use gsw_control_plane::testing::{spawn_app, TestApp, TestUser};
use gsw_storage::Backend;
use gsw_testkit::WordPress;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::process::Command;

mod common;
use common::{deploy_and_settle, enrollment_token, home_page, user_with_site, wait_until};

const PACKAGED: &str = "/usr/bin/wp-agent";
const UNIT: &str = "/lib/systemd/system/gsw-agent.service";
const STATE: &str = "/var/lib/gsw-agent";
/// A plain root PATH: `wp-agent` must be the packaged one.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why this machine cannot run the test, if it cannot.
fn missing() -> Option<String> {
    let status = std::process::Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Status}", "gsw-agent"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if status != "installed" || !Path::new(PACKAGED).is_file() {
        return Some(format!(
            "the gsw-agent package is not installed (dpkg says {status:?}): build and install it with \
             `dpkg -i $(deploy/debian/build-deb.sh)`, as .ci/run does, or set GSW_SKIP_PACKAGE_TESTS=1"
        ));
    }
    // /proc/self belongs to the effective user.
    if std::fs::metadata("/proc/self").map(|m| m.uid()).ok() != Some(0) {
        return Some(
            "this test acts as the gsw-agent user and must run as root; or set GSW_SKIP_PACKAGE_TESTS=1"
                .to_owned(),
        );
    }
    None
}

/// The gsw-agent user's passwd entry, uid and gid; `None` when the tests
/// are to be skipped; a failure saying what is missing when they cannot run.
fn packaged_agent_user() -> Option<(Vec<String>, u32, u32)> {
    if std::env::var("GSW_SKIP_PACKAGE_TESTS").as_deref() == Ok("1") {
        eprintln!("skipped: GSW_SKIP_PACKAGE_TESTS=1");
        return None;
    }
    if let Some(why) = missing() {
        panic!("{why}");
    }
    let user = getent("passwd", "gsw-agent");
    let (uid, gid) = (user[2].parse().unwrap(), user[3].parse().unwrap());
    Some((user, uid, gid))
}

/// `getent`'s answer for a user or group, split into fields.
fn getent(database: &str, name: &str) -> Vec<String> {
    let out = std::process::Command::new("getent")
        .args([database, name])
        .output()
        .expect("running getent");
    assert!(out.status.success(), "no {database} entry {name}");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(':')
        .map(str::to_owned)
        .collect()
}

/// Runs `program` as gsw-agent with its groups and the unit's umask (the
/// shell and setpriv each execute the next in place, so killing the child
/// stops the program itself).
fn as_agent(program: &str) -> Command {
    let mut command = Command::new("sh");
    command
        .args([
            "-c",
            r#"umask 0002 && exec "$@""#,
            "sh",
            "setpriv",
            "--reuid=gsw-agent",
            "--regid=gsw-agent",
            "--init-groups",
            "--",
            program,
        ])
        .env_clear()
        .env("PATH", PATH)
        .env("RUST_LOG", "info");
    command
}

fn mode_and_owner(path: &Path) -> (u32, u32) {
    let meta =
        std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (meta.permissions().mode() & 0o7777, meta.uid())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_package_makes_the_agents_user_state_folder_unit_and_extension() {
    let Some((user, uid, _)) = packaged_agent_user() else {
        return;
    };

    // The user: its own, in the web server's group, not the web server's.
    assert_eq!(user[5], STATE, "home");
    assert!(user[6].ends_with("nologin"), "shell {}", user[6]);
    let www = getent("group", "www-data");
    assert_ne!(uid.to_string(), www[2], "gsw-agent is not www-data");
    assert!(
        www[3].split(',').any(|member| member == "gsw-agent"),
        "gsw-agent is in www-data: {www:?}"
    );
    assert_eq!(mode_and_owner(Path::new(STATE)), (0o700, uid), "{STATE}");

    // The unit: as packaged, and what systemd makes of it.
    let unit = std::fs::read_to_string(UNIT).expect("the unit is installed");
    for line in [
        "User=gsw-agent",
        "ExecStart=/usr/bin/wp-agent --state-dir /var/lib/gsw-agent run",
        "ProtectSystem=strict",
        "ReadWritePaths=-/var/www",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "RestartPreventExitStatus=3",
    ] {
        assert!(unit.contains(line), "{UNIT} lacks {line:?}");
    }
    let verify = std::process::Command::new("systemd-analyze")
        .args(["verify", UNIT])
        .output()
        .expect("systemd-analyze (Debian package systemd) verifies the unit");
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&verify.stderr)
    );

    // The packaged PHP loads the packaged extension, with nothing enabled.
    let php = Path::new("/usr/lib/gsw-agent/php");
    let ext_dir = std::process::Command::new(php)
        .args(["-r", "echo ini_get('extension_dir');"])
        .output()
        .expect("the packaged PHP runs");
    let extension = Path::new(String::from_utf8_lossy(&ext_dir.stdout).trim()).join("gsw.so");
    let loaded = as_agent(php.to_str().unwrap())
        .arg("-d")
        .arg(format!("extension={}", extension.display()))
        .args([
            "-r",
            "echo function_exists('gsw_bundle_open') ? 'yes' : 'no';",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&loaded.stdout), "yes", "{loaded:?}");

    // Enrolling into the packaged state folder as root is refused before
    // anything is read or written: the service could not read the result.
    let as_root = Command::new(PACKAGED)
        .args(["enroll", "--server", "http://127.0.0.1:9", "--token", "-"])
        .args(["--apply-dir", "/nonexistent"])
        .env_clear()
        .env("PATH", PATH)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&as_root.stderr);
    assert!(!as_root.status.success());
    assert!(said.contains("sudo -u gsw-agent wp-agent enroll"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_packaged_agent_enrolls_as_its_own_user_and_connects() {
    let Some((_, uid, gid)) = packaged_agent_user() else {
        return;
    };
    // Enrolled with the command the API gives, as gsw-agent, into a state
    // folder of the test's own (the packaged one may hold a real agent).
    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let dir = agent_dir(uid, gid);
    let state = dir.path().join("state");
    let site = dir.path().join("site");
    // No WordPress here: bundles go into a folder.
    let said = enroll_as_agent(&app, &ada, &site_id, &state, "--apply-dir", &site).await;
    assert!(
        said.contains(&format!(
            "Start it with: wp-agent --state-dir {} run",
            state.display()
        )),
        "{said}"
    );

    // What it wrote: the key readable by gsw-agent alone.
    assert_eq!(mode_and_owner(&state), (0o700, uid), "state folder");
    let config_path = state.join("agent.json");
    assert_eq!(mode_and_owner(&config_path), (0o600, uid), "identity file");
    let config: Value = serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    assert_eq!(config["server"], app.address.as_str());
    assert_eq!(config["site_id"], site_id.as_str());
    assert_eq!(config["target"], "folder");
    assert_eq!(config["apply_dir"], site.to_str().unwrap());

    // Run as the unit runs it, until the control plane shows it online.
    let mut agent = start_agent(&app, &ada, &site_id, &state, dir.path()).await;
    let done = deploy_and_settle(&app, &ada, &site_id, json!([home_page()])).await;
    assert_eq!(done["status"], "applied", "{done}");
    let page = site.join("content/pages/home.json");
    assert_eq!(std::fs::read(&page).unwrap(), b"{}");
    assert_eq!(std::fs::metadata(&page).unwrap().uid(), uid);

    agent.kill().await.unwrap();
    agent.wait().await.unwrap();
    let online = format!("/sites/{site_id}/agent");
    wait_until("the stopped agent is offline", || async {
        let response = app.api(Method::GET, &online, Some(&ada.access), None).await;
        response.json::<Value>().await.unwrap()["online"] == false
    })
    .await;
}

/// Into WordPress: the packaged agent finds the packaged PHP and extension
/// with no flags, and writes WordPress through the web server's group, set
/// up as the README says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_packaged_agent_applies_into_wordpress_through_the_web_servers_group() {
    let Some((_, uid, gid)) = packaged_agent_user() else {
        return;
    };
    let www: u32 = getent("group", "www-data")[2].parse().unwrap();

    let wp = WordPress::install();
    // The README's set-up, on what the site may change: the core files
    // here are hard links to Debian's WordPress, which stays as it is.
    let root = wp.path();
    std::os::unix::fs::chown(root, None, Some(www)).unwrap();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o2750)).unwrap();
    let config = root.join("wp-config.php");
    std::os::unix::fs::chown(&config, None, Some(www)).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
    let content = root.join("wp-content");
    let granted = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"chgrp -R www-data "$1" && chmod -R g+rwX "$1" && find "$1" -type d -exec chmod g+s {} +"#)
        .arg("sh")
        .arg(&content)
        .status()
        .unwrap();
    assert!(granted.success());

    let app = spawn_app(Backend::Sqlite).await;
    let (ada, site_id) = user_with_site(&app).await;
    let dir = agent_dir(uid, gid);
    let state = dir.path().join("state");
    enroll_as_agent(&app, &ada, &site_id, &state, "--wp-path", root).await;
    let config: Value =
        serde_json::from_slice(&std::fs::read(state.join("agent.json")).unwrap()).unwrap();
    assert_eq!(config["target"], "wordpress");
    // Nothing named: found where the package put them, each time it runs.
    assert_eq!(config["php"], Value::Null);
    assert_eq!(config["php_extension"], Value::Null);
    // The connector, installed by gsw-agent into the web server's group.
    let connector = content.join("plugins/gsw-connector/gsw-connector.php");
    let meta = std::fs::metadata(&connector).expect("the connector is installed");
    assert_eq!(
        (meta.uid(), meta.gid()),
        (uid, www),
        "{}",
        connector.display()
    );

    let mut agent = start_agent(&app, &ada, &site_id, &state, dir.path()).await;
    let page = json!({
        "content": "<!-- wp:paragraph -->\n<p>Fresh from the package.</p>\n<!-- /wp:paragraph -->",
        "front_page": false, "key": "page:packaged", "parent_key": null,
        "seo": {"description": "", "title": ""}, "slug": "packaged", "status": "publish",
        "title": "Packaged", "type": "page"
    });
    let item =
        json!({"kind": "content", "path": "pages/packaged.json", "content": page.to_string()});
    let done = deploy_and_settle(&app, &ada, &site_id, json!([item])).await;
    let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default();
    assert_eq!(done["status"], "applied", "{done}\n{log}");
    assert_eq!(
        wp.php("echo get_page_by_path('packaged')->post_title;"),
        "Packaged"
    );
    agent.kill().await.unwrap();
}

/// A folder for an agent's state, owned by gsw-agent.
fn agent_dir(uid: u32, gid: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
    dir
}

/// Runs the enrollment command the API gives for the site, as gsw-agent,
/// with `target` (`--apply-dir` or `--wp-path`) at `path` and the state in
/// `state`; returns what it printed.
async fn enroll_as_agent(
    app: &TestApp,
    user: &TestUser,
    site_id: &str,
    state: &Path,
    target: &str,
    path: &Path,
) -> String {
    let token = enrollment_token(app, user, site_id).await;
    let given = token["commands"][0].as_str().unwrap();
    let (feed, enroll) = given
        .split_once(" | sudo -u gsw-agent ")
        .unwrap_or_else(|| panic!("run as gsw-agent: {given}"));
    let enroll = enroll
        .strip_suffix(" --wp-path /var/www/html")
        .unwrap_or_else(|| panic!("for /var/www/html: {given}"));
    let enrolled = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 0002; {feed} | setpriv --reuid=gsw-agent --regid=gsw-agent --init-groups -- {enroll} {target} {} --state-dir {}",
            path.display(),
            state.display()
        ))
        .env_clear()
        .env("PATH", PATH)
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&enrolled.stdout).into_owned();
    assert!(
        enrolled.status.success(),
        "enroll failed: {said}{}",
        String::from_utf8_lossy(&enrolled.stderr)
    );
    said
}

/// Starts the packaged agent as the unit does (as gsw-agent, umask 0002),
/// logging to `log_dir/agent.log`, and waits until it is online.
async fn start_agent(
    app: &TestApp,
    user: &TestUser,
    site_id: &str,
    state: &Path,
    log_dir: &Path,
) -> tokio::process::Child {
    let log = std::fs::File::create(log_dir.join("agent.log")).unwrap();
    let agent = as_agent(PACKAGED)
        .arg("--state-dir")
        .arg(state)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let online = format!("/sites/{site_id}/agent");
    wait_until("the packaged agent is online", || async {
        let response = app
            .api(Method::GET, &online, Some(&user.access), None)
            .await;
        response.status() == 200 && response.json::<Value>().await.unwrap()["online"] == true
    })
    .await;
    agent
}
