//! The catalog API: browse listed entries, draft and submit (officers), review (admins).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tongshu_catalog::{Dimension, EntryFilter};
use tongshu_core::catalog::{CatalogEntry, EntryInput, HistoryRecord};

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;
use crate::http::extract::{ApiQuery, paging, parse_id};

/// Filters for listing entries. All are optional.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CatalogQuery {
    /// Text in the name or resource code.
    pub q: Option<String>,
    /// Provider organization: its id or its slug (`gaj`).
    pub org: Option<String>,
    /// GB/T 2260 district code of the provider.
    pub district: Option<String>,
    /// Classification prefix: `3`, `3 01`, `3 01 001`.
    pub class: Option<String>,
    /// `unconditional`, `conditional` or `not_shared`.
    pub sharing_type: Option<String>,
    /// `open`, `conditional` or `not_open`.
    pub open_type: Option<String>,
    /// Resource format, e.g. `database`.
    pub format: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// Entries to skip.
    pub offset: Option<i64>,
}

impl CatalogQuery {
    pub fn filter(&self) -> Result<EntryFilter, ApiError> {
        let (limit, offset) = paging(self.limit, self.offset, 20, 100)?;
        let nonempty = |s: &Option<String>| s.as_ref().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let org = nonempty(&self.org);
        Ok(EntryFilter {
            org_id: org.as_deref().and_then(|o| o.parse().ok()),
            org_slug: org.filter(|o| o.parse::<i64>().is_err()),
            district_code: nonempty(&self.district),
            classification: nonempty(&self.class),
            sharing_type: nonempty(&self.sharing_type),
            open_type: nonempty(&self.open_type),
            format: nonempty(&self.format),
            text: nonempty(&self.q),
            limit,
            offset,
            ..Default::default()
        })
    }
}

/// A page of catalog entries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryList {
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub items: Vec<CatalogEntry>,
}

fn page(p: tongshu_catalog::EntryPage, f: &EntryFilter) -> Json<EntryList> {
    Json(EntryList { total: p.total, limit: f.limit, offset: f.offset, items: p.entries })
}

/// Listed entries the caller may see (the public sees only entries that may be opened).
#[utoipa::path(get, path = "/api/v1/catalog", tag = "catalog", params(CatalogQuery),
    responses((status = 200, body = EntryList), (status = 400, body = ErrorBody)))]
pub async fn browse(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CatalogQuery>,
) -> Result<Json<EntryList>, ApiError> {
    let f = q.filter()?;
    Ok(page(state.catalog.browse(caller.principal.as_ref(), f.clone()).await?, &f))
}

/// A count of listed entries for one value of a facet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FacetCount {
    pub key: String,
    pub label: String,
    pub count: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Facets {
    pub organizations: Vec<FacetCount>,
    pub districts: Vec<FacetCount>,
    pub classes: Vec<FacetCount>,
}

/// Label lookups for facet keys.
pub async fn facets_for(state: &AppState, caller: &Caller) -> Result<Facets, ApiError> {
    let viewer = caller.principal.as_ref();
    let orgs = state.accounts.organizations().await?;
    let org_name = |id: &str| orgs.iter().find(|o| o.id.to_string() == id).map(|o| o.name.clone()).unwrap_or_default();
    let district_name = |code: &str| state.settings.city.area_label(code);
    let class_name = |c: &str| match c {
        "1" => "基础信息资源",
        "2" => "主题信息资源",
        _ => "部门信息资源",
    };
    let counts = |dim| state.catalog.listed_counts(viewer, dim);
    let to = |v: Vec<(String, i64)>, label: &dyn Fn(&str) -> String| -> Vec<FacetCount> {
        v.into_iter().map(|(key, count)| FacetCount { label: label(&key), key, count }).collect()
    };
    Ok(Facets {
        organizations: to(counts(Dimension::Organization).await?, &org_name),
        districts: to(counts(Dimension::District).await?, &district_name),
        classes: to(counts(Dimension::Class).await?, &|c| class_name(c).to_owned()),
    })
}

/// Counts of listed entries by organization, district and class, for browsing.
#[utoipa::path(get, path = "/api/v1/catalog/facets", tag = "catalog", responses((status = 200, body = Facets)))]
pub async fn facets(State(state): State<AppState>, caller: Caller) -> Result<Json<Facets>, ApiError> {
    Ok(Json(facets_for(&state, &caller).await?))
}

/// One entry, if the caller may see it.
#[utoipa::path(get, path = "/api/v1/catalog/{id}", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 200, body = CatalogEntry), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CatalogEntry>, ApiError> {
    Ok(Json(state.catalog.get(caller.principal.as_ref(), parse_id(&id)?).await?))
}

/// A new entry: the provider organization (default: the caller's), an optional existing
/// resource code to keep, and the core metadata.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntryRequest {
    #[serde(default)]
    pub org_id: Option<i64>,
    #[serde(default)]
    pub code: Option<String>,
    pub entry: EntryInput,
}

/// Creates a draft entry. Validation errors come back per field (422).
#[utoipa::path(post, path = "/api/v1/catalog", tag = "catalog", request_body = NewEntryRequest,
    responses((status = 201, body = CatalogEntry), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewEntryRequest>,
) -> Result<(StatusCode, Json<CatalogEntry>), ApiError> {
    let e = state.catalog.create(caller.required()?, req.org_id, &req.entry, req.code.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// Replaces the metadata of a draft, returned or delisted entry.
#[utoipa::path(put, path = "/api/v1/catalog/{id}", tag = "catalog", params(("id" = i64, Path)), request_body = EntryInput,
    responses((status = 200, body = CatalogEntry), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<EntryInput>,
) -> Result<Json<CatalogEntry>, ApiError> {
    Ok(Json(state.catalog.update(caller.required()?, parse_id(&id)?, &input).await?))
}

/// A library table of an entry, with its freshness against the entry's update cycle.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TableView {
    pub name: String,
    /// The Delta table's URI: for the providing organization and administrators only (it
    /// names server paths or buckets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub version: i64,
    pub rows: i64,
    pub bytes: i64,
    /// When the table was last fed (RFC 3339).
    pub updated_at: String,
    /// `fresh`, `overdue` (not fed within its update cycle) or `behind` (a real-time
    /// table whose feed is not streaming, or lags more than five minutes).
    pub freshness: String,
    pub days_since_update: i64,
    /// For a table the real-time channel feeds: seconds from a change's commit in the
    /// source to its commit in the library (last applied change), and whether the feed is
    /// streaming now.
    pub lag_seconds: Option<i64>,
    pub live: Option<bool>,
    #[schema(value_type = Vec<Object>)]
    pub columns: serde_json::Value,
}

pub async fn tables_for(
    state: &AppState,
    entry: &CatalogEntry,
    viewer: Option<&tongshu_core::policy::Principal>,
) -> Result<Vec<TableView>, ApiError> {
    use tongshu_core::catalog::Freshness;
    let insider = viewer.is_some_and(|p| p.may_edit_for(entry.org_id));
    let now = tongshu_core::now();
    let tables = state.library.tables_of_entry(entry.id).await.map_err(ApiError::internal)?;
    let feeds = state.library.feed_lags().await.map_err(ApiError::internal)?;
    Ok(tables
        .into_iter()
        .map(|t| {
            let feed = feeds.get(&t.name).copied();
            let days = (now - t.updated_at).whole_days().max(0);
            let freshness = match entry.body.update_cycle.freshness_fed(t.updated_at, feed, now) {
                Freshness::Fresh { .. } => "fresh",
                Freshness::Overdue { .. } => "overdue",
                Freshness::Behind { .. } => "behind",
            };
            TableView {
                name: t.name,
                uri: insider.then_some(t.uri),
                version: t.version,
                rows: t.rows,
                bytes: t.bytes,
                updated_at: t.updated_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                freshness: freshness.into(),
                days_since_update: days,
                lag_seconds: feed.and_then(|f| f.lag_seconds),
                live: feed.map(|f| f.live),
                columns: serde_json::to_value(&t.columns).unwrap_or_default(),
            }
        })
        .collect())
}

/// The library tables that hold an entry's data: rows, size, version, freshness, column figures.
#[utoipa::path(get, path = "/api/v1/catalog/{id}/tables", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 200, body = [TableView]), (status = 404, body = ErrorBody)))]
pub async fn tables(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TableView>>, ApiError> {
    let entry = state.catalog.get(caller.principal.as_ref(), parse_id(&id)?).await?;
    Ok(Json(tables_for(&state, &entry, caller.principal.as_ref()).await?))
}

/// Who did what to an entry, and when.
#[utoipa::path(get, path = "/api/v1/catalog/{id}/history", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 200, body = [HistoryRecord]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<HistoryRecord>>, ApiError> {
    Ok(Json(state.catalog.history(caller.required()?, parse_id(&id)?).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// Required when returning or delisting.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Submits a draft or returned entry for review.
#[utoipa::path(post, path = "/api/v1/catalog/{id}/submit", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 200, body = CatalogEntry), (status = 409, body = ErrorBody)))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CatalogEntry>, ApiError> {
    Ok(Json(state.catalog.submit(caller.required()?, parse_id(&id)?).await?))
}

/// Approves a submitted entry: it is listed.
#[utoipa::path(post, path = "/api/v1/catalog/{id}/approve", tag = "review", params(("id" = i64, Path)), request_body(content = Option<ReviewRequest>, description = "optional: a comment"),
    responses((status = 200, body = CatalogEntry), (status = 409, body = ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Option<ApiJson<ReviewRequest>>,
) -> Result<Json<CatalogEntry>, ApiError> {
    let comment = body.and_then(|ApiJson(b)| b.comment);
    Ok(Json(state.catalog.approve(caller.required()?, parse_id(&id)?, comment.as_deref()).await?))
}

/// Returns a submitted entry to its officer with a comment.
#[utoipa::path(post, path = "/api/v1/catalog/{id}/return", tag = "review", params(("id" = i64, Path)), request_body = ReviewRequest,
    responses((status = 200, body = CatalogEntry), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn return_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReviewRequest>,
) -> Result<Json<CatalogEntry>, ApiError> {
    let comment = b.comment.unwrap_or_default();
    Ok(Json(state.catalog.return_entry(caller.required()?, parse_id(&id)?, &comment).await?))
}

/// Delists a listed entry, giving the reason.
#[utoipa::path(post, path = "/api/v1/catalog/{id}/delist", tag = "review", params(("id" = i64, Path)), request_body = ReviewRequest,
    responses((status = 200, body = CatalogEntry), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delist(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReviewRequest>,
) -> Result<Json<CatalogEntry>, ApiError> {
    let comment = b.comment.unwrap_or_default();
    Ok(Json(state.catalog.delist(caller.required()?, parse_id(&id)?, &comment).await?))
}

/// The caller's organization's entries in every status (officers; admins may pass `org`).
#[utoipa::path(get, path = "/api/v1/workbench", tag = "catalog", params(CatalogQuery), responses((status = 200, body = EntryList)))]
pub async fn workbench(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CatalogQuery>,
) -> Result<Json<EntryList>, ApiError> {
    let f = q.filter()?;
    Ok(page(state.catalog.workbench(caller.required()?, f.clone()).await?, &f))
}

/// Entries waiting for review.
#[utoipa::path(get, path = "/api/v1/review-queue", tag = "review", params(CatalogQuery), responses((status = 200, body = EntryList)))]
pub async fn review_queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CatalogQuery>,
) -> Result<Json<EntryList>, ApiError> {
    let f = q.filter()?;
    Ok(page(state.catalog.review_queue(caller.required()?, f.clone()).await?, &f))
}
