//! The controller and the spacer together, given the time: a request's turn is governor's
//! to grant (`spacer.rs`), at the rate and burst the controller decides (`pace.rs`), never
//! during a hold the controller asked for; every grant and answer goes to the controller,
//! and the spacer is given a new quota when the pace it spaces at changed.
//!
//! [`super::Throttle`] owns one [`Gate`] under a std mutex and sleeps until the times it says.

use std::num::NonZeroU32;

use tokio::time::Instant;

use super::LimitHeaders;
use super::pace::{Outcome, Pace, SlowDown, Ticket};
use super::spacer::Spacer;
use crate::rate::RateSetting;

/// A pace this much above or below the spacer's quota gives it a new one; a smaller change
/// waits (a new limiter keeps the old one's schedule to its cell, a millisecond at most).
const RETUNE: f64 = 0.01;

/// The controller and governor's limiter at the pace it chose.
#[derive(Debug)]
pub(crate) struct Gate {
    /// The controller.
    pace: Pace,
    /// governor's limiter.
    spacer: Spacer,
    /// The controller's cuts when the spacer was last given a quota.
    cuts: u64,
}

impl Gate {
    /// A gate for `setting`, allowing `burst` requests at once, from `now`.
    pub(crate) fn new(setting: RateSetting, burst: NonZeroU32, now: Instant) -> Gate {
        let pace = Pace::new(setting, burst, now);
        let spacer = Spacer::new(pace.pace(), pace.burst(), now);
        Gate {
            cuts: pace.cuts(),
            pace,
            spacer,
        }
    }

    /// The controller.
    pub(crate) fn pace(&self) -> &Pace {
        &self.pace
    }

    /// The controller, to be told of a departure.
    pub(crate) fn pace_mut(&mut self) -> &mut Pace {
        &mut self.pace
    }

    /// A request asks for its turn at `now`: its ticket when it may go now, else the earliest
    /// time to ask again.
    pub(crate) fn take(&mut self, now: Instant) -> Result<Ticket, Instant> {
        let hold = self.pace.hold_until();
        if now < hold {
            return Err(hold);
        }
        let full_at = self.spacer.full_at();
        self.spacer.check(now)?;
        let ticket = self.pace.granted(now, full_at);
        self.tune(now);
        Ok(ticket)
    }

    /// The answer to the request of `ticket` came at `now`: see [`Pace::answered`]. Also
    /// says whether the turns waiting should ask again (a new quota, or a hold).
    pub(crate) fn answered(
        &mut self,
        ticket: Ticket,
        outcome: Outcome,
        said: LimitHeaders,
        now: Instant,
    ) -> (Vec<SlowDown>, bool) {
        let hold = self.pace.hold_until();
        let slowed = self.pace.answered(ticket, outcome, said, now);
        let tuned = self.tune(now);
        (slowed, tuned || self.pace.hold_until() != hold)
    }

    /// Gives the spacer a new quota when the controller's pace or burst moved away from its
    /// own, or when the controller cut (then its bucket is spent). Whether it did.
    fn tune(&mut self, now: Instant) -> bool {
        let (pace, burst) = (self.pace.pace(), self.pace.burst());
        let tuned = self.spacer.tuned();
        let cut = self.pace.cuts() != self.cuts;
        let moved = (pace / tuned.rate - 1.0).abs() > RETUNE || burst != tuned.burst;
        if !cut && !moved {
            return false;
        }
        self.spacer.retune(pace, burst, cut, now);
        self.cuts = self.pace.cuts();
        true
    }
}
