//! The parsers of flag values: rates (into the settings' [`Rate`]), durations, counts,
//! fractions and `FIELD=COLUMN` pairs.

use std::time::Duration;

use crate::rate::{Rate, RateSetting};

/// Parses `100`, `100/s`, `6000/m`, `6000/min` or `50000/h`.
///
/// # Errors
/// A message saying the accepted forms.
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    text.parse()
}

/// Parses `auto` or a rate, as [`parse_rate`].
///
/// # Errors
/// A message saying the accepted forms.
pub fn parse_rate_setting(text: &str) -> Result<RateSetting, String> {
    text.parse()
}

/// A count that must be a whole number of at least 1 (`--concurrency`, `--burst`, ...).
///
/// # Errors
/// A message saying so when it is not.
pub fn parse_at_least_one<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| "use a whole number of at least 1".to_string())
}

/// The most requests in flight `--concurrency` allows: more buys nothing against one tenant's
/// rate limit, and each costs memory.
pub const MAX_CONCURRENCY: usize = 1024;

/// Parses `--concurrency`: a whole number from 1 to [`MAX_CONCURRENCY`].
///
/// # Errors
/// A message naming the range.
pub fn parse_concurrency(text: &str) -> Result<std::num::NonZeroUsize, String> {
    text.trim()
        .parse::<std::num::NonZeroUsize>()
        .ok()
        .filter(|n| n.get() <= MAX_CONCURRENCY)
        .ok_or_else(|| format!("use a whole number from 1 to {MAX_CONCURRENCY}"))
}

/// Parses `FIELD=COLUMN`.
///
/// # Errors
/// A message when there is no `=` or either side is empty.
pub fn parse_map(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((field, column)) if !field.trim().is_empty() && !column.trim().is_empty() => {
            Ok((field.trim().to_string(), column.trim().to_string()))
        }
        _ => Err(format!(
            "{text:?} is not FIELD=COLUMN, e.g. name=\"Account Name\" or metadata.region=Region"
        )),
    }
}

/// Parses `250ms`, `30s`, `5m`, `1h`, or a plain number of seconds.
///
/// # Errors
/// A message saying the accepted forms.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("{text:?} is not a duration: use e.g. 500ms, 30s, 5m or 1h");
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

/// Parses `TIME=RATE`, e.g. `15s=30` or `1m=600/m`.
///
/// # Errors
/// A message when there is no `=` or either side does not parse.
pub fn parse_rate_change(text: &str) -> Result<(Duration, Rate), String> {
    let (at, rate) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not TIME=RATE, e.g. 15s=30"))?;
    Ok((parse_duration(at)?, parse_rate(rate)?))
}

/// Parses a fraction from 0 to 1.
///
/// # Errors
/// A message when the value is not a number from 0 to 1.
pub fn parse_fraction(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| (0.0..=1.0).contains(f))
        .ok_or_else(|| format!("{text:?} is not a fraction from 0 to 1 (e.g. 0.05)"))
}
