//! The tenant's rate limit as the sandbox enforces it, in one of four ways, with a schedule
//! of rate changes, and the rate-limit headers a gateway sends with every reply.
//!
//! - [`RateLimitMode::Governor`] (the default): governor's GCRA, a bucket of `burst` cells.
//! - [`RateLimitMode::Bucket`]: a strict token bucket written out here, as an independent
//!   gateway counts: a request passes only if a whole token is in the bucket; tokens refill
//!   continuously at the rate, up to `burst`.
//! - [`RateLimitMode::Window`] and [`RateLimitMode::BlockingWindow`]: fixed windows
//!   ([`window`]), aligned on the epoch so that a window's end is a whole epoch second.
//!
//! With a schedule ([`SandboxConfig::rate_limit_schedule`](super::SandboxConfig)) the rate
//! changes at the given times: the strict bucket keeps its tokens and refills at the new
//! rate, windows allow the new rate times their length, and governor gets a limiter of the
//! new quota (governor cannot change a limiter's quota in place; it starts full).
//!
//! The headers are written by [`headers`]; a concurrency limit is [`in_flight`]. A 429 keeps
//! its `Retry-After` (whole seconds, at least 1).

mod headers;
pub(crate) mod in_flight;
mod window;

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use super::config::{HeaderStyle, RateLimit, RateLimitMode, SandboxConfig};
use super::lock;
use window::Windows;

/// governor's limiter, reporting the burst capacity left.
type Gcra = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// The limiter of one sandbox.
pub(crate) struct Limiter {
    /// The limit it enforces at start.
    limit: RateLimit,
    /// From each time after `origin`, in order, the rate instead.
    schedule: Vec<(Duration, NonZeroU32)>,
    /// When the sandbox started counting: on a whole epoch second, and on a multiple of the
    /// window's length, so that windows end on whole epoch seconds.
    origin: Instant,
    /// `origin` as time since the epoch.
    origin_epoch: Duration,
    /// How it counts.
    counting: Counting,
    /// Which headers it sends.
    style: HeaderStyle,
}

/// The ways of counting.
enum Counting {
    /// governor's GCRA: one limiter per phase of the schedule.
    Governor(Vec<Gcra>),
    /// The strict token bucket. A std Mutex: held for arithmetic only.
    Bucket(Mutex<Bucket>),
    /// Fixed windows of this length, blocking the next one when `block`.
    Windows {
        length: Duration,
        block: bool,
        count: Mutex<Windows>,
    },
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
    /// Requests allowed per window (per second for a bucket).
    pub(crate) limit: u32,
    /// The window (a second for a bucket).
    pub(crate) window: Duration,
    /// This request blocked a blocking window (the rest of it and the next).
    pub(crate) blocked: bool,
    /// `reset` from the check as an epoch second, rounded up: reckoned from the limiter's
    /// origin, so that every reply in one window names the same second.
    pub(crate) reset_epoch: u64,
}

impl Verdict {
    /// A refusal under `limit` per `window`: nothing left, full again after `reset`, one may
    /// pass after `wait`.
    pub(crate) fn refused(limit: u32, window: Duration, reset: Duration, wait: Duration) -> Self {
        Verdict {
            admitted: false,
            remaining: 0,
            reset,
            wait,
            limit,
            window,
            blocked: false,
            reset_epoch: 0,
        }
    }
}

impl Limiter {
    /// The limiter `config` asks for, if it sets a rate limit.
    pub(crate) fn of(config: &SandboxConfig) -> Option<Limiter> {
        let limit = config.rate_limit?;
        let mut schedule = config.rate_limit_schedule.clone();
        schedule.sort_by_key(|(at, _)| *at);
        let counting = match config.rate_limit_mode {
            RateLimitMode::Governor => Counting::Governor(
                std::iter::once(limit.per_second)
                    .chain(schedule.iter().map(|(_, rate)| *rate))
                    .map(|per_second| {
                        let limit = RateLimit {
                            per_second,
                            ..limit
                        };
                        RateLimiter::direct(limit.quota())
                            .with_middleware::<StateInformationMiddleware>()
                    })
                    .collect(),
            ),
            RateLimitMode::Bucket => Counting::Bucket(Mutex::new(Bucket {
                tokens: f64::from(limit.burst.get()),
                at: Instant::now(),
            })),
            mode @ (RateLimitMode::Window | RateLimitMode::BlockingWindow) => Counting::Windows {
                length: config.rate_limit_window.max(Duration::from_millis(1)),
                block: mode == RateLimitMode::BlockingWindow,
                count: Mutex::new(Windows::default()),
            },
        };
        let length = match &counting {
            Counting::Windows { length, .. } => *length,
            _ => Duration::from_secs(1),
        };
        let (origin, origin_epoch) = aligned_origin(length);
        Some(Limiter {
            limit,
            schedule,
            origin,
            origin_epoch,
            counting,
            style: config.rate_limit_header_style,
        })
    }

    /// Counts one request: passes it or refuses it.
    pub(crate) fn check(&self) -> Verdict {
        let now = Instant::now();
        let since = now.saturating_duration_since(self.origin);
        let phase = self.schedule.partition_point(|(at, _)| *at <= since);
        let limit = match phase {
            0 => self.limit,
            n => RateLimit {
                per_second: self.schedule[n - 1].1,
                ..self.limit
            },
        };
        let verdict = match &self.counting {
            Counting::Governor(limiters) => check_governor(&limiters[phase], limit),
            Counting::Bucket(bucket) => lock(bucket).take(limit, now),
            Counting::Windows {
                length,
                block,
                count,
            } => {
                let allowance = f64::from(limit.per_second.get()) * length.as_secs_f64();
                let allowance = allowance.round().clamp(1.0, f64::from(u32::MAX)) as u32;
                lock(count).take(since, *length, allowance, *block)
            }
        };
        let reset_at = self.origin_epoch + since + verdict.reset;
        Verdict {
            reset_epoch: headers::whole_seconds_up(
                reset_at.saturating_sub(Duration::from_micros(1)),
            ),
            ..verdict
        }
    }

    /// The rate-limit headers of a reply to a request `verdict` was given.
    pub(crate) fn add_headers(&self, verdict: &Verdict, headers: &mut HeaderMap) {
        headers::add(self.style, verdict, headers);
    }
}

/// One check of governor's limiter enforcing `limit`.
fn check_governor(limiter: &Gcra, limit: RateLimit) -> Verdict {
    let per_token = Duration::from_secs(1) / limit.per_second.get();
    let second = Duration::from_secs(1);
    match limiter.check() {
        Ok(state) => {
            let remaining = state.remaining_burst_capacity();
            Verdict {
                admitted: true,
                remaining,
                reset: per_token * limit.burst.get().saturating_sub(remaining),
                wait: Duration::ZERO,
                limit: limit.per_second.get(),
                window: second,
                blocked: false,
                reset_epoch: 0,
            }
        }
        Err(not_until) => Verdict::refused(
            limit.per_second.get(),
            second,
            per_token * limit.burst.get(),
            not_until.wait_time_from(limiter.clock().now()),
        ),
    }
}

/// An instant just before now that falls on a multiple of `length` since the epoch, and that
/// time since the epoch: windows counted from it end on whole epoch seconds (when `length`
/// is whole seconds).
fn aligned_origin(length: Duration) -> (Instant, Duration) {
    let now = Instant::now();
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let length = length.as_nanos().max(1);
    let into = Duration::from_nanos((epoch.as_nanos() % length) as u64);
    match now.checked_sub(into) {
        Some(origin) => (origin, epoch - into),
        None => (now, epoch),
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
            limit: limit.per_second.get(),
            window: Duration::from_secs(1),
            blocked: false,
            reset_epoch: 0,
        }
    }
}

impl RateLimit {
    /// The governor quota for this limit; the burst is set explicitly, never implied.
    pub(crate) fn quota(&self) -> Quota {
        Quota::per_second(self.per_second).allow_burst(self.burst)
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::headers::whole_seconds_up;
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

    /// The limiter of a sandbox limited to `limit`, counted as `mode`.
    fn limiter(limit: RateLimit, mode: RateLimitMode) -> Limiter {
        configured(SandboxConfig {
            rate_limit: Some(limit),
            rate_limit_mode: mode,
            ..SandboxConfig::default()
        })
    }

    fn configured(config: SandboxConfig) -> Limiter {
        Limiter::of(&config).expect("a rate limit is set")
    }

    fn header(headers: &HeaderMap, name: &str) -> Option<String> {
        headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn governor_reports_what_is_left() {
        let limiter = limiter(limit(100, 2), RateLimitMode::Governor);
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
        let limiter = limiter(limit(100, 10), RateLimitMode::Bucket);
        let verdict = limiter.check();
        let mut headers = HeaderMap::new();
        limiter.add_headers(&verdict, &mut headers);
        let get = |name: &str| header(&headers, name).unwrap();
        assert_eq!(get("ratelimit-limit"), "100");
        assert_eq!(get("ratelimit-remaining"), "9");
        assert_eq!(get("ratelimit-reset"), "1");
        assert_eq!(get("ratelimit-policy"), "100;w=1");
        assert_eq!(get("x-ratelimit-remaining"), "9");
        assert!(get("x-ratelimit-reset").parse::<u64>().unwrap() > 1_600_000_000);
        assert_eq!(header(&headers, "x-rate-limit-limit"), None);
    }

    #[test]
    fn windows_with_okta_headers_say_the_allowance_per_window_and_its_end_as_an_epoch() {
        let limiter = configured(SandboxConfig {
            rate_limit: Some(limit(30, 30)),
            rate_limit_mode: RateLimitMode::Window,
            rate_limit_window: Duration::from_secs(10),
            rate_limit_header_style: HeaderStyle::Okta,
            ..SandboxConfig::default()
        });
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let verdict = limiter.check();
        let mut headers = HeaderMap::new();
        limiter.add_headers(&verdict, &mut headers);
        let get = |name: &str| header(&headers, name).unwrap();
        assert_eq!(
            get("x-rate-limit-limit"),
            "300",
            "per window, not per second"
        );
        assert_eq!(get("x-rate-limit-remaining"), "299");
        let reset: u64 = get("x-rate-limit-reset").parse().unwrap();
        assert_eq!(
            reset % 10,
            0,
            "a window ends on a multiple of its length: {reset}"
        );
        assert!(
            (before.as_secs() + 1..=before.as_secs() + 10).contains(&reset),
            "{reset} vs {before:?}"
        );
        for name in ["ratelimit-limit", "x-ratelimit-limit", "ratelimit-policy"] {
            assert_eq!(header(&headers, name), None, "{name}");
        }
    }

    #[test]
    fn ietf_headers_of_a_window_name_its_length_in_the_policy() {
        let limiter = configured(SandboxConfig {
            rate_limit: Some(limit(10, 10)),
            rate_limit_mode: RateLimitMode::BlockingWindow,
            rate_limit_window: Duration::from_secs(5),
            rate_limit_header_style: HeaderStyle::Ietf,
            ..SandboxConfig::default()
        });
        let verdict = limiter.check();
        let mut headers = HeaderMap::new();
        limiter.add_headers(&verdict, &mut headers);
        assert_eq!(header(&headers, "ratelimit-policy").unwrap(), "50;w=5");
        assert_eq!(header(&headers, "ratelimit-limit").unwrap(), "50");
        let reset: u64 = header(&headers, "ratelimit-reset")
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=5).contains(&reset), "{reset}");
        assert_eq!(header(&headers, "x-ratelimit-limit"), None);
    }

    #[test]
    fn a_schedule_changes_the_rate_from_its_time_on() {
        // From the start, 2/s instead of 100/s: windows of a second allow 2.
        let limiter = configured(SandboxConfig {
            rate_limit: Some(limit(100, 100)),
            rate_limit_mode: RateLimitMode::Window,
            rate_limit_schedule: vec![
                (Duration::from_secs(3600), NonZeroU32::new(50).unwrap()),
                (Duration::ZERO, NonZeroU32::new(2).unwrap()),
            ],
            ..SandboxConfig::default()
        });
        let admitted: Vec<bool> = (0..3).map(|_| limiter.check().admitted).collect();
        // Unless the second turned between two checks.
        assert!(
            admitted == [true, true, false] || admitted[2],
            "{admitted:?}"
        );
        let limiter = limiter_with_schedule(RateLimitMode::Governor);
        let admitted: Vec<bool> = (0..3).map(|_| limiter.check().admitted).collect();
        assert_eq!(admitted, [true, true, false], "a new quota of burst 2");
        let limiter = limiter_with_schedule(RateLimitMode::Bucket);
        assert_eq!(
            limiter.check().limit,
            1,
            "the bucket refills at the new rate"
        );
    }

    fn limiter_with_schedule(mode: RateLimitMode) -> Limiter {
        configured(SandboxConfig {
            rate_limit: Some(limit(100, 2)),
            rate_limit_mode: mode,
            rate_limit_schedule: vec![(Duration::ZERO, NonZeroU32::new(1).unwrap())],
            ..SandboxConfig::default()
        })
    }
}
