//! What a reply's rate-limit headers say, in the three forms gateways send: `RateLimit-Limit`,
//! `-Remaining`, `-Reset` and `RateLimit-Policy` (IETF httpapi draft); `X-RateLimit-Limit`,
//! `-Remaining`, `-Reset` (GitHub's form); Okta's `X-Rate-Limit-Limit`, `-Remaining`, `-Reset`.
//! The first form present wins, in that order, and all its fields come from it. A `Reset` is a
//! delta in seconds or an epoch second (any value past 2001 is read as a time), and never
//! more than an hour away. `Retry-After` is read too, as delta seconds or an HTTP date
//! ([`retry_after`]). A value that does not parse is ignored, never an error: the headers
//! only advise.

use std::time::Duration;

use reqwest::header::HeaderMap;

/// The longest reset believed: an hour, as the longest `Retry-After` honoured.
const LONGEST_RESET: Duration = Duration::from_secs(3600);
/// A `Reset` at least this large is an epoch second (2001-09-09), not a delta.
const EPOCH_FROM: f64 = 1.0e9;

/// A reply's rate-limit headers, as far as they were readable.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LimitHeaders {
    /// `Limit`: requests allowed per window (a second, for a token bucket).
    pub limit: Option<u64>,
    /// The window the policy names (`w=`), when one does.
    pub window: Option<Duration>,
    /// Requests left in the window (or bucket) after this one.
    pub remaining: Option<u64>,
    /// How long until the window ends (or the bucket is full), whether sent as a delta or as
    /// an epoch second.
    pub reset: Option<Duration>,
    /// The `Reset` itself when it was an epoch second: the whole second the window ends on.
    pub reset_epoch: Option<u64>,
    /// How long until the whole second of the clock that `Retry-After` points into: a server
    /// counts its waits in whole seconds, rounded up, so a wait of `N` ends on the last whole
    /// second at most `N` from now (an HTTP date names that second itself).
    pub retry_after: Option<Duration>,
    /// That whole second, since the epoch: fixed windows are mostly counted as
    /// `floor(epoch seconds / length)`, so a window's end is a multiple of its length.
    pub retry_epoch: Option<u64>,
}

/// The header names of one form: limit, remaining, reset.
const FORMS: [[&str; 3]; 3] = [
    ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"],
    [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ],
    [
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ],
];

impl LimitHeaders {
    /// Reads `headers` of a reply that came at `now` (time since the epoch, to read an epoch
    /// `Reset`).
    pub fn read(headers: &HeaderMap, now: Duration) -> LimitHeaders {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let retry_epoch = text("retry-after")
            .and_then(|value| retry_after(value, now))
            .map(|wait| (now + wait).as_secs());
        let retry_after = retry_epoch.map(|end| Duration::from_secs(end).saturating_sub(now));
        let Some([limit, remaining, reset]) = FORMS
            .iter()
            .map(|form| form.map(text))
            .find(|[limit, remaining, _]| limit.is_some() || remaining.is_some())
        else {
            return LimitHeaders {
                retry_after,
                retry_epoch,
                ..LimitHeaders::default()
            };
        };
        // The window: the policy's `w=` (also allowed inside Limit by early drafts).
        let window = text("ratelimit-policy")
            .and_then(window_seconds)
            .or_else(|| limit.and_then(window_seconds))
            .map(|w| Duration::from_secs_f64(w.min(LONGEST_RESET.as_secs_f64())));
        LimitHeaders {
            limit: limit.and_then(first_number).filter(|n| *n > 0),
            window,
            remaining: remaining.and_then(first_number),
            reset: reset.and_then(|r| reset_after(r, now)),
            reset_epoch: reset.and_then(reset_epoch),
            retry_after,
            retry_epoch,
        }
    }

    /// The published limit in requests per second: `Limit` over the policy's window, or over
    /// `window` when the policy names none.
    pub fn per_second(&self, window: Duration) -> Option<f64> {
        let window = self.window.unwrap_or(window).as_secs_f64();
        self.limit
            .map(|n| n as f64 / window)
            .filter(|r| r.is_finite() && *r > 0.0)
    }

    /// Whether the headers say nothing this client uses.
    pub fn is_empty(&self) -> bool {
        self.limit.is_none() && self.remaining.is_none()
    }
}

/// A `Retry-After` value as the wait from `now` (time since the epoch): delta seconds
/// (fractions taken as sent), or an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`, or the two
/// obsolete forms), a date already past being no wait. At most an hour; nonsense is `None`.
pub fn retry_after(value: &str, now: Duration) -> Option<Duration> {
    let value = value.trim();
    let seconds = match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => seconds,
        Ok(_) => return None,
        Err(_) => {
            let date = httpdate::parse_http_date(value).ok()?;
            let epoch = date.duration_since(std::time::UNIX_EPOCH).ok()?;
            epoch.saturating_sub(now).as_secs_f64()
        }
    };
    Some(Duration::from_secs_f64(
        seconds.min(LONGEST_RESET.as_secs_f64()),
    ))
}

/// A `Reset` value as the time from `now`: a delta, or an epoch second.
fn reset_after(value: &str, now: Duration) -> Option<Duration> {
    let n: f64 = value
        .split(',')
        .next()?
        .split(';')
        .next()?
        .trim()
        .parse()
        .ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let delta = if n >= EPOCH_FROM {
        (n - now.as_secs_f64()).max(0.0)
    } else {
        n
    };
    Some(Duration::from_secs_f64(
        delta.min(LONGEST_RESET.as_secs_f64()),
    ))
}

/// A `Reset` value as the epoch second it names, when it is one.
fn reset_epoch(value: &str) -> Option<u64> {
    let n = first_number(value)?;
    (n as f64 >= EPOCH_FROM).then_some(n)
}

/// The leading whole number of the first list item: `100`, `100, 1000;w=3600`, `100;w=1`.
fn first_number(value: &str) -> Option<u64> {
    let item = value.split(',').next()?.split(';').next()?.trim();
    item.parse().ok()
}

/// The `w=` parameter of the first list item, in seconds, when it is a positive number.
fn window_seconds(value: &str) -> Option<f64> {
    let item = value.split(',').next()?;
    item.split(';')
        .skip(1)
        .filter_map(|param| param.trim().strip_prefix("w="))
        .filter_map(|w| w.trim().parse::<f64>().ok())
        .find(|w| w.is_finite() && *w > 0.0)
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderName, HeaderValue};

    use super::*;

    /// The time the tests' replies came: 2026-01-01T00:00:00Z.
    const NOW: Duration = Duration::from_secs(1_767_225_600);
    const SECOND: Duration = Duration::from_secs(1);

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn read(pairs: &[(&'static str, &'static str)]) -> LimitHeaders {
        LimitHeaders::read(&headers(pairs), NOW)
    }

    #[test]
    fn the_ietf_form_with_its_policy() {
        let read = read(&[
            ("ratelimit-limit", "600"),
            ("ratelimit-remaining", "12"),
            ("ratelimit-reset", "3"),
            ("ratelimit-policy", "600;w=60"),
        ]);
        assert_eq!(read.per_second(SECOND), Some(10.0));
        assert_eq!(read.remaining, Some(12));
        assert_eq!(read.reset, Some(Duration::from_secs(3)));
        assert_eq!(read.window, Some(Duration::from_secs(60)));
    }

    #[test]
    fn the_x_form_and_a_window_inside_limit() {
        let read_x = read(&[
            ("x-ratelimit-limit", "100"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1767225602"),
        ]);
        assert_eq!(read_x.per_second(SECOND), Some(100.0));
        assert_eq!(read_x.remaining, Some(0));
        assert_eq!(
            read_x.reset,
            Some(Duration::from_secs(2)),
            "an epoch second"
        );
        assert_eq!(read_x.window, None);
        let limit = read(&[("ratelimit-limit", "50, 50;w=5")]);
        assert_eq!(limit.per_second(SECOND), Some(50.0));
        let limit = read(&[("ratelimit-limit", "50;w=5")]);
        assert_eq!(limit.per_second(SECOND), Some(10.0));
    }

    #[test]
    fn oktas_form_is_read_one_hyphen_away_with_its_epoch_reset() {
        let read = read(&[
            ("x-rate-limit-limit", "300"),
            ("x-rate-limit-remaining", "299"),
            ("x-rate-limit-reset", "1767225610"),
        ]);
        assert_eq!(read.limit, Some(300));
        assert_eq!(read.remaining, Some(299));
        assert_eq!(read.reset, Some(Duration::from_secs(10)));
        assert_eq!(
            read.per_second(Duration::from_secs(10)),
            Some(30.0),
            "300 per window of 10 s"
        );
    }

    #[test]
    fn a_reset_is_a_delta_or_an_epoch_never_past_an_hour_or_before_now() {
        for (value, reset) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("1767225600", Some(0)),
            ("1767225000", Some(0)),
            ("1767229200", Some(3600)),
            ("1767300000", Some(3600)),
            ("999999", Some(3600)),
            ("-3", None),
            ("soon", None),
            ("NaN", None),
        ] {
            let map = headers(&[("x-ratelimit-limit", "5")]);
            let mut map = map;
            map.insert("x-ratelimit-reset", HeaderValue::from_static(value));
            let got = LimitHeaders::read(&map, NOW).reset;
            assert_eq!(got, reset.map(Duration::from_secs), "{value}");
        }
    }

    #[test]
    fn retry_after_is_delta_seconds_or_an_http_date() {
        for (value, wait) in [
            ("0", Some(0)),
            ("7", Some(7_000)),
            ("1.5", Some(1_500)),
            ("99999", Some(3_600_000)),
            // NOW is 2026-01-01T00:00:00Z.
            ("Thu, 01 Jan 2026 00:00:09 GMT", Some(9_000)),
            ("Thursday, 01-Jan-26 00:00:09 GMT", Some(9_000)),
            ("Thu Jan  1 00:00:09 2026", Some(9_000)),
            ("Wed, 31 Dec 2025 23:59:00 GMT", Some(0)),
            ("Sat, 01 Jan 2028 00:00:00 GMT", Some(3_600_000)),
            ("-1", None),
            ("NaN", None),
            ("tomorrow", None),
            ("Thu, 01 Jan 2026 00:00:09", None),
        ] {
            assert_eq!(
                retry_after(value, NOW),
                wait.map(Duration::from_millis),
                "{value}"
            );
        }
    }

    #[test]
    fn a_retry_after_ends_on_a_whole_second_of_the_clock() {
        let mut map = headers(&[("retry-after", "3")]);
        // 0.4 s into a second: a wait of 3 whole seconds ends 2.6 s from now.
        let now = NOW + Duration::from_millis(400);
        assert_eq!(
            LimitHeaders::read(&map, now).retry_after,
            Some(Duration::from_millis(2_600))
        );
        map.insert(
            "retry-after",
            HeaderValue::from_static("Thu, 01 Jan 2026 00:00:05 GMT"),
        );
        map.insert("x-rate-limit-remaining", HeaderValue::from_static("0"));
        let read = LimitHeaders::read(&map, now);
        assert_eq!(read.retry_after, Some(Duration::from_millis(4_600)));
        assert_eq!(read.retry_epoch, Some(NOW.as_secs() + 5));
        assert_eq!(read.remaining, Some(0), "read with the other headers");
    }

    #[test]
    fn the_first_form_present_wins_whole() {
        let read = read(&[
            ("x-ratelimit-limit", "100"),
            ("x-ratelimit-remaining", "7"),
            ("x-rate-limit-limit", "300"),
            ("x-rate-limit-remaining", "0"),
        ]);
        assert_eq!((read.limit, read.remaining), (Some(100), Some(7)));
    }

    #[test]
    fn nonsense_is_ignored() {
        let read_bad = read(&[
            ("ratelimit-limit", "lots"),
            ("ratelimit-remaining", "-1"),
            ("ratelimit-policy", "100;w=0"),
        ]);
        assert!(read_bad.is_empty(), "{read_bad:?}");
        assert!(LimitHeaders::read(&HeaderMap::new(), NOW).is_empty());
        let zero = read(&[("x-ratelimit-limit", "0")]);
        assert_eq!(zero.per_second(SECOND), None);
    }
}
