//! Who is calling, and whether they may: the two middlewares every request passes.
//!
//! [`resolve`] finds the caller from a bearer token or the session cookie. [`authorize`]
//! looks the matched route up in the policy table, asks the core policy whether the
//! caller's role may take the route's action, and checks the CSRF token of cookie-
//! authenticated writes. Handlers receive a [`Caller`] and can trust it.

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use axum::http::{Method, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tongshu_core::policy::{Action, Principal, allows};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};

pub const SESSION_COOKIE: &str = "tongshu_session";
/// Form field and header that carry the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Anonymous,
    /// A browser session; holds the session token (to sign out).
    Session(String),
    /// An API token (`Authorization: Bearer <token>`, CKAN's bare `Authorization: <token>`,
    /// or `X-API-Key`), by its id, with its own rate limit if it has one.
    Token {
        id: i64,
        rate_per_minute: Option<i64>,
    },
}

/// The caller of the current request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Option<Principal>,
    pub csrf: Option<String>,
    pub via: Via,
    /// The visitor chose English (the `tongshu_lang=en` cookie); pages are Chinese first.
    pub english: bool,
}

/// The cookie holding the visitor's language (`en`; anything else: Chinese).
pub const LANG_COOKIE: &str = "tongshu_lang";

impl Caller {
    pub fn anonymous() -> Self {
        Self { principal: None, csrf: None, via: Via::Anonymous, english: false }
    }

    /// A validation or error message as this caller's pages show it: the domain's English
    /// wording, or its Chinese form (`pages::zh`).
    pub fn wording(&self, msg: &str) -> String {
        if self.english { msg.to_owned() } else { crate::pages::zh::translate(msg) }
    }

    /// The id of the API key the call came with (0: none), for usage counts.
    pub fn token_id(&self) -> i64 {
        match self.via {
            Via::Token { id, .. } => id,
            _ => 0,
        }
    }

    /// The principal, for routes whose policy already required one.
    pub fn required(&self) -> Result<&Principal, ApiError> {
        self.principal.as_ref().ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "sign in first"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Caller>().cloned().unwrap_or_else(Caller::anonymous))
    }
}

pub fn cookie<'a>(parts: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    parts
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Establishes the caller. A bad bearer token is refused at once; a stale cookie is ignored.
pub async fn resolve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let mut caller = match caller_of(&state, req.headers()).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    caller.english = cookie(req.headers(), LANG_COOKIE) == Some("en");
    req.extensions_mut().insert(caller);
    next.run(req).await
}

async fn caller_of(state: &AppState, headers: &axum::http::HeaderMap) -> Result<Caller, ApiError> {
    let key = match (headers.get(AUTHORIZATION), headers.get("x-api-key")) {
        (Some(auth), _) => {
            let v = auth
                .to_str()
                .map_err(|_| ApiError::new(ErrorCode::Unauthorized, "authorization header is not text"))?;
            let v = v.strip_prefix("Bearer ").unwrap_or(v).trim();
            if !v.starts_with(tongshu_accounts::TOKEN_PREFIX) {
                return Err(ApiError::new(
                    ErrorCode::Unauthorized,
                    "authorization header must be 'Bearer <token>' with an API token (tsk_...)",
                ));
            }
            Some(v.to_owned())
        }
        (None, Some(k)) => Some(k.to_str().unwrap_or_default().trim().to_owned()),
        (None, None) => None,
    };
    if let Some(token) = key {
        let owner = state
            .accounts
            .authenticate_token(&token)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "api token is unknown or revoked"))?;
        let via = Via::Token { id: owner.token_id, rate_per_minute: owner.rate_per_minute };
        return Ok(Caller { principal: Some(owner.principal), csrf: None, via, english: false });
    }
    if let Some(token) = cookie(headers, SESSION_COOKIE)
        && let Some(s) = state.accounts.session(token).await?
    {
        return Ok(Caller {
            principal: Some(s.principal),
            csrf: Some(s.csrf_token),
            via: Via::Session(token.to_owned()),
            english: false,
        });
    }
    Ok(Caller::anonymous())
}

/// Writes that need no CSRF token: signing in and registering (there is no session yet).
/// Only their POSTs: signing out (`DELETE /api/v1/session`) needs the token like any write.
const CSRF_EXEMPT: &[&str] = &["/login", "/register", "/api/v1/session", "/api/v1/register"];

/// Enforces the policy table and CSRF tokens. Runs on matched routes only.
pub async fn authorize(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
    let caller = req.extensions().get::<Caller>().cloned().unwrap_or_else(Caller::anonymous);
    let Some(action) = crate::routes::action_for(req.method(), &path) else {
        // A known path asked with a method it does not have: 405 with the methods it has.
        let allowed = crate::routes::methods_of(&path);
        if !allowed.is_empty() {
            let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
            let mut resp = ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!("{} is not a method of {path}; use {allow}", req.method()),
            )
            .into_response();
            if let Ok(v) = axum::http::HeaderValue::from_str(&allow) {
                resp.headers_mut().insert(axum::http::header::ALLOW, v);
            }
            return resp;
        }
        // Deny by default: a route missing from the table is a bug, never an open door.
        tracing::error!(method = %req.method(), path, "route has no policy");
        return ApiError::new(ErrorCode::Internal, "route has no policy").into_response();
    };
    let role = caller.principal.as_ref().map(|p| p.role);
    // Signed interface calls have no session: their handler authenticates them.
    let signed_call = action == Action::CallInterface && role.is_none();
    if !allows(role, action) && !signed_call {
        return refuse(&state, &req, &caller, action);
    }
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let exempt = *req.method() == Method::POST && CSRF_EXEMPT.contains(&path.as_str());
    if unsafe_method && matches!(caller.via, Via::Session(_)) && !exempt {
        let expected = caller.csrf.clone().unwrap_or_default();
        let (req, ok) = match check_csrf(req, &expected, state.settings.max_body_bytes).await {
            Ok(v) => v,
            Err(e) => return e.into_response(),
        };
        if !ok {
            tracing::warn!(path, "csrf token missing or wrong");
            return crate::pages::error_or_json(
                &state,
                &path,
                ApiError::new(ErrorCode::Forbidden, "missing or wrong CSRF token"),
            );
        }
        return next.run(req).await;
    }
    next.run(req).await
}

fn refuse(state: &AppState, req: &Request, caller: &Caller, action: Action) -> Response {
    let path = req.uri().path();
    if caller.principal.is_none() {
        if !is_api(path) && req.method() == Method::GET {
            let next = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let target = format!("/login?next={}", urlencode(next));
            return Redirect::to(&target).into_response();
        }
        return crate::pages::error_or_json(state, path, ApiError::new(ErrorCode::Unauthorized, "sign in first"));
    }
    tracing::info!(path, ?action, "forbidden by policy");
    crate::pages::error_or_json(state, path, ApiError::new(ErrorCode::Forbidden, "your role may not do this"))
}

/// Checks the CSRF header, or the `_csrf` field of a form body (which is then put back).
async fn check_csrf(req: Request, expected: &str, limit: usize) -> Result<(Request, bool), ApiError> {
    if let Some(h) = req.headers().get(CSRF_HEADER) {
        let ok = !expected.is_empty() && h.as_bytes() == expected.as_bytes();
        return Ok((req, ok));
    }
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((req, false));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge, "request body is too large"))?;
    let ok = !expected.is_empty()
        && form_urlencoded::parse(&bytes).any(|(k, v)| k == CSRF_FIELD && v.as_bytes() == expected.as_bytes());
    Ok((Request::from_parts(parts, axum::body::Body::from(bytes)), ok))
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The `Set-Cookie` value for a new session, or for clearing it (`token` = `None`).
pub fn session_cookie(token: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => format!(
            "{SESSION_COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            tongshu_accounts::SESSION_TTL.whole_seconds()
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}
