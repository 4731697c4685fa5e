//! The composition of the HTTP surface: every resource's routes, the OpenAPI
//! document, docs, health, metrics and the dashboard, under one router.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::response::Html;
use axum::routing::get;
use axum::{middleware, Json, Router};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::api;
use crate::api::health::Health;
use crate::error::AppError;
use crate::settings::Settings;
use crate::state::AppState;
use crate::telemetry;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gsWstudio control plane",
        description = "Manage fleets of WordPress sites. Every error has the body \
                       `{\"error\": {\"code\", \"message\", \"request_id\"}}`; a \
                       validation error also names its `field`.",
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
        .merge(api::auth::router())
        .merge(api::sites::router())
        .merge(api::generation::router())
        .merge(api::drafts::router())
        .merge(api::jobs::router())
        .merge(api::job_events::router())
        .merge(api::agents::router())
        .merge(api::agent_pull::router())
        .merge(api::connector::router())
        .merge(api::wordpress::router())
        .merge(api::deployments::router(max_bundle_bytes))
        .merge(api::fleet_table::router())
        .merge(api::billing::router())
        .merge(api::admin::router())
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

/// What `metrics_listen` serves, in `serve` and in `worker`: `/metrics`,
/// `/healthz` and `/readyz`, nothing else.
pub fn metrics_router(health: Health) -> Router {
    let metrics = health.metrics.clone();
    api::health::metrics_router()
        .fallback(|| async { AppError::NoRoute })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .route_layer(middleware::from_fn(telemetry::expose_matched_path))
        .layer(middleware::from_fn_with_state(
            metrics,
            telemetry::track_request,
        ))
        .with_state(health)
}
