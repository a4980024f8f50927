//! The open data portal: search and dataset pages, the open row API and downloads, CKAN's
//! Action API, DCAT, public interaction (requests, showcases, feedback), statistics, and
//! the rate limits of the public data APIs.

pub(crate) mod admin;
pub(crate) mod api;
pub(crate) mod ckan;
pub(crate) mod dcat;
pub(crate) mod downloads;
pub(crate) mod interact;
pub(crate) mod limits;
pub(crate) mod pages;
pub(crate) mod rows;
pub(crate) mod stats;

use crate::http::route::Route;

/// This plane's routes with the action each needs.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        crate::route!(GET "/api/v1/portal/posts" => Public, api::list_posts),
        crate::route!(POST "/api/v1/portal/posts" => SignedIn, api::create_post),
        crate::route!(POST "/api/v1/portal/posts/{id}/decision" => SignedIn, api::decide),
        crate::route!(GET "/api/v1/portal/inbox" => SignedIn, api::inbox),
        crate::route!(GET "/api/v1/admin/synonyms" => ManagePortal, api::synonyms),
        crate::route!(POST "/api/v1/admin/synonyms" => ManagePortal, api::add_synonym),
        crate::route!(DELETE "/api/v1/admin/synonyms/{id}" => ManagePortal, api::remove_synonym),
        crate::route!(GET "/api/3/action/{action}" => Public, ckan::action),
        crate::route!(POST "/api/3/action/{action}" => Public, ckan::action),
        crate::route!(GET "/api/action/{action}" => Public, ckan::action),
        crate::route!(POST "/api/action/{action}" => Public, ckan::action),
        crate::route!(GET "/api/v1/open/tables/{name}/download" => Public, downloads::open_download),
        crate::route!(GET "/api/v1/open/tables/{name}/rows" => Public, rows::rows),
        crate::route!(GET "/catalog.ttl" => Public, dcat::catalog_ttl),
        crate::route!(GET "/robots.txt" => Public, dcat::robots),
        crate::route!(GET "/sitemap.xml" => Public, dcat::sitemap),
        crate::route!(GET "/catalog.jsonld" => Public, dcat::catalog_jsonld),
        crate::route!(GET "/datasets/{name}/dcat.ttl" => Public, dcat::dataset_ttl),
        crate::route!(GET "/datasets/{name}/dcat.jsonld" => Public, dcat::dataset_jsonld),
        crate::route!(GET "/datasets" => Public, pages::search),
        crate::route!(GET "/datasets/{name}" => Public, pages::detail),
        crate::route!(GET "/organizations/{slug}" => Public, pages::organization),
        crate::route!(GET "/topics/{slug}" => Public, pages::topic),
        crate::route!(GET "/topics" => Public, pages::all),
        crate::route!(GET "/districts/{code}" => Public, pages::district),
        crate::route!(GET "/register" => Public, interact::register_form),
        crate::route!(POST "/register" => Public, interact::register),
        crate::route!(GET "/requests" => Public, interact::requests),
        crate::route!(POST "/requests" => SignedIn, interact::post_request),
        crate::route!(GET "/showcase" => Public, interact::showcase),
        crate::route!(POST "/showcase" => SignedIn, interact::post_showcase),
        crate::route!(POST "/datasets/{name}/posts/{kind}" => SignedIn, interact::post_on_dataset),
        crate::route!(GET "/inbox" => SignedIn, interact::inbox),
        crate::route!(POST "/inbox/{id}" => SignedIn, interact::decide),
        crate::route!(GET "/stats" => Public, stats::stats),
        crate::route!(GET "/admin/synonyms" => ManagePortal, admin::synonyms),
        crate::route!(POST "/admin/synonyms" => ManagePortal, admin::add_synonym),
        crate::route!(POST "/admin/synonyms/{id}/delete" => ManagePortal, admin::remove_synonym),
    ]
}
