//! Around the data interfaces: defining custom SQL views, each interface's own OpenAPI
//! description, and the evidence export for inspectors.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tongshu_exchange::Consumer;

use crate::http::extract::{ApiQuery, bad_param};
use tongshu_exchange::EvidenceFormat;

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;

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
    let consumer = Consumer::user(who.org_id, who.user_id);
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
    let who = caller.required()?;
    let format = match q.format.as_deref() {
        None | Some("ndjson") => EvidenceFormat::Ndjson,
        Some("csv") => EvidenceFormat::Csv,
        Some(other) => return Err(bad_param("format", format!("{other:?}: use ndjson or csv"))),
    };
    let (ctype, ext) = match format {
        EvidenceFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        EvidenceFormat::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    let exchange = &state.exchange;
    crate::http::download::file_answer(&state, &format!("evidence.{ext}"), ctype, |file| async move {
        exchange.export_evidence(who, format, std::io::BufWriter::new(file)).await?;
        Ok(())
    })
    .await
}
