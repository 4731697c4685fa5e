//! `/admin`: operating the control plane (role `admin`).

use axum::extract::State;
use axum::Json;
use gsw_storage::Page;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::views::UserView;
use crate::error::{ApiResult, AppError};
use crate::extract::{AdminUser, ApiQuery};
use crate::state::AppState;

/// Routes under `/admin`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users))
}

/// Paging through users.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListUsers {
    /// At most this many users (1–500, default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Users created after the user with this id.
    pub after: Option<Uuid>,
}

/// One page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserView>,
    pub next_after: Option<Uuid>,
}

/// Every account, oldest first.
#[utoipa::path(get, path = "/admin/users", tag = "admin", params(ListUsers), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of users", body = UserList),
        (status = 403, description = "The caller is not an admin", body = gsw_protocol::ErrorBody),
    ))]
async fn list_users(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(query): ApiQuery<ListUsers>,
) -> ApiResult<Json<UserList>> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 500"));
    }
    let users = state
        .store
        .list_users(Page {
            after: query.after,
            limit,
        })
        .await?;
    let next_after = (users.len() == limit as usize)
        .then(|| users.last().map(|u| u.id))
        .flatten();
    Ok(Json(UserList {
        users: users.into_iter().map(Into::into).collect(),
        next_after,
    }))
}
