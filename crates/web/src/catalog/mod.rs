//! The catalog plane: browsing the resource catalog, the department workbench (drafts,
//! edits, submission) and the review queue.

pub(crate) mod api;
pub(crate) mod form;
pub(crate) mod pages;
pub(crate) mod review;
pub(crate) mod workbench;

use crate::http::route::Route;

/// This plane's routes with the action each needs.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        crate::route!(GET "/api/v1/catalog" => Public, api::browse),
        crate::route!(POST "/api/v1/catalog" => EditEntries, api::create),
        crate::route!(GET "/api/v1/catalog/facets" => Public, api::facets),
        crate::route!(GET "/api/v1/catalog/{id}" => Public, api::get),
        crate::route!(PUT "/api/v1/catalog/{id}" => EditEntries, api::update),
        crate::route!(GET "/api/v1/catalog/{id}/history" => ReadHistory, api::history),
        crate::route!(GET "/api/v1/catalog/{id}/tables" => Public, api::tables),
        crate::route!(POST "/api/v1/catalog/{id}/submit" => EditEntries, api::submit),
        crate::route!(POST "/api/v1/catalog/{id}/approve" => ReviewEntries, api::approve),
        crate::route!(POST "/api/v1/catalog/{id}/return" => ReviewEntries, api::return_entry),
        crate::route!(POST "/api/v1/catalog/{id}/delist" => ReviewEntries, api::delist),
        crate::route!(GET "/api/v1/workbench" => EditEntries, api::workbench),
        crate::route!(GET "/api/v1/review-queue" => ReviewEntries, api::review_queue),
        crate::route!(GET "/" => Public, pages::home),
        crate::route!(GET "/catalog" => Public, pages::list),
        crate::route!(GET "/catalog/{id}" => Public, pages::detail),
        crate::route!(GET "/workbench" => EditEntries, workbench::list),
        crate::route!(GET "/workbench/new" => EditEntries, workbench::new_form),
        crate::route!(POST "/workbench/new" => EditEntries, workbench::create),
        crate::route!(GET "/workbench/{id}/edit" => EditEntries, workbench::edit_form),
        crate::route!(POST "/workbench/{id}/edit" => EditEntries, workbench::update),
        crate::route!(POST "/workbench/{id}/submit" => EditEntries, workbench::submit),
        crate::route!(GET "/review" => ReviewEntries, review::queue),
        crate::route!(POST "/review/{id}/approve" => ReviewEntries, review::approve),
        crate::route!(POST "/review/{id}/return" => ReviewEntries, review::return_entry),
        crate::route!(POST "/review/{id}/delist" => ReviewEntries, review::delist),
    ]
}
