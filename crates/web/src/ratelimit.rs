//! Rate limits for the public data APIs (CKAN actions, row APIs, downloads, DCAT): per API
//! key for calls that carry one (at the key's own rate, else the platform's keyed rate),
//! counted per minute in the store so that the limit holds across every node; and per client
//! address for anonymous calls, a token bucket in each node (an abuse brake, not an
//! entitlement: several nodes behind a balancer each grant an address its rate). Over a limit
//! the answer is 429 with `Retry-After`. Buckets of quiet clients are dropped, so memory
//! stays bounded by the number of recently active ones.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};

/// Paths the limit applies to.
pub fn limited(path: &str) -> bool {
    path.starts_with("/api/3/action/")
        || path.starts_with("/api/action/")
        || path.starts_with("/api/v1/open/")
        || path.starts_with("/catalog.")
        || (path.starts_with("/datasets/") && path.contains("/dcat."))
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by client address.
pub struct Limiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Limiter {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `ip` at the limiter's rate (0: unlimited): `Ok` when there was
    /// one, else how many seconds until there is.
    pub fn take(&self, ip: IpAddr) -> Result<(), u64> {
        let per_minute = self.per_minute;
        if per_minute == 0 {
            return Ok(());
        }
        let rate = f64::from(per_minute) / 60.0;
        let burst = f64::from(per_minute);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Forget addresses whose buckets are full again: they lose nothing.
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = buckets.entry(ip).or_insert(Bucket { tokens: burst, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// The middleware: limits the public data APIs per API key or, for anonymous calls, per
/// client address. Runs after the caller is resolved.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !limited(req.uri().path()) {
        return next.run(req).await;
    }
    let via = req.extensions().get::<crate::caller::Caller>().map(|c| c.via.clone());
    let taken = match via {
        Some(crate::caller::Via::Token { id, rate_per_minute }) => {
            let rate = rate_per_minute.map_or(state.settings.key_rate_per_minute, |r| u32::try_from(r).unwrap_or(0));
            // Counted in the store: a key's rate holds across every node.
            match state.accounts.take_key_call(id, rate).await {
                Ok(taken) => taken.map_err(|w| (w, "this API key")),
                Err(e) => return crate::error::ApiError::from(e).into_response(),
            }
        }
        _ => match req.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => state.limiter.take(addr.ip()).map_err(|w| (w, "this address")),
            None => Ok(()),
        },
    };
    if let Err((wait, whom)) = taken {
        let message = format!("too many requests from {whom}; try again in {wait} s");
        let path = req.uri().path();
        // CKAN clients read CKAN's envelope, whatever the error.
        let mut resp = match path.strip_prefix("/api/3/action/").or_else(|| path.strip_prefix("/api/action/")) {
            Some(action) => crate::api::ckan::throttled(&state, action, &message),
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
    use super::*;

    #[test]
    fn a_bucket_empties_and_says_how_long_to_wait() {
        let l = Limiter::new(3);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(l.take(ip).is_ok() && l.take(ip).is_ok() && l.take(ip).is_ok());
        assert_eq!(l.take(ip), Err(20), "one token comes back every 20 s at 3 a minute");
        assert!(l.take("192.0.2.2".parse().unwrap()).is_ok(), "other addresses have their own bucket");
        assert!(Limiter::new(0).take(ip).is_ok(), "0 means no limit");
        assert!(limited("/api/3/action/package_search") && limited("/datasets/x/dcat.ttl"));
        assert!(!limited("/datasets/x") && !limited("/api/v1/catalog"));
    }
}
