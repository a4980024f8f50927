//! Who is calling, and whether they may: the two middlewares every request passes.
//!
//! [`resolve`] finds the caller from a bearer token or the session cookie. [`authorize`]
//! looks the matched route up in the policy table, asks the core policy whether the
//! caller's role may take the route's action, and checks the CSRF token of cookie-
//! authenticated writes. Handlers receive a [`Caller`] and can trust it.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tongshu_core::policy::Principal;

use crate::AppState;
use crate::http::error::{ApiError, ErrorCode};

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
        if self.english { msg.to_owned() } else { crate::http::zh::translate(msg) }
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
