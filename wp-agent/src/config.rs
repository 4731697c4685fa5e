//! The agent's identity and settings, written once by `enroll`, readable
//! only by the agent's user.

use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::disk;

/// Name of the identity file inside the state folder.
pub const CONFIG_FILE: &str = "agent.json";

/// Everything `wp-agent run` needs; written by `wp-agent enroll`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Control plane base URL, `http(s)://host[:port]`.
    pub server: String,
    pub agent_id: Uuid,
    pub site_id: Uuid,
    /// The agent's Ed25519 seed, base64. Never leaves this file.
    pub secret_key: String,
    /// The control plane's bundle-signing public key, base64.
    pub bundle_signing_key: String,
    /// Path of the WebSocket on the server.
    pub connect_path: String,
    /// The WordPress installation this agent manages.
    pub wp_path: PathBuf,
    /// Where bundles are applied: into WordPress, or into `apply_dir`.
    #[serde(default)]
    pub target: ApplyTarget,
    /// The folder bundles are written to when `target` is `folder`.
    pub apply_dir: PathBuf,
    /// PHP to run the connector with; `php` on the `PATH` when unset.
    #[serde(default)]
    pub php: Option<PathBuf>,
    /// The gsw extension; found as the README describes when unset.
    #[serde(default)]
    pub php_extension: Option<PathBuf>,
    /// Longest one apply may run, in seconds.
    #[serde(default = "default_apply_timeout")]
    pub apply_timeout_secs: u64,
    /// How many of the newest snapshots to keep (each allows rolling back
    /// one deployment); older ones are removed after each apply.
    #[serde(default = "default_keep_snapshots")]
    pub keep_snapshots: usize,
    /// Extra CA certificate (PEM) trusted for `https://`/`wss://`.
    pub ca_cert: Option<PathBuf>,
    /// Largest bundle accepted.
    pub max_bundle_bytes: u64,
    /// Plain `http://`/`ws://` to a control plane elsewhere than this
    /// machine was allowed at enrollment (`--insecure`).
    #[serde(default)]
    pub insecure: bool,
}

/// Where an agent applies bundles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyTarget {
    /// Inside WordPress, through the connector plugin.
    Wordpress,
    /// Each item written to `<apply_dir>/<kind>/<path>` (no WordPress).
    #[default]
    Folder,
}

fn default_apply_timeout() -> u64 {
    600
}

/// The default of `enroll --keep-snapshots`.
pub const DEFAULT_KEEP_SNAPSHOTS: usize = 30;

fn default_keep_snapshots() -> usize {
    DEFAULT_KEEP_SNAPSHOTS
}

impl std::fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentConfig")
            .field("server", &self.server)
            .field("agent_id", &self.agent_id)
            .field("site_id", &self.site_id)
            .field("secret_key", &"[redacted]")
            .field("wp_path", &self.wp_path)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl AgentConfig {
    /// Reads the identity from a state folder; a clear error if never enrolled.
    pub fn load(state_dir: &Path) -> anyhow::Result<Self> {
        let path = state_dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{} cannot be read: enroll this agent first (wp-agent enroll)",
                path.display()
            )
        })?;
        let config: Self = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid", path.display()))?;
        config.signing_key()?;
        config.bundle_key()?;
        Ok(config)
    }

    /// Writes the identity, readable by its owner only.
    pub fn save(&self, state_dir: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        disk::write_atomic(&state_dir.join(CONFIG_FILE), &json, 0o600)
    }

    /// The agent's own key.
    pub fn signing_key(&self) -> anyhow::Result<SigningKey> {
        let seed = STANDARD
            .decode(&self.secret_key)
            .context("secret_key is not base64")?;
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| anyhow::anyhow!("secret_key is not 32 bytes"))?;
        Ok(SigningKey::from_bytes(&seed))
    }

    /// The control plane's bundle-signing key.
    pub fn bundle_key(&self) -> anyhow::Result<VerifyingKey> {
        let key = STANDARD
            .decode(&self.bundle_signing_key)
            .context("bundle_signing_key is not base64")?;
        let key: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| anyhow::anyhow!("bundle_signing_key is not 32 bytes"))?;
        VerifyingKey::from_bytes(&key).context("bundle_signing_key is not an Ed25519 key")
    }

    /// The WebSocket URL: `ws(s)://…` from the server's `http(s)://…`.
    pub fn connect_url(&self) -> anyhow::Result<String> {
        check_server(&self.server, self.insecure)?;
        let base = self.server.trim_end_matches('/');
        let ws = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            anyhow::bail!("server {base:?} must start with http:// or https://");
        };
        Ok(format!("{ws}{}", self.connect_path))
    }
}

/// Checks that the agent may talk to `server`: over `https://`, or over plain
/// `http://` only to this machine (development) or when `insecure` says so.
/// Anyone on the path of a plain connection could hand the agent their own
/// signing key at enrollment, or a forged revocation later.
pub fn check_server(server: &str, insecure: bool) -> anyhow::Result<()> {
    let url = url::Url::parse(server).with_context(|| {
        format!("--server {server:?} is not a URL such as https://gsw.example.com")
    })?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if insecure || url.host_str().is_some_and(gsw_protocol::is_loopback_host) => Ok(()),
        "http" => anyhow::bail!(
            "--server {server} is plain http://: anyone on the way could swap the control plane's signing key; use https://, or pass --insecure if you accept that risk"
        ),
        other => anyhow::bail!("--server must be an https:// URL, not {other}://"),
    }
}

#[cfg(test)]
mod transport_tests {
    use super::check_server;

    #[test]
    fn plain_http_is_only_for_this_machine_unless_insecure() {
        for ok in [
            "https://gsw.example.com",
            "http://127.0.0.1:8080",
            "http://127.3.4.5",
            "http://localhost:8080/",
            "http://[::1]:8080",
        ] {
            assert!(check_server(ok, false).is_ok(), "{ok}");
        }
        for refused in [
            "http://gsw.example.com",
            "http://10.0.0.5:8080",
            "http://localhost.evil.example",
            "ws://gsw.example.com",
            "wss://gsw.example.com",
            "gsw.example.com",
        ] {
            assert!(check_server(refused, false).is_err(), "{refused}");
        }
        assert!(check_server("http://gsw.example.com", true).is_ok());
        assert!(check_server("ftp://gsw.example.com", true).is_err());
    }
}
