//! Counts failed sign-ins per key (username, client address) in a sliding window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginThrottle {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginThrottle {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self { max_failures, window, failures: Mutex::new(HashMap::new()) }
    }

    /// How long `key` must still wait, when it has used up its failures.
    pub fn blocked_for(&self, key: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let list = map.get_mut(key)?;
        list.retain(|t| now.duration_since(*t) < self.window);
        if list.len() >= self.max_failures {
            let oldest = list.first().copied()?;
            Some(self.window.saturating_sub(now.duration_since(oldest)))
        } else {
            None
        }
    }

    pub fn fail(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Bound the memory an attacker can make us hold with random usernames.
        if map.len() > 100_000 {
            let now = Instant::now();
            map.retain(|_, v| v.last().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        map.entry(key.to_owned()).or_default().push(Instant::now());
    }

    pub fn clear(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_clears() {
        let t = LoginThrottle::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            t.fail("u");
        }
        assert!(t.blocked_for("u").is_none());
        t.fail("u");
        assert!(t.blocked_for("u").unwrap() > Duration::from_secs(50));
        assert!(t.blocked_for("v").is_none());
        t.clear("u");
        assert!(t.blocked_for("u").is_none());
    }
}
