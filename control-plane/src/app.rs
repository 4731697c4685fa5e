//! The composition of the HTTP surface: every resource's routes, the OpenAPI
//! document, docs, health, metrics and the dashboard, under one router.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::response::Html;
use axum::routing::get;
use axum::{middleware, Json, Router};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr, Response, ResponseBuilder,
};
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

/// The error answers every operation of a kind can give, whatever its
/// handler does, added to each such operation that does not already say
/// more: the extractors' and the router's answers (`extract.rs`, `error.rs`),
/// written once here rather than on forty handlers.
///
/// - a bearer token required: 401 (none, malformed, expired or invalid);
/// - path or query parameters: 400 (one that cannot be read) and, with path
///   parameters, 404 (no such route, or nothing of the caller's there);
/// - a JSON body: 400 (not JSON), 413 (over `max_body_bytes`), 415 (not
///   declared as JSON) and 422 (not the documented object).
struct CommonErrors;

impl CommonErrors {
    fn add(operation: &mut utoipa::openapi::path::Operation) {
        use utoipa::openapi::path::ParameterIn;
        let bearer = operation.security.iter().flatten().any(|requirement| {
            serde_json::to_value(requirement)
                .ok()
                .and_then(|value| value.as_object().map(|o| o.contains_key("bearer")))
                .unwrap_or(false)
        });
        let parameters = operation.parameters.as_deref().unwrap_or_default();
        let in_path = parameters
            .iter()
            .any(|p| matches!(p.parameter_in, ParameterIn::Path));
        let json_body = operation
            .request_body
            .as_ref()
            .is_some_and(|body| body.content.contains_key("application/json"));
        let mut answers = Vec::new();
        if bearer {
            answers.push((
                "401",
                "Not signed in: no access token, or one that is malformed, expired or not valid",
            ));
        }
        if !parameters.is_empty() || json_body {
            answers.push(("400", "Malformed: a path or query parameter that cannot be read, or a body that is not JSON"));
        }
        let in_query = parameters
            .iter()
            .any(|p| matches!(p.parameter_in, ParameterIn::Query));
        if in_query {
            answers.push(("422", "A query parameter breaks its rule"));
        }
        if in_path {
            answers.push((
                "404",
                "No such route, or nothing of the caller's at this path",
            ));
        }
        if json_body {
            answers.push((
                "413",
                "The body is larger than the server accepts (`max_body_bytes`)",
            ));
            answers.push((
                "415",
                "The body is not declared as JSON (`Content-Type: application/json`)",
            ));
            answers.push((
                "422",
                "The body is not the documented JSON object, or a field breaks its rule",
            ));
        }
        for (status, description) in answers {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| error_response(description));
        }
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                Self::add(operation);
            }
        }
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
    // After the merge: the modifiers in `#[openapi]` run before any route is in.
    CommonErrors.modify(&mut doc);
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
