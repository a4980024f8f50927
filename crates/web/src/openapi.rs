//! The OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;

use crate::accounts::{auth, orgs};
use crate::catalog::api as catalog;
use crate::exchange::{api as exchange, calls, interfaces, lists as sharing};
use crate::library::{api as library, channel};
use crate::portal::{api as portal, downloads, rows};
use crate::projects::api as projects;

#[derive(OpenApi)]
#[openapi(
    info(title = "Tongshu API", description = "通数 — the city's public data platform: catalog, accounts and review."),
    paths(
        auth::sign_in, auth::sign_out, auth::me, auth::list_tokens, auth::create_token, auth::revoke_token,
        orgs::list, orgs::list_users, orgs::create_user,
        catalog::browse, catalog::facets, catalog::get, catalog::create, catalog::update, catalog::history, catalog::tables,
        catalog::submit, catalog::approve, catalog::return_entry, catalog::delist, catalog::workbench, catalog::review_queue,
        library::tables, library::ingest, library::export, downloads::open_download, library::sql, library::jobs, library::job,
        rows::rows, auth::register, portal::list_posts, portal::create_post, portal::decide, portal::inbox,
        auth::token_usage, auth::set_token_rate, portal::synonyms, portal::add_synonym, portal::remove_synonym,
        exchange::list_requests, exchange::create_request, exchange::get_request, exchange::decide_request,
        exchange::list_grants, exchange::get_grant, exchange::revoke_grant, exchange::renew_grant, exchange::list_apps,
        exchange::create_app, exchange::set_app_quota, exchange::calendar, exchange::set_calendar_day,
        exchange::supervision, exchange::evidence, calls::interface_rows, calls::interface_verify,
        sharing::catalog, sharing::metering, sharing::demands, sharing::post_demand, sharing::assign_demand,
        sharing::answer_demand, sharing::request_from_demand, sharing::duties, sharing::add_duty, sharing::fulfil_duty,
        sharing::negative_list, sharing::add_negative, sharing::remove_negative, sharing::objections, sharing::object,
        sharing::answer_objection, calls::lookup, calls::view_rows, interfaces::define_view, interfaces::views,
        interfaces::interface_openapi, interfaces::export_evidence, sharing::mask_rules, sharing::add_mask_rule,
        channel::list, channel::show, channel::pause, channel::resume,
        projects::list, projects::propose, projects::detail, projects::edit, projects::register_data, projects::reuse,
        projects::similar, projects::assign_expert, projects::score, projects::step, projects::attach, projects::document,
        projects::add_milestone, projects::report_milestone, projects::rebaseline, projects::add_payment, projects::checklist,
        projects::risk, projects::prefill, projects::portfolio, projects::systems, projects::add_system,
        projects::import_systems, projects::probe, projects::check, projects::system, projects::system_facts,
        projects::tickets, projects::close_ticket, projects::rounds, projects::create_round, projects::evaluate,
        projects::round_report, projects::round_report_xlsx, projects::project_report_xlsx,
    ),
    tags((name = "catalog", description = "政务信息资源目录"), (name = "review", description = "目录审核"),
         (name = "accounts", description = "账号与令牌"), (name = "organizations", description = "机构与用户"),
         (name = "library", description = "资源库：导入、导出、作业与 SQL"),
         (name = "channel", description = "实时数据通道：PostgreSQL 逻辑复制与 MySQL/MariaDB 行式 binlog 的变更捕获（状态、延迟、暂停与恢复）"),
         (name = "portal", description = "公共数据开放：行级接口、下载、注册与互动（CKAN 兼容接口见 /api/3/action）"),
         (name = "projects", description = "政务信息化项目：申报、评审、立项（数据共享审查、集约利旧）、建设、验收、运行、后评价、整改与停用；项目组合与风险"),
         (name = "systems", description = "政务信息系统清单：导入、探测、僵尸系统识别与整改工单"),
         (name = "exchange", description = "共享交换：申请与审批、授权、数据接口（HMAC-SM3 签名）、存证、计量、三张清单与数据异议")),
    modifiers(&Security, &CommonErrors),
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The error answers every operation may give, in the [`crate::http::error::ErrorBody`] shape, added
/// where an operation's annotation does not list them: 400 (bad parameters or a malformed
/// body), 401 (a bad or expired credential, also on public operations), 403, 429 (rate
/// limits and quotas); 404 for paths with a parameter; 409 for changes; 413, 415 and 422
/// with a JSON body. So the document lists every status the server answers.
struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        for (path, item) in doc.paths.paths.iter_mut() {
            let has_param = path.contains('{');
            for (changes, op) in [
                (false, item.get.as_mut()),
                (true, item.post.as_mut()),
                (true, item.put.as_mut()),
                (true, item.delete.as_mut()),
                (true, item.patch.as_mut()),
            ] {
                let Some(op) = op else { continue };
                let body = op.request_body.is_some();
                let mut codes = vec![
                    ("400", "bad parameters or a malformed body; `fields` names the place"),
                    ("401", "no valid credential"),
                    ("403", "the caller may not do this"),
                    ("429", "rate limit or quota exceeded; see Retry-After"),
                ];
                if has_param {
                    codes.push(("404", "no such record"));
                }
                if changes {
                    codes.push(("409", "the record is not in a state that allows this"));
                }
                if body {
                    codes.push(("413", "the body is too large"));
                    codes.push(("415", "the body is not application/json"));
                    codes.push(("422", "invalid fields; `fields` names each"));
                }
                for (code, what) in codes {
                    op.responses.responses.entry(code.to_owned()).or_insert_with(|| error(what).into());
                }
            }
        }
    }
}

/// The document as JSON text (also used by `tongshu openapi`).
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
