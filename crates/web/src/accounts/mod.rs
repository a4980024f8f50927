//! The accounts plane: signing in, sessions and API tokens, organizations and users.

pub(crate) mod auth;
pub(crate) mod orgs;
pub(crate) mod pages;

use crate::http::route::Route;

/// This plane's routes with the action each needs.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        crate::route!(POST "/api/v1/register" => Public, auth::register),
        crate::route!(POST "/api/v1/session" => Public, auth::sign_in),
        crate::route!(DELETE "/api/v1/session" => SignedIn, auth::sign_out),
        crate::route!(GET "/api/v1/me" => SignedIn, auth::me),
        crate::route!(GET "/api/v1/tokens" => SignedIn, auth::list_tokens),
        crate::route!(POST "/api/v1/tokens" => SignedIn, auth::create_token),
        crate::route!(DELETE "/api/v1/tokens/{id}" => SignedIn, auth::revoke_token),
        crate::route!(GET "/api/v1/tokens/{id}/usage" => SignedIn, auth::token_usage),
        crate::route!(PUT "/api/v1/tokens/{id}/rate" => ManageAccounts, auth::set_token_rate),
        crate::route!(GET "/api/v1/organizations" => Public, orgs::list),
        crate::route!(GET "/api/v1/users" => ReadAccounts, orgs::list_users),
        crate::route!(POST "/api/v1/users" => ManageAccounts, orgs::create_user),
        crate::route!(GET "/developer" => SignedIn, pages::account),
        crate::route!(GET "/login" => Public, pages::login_form),
        crate::route!(POST "/login" => Public, pages::login),
        crate::route!(POST "/logout" => SignedIn, pages::logout),
        crate::route!(GET "/account" => SignedIn, pages::account),
        crate::route!(POST "/account/tokens" => SignedIn, pages::create_token),
        crate::route!(POST "/account/tokens/{id}/revoke" => SignedIn, pages::revoke_token),
    ]
}
