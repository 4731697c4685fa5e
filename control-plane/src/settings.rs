//! Settings: defaults, then an optional TOML file, then `GSW_` environment
//! variables (`__` separates nested keys, e.g. `GSW_LOGIN_LIMIT__BURST=5`).
//!
//! Every secret can also be given as a file: `GSW_JWT_SECRET_FILE=/run/secrets/jwt`
//! (or `jwt_secret_file` in the TOML file) reads the secret from that file.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// A value that is never printed: `Debug` shows `[redacted]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A token bucket: `burst` attempts at once, then one more every `refill_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub burst: u32,
    pub refill_secs: f64,
}

/// Everything the control plane can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Where the embedded database and generated secrets live.
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://…`; unset means an SQLite file in `data_dir`.
    pub database_url: Option<Secret>,
    pub database_url_file: Option<PathBuf>,
    /// `redis://…`; unset means in-process queues and state.
    pub redis_url: Option<Secret>,
    pub redis_url_file: Option<PathBuf>,
    /// Key for signing access tokens (at least 32 bytes); unset means one
    /// generated once and kept in `data_dir/jwt-secret`.
    pub jwt_secret: Option<Secret>,
    pub jwt_secret_file: Option<PathBuf>,
    /// Lifetime of an access token.
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token.
    pub refresh_token_ttl_secs: u64,
    /// Login attempts allowed per email address.
    pub login_limit_per_email: RateLimit,
    /// Login and registration attempts allowed per client address.
    pub login_limit_per_client: RateLimit,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace_secs: u64,
    /// How long a client may take to send a request's headers, and how long
    /// a kept-alive connection may wait idle for its next request, before
    /// the connection is closed (slow-header attacks hold nothing for long).
    pub http_header_timeout_secs: u64,
    /// Most client connections served at once; past it, new connections are
    /// closed as they arrive until one ends.
    pub http_max_connections: usize,
    /// Agent connections one client address may have waiting to
    /// authenticate at once (the address from `X-Forwarded-For` when
    /// `trust_forwarded_for`); past it the upgrade is refused with 429.
    pub agent_max_pending_per_address: usize,
    /// Live job-event WebSockets one user may hold open at once; past it
    /// a new one is refused with 429.
    pub job_events_max_per_user: usize,
    /// A second address serving only `/metrics`, for a scraper on a private
    /// network; unset means no such listener.
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token a scraper must send for `/metrics`. Set, `/metrics` is
    /// also served on `listen` (to holders of the token); unset, it is
    /// served only on `metrics_listen`, and `listen` answers 404.
    pub metrics_token: Option<Secret>,
    pub metrics_token_file: Option<PathBuf>,
    /// Folder of a dashboard build to serve instead of the one compiled in (development).
    pub web_dir: Option<PathBuf>,
    pub log_format: LogFormat,
    /// The URL agents and browsers reach this control plane at (for the
    /// enrollment command); unset means `http://` plus the request's Host.
    pub public_url: Option<String>,
    /// Ed25519 seed (32 bytes, base64) signing bundles; unset means one
    /// generated once and kept in `data_dir/bundle-signing-key`. Every node
    /// of one control plane needs the same key.
    pub bundle_signing_key: Option<Secret>,
    pub bundle_signing_key_file: Option<PathBuf>,
    /// Largest bundle, in bytes.
    pub max_bundle_bytes: u64,
    /// Bytes of release payloads each node keeps in memory, so a bulk
    /// deployment reads its payload from the database once.
    pub release_cache_max_bytes: u64,
    /// Deployment uploads (request bodies up to a bundle's size, and the
    /// bundles built from drafts) handled at once; more are answered 503
    /// with Retry-After.
    pub max_concurrent_deployment_uploads: usize,
    /// How long a bundle stays valid unless a deployment says otherwise.
    pub bundle_ttl_secs: u64,
    /// Seconds between heartbeats on agent connections.
    pub agent_heartbeat_secs: u64,
    /// An agent silent for this long is disconnected and shown offline.
    pub agent_timeout_secs: u64,
    /// This node's name among several sharing a Redis; unset means a random one.
    pub node_id: Option<String>,
    /// Base URL of the Anthropic API.
    pub anthropic_base_url: String,
    /// Anthropic API key; unset means the offline engine writes drafts.
    pub anthropic_api_key: Option<Secret>,
    pub anthropic_api_key_file: Option<PathBuf>,
    /// Model for planning, design and plugins.
    pub anthropic_small_model: String,
    /// Model for writing pages.
    pub anthropic_large_model: String,
    /// Attempts per model call, the first included.
    pub anthropic_max_attempts: u32,
    /// First retry waits up to this long (full jitter, doubling per retry).
    pub anthropic_backoff_base_ms: u64,
    /// Longest wait between attempts.
    pub anthropic_backoff_max_ms: u64,
    /// Longest a model call may take.
    pub anthropic_timeout_secs: u64,
    /// How long cached model responses are kept in Redis.
    pub model_cache_ttl_secs: u64,
    /// Pages written at once per job.
    pub generation_page_concurrency: usize,
    /// Redis Stream of the job queue (and prefix of its other keys).
    pub queue_stream: String,
    /// A job quiet this long goes to another worker.
    pub queue_visibility_timeout_secs: u64,
    /// Deliveries of one job before it is failed as a dead letter.
    pub queue_max_deliveries: u32,
    /// How often unfinished jobs the queue may have lost are enqueued again.
    pub queue_reconcile_secs: u64,
    /// Jobs one worker process runs at once.
    pub worker_concurrency: usize,
    /// Run workers inside `serve` (turn off when running `worker` processes apart).
    pub serve_workers: bool,
    /// Base URL of the WordPress.org plugin directory's API, which a
    /// draft's planned plugins are fetched from when it is deployed.
    pub plugin_directory_url: String,
    /// Longest one request to the plugin directory may take; a zip's
    /// download may take four times as long.
    pub plugin_directory_timeout_secs: u64,
    /// Largest plugin zip fetched, in bytes.
    pub plugin_zip_max_bytes: u64,
    /// Bytes of plugin zips kept in `data_dir/plugin-zips`; the least
    /// recently used go first.
    pub plugin_cache_max_bytes: u64,
    /// Pexels API key; set, generation chooses Pexels photos for the
    /// pages' pictures (downloaded and shipped with the site).
    pub pexels_api_key: Option<Secret>,
    pub pexels_api_key_file: Option<PathBuf>,
    /// Base URL of the Pexels API.
    pub pexels_base_url: String,
    /// The only origin Pexels photos are downloaded from.
    pub pexels_image_url: String,
    /// Unsplash access key; set (and no Pexels key), generation chooses
    /// Unsplash photos, shown from Unsplash's servers as its API
    /// guidelines require.
    pub unsplash_access_key: Option<Secret>,
    pub unsplash_access_key_file: Option<PathBuf>,
    /// Base URL of the Unsplash API.
    pub unsplash_base_url: String,
    /// The only origin hotlinked Unsplash photos may come from.
    pub unsplash_image_url: String,
    /// The application name in Unsplash credit links (`utm_source`).
    pub unsplash_app_name: String,
    /// Longest one photo search or download may take.
    pub photo_timeout_secs: u64,
    /// Largest photo downloaded, in bytes.
    pub photo_max_bytes: u64,
    /// Bytes of downloaded photos kept in `data_dir/photos`; the least
    /// recently used go first (a photo gone is fetched again).
    pub photo_cache_max_bytes: u64,
    /// Let requests to URLs users give (their WordPress sites) reach
    /// loopback, private (RFC 1918, fc00::/7), link-local and CGNAT
    /// addresses: for a control plane on the same network as the sites it
    /// manages. Cloud metadata services, multicast, broadcast and
    /// unroutable addresses stay refused.
    pub allow_private_targets: bool,
    /// WordPress checks (`/wordpress/validate`, `/sites/{id}/connect`) one
    /// user may start: each makes several requests to the site named.
    pub wordpress_check_limit_per_user: RateLimit,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            database_url_file: None,
            redis_url: None,
            redis_url_file: None,
            jwt_secret: None,
            jwt_secret_file: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            login_limit_per_email: RateLimit {
                burst: 5,
                refill_secs: 12.0,
            },
            login_limit_per_client: RateLimit {
                burst: 30,
                refill_secs: 2.0,
            },
            trust_forwarded_for: false,
            max_body_bytes: 256 * 1024,
            shutdown_grace_secs: 30,
            http_header_timeout_secs: 10,
            http_max_connections: 10_000,
            agent_max_pending_per_address: 8,
            job_events_max_per_user: 16,
            metrics_listen: None,
            metrics_token: None,
            metrics_token_file: None,
            web_dir: None,
            log_format: LogFormat::Text,
            public_url: None,
            bundle_signing_key: None,
            bundle_signing_key_file: None,
            max_bundle_bytes: 64 * 1024 * 1024,
            release_cache_max_bytes: 256 * 1024 * 1024,
            max_concurrent_deployment_uploads: 4,
            bundle_ttl_secs: 7 * 24 * 3600,
            agent_heartbeat_secs: 20,
            agent_timeout_secs: 60,
            node_id: None,
            anthropic_base_url: "https://api.anthropic.com".into(),
            anthropic_api_key: None,
            anthropic_api_key_file: None,
            anthropic_small_model: "claude-haiku-4-5".into(),
            anthropic_large_model: "claude-sonnet-4-5".into(),
            anthropic_max_attempts: 5,
            anthropic_backoff_base_ms: 500,
            anthropic_backoff_max_ms: 30_000,
            anthropic_timeout_secs: 120,
            model_cache_ttl_secs: 30 * 24 * 3600,
            generation_page_concurrency: 8,
            queue_stream: "gsw:jobs".into(),
            queue_visibility_timeout_secs: 60,
            queue_max_deliveries: 5,
            queue_reconcile_secs: 30,
            worker_concurrency: 4,
            serve_workers: true,
            plugin_directory_url: "https://api.wordpress.org".into(),
            plugin_directory_timeout_secs: 10,
            plugin_zip_max_bytes: 64 * 1024 * 1024,
            plugin_cache_max_bytes: 1024 * 1024 * 1024,
            pexels_api_key: None,
            pexels_api_key_file: None,
            pexels_base_url: "https://api.pexels.com".into(),
            pexels_image_url: "https://images.pexels.com".into(),
            unsplash_access_key: None,
            unsplash_access_key_file: None,
            unsplash_base_url: "https://api.unsplash.com".into(),
            unsplash_image_url: "https://images.unsplash.com".into(),
            unsplash_app_name: "gswstudio".into(),
            photo_timeout_secs: 10,
            photo_max_bytes: 8 * 1024 * 1024,
            photo_cache_max_bytes: 1024 * 1024 * 1024,
            allow_private_targets: false,
            wordpress_check_limit_per_user: RateLimit {
                burst: 10,
                refill_secs: 6.0,
            },
        }
    }
}

/// An example value left in place (`CHANGE-ME…`), or one with too few
/// different characters to be random (`aaaa…`, `12341234…`).
fn looks_like_a_placeholder(secret: &str) -> bool {
    let lower = secret.to_ascii_lowercase();
    let words = [
        "change",
        "example",
        "placeholder",
        "replace",
        "secret",
        "password",
    ];
    let distinct = secret
        .bytes()
        .collect::<std::collections::HashSet<_>>()
        .len();
    words.iter().any(|w| lower.contains(w)) || distinct < 10
}

impl Settings {
    /// Loads settings from defaults, the optional file, then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.exists() {
                bail!("settings file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file(file));
        }
        // `GSW_TEST_*` configure the test suites, not the service.
        let figment = figment.merge(
            Env::prefixed("GSW_")
                .split("__")
                .ignore(&["config"])
                .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("test_")),
        );
        let mut settings: Settings = figment.extract().context("reading settings")?;
        settings.read_secret_files()?;
        settings.check()?;
        Ok(settings)
    }

    fn read_secret_files(&mut self) -> anyhow::Result<()> {
        let slots = [
            (
                "database_url",
                &mut self.database_url,
                &self.database_url_file,
            ),
            ("redis_url", &mut self.redis_url, &self.redis_url_file),
            ("jwt_secret", &mut self.jwt_secret, &self.jwt_secret_file),
            (
                "bundle_signing_key",
                &mut self.bundle_signing_key,
                &self.bundle_signing_key_file,
            ),
            (
                "anthropic_api_key",
                &mut self.anthropic_api_key,
                &self.anthropic_api_key_file,
            ),
            (
                "pexels_api_key",
                &mut self.pexels_api_key,
                &self.pexels_api_key_file,
            ),
            (
                "unsplash_access_key",
                &mut self.unsplash_access_key,
                &self.unsplash_access_key_file,
            ),
            (
                "metrics_token",
                &mut self.metrics_token,
                &self.metrics_token_file,
            ),
        ];
        for (name, value, file) in slots {
            let Some(file) = file else { continue };
            if value.is_some() {
                bail!("both {name} and {name}_file are set; set only one");
            }
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {name}_file {}", file.display()))?;
            *value = Some(Secret::new(text.trim()));
        }
        Ok(())
    }

    fn check(&self) -> anyhow::Result<()> {
        // The enrollment command names the URL agents dial and trust for
        // their signing key: off this machine it must come from the
        // operator, never from a request's Host header.
        match &self.public_url {
            None if !self.listen.ip().is_loopback() => bail!(
                "public_url (GSW_PUBLIC_URL) must be set when listening on {}: it is the https:// URL agents enroll with",
                self.listen
            ),
            Some(url) => {
                let parsed = url::Url::parse(url)
                    .with_context(|| format!("public_url {url:?} is not a URL"))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                    bail!("public_url must be an https:// URL such as https://gsw.example.com");
                }
            }
            None => {}
        }
        if let Some(secret) = &self.jwt_secret {
            let secret = secret.expose();
            if secret.len() < 32 {
                bail!("jwt_secret must be at least 32 bytes");
            }
            if looks_like_a_placeholder(secret) {
                bail!("jwt_secret looks like a placeholder or is too regular: use at least 32 random bytes, e.g. `openssl rand -base64 32`");
            }
        }
        if self.agent_heartbeat_secs == 0 || self.agent_timeout_secs <= self.agent_heartbeat_secs {
            bail!("agent_timeout_secs must be longer than agent_heartbeat_secs, and both positive");
        }
        if self.access_token_ttl_secs == 0 || self.refresh_token_ttl_secs == 0 {
            bail!("token lifetimes must be positive");
        }
        for limit in [
            self.login_limit_per_email,
            self.login_limit_per_client,
            self.wordpress_check_limit_per_user,
        ] {
            if limit.burst == 0 || limit.refill_secs.is_nan() || limit.refill_secs <= 0.0 {
                bail!("rate limits need a burst of at least 1 and a positive refill_secs");
            }
        }
        if self.generation_page_concurrency == 0 || self.worker_concurrency == 0 {
            bail!("generation_page_concurrency and worker_concurrency must be at least 1");
        }
        if self.queue_visibility_timeout_secs == 0 || self.queue_max_deliveries == 0 {
            bail!("queue_visibility_timeout_secs and queue_max_deliveries must be at least 1");
        }
        let directory = url::Url::parse(&self.plugin_directory_url).with_context(|| {
            format!(
                "plugin_directory_url {:?} is not a URL",
                self.plugin_directory_url
            )
        })?;
        if !matches!(directory.scheme(), "http" | "https") || directory.host().is_none() {
            bail!("plugin_directory_url must be an https:// URL such as https://api.wordpress.org");
        }
        if self.plugin_directory_timeout_secs == 0 || self.plugin_zip_max_bytes == 0 {
            bail!("plugin_directory_timeout_secs and plugin_zip_max_bytes must be positive");
        }
        for (name, url) in [
            ("pexels_base_url", &self.pexels_base_url),
            ("pexels_image_url", &self.pexels_image_url),
            ("unsplash_base_url", &self.unsplash_base_url),
            ("unsplash_image_url", &self.unsplash_image_url),
        ] {
            let parsed =
                url::Url::parse(url).with_context(|| format!("{name} {url:?} is not a URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                bail!("{name} must be an https:// URL");
            }
        }
        if self.photo_timeout_secs == 0 || self.photo_max_bytes == 0 {
            bail!("photo_timeout_secs and photo_max_bytes must be positive");
        }
        if self.unsplash_app_name.is_empty()
            || !self
                .unsplash_app_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            bail!("unsplash_app_name must be letters, digits, '_' or '-'");
        }
        if self.anthropic_max_attempts == 0 {
            bail!("anthropic_max_attempts must be at least 1");
        }
        if self.http_header_timeout_secs == 0 || self.http_max_connections == 0 {
            bail!("http_header_timeout_secs and http_max_connections must be positive");
        }
        if let Some(token) = &self.metrics_token {
            if token.expose().len() < 16 || looks_like_a_placeholder(token.expose()) {
                bail!("metrics_token must be at least 16 random characters, e.g. `openssl rand -hex 24`");
            }
        }
        if self.metrics_listen == Some(self.listen) && self.listen.port() != 0 {
            bail!("metrics_listen must differ from listen");
        }
        if self.max_concurrent_deployment_uploads == 0 {
            bail!("max_concurrent_deployment_uploads must be at least 1");
        }
        if self.agent_max_pending_per_address == 0 || self.job_events_max_per_user == 0 {
            bail!("agent_max_pending_per_address and job_events_max_per_user must be at least 1");
        }
        Ok(())
    }

    /// The database URL in force: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("gsw.db").display()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return figment::Error
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let settings = Settings {
            database_url: Some(Secret::new("postgres://app:hunter2@db/gsw")),
            jwt_secret: Some(Secret::new("x".repeat(40))),
            ..Settings::default()
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains(&"x".repeat(40)), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "gsw.toml",
                "listen = \"0.0.0.0:9000\"\nshutdown_grace_secs = 5\n[login_limit_per_email]\nburst = 2\nrefill_secs = 1.5\n",
            )?;
            jail.set_env("GSW_LISTEN", "127.0.0.1:9100");
            jail.set_env("GSW_LOGIN_LIMIT_PER_EMAIL__BURST", "3");
            // The test suites' own variables are no settings.
            jail.set_env(
                "GSW_TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1/postgres",
            );
            jail.create_file("jwt", "  0123456789abcdef0123456789abcdef  \n")?;
            jail.set_env("GSW_JWT_SECRET_FILE", "jwt");
            let settings = Settings::load(Some(Path::new("gsw.toml"))).expect("settings load");
            assert_eq!(settings.listen, "127.0.0.1:9100".parse().unwrap());
            assert_eq!(settings.shutdown_grace_secs, 5);
            assert_eq!(
                settings.login_limit_per_email,
                RateLimit {
                    burst: 3,
                    refill_secs: 1.5
                }
            );
            assert_eq!(
                settings.jwt_secret.as_ref().map(Secret::expose),
                Some("0123456789abcdef0123456789abcdef")
            );
            Ok(())
        });
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GSW_JWT_SECRET", "short");
            let err = Settings::load(None).unwrap_err();
            assert!(err.to_string().contains("at least 32 bytes"), "{err}");
            // The example manifest's placeholder, and a long but regular one.
            for weak in [
                "CHANGE-ME-to-at-least-32-random-bytes-base64",
                &"ab".repeat(20),
            ] {
                jail.set_env("GSW_JWT_SECRET", weak);
                let err = Settings::load(None).unwrap_err();
                assert!(err.to_string().contains("placeholder"), "{weak}: {err}");
            }
            jail.set_env("GSW_JWT_SECRET", "0123456789abcdef0123456789abcdef");
            jail.create_file("jwt", "0123456789abcdef0123456789abcdef")?;
            jail.set_env("GSW_JWT_SECRET_FILE", "jwt");
            let err = Settings::load(None).unwrap_err();
            assert!(err.to_string().contains("set only one"), "{err}");
            jail.clear_env();
            jail.set_env("GSW_LISTEN", "not an address");
            assert!(Settings::load(None).is_err());
            jail.clear_env();
            for weak in ["short", "CHANGE-ME-metrics-token"] {
                jail.set_env("GSW_METRICS_TOKEN", weak);
                let err = Settings::load(None).unwrap_err();
                assert!(err.to_string().contains("metrics_token"), "{weak}: {err}");
            }
            jail.set_env("GSW_METRICS_TOKEN", "9f2c4e7a1b3d5f60a8e7c6b5");
            assert!(Settings::load(None).is_ok());
            Ok(())
        });
    }

    #[test]
    fn off_loopback_the_public_url_must_be_given() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GSW_LISTEN", "0.0.0.0:8080");
            let err = Settings::load(None).unwrap_err();
            assert!(err.to_string().contains("GSW_PUBLIC_URL"), "{err}");
            jail.set_env("GSW_PUBLIC_URL", "gsw.example.com");
            assert!(Settings::load(None).is_err());
            jail.set_env("GSW_PUBLIC_URL", "https://gsw.example.com");
            assert!(Settings::load(None).is_ok());
            jail.clear_env();
            jail.set_env("GSW_LISTEN", "[::1]:8080");
            assert!(Settings::load(None).is_ok(), "loopback needs none");
            Ok(())
        });
    }

    #[test]
    fn embedded_database_lives_in_the_data_dir() {
        let settings = Settings {
            data_dir: PathBuf::from("/var/lib/gsw"),
            ..Settings::default()
        };
        assert_eq!(settings.database_url(), "sqlite:///var/lib/gsw/gsw.db");
    }

    /// Every `GSW_` name in the README and the deploy files must be a real
    /// setting: a typo there would be silently ignored by a user's deployment.
    #[test]
    fn deploy_files_name_only_real_settings() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = vec![root.join("README.md")];
        let mut dirs = vec![root.join("deploy")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        let known = serde_json::to_value(Settings::default()).unwrap();
        let mut checked = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for (at, _) in text.match_indices("GSW_") {
                let name: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                let key = name["GSW_".len()..].to_lowercase();
                // GSW_CONFIG is a flag; GSW_TEST_* configure tests; GSW_AGENT_STATE_DIR is wp-agent's.
                if key.is_empty()
                    || key == "config"
                    || key.starts_with("test_")
                    || key == "agent_state_dir"
                {
                    continue;
                }
                let mut value = &known;
                for part in key.split("__") {
                    value = value
                        .get(part)
                        .unwrap_or_else(|| panic!("{name} in {} is not a setting", file.display()));
                }
                checked += 1;
            }
        }
        assert!(checked > 10, "found only {checked} GSW_ names");
    }
}
