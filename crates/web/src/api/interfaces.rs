//! More of the data interfaces: lookup by key, custom SQL views, each interface's own
//! OpenAPI description, and the evidence export for inspectors.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tongshu_exchange::Consumer;

use super::exchange::{Incoming, call};
use super::{ApiQuery, bad_param};
use crate::AppState;
use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::ApiJson;

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
            let pairs: Vec<(String, String)> =
                form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()).into_owned().collect();
            let [(item, value)] = &pairs[..] else {
                return Err(bad_param("query", "give exactly one item=value to look up"));
            };
            let access = st.exchange.access(&consumer, &table).await?;
            let query = tongshu_lake::RowQuery {
                table: table.clone(),
                equals: vec![(item.clone(), vec![value.clone()])],
                limit: LOOKUP_LIMIT,
                ..Default::default()
            };
            let page = st.exchange.query(&access, query.clone()).await?;
            super::rows::render_page(&table, &access.entry.body.name, &page, &query, "json")
        },
    )
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
    caller: Caller,
    headers: HeaderMap,
    method: Method,
    uri: Uri,
    Path(name): Path<String>,
    q: Result<ApiQuery<ViewQuery>, ApiError>,
) -> Response {
    let (st, view) = (state.clone(), name.clone());
    call(&state, &caller, Incoming { headers, method, uri }, &format!("view:{name}"), b"", move |consumer| async move {
        let limit = q?.0.limit.unwrap_or(100);
        if !(1..=super::rows::MAX_LIMIT).contains(&limit) {
            return Err(bad_param("limit", format!("must be 1 to {}", super::rows::MAX_LIMIT)));
        }
        let batches = st.exchange.call_view(&consumer, &view, limit).await?;
        let rows = super::rows::json_rows(&batches)?;
        let n = rows.as_array().map_or(0, Vec::len);
        let text = json!({ "interface": view, "rows": rows }).to_string();
        let len = text.len();
        Ok(((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], text).into_response(), n, len))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewView {
    /// The interface's name (lower-case letters, digits and `_`).
    name: String,
    /// The catalog entry whose data it serves.
    entry_id: i64,
    /// One SELECT over library tables.
    sql: String,
    #[serde(default)]
    description: String,
}

#[utoipa::path(post, path = "/api/v1/exchange/views", tag = "exchange", request_body = NewView,
    responses((status = 201, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Defines a custom interface (administrators).
pub async fn define_view(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(v): ApiJson<NewView>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let view = state.exchange.define_view(caller.required()?, &v.name, v.entry_id, &v.sql, &v.description).await?;
    Ok((StatusCode::CREATED, Json(json!(view))))
}

#[utoipa::path(get, path = "/api/v1/exchange/views", tag = "exchange", responses((status = 200, body = Object)))]
/// The custom interfaces.
pub async fn views(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "views": state.exchange.views().await? })))
}

#[utoipa::path(get, path = "/api/v1/exchange/tables/{name}/openapi.json", tag = "exchange",
    params(("name" = String, Path, description = "the library table")),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// The OpenAPI description of one table's interface as the caller's grant shapes it.
pub async fn interface_openapi(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let who = caller.required()?;
    let consumer = Consumer { org_id: who.org_id, app_id: None, user_id: Some(who.user_id) };
    let access = state.exchange.access(&consumer, &name).await?;
    Ok(Json(interface_doc(&name, &access, false)))
}

/// An OpenAPI 3 document for the rows, lookup and verify calls of one table, or for the
/// rows of a custom interface (`view`).
pub fn interface_doc(name: &str, access: &tongshu_exchange::Access, view: bool) -> Value {
    let props: serde_json::Map<String, Value> = access
        .items
        .iter()
        .map(|i| {
            let mask = access.masks.of(i).to_string();
            (i.clone(), json!({"type": "string", "description": format!("mask: {mask}")}))
        })
        .collect();
    let filters: Vec<Value> = access
        .items
        .iter()
        .map(|i| json!({"name": i, "in": "query", "required": false, "schema": {"type": "string"},
            "description": "equals; also __in, __ne, __gt, __gte, __lt, __lte, __contains, __isnull"}))
        .chain(
            [("select", "columns, comma-separated"), ("limit", "1 to 10000"), ("cursor", "next_cursor of the previous page"), ("format", "json or csv")]
                .map(|(n, d)| json!({"name": n, "in": "query", "required": false, "schema": {"type": "string"}, "description": d})),
        )
        .collect();
    let security = json!([{"signature": []}, {"bearer": []}]);
    let row_list = json!({"type": "object", "properties": {"rows": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}}}});
    let paths = if view {
        json!({format!("/api/v1/exchange/views/{name}/rows"): {"get": {"summary": "Rows of the view in the grant's scope",
            "parameters": [{"name": "limit", "in": "query", "required": false, "schema": {"type": "integer"}, "description": "1 to 10000"}],
            "responses": {"200": {"description": "rows", "content": {"application/json": {"schema": row_list}}}}}}})
    } else {
        json!({
            format!("/api/v1/exchange/tables/{name}/rows"): {"get": {"summary": "Rows in the grant's scope", "parameters": filters,
                "responses": {"200": {"description": "a page", "content": {"application/json": {"schema": {"type": "object",
                    "properties": {"rows": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}}, "next_cursor": {"type": "string"}}}}}}}}},
            format!("/api/v1/exchange/tables/{name}/lookup"): {"get": {"summary": "Records by one key item (at most 10)",
                "responses": {"200": {"description": "matching records"}}}},
            format!("/api/v1/exchange/tables/{name}/verify"): {"post": {"summary": "Match or no match for item values",
                "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"values": {"type": "object"}}}}}},
                "responses": {"200": {"description": "{\"match\": true|false}"}}}}
        })
    };
    json!({
        "openapi": "3.0.3",
        "info": {"title": format!("{}（{name}）", access.entry.body.name), "version": "1",
            "description": format!("Provided by {}. Calls are signed with HMAC-SM3 (X-Tongshu-App, X-Tongshu-Timestamp, X-Tongshu-Nonce, X-Tongshu-Signature over METHOD\\nPATH\\nQUERY\\nSM3(body)\\nTIMESTAMP\\nNONCE) or carry a department user's bearer token.", access.entry.org_name)},
        "components": {
            "schemas": {"Row": {"type": "object", "properties": props}},
            "securitySchemes": {
                "signature": {"type": "apiKey", "in": "header", "name": "X-Tongshu-Signature"},
                "bearer": {"type": "http", "scheme": "bearer"}
            }
        },
        "security": security,
        "paths": paths
    })
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/exchange/evidence/export", tag = "exchange",
    params(("format" = Option<String>, Query, description = "ndjson (default) or csv")),
    responses((status = 200, description = "every record with its hashes"), (status = 403, body = ErrorBody)))]
/// The whole evidence log with its hash chain, for inspectors (auditors, administrators).
pub async fn export_evidence(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    if !caller.required()?.sees_all_of_the_exchange() {
        return Err(ApiError::new(ErrorCode::Forbidden, "the evidence export is for auditors"));
    }
    let csv = match q.format.as_deref() {
        None | Some("ndjson") => false,
        Some("csv") => true,
        Some(other) => return Err(bad_param("format", format!("{other:?}: use ndjson or csv"))),
    };
    let mut out: Vec<u8> = Vec::new();
    let mut w = csv::Writer::from_writer(&mut out);
    if csv {
        out_header(&mut w)?;
    }
    let mut ndjson = String::new();
    let mut after = 0;
    loop {
        let page = state.store.evidence_page(after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            if csv {
                let f = &r.fields;
                let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
                w.write_record([
                    r.seq.to_string(),
                    f.at.clone(),
                    f.kind.clone(),
                    opt(f.org_id),
                    opt(f.app_id),
                    opt(f.user_id),
                    f.subject.clone(),
                    f.request_hash.clone(),
                    f.rows_out.to_string(),
                    f.bytes_out.to_string(),
                    f.status.to_string(),
                    f.duration_ms.to_string(),
                    f.detail.clone(),
                    r.prev_hash.clone(),
                    r.hash.clone(),
                ])
                .map_err(ApiError::internal)?;
            } else {
                ndjson.push_str(&serde_json::to_string(r).map_err(ApiError::internal)?);
                ndjson.push('\n');
            }
        }
    }
    drop(w);
    let (ctype, body, ext) = if csv {
        ("text/csv; charset=utf-8", out, "csv")
    } else {
        ("application/x-ndjson", ndjson.into_bytes(), "ndjson")
    };
    let disposition = format!("attachment; filename=\"evidence.{ext}\"");
    Ok(([(header::CONTENT_TYPE, ctype.to_owned()), (header::CONTENT_DISPOSITION, disposition)], body).into_response())
}

fn out_header(w: &mut csv::Writer<&mut Vec<u8>>) -> Result<(), ApiError> {
    w.write_record([
        "seq",
        "at",
        "kind",
        "org_id",
        "app_id",
        "user_id",
        "subject",
        "request_hash",
        "rows_out",
        "bytes_out",
        "status",
        "duration_ms",
        "detail",
        "prev_hash",
        "hash",
    ])
    .map_err(ApiError::internal)
}
