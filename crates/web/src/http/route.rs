//! A row of the route table: a method, a path pattern, the action the policy requires and
//! the handler. Each plane lists its routes with [`route!`](crate::route); the router is
//! made of those lists only, so no route exists without its action.

use axum::http::Method;
use axum::routing::MethodRouter;
use tongshu_core::policy::Action;

use crate::AppState;

/// What the policy knows of a route: its method, path pattern and the action it needs.
pub struct Rule {
    pub method: Method,
    pub path: &'static str,
    pub action: Action,
}

/// A rule with its handler.
pub struct Route {
    pub rule: Rule,
    pub handler: MethodRouter<AppState>,
}

/// `route!(GET "/path" => Action, handler)`: one row of a plane's route table.
#[macro_export]
#[doc(hidden)]
macro_rules! route {
    ($method:ident $path:literal => $action:ident, $handler:expr) => {
        $crate::http::route::Route {
            rule: $crate::http::route::Rule {
                method: ::axum::http::Method::$method,
                path: $path,
                action: ::tongshu_core::policy::Action::$action,
            },
            handler: ::axum::routing::on(::axum::routing::MethodFilter::$method, $handler),
        }
    };
}
