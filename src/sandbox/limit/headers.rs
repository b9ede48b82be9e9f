//! The rate-limit headers of a reply, in the style the sandbox was told to send
//! ([`HeaderStyle`]):
//! - IETF httpapi: `RateLimit-Limit` (requests per window), `RateLimit-Remaining`,
//!   `RateLimit-Reset` (delta seconds until the window ends or the bucket is full) and
//!   `RateLimit-Policy: N;w=W`;
//! - `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` as epoch seconds
//!   (GitHub's form: a client must tell an epoch time from a delta);
//! - Okta's `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining`, `X-Rate-Limit-Reset` (epoch
//!   seconds), one hyphen away from the form above.
//!
//! `Limit` is the allowance per window: for a bucket the rate per second (the window is one
//! second), for fixed windows the allowance of one window.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::Verdict;
use crate::sandbox::HeaderStyle;

/// Adds the headers of `style` saying `verdict` to `headers`.
pub(crate) fn add(style: HeaderStyle, verdict: &Verdict, headers: &mut HeaderMap) {
    let limit = verdict.limit.to_string();
    let remaining = verdict.remaining.to_string();
    let delta = whole_seconds_up(verdict.reset).to_string();
    let epoch = verdict.reset_epoch.to_string();
    let window = whole_seconds_up(verdict.window).max(1);
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    if matches!(style, HeaderStyle::Both | HeaderStyle::Ietf) {
        set("ratelimit-limit", &limit);
        set("ratelimit-remaining", &remaining);
        set("ratelimit-reset", &delta);
        set("ratelimit-policy", &format!("{limit};w={window}"));
    }
    if matches!(style, HeaderStyle::Both | HeaderStyle::XRateLimit) {
        set("x-ratelimit-limit", &limit);
        set("x-ratelimit-remaining", &remaining);
        set("x-ratelimit-reset", &epoch);
    }
    if style == HeaderStyle::Okta {
        set("x-rate-limit-limit", &limit);
        set("x-rate-limit-remaining", &remaining);
        set("x-rate-limit-reset", &epoch);
    }
}

/// A duration in whole seconds, rounded up (zero stays zero).
pub(crate) fn whole_seconds_up(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}
