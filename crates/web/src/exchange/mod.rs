//! The exchange plane: share requests and grants, apps and their signed data interfaces,
//! the three lists, demands, objections, supervision, metering and evidence.

pub(crate) mod api;
pub(crate) mod calls;
pub(crate) mod interfaces;
pub(crate) mod lists;
pub(crate) mod pages;

use crate::http::route::Route;

/// This plane's routes with the action each needs.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        crate::route!(GET "/api/v1/exchange/requests" => Exchange, api::list_requests),
        crate::route!(POST "/api/v1/exchange/requests" => Share, api::create_request),
        crate::route!(GET "/api/v1/exchange/requests/{id}" => Exchange, api::get_request),
        crate::route!(POST "/api/v1/exchange/requests/{id}/decision" => Share, api::decide_request),
        crate::route!(GET "/api/v1/exchange/grants" => Exchange, api::list_grants),
        crate::route!(GET "/api/v1/exchange/grants/{id}" => Exchange, api::get_grant),
        crate::route!(POST "/api/v1/exchange/grants/{id}/revoke" => Share, api::revoke_grant),
        crate::route!(POST "/api/v1/exchange/grants/{id}/renew" => Share, api::renew_grant),
        crate::route!(GET "/api/v1/exchange/apps" => Exchange, api::list_apps),
        crate::route!(POST "/api/v1/exchange/apps" => Share, api::create_app),
        crate::route!(PUT "/api/v1/exchange/apps/{id}/quota" => SuperviseExchange, api::set_app_quota),
        crate::route!(GET "/api/v1/exchange/calendar" => Exchange, api::calendar),
        crate::route!(PUT "/api/v1/exchange/calendar" => SuperviseExchange, api::set_calendar_day),
        crate::route!(GET "/api/v1/exchange/supervision" => Exchange, api::supervision),
        crate::route!(GET "/api/v1/exchange/evidence" => Exchange, api::evidence),
        crate::route!(GET "/api/v1/exchange/catalog" => Exchange, lists::catalog),
        crate::route!(GET "/api/v1/exchange/metering" => Exchange, lists::metering),
        crate::route!(GET "/api/v1/exchange/demands" => Exchange, lists::demands),
        crate::route!(POST "/api/v1/exchange/demands" => Share, lists::post_demand),
        crate::route!(POST "/api/v1/exchange/demands/{id}/assign" => SuperviseExchange, lists::assign_demand),
        crate::route!(POST "/api/v1/exchange/demands/{id}/answer" => Share, lists::answer_demand),
        crate::route!(POST "/api/v1/exchange/demands/{id}/request" => Share, lists::request_from_demand),
        crate::route!(GET "/api/v1/exchange/responsibilities" => Exchange, lists::duties),
        crate::route!(POST "/api/v1/exchange/responsibilities" => SuperviseExchange, lists::add_duty),
        crate::route!(POST "/api/v1/exchange/responsibilities/{id}/fulfil" => Share, lists::fulfil_duty),
        crate::route!(GET "/api/v1/exchange/negative" => Exchange, lists::negative_list),
        crate::route!(POST "/api/v1/exchange/negative" => SuperviseExchange, lists::add_negative),
        crate::route!(DELETE "/api/v1/exchange/negative/{id}" => SuperviseExchange, lists::remove_negative),
        crate::route!(GET "/api/v1/exchange/objections" => Exchange, lists::objections),
        crate::route!(POST "/api/v1/exchange/objections" => Share, lists::object),
        crate::route!(POST "/api/v1/exchange/objections/{id}/answer" => Share, lists::answer_objection),
        crate::route!(GET "/api/v1/exchange/tables/{name}/rows" => CallInterface, calls::interface_rows),
        crate::route!(POST "/api/v1/exchange/tables/{name}/verify" => CallInterface, calls::interface_verify),
        crate::route!(GET "/api/v1/exchange/tables/{name}/lookup" => CallInterface, calls::lookup),
        crate::route!(GET "/api/v1/exchange/views/{name}/rows" => CallInterface, calls::view_rows),
        crate::route!(GET "/api/v1/exchange/views" => Exchange, interfaces::views),
        crate::route!(GET "/api/v1/exchange/mask-rules" => Exchange, lists::mask_rules),
        crate::route!(POST "/api/v1/exchange/mask-rules" => SuperviseExchange, lists::add_mask_rule),
        crate::route!(POST "/api/v1/exchange/views" => SuperviseExchange, interfaces::define_view),
        crate::route!(GET "/api/v1/exchange/tables/{name}/openapi.json" => Exchange, interfaces::interface_openapi),
        crate::route!(GET "/api/v1/exchange/evidence/export" => AuditEvidence, interfaces::export_evidence),
        crate::route!(GET "/sharing" => Exchange, pages::catalog),
        crate::route!(GET "/sharing/apply/{id}" => Share, pages::apply_form),
        crate::route!(POST "/sharing/apply/{id}" => Share, pages::apply),
        crate::route!(GET "/sharing/requests" => Exchange, pages::requests),
        crate::route!(POST "/sharing/requests/{id}" => Share, pages::decide),
        crate::route!(GET "/sharing/grants" => Exchange, pages::grants),
        crate::route!(POST "/sharing/grants/{id}/revoke" => Share, pages::revoke),
        crate::route!(GET "/sharing/supervision" => Exchange, pages::supervision),
        crate::route!(POST "/sharing/demands" => Share, pages::post_demand),
        crate::route!(POST "/sharing/demands/{id}" => Share, pages::demand_step),
        crate::route!(POST "/sharing/objections" => Share, pages::object),
        crate::route!(POST "/sharing/objections/{id}" => Share, pages::answer_objection),
        crate::route!(GET "/sharing/usage" => Exchange, pages::usage),
        crate::route!(GET "/sharing/interfaces/{table}" => Exchange, pages::interface),
        crate::route!(GET "/sharing/views/{name}" => Exchange, pages::view),
    ]
}
