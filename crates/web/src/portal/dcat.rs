//! DCAT-AP 3 descriptions of the open data catalogue: `/catalog.ttl`, `/catalog.jsonld`, and
//! per dataset `/datasets/{name}/dcat.ttl` and `/datasets/{name}/dcat.jsonld`, for harvesters
//! such as data.europa.eu's or CKAN's DCAT harvester.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tongshu_portal::dcat::{self, Graph};

use crate::AppState;
use crate::http::error::{ApiError, ErrorCode};

fn answer(g: &Graph, turtle: bool) -> Response {
    if turtle {
        ([(header::CONTENT_TYPE, "text/turtle; charset=utf-8")], g.to_turtle()).into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/ld+json")], g.to_jsonld().to_string()).into_response()
    }
}

async fn catalog(state: &AppState, turtle: bool) -> Result<Response, ApiError> {
    state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await.map_err(ApiError::internal)?;
    let base = state.base_url();
    Ok(answer(&dcat::catalog(&state.portal.datasets(), &base, state.portal.city()), turtle))
}

pub async fn catalog_ttl(State(state): State<AppState>) -> Result<Response, ApiError> {
    catalog(&state, true).await
}

pub async fn catalog_jsonld(State(state): State<AppState>) -> Result<Response, ApiError> {
    catalog(&state, false).await
}

async fn dataset(state: &AppState, name: &str, turtle: bool) -> Result<Response, ApiError> {
    state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await.map_err(ApiError::internal)?;
    let d = state
        .portal
        .dataset(name)
        .map_err(|_| ApiError::new(ErrorCode::NotFound, format!("no public dataset {name:?}")))?;
    Ok(answer(&dcat::dataset(&d, &state.base_url(), state.portal.city()), turtle))
}

pub async fn dataset_ttl(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, ApiError> {
    dataset(&state, &name, true).await
}

pub async fn dataset_jsonld(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, ApiError> {
    dataset(&state, &name, false).await
}

/// `GET /robots.txt`: crawlers may read the public pages, not the APIs or work areas.
pub async fn robots(State(state): State<AppState>) -> Response {
    let base = state.base_url();
    let body = format!(
        "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /workbench\nDisallow: /library\nDisallow: /review\nDisallow: /sql\nDisallow: /account\nDisallow: /jobs/\nSitemap: {base}/sitemap.xml\n"
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// `GET /sitemap.xml`: the home page, the dataset search and every public dataset's page.
pub async fn sitemap(State(state): State<AppState>) -> Result<Response, ApiError> {
    state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await.map_err(ApiError::internal)?;
    let base = xml_escape(&state.base_url());
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for path in ["/", "/datasets", "/catalog"] {
        xml.push_str(&format!("  <url><loc>{base}{path}</loc></url>\n"));
    }
    for d in state.portal.datasets() {
        let t = d.entry.updated_at.to_offset(time::UtcOffset::UTC);
        xml.push_str(&format!(
            "  <url><loc>{base}/datasets/{}</loc><lastmod>{:04}-{:02}-{:02}</lastmod></url>\n",
            xml_escape(&d.name),
            t.year(),
            u8::from(t.month()),
            t.day()
        ));
    }
    xml.push_str("</urlset>\n");
    Ok(([(header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml).into_response())
}

/// Text escaped for XML content.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}
