//! `wp-agent enroll`: make a key pair, register it with a one-time token,
//! and write the identity file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::SigningKey;
use serde::Deserialize;
use uuid::Uuid;

use crate::config::{AgentConfig, ApplyTarget};
use crate::wordpress::WordPress;
use crate::{disk, tls};

/// What `enroll` is told.
pub struct EnrollOptions {
    pub server: String,
    pub token: String,
    pub wp_path: PathBuf,
    pub state_dir: PathBuf,
    pub apply_dir: Option<PathBuf>,
    pub php: Option<PathBuf>,
    pub php_extension: Option<PathBuf>,
    pub apply_timeout_secs: u64,
    pub keep_snapshots: usize,
    pub ca_cert: Option<PathBuf>,
    pub max_bundle_bytes: u64,
    /// Allow plain `http://` to a control plane elsewhere than this machine.
    pub insecure: bool,
    /// The fingerprint (`SHA256:…`) the control plane's signing key must have.
    pub expect_key: Option<String>,
}

#[derive(Deserialize)]
struct EnrollResponse {
    agent_id: Uuid,
    site_id: Uuid,
    bundle_signing_key: String,
    connect_path: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
}

/// Enrolls this host; returns the written identity.
pub async fn enroll(options: EnrollOptions) -> anyhow::Result<AgentConfig> {
    let server = options.server.trim_end_matches('/').to_owned();
    crate::config::check_server(&server, options.insecure)?;
    disk::private_dir(&options.state_dir)?;
    let target = if options.apply_dir.is_some() {
        ApplyTarget::Folder
    } else {
        ApplyTarget::Wordpress
    };
    let mut config = AgentConfig {
        server: server.clone(),
        agent_id: Uuid::nil(),
        site_id: Uuid::nil(),
        secret_key: String::new(),
        bundle_signing_key: String::new(),
        connect_path: String::new(),
        wp_path: options.wp_path,
        target,
        apply_dir: options
            .apply_dir
            .unwrap_or_else(|| options.state_dir.join("site")),
        php: options.php,
        php_extension: options.php_extension,
        apply_timeout_secs: options.apply_timeout_secs,
        keep_snapshots: options.keep_snapshots,
        ca_cert: options.ca_cert,
        max_bundle_bytes: options.max_bundle_bytes,
        insecure: options.insecure,
    };
    // WordPress is made ready before the one-time token is spent, so a
    // wrong path or a missing PHP costs nothing but a second try.
    if target == ApplyTarget::Wordpress {
        let wordpress = WordPress::from_config(&config, &options.state_dir)?;
        let inventory = wordpress
            .prepare()
            .context("preparing WordPress for the agent")?;
        tracing::info!(
            wordpress = %inventory.wordpress_version,
            php = %inventory.php_version,
            site_url = %inventory.site_url,
            "connector plugin active"
        );
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let hostname = hostname();

    let client = tls::http_client(config.ca_cert.as_deref())?;
    let response = client
        .post(format!("{server}/api/v1/agents/enroll"))
        .json(&serde_json::json!({
            "token": options.token,
            "public_key": STANDARD.encode(key.verifying_key().as_bytes()),
            "hostname": hostname,
            "agent_version": env!("CARGO_PKG_VERSION"),
        }))
        .send()
        .await
        .with_context(|| format!("reaching the control plane at {server}"))?;
    let status = response.status();
    if !status.is_success() {
        let message = response
            .json::<ErrorBody>()
            .await
            .map(|b| b.error.message)
            .unwrap_or_else(|_| format!("HTTP {status}"));
        bail!("enrollment refused: {message}");
    }
    let enrolled: EnrollResponse = response
        .json()
        .await
        .context("the control plane's answer is not readable")?;
    config.agent_id = enrolled.agent_id;
    config.site_id = enrolled.site_id;
    config.secret_key = STANDARD.encode(key.to_bytes());
    config.bundle_signing_key = enrolled.bundle_signing_key;
    config.connect_path = enrolled.connect_path;
    let bundle_key = config
        .bundle_key()
        .context("the control plane sent an unusable signing key")?;
    let fingerprint = gsw_protocol::bundle::key_fingerprint(&bundle_key);
    if let Some(expected) = &options.expect_key {
        if expected.trim() != fingerprint {
            bail!(
                "the control plane's signing key is {fingerprint}, not the {} you expected: this may not be your control plane; nothing was saved",
                expected.trim()
            );
        }
    } else {
        tracing::warn!(%fingerprint, "no --expect-key given: check this fingerprint against the dashboard's");
    }
    config.save(&options.state_dir)?;
    Ok(config)
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// The identity file's path, for messages.
pub fn config_path(state_dir: &Path) -> PathBuf {
    state_dir.join(crate::config::CONFIG_FILE)
}
