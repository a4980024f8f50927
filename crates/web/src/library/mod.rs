//! The library plane: tables, ingest uploads, jobs, exports and the SQL console.

pub(crate) mod api;
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
        crate::route!(GET "/library" => EditEntries, pages::library),
        crate::route!(GET "/jobs/{id}" => EditEntries, pages::job),
        crate::route!(GET "/sql" => QueryLibrary, pages::sql_form),
        crate::route!(POST "/sql" => QueryLibrary, pages::sql_run),
    ]
}
