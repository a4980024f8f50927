//! The rate limits of the public data APIs (CKAN actions, open row APIs, downloads, DCAT):
//! a call with an API key is counted per key in the store (so the limit holds across every
//! node); an anonymous call per client address ([`crate::http::ratelimit::Limiter`]).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::http::error::{ApiError, ErrorCode};

/// Paths the limit applies to.
pub fn limited(path: &str) -> bool {
    path.starts_with("/api/3/action/")
        || path.starts_with("/api/action/")
        || path.starts_with("/api/v1/open/")
        || path.starts_with("/catalog.")
        || (path.starts_with("/datasets/") && path.contains("/dcat."))
}

/// The middleware: limits the public data APIs per API key or, for anonymous calls, per
/// client address. Runs after the caller is resolved.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !limited(req.uri().path()) {
        return next.run(req).await;
    }
    let via = req.extensions().get::<crate::http::caller::Caller>().map(|c| c.via.clone());
    let taken = match via {
        Some(crate::http::caller::Via::Token { id, rate_per_minute }) => {
            let rate = rate_per_minute.map_or(state.settings.key_rate_per_minute, |r| u32::try_from(r).unwrap_or(0));
            // Counted in the store: a key's rate holds across every node.
            match state.accounts.take_key_call(id, rate).await {
                Ok(taken) => taken.map_err(|w| (w, "this API key")),
                Err(e) => return crate::http::error::ApiError::from(e).into_response(),
            }
        }
        _ => match req.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => state.limiter().take(addr.ip()).map_err(|w| (w, "this address")),
            None => Ok(()),
        },
    };
    if let Err((wait, whom)) = taken {
        let message = format!("too many requests from {whom}; try again in {wait} s");
        let path = req.uri().path();
        // CKAN clients read CKAN's envelope, whatever the error.
        let mut resp = match path.strip_prefix("/api/3/action/").or_else(|| path.strip_prefix("/api/action/")) {
            Some(action) => super::ckan::throttled(&state, action, &message),
            None => ApiError::new(ErrorCode::TooManyRequests, message).into_response(),
        };
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return resp;
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_public_data_apis_are_limited_and_pages_are_not() {
        assert!(super::limited("/api/3/action/package_search") && super::limited("/datasets/x/dcat.ttl"));
        assert!(!super::limited("/datasets/x") && !super::limited("/api/v1/catalog"));
    }
}
