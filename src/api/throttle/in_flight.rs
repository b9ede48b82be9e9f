//! Telling an in-flight limit from a rate limit, from when requests were refused: pure
//! counting, no clock.
//!
//! A tenant that allows N requests in flight (Okta's concurrency limit) refuses a request
//! that finds N others in flight, however slowly they are sent; a rate limit refuses by rate,
//! whatever the in-flight count. Each request carries the count in flight when it left (itself
//! included). A 429 for a request that left with `k` in flight, when nothing ever got
//! through at `k` or more and some did just below, is taken as an in-flight limit of `k - 1`:
//! the in-flight count is capped there and the rate is not cut (a later such 429 lowers the
//! cap). A 429 for a request that left with a count that got through before says the limit is
//! a rate after all: the cap goes, and refusals cut the rate as before. Under a rate limit with slow replies (where the count in flight is the rate
//! times the reply time) the cap is a rate limit too, and holds the pace under it.
//!
//! Below [`FROM`] in flight nothing is concluded: a tenant that replies in a few milliseconds
//! keeps one or two in flight at any rate.

/// The lowest in-flight count an in-flight limit is concluded at.
const FROM: u32 = 4;
/// Answers that got through at the [`NEAR`] counts below the one refused, at least, before
/// it is concluded...
const STEADY: u64 = 3;
/// ...counted over this many counts below it (a ramp passes each count quickly, its answers
/// coming back only after the reply time).
const NEAR: u32 = 3;

/// What a refusal says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The in-flight count is too high: capped, the rate stays.
    InFlight,
    /// The rate is too high.
    Rate,
}

/// The counts by in-flight count, and the cap concluded.
#[derive(Debug, Clone, Default)]
pub(crate) struct InFlight {
    /// Answers that got through, by the count in flight when their request left.
    passed: Vec<u64>,
    /// The in-flight limit concluded, while nothing refuted it.
    cap: Option<u32>,
    /// A refusal within the cap said the limit is a rate: nothing is concluded again.
    refuted: bool,
}

impl InFlight {
    /// A request that left with `level` in flight got through.
    pub(crate) fn passed(&mut self, level: u32) {
        let level = level as usize;
        if self.passed.len() <= level {
            self.passed.resize(level + 1, 0);
        }
        self.passed[level] += 1;
    }

    /// A request that left with `level` in flight was refused (429): what that says.
    pub(crate) fn refused(&mut self, level: u32) -> Verdict {
        if self.refuted {
            return Verdict::Rate;
        }
        let highest_passed = self.passed.iter().rposition(|n| *n > 0).unwrap_or(0) as u32;
        let near: u64 = self
            .passed
            .iter()
            .skip(level.saturating_sub(NEAR) as usize)
            .sum();
        if level >= FROM && level > highest_passed && near >= STEADY {
            self.cap = Some(self.cap.map_or(level - 1, |cap| cap.min(level - 1)));
            return Verdict::InFlight;
        }
        if self.cap.is_some() {
            // Refused at a count that got through before: not the count's doing.
            self.cap = None;
            self.refuted = true;
        }
        Verdict::Rate
    }

    /// The in-flight limit concluded, if one was and still stands.
    pub(crate) fn cap(&self) -> Option<u32> {
        self.cap
    }
}

/// The rate an in-flight cap of `cap` allows when replies take `reply` on average, when that
/// is below `rate` (the cap binds, not the rate); else `None`.
pub(crate) fn binding(cap: u32, reply: std::time::Duration, rate: f64) -> Option<f64> {
    let reply = reply.as_secs_f64();
    let allows = f64::from(cap) / reply;
    (reply > 0.0 && allows < rate).then_some(allows)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_cap_binds_when_it_allows_less_than_the_rate_at_the_reply_time_seen() {
        let ms = Duration::from_millis;
        for (cap, reply, rate, binds) in [
            // 8 at once of 100 ms replies: 80/s, under a pace of 1000/s.
            (8, ms(100), 1000.0, Some(80.0)),
            // ...but not under a pace of 50/s: the rate binds.
            (8, ms(100), 50.0, None),
            // 6 of 2 ms replies allow 3000/s.
            (6, ms(2), 1000.0, None),
            // No reply timed yet: nothing to say.
            (6, Duration::ZERO, 1000.0, None),
        ] {
            let got = binding(cap, reply, rate);
            match (got, binds) {
                (Some(g), Some(b)) => assert!((g - b).abs() < 1e-9, "{cap} {reply:?}: {g}"),
                _ => assert_eq!(got, binds, "{cap} {reply:?} {rate}"),
            }
        }
    }

    /// A learner that saw `n` answers get through at each level of `levels`.
    fn seen(levels: impl IntoIterator<Item = u32>, n: u64) -> InFlight {
        let mut in_flight = InFlight::default();
        for level in levels {
            for _ in 0..n {
                in_flight.passed(level);
            }
        }
        in_flight
    }

    #[test]
    fn refused_only_above_every_count_that_got_through_is_an_in_flight_limit() {
        // Up to 8 in flight got through; the first with 9 is refused.
        let mut in_flight = seen(1..=8, 2);
        assert_eq!(in_flight.refused(9), Verdict::InFlight);
        assert_eq!(in_flight.cap(), Some(8));
        // Others that left with 9 or 10 before the cap: the same news.
        assert_eq!(in_flight.refused(10), Verdict::InFlight);
        assert_eq!(in_flight.cap(), Some(8));
        // A ramp that never saw an answer at 6 before 7 was refused: 6.
        let mut ramp = seen(1..=5, 2);
        assert_eq!(ramp.refused(7), Verdict::InFlight);
        assert_eq!(ramp.cap(), Some(6));
        // Refused at 6 too, where nothing got through yet: 5.
        assert_eq!(ramp.refused(6), Verdict::InFlight);
        assert_eq!(ramp.cap(), Some(5));
    }

    #[test]
    fn refused_at_a_count_that_got_through_is_a_rate_and_the_cap_goes_for_good() {
        let mut in_flight = seen(1..=8, 20);
        assert_eq!(in_flight.refused(9), Verdict::InFlight);
        assert_eq!(in_flight.refused(6), Verdict::Rate);
        assert_eq!(in_flight.cap(), None);
        assert_eq!(in_flight.refused(9), Verdict::Rate, "not concluded again");
    }

    #[test]
    fn a_refusal_at_a_count_that_got_through_before_or_too_few_is_a_rate() {
        // 9 got through before: a refusal at 9 is not the count's doing.
        let mut in_flight = seen(1..=9, 20);
        assert_eq!(in_flight.refused(9), Verdict::Rate);
        // Too few just below to say.
        let mut in_flight = seen(1..=8, 1);
        assert_eq!(in_flight.refused(12), Verdict::Rate);
        // One or two in flight: a fast tenant's, at any rate.
        let mut in_flight = seen(1..=2, 100);
        assert_eq!(in_flight.refused(3), Verdict::Rate);
        assert_eq!(in_flight.cap(), None);
    }
}
