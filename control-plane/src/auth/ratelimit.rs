//! Keyed token buckets for login and registration attempts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::settings::RateLimit;

/// Beyond this many tracked keys, buckets that have refilled are forgotten.
const PRUNE_AT: usize = 10_000;

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// A token bucket per key (an email, a client address), in memory.
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter allowing `limit.burst` attempts, refilled one per `limit.refill_secs`.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one attempt for `key`, or says how long until one is available.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limit.burst);
        let per_sec = 1.0 / self.limit.refill_secs;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * per_sec < burst
            });
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let refilled = now.saturating_duration_since(bucket.updated).as_secs_f64() * per_sec;
        bucket.tokens = (bucket.tokens + refilled).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 3,
            refill_secs: 10.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check("ada", t0).is_ok());
        }
        let wait = limiter.check("ada", t0).unwrap_err();
        assert_eq!(wait.as_secs(), 10);
        // Other keys have their own bucket.
        assert!(limiter.check("bob", t0).is_ok());
        // After the wait one more attempt is allowed, and only one.
        let t1 = t0 + Duration::from_secs(10);
        assert!(limiter.check("ada", t1).is_ok());
        assert!(limiter.check("ada", t1).is_err());
    }

    #[test]
    fn full_buckets_are_pruned() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 1,
            refill_secs: 1.0,
        });
        let t0 = Instant::now();
        for i in 0..PRUNE_AT {
            limiter.check(&format!("k{i}"), t0).unwrap();
        }
        limiter.check("last", t0 + Duration::from_secs(5)).unwrap();
        assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    }
}
