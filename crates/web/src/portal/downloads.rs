//! Public downloads: `GET /api/v1/open/tables/{name}/download`, a public table's rows as a
//! file, under the portal's access rules and counted in its usage.

use axum::extract::{Path, State};
use axum::response::Response;
use tongshu_portal::UsageKind;

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::download::{ExportQuery, table_file};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiQuery;

#[utoipa::path(get, path = "/api/v1/open/tables/{name}/download", tag = "portal",
    params(("name" = String, Path), ExportQuery),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// A public table's rows as a file (`format` as for exports): for anyone when its dataset
/// is open unconditionally, else for callers whose application was approved.
pub async fn open_download(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    q: Result<ApiQuery<ExportQuery>, ApiError>,
) -> Result<Response, ApiError> {
    let ApiQuery(q) = q?;
    let format = q.export_format()?;
    state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await?;
    let ds = state.portal.dataset_of_table(&name)?;
    state.portal.check_rows(&ds, caller.principal.as_ref()).await?;
    if let Some(v) = q.version {
        state.portal.check_version(&ds, &name, v, caller.principal.as_ref(), None).await?;
    }
    let resp = table_file(&state, &name, format, q.version).await?;
    state.portal.count_usage(&ds.name, UsageKind::Download, caller.token_id(), 1);
    Ok(resp)
}
