//! The exchange API: share requests and decisions, grants, apps, the calendar, supervision
//! and evidence search (the data interfaces themselves are in [`super::calls`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tongshu_exchange::EvidenceFilter;
use tongshu_exchange::{DecisionInput, RequestInput};

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ErrorBody, field_error};
use crate::http::extract::ApiJson;
use crate::http::extract::{ApiQuery, parse_id};

#[utoipa::path(post, path = "/api/v1/exchange/requests", tag = "exchange",
    request_body = RequestInput,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// `POST /api/v1/exchange/requests`: files a share request (unconditional: granted at once).
pub async fn create_request(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<RequestInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let r = state.exchange.request(caller.required()?, &input).await?;
    Ok((StatusCode::CREATED, Json(json!(r))))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `provider`: requests to my organization; default: requests my organization filed.
    role: Option<String>,
    status: Option<String>,
}

fn provider_side(role: Option<&str>) -> Result<bool, ApiError> {
    match role {
        None | Some("consumer") => Ok(false),
        Some("provider") => Ok(true),
        Some(other) => Err(crate::http::extract::bad_param("role", format!("{other:?}: use consumer or provider"))),
    }
}

#[utoipa::path(get, path = "/api/v1/exchange/requests", tag = "exchange",
    params(("role" = Option<String>, Query, description = "consumer (default): requests my organization filed; provider: requests to my organization"),
        ("status" = Option<String>, Query, description = "pending, granted or refused")),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_requests(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(tongshu_core::sharing::RequestStatus::parse(s).ok_or_else(|| {
            crate::http::extract::bad_param("status", format!("{s:?}: use pending, granted or refused"))
        })?),
    };
    let list = state.exchange.requests(caller.required()?, provider_side(q.role.as_deref())?, status).await?;
    Ok(Json(json!({ "requests": list })))
}

#[utoipa::path(get, path = "/api/v1/exchange/requests/{id}", tag = "exchange", params(("id" = i64, Path, description = "the record's id")),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.exchange.request_of(caller.required()?, parse_id(&id)?).await?)))
}

#[utoipa::path(post, path = "/api/v1/exchange/requests/{id}/decision", tag = "exchange", params(("id" = i64, Path, description = "the record's id")),
    request_body = DecisionInput,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn decide_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(d): ApiJson<DecisionInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.exchange.decide(caller.required()?, parse_id(&id)?, &d).await?)))
}

#[utoipa::path(get, path = "/api/v1/exchange/grants", tag = "exchange",
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_grants(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let list = state.exchange.grants(caller.required()?, provider_side(q.role.as_deref())?).await?;
    Ok(Json(json!({ "grants": list })))
}

#[utoipa::path(get, path = "/api/v1/exchange/grants/{id}", tag = "exchange", params(("id" = i64, Path, description = "the record's id")),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (g, history) = state.exchange.grant_of(caller.required()?, parse_id(&id)?).await?;
    Ok(Json(json!({ "grant": g, "history": history })))
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantChange {
    #[serde(default)]
    reason: String,
    /// For a renewal: the new last day, `YYYY-MM-DD`.
    valid_to: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/exchange/grants/{id}/revoke", tag = "exchange", params(("id" = i64, Path, description = "the record's id")),
    request_body(content = Option<GrantChange>, description = "optional: the reason"),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Option<ApiJson<GrantChange>>,
) -> Result<Json<Value>, ApiError> {
    let c = body.map(|b| b.0).unwrap_or_default();
    Ok(Json(json!(state.exchange.change_grant(caller.required()?, parse_id(&id)?, None, &c.reason).await?)))
}

#[utoipa::path(post, path = "/api/v1/exchange/grants/{id}/renew", tag = "exchange", params(("id" = i64, Path, description = "the record's id")),
    request_body = GrantChange,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn renew_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(c): ApiJson<GrantChange>,
) -> Result<Json<Value>, ApiError> {
    let to = c.valid_to.ok_or_else(|| field_error("valid_to", "is required"))?;
    Ok(Json(json!(state.exchange.change_grant(caller.required()?, parse_id(&id)?, Some(&to), &c.reason).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApp {
    name: String,
}

#[utoipa::path(post, path = "/api/v1/exchange/apps", tag = "exchange",
    request_body = NewApp,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Registers an app of the caller's department; its secret is in this answer only.
pub async fn create_app(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(a): ApiJson<NewApp>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (app, secret) = state.exchange.create_app(caller.required()?, &a.name).await?;
    Ok((StatusCode::CREATED, Json(json!({ "app": app, "secret": secret }))))
}

#[utoipa::path(get, path = "/api/v1/exchange/apps", tag = "exchange",
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_apps(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "apps": state.exchange.apps(caller.required()?).await? })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    per_minute: Option<i64>,
    per_day: Option<i64>,
}

#[utoipa::path(put, path = "/api/v1/exchange/apps/{id}/quota", tag = "exchange", params(("id" = i64, Path, description = "the record's id")),
    request_body = Quota,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_app_quota(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(q): ApiJson<Quota>,
) -> Result<StatusCode, ApiError> {
    state.exchange.set_app_quota(caller.required()?, parse_id(&id)?, q.per_minute, q.per_day).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/exchange/calendar", tag = "exchange",
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn calendar(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let days = state.exchange.calendar_days().await?;
    let days: Vec<Value> =
        days.into_iter().map(|(day, kind, name)| json!({"day": day, "kind": kind, "name": name})).collect();
    Ok(Json(json!({ "days": days, "deadline_days": state.exchange.settings().deadline_days })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarDay {
    day: String,
    /// `holiday`, `workday`, or null to remove the day's exception.
    kind: Option<String>,
    #[serde(default)]
    name: String,
}

#[utoipa::path(put, path = "/api/v1/exchange/calendar", tag = "exchange",
    request_body = CalendarDay,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_calendar_day(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(d): ApiJson<CalendarDay>,
) -> Result<StatusCode, ApiError> {
    state.exchange.set_calendar_day(caller.required()?, &d.day, d.kind.as_deref(), &d.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/exchange/supervision", tag = "exchange",
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Overdue requests and how timely answers were: everywhere for administrators and
/// auditors, else the caller's organization's (overdue: filed or to answer; timeliness: its
/// own answers).
pub async fn supervision(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let who = caller.required()?;
    let overdue = state.exchange.overdue(who).await?;
    let (on_time, late) = state.exchange.timeliness(who).await?;
    Ok(Json(json!({ "overdue": overdue, "answered_on_time": on_time, "answered_late": late })))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    subject: Option<String>,
    kind: Option<String>,
    org: Option<i64>,
    before: Option<i64>,
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/exchange/evidence", tag = "exchange",
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Evidence records: auditors and administrators search all; others see calls of their own
/// organization and calls on their organization's tables.
pub async fn evidence(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EvidenceQuery>,
) -> Result<Json<Value>, ApiError> {
    let who = caller.required()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(crate::http::extract::bad_param("limit", "must be 1 to 1000; page on with before="));
    }
    let f = EvidenceFilter {
        subject: q.subject,
        kind: q.kind,
        org_id: q.org,
        before_seq: q.before,
        limit,
        ..Default::default()
    };
    let (records, head) = state.exchange.evidence(who, f).await?;
    Ok(Json(json!({ "records": records, "head": {"seq": head.0, "hash": head.1} })))
}
