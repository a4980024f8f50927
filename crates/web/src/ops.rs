//! What every plane shares at the door: health, readiness, metrics, assets, the OpenAPI
//! document and the language switch.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Redirect, Response};

use crate::AppState;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::route::Route;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        crate::route!(GET "/healthz" => Public, healthz),
        crate::route!(GET "/readyz" => Public, readyz),
        crate::route!(GET "/metrics" => Public, metrics),
        crate::route!(GET "/assets/{file}" => Public, crate::http::assets::serve),
        crate::route!(GET "/api/v1/openapi.json" => Public, crate::openapi::serve),
        crate::route!(GET "/lang" => Public, switch_lang),
    ]
}

/// Alive: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready: the metadata store answers.
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.accounts.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready");
        ApiError::new(ErrorCode::Unavailable, "metadata store is not reachable")
    })?;
    Ok("ready")
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}

#[derive(serde::Deserialize, Default)]
pub struct LangQuery {
    to: Option<String>,
    next: Option<String>,
}

/// `GET /lang?to=en|zh&next=/path`: remembers the visitor's language in a cookie and goes
/// back to the page.
/// Without `next`, the page the link was on (the Referer's path), when it is this site's.
pub async fn switch_lang(
    headers: axum::http::HeaderMap,
    q: Result<crate::http::extract::ApiQuery<LangQuery>, ApiError>,
) -> Response {
    let q = q.map(|q| q.0).unwrap_or_default();
    let lang = if q.to.as_deref() == Some("en") { "en" } else { "zh" };
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let from = headers
        .get(axum::http::header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.split_once("://"))
        .and_then(|(_, rest)| rest.split_once('/'))
        .filter(|(h, _)| !host.is_empty() && *h == host)
        .map(|(_, path)| format!("/{path}"));
    let next = crate::http::render::safe_next(q.next.as_deref().or(from.as_deref()));
    let cookie = format!("{}={lang}; Path=/; Max-Age=31536000; SameSite=Lax", crate::http::caller::LANG_COOKIE);
    ([(axum::http::header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}
