//! Rate limits for the public data APIs (CKAN actions, row APIs, downloads, DCAT): per API
//! key for calls that carry one (at the key's own rate, else the platform's keyed rate),
//! counted per minute in the store so that the limit holds across every node; and per client
//! address for anonymous calls, a token bucket in each node (an abuse brake, not an
//! entitlement: several nodes behind a balancer each grant an address its rate). Over a limit
//! the answer is 429 with `Retry-After`. Buckets of quiet clients are dropped, so memory
//! stays bounded by the number of recently active ones.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

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
    }
}
