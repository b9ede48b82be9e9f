//! What a reply's rate-limit headers say, in the two forms gateways send: `RateLimit-Limit`,
//! `RateLimit-Remaining`, `RateLimit-Policy` (IETF httpapi draft) or `X-RateLimit-Limit`,
//! `X-RateLimit-Remaining`. The IETF form wins when both are there. A value that does not
//! parse is ignored, never an error: the headers only advise.

use reqwest::header::HeaderMap;

/// A reply's rate-limit headers, as far as they were readable.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LimitHeaders {
    /// The published limit in requests per second: `Limit` over the policy's window (`w=`,
    /// one second when no policy says otherwise).
    pub per_second: Option<f64>,
    /// Requests left in the window (or bucket) after this one.
    pub remaining: Option<u64>,
}

impl LimitHeaders {
    /// Reads `headers`.
    pub fn read(headers: &HeaderMap) -> LimitHeaders {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let limit = text("ratelimit-limit").or_else(|| text("x-ratelimit-limit"));
        let remaining = text("ratelimit-remaining").or_else(|| text("x-ratelimit-remaining"));
        // The window: the policy's `w=` (also allowed inside Limit by early drafts).
        let window = text("ratelimit-policy")
            .and_then(window_seconds)
            .or_else(|| limit.and_then(window_seconds))
            .unwrap_or(1.0);
        LimitHeaders {
            per_second: limit
                .and_then(first_number)
                .map(|n| n as f64 / window)
                .filter(|r| *r > 0.0),
            remaining: remaining.and_then(first_number),
        }
    }

    /// Whether the headers say nothing this client uses.
    pub fn is_empty(&self) -> bool {
        self.per_second.is_none() && self.remaining.is_none()
    }
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

    #[test]
    fn the_ietf_form_with_its_policy() {
        let read = LimitHeaders::read(&headers(&[
            ("ratelimit-limit", "600"),
            ("ratelimit-remaining", "12"),
            ("ratelimit-reset", "3"),
            ("ratelimit-policy", "600;w=60"),
        ]));
        assert_eq!(read.per_second, Some(10.0));
        assert_eq!(read.remaining, Some(12));
    }

    #[test]
    fn the_x_form_and_a_window_inside_limit() {
        let read = LimitHeaders::read(&headers(&[
            ("x-ratelimit-limit", "100"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1767225600"),
        ]));
        assert_eq!(read.per_second, Some(100.0));
        assert_eq!(read.remaining, Some(0));
        let read = LimitHeaders::read(&headers(&[("ratelimit-limit", "50, 50;w=5")]));
        assert_eq!(read.per_second, Some(50.0));
        let read = LimitHeaders::read(&headers(&[("ratelimit-limit", "50;w=5")]));
        assert_eq!(read.per_second, Some(10.0));
    }

    #[test]
    fn nonsense_is_ignored() {
        let read = LimitHeaders::read(&headers(&[
            ("ratelimit-limit", "lots"),
            ("ratelimit-remaining", "-1"),
            ("ratelimit-policy", "100;w=0"),
        ]));
        assert!(read.is_empty(), "{read:?}");
        assert!(LimitHeaders::read(&HeaderMap::new()).is_empty());
        let read = LimitHeaders::read(&headers(&[("x-ratelimit-limit", "0")]));
        assert_eq!(read.per_second, None);
    }
}
