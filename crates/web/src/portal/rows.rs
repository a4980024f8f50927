//! The native row API for public tables: `GET /api/v1/open/tables/{name}/rows` (the
//! query language is in [`crate::http::rows`]).

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use tongshu_portal::UsageKind;

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::rows::{CURSOR_PIN, Params, parse, pin_first_page, render_page};

#[utoipa::path(get, path = "/api/v1/open/tables/{name}/rows", tag = "portal",
    params(("name" = String, Path, description = "the table (a CKAN resource id)"),
        ("select" = Option<String>, Query, description = "columns, comma-separated"),
        ("q" = Option<String>, Query, description = "text any text column contains"),
        ("sort" = Option<String>, Query, description = "columns, '-' for descending; pages then use offset"),
        ("limit" = Option<usize>, Query, description = "1 to 10000, default 100"),
        ("offset" = Option<usize>, Query, description = "with sort"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page (stored order)"),
        ("total" = Option<String>, Query, description = "exact (default) or none"),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
        ("{column}" = Option<String>, Query, description = "filters: col=v, col__in=a,b, col__ne, col__gt, col__gte, col__lt, col__lte, col__contains, col__isnull")),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
/// Rows of a public table with filters, sorting and keyset paging.
pub async fn rows(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await?;
    let Params { mut query, format } = parse(&name, raw.as_deref())?;
    let ds = state.portal.dataset_of_table(&name)?;
    state.portal.check_rows(&ds, caller.principal.as_ref()).await?;
    if let Some(p) = query.after.filter(|p| p.version != u64::MAX) {
        state.portal.check_version(&ds, &name, p.version, caller.principal.as_ref(), Some(CURSOR_PIN)).await?;
    }
    pin_first_page(&state, &mut query).await?;
    // Access was checked above; one check per call.
    let page = state.library.lake().rows(&query).await.map_err(tongshu_portal::PortalError::from)?;
    state.portal.count_usage(&ds.name, UsageKind::Call, caller.token_id(), 1);
    Ok(render_page(&name, &ds.name, &page, &query, &format)?.0)
}
