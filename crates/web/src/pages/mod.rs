//! Server-rendered pages in Simplified Chinese. Handlers stay thin: parse, call one
//! service function, render a template or redirect.

pub mod account;
pub mod catalog;
pub mod en;
mod form;
pub mod interact;
pub mod library;
pub mod portal;
pub mod review;
pub mod sharing;
pub mod stats;
pub mod workbench;
pub(crate) mod zh;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use crate::AppState;
use crate::caller::{Caller, is_api};
use crate::error::{ApiError, ErrorCode};

/// The context every page has: who is signed in, the CSRF token, the current section.
pub fn base(caller: &Caller, nav: &str, title: &str) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    let me = caller.principal.as_ref().map(|p| {
        json!({"username": p.username, "display_name": p.display_name, "role": p.role.as_str(), "org_id": p.org_id})
    });
    m.insert("me".into(), me.unwrap_or(Value::Null));
    m.insert("csrf".into(), caller.csrf.clone().map(Value::from).unwrap_or(Value::Null));
    m.insert("nav".into(), nav.into());
    m.insert("lang".into(), if caller.english { "en" } else { "zh" }.into());
    let title = if caller.english { en::english(title).unwrap_or(title) } else { title };
    m.insert("title".into(), title.into());
    m
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
    q: Result<crate::api::ApiQuery<LangQuery>, ApiError>,
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
    let next = account::safe_next(q.next.as_deref().or(from.as_deref()));
    let cookie = format!("{}={lang}; Path=/; Max-Age=31536000; SameSite=Lax", crate::caller::LANG_COOKIE);
    ([(axum::http::header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

/// Renders `template` with `ctx`, answering `status`.
pub fn render(state: &AppState, status: StatusCode, template: &str, ctx: serde_json::Map<String, Value>) -> Response {
    match state.templates.render(template, Value::Object(ctx)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template, error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<h1>内部错误</h1><p>页面渲染失败，详情见服务器日志。</p>".to_owned()),
            )
                .into_response()
        }
    }
}

/// An error as a page for browsers, or as JSON for the API.
pub fn error_or_json(state: &AppState, path: &str, e: ApiError) -> Response {
    if is_api(path) {
        return e.into_response();
    }
    error_page(state, &Caller::anonymous(), e)
}

/// An error as a page, keeping the signed-in header when the caller is known.
pub fn error_page(state: &AppState, caller: &Caller, e: ApiError) -> Response {
    let heading = match e.code {
        ErrorCode::NotFound => "页面不存在",
        ErrorCode::Unauthorized => "请先登录",
        ErrorCode::Forbidden => "没有权限",
        ErrorCode::Conflict => "操作冲突",
        ErrorCode::InvalidFields | ErrorCode::BadRequest => "请求有误",
        ErrorCode::TooManyRequests => "操作过于频繁",
        ErrorCode::PayloadTooLarge => "提交的内容过大",
        _ => "服务器错误",
    };
    let mut ctx = base(caller, "", heading);
    ctx.insert("heading".into(), heading.into());
    let message = caller.wording(&e.message);
    ctx.insert("message".into(), message.into());
    let status = e.code.status();
    let mut resp = render(state, status, "error.html", ctx);
    if let Some(secs) = e.retry_after {
        resp.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    resp
}

/// What unmatched paths get.
pub async fn not_found(State(state): State<AppState>, caller: Caller, uri: Uri) -> Response {
    let e = ApiError::new(ErrorCode::NotFound, format!("no page at {}", uri.path()));
    if is_api(uri.path()) { e.into_response() } else { error_page(&state, &caller, e) }
}

/// A redirect after a successful form post (303, so the browser follows with GET).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The message for a `?done=` code after a redirect.
pub fn flash(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => "已保存为草稿。",
        "updated" => "修改已保存。",
        "submitted" => "已提交审核。",
        "approved" => "已审核通过并上架。",
        "returned" => "已退回修改。",
        "delisted" => "已下架。",
        "revoked" => "令牌已撤销。",
        "synonym_added" => "同义词规则已添加，搜索立即生效。",
        "synonym_removed" => "同义词规则已删除。",
        _ => return None,
    })
}
