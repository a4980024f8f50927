//! DCAT-AP 3 descriptions of the open data catalogue: `/catalog.ttl`, `/catalog.jsonld`, and
//! per dataset `/datasets/{name}/dcat.ttl` and `/datasets/{name}/dcat.jsonld`, for harvesters
//! such as data.europa.eu's or CKAN's DCAT harvester.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use tongshu_portal::dcat::{self, Graph};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};

fn answer(g: &Graph, turtle: bool) -> Response {
    if turtle {
        ([(header::CONTENT_TYPE, "text/turtle; charset=utf-8")], g.to_turtle()).into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/ld+json")], g.to_jsonld().to_string()).into_response()
    }
}

async fn catalog(state: &AppState, headers: &HeaderMap, turtle: bool) -> Result<Response, ApiError> {
    state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await.map_err(ApiError::internal)?;
    let base = super::ckan::base_url(headers);
    Ok(answer(&dcat::catalog(&state.portal.datasets(), &base), turtle))
}

pub async fn catalog_ttl(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    catalog(&state, &headers, true).await
}

pub async fn catalog_jsonld(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    catalog(&state, &headers, false).await
}

async fn dataset(state: &AppState, headers: &HeaderMap, name: &str, turtle: bool) -> Result<Response, ApiError> {
    state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await.map_err(ApiError::internal)?;
    let d = state
        .portal
        .dataset(name)
        .map_err(|_| ApiError::new(ErrorCode::NotFound, format!("no public dataset {name:?}")))?;
    Ok(answer(&dcat::dataset(&d, &super::ckan::base_url(headers)), turtle))
}

pub async fn dataset_ttl(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    dataset(&state, &headers, &name, true).await
}

pub async fn dataset_jsonld(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    dataset(&state, &headers, &name, false).await
}
