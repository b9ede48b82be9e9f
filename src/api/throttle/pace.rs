//! The pace controller's arithmetic, and nothing else: no clock, no lock, no log. Every call
//! is given the time (`now`), so the same calls give the same rates, and the tables in
//! `pace_tests.rs` say what each (time, event) does to the rate.
//!
//! [`super::Throttle`] owns one [`Pace`] under a std mutex, reads the clock, sleeps until a
//! turn, and logs the [`SlowDown`]s this hands back. The rules themselves are in the module
//! docs of [`super`].

mod signals;
mod tuning;

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::time::Duration;

use tokio::time::Instant;

use super::LimitHeaders;
use super::in_flight::{InFlight, Verdict};
use super::window::{self, Block, Passed, Window};
use crate::rate::{AUTO_START, RateSetting};

pub use signals::{Learned, Ticket};
pub(crate) use signals::{Outcome, Signal, SlowDown};
use tuning::*;

/// The controller: the rate now and everything it remembers to choose the next one.
#[derive(Debug, Clone)]
pub(crate) struct Pace {
    /// Never above this many requests a second (before any published limit).
    ceiling: f64,
    /// Requests allowed at once.
    burst: f64,
    /// `--rate auto`: slow start from [`AUTO_START`].
    auto: bool,
    /// The rate now, requests per second.
    rate: f64,
    /// The tenant's limit as last estimated, once a slow-down said something about it.
    estimate: Option<f64>,
    /// The rate right after the last cut, where the cubic curve starts.
    cut_to: f64,
    /// The cubic curve's start: the last cut, moved on while the run is latency-bound.
    epoch: Instant,
    /// A published limit, requests per second.
    published: Option<f64>,
    /// When the current step began.
    step_at: Instant,
    /// How long the pacer stood idle (a turn free, nobody taking it) in this step.
    idle: Duration,
    /// 2xx answers per step over the last second, oldest first, and the current step's.
    delivered: VecDeque<Instant>,
    /// When the controller was made: the delivered rate means something after a second.
    started: Instant,
    /// 429s answered.
    refused: u64,
    /// Cuts made.
    cuts: u64,
    /// The longest window seen: the policy's, else the longest `Reset` in whole seconds
    /// (at least a second). A tenant that names no window is learned this way.
    window: Duration,
    /// Epoch `Reset`s: the last window end seen, and the shortest step seen from one end to
    /// the next, which is the window's length (an epoch second rounds a reset up by as much
    /// as a second: a 1 s window's reset can read as two).
    reset_ends: (Option<u64>, Option<Duration>),
    /// The allowance per window the headers published, once they did.
    allowance: Option<u64>,
    /// Counted in fixed windows: what is left of the window, spread over its rest (requests
    /// per second). Turns are not spaced closer than this.
    budget: Option<f64>,
    /// The window is used up: no turn before this.
    hold_until: Instant,
    /// When the last request left (with a burst of one).
    departed: Option<Instant>,
    /// When the last refusal that cut the rate came.
    last_refused: Option<Instant>,
    /// When the requests that passed were sent, to learn a window from a block.
    passed: Passed,
    /// Holds made: a 429 that asked to wait past a window's end.
    holds: u64,
    /// A fixed window learned from a block (no header told it): never faster than it allows.
    blocked_window: Option<Window>,
    /// Refusals by the count in flight: an in-flight limit, told from a rate limit.
    in_flight: InFlight,
}

impl Pace {
    /// A controller for `setting`, allowing `burst` requests at once, starting at `now`.
    pub(crate) fn new(setting: RateSetting, burst: NonZeroU32, now: Instant) -> Pace {
        let (ceiling, auto) = (setting.ceiling_per_second(), setting == RateSetting::Auto);
        let rate = if auto {
            AUTO_START.min(ceiling)
        } else {
            ceiling
        };
        Pace {
            ceiling,
            burst: f64::from(burst.get()),
            auto,
            rate,
            estimate: None,
            cut_to: rate,
            epoch: now,
            published: None,
            step_at: now,
            idle: Duration::ZERO,
            delivered: VecDeque::new(),
            started: now,
            refused: 0,
            cuts: 0,
            window: BUCKET_WINDOW,
            reset_ends: (None, None),
            allowance: None,
            budget: None,
            hold_until: now,
            departed: None,
            last_refused: None,
            passed: Passed::default(),
            holds: 0,
            blocked_window: None,
            in_flight: InFlight::default(),
        }
    }

    /// governor let a request go at `now`; its bucket was to be full again at `full_at`
    /// (before this request): the time since then, if any, the pacer stood idle.
    pub(crate) fn granted(&mut self, now: Instant, full_at: Instant) -> Ticket {
        if now > full_at {
            let free_since = full_at.max(self.step_at);
            self.idle += now.saturating_duration_since(free_since);
        }
        self.step(now);
        Ticket {
            turn: now,
            rate: self.rate,
            cuts: self.cuts,
            holds: self.holds,
            in_flight: 0,
        }
    }

    /// The rate turns are spaced at: the rate, or a window's budget when lower.
    pub(crate) fn pace(&self) -> f64 {
        self.budget
            .map_or(self.rate, |b| self.rate.min(b.max(FLOOR)))
    }

    /// Requests allowed at once.
    pub(crate) fn burst(&self) -> u32 {
        self.burst as u32
    }

    /// No turn before this (a window used up or blocked).
    pub(crate) fn hold_until(&self) -> Instant {
        self.hold_until
    }

    /// A request whose turn came is about to leave at `now`: when it may. Under `--rate N`
    /// with a burst of one, no two requests leave closer than the spacing (and its guard),
    /// however late a worker woke for
    /// its turn (the schedule keeps turns on time, so a late one would bunch up with the next,
    /// and a server counting a bucket of one refuses the second). Else: now.
    pub(crate) fn depart(&mut self, now: Instant) -> Instant {
        let spacing = Duration::from_secs_f64(((1.0 + DEPARTURE_GUARD) / self.pace()).min(LONGEST));
        if self.auto || self.burst > 1.0 || spacing < STRICT_SPACING {
            return now;
        }
        let at = self.departed.map_or(now, |last| now.max(last + spacing));
        self.departed = Some(at);
        at
    }

    /// The answer to the request of `ticket` came at `now`: `outcome`, with `said` in its
    /// rate-limit headers. Returns the slow-downs it caused, in order (at most two).
    pub(crate) fn answered(
        &mut self,
        ticket: Ticket,
        outcome: Outcome,
        said: LimitHeaders,
        now: Instant,
    ) -> Vec<SlowDown> {
        let mut slowed = Vec::new();
        self.step(now);
        self.learn_window(said);
        if let Some(limit) = said.per_second(self.window) {
            self.published = Some(limit.max(FLOOR));
            self.allowance = said.limit;
            if self.rate > limit.max(FLOOR) {
                slowed.extend(self.slow_down(ticket, Signal::Published, now));
            }
        }
        let windowed = self.window > BUCKET_WINDOW;
        if windowed && let (Some(left), Some(reset)) = (said.remaining, said.reset) {
            self.spread(left, reset, now);
        }
        if outcome != Outcome::Refused {
            self.passed.push(ticket.turn);
            if ticket.in_flight > 0 {
                self.in_flight.passed(ticket.in_flight);
            }
        }
        match outcome {
            Outcome::Refused => {
                self.refused += 1;
                match said.retry_after.filter(|wait| *wait > BUCKET_WINDOW) {
                    Some(wait) => {
                        slowed.extend(self.wait_out(ticket, wait, said.retry_epoch, now));
                    }
                    None if ticket.in_flight > 0
                        && self.in_flight.refused(ticket.in_flight) == Verdict::InFlight => {}
                    None => {
                        let early = self.auto
                            && self.estimate.is_none()
                            && self.delivered.len() <= SMALL_BURST
                            && self.delivered_rate(ticket.rate, now).is_none();
                        let cuts = self.cuts;
                        slowed.extend(self.slow_down(ticket, Signal::Refused, now));
                        if let Some(wait) = said.retry_after.filter(|_| early && self.cuts != cuts)
                        {
                            // Slow start refused within its first span, after a handful
                            // got through: a small bucket, whose burst hid its limit, and
                            // the cut rate may still be above it. It refills for the wait it
                            // asked (at least a second), so that the next refusal, if one
                            // comes, is measured against what gets through from an empty
                            // bucket, not guessed again. A larger bucket is not held: it
                            // would refill past its size, and what it let through meanwhile
                            // would read as a lower limit.
                            self.hold_until = self.hold_until.max(now + wait.max(EARLY_HOLD));
                        }
                    }
                }
            }
            Outcome::Delivered => {
                if self.delivered.len() == DELIVERED_KEPT {
                    self.delivered.pop_front();
                }
                self.delivered.push_back(now);
                // A window's last request holds the run until it ends (see `spread`); a
                // bucket's refills at once, and the rate is held just under its limit.
                if said.remaining == Some(0) && !windowed {
                    slowed.extend(self.slow_down(ticket, Signal::UsedUp, now));
                }
            }
            Outcome::Other => {}
        }
        slowed
    }

    /// Learns the window from `said`: the policy's, else the step from one epoch `Reset` to
    /// the next, else the longest `Reset` seen (a bucket's reset, the time until it is full,
    /// stays under a second).
    fn learn_window(&mut self, said: LimitHeaders) {
        if said.window.is_none()
            && let Some(end) = said.reset_epoch
        {
            let (last, step) = self.reset_ends;
            if let Some(last) = last.filter(|last| end > *last) {
                let seen = Duration::from_secs(end - last);
                let step = step.map_or(seen, |step| step.min(seen));
                self.reset_ends.1 = Some(step);
                self.window = step;
            }
            self.reset_ends.0 = Some(last.map_or(end, |last| last.max(end)));
            if self.reset_ends.1.is_some() {
                return;
            }
        }
        let seen = match (said.window, said.reset) {
            (Some(window), _) => window,
            (None, Some(reset)) if said.limit.is_some() || said.remaining.is_some() => {
                Duration::from_secs(reset.as_secs() + u64::from(reset.subsec_nanos() > 0))
            }
            _ => return,
        };
        self.window = if said.window.is_some() {
            seen.max(Duration::from_millis(1))
        } else {
            self.window.max(seen)
        };
    }

    /// A 429 asking to wait `wait`, longer than a bucket's refill: a fixed window, used up or
    /// blocked. No turn comes before the wait ends (turns handed out earlier are taken again):
    /// a wait, not a cut. When no header told the window, it is learned from this refusal
    /// ([`window::learn`]) and the pace stays under it from then on; when no window fits, the
    /// refusal cuts the rate as any other does. Refusals of requests sent before the last
    /// hold or cut only make sure the hold lasts as long as they ask.
    fn wait_out(
        &mut self,
        ticket: Ticket,
        wait: Duration,
        ends_epoch: Option<u64>,
        now: Instant,
    ) -> Option<SlowDown> {
        let ends = now + wait;
        self.hold_until = self.hold_until.max(ends);
        if ticket.holds != self.holds || ticket.cuts != self.cuts {
            return None;
        }
        self.holds += 1;
        if self.allowance.is_some() && self.blocked_window.is_none() {
            return None; // the headers tell the window
        }
        let block = Block {
            sent: ticket.turn,
            ends,
            ends_epoch,
        };
        let Some(learned) = window::learn(&self.passed, self.started, block) else {
            return self.slow_down(ticket, Signal::Refused, now);
        };
        // Learned again after the pace it gave was refused: the slower of the two.
        let learned = match self.blocked_window {
            Some(before) if before.safe_rate() < learned.safe_rate() => before,
            _ => learned,
        };
        self.blocked_window = Some(learned);
        self.window = learned.length;
        self.allowance = Some(learned.allowance);
        self.rate = self.rate.min(self.cap());
        self.cut_to = self.rate;
        self.epoch = now;
        self.cuts += 1;
        Some(SlowDown {
            signal: Signal::Blocked,
            rate: self.rate,
        })
    }

    /// Fixed windows: `left` requests may pass in the `reset` the window has left. None left:
    /// no turn until it ends. Else turns are spaced so as to spread them over that time.
    fn spread(&mut self, left: u64, reset: Duration, now: Instant) {
        if left == 0 {
            self.hold_until = self.hold_until.max(now + reset);
            self.budget = None;
        } else {
            let over = reset.max(SHORTEST_RESET).as_secs_f64();
            self.budget = Some(left as f64 / over);
        }
    }

    /// The rate now, requests per second.
    pub(crate) fn rate(&self) -> f64 {
        self.rate
    }

    /// How many answers were 429.
    pub(crate) fn refused(&self) -> u64 {
        self.refused
    }

    /// How often the run slowed down.
    pub(crate) fn cuts(&self) -> u64 {
        self.cuts
    }

    /// The pace now when the run slowed down or is `auto` (else it is the configured rate).
    pub(crate) fn settled(&self) -> Option<f64> {
        (self.auto || self.cuts > 0).then_some(self.rate)
    }

    /// The most requests in flight at once, when an in-flight limit was learned.
    pub(crate) fn in_flight_cap(&self) -> Option<u32> {
        self.in_flight.cap()
    }

    /// What the controller learned of the tenant's limiter, once it learned something.
    pub(crate) fn learned(&self) -> Option<Learned> {
        if let Some(cap) = self.in_flight.cap() {
            return Some(Learned::InFlight(cap));
        }
        match (self.allowance, self.window > BUCKET_WINDOW) {
            (Some(allowance), true) => Some(Learned::Window {
                allowance,
                window: self.window,
            }),
            _ => self
                .published
                .or(self.estimate)
                .or(self
                    .blocked_window
                    .map(|w| w.allowance as f64 / w.length.as_secs_f64()))
                .map(Learned::Rate),
        }
    }

    /// The highest rate allowed now.
    fn cap(&self) -> f64 {
        let cap = self.published.map_or(self.ceiling, |p| p.min(self.ceiling));
        self.blocked_window
            .map_or(cap, |w| cap.min(w.safe_rate().max(FLOOR)))
    }

    /// Ends the steps that are over at `now`: growth (slow start or cubic) when the run kept up
    /// with the rate, and the delivered-rate window moved on.
    fn step(&mut self, now: Instant) {
        let length = STEP.max(Duration::from_secs_f64(
            (STEP_REQUESTS / self.rate).min(60.0),
        ));
        let elapsed = now.saturating_duration_since(self.step_at);
        if elapsed < length {
            return;
        }
        while self
            .delivered
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > DELIVERED_LONGEST)
        {
            self.delivered.pop_front();
        }
        // A hold in this step sent nothing: it says nothing of a higher rate either.
        let held = self.hold_until > self.step_at;
        let busy = !held && self.idle.as_secs_f64() < (1.0 - BUSY) * elapsed.as_secs_f64();
        let cap = self.cap();
        match self.estimate {
            _ if !busy => self.epoch += elapsed, // latency-bound: the curve waits
            None if self.auto => {
                let growth = SLOW_START_GROWTH.powf(elapsed.as_secs_f64() / length.as_secs_f64());
                self.rate = (self.rate * growth).min(cap);
            }
            None => self.rate = cap,
            Some(estimate) => {
                self.rate = cubic(estimate, self.cut_to, now - self.epoch).min(cap);
            }
        }
        self.step_at = now;
        self.idle = Duration::ZERO;
    }

    /// The rate delivered (2xx answers a second) over the last twenty requests' worth at
    /// `rate` (at least a second, at most ten), once the run is that old; but only since
    /// the last refusal when that was a second ago or more: the tenant's bucket was empty
    /// then, and what got through since is its rate, not tokens saved up before.
    /// The caller gives the lower of the refused request's rate and the last cut's: a rate
    /// that grew back fast since the cut would shorten the span and count the tokens the
    /// tenant's bucket saved up during a hold over less than the time they took to save.
    fn delivered_rate(&self, rate: f64, now: Instant) -> Option<f64> {
        let span = Duration::from_secs_f64((DELIVERED_REQUESTS / rate).min(3600.0))
            .clamp(DELIVERED_SHORTEST, DELIVERED_LONGEST);
        let span = match self.last_refused {
            Some(at) => span.min(now.saturating_duration_since(at).max(DELIVERED_SHORTEST)),
            None => span,
        };
        if now.saturating_duration_since(self.started) < span {
            return None;
        }
        let from = now.checked_sub(span)?;
        let count = self
            .delivered
            .iter()
            .rev()
            .take_while(|t| **t > from)
            .count();
        Some(count as f64 / span.as_secs_f64())
    }

    /// The rate at which `ticket`'s request went was too high (`signal` says how we know).
    /// Nothing when an earlier cut already answered it.
    fn slow_down(&mut self, ticket: Ticket, signal: Signal, now: Instant) -> Option<SlowDown> {
        let cap = self.cap();
        if signal == Signal::Published {
            self.rate = cap;
            self.cut_to = cap;
            self.epoch = now;
        } else {
            if ticket.cuts != self.cuts {
                return None; // paced before the last cut: that cut answered it
            }
            let at = ticket.rate;
            let delivered = self.delivered_rate(at.min(self.cut_to), now);
            if signal == Signal::Refused {
                self.last_refused = Some(now);
            }
            let (estimate, cut) = match (delivered, self.estimate) {
                // Refused well above what got through: the tenant's bucket is empty, and what
                // gets through is its rate.
                (Some(d), _) if at >= NEAR.1 * d => (d, CUT_NEAR),
                // Refused at about what got through: the limit is between the two.
                (Some(d), _) if at >= NEAR.0 * d => ((d.min(at) + at) / 2.0, CUT_NEAR),
                // Refused well below what got through a second ago: the limit fell.
                (Some(_), _) => (at, CUT_FAR),
                // Slow start's first refusal, within its first second: a small bucket's burst
                // hid how far above its limit the start was.
                (None, None) if self.auto => (at, CUT_FIRST),
                (None, None) => (at, CUT_UNKNOWN),
                (None, Some(e)) if at < NEAR.0 * e || at > NEAR.1 * e => (at, CUT_UNKNOWN),
                (None, Some(_)) => (at, CUT_NEAR),
            };
            let estimate = estimate.max(FLOOR);
            if signal == Signal::UsedUp {
                // Not a refusal: hold just under the limit (repeats do not cut further).
                let limit = self.published.or(self.estimate).unwrap_or(at);
                self.estimate = Some(limit);
                self.rate = self.rate.min(USED_UP * limit).max(FLOOR);
            } else {
                self.estimate = Some(estimate);
                self.rate = (estimate * (1.0 - cut)).min(self.rate).min(cap).max(FLOOR);
            }
            self.cut_to = self.rate;
            self.epoch = now;
        }
        // The spacer's bucket is spent whole on a cut (see `spacer.rs`): the requests that
        // drew the refusal were that burst, and the server's bucket is empty.
        self.cuts += 1;
        Some(SlowDown {
            signal,
            rate: self.rate,
        })
    }
}

/// The CUBIC curve: the rate `since` the cut to `cut_to` under `estimate`: back to the
/// estimate quickly, flat near it, then ever faster above it. Its clock runs at
/// `estimate / CUBIC_FULL_SPEED` of real time below that rate.
fn cubic(estimate: f64, cut_to: f64, since: Duration) -> f64 {
    let speed = (estimate / CUBIC_FULL_SPEED).min(1.0);
    let t = since.as_secs_f64() * speed;
    let depth = (1.0 - cut_to / estimate).max(0.0);
    let k = (depth / CUBIC_C).cbrt();
    estimate * (1.0 + CUBIC_C * (t - k).powi(3))
}
