//! A request rate (`20`, `600/m`, `50000/h`) as flags, the environment and the settings file
//! write it; and `--rate` itself: such a rate, never
//! exceeded, or `auto` ([`RateSetting`]).

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

/// A rate: `count` requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Rate {
    /// Requests allowed per period.
    pub count: NonZeroU32,
    /// The period.
    pub period: Duration,
}

impl Rate {
    /// `count` requests a second.
    pub const fn per_second_at_most(count: NonZeroU32) -> Rate {
        Rate {
            count,
            period: Duration::from_secs(1),
        }
    }

    /// Requests per second.
    pub fn per_second(&self) -> f64 {
        f64::from(self.count.get()) / self.period.as_secs_f64()
    }
}

/// `--rate`: a rate never exceeded (and slowed down from when the tenant answers 429), or
/// `auto`: from a safe start up to what the tenant allows, found from its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum RateSetting {
    /// `--rate N`: never above N.
    AtMost(Rate),
    /// `--rate auto`.
    Auto,
}

/// `auto` never goes above this many requests a second.
pub(crate) const AUTO_CEILING: f64 = 1000.0;
/// `auto` starts at this many requests a second: the default `--rate`, safe for any tenant.
pub(crate) const AUTO_START: f64 = 20.0;

impl RateSetting {
    /// Requests per second never exceeded: N's, or [`AUTO_CEILING`].
    pub fn ceiling_per_second(&self) -> f64 {
        match self {
            RateSetting::AtMost(rate) => rate.per_second(),
            RateSetting::Auto => AUTO_CEILING,
        }
    }

    /// The default `--burst`: one request. A client that sends a burst empties a tenant's
    /// token bucket at the start, after which any jitter in arrival is refused; sent one at a
    /// time on schedule, the bucket stays full and absorbs the jitter.
    pub const DEFAULT_BURST: NonZeroU32 = NonZeroU32::MIN;
}

impl FromStr for RateSetting {
    type Err = String;

    /// Parses `auto` or a [`Rate`].
    fn from_str(text: &str) -> Result<RateSetting, String> {
        if text.trim().eq_ignore_ascii_case("auto") {
            return Ok(RateSetting::Auto);
        }
        text.parse()
            .map(RateSetting::AtMost)
            .map_err(|e| format!("{e}, or auto"))
    }
}

impl TryFrom<String> for RateSetting {
    type Error = String;

    fn try_from(text: String) -> Result<RateSetting, String> {
        text.parse()
    }
}

/// `auto`, or the rate as it is written.
impl fmt::Display for RateSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateSetting::AtMost(rate) => rate.fmt(f),
            RateSetting::Auto => f.write_str("auto"),
        }
    }
}

impl FromStr for Rate {
    type Err = String;

    /// Parses `100`, `100/s`, `6000/m`, `6000/min` or `50000/h`.
    fn from_str(text: &str) -> Result<Rate, String> {
        let bad = || format!("{text:?} is not a rate: use N, N/s, N/m or N/h with N at least 1");
        let (count, unit) = text.trim().split_once('/').unwrap_or((text.trim(), "s"));
        let count: NonZeroU32 = count.trim().parse().map_err(|_| bad())?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Rate { count, period })
    }
}

impl TryFrom<String> for Rate {
    type Error = String;

    fn try_from(text: String) -> Result<Rate, String> {
        text.parse()
    }
}

/// `20/s`, `600/m`, `50000/h`: the form it is written in.
impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.period.as_secs() {
            1 => write!(f, "{}/s", self.count),
            60 => write!(f, "{}/m", self.count),
            3600 => write!(f, "{}/h", self.count),
            _ => write!(f, "{}/s", self.per_second()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Rate {
        text.parse().unwrap()
    }

    #[test]
    fn rates() {
        assert_eq!(rate("100").per_second(), 100.0);
        assert_eq!(rate("600/m").per_second(), 10.0);
        assert_eq!(rate("3600/h").per_second(), 1.0);
        assert!("0".parse::<Rate>().is_err());
        assert!("10/week".parse::<Rate>().is_err());
        assert!("fast".parse::<Rate>().is_err());
    }

    #[test]
    fn a_rate_is_shown_as_it_is_written() {
        assert_eq!(rate("20").to_string(), "20/s");
        assert_eq!(rate("600/min").to_string(), "600/m");
        assert_eq!(rate("50000/hour").to_string(), "50000/h");
    }

    #[test]
    fn auto_is_a_rate_setting() {
        let setting = |text: &str| text.parse::<RateSetting>();
        assert_eq!(setting("auto"), Ok(RateSetting::Auto));
        assert_eq!(setting(" AUTO "), Ok(RateSetting::Auto));
        assert_eq!(setting("600/m"), Ok(RateSetting::AtMost(rate("600/m"))));
        assert_eq!(RateSetting::Auto.to_string(), "auto");
        assert_eq!(setting("20").unwrap().to_string(), "20/s");
        let wrong = setting("automatic").unwrap_err();
        assert!(wrong.contains("or auto"), "{wrong}");
        assert!(setting("0").is_err());
        // As a settings file writes it.
        #[derive(Deserialize)]
        struct Profile {
            rate: RateSetting,
        }
        let profile: Profile = toml::from_str("rate = \"auto\"").unwrap();
        assert_eq!(profile.rate, RateSetting::Auto);
    }
}
