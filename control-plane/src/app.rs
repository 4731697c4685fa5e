//! The application: shared state and the router.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::response::Html;
use axum::routing::get;
use axum::{middleware, Json, Router};
use gsw_storage::Store;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::api;
use crate::auth::ratelimit::RateLimiter;
use crate::auth::tokens::TokenIssuer;
use crate::error::AppError;
use crate::fleet::Fleet;
use crate::metrics::HttpMetrics;
use crate::settings::Settings;
use crate::telemetry;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub tokens: Arc<TokenIssuer>,
    pub email_limiter: Arc<RateLimiter>,
    pub client_limiter: Arc<RateLimiter>,
    pub metrics: Arc<HttpMetrics>,
    pub settings: Arc<Settings>,
    pub fleet: Arc<Fleet>,
}

impl AppState {
    /// State over an opened store, signing tokens with `jwt_secret`.
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        jwt_secret: &[u8],
        fleet: Arc<Fleet>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            tokens: Arc::new(TokenIssuer::new(
                jwt_secret,
                settings.access_token_ttl_secs,
                settings.refresh_token_ttl_secs,
            )?),
            email_limiter: Arc::new(RateLimiter::new(settings.login_limit_per_email)),
            client_limiter: Arc::new(RateLimiter::new(settings.login_limit_per_client)),
            metrics: Arc::new(HttpMetrics::default()),
            settings: Arc::new(settings),
            store,
            fleet,
        })
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gsWstudio control plane",
        description = "Manage fleets of WordPress sites. Every error has the body \
                       `{\"error\": {\"code\", \"message\", \"request_id\"}}`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "sites", description = "The caller's WordPress sites"),
        (name = "jobs", description = "Background work on sites"),
        (name = "fleet", description = "Agents, enrollment and deployments"),
        (name = "admin", description = "Operating the control plane"),
        (name = "billing", description = "The caller's plan and usage"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The `/api/v1` routes and the OpenAPI document describing them.
fn api(max_bundle_bytes: u64) -> (Router<AppState>, OpenApiDoc) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::auth::router())
        .merge(api::sites::router())
        .merge(api::jobs::router())
        .merge(api::generation::router())
        .merge(api::admin::router())
        .merge(api::editor::router())
        .merge(api::fleet_table::router())
        .merge(api::billing::router())
        .merge(crate::fleet::api::router(max_bundle_bytes))
        .split_for_parts();
    doc.servers = Some(vec![utoipa::openapi::Server::new(gsw_protocol::API_PREFIX)]);
    (router, doc)
}

/// The OpenAPI document of the REST API.
pub fn openapi() -> OpenApiDoc {
    api(Settings::default().max_bundle_bytes).1
}

/// The whole HTTP surface: API, docs, health, metrics and the dashboard.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api(state.settings.max_bundle_bytes);
    let doc = Arc::new(doc);
    let api = api
        .route(
            "/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .route(
            "/docs",
            get(|| async { Html(include_str!("api_docs.html")) }),
        )
        .fallback(|| async { AppError::NoRoute });

    Router::new()
        .nest(gsw_protocol::API_PREFIX, api)
        .merge(api::health::router())
        .merge(crate::web::router(state.settings.web_dir.as_deref()))
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .route_layer(middleware::from_fn(telemetry::expose_matched_path))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            telemetry::track_request,
        ))
        .with_state(state)
}
