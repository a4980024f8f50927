//! The route table, made of each plane's table, and the middleware that enforces it. The
//! router is built from the table, so a route cannot exist without a policy;
//! `tests/web/routes.rs` walks it with every role.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use tongshu_core::policy::{Action, allows};
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::http::caller::{self, CSRF_FIELD, CSRF_HEADER, Caller, Via, is_api, urlencode};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::render::error_or_json;
use crate::{AppState, accounts, catalog, exchange, library, ops, portal, projects};

use crate::http::route::Route;
pub use crate::http::route::Rule;

fn table() -> Vec<Route> {
    [
        ops::routes(),
        accounts::routes(),
        catalog::routes(),
        library::routes(),
        portal::routes(),
        exchange::routes(),
        projects::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The policy table (for tests and documentation).
pub fn policy() -> Vec<Rule> {
    table().into_iter().map(|r| r.rule).collect()
}

fn actions() -> &'static HashMap<(Method, &'static str), Action> {
    static ACTIONS: OnceLock<HashMap<(Method, &'static str), Action>> = OnceLock::new();
    ACTIONS.get_or_init(|| policy().into_iter().map(|r| ((r.method, r.path), r.action)).collect())
}

/// The action a matched route needs, if the route is in the table.
pub fn action_for(method: &Method, path: &str) -> Option<Action> {
    let method = if method == Method::HEAD { &Method::GET } else { method };
    actions().get(&(method.clone(), path)).copied()
}

/// The methods a path has in the table (for `405 Method Not Allowed` and its `Allow`).
pub fn methods_of(path: &str) -> Vec<Method> {
    let mut methods: Vec<Method> = actions().keys().filter(|(_, p)| *p == path).map(|(m, _)| m.clone()).collect();
    if methods.contains(&Method::GET) {
        methods.push(Method::HEAD);
    }
    methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    methods
}

pub fn router(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for r in table() {
        router = router.route(r.rule.path, r.handler);
    }
    let request_id = HeaderName::from_static("x-request-id");
    router
        .route_layer(from_fn_with_state(state.clone(), authorize))
        .route_layer(from_fn_with_state(state.clone(), observe))
        .fallback(crate::http::render::not_found)
        .layer(from_fn_with_state(state.clone(), portal::limits::limit))
        .layer(from_fn_with_state(state.clone(), caller::resolve))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, NextRequestId::default()))
        .with_state(state)
}

/// Records each answer of a matched route in the metrics, by route pattern (not raw path,
/// which would make the number of series unbounded).
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
    let resp = next.run(req).await;
    let took: Duration = started.elapsed();
    state.metrics.observe(&method, &route, resp.status().as_u16(), took);
    resp
}

/// Request ids: a random per-process prefix and a counter, short and unique.
#[derive(Clone)]
struct NextRequestId {
    prefix: String,
    counter: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for NextRequestId {
    fn default() -> Self {
        Self { prefix: format!("{:08x}", rand::random::<u32>()), counter: Default::default() }
    }
}

impl MakeRequestId for NextRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix)).ok().map(RequestId::new)
    }
}

/// Writes that need no CSRF token: signing in and registering (there is no session yet).
/// Only their POSTs: signing out (`DELETE /api/v1/session`) needs the token like any write.
const CSRF_EXEMPT: &[&str] = &["/login", "/register", "/api/v1/session", "/api/v1/register"];

/// Enforces the policy table and CSRF tokens. Runs on matched routes only.
pub async fn authorize(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
    let caller = req.extensions().get::<Caller>().cloned().unwrap_or_else(Caller::anonymous);
    let Some(action) = action_for(req.method(), &path) else {
        // A known path asked with a method it does not have: 405 with the methods it has.
        let allowed = methods_of(&path);
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
            return error_or_json(&state, &path, ApiError::new(ErrorCode::Forbidden, "missing or wrong CSRF token"));
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
        return error_or_json(state, path, ApiError::new(ErrorCode::Unauthorized, "sign in first"));
    }
    tracing::info!(path, ?action, "forbidden by policy");
    error_or_json(state, path, ApiError::new(ErrorCode::Forbidden, "your role may not do this"))
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
