//! Organizations and user accounts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tongshu_core::org::Organization;
use tongshu_core::policy::Role;

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;

/// All organizations: the city, districts, departments, enterprises and other bodies.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "organizations", responses((status = 200, body = [Organization])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Organization>>, ApiError> {
    Ok(Json(state.accounts.organizations().await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub org_id: i64,
    pub org_name: String,
    pub disabled: bool,
}

impl From<tongshu_accounts::UserRecord> for UserView {
    fn from(u: tongshu_accounts::UserRecord) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            org_id: u.org_id,
            org_name: u.org_name,
            disabled: u.disabled,
        }
    }
}

/// All user accounts (administrators and auditors).
#[utoipa::path(get, path = "/api/v1/users", tag = "organizations", responses((status = 200, body = [UserView]), (status = 403, body = ErrorBody)))]
pub async fn list_users(State(state): State<AppState>) -> Result<Json<Vec<UserView>>, ApiError> {
    let users = state.accounts.users().await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub org_id: i64,
}

/// Creates a user account (platform administrators).
#[utoipa::path(post, path = "/api/v1/users", tag = "organizations", request_body = NewUserRequest,
    responses((status = 201, body = UserView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    caller.required()?;
    let u = state.accounts.add_user(&req.username, &req.display_name, &req.password, req.role, req.org_id).await?;
    Ok((StatusCode::CREATED, Json(u.into())))
}
