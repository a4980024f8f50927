//! The resource library over HTTP: upload a file to feed a table (run as a background job),
//! read jobs, list tables, export a table, and read-only SQL for administrators.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tongshu_lake::{BadRowPolicy, IngestRequest, InputFormat, Mode, QueryLimits, SourceOptions};
use tongshu_library::{JobRecord, TableRecord};
use tongshu_library::{JobSpec, LibraryError};

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::download::ExportQuery;
use crate::http::error::{ApiError, ErrorBody, ErrorCode};
use crate::http::extract::ApiJson;
use crate::http::extract::{ApiQuery, bad_param, parse_id};

/// How to read the uploaded file and change the table.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IngestQuery {
    /// The file's name (its extension gives the format when `format` is absent).
    pub filename: Option<String>,
    /// csv, tsv, xlsx, xls, json, ndjson or parquet.
    pub format: Option<String>,
    /// utf-8, gbk or gb18030 (default: detected).
    pub encoding: Option<String>,
    /// A spreadsheet's sheet, or `*` for every sheet.
    pub sheet: Option<String>,
    /// append (default), overwrite, upsert or delete.
    pub mode: Option<String>,
    /// Key columns for upsert and delete, comma-separated.
    pub key: Option<String>,
    /// reject (default) or quarantine.
    pub on_bad_rows: Option<String>,
    /// Make a new table from the file (and file a draft catalog entry for it).
    pub create: Option<bool>,
    /// Make the new table from this catalog entry's items instead.
    pub entry: Option<i64>,
}

/// Feeds a table from the request body (the file itself, streamed to disk). Answers 202 with
/// the background job; its status and report are at `/api/v1/jobs/{id}`.
#[utoipa::path(post, path = "/api/v1/library/tables/{name}/ingest", tag = "library",
    params(("name" = String, Path), IngestQuery), request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 202, body = JobRecordView), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn ingest(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    q: Result<ApiQuery<IngestQuery>, ApiError>,
    body: Body,
) -> Result<Response, ApiError> {
    let who = caller.required()?.clone();
    let ApiQuery(q) = q?;
    tongshu_lake::check_name(&name).map_err(|e| bad_param("name", e.to_string()))?;
    let format = match q.format.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => {
            Some(InputFormat::parse(f).ok_or_else(|| bad_param("format", format!("{f:?} is not a known format")))?)
        }
        None => None,
    };
    let encoding = match q.encoding.as_deref().filter(|e| !e.is_empty()) {
        Some(e) => Some(
            tongshu_lake::encoding_named(e)
                .ok_or_else(|| bad_param("encoding", format!("{e:?}: use utf-8, gbk or gb18030")))?,
        ),
        None => None,
    };
    let mode = match q.mode.as_deref().filter(|m| !m.is_empty()) {
        None => Mode::Append,
        Some(m) => Mode::parse(m)
            .ok_or_else(|| bad_param("mode", format!("{m:?}: use append, overwrite, upsert or delete")))?,
    };
    let on_bad_rows = match q.on_bad_rows.as_deref().filter(|m| !m.is_empty()) {
        None | Some("reject") => BadRowPolicy::Reject,
        Some("quarantine") => BadRowPolicy::Quarantine,
        Some(o) => return Err(bad_param("on_bad_rows", format!("{o:?}: use reject or quarantine"))),
    };
    let keys: Vec<String> =
        q.key.unwrap_or_default().split(',').map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect();
    let filename = q.filename.clone().unwrap_or_else(|| format!("{name}.csv"));
    let ext =
        std::path::Path::new(&filename).extension().and_then(|e| e.to_str()).unwrap_or("csv").to_ascii_lowercase();
    if !ext.chars().all(|c| c.is_ascii_alphanumeric()) || ext.len() > 8 {
        return Err(bad_param("filename", "the file name's extension is not a format"));
    }
    let named = q.filename.is_some();
    // Who may feed the table is decided before the body is read (and again in the job).
    if q.entry.is_none() {
        state.library.may_feed(&who, &name, q.create.unwrap_or(false), who.org_id).await?;
    }
    let file = save_upload(&state, body, &ext).await?;
    // Neither a name nor a format: the first bytes tell (NDJSON is not read as one column).
    let format = match (format, named) {
        (None, false) => {
            let head = read_head(&file).await;
            Some(InputFormat::sniff(&head))
        }
        (f, _) => f,
    };
    let create = q.create.unwrap_or(false) || q.entry.is_some();
    let req = IngestRequest {
        table: name,
        file: file.clone(),
        source: SourceOptions { format, delimiter: None, encoding, sheet: q.sheet.filter(|s| !s.is_empty()) },
        mode,
        keys,
        on_bad_rows,
        create: create && q.entry.is_none(),
        max_lengths: Default::default(),
        user: who.username.clone(),
        progress: Default::default(),
        rows: None,
        job: None,
        position: None,
    };
    let spec = JobSpec::Ingest { req: Box::new(req), org_id: None, entry_id: q.entry, remove_file: true };
    let job = match state.library.submit(&who, spec).await {
        Ok(job) => job,
        Err(e) => {
            let _ = tokio::fs::remove_file(&file).await;
            return Err(e.into());
        }
    };
    let location = format!("/api/v1/jobs/{}", job.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(job)).into_response())
}

static UPLOADS: AtomicU64 = AtomicU64::new(0);

/// Streams a request body into a new file of the upload directory, refusing it past the
/// upload limit (the partial file is removed).
async fn save_upload(state: &AppState, body: Body, ext: &str) -> Result<PathBuf, ApiError> {
    let dir = &state.settings.upload_dir;
    tokio::fs::create_dir_all(dir).await.map_err(ApiError::internal)?;
    let n = UPLOADS.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("upload-{}-{n}-{:08x}.{ext}", std::process::id(), rand::random::<u32>()));
    let result = async {
        let mut out = tokio::fs::File::create(&path).await.map_err(ApiError::internal)?;
        let mut stream = body.into_data_stream();
        let mut total: u64 = 0;
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("the upload broke off: {e}")))?;
            total += chunk.len() as u64;
            if total > state.settings.upload_max_bytes {
                return Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("the file is larger than the upload limit of {} bytes", state.settings.upload_max_bytes),
                ));
            }
            out.write_all(&chunk).await.map_err(ApiError::internal)?;
        }
        if total == 0 {
            return Err(bad_param("body", "the file is empty"));
        }
        out.flush().await.map_err(ApiError::internal)?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(path),
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err(e)
        }
    }
}

/// A background job: what it was asked, its status, progress and report.
#[derive(Serialize, utoipa::ToSchema)]
pub struct JobRecordView {
    pub id: i64,
    /// ingest or pull
    pub kind: String,
    pub table: String,
    /// queued, running, succeeded or failed
    pub status: String,
    pub rows_done: i64,
    pub bytes_done: i64,
    pub bytes_total: Option<i64>,
    /// The ingest report (or, for a refused ingest, the bad rows).
    #[schema(value_type = Object)]
    pub report: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// The caller's newest jobs (everyone's for administrators).
#[utoipa::path(get, path = "/api/v1/jobs", tag = "library", responses((status = 200, body = [JobRecordView])))]
pub async fn jobs(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<JobRecord>>, ApiError> {
    Ok(Json(state.library.jobs(caller.required()?, 50).await?))
}

/// One job.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "library", params(("id" = i64, Path)),
    responses((status = 200, body = JobRecordView), (status = 404, body = ErrorBody)))]
pub async fn job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobRecord>, ApiError> {
    Ok(Json(state.library.job(caller.required()?, parse_id(&id)?).await?))
}

/// The library tables the caller may feed (all for administrators).
#[utoipa::path(get, path = "/api/v1/library/tables", tag = "library", responses((status = 200, body = [Object])))]
pub async fn tables(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<TableRecord>>, ApiError> {
    Ok(Json(state.library.tables_for(caller.required()?).await?))
}

/// Downloads a whole table (its owners and administrators).
#[utoipa::path(get, path = "/api/v1/library/tables/{name}/export", tag = "library",
    params(("name" = String, Path), ExportQuery),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    q: Result<ApiQuery<ExportQuery>, ApiError>,
) -> Result<Response, ApiError> {
    let who = caller.required()?;
    let ApiQuery(q) = q?;
    let format = q.export_format()?;
    state.library.may_read_table(who, &name).await?;
    crate::http::download::table_file(&state, &name, format, q.version).await
}

/// The first few KiB of a file (empty when it cannot be read; the ingest reports that).
async fn read_head(path: &std::path::Path) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut head = vec![0; 4096];
    let n = match tokio::fs::File::open(path).await {
        Ok(mut f) => f.read(&mut head).await.unwrap_or(0),
        Err(_) => 0,
    };
    head.truncate(n);
    head
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    /// One read-only statement (SELECT, WITH, EXPLAIN, SHOW, DESCRIBE); table names are the library's.
    pub sql: String,
    /// At most this many rows (default 1000, at most 10000).
    pub max_rows: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SqlAnswer {
    pub columns: Vec<String>,
    #[schema(value_type = Vec<Vec<Object>>)]
    pub rows: Vec<Vec<serde_json::Value>>,
    /// More rows existed than `max_rows`.
    pub truncated: bool,
    pub seconds: f64,
}

/// Runs read-only SQL over library tables (administrators), within a time and a row limit.
#[utoipa::path(post, path = "/api/v1/library/sql", tag = "library", request_body = SqlRequest,
    responses((status = 200, body = SqlAnswer), (status = 400, body = ErrorBody)))]
pub async fn sql(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SqlRequest>,
) -> Result<Json<SqlAnswer>, ApiError> {
    Ok(Json(run_sql(&state, &req.sql, req.max_rows).await?))
}

pub async fn run_sql(state: &AppState, sql: &str, max_rows: Option<usize>) -> Result<SqlAnswer, ApiError> {
    let max_rows = max_rows.unwrap_or(1000);
    if !(1..=10_000).contains(&max_rows) {
        return Err(bad_param("max_rows", "must be between 1 and 10000"));
    }
    let started = std::time::Instant::now();
    let limits = QueryLimits { max_rows, ..QueryLimits::default() };
    let result = state.library.lake().sql(sql, &[], limits).await.map_err(|e| ApiError::from(LibraryError::Lake(e)))?;
    let columns: Vec<String> = result
        .batches
        .first()
        .map(|b| b.schema().fields().iter().map(|f| f.name().clone()).collect())
        .unwrap_or_default();
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let rows = crate::http::rows::json_lists(&result.batches, &names)?;
    Ok(SqlAnswer { columns, rows, truncated: result.truncated, seconds: started.elapsed().as_secs_f64() })
}
