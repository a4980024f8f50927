//! Every route with the action it needs. The router is built from this table, so a route
//! cannot exist without a policy; `tests/web.rs` walks the table with every role.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};
use tongshu_core::policy::Action;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::{AppState, api, assets, caller, pages};

/// One row of the table: a method, a path pattern and the action it needs.
pub struct Rule {
    pub method: Method,
    pub path: &'static str,
    pub action: Action,
}

struct Route {
    rule: Rule,
    handler: MethodRouter<AppState>,
}

macro_rules! route {
    ($method:ident $path:literal => $action:ident, $handler:expr) => {
        Route {
            rule: Rule { method: Method::$method, path: $path, action: Action::$action },
            handler: on(MethodFilter::$method, $handler),
        }
    };
}

fn table() -> Vec<Route> {
    vec![
        // Operations.
        route!(GET "/healthz" => Public, api::ops::healthz),
        route!(GET "/readyz" => Public, api::ops::readyz),
        route!(GET "/metrics" => Public, api::ops::metrics),
        route!(GET "/assets/{file}" => Public, assets::serve),
        // JSON API.
        route!(GET "/api/v1/openapi.json" => Public, api::openapi::serve),
        route!(POST "/api/v1/session" => Public, api::auth::sign_in),
        route!(DELETE "/api/v1/session" => SignedIn, api::auth::sign_out),
        route!(GET "/api/v1/me" => SignedIn, api::auth::me),
        route!(GET "/api/v1/tokens" => SignedIn, api::auth::list_tokens),
        route!(POST "/api/v1/tokens" => SignedIn, api::auth::create_token),
        route!(DELETE "/api/v1/tokens/{id}" => SignedIn, api::auth::revoke_token),
        route!(GET "/api/v1/tokens/{id}/usage" => SignedIn, api::portal::token_usage),
        route!(PUT "/api/v1/tokens/{id}/rate" => ManageAccounts, api::portal::set_token_rate),
        route!(POST "/api/v1/register" => Public, api::portal::register),
        // Exchange between departments.
        route!(GET "/api/v1/exchange/requests" => Exchange, api::exchange::list_requests),
        route!(POST "/api/v1/exchange/requests" => Share, api::exchange::create_request),
        route!(GET "/api/v1/exchange/requests/{id}" => Exchange, api::exchange::get_request),
        route!(POST "/api/v1/exchange/requests/{id}/decision" => Share, api::exchange::decide_request),
        route!(GET "/api/v1/exchange/grants" => Exchange, api::exchange::list_grants),
        route!(GET "/api/v1/exchange/grants/{id}" => Exchange, api::exchange::get_grant),
        route!(POST "/api/v1/exchange/grants/{id}/revoke" => Share, api::exchange::revoke_grant),
        route!(POST "/api/v1/exchange/grants/{id}/renew" => Share, api::exchange::renew_grant),
        route!(GET "/api/v1/exchange/apps" => Exchange, api::exchange::list_apps),
        route!(POST "/api/v1/exchange/apps" => Share, api::exchange::create_app),
        route!(PUT "/api/v1/exchange/apps/{id}/quota" => SuperviseExchange, api::exchange::set_app_quota),
        route!(GET "/api/v1/exchange/calendar" => Exchange, api::exchange::calendar),
        route!(PUT "/api/v1/exchange/calendar" => SuperviseExchange, api::exchange::set_calendar_day),
        route!(GET "/api/v1/exchange/supervision" => Exchange, api::exchange::supervision),
        route!(GET "/api/v1/exchange/evidence" => Exchange, api::exchange::evidence),
        route!(GET "/api/v1/exchange/catalog" => Exchange, api::sharing::catalog),
        route!(GET "/api/v1/exchange/metering" => Exchange, api::sharing::metering),
        route!(GET "/api/v1/exchange/demands" => Exchange, api::sharing::demands),
        route!(POST "/api/v1/exchange/demands" => Share, api::sharing::post_demand),
        route!(POST "/api/v1/exchange/demands/{id}/assign" => SuperviseExchange, api::sharing::assign_demand),
        route!(POST "/api/v1/exchange/demands/{id}/answer" => Share, api::sharing::answer_demand),
        route!(POST "/api/v1/exchange/demands/{id}/request" => Share, api::sharing::request_from_demand),
        route!(GET "/api/v1/exchange/responsibilities" => Exchange, api::sharing::duties),
        route!(POST "/api/v1/exchange/responsibilities" => SuperviseExchange, api::sharing::add_duty),
        route!(POST "/api/v1/exchange/responsibilities/{id}/fulfil" => Share, api::sharing::fulfil_duty),
        route!(GET "/api/v1/exchange/negative" => Exchange, api::sharing::negative_list),
        route!(POST "/api/v1/exchange/negative" => SuperviseExchange, api::sharing::add_negative),
        route!(DELETE "/api/v1/exchange/negative/{id}" => SuperviseExchange, api::sharing::remove_negative),
        route!(GET "/api/v1/exchange/objections" => Exchange, api::sharing::objections),
        route!(POST "/api/v1/exchange/objections" => Share, api::sharing::object),
        route!(POST "/api/v1/exchange/objections/{id}/answer" => Share, api::sharing::answer_objection),
        // Data interfaces: apps sign their calls, so the handler authenticates.
        route!(GET "/api/v1/exchange/tables/{name}/rows" => CallInterface, api::exchange::interface_rows),
        route!(POST "/api/v1/exchange/tables/{name}/verify" => CallInterface, api::exchange::interface_verify),
        route!(GET "/api/v1/exchange/tables/{name}/lookup" => CallInterface, api::interfaces::lookup),
        route!(GET "/api/v1/exchange/views/{name}/rows" => CallInterface, api::interfaces::view_rows),
        route!(GET "/api/v1/exchange/views" => Exchange, api::interfaces::views),
        route!(GET "/api/v1/exchange/mask-rules" => Exchange, api::sharing::mask_rules),
        route!(POST "/api/v1/exchange/mask-rules" => SuperviseExchange, api::sharing::add_mask_rule),
        route!(POST "/api/v1/exchange/views" => SuperviseExchange, api::interfaces::define_view),
        route!(GET "/api/v1/exchange/tables/{name}/openapi.json" => Exchange, api::interfaces::interface_openapi),
        route!(GET "/api/v1/exchange/evidence/export" => AuditEvidence, api::interfaces::export_evidence),
        route!(GET "/api/v1/portal/posts" => Public, api::portal::list_posts),
        route!(POST "/api/v1/portal/posts" => SignedIn, api::portal::create_post),
        route!(POST "/api/v1/portal/posts/{id}/decision" => SignedIn, api::portal::decide),
        route!(GET "/api/v1/portal/inbox" => SignedIn, api::portal::inbox),
        route!(GET "/api/v1/admin/synonyms" => ManagePortal, api::portal::synonyms),
        route!(POST "/api/v1/admin/synonyms" => ManagePortal, api::portal::add_synonym),
        route!(DELETE "/api/v1/admin/synonyms/{id}" => ManagePortal, api::portal::remove_synonym),
        route!(GET "/api/v1/organizations" => Public, api::orgs::list),
        route!(GET "/api/v1/users" => ReadAccounts, api::orgs::list_users),
        route!(POST "/api/v1/users" => ManageAccounts, api::orgs::create_user),
        route!(GET "/api/v1/catalog" => Public, api::catalog::browse),
        // The open data portal's APIs: CKAN's Action API, public downloads.
        route!(GET "/api/3/action/{action}" => Public, api::ckan::action),
        route!(POST "/api/3/action/{action}" => Public, api::ckan::action),
        // CKAN answers without the version too (ckanapi calls these).
        route!(GET "/api/action/{action}" => Public, api::ckan::action),
        route!(POST "/api/action/{action}" => Public, api::ckan::action),
        route!(GET "/api/v1/open/tables/{name}/download" => Public, api::library::open_download),
        route!(GET "/api/v1/open/tables/{name}/rows" => Public, api::rows::rows),
        route!(GET "/catalog.ttl" => Public, api::dcat::catalog_ttl),
        route!(GET "/robots.txt" => Public, api::dcat::robots),
        route!(GET "/sitemap.xml" => Public, api::dcat::sitemap),
        route!(GET "/catalog.jsonld" => Public, api::dcat::catalog_jsonld),
        route!(GET "/datasets/{name}/dcat.ttl" => Public, api::dcat::dataset_ttl),
        route!(GET "/datasets/{name}/dcat.jsonld" => Public, api::dcat::dataset_jsonld),
        route!(POST "/api/v1/catalog" => EditEntries, api::catalog::create),
        route!(GET "/api/v1/catalog/facets" => Public, api::catalog::facets),
        route!(GET "/api/v1/catalog/{id}" => Public, api::catalog::get),
        route!(PUT "/api/v1/catalog/{id}" => EditEntries, api::catalog::update),
        route!(GET "/api/v1/catalog/{id}/history" => ReadHistory, api::catalog::history),
        route!(GET "/api/v1/catalog/{id}/tables" => Public, api::catalog::tables),
        route!(POST "/api/v1/catalog/{id}/submit" => EditEntries, api::catalog::submit),
        route!(POST "/api/v1/catalog/{id}/approve" => ReviewEntries, api::catalog::approve),
        route!(POST "/api/v1/catalog/{id}/return" => ReviewEntries, api::catalog::return_entry),
        route!(POST "/api/v1/catalog/{id}/delist" => ReviewEntries, api::catalog::delist),
        route!(GET "/api/v1/workbench" => EditEntries, api::catalog::workbench),
        route!(GET "/api/v1/review-queue" => ReviewEntries, api::catalog::review_queue),
        route!(GET "/api/v1/library/tables" => EditEntries, api::library::tables),
        route!(POST "/api/v1/library/tables/{name}/ingest" => EditEntries, api::library::ingest),
        route!(GET "/api/v1/library/tables/{name}/export" => EditEntries, api::library::export),
        route!(POST "/api/v1/library/sql" => QueryLibrary, api::library::sql),
        route!(GET "/api/v1/jobs" => EditEntries, api::library::jobs),
        route!(GET "/api/v1/jobs/{id}" => EditEntries, api::library::job),
        // Pages.
        route!(GET "/" => Public, pages::catalog::home),
        route!(GET "/catalog" => Public, pages::catalog::list),
        route!(GET "/datasets" => Public, pages::portal::search),
        route!(GET "/datasets/{name}" => Public, pages::portal::detail),
        route!(GET "/organizations/{slug}" => Public, pages::portal::organization),
        route!(GET "/topics/{slug}" => Public, pages::portal::topic),
        route!(GET "/topics" => Public, pages::portal::all),
        route!(GET "/districts/{code}" => Public, pages::portal::district),
        route!(GET "/catalog/{id}" => Public, pages::catalog::detail),
        route!(GET "/register" => Public, pages::interact::register_form),
        route!(POST "/register" => Public, pages::interact::register),
        route!(GET "/requests" => Public, pages::interact::requests),
        route!(POST "/requests" => SignedIn, pages::interact::post_request),
        route!(GET "/showcase" => Public, pages::interact::showcase),
        route!(POST "/showcase" => SignedIn, pages::interact::post_showcase),
        route!(POST "/datasets/{name}/posts/{kind}" => SignedIn, pages::interact::post_on_dataset),
        route!(GET "/inbox" => SignedIn, pages::interact::inbox),
        route!(GET "/sharing" => Exchange, pages::sharing::catalog),
        route!(GET "/sharing/apply/{id}" => Share, pages::sharing::apply_form),
        route!(POST "/sharing/apply/{id}" => Share, pages::sharing::apply),
        route!(GET "/sharing/requests" => Exchange, pages::sharing::requests),
        route!(POST "/sharing/requests/{id}" => Share, pages::sharing::decide),
        route!(GET "/sharing/grants" => Exchange, pages::sharing::grants),
        route!(POST "/sharing/grants/{id}/revoke" => Share, pages::sharing::revoke),
        route!(GET "/sharing/supervision" => Exchange, pages::sharing::supervision),
        route!(POST "/sharing/demands" => Share, pages::sharing::post_demand),
        route!(POST "/sharing/demands/{id}" => Share, pages::sharing::demand_step),
        route!(POST "/sharing/objections" => Share, pages::sharing::object),
        route!(POST "/sharing/objections/{id}" => Share, pages::sharing::answer_objection),
        route!(GET "/sharing/usage" => Exchange, pages::sharing::usage),
        route!(GET "/sharing/interfaces/{table}" => Exchange, pages::sharing::interface),
        route!(GET "/sharing/views/{name}" => Exchange, pages::sharing::view),
        route!(POST "/inbox/{id}" => SignedIn, pages::interact::decide),
        route!(GET "/stats" => Public, pages::stats::stats),
        route!(GET "/lang" => Public, pages::switch_lang),
        route!(GET "/developer" => SignedIn, pages::account::account),
        route!(GET "/login" => Public, pages::account::login_form),
        route!(POST "/login" => Public, pages::account::login),
        route!(POST "/logout" => SignedIn, pages::account::logout),
        route!(GET "/account" => SignedIn, pages::account::account),
        route!(POST "/account/tokens" => SignedIn, pages::account::create_token),
        route!(POST "/account/tokens/{id}/revoke" => SignedIn, pages::account::revoke_token),
        route!(GET "/workbench" => EditEntries, pages::workbench::list),
        route!(GET "/workbench/new" => EditEntries, pages::workbench::new_form),
        route!(POST "/workbench/new" => EditEntries, pages::workbench::create),
        route!(GET "/workbench/{id}/edit" => EditEntries, pages::workbench::edit_form),
        route!(POST "/workbench/{id}/edit" => EditEntries, pages::workbench::update),
        route!(POST "/workbench/{id}/submit" => EditEntries, pages::workbench::submit),
        route!(GET "/library" => EditEntries, pages::library::library),
        route!(GET "/jobs/{id}" => EditEntries, pages::library::job),
        route!(GET "/sql" => QueryLibrary, pages::library::sql_form),
        route!(POST "/sql" => QueryLibrary, pages::library::sql_run),
        route!(GET "/admin/synonyms" => ManagePortal, pages::review::synonyms),
        route!(POST "/admin/synonyms" => ManagePortal, pages::review::add_synonym),
        route!(POST "/admin/synonyms/{id}/delete" => ManagePortal, pages::review::remove_synonym),
        route!(GET "/review" => ReviewEntries, pages::review::queue),
        route!(POST "/review/{id}/approve" => ReviewEntries, pages::review::approve),
        route!(POST "/review/{id}/return" => ReviewEntries, pages::review::return_entry),
        route!(POST "/review/{id}/delist" => ReviewEntries, pages::review::delist),
    ]
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
        .route_layer(from_fn_with_state(state.clone(), caller::authorize))
        .route_layer(from_fn_with_state(state.clone(), observe))
        .fallback(pages::not_found)
        .layer(from_fn_with_state(state.clone(), crate::ratelimit::limit))
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
