//! `GET /connector.zip`: the connector plugin this control plane speaks to,
//! for Plugins > Add New > Upload Plugin on a site without shell access.

use std::sync::LazyLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, AppError};
use crate::state::AppState;

/// The zip, written once: the same build always serves the same bytes.
static CONNECTOR_ZIP: LazyLock<Result<Vec<u8>, String>> =
    LazyLock::new(|| gsw_connector::zip().map_err(|e| e.to_string()));

/// Connector routes, mounted under `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(connector_zip))
}

/// The gsw-connector WordPress plugin as an installable zip. Needs no
/// sign-in: it is the same for everyone and holds no secret.
#[utoipa::path(get, path = "/connector.zip", tag = "fleet",
    responses(
        (status = 200, description = "The plugin zip (gsw-connector/…)", content_type = "application/zip", body = Vec<u8>),
    ))]
async fn connector_zip() -> ApiResult<Response> {
    let bytes = CONNECTOR_ZIP
        .as_ref()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing the connector zip: {e}")))?;
    let mut response = (StatusCode::OK, bytes.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!(
            "attachment; filename=\"gsw-connector-{}.zip\"",
            gsw_connector::version()
        ))
        .map_err(anyhow::Error::from)?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
