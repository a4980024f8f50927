//! Server-rendered pages in Simplified Chinese. Handlers stay thin: parse, call one
//! service function, render a template or redirect.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use serde::Deserialize;

use crate::AppState;
use crate::http::caller::{Caller, is_api};
use crate::http::en;
use crate::http::error::{ApiError, ErrorCode};

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

/// Only paths of this site are followed after signing in or switching the language (no
/// open redirect): a single leading `/`, no backslash, no control character or white
/// space (browsers drop tabs and newlines, so `/\t/evil.example` would be `//evil.example`),
/// no scheme; and it must still be a path of this site once parsed as a browser would.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next else { return "/".to_owned() };
    let plain = n.starts_with('/')
        && !n.starts_with("//")
        && !n.contains('\\')
        && !n.chars().any(|c| c.is_control() || c.is_whitespace())
        && n.len() <= 2000;
    let base = url::Url::parse("http://tongshu.invalid/").expect("a valid base");
    let same_site = base.join(n).is_ok_and(|u| u.host_str() == Some("tongshu.invalid") && u.scheme() == "http");
    if plain && same_site { n.to_owned() } else { "/".to_owned() }
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    pub done: Option<String>,
}

pub fn posted_flash(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "posted-request" => "需求已提交，管理员审核后公开并转交数据提供部门答复。",
        "posted-showcase" => "应用成果已提交，审核通过后展示。",
        "posted-feedback" => "纠错反馈已提交，数据提供部门将答复您（见“我的互动”）。",
        "posted-comment" => "评价已提交，审核通过后显示。",
        "posted-application" => "申请已提交，数据提供部门审批后可访问数据（见“我的互动”）。",
        "registered" => "注册成功，欢迎使用。您可以在下方创建应用、获取 API 密钥。",
        "decided" => "已处理。",
        _ => return None,
    })
}
