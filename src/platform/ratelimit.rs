//! Per-IP rate limits on the endpoints that guess passwords or create
//! accounts (SA §3.10, MKT-7): register, login, refresh. Limits are settings
//! so QA and test environments can raise them.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::platform::config::RateLimits;
use crate::platform::error::{AppError, AppResult};

/// One keyed limiter per endpoint group.
pub struct RateLimiters {
    pub register: Limiter,
    pub login: Limiter,
    pub refresh: Limiter,
    /// Per user (MKT-7).
    pub bids: Limiter,
    pub demands: Limiter,
}

impl RateLimiters {
    pub fn new(limits: &RateLimits, market: &crate::platform::config::MarketSettings) -> Self {
        RateLimiters {
            register: Limiter::per_minute(limits.register_per_minute),
            login: Limiter::per_minute(limits.login_per_minute),
            refresh: Limiter::per_minute(limits.refresh_per_minute),
            bids: Limiter::per_minute(market.bids_per_minute),
            demands: Limiter::per_minute(market.demands_per_minute),
        }
    }
}

/// A token bucket per client key: `n` requests per minute, burst `n`.
pub struct Limiter {
    inner: DefaultKeyedRateLimiter<String>,
    checks: AtomicU64,
}

impl Limiter {
    pub fn per_minute(n: u32) -> Self {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Limiter {
            inner: RateLimiter::keyed(Quota::per_minute(n)),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one request from `key`; over the limit it answers 429 with
    /// the seconds until the next request is allowed.
    pub fn check(&self, key: &str) -> AppResult<()> {
        // Forget idle keys now and then so the map does not grow forever.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.inner.retain_recent();
        }
        self.inner.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::rate_limited(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_applies_per_key_with_retry_after() {
        let limiter = Limiter::per_minute(2);
        assert!(limiter.check("1.1.1.1").is_ok());
        assert!(limiter.check("1.1.1.1").is_ok());
        let err = limiter.check("1.1.1.1").unwrap_err();
        assert_eq!(err.status.as_u16(), 429);
        assert!(err.retry_after.is_some_and(|s| (1..=60).contains(&s)));
        assert!(limiter.check("2.2.2.2").is_ok());
    }
}
