//! The library plane: tables, ingest uploads, jobs, exports, the real-time channel's
//! pipelines and the SQL console.

pub(crate) mod api;
pub(crate) mod channel;
pub(crate) mod pages;

use crate::http::route::Route;

/// This plane's routes with the action each needs.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        crate::route!(GET "/api/v1/library/tables" => EditEntries, api::tables),
        crate::route!(POST "/api/v1/library/tables/{name}/ingest" => EditEntries, api::ingest),
        crate::route!(GET "/api/v1/library/tables/{name}/export" => EditEntries, api::export),
        crate::route!(POST "/api/v1/library/sql" => QueryLibrary, api::sql),
        crate::route!(GET "/api/v1/jobs" => EditEntries, api::jobs),
        crate::route!(GET "/api/v1/jobs/{id}" => EditEntries, api::job),
        crate::route!(GET "/api/v1/channel/pipelines" => EditEntries, channel::list),
        crate::route!(GET "/api/v1/channel/pipelines/{name}" => EditEntries, channel::show),
        crate::route!(POST "/api/v1/channel/pipelines/{name}/pause" => EditEntries, channel::pause),
        crate::route!(POST "/api/v1/channel/pipelines/{name}/resume" => EditEntries, channel::resume),
        crate::route!(GET "/channel" => EditEntries, channel::page),
        crate::route!(GET "/channel/{name}" => EditEntries, channel::detail_page),
        crate::route!(POST "/channel/{name}/pause" => EditEntries, channel::pause_form),
        crate::route!(POST "/channel/{name}/resume" => EditEntries, channel::resume_form),
        crate::route!(GET "/library" => EditEntries, pages::library),
        crate::route!(GET "/jobs/{id}" => EditEntries, pages::job),
        crate::route!(GET "/sql" => QueryLibrary, pages::sql_form),
        crate::route!(POST "/sql" => QueryLibrary, pages::sql_run),
    ]
}
