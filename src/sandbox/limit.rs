//! The tenant's rate limit as the sandbox enforces it, in one of two modes, and the rate-limit
//! headers a gateway sends with every reply.
//!
//! - [`RateLimitMode::Governor`] (the default): governor's GCRA, a bucket of `burst` cells.
//! - [`RateLimitMode::Bucket`]: a strict token bucket written out here, as an independent
//!   gateway counts: a request passes only if a whole token is in the bucket; tokens refill
//!   continuously at the rate, up to `burst`.
//!
//! With [`SandboxConfig::rate_limit_headers`](super::SandboxConfig::rate_limit_headers) every
//! `/api` reply, refused or not, says where the limit stands in both forms gateways use:
//! - `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (delta seconds until the
//!   bucket is full again) and `RateLimit-Policy: N;w=1` (IETF httpapi draft);
//! - `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` as epoch seconds
//!   (the GitHub form: a client must tell an epoch time from a delta).
//!
//! `Limit` is the sustained rate per second (the window is one second), `Remaining` the whole
//! tokens left after this request. A 429 keeps its `Retry-After` (whole seconds, at least 1).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use super::config::{RateLimit, RateLimitMode};
use super::lock;

/// The limiter of one sandbox.
pub(crate) struct Limiter {
    /// The limit it enforces.
    limit: RateLimit,
    /// How it counts.
    counting: Counting,
}

/// The two ways of counting.
enum Counting {
    /// governor's GCRA, reporting the burst capacity left.
    Governor(RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>),
    /// The strict token bucket. A std Mutex: held for arithmetic only.
    Bucket(Mutex<Bucket>),
}

/// A token bucket: `tokens` at `at`, refilled continuously.
#[derive(Debug)]
struct Bucket {
    /// Tokens in the bucket at `at`, fractions included.
    tokens: f64,
    /// When `tokens` was counted.
    at: Instant,
}

/// What the limiter made of one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Verdict {
    /// The request may pass.
    pub(crate) admitted: bool,
    /// Whole requests that could pass now, after this one.
    pub(crate) remaining: u32,
    /// How long until the bucket is full again.
    pub(crate) reset: Duration,
    /// For a refused request: how long until one would pass.
    pub(crate) wait: Duration,
}

impl Limiter {
    /// A limiter enforcing `limit`, counting as `mode` says.
    pub(crate) fn new(limit: RateLimit, mode: RateLimitMode) -> Limiter {
        let counting = match mode {
            RateLimitMode::Governor => Counting::Governor(
                RateLimiter::direct(limit.quota()).with_middleware::<StateInformationMiddleware>(),
            ),
            RateLimitMode::Bucket => Counting::Bucket(Mutex::new(Bucket {
                tokens: f64::from(limit.burst.get()),
                at: Instant::now(),
            })),
        };
        Limiter { limit, counting }
    }

    /// Counts one request: passes it or refuses it.
    pub(crate) fn check(&self) -> Verdict {
        match &self.counting {
            Counting::Governor(limiter) => self.check_governor(limiter),
            Counting::Bucket(bucket) => lock(bucket).take(self.limit, Instant::now()),
        }
    }

    fn check_governor(
        &self,
        limiter: &RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>,
    ) -> Verdict {
        let per_token = Duration::from_secs(1) / self.limit.per_second.get();
        match limiter.check() {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Verdict {
                    admitted: true,
                    remaining,
                    reset: per_token * self.limit.burst.get().saturating_sub(remaining),
                    wait: Duration::ZERO,
                }
            }
            Err(not_until) => Verdict {
                admitted: false,
                remaining: 0,
                reset: per_token * self.limit.burst.get(),
                wait: not_until.wait_time_from(limiter.clock().now()),
            },
        }
    }

    /// The rate-limit headers of a reply to a request `verdict` was given, in both forms.
    pub(crate) fn add_headers(&self, verdict: &Verdict, headers: &mut HeaderMap) {
        let limit = self.limit.per_second.get();
        let reset = whole_seconds_up(verdict.reset);
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            + reset;
        let mut set = |name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        };
        set("ratelimit-limit", limit.to_string());
        set("ratelimit-remaining", verdict.remaining.to_string());
        set("ratelimit-reset", reset.to_string());
        set("ratelimit-policy", format!("{limit};w=1"));
        set("x-ratelimit-limit", limit.to_string());
        set("x-ratelimit-remaining", verdict.remaining.to_string());
        set("x-ratelimit-reset", epoch.to_string());
    }
}

impl Bucket {
    /// Refills the bucket up to `now`, then takes a whole token if there is one.
    fn take(&mut self, limit: RateLimit, now: Instant) -> Verdict {
        let rate = f64::from(limit.per_second.get());
        let capacity = f64::from(limit.burst.get());
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.at = now;
        let admitted = self.tokens >= 1.0;
        if admitted {
            self.tokens -= 1.0;
        }
        let seconds = |tokens: f64| Duration::from_secs_f64((tokens / rate).max(0.0));
        Verdict {
            admitted,
            remaining: self.tokens.floor() as u32,
            reset: seconds(capacity - self.tokens),
            wait: if admitted {
                Duration::ZERO
            } else {
                seconds(1.0 - self.tokens)
            },
        }
    }
}

impl RateLimit {
    /// The governor quota for this limit; the burst is set explicitly, never implied.
    pub(crate) fn quota(&self) -> Quota {
        Quota::per_second(self.per_second).allow_burst(self.burst)
    }
}

/// A duration in whole seconds, rounded up (zero stays zero).
fn whole_seconds_up(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn limit(per_second: u32, burst: u32) -> RateLimit {
        RateLimit {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        }
    }

    #[test]
    fn the_bucket_admits_only_whole_tokens_and_refills_at_the_rate() {
        let start = Instant::now();
        let mut bucket = Bucket {
            tokens: 3.0,
            at: start,
        };
        let limit = limit(10, 3);
        let admitted: Vec<bool> = (0..4).map(|_| bucket.take(limit, start).admitted).collect();
        assert_eq!(admitted, [true, true, true, false]);
        // 90 ms later 0.9 of a token has come back: not enough.
        let verdict = bucket.take(limit, start + Duration::from_millis(90));
        assert!(!verdict.admitted);
        assert_eq!(verdict.remaining, 0);
        assert!(verdict.wait > Duration::ZERO && verdict.wait <= Duration::from_millis(11));
        let verdict = bucket.take(limit, start + Duration::from_millis(101));
        assert!(verdict.admitted, "{verdict:?}");
        // A long quiet spell fills it to the burst, never beyond.
        let verdict = bucket.take(limit, start + Duration::from_secs(60));
        assert_eq!(verdict.remaining, 2);
        assert_eq!(whole_seconds_up(verdict.reset), 1);
    }

    #[test]
    fn governor_reports_what_is_left() {
        let limiter = Limiter::new(limit(100, 2), RateLimitMode::Governor);
        let first = limiter.check();
        assert!(first.admitted);
        assert_eq!(first.remaining, 1);
        assert!(limiter.check().admitted);
        let refused = limiter.check();
        assert!(!refused.admitted);
        assert!(refused.wait > Duration::ZERO);
    }

    #[test]
    fn headers_come_in_both_forms() {
        let limiter = Limiter::new(limit(100, 10), RateLimitMode::Bucket);
        let verdict = limiter.check();
        let mut headers = HeaderMap::new();
        limiter.add_headers(&verdict, &mut headers);
        let get = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
        assert_eq!(get("ratelimit-limit"), "100");
        assert_eq!(get("ratelimit-remaining"), "9");
        assert_eq!(get("ratelimit-reset"), "1");
        assert_eq!(get("ratelimit-policy"), "100;w=1");
        assert_eq!(get("x-ratelimit-remaining"), "9");
        assert!(get("x-ratelimit-reset").parse::<u64>().unwrap() > 1_600_000_000);
    }
}
