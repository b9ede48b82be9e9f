//! A request rate (`20`, `600/m`, `50000/h`) as flags, the environment and the settings file
//! write it, and the governor quota it becomes.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::Quota;
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

    /// The governor quota of this rate with `burst`.
    pub fn quota(self, burst: NonZeroU32) -> Quota {
        let period = self.period / self.count.get();
        Quota::with_period(period.max(Duration::from_nanos(1)))
            .expect("the period is not zero")
            .allow_burst(burst)
    }

    /// A tenth of a second's worth of requests, at least one: enough to absorb scheduling
    /// jitter without bursting far above the rate.
    pub fn default_burst(self) -> NonZeroU32 {
        let tenth = (self.per_second() / 10.0).ceil().min(f64::from(u32::MAX)) as u32;
        NonZeroU32::new(tenth).unwrap_or(NonZeroU32::MIN)
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
    fn default_burst_is_a_tenth_of_a_second() {
        assert_eq!(rate("100").default_burst().get(), 10);
        assert_eq!(rate("60/m").default_burst().get(), 1);
    }
}
