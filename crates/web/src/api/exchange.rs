//! The exchange API: share requests and decisions, grants, apps, the calendar, supervision,
//! evidence search, and the data interfaces every shared table becomes:
//!
//! - `GET  /api/v1/exchange/tables/{name}/rows`: the native row API's parameters, shaped by
//!   the caller's grant (granted items only, its row scope always applied, masked items);
//! - `POST /api/v1/exchange/tables/{name}/verify` with `{"values": {item: value}}`: match or
//!   no match, no data.
//!
//! Interface callers are apps signing each call (headers `X-Tongshu-App`, `-Timestamp`,
//! `-Nonce`, `-Signature`: HMAC-SM3, see `tongshu_exchange::signing`) or signed-in users of
//! a department (bearer token). Every call, answered or refused, is one evidence record.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tongshu_exchange::signing::{self, Signed};
use tongshu_exchange::{Consumer, DecisionInput, ExchangeError, RequestInput};
use tongshu_store::EvidenceFilter;

use super::{ApiQuery, parse_id};
use crate::AppState;
use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody, ErrorCode, field_error};
use crate::extract::ApiJson;

impl From<ExchangeError> for ApiError {
    fn from(e: ExchangeError) -> Self {
        use ExchangeError as E;
        match e {
            E::NotFound(m) => ApiError::new(ErrorCode::NotFound, format!("{m} not found")),
            E::Forbidden(m) => ApiError::new(ErrorCode::Forbidden, m),
            E::Unauthorized(m) => ApiError::new(ErrorCode::Unauthorized, m),
            E::Invalid { field, message } => field_error(&field, message),
            E::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            E::TooManyRequests(m, wait) => {
                let mut e = ApiError::new(ErrorCode::TooManyRequests, format!("quota exceeded: {m}"));
                e.retry_after = Some(wait.max(1));
                e
            }
            E::Store(e) => e.into(),
            E::Library(e) => e.into(),
            E::Lake(e) => tongshu_library::LibraryError::Lake(e).into(),
        }
    }
}

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
        Some(other) => Err(super::bad_param("role", format!("{other:?}: use consumer or provider"))),
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
        Some(s) => Some(
            tongshu_core::sharing::RequestStatus::parse(s)
                .ok_or_else(|| super::bad_param("status", format!("{s:?}: use pending, granted or refused")))?,
        ),
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
    let days = state.store.calendar_days().await?;
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
        return Err(super::bad_param("limit", "must be 1 to 1000; page on with before="));
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

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// What identifies an interface call: its headers, method and URI.
pub(crate) struct Incoming {
    pub headers: HeaderMap,
    pub method: Method,
    pub uri: Uri,
}

impl tongshu_exchange::CallFailure for ApiError {
    fn status(&self) -> u16 {
        self.code.status().as_u16()
    }

    fn message(&self) -> String {
        self.message.clone()
    }
}

/// Hands one interface call to the exchange's pipeline (caller, quota, `work`, evidence
/// written before the answer is released) and answers.
pub(crate) async fn call<F, Fut>(
    state: &AppState,
    caller: &Caller,
    incoming: Incoming,
    subject: &str,
    body: &[u8],
    work: F,
) -> Response
where
    F: FnOnce(Consumer) -> Fut,
    Fut: std::future::Future<Output = Result<(Response, usize, usize), ApiError>>,
{
    let Incoming { headers, method, uri } = incoming;
    let signed = header(&headers, signing::APP_HEADER).map(|app_key| {
        let get = |h: &str| header(&headers, h).ok_or_else(|| format!("a signed call needs the {h} header"));
        Ok(Signed {
            app_key,
            timestamp: get(signing::TIMESTAMP_HEADER)?,
            nonce: get(signing::NONCE_HEADER)?,
            signature: get(signing::SIGNATURE_HEADER)?,
        })
    });
    let req = tongshu_exchange::CallRequest {
        subject,
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        body,
        signed,
        user: caller.principal.as_ref(),
    };
    let answer = state
        .exchange
        .call(req, |consumer| async move {
            let (resp, rows, bytes) = work(consumer).await?;
            let status = resp.status().as_u16();
            Ok::<_, ApiError>(tongshu_exchange::Delivered { answer: resp, status, rows, bytes })
        })
        .await;
    answer.unwrap_or_else(IntoResponse::into_response)
}

#[utoipa::path(get, path = "/api/v1/exchange/tables/{name}/rows", tag = "exchange", params(("name" = String, Path, description = "the library table")),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// `GET /api/v1/exchange/tables/{name}/rows`.
pub async fn interface_rows(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    method: Method,
    uri: Uri,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (st, table) = (state.clone(), name.clone());
    call(
        &state,
        &caller,
        Incoming { headers, method, uri },
        &format!("table:{name}"),
        b"",
        move |consumer| async move {
            let access = st.exchange.access(&consumer, &table).await?;
            let super::rows::Params { mut query, format } = super::rows::parse(&table, raw.as_deref())?;
            super::rows::pin_first_page(&st, &mut query).await?;
            let page = st.exchange.query(&access, query.clone()).await?;
            super::rows::render_page(&table, &access.entry.body.name, &page, &query, &format)
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    /// Item name → the value to check (the items the grant names, all of them).
    values: BTreeMap<String, String>,
}

#[utoipa::path(post, path = "/api/v1/exchange/tables/{name}/verify", tag = "exchange", params(("name" = String, Path, description = "the library table")),
    request_body = VerifyBody,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// `POST /api/v1/exchange/tables/{name}/verify`: `{"match": true|false}`.
pub async fn interface_verify(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    method: Method,
    uri: Uri,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let (st, table, sent) = (state.clone(), name.clone(), body.clone());
    call(
        &state,
        &caller,
        Incoming { headers, method, uri },
        &format!("table:{name}"),
        &body,
        move |consumer| async move {
            let input: VerifyBody = serde_json::from_slice(&sent).map_err(|e| {
                ApiError::new(ErrorCode::BadRequest, format!("body: {e}; send {{\"values\": {{item: value}}}}"))
            })?;
            let access = st.exchange.access(&consumer, &table).await?;
            let matched = st.exchange.verify(&access, &consumer.key(), &input.values).await?;
            let text = json!({ "match": matched }).to_string();
            let len = text.len();
            Ok((
                (StatusCode::OK, [(axum::http::header::CONTENT_TYPE, "application/json")], text).into_response(),
                0,
                len,
            ))
        },
    )
    .await
}
