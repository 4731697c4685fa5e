//! Starting and stopping the service.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::FromRef;
use axum::Extension;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use tokio::net::TcpListener;

use crate::api::health::Health;
use crate::app;
use crate::fleet::{Bus, Fleet, FleetSettings};
use crate::generation::Generation;
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::state::AppState;
use ed25519_dalek::SigningKey;

/// A bound, ready-to-run control plane.
pub struct Server {
    listener: TcpListener,
    /// `metrics_listen`, when set.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    generation: Generation,
}

impl Server {
    /// Opens storage (migrating it), prepares secrets, and binds the listen address.
    pub async fn bind(settings: Settings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating the data folder {}", settings.data_dir.display()))?;
        let jwt_secret = match &settings.jwt_secret {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            None => generated_secret(&settings.data_dir.join("jwt-secret"))?,
        };
        let signing_key = match &settings.bundle_signing_key {
            Some(seed) => signing_key_from_base64(seed.expose())?,
            None => {
                let seed = generated_secret(&settings.data_dir.join("bundle-signing-key"))?;
                let seed: [u8; 32] = seed[..32].try_into().context("bundle-signing-key")?;
                SigningKey::from_bytes(&seed)
            }
        };
        let store: Arc<dyn gsw_storage::Store> = Arc::from(open_store(&settings).await?);
        let node_id = settings
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{}", uuid::Uuid::new_v4().simple()));
        let fleet_settings = FleetSettings {
            heartbeat: Duration::from_secs(settings.agent_heartbeat_secs),
            timeout: Duration::from_secs(settings.agent_timeout_secs),
            max_bundle_bytes: settings.max_bundle_bytes,
            bundle_ttl: Duration::from_secs(settings.bundle_ttl_secs),
            node_id: node_id.clone(),
            release_cache_max_bytes: settings.release_cache_max_bytes,
        };
        let bus = match &settings.redis_url {
            Some(url) => Bus::redis(url.expose(), &node_id, fleet_settings.timeout * 2)
                .await
                .context("connecting to Redis")?,
            None => Bus::Local,
        };
        let fleet = Fleet::new(store.clone(), signing_key, fleet_settings, bus);
        fleet.start();
        let metrics = Arc::new(Metrics::default());
        let generation =
            Generation::from_settings(&settings, store.clone(), metrics.clone()).await?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("listening on {}", settings.listen))?;
        let metrics_listener = bind_metrics(&settings).await?;
        if metrics_listener.is_none() && settings.metrics_token.is_none() {
            tracing::info!("metrics are not served: set GSW_METRICS_LISTEN (a private address) or GSW_METRICS_TOKEN");
        }
        let state = AppState::new(settings, store, &jwt_secret, fleet, metrics)?;
        Ok(Self {
            listener,
            metrics_listener,
            state,
            generation,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address metrics are served on apart, when `metrics_listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The shared state, for tests that seed records directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Generation's provider, queue and events, for tests that run workers of their own.
    pub fn generation(&self) -> &Generation {
        &self.generation
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish
    /// (up to `shutdown_grace_secs`) and closes storage.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let grace = Duration::from_secs(self.state.settings.shutdown_grace_secs);
        let store = self.state.store.clone();
        let fleet = self.state.fleet.clone();
        // Workers run beside the API unless told not to (`worker` processes instead).
        let (stop_workers, workers_stopped) = tokio::sync::oneshot::channel::<()>();
        let workers = self.state.settings.serve_workers.then(|| {
            tokio::spawn(self.generation.worker().run(async move {
                let _ = workers_stopped.await;
            }))
        });
        let limits = crate::http::Limits {
            header_timeout: Duration::from_secs(self.state.settings.http_header_timeout_secs),
            max_connections: self.state.settings.http_max_connections,
        };
        let (metrics_stop, mut metrics_stopping) = tokio::sync::watch::channel(false);
        let metrics = self.metrics_listener.map(|listener| {
            // The same checks as the main listener's: `serve`'s liveness is
            // its API's, whatever its workers do.
            let app = app::metrics_router(Health::from_ref(&self.state));
            tokio::spawn(crate::http::serve(listener, app, limits, async move {
                let _ = metrics_stopping.changed().await;
            }))
        });
        let app = app::router(self.state).layer(Extension(self.generation));
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stopping_tx.send(());
            let _ = metrics_stop.send(true);
        };
        let serve = crate::http::serve(self.listener, app, limits, signal);
        let deadline = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = serve => {},
            () = deadline => tracing::warn!(?grace, "in-flight requests outlived the grace period; stopping anyway"),
        }
        // Agent WebSockets are upgraded connections, outside the HTTP
        // server's graceful shutdown. Now that nothing new is accepted (so a
        // told agent cannot come straight back here), tell them, and let them go.
        fleet.shutdown(Duration::from_secs(5)).await;
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        let _ = stop_workers.send(());
        if let Some(workers) = workers {
            let _ = workers.await;
        }
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Binds `metrics_listen`, when set.
async fn bind_metrics(settings: &Settings) -> anyhow::Result<Option<TcpListener>> {
    let Some(address) = settings.metrics_listen else {
        return Ok(None);
    };
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("listening for metrics on {address}"))?;
    Ok(Some(listener))
}

/// `gsw-control-plane worker`: generation workers only, with `/healthz`,
/// `/readyz` and `/metrics` on `metrics_listen` (never the API), until
/// `shutdown` completes; then the jobs it holds are handed back.
pub async fn run_worker(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store: Arc<dyn gsw_storage::Store> = Arc::from(open_store(&settings).await?);
    let metrics = Arc::new(Metrics::default());
    let generation = Generation::from_settings(&settings, store.clone(), metrics.clone()).await?;
    if settings.redis_url.is_none() {
        // The in-process queue cannot hear a separate `serve`: only the
        // reconciler's look at the job table finds work.
        tracing::warn!("no GSW_REDIS_URL: this worker finds new jobs only every GSW_QUEUE_RECONCILE_SECS; set GSW_REDIS_URL to run workers apart from serve");
    }
    let worker = generation.worker();
    let probes = match bind_metrics(&settings).await? {
        Some(listener) => {
            let address = listener.local_addr()?;
            let app = app::metrics_router(Health {
                metrics,
                store: store.clone(),
                metrics_token: settings.metrics_token.clone(),
                fleet: None,
                queue: Some(generation.queue.clone()),
                heartbeat: Some(worker.heartbeat.clone()),
            });
            let limits = crate::http::Limits {
                header_timeout: Duration::from_secs(settings.http_header_timeout_secs),
                max_connections: settings.http_max_connections,
            };
            // Said on stdout so people and scripts (port 0) see where to go.
            println!("gsWstudio worker health and metrics on http://{address}/");
            let (stop, mut stopping) = tokio::sync::watch::channel(false);
            let serving = tokio::spawn(crate::http::serve(listener, app, limits, async move {
                let _ = stopping.changed().await;
            }));
            Some((stop, serving))
        }
        None => {
            tracing::info!("worker health and metrics are not served: set GSW_METRICS_LISTEN (a private address)");
            None
        }
    };
    println!(
        "gsWstudio worker running ({} queue)",
        generation.queue.name()
    );
    worker.run(shutdown).await;
    // Probes keep answering until the jobs are handed back.
    if let Some((stop, serving)) = probes {
        let _ = stop.send(true);
        let _ = serving.await;
    }
    store.close().await;
    Ok(())
}

/// Opens the configured database and applies its migrations.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Box<dyn gsw_storage::Store>> {
    let url = settings.database_url();
    let backend = gsw_storage::Backend::for_url(&url)?;
    let store = gsw_storage::connect(&url)
        .await
        .with_context(|| format!("opening the {backend:?} database"))?;
    tracing::info!(?backend, "storage ready");
    Ok(store)
}

/// Reads an Ed25519 signing key given as a base64 32-byte seed.
fn signing_key_from_base64(text: &str) -> anyhow::Result<SigningKey> {
    let seed = STANDARD
        .decode(text.trim())
        .context("bundle_signing_key is not base64")?;
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("bundle_signing_key must be 32 bytes"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Reads the signing secret kept in `path`, creating it (mode 0600) on first start.
fn generated_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let secret = STANDARD.decode(text.trim()).with_context(|| {
            format!(
                "{} is not base64; delete it to make a new one",
                path.display()
            )
        })?;
        anyhow::ensure!(
            secret.len() >= 32,
            "{} holds fewer than 32 bytes",
            path.display()
        );
        return Ok(secret);
    }
    let mut secret = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    write_private(path, STANDARD.encode(&secret).as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a secret");
    Ok(secret)
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Resolves on SIGTERM or Ctrl-C. The SIGTERM handler is installed when
/// this is called, not when first polled, so a signal that arrives while the
/// process is still starting stops it gracefully instead of killing it.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match term {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(err) => {
                    tracing::error!(%err, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secret_is_kept_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt-secret");
        let first = generated_secret(&path).unwrap();
        let again = generated_secret(&path).unwrap();
        assert_eq!(first, again);
        assert_eq!(first.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
