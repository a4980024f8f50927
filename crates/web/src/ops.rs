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

/// `GET /metrics`: this node's HTTP figures, and every channel pipeline's state as the
/// shared store holds it (so each node shows the same pipelines, whichever runs them).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    match state.library.feeds().await {
        Ok(pipelines) => text.push_str(&channel_metrics(&pipelines, tongshu_core::now().unix_timestamp())),
        Err(e) => tracing::warn!(error = %e, "channel pipelines not read for /metrics"),
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The channel's metrics per pipeline and table (Prometheus text format).
fn channel_metrics(pipelines: &[tongshu_library::PipelineRecord], now: i64) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, lines: Vec<String>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for l in lines {
            let _ = writeln!(out, "{name}{l}");
        }
    };
    let each = |f: &dyn Fn(&tongshu_library::PipelineRecord) -> Option<String>| -> Vec<String> {
        pipelines.iter().filter_map(|p| f(p).map(|v| format!("{{pipeline=\"{}\"}} {v}", label(&p.name)))).collect()
    };
    family(
        "tongshu_channel_state",
        "gauge",
        "1 for the state a pipeline's runner last reported (snapshotting, streaming, paused, failed, ...).",
        pipelines
            .iter()
            .map(|p| format!("{{pipeline=\"{}\",state=\"{}\"}} 1", label(&p.name), label(&p.state)))
            .collect(),
    );
    family(
        "tongshu_channel_paused",
        "gauge",
        "1 while a pipeline is held (by an operator or a schema change).",
        each(&|p| Some(u8::from(p.paused.is_some()).to_string())),
    );
    family(
        "tongshu_channel_running",
        "gauge",
        "1 while some node holds the pipeline's lease.",
        each(&|p| Some(u8::from(p.node.is_some() && p.lease_until.is_some_and(|u| u >= now)).to_string())),
    );
    family(
        "tongshu_channel_lag_seconds",
        "gauge",
        "Source commit to library commit, as last reported.",
        each(&|p| p.lag_ms.map(|ms| format!("{:.3}", ms as f64 / 1000.0))),
    );
    family(
        "tongshu_channel_confirmed_position",
        "gauge",
        "The source position (LSN) confirmed to the source.",
        each(&|p| p.confirmed.map(|c| c.to_string())),
    );
    family(
        "tongshu_channel_report_age_seconds",
        "gauge",
        "Seconds since the pipeline's runner last reported.",
        each(&|p| Some((now - p.updated_at.unix_timestamp()).max(0).to_string())),
    );
    let per_table = |f: &dyn Fn(&tongshu_library::ChannelTableStatus) -> u64| -> Vec<String> {
        pipelines
            .iter()
            .flat_map(|p| p.table_status.iter().map(move |t| (p, t)))
            .map(|(p, t)| format!("{{pipeline=\"{}\",table=\"{}\"}} {}", label(&p.name), label(&t.target), f(t)))
            .collect()
    };
    family(
        "tongshu_channel_changes_total",
        "counter",
        "Changes applied to a library table by the pipeline's current runner (from 0 when a runner starts).",
        per_table(&|t| t.changes),
    );
    family(
        "tongshu_channel_snapshot_rows",
        "gauge",
        "Rows copied by a table's snapshot.",
        per_table(&|t| t.snapshot_rows),
    );
    out
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
