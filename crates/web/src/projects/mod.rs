//! The projects plane: IT projects from proposal to post-evaluation, the inventory of
//! information systems, zombie detection and rectification tickets, evaluation rounds and
//! the portfolio (issue 16).

pub(crate) mod api;
pub(crate) mod forms;
pub(crate) mod pages;

use crate::http::route::Route;

/// This plane's routes with the action each needs (the service decides which projects).
pub(crate) fn routes() -> Vec<Route> {
    vec![
        crate::route!(GET "/api/v1/projects" => Projects, api::list),
        crate::route!(POST "/api/v1/projects" => ProposeProjects, api::propose),
        crate::route!(GET "/api/v1/projects/{id}" => Projects, api::detail),
        crate::route!(PUT "/api/v1/projects/{id}" => ProposeProjects, api::edit),
        crate::route!(POST "/api/v1/projects/{id}/data" => ProposeProjects, api::register_data),
        crate::route!(POST "/api/v1/projects/{id}/reuse" => ManageProjects, api::reuse),
        crate::route!(GET "/api/v1/projects/{id}/similar" => Projects, api::similar),
        crate::route!(POST "/api/v1/projects/{id}/experts" => ManageProjects, api::assign_expert),
        crate::route!(POST "/api/v1/projects/{id}/score" => Projects, api::score),
        crate::route!(POST "/api/v1/projects/{id}/steps" => ProposeProjects, api::step),
        crate::route!(POST "/api/v1/projects/{id}/documents" => Projects, api::attach),
        crate::route!(GET "/api/v1/project-documents/{id}" => Projects, api::document),
        crate::route!(POST "/api/v1/projects/{id}/milestones" => ProposeProjects, api::add_milestone),
        crate::route!(POST "/api/v1/milestones/{id}/report" => ProposeProjects, api::report_milestone),
        crate::route!(POST "/api/v1/milestones/{id}/rebaseline" => ManageProjects, api::rebaseline),
        crate::route!(POST "/api/v1/projects/{id}/payments" => ProposeProjects, api::add_payment),
        crate::route!(POST "/api/v1/projects/{id}/checklist" => ManageProjects, api::checklist),
        crate::route!(POST "/api/v1/projects/{id}/risk" => ManageProjects, api::risk),
        crate::route!(GET "/api/v1/projects/{id}/prefill" => Projects, api::prefill),
        crate::route!(GET "/api/v1/projects/{id}/report.xlsx" => Projects, api::project_report_xlsx),
        crate::route!(GET "/api/v1/portfolio" => Projects, api::portfolio),
        crate::route!(GET "/api/v1/systems" => Projects, api::systems),
        crate::route!(POST "/api/v1/systems" => ProposeProjects, api::add_system),
        crate::route!(POST "/api/v1/systems/import" => ManageProjects, api::import_systems),
        crate::route!(POST "/api/v1/systems/probe" => ManageProjects, api::probe),
        crate::route!(POST "/api/v1/systems/check" => ManageProjects, api::check),
        crate::route!(GET "/api/v1/systems/{id}" => Projects, api::system),
        crate::route!(POST "/api/v1/systems/{id}/facts" => ProposeProjects, api::system_facts),
        crate::route!(GET "/api/v1/tickets" => Projects, api::tickets),
        crate::route!(POST "/api/v1/tickets/{id}/close" => ProposeProjects, api::close_ticket),
        crate::route!(GET "/api/v1/evaluation/rounds" => Projects, api::rounds),
        crate::route!(POST "/api/v1/evaluation/rounds" => ManageProjects, api::create_round),
        crate::route!(POST "/api/v1/evaluation/rounds/{id}/evaluations" => Projects, api::evaluate),
        crate::route!(GET "/api/v1/evaluation/rounds/{id}/report" => Projects, api::round_report),
        crate::route!(GET "/api/v1/evaluation/rounds/{id}/report.xlsx" => Projects, api::round_report_xlsx),
        crate::route!(GET "/projects" => Projects, pages::portfolio),
        crate::route!(GET "/projects/{id}" => Projects, pages::project),
        crate::route!(GET "/systems" => Projects, pages::systems),
        crate::route!(GET "/evaluation/{id}" => Projects, pages::round),
        crate::route!(POST "/projects" => ProposeProjects, forms::propose),
        crate::route!(POST "/projects/{id}" => ProposeProjects, forms::edit),
        crate::route!(POST "/projects/{id}/steps" => ProposeProjects, forms::step),
        crate::route!(POST "/projects/{id}/data" => ProposeProjects, forms::register_data),
        crate::route!(POST "/projects/{id}/reuse" => ManageProjects, forms::reuse),
        crate::route!(POST "/projects/{id}/experts" => ManageProjects, forms::assign_expert),
        crate::route!(POST "/projects/{id}/score" => Projects, forms::score),
        crate::route!(POST "/projects/{id}/milestones" => ProposeProjects, forms::add_milestone),
        crate::route!(POST "/projects/{id}/milestones/{m}/report" => ProposeProjects, forms::report_milestone),
        crate::route!(POST "/projects/{id}/milestones/{m}/rebaseline" => ManageProjects, forms::rebaseline),
        crate::route!(POST "/projects/{id}/payments" => ProposeProjects, forms::add_payment),
        crate::route!(POST "/projects/{id}/checklist" => ManageProjects, forms::checklist),
        crate::route!(POST "/projects/{id}/risk" => ManageProjects, forms::risk),
        crate::route!(POST "/systems" => ProposeProjects, forms::add_system),
        crate::route!(POST "/systems/check" => ManageProjects, forms::check),
        crate::route!(POST "/systems/{id}/facts" => ProposeProjects, forms::system_facts),
        crate::route!(POST "/tickets/{id}/close" => ProposeProjects, forms::close_ticket),
        crate::route!(POST "/evaluation" => ManageProjects, forms::create_round),
        crate::route!(POST "/evaluation/{id}" => Projects, forms::evaluate),
    ]
}
