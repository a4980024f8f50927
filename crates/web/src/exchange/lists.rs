//! The sharing catalog, the three lists, objections and metering (`/api/v1/exchange/...`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tongshu_exchange::{ObjectionInput, RequestInput};

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;
use crate::http::extract::{ApiQuery, parse_id};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CatalogQuery {
    q: Option<String>,
    org: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/exchange/catalog", tag = "exchange",
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// The sharing catalog: listed entries, their sharing type, interfaces and my status.
pub async fn catalog(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CatalogQuery>,
) -> Result<Json<Value>, ApiError> {
    let list = state.exchange.sharing_catalog(caller.required()?, q.q, q.org).await?;
    Ok(Json(json!({ "entries": list })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDemand {
    title: String,
    description: String,
}

#[utoipa::path(post, path = "/api/v1/exchange/demands", tag = "exchange",
    request_body = NewDemand,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn post_demand(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(d): ApiJson<NewDemand>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(json!(state.exchange.post_demand(caller.required()?, &d.title, &d.description).await?)),
    ))
}

#[utoipa::path(get, path = "/api/v1/exchange/demands", tag = "exchange",
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn demands(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "demands": state.exchange.demands(caller.required()?).await? })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    org_id: i64,
}

#[utoipa::path(post, path = "/api/v1/exchange/demands/{id}/assign", tag = "exchange", params(("id" = i64, Path, description = "the record's id")),
    request_body = Assign,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn assign_demand(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(a): ApiJson<Assign>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.exchange.assign_demand(caller.required()?, parse_id(&id)?, a.org_id).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandAnswer {
    entry_id: Option<i64>,
    answer: String,
}

#[utoipa::path(post, path = "/api/v1/exchange/demands/{id}/answer", tag = "exchange", params(("id" = i64, Path, description = "the record's id")),
    request_body = DemandAnswer,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn answer_demand(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(a): ApiJson<DemandAnswer>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.exchange.answer_demand(caller.required()?, parse_id(&id)?, a.entry_id, &a.answer).await?)))
}

#[utoipa::path(post, path = "/api/v1/exchange/demands/{id}/request", tag = "exchange", params(("id" = i64, Path, description = "the record's id")),
    request_body = DemandRequest,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Files the share request of a matched demand (the body as for a request, without `entry_id`:
/// the demand's matched entry).
pub async fn request_from_demand(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(d): ApiJson<DemandRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input = RequestInput {
        entry_id: 0,
        purpose: d.purpose,
        legal_basis: d.legal_basis,
        items: d.items,
        row_filter: d.row_filter,
        valid_from: d.valid_from,
        valid_to: d.valid_to,
        consuming_system: d.consuming_system,
        app_id: d.app_id,
    };
    let r = state.exchange.request_from_demand(caller.required()?, parse_id(&id)?, input).await?;
    Ok((StatusCode::CREATED, Json(json!(r))))
}

/// A share request for a matched demand: [`RequestInput`] without the entry.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandRequest {
    /// What the data is for (required).
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    legal_basis: Option<String>,
    /// Items wanted (empty: all).
    #[serde(default)]
    items: Vec<String>,
    /// Rows wanted (empty: all).
    #[serde(default)]
    row_filter: Vec<tongshu_exchange::ScopeCondition>,
    /// `YYYY-MM-DD`; default today.
    #[serde(default)]
    valid_from: Option<String>,
    /// `YYYY-MM-DD` (last day of use); default a year on.
    #[serde(default)]
    valid_to: Option<String>,
    #[serde(default)]
    consuming_system: Option<String>,
    #[serde(default)]
    app_id: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDuty {
    org_id: i64,
    title: String,
    description: String,
    due_on: String,
}

#[utoipa::path(post, path = "/api/v1/exchange/responsibilities", tag = "exchange",
    request_body = NewDuty,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_duty(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(d): ApiJson<NewDuty>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let duty = state.exchange.add_duty(caller.required()?, d.org_id, &d.title, &d.description, &d.due_on).await?;
    Ok((StatusCode::CREATED, Json(json!(duty))))
}

#[utoipa::path(get, path = "/api/v1/exchange/responsibilities", tag = "exchange",
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn duties(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.required()?;
    Ok(Json(json!({ "responsibilities": state.exchange.duties().await? })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fulfil {
    entry_id: i64,
}

#[utoipa::path(post, path = "/api/v1/exchange/responsibilities/{id}/fulfil", tag = "exchange", params(("id" = i64, Path, description = "the record's id")),
    request_body = Fulfil,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn fulfil_duty(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(f): ApiJson<Fulfil>,
) -> Result<StatusCode, ApiError> {
    state.exchange.fulfil_duty(caller.required()?, parse_id(&id)?, f.entry_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/exchange/negative", tag = "exchange",
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn negative_list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.required()?;
    Ok(Json(json!({ "entries": state.exchange.negative_list().await? })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Negative {
    entry_id: i64,
    legal_basis: String,
}

#[utoipa::path(post, path = "/api/v1/exchange/negative", tag = "exchange",
    request_body = Negative,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_negative(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(n): ApiJson<Negative>,
) -> Result<StatusCode, ApiError> {
    state.exchange.add_negative(caller.required()?, n.entry_id, &n.legal_basis).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(delete, path = "/api/v1/exchange/negative/{id}", tag = "exchange", params(("id" = i64, Path, description = "the record's id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_negative(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.exchange.remove_negative(caller.required()?, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/exchange/objections", tag = "exchange",
    request_body = ObjectionInput,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn object(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(o): ApiJson<ObjectionInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((StatusCode::CREATED, Json(json!(state.exchange.object(caller.required()?, &o).await?))))
}

#[utoipa::path(get, path = "/api/v1/exchange/objections", tag = "exchange",
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn objections(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "objections": state.exchange.objections(caller.required()?).await? })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionAnswer {
    fixed_version: Option<i64>,
    answer: String,
}

#[utoipa::path(post, path = "/api/v1/exchange/objections/{id}/answer", tag = "exchange", params(("id" = i64, Path, description = "the record's id")),
    request_body = ObjectionAnswer,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn answer_objection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(a): ApiJson<ObjectionAnswer>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        state.exchange.answer_objection(caller.required()?, parse_id(&id)?, a.fixed_version, &a.answer).await?
    )))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Days {
    days: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/exchange/metering", tag = "exchange",
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Usage per interface, consumer and day, and latency and errors per interface.
pub async fn metering(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<Days>,
) -> Result<Json<Value>, ApiError> {
    let who = caller.required()?;
    let days = q.days.unwrap_or(30);
    let usage = state.exchange.usage(who, days).await?;
    let operations = state.exchange.operations(who, days).await?;
    let flags = state.exchange.verify_flags(who).await?;
    Ok(Json(json!({ "days": days, "usage": usage, "operations": operations, "verify_flags": flags })))
}

#[utoipa::path(get, path = "/api/v1/exchange/mask-rules", tag = "exchange", responses((status = 200, body = Object)))]
/// The masking rules, in the order they are tried.
pub async fn mask_rules(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "rules": state.exchange.mask_rules().await? })))
}

#[utoipa::path(post, path = "/api/v1/exchange/mask-rules", tag = "exchange",
    request_body = tongshu_core::masking::MaskRule,
    responses((status = 201, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Adds a masking rule (administrators).
pub async fn add_mask_rule(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(rule): ApiJson<tongshu_core::masking::MaskRule>,
) -> Result<StatusCode, ApiError> {
    state.exchange.add_mask_rule(caller.required()?, &rule).await?;
    Ok(StatusCode::CREATED)
}
