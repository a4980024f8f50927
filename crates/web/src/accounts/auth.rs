//! Signing in and out, the caller's own account, and API tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tongshu_core::policy::{Principal, Role};

use crate::AppState;
use crate::http::caller::{Caller, Via, session_cookie};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;
use crate::http::extract::parse_id;
use crate::http::extract::{ClientIp, bad_param};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    pub username: String,
    pub password: String,
}

/// The signed-in account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub org_id: i64,
}

impl From<&Principal> for Me {
    fn from(p: &Principal) -> Self {
        Me {
            id: p.user_id,
            username: p.username.clone(),
            display_name: p.display_name.clone(),
            role: p.role,
            org_id: p.org_id,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignInResponse {
    pub user: Me,
    /// Send this in the `X-CSRF-Token` header with every write made with the session cookie.
    pub csrf_token: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// The app's (or script's) name.
    #[serde(default)]
    pub name: String,
    /// What the app does (developer centre).
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
    pub description: Option<String>,
    /// The key's own limit on the public data APIs; absent: the platform's keyed rate.
    pub rate_per_minute: Option<i64>,
}

impl From<tongshu_accounts::TokenInfo> for TokenView {
    fn from(t: tongshu_accounts::TokenInfo) -> Self {
        let f = |d: time::OffsetDateTime| d.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        TokenView {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_at: f(t.created_at),
            last_used_at: t.last_used_at.map(f),
            revoked: t.revoked_at.is_some(),
            description: t.description,
            rate_per_minute: t.rate_per_minute,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    /// The token. It is shown only this once; store it safely.
    pub token: String,
    pub info: TokenView,
}

/// Sign in with username and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "accounts", request_body = SignInRequest,
    responses((status = 200, body = SignInResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<SignInRequest>,
) -> Result<Response, ApiError> {
    let s = state.accounts.sign_in(&req.username, &req.password, ip).await?;
    let body = SignInResponse { user: Me::from(&s.info.principal), csrf_token: s.info.csrf_token };
    let cookie = session_cookie(Some(&s.token), state.settings.secure_cookies);
    Ok(([(SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Sign out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "accounts", responses((status = 204)))]
pub async fn sign_out(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    if let Via::Session(token) = &caller.via {
        state.accounts.sign_out(token).await?;
    }
    let cookie = session_cookie(None, state.settings.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, cookie)]).into_response())
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(caller: Caller) -> Result<Json<Me>, ApiError> {
    Ok(Json(Me::from(caller.required()?)))
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts", responses((status = 200, body = [TokenView])))]
pub async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = state.accounts.list_tokens(caller.required()?).await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

/// Creates an API token (an app's key) for programs. The token is in the answer once and
/// never again.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = CreateTokenRequest,
    responses((status = 201, body = TokenCreated)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    let (token, info) = state.accounts.create_app(caller.required()?, &req.name, req.description.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(TokenCreated { token, info: info.into() })))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.accounts.revoke_token(caller.required()?, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Daily downloads and calls made with one of the caller's API keys, last 30 days.
#[utoipa::path(get, path = "/api/v1/tokens/{id}/usage", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 200, body = [Object]), (status = 404, body = ErrorBody)))]
pub async fn token_usage(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<tongshu_accounts::UsageDay>>, ApiError> {
    let id = parse_id(&id)?;
    let tokens = state.accounts.list_tokens(caller.required()?).await?;
    if !tokens.iter().any(|t| t.id == id) {
        return Err(ApiError::new(crate::http::error::ErrorCode::NotFound, format!("api token {id} not found")));
    }
    Ok(Json(state.portal.usage_by_day(Some(id)).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRateRequest {
    /// Requests a minute for this key on the public data APIs; null: the platform's keyed
    /// rate; 0: unlimited.
    pub rate_per_minute: Option<i64>,
}

/// Gives an API key its own rate limit (administrators).
#[utoipa::path(put, path = "/api/v1/tokens/{id}/rate", tag = "accounts", params(("id" = i64, Path)),
    request_body = TokenRateRequest,
    responses((status = 200, body = TokenView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_token_rate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TokenRateRequest>,
) -> Result<Json<TokenView>, ApiError> {
    if let Some(r) = req.rate_per_minute
        && !(0..=1_000_000).contains(&r)
    {
        return Err(bad_param("rate_per_minute", "must be 0 (unlimited) to 1000000, or null"));
    }
    let info = state.accounts.set_token_rate(parse_id(&id)?, req.rate_per_minute).await?;
    Ok(Json(info.into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: String,
}

/// Registers a member of the public (then sign in with `POST /api/v1/session`).
#[utoipa::path(post, path = "/api/v1/register", tag = "accounts", request_body = RegisterRequest,
    responses((status = 201, body = Me), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<Me>), ApiError> {
    let user = state.accounts.register(&req.username, &req.display_name, &req.password).await?;
    Ok((StatusCode::CREATED, Json(Me::from(&user.principal()))))
}
