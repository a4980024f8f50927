//! File answers: an export is written to a temporary file off the async runtime (bounded
//! memory, and a failure can still be a clean 4xx or 5xx before any byte is sent), then
//! streamed from disk; the file is unlinked as soon as it is open.

use std::future::Future;

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tongshu_lake::ExportFormat;

use crate::AppState;
use crate::http::error::ApiError;

/// What a table export's file is: its content type and file extension.
pub fn export_kind(format: tongshu_lake::ExportFormat) -> (&'static str, &'static str) {
    use tongshu_lake::ExportFormat as F;
    match format {
        F::Csv { .. } => ("text/csv; charset=utf-8", "csv"),
        F::Json => ("application/json", "json"),
        F::Ndjson => ("application/x-ndjson", "ndjson"),
        F::Parquet => ("application/vnd.apache.parquet", "parquet"),
        F::Xlsx => ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    }
}

/// Lets `write` fill a new temporary file, then answers it as the attachment `filename`.
pub async fn file_answer<F, Fut>(
    state: &AppState,
    filename: &str,
    content_type: &str,
    write: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(std::fs::File) -> Fut,
    Fut: Future<Output = Result<(), ApiError>>,
{
    let dir = &state.settings.upload_dir;
    tokio::fs::create_dir_all(dir).await.map_err(ApiError::internal)?;
    let path = dir.join(format!("export-{}-{:016x}", std::process::id(), rand::random::<u64>()));
    let file = tokio::fs::File::create(&path).await.map_err(ApiError::internal)?.into_std().await;
    let written = write(file).await;
    let reopened = tokio::fs::File::open(&path).await;
    let _ = tokio::fs::remove_file(&path).await;
    written?;
    let stream = tokio_util::io::ReaderStream::new(reopened.map_err(ApiError::internal)?);
    let disposition = format!("attachment; filename=\"{filename}\"");
    Ok((
        [(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        Body::from_stream(stream),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// csv (default), xlsx, json, ndjson or parquet.
    pub format: Option<String>,
    /// For CSV: start with a byte order mark so that Excel reads Chinese right.
    pub bom: Option<bool>,
    /// An earlier version of the table.
    pub version: Option<u64>,
}

impl ExportQuery {
    /// The format asked for; a 400 naming `format` when it is not one.
    pub fn export_format(&self) -> Result<ExportFormat, ApiError> {
        let name = self.format.as_deref().unwrap_or("csv");
        ExportFormat::parse(name, self.bom.unwrap_or(false)).ok_or_else(|| {
            crate::http::extract::bad_param("format", format!("{name:?}: use csv, xlsx, json, ndjson or parquet"))
        })
    }
}

/// A table's rows as a file answer (access already checked).
pub async fn table_file(
    state: &AppState,
    name: &str,
    format: ExportFormat,
    version: Option<u64>,
) -> Result<Response, ApiError> {
    let (content_type, ext) = export_kind(format);
    file_answer(state, &format!("{name}.{ext}"), content_type, |file| async move {
        state.library.export_table(name, version, format, file).await?;
        Ok(())
    })
    .await
}
