//! The data interfaces every shared table and custom view becomes, as HTTP: each handler
//! extracts its parameters and hands one closure to the exchange's call pipeline
//! ([`tongshu_exchange::Exchange::call`]), which authenticates the caller (signed app or
//! bearer token), takes the quota, runs the closure with the consumer, and writes the
//! evidence record before the answer is released.
//!
//! - `GET  /api/v1/exchange/tables/{name}/rows`: the native row API's parameters, shaped by
//!   the caller's grant (granted items only, its row scope always applied, masked items);
//! - `POST /api/v1/exchange/tables/{name}/verify` with `{"values": {item: value}}`: match or
//!   no match, no data;
//! - `GET  /api/v1/exchange/tables/{name}/lookup?item=value`: at most 10 records by key;
//! - `GET  /api/v1/exchange/views/{name}/rows`: rows of a custom interface.
//!
//! Apps sign each call (headers `X-Tongshu-App`, `-Timestamp`, `-Nonce`, `-Signature`:
//! HMAC-SM3, see `tongshu_exchange::signing`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tongshu_exchange::Consumer;
use tongshu_exchange::signing::{self, Signed};

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ErrorBody, ErrorCode};
use crate::http::extract::{ApiQuery, bad_param};
use crate::http::rows::{MAX_LIMIT, Params, json_rows, parse, pin_first_page, render_page};

/// What an interface call brings besides its parameters: who is signed in (bearer token),
/// and the method, path, query and headers the signature covers.
pub(crate) struct InterfaceCall {
    caller: Caller,
    headers: HeaderMap,
    method: String,
    path: String,
    query: String,
}

impl<S: Send + Sync> FromRequestParts<S> for InterfaceCall {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(caller) = Caller::from_request_parts(parts, state).await;
        Ok(InterfaceCall {
            caller,
            headers: parts.headers.clone(),
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or("").to_owned(),
        })
    }
}

impl tongshu_exchange::CallFailure for ApiError {
    fn status(&self) -> u16 {
        self.code.status().as_u16()
    }

    fn message(&self) -> String {
        self.message.clone()
    }
}

/// What an interface's work returns: the answer, and the rows and bytes it carries.
type Answer = Result<(Response, usize, usize), ApiError>;

/// A JSON answer of `rows` rows.
fn json_answer(value: &Value, rows: usize) -> Answer {
    let text = value.to_string();
    let len = text.len();
    Ok(((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], text).into_response(), rows, len))
}

impl InterfaceCall {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// Runs `work` through the exchange's pipeline for `subject` and answers.
    /// `repeatable`: the work only reads, and may be computed again (see
    /// `tongshu_exchange::Exchange::call`).
    async fn run<F, Fut>(self, state: &AppState, subject: &str, body: &[u8], repeatable: bool, work: F) -> Response
    where
        F: Fn(Consumer) -> Fut,
        Fut: std::future::Future<Output = Answer>,
    {
        let signed = self.header(signing::APP_HEADER).map(|app_key| {
            let get = |h: &str| self.header(h).ok_or_else(|| format!("a signed call needs the {h} header"));
            Ok(Signed {
                app_key,
                timestamp: get(signing::TIMESTAMP_HEADER)?,
                nonce: get(signing::NONCE_HEADER)?,
                signature: get(signing::SIGNATURE_HEADER)?,
            })
        });
        let req = tongshu_exchange::CallRequest {
            subject,
            method: &self.method,
            path: &self.path,
            query: &self.query,
            body,
            signed,
            user: self.caller.principal.as_ref(),
            repeatable,
        };
        let work = &work;
        let answer = state
            .exchange
            .call(req, move |consumer| async move {
                let (resp, rows, bytes) = work(consumer).await?;
                let status = resp.status().as_u16();
                Ok::<_, ApiError>(tongshu_exchange::Delivered { answer: resp, status, rows, bytes })
            })
            .await;
        answer.unwrap_or_else(IntoResponse::into_response)
    }
}

#[utoipa::path(get, path = "/api/v1/exchange/tables/{name}/rows", tag = "exchange", params(("name" = String, Path, description = "the library table")),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// `GET /api/v1/exchange/tables/{name}/rows`.
pub async fn interface_rows(
    State(state): State<AppState>,
    call: InterfaceCall,
    Path(table): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (st, table, raw) = (&state, &table, &raw);
    call.run(st, &format!("table:{table}"), b"", true, |consumer| async move {
        let access = st.exchange.access(&consumer, table).await?;
        let Params { mut query, format } = parse(table, raw.as_deref())?;
        pin_first_page(st, &mut query).await?;
        let page = st.exchange.query(&access, query.clone()).await?;
        render_page(table, &access.entry.body.name, &page, &query, &format)
    })
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
    call: InterfaceCall,
    Path(table): Path<String>,
    body: Bytes,
) -> Response {
    let st = &state;
    let (sent, table) = (&body, &table);
    call.run(st, &format!("table:{table}"), &body, false, |consumer| async move {
        let input: VerifyBody = serde_json::from_slice(sent).map_err(|e| {
            ApiError::new(ErrorCode::BadRequest, format!("body: {e}; send {{\"values\": {{item: value}}}}"))
        })?;
        let access = st.exchange.access(&consumer, table).await?;
        let matched = st.exchange.verify(&access, &consumer.key(), &input.values).await?;
        json_answer(&json!({ "match": matched }), 0)
    })
    .await
}

/// Most rows a lookup returns.
const LOOKUP_LIMIT: usize = 10;

#[utoipa::path(get, path = "/api/v1/exchange/tables/{name}/lookup", tag = "exchange",
    params(("name" = String, Path, description = "the library table"),
        ("{item}" = String, Query, description = "exactly one granted item and the key value, e.g. 公民身份号码=…")),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// The records (at most 10) whose item equals a key value, as the grant allows.
pub async fn lookup(
    State(state): State<AppState>,
    call: InterfaceCall,
    Path(table): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (st, table, raw) = (&state, &table, &raw);
    call.run(st, &format!("table:{table}"), b"", true, |consumer| async move {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()).into_owned().collect();
        let [(item, value)] = &pairs[..] else {
            return Err(bad_param("query", "give exactly one item=value to look up"));
        };
        let access = st.exchange.access(&consumer, table).await?;
        let query = tongshu_lake::RowQuery {
            table: table.clone(),
            equals: vec![(item.clone(), vec![value.clone()])],
            limit: LOOKUP_LIMIT,
            ..Default::default()
        };
        let page = st.exchange.query(&access, query.clone()).await?;
        render_page(table, &access.entry.body.name, &page, &query, "json")
    })
    .await
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ViewQuery {
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/exchange/views/{name}/rows", tag = "exchange",
    params(("name" = String, Path, description = "the custom interface"), ("limit" = Option<usize>, Query, description = "1 to 10000, default 100")),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Rows of a custom interface (a read-only SQL view), as the grant on its entry allows.
pub async fn view_rows(
    State(state): State<AppState>,
    call: InterfaceCall,
    Path(view): Path<String>,
    q: Result<ApiQuery<ViewQuery>, ApiError>,
) -> Response {
    let (st, view, q) = (&state, &view, &q);
    call.run(st, &format!("view:{view}"), b"", false, |consumer| async move {
        let limit = q.as_ref().map_err(Clone::clone)?.0.limit.unwrap_or(100);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(bad_param("limit", format!("must be 1 to {MAX_LIMIT}")));
        }
        let batches = st.exchange.call_view(&consumer, view, limit).await?;
        let rows = json_rows(&batches)?;
        let n = rows.as_array().map_or(0, Vec::len);
        json_answer(&json!({ "interface": view, "rows": rows }), n)
    })
    .await
}
