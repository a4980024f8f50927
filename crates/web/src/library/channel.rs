//! The real-time channel over HTTP: each pipeline's state, lag (seconds and bytes of the
//! source's log), throughput and positions, with a day of measurements, for the source's
//! department and the platform; pause and resume. The pipelines run wherever their lease
//! is; every node answers the same from the store.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tongshu_library::{ChannelSample, Feed, SAMPLES_KEPT_SECONDS};

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;
use crate::http::render::{base, error_page, render, see_other};

/// One carried table of a pipeline.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedTableView {
    /// `schema.table` in the source.
    pub source: String,
    /// The library table it feeds.
    pub target: String,
    /// Key columns named by the operator (empty: the source's primary key).
    pub keys: Vec<String>,
    /// The source position the library table holds (PostgreSQL LSN; MySQL/MariaDB binlog
    /// file number × 2³² + offset).
    pub position: Option<i64>,
    /// The position as the source writes it.
    pub position_text: Option<String>,
    pub snapshot_rows: u64,
    /// Sessions that copied the snapshot at once.
    pub snapshot_sessions: usize,
    /// Changes applied by the current runner.
    pub changes: u64,
}

/// A pipeline as its runner last reported it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedView {
    pub name: String,
    pub source: String,
    /// postgres or mysql
    pub source_kind: String,
    pub org_id: i64,
    /// starting, snapshotting, streaming, paused, failed or stopped (`new` before its
    /// first run).
    pub state: String,
    /// Why it is paused or failed, how far a snapshot is, or a warning.
    pub message: String,
    /// Why an operator or a schema change holds it.
    pub paused: Option<String>,
    /// Milliseconds from the source's commit of the last applied change to its commit in
    /// the library.
    pub lag_ms: Option<i64>,
    /// Bytes of the source's log the pipeline holds (PostgreSQL slot) or has still to read
    /// (MySQL/MariaDB binlog).
    pub log_bytes: Option<i64>,
    /// The source position last confirmed.
    pub confirmed: Option<i64>,
    /// The same as the source writes it: `16/B374D848` (PostgreSQL LSN) or
    /// `binlog.000002:10768464` (MySQL/MariaDB file and offset).
    pub confirmed_text: Option<String>,
    /// The node running it while its lease lasts.
    pub node: Option<String>,
    pub running: bool,
    pub batch_ms: i64,
    pub batch_changes: i64,
    pub tables: Vec<FeedTableView>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub updated_at: time::OffsetDateTime,
}

/// A measurement (every ten seconds while it runs).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SampleView {
    /// Unix seconds.
    pub at: i64,
    pub lag_ms: Option<i64>,
    /// Changes applied since its runner started.
    pub changes: i64,
    pub log_bytes: Option<i64>,
}

/// A pipeline with a day of measurements.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedDetailView {
    #[serde(flatten)]
    pub pipeline: FeedView,
    pub samples: Vec<SampleView>,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A position as its source writes it.
fn position_text(kind: &str, v: i64) -> String {
    let (hi, lo) = ((v as u64) >> 32, (v as u64) & 0xffff_ffff);
    match kind {
        "mysql" => format!("binlog.{hi:06}:{lo}"),
        _ => format!("{hi:X}/{lo:X}"),
    }
}

fn view(f: Feed) -> FeedView {
    let p = f.pipeline;
    let kind = f.source_kind.clone();
    let tables = p
        .tables
        .iter()
        .map(|t| {
            let st = p.table_status.iter().find(|s| s.target == t.target);
            FeedTableView {
                source: t.source.clone(),
                target: t.target.clone(),
                keys: t.keys.clone(),
                position: st.and_then(|s| s.position),
                position_text: st.and_then(|s| s.position).map(|v| position_text(&kind, v)),
                snapshot_rows: st.map(|s| s.snapshot_rows).unwrap_or(0),
                snapshot_sessions: st.map(|s| s.snapshot_sessions).unwrap_or(0),
                changes: st.map(|s| s.changes).unwrap_or(0),
            }
        })
        .collect();
    FeedView {
        running: p.node.is_some() && p.lease_until.is_some_and(|t| t >= now()),
        name: p.name,
        source: f.source,
        source_kind: f.source_kind,
        org_id: f.org_id,
        state: p.state,
        message: p.message,
        paused: p.paused,
        lag_ms: p.lag_ms,
        log_bytes: p.log_bytes,
        confirmed: p.confirmed,
        confirmed_text: p.confirmed.map(|v| position_text(&kind, v)),
        node: p.node,
        batch_ms: p.batch_ms,
        batch_changes: p.batch_changes,
        tables,
        updated_at: p.updated_at,
    }
}

fn samples(s: Vec<ChannelSample>) -> Vec<SampleView> {
    s.into_iter()
        .map(|s| SampleView { at: s.at, lag_ms: s.lag_ms, changes: s.changes, log_bytes: s.log_bytes })
        .collect()
}

/// The real-time pipelines the caller may see: its department's, or all for the platform.
#[utoipa::path(get, path = "/api/v1/channel/pipelines", tag = "channel",
    responses((status = 200, body = [FeedView]), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<FeedView>>, ApiError> {
    Ok(Json(state.library.feeds_for(caller.required()?).await?.into_iter().map(view).collect()))
}

/// One pipeline with the measurements of the last day.
#[utoipa::path(get, path = "/api/v1/channel/pipelines/{name}", tag = "channel", params(("name" = String, Path)),
    responses((status = 200, body = FeedDetailView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<FeedDetailView>, ApiError> {
    let (f, s) = state.library.feed(caller.required()?, &name, now() - SAMPLES_KEPT_SECONDS).await?;
    Ok(Json(FeedDetailView { pipeline: view(f), samples: samples(s) }))
}

/// Holds a pipeline: its runner, on whichever node, stops within a second after applying
/// and confirming the whole transactions it has received.
#[utoipa::path(post, path = "/api/v1/channel/pipelines/{name}/pause", tag = "channel", params(("name" = String, Path)),
    responses((status = 200, body = FeedView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<FeedView>, ApiError> {
    Ok(Json(view(state.library.pause_feed(caller.required()?, &name).await?)))
}

/// How to resume.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeBody {
    /// Accept the source's schema change that paused the pipeline (a dropped or renamed
    /// column stays in the library table, empty in new rows).
    #[serde(default)]
    pub accept: bool,
}

/// Lets a held pipeline run again (a node takes it up within seconds).
#[utoipa::path(post, path = "/api/v1/channel/pipelines/{name}/resume", tag = "channel", params(("name" = String, Path)),
    request_body = ResumeBody,
    responses((status = 200, body = FeedView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<ApiJson<ResumeBody>, ApiError>,
) -> Result<Json<FeedView>, ApiError> {
    let ApiJson(body) = body?;
    Ok(Json(view(state.library.resume_feed(caller.required()?, &name, body.accept).await?)))
}

pub async fn page(State(state): State<AppState>, caller: Caller) -> Response {
    let feeds = async { Ok::<_, ApiError>(state.library.feeds_for(caller.required()?).await?) }.await;
    match feeds {
        Ok(feeds) => {
            let mut ctx = base(&caller, "channel", "实时数据通道");
            ctx.insert("pipelines".into(), json!(feeds.into_iter().map(view).collect::<Vec<_>>()));
            render(&state, StatusCode::OK, "channel.html", ctx)
        }
        Err(e) => error_page(&state, &caller, e),
    }
}

pub async fn detail_page(State(state): State<AppState>, caller: Caller, Path(name): Path<String>) -> Response {
    let found =
        async { Ok::<_, ApiError>(state.library.feed(caller.required()?, &name, now() - SAMPLES_KEPT_SECONDS).await?) }
            .await;
    let (f, s) = match found {
        Ok(v) => v,
        Err(e) => return error_page(&state, &caller, e),
    };
    let p = view(f);
    // Beijing time; with seconds while the measurements span less than an hour.
    let short = s.first().zip(s.last()).is_some_and(|(a, b)| b.at - a.at < 3600);
    let label = |at: i64| {
        time::OffsetDateTime::from_unix_timestamp(at + 8 * 3600)
            .map(|t| match short {
                true => format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
                false => format!("{:02}:{:02}", t.hour(), t.minute()),
            })
            .unwrap_or_default()
    };
    let lag: Vec<(String, f64)> = s.iter().filter_map(|x| x.lag_ms.map(|l| (label(x.at), l as f64 / 1000.0))).collect();
    // Changes per second between two measurements of one runner (a new runner counts from 0).
    let rate: Vec<(String, f64)> = s
        .windows(2)
        .filter(|w| w[1].changes >= w[0].changes && w[1].at > w[0].at)
        .map(|w| (label(w[1].at), (w[1].changes - w[0].changes) as f64 / (w[1].at - w[0].at) as f64))
        .collect();
    let mut ctx = base(&caller, "channel", &format!("实时数据通道 · {}", p.name));
    ctx.insert("lag_chart".into(), crate::http::charts::line("同步延迟（秒）", &lag, "秒").into());
    ctx.insert("rate_chart".into(), crate::http::charts::line("每秒变更数", &rate, "条/秒").into());
    ctx.insert("p".into(), json!(p));
    render(&state, StatusCode::OK, "channel_detail.html", ctx)
}

pub async fn pause_form(State(state): State<AppState>, caller: Caller, Path(name): Path<String>) -> Response {
    let done = async { Ok::<_, ApiError>(state.library.pause_feed(caller.required()?, &name).await?) }.await;
    match done {
        Ok(f) => see_other(&format!("/channel/{}", f.pipeline.name)),
        Err(e) => error_page(&state, &caller, e),
    }
}

#[derive(Deserialize)]
pub struct ResumeForm {
    #[serde(default)]
    accept: Option<String>,
}

pub async fn resume_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    form: Result<axum::Form<ResumeForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let accept = form.ok().and_then(|f| f.0.accept).is_some_and(|v| v == "on" || v == "true" || v == "1");
    let done = async { Ok::<_, ApiError>(state.library.resume_feed(caller.required()?, &name, accept).await?) }.await;
    match done {
        Ok(f) => see_other(&format!("/channel/{}", f.pipeline.name)),
        Err(e) => error_page(&state, &caller, e),
    }
}
