//! Signing in and out, and the account page with API tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tongshu_accounts::AccountError;

use super::auth::TokenView;
use crate::AppState;
use crate::http::caller::{Caller, Via, session_cookie};
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::extract::ClientIp;
use crate::http::extract::parse_id;
use crate::http::render::safe_next;
use crate::http::render::{base, error_page, render, see_other};

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

fn login_page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    next: &str,
    username: &str,
    error: Option<String>,
) -> Response {
    let mut ctx = base(caller, "login", "登录");
    ctx.insert("next".into(), next.into());
    ctx.insert("username".into(), username.into());
    ctx.insert("error".into(), error.map(Into::into).unwrap_or(serde_json::Value::Null));
    ctx.insert("demo".into(), state.settings.demo.into());
    render(state, status, "login.html", ctx)
}

pub async fn login_form(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<ApiQuery<NextQuery>, ApiError>,
) -> Response {
    let next = safe_next(q.as_ref().ok().and_then(|q| q.0.next.as_deref()));
    login_page(&state, &caller, StatusCode::OK, &next, "", None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    form: Result<axum::Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(form)) = form else {
        return login_page(&state, &caller, StatusCode::BAD_REQUEST, "/", "", Some("请填写用户名和密码".into()));
    };
    let next = safe_next(form.next.as_deref());
    match state.accounts.sign_in(&form.username, &form.password, ip).await {
        Ok(s) => {
            let cookie = session_cookie(Some(&s.token), state.settings.secure_cookies);
            ([(SET_COOKIE, cookie)], see_other(&next)).into_response()
        }
        Err(e @ (AccountError::BadCredentials | AccountError::Throttled(_))) => {
            let retry = if let AccountError::Throttled(s) = e { Some(s) } else { None };
            let status = if retry.is_some() { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::UNAUTHORIZED };
            let mut resp =
                login_page(&state, &caller, status, &next, &form.username, Some(caller.wording(&e.to_string())));
            if let Some(s) = retry {
                resp.headers_mut().insert(axum::http::header::RETRY_AFTER, s.into());
            }
            resp
        }
        Err(e) => error_page(&state, &caller, e.into()),
    }
}

pub async fn logout(State(state): State<AppState>, caller: Caller) -> Response {
    if let Via::Session(token) = &caller.via
        && let Err(e) = state.accounts.sign_out(token).await
    {
        return error_page(&state, &caller, e.into());
    }
    ([(SET_COOKIE, session_cookie(None, state.settings.secure_cookies))], see_other("/")).into_response()
}

async fn account_page(
    state: &AppState,
    caller: &Caller,
    new_token: Option<String>,
    status: StatusCode,
    flash: Option<&str>,
) -> Response {
    let result = async {
        let p = caller.required()?;
        let mut tokens = Vec::new();
        for t in state.accounts.list_tokens(p).await? {
            let days = state.portal.usage_by_day(Some(t.id)).await?;
            let (downloads, calls) = days.iter().fold((0, 0), |a, d| (a.0 + d.downloads, a.1 + d.calls));
            let mut v = json!(TokenView::from(t));
            v["downloads"] = json!(downloads);
            v["calls"] = json!(calls);
            tokens.push(v);
        }
        let org = state.accounts.organization(p.org_id).await?;
        Ok::<_, ApiError>((tokens, org.name))
    }
    .await;
    match result {
        Ok((tokens, org_name)) => {
            let mut ctx = base(caller, "account", "我的账号与开发者中心");
            ctx.insert("tokens".into(), json!(tokens));
            ctx.insert("org_name".into(), org_name.into());
            ctx.insert("new_token".into(), json!(new_token));
            ctx.insert("key_rate".into(), json!(state.settings.key_rate_per_minute));
            ctx.insert("flash".into(), json!(flash));
            render(state, status, "account.html", ctx)
        }
        Err(e) => error_page(state, caller, e),
    }
}

pub async fn account(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<ApiQuery<crate::http::render::DoneQuery>, ApiError>,
) -> Response {
    let done = q.ok().and_then(|q| q.0.done);
    account_page(&state, &caller, None, StatusCode::OK, crate::http::render::posted_flash(done.as_deref())).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: Option<String>,
}

pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    form: Result<axum::Form<TokenForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let (name, description) = form.map(|axum::Form(f)| (f.name, f.description)).unwrap_or_default();
    let created = match caller.required() {
        Ok(p) => state.accounts.create_app(p, &name, description.as_deref()).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match created {
        // The token is shown on this answer only; it is not in any URL or log.
        Ok((token, _)) => account_page(&state, &caller, Some(token), StatusCode::CREATED, None).await,
        Err(e) => error_page(&state, &caller, e),
    }
}

pub async fn revoke_token(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Response {
    let result = async {
        let p = caller.required()?;
        state.accounts.revoke_token(p, parse_id(&id)?).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => see_other("/account"),
        Err(e) => error_page(&state, &caller, e),
    }
}
