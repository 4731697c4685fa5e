//! The state every handler can reach. It imports no handler, so handler
//! modules depend on it and on the domain modules, never on each other or on
//! the router that composes them (`app`).

use std::net::IpAddr;
use std::sync::Arc;

use gsw_storage::Store;
use uuid::Uuid;

use crate::auth::ratelimit::RateLimiter;
use crate::auth::tokens::TokenIssuer;
use crate::fleet::Fleet;
use crate::limits::KeyedLimit;
use crate::metrics::Metrics;
use crate::outbound::guarded::GuardedClient;
use crate::photos::PhotoLibrary;
use crate::plugins::PluginDirectory;
use crate::settings::Settings;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub tokens: Arc<TokenIssuer>,
    pub email_limiter: Arc<RateLimiter>,
    pub client_limiter: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<Settings>,
    pub fleet: Arc<Fleet>,
    /// Where a draft's planned plugins come from.
    pub plugins: Arc<PluginDirectory>,
    /// Where a draft's downloaded stock photos' bytes come from.
    pub photos: Arc<PhotoLibrary>,
    /// Agent connections waiting to authenticate, per client address.
    pub agents_pending: Arc<KeyedLimit<IpAddr>>,
    /// Live job-event WebSockets, per user.
    pub job_event_sockets: Arc<KeyedLimit<Uuid>>,
    /// Deployment uploads being handled, at most `max_concurrent_deployment_uploads`.
    pub deployment_uploads: Arc<tokio::sync::Semaphore>,
    /// The client for every request to a URL a user gave.
    pub outbound: Arc<GuardedClient>,
    /// WordPress site checks, per user.
    pub wordpress_limiter: Arc<RateLimiter>,
}

impl AppState {
    /// State over an opened store, signing tokens with `jwt_secret`, counting into `metrics`.
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        jwt_secret: &[u8],
        fleet: Arc<Fleet>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            tokens: Arc::new(TokenIssuer::new(
                jwt_secret,
                settings.access_token_ttl_secs,
                settings.refresh_token_ttl_secs,
            )?),
            email_limiter: Arc::new(RateLimiter::new(settings.login_limit_per_email)),
            client_limiter: Arc::new(RateLimiter::new(settings.login_limit_per_client)),
            metrics,
            plugins: Arc::new(PluginDirectory::from_settings(&settings)?),
            photos: Arc::new(PhotoLibrary::from_settings(&settings)?),
            agents_pending: Arc::new(KeyedLimit::new(settings.agent_max_pending_per_address)),
            job_event_sockets: Arc::new(KeyedLimit::new(settings.job_events_max_per_user)),
            deployment_uploads: Arc::new(tokio::sync::Semaphore::new(
                settings.max_concurrent_deployment_uploads,
            )),
            outbound: Arc::new(GuardedClient::from_settings(&settings)),
            wordpress_limiter: Arc::new(RateLimiter::new(settings.wordpress_check_limit_per_user)),
            settings: Arc::new(settings),
            store,
            fleet,
        })
    }
}
