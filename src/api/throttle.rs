//! The pace of every API request a command sends: one controller for `--rate N` and
//! `--rate auto`, a few lines of arithmetic under a std mutex.
//!
//! - **Pacing**: requests are spaced `1/rate` apart (GCRA: a turn is kept on schedule even
//!   when a worker wakes late), with `--burst` requests allowed at once and never less slack
//!   than a millisecond (tokio's timer granularity), so that very high rates do not sleep.
//! - **Ceiling**: `--rate N` is never exceeded; `auto` never goes above
//!   [`AUTO_CEILING`](crate::rate::AUTO_CEILING); a
//!   published limit (`RateLimit-Limit`, `X-RateLimit-Limit`) lowers the ceiling: no probing
//!   above a known limit.
//! - **Slow start** (`auto` only): from [`AUTO_START`] the rate grows by 40 % per step (a
//!   step is 100 ms, or five requests' worth at low rates) while the run keeps up with it;
//!   not while it is latency-bound (workers all busy), where a higher rate would change
//!   nothing.
//! - **Slowing down**: a 429 (or a reply whose `Remaining` is 0) says the rate at which its
//!   request was sent is above the tenant's limit. The rate is cut, harder when far from the
//!   remembered estimate (half with none, 30 %), by 10 % when near it. Answers to requests
//!   sent before the last cut answer the old rate and are not counted again: the cool-down is
//!   exactly one round trip. The estimate is that rate, or the rate delivered (2xx) over the
//!   last second when lower, which is the limit itself once the server's bucket is empty.
//! - **Growing back**: CUBIC-like: fast back to just under the estimate, a plateau there, then
//!   probing above it ever faster. Its clock runs slower at low rates (a second per hundred
//!   requests below 100/s), so a probe costs about as many requests at 10/s as at 100/s.
//!
//! The row that got the 429 waits for its own `Retry-After` ([`super::retry`]); the others go
//! on at the new rate. The first slow-down is said once on the screen; later ones go to the
//! log at `-v`.

mod headers;
#[cfg(test)]
mod tests;

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tokio::time::Instant;

pub use headers::LimitHeaders;

use crate::rate::{AUTO_START, RateSetting};

/// The rate never falls below this many requests per second.
const FLOOR: f64 = 0.2;
/// Slow start's growth per step.
const SLOW_START_GROWTH: f64 = 1.4;
/// A step of slow start and of the measurements: at least this long...
const STEP: Duration = Duration::from_millis(100);
/// ...and at least this many requests' worth.
const STEP_REQUESTS: f64 = 5.0;
/// A run is rate-bound (growth makes sense) when the pacer stood idle less than this fraction
/// of a step.
const BUSY: f64 = 0.75;
/// The cut without any estimate of the limit.
const CUT_UNKNOWN: f64 = 0.5;
/// The cut when far from the estimate.
const CUT_FAR: f64 = 0.3;
/// The cut when near it.
const CUT_NEAR: f64 = 0.05;
/// A reply saying the limit is used up (`Remaining: 0`) holds the rate at this fraction of the
/// limit.
const USED_UP: f64 = 0.95;
/// "Near" the estimate: within these factors of it.
const NEAR: (f64, f64) = (0.9, 1.2);
/// CUBIC's constant: after the plateau the rate grows by `C * t^3` of the estimate.
const CUBIC_C: f64 = 0.4;
/// Below this rate the cubic clock slows down in proportion.
const CUBIC_FULL_SPEED: f64 = 100.0;
/// The delivered rate is counted over this many steps (one second).
const WINDOW_STEPS: usize = 10;

/// The gate every API request passes, retries included.
pub struct Throttle {
    /// Never above this many requests a second (before any published limit).
    ceiling: f64,
    /// Requests allowed at once.
    burst: f64,
    /// `--rate auto`: slow start from [`AUTO_START`].
    auto: bool,
    /// A std mutex: held for arithmetic only, never across an await.
    state: Mutex<State>,
}

/// A request's turn: at what rate it went, handed back with its answer.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    /// When it may go.
    turn: Instant,
    /// The rate it was paced at.
    rate: f64,
    /// The cuts made before it was paced: an answer to it says nothing about later rates.
    cuts: u64,
}

/// Why the run slows down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    /// A 429.
    Refused,
    /// A reply's `Remaining` was 0.
    UsedUp,
    /// A published limit below the rate.
    Published,
}

struct State {
    /// The rate now, requests per second.
    rate: f64,
    /// The next request's scheduled time (GCRA's theoretical arrival time).
    tat: Instant,
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
    delivered: [u32; WINDOW_STEPS],
    /// When the throttle was made: the delivered rate means something after a second.
    started: Instant,
    /// 429s answered.
    refused: u64,
    /// Cuts made.
    cuts: u64,
    /// The first slow-down has been said on the screen.
    said: bool,
}

impl Throttle {
    /// A throttle for `setting`, allowing `burst` requests at once.
    pub fn new(setting: RateSetting, burst: NonZeroU32) -> Self {
        let (ceiling, auto) = (setting.ceiling_per_second(), setting == RateSetting::Auto);
        let now = Instant::now();
        let rate = if auto {
            AUTO_START.min(ceiling)
        } else {
            ceiling
        };
        Throttle {
            ceiling,
            burst: f64::from(burst.get()),
            auto,
            state: Mutex::new(State {
                rate,
                tat: now,
                estimate: None,
                cut_to: rate,
                epoch: now,
                published: None,
                step_at: now,
                idle: Duration::ZERO,
                delivered: [0; WINDOW_STEPS],
                started: now,
                refused: 0,
                cuts: 0,
                said: false,
            }),
        }
    }

    /// Waits for this request's turn; the ticket goes back with its answer to
    /// [`Throttle::answered`].
    pub async fn ready(&self) -> Ticket {
        loop {
            let ticket = self.take_turn();
            if ticket.turn > Instant::now() {
                tokio::time::sleep_until(ticket.turn).await;
            }
            // A cut while it waited: its turn was paced at the old rate; it queues again.
            if self.lock().cuts == ticket.cuts {
                return ticket;
            }
        }
    }

    /// The next turn on the schedule.
    fn take_turn(&self) -> Ticket {
        let mut s = self.lock();
        let now = Instant::now();
        if now > s.tat {
            let free_since = s.tat.max(s.step_at);
            s.idle += now.saturating_duration_since(free_since);
        }
        self.step(&mut s, now);
        let spacing = 1.0 / s.rate;
        let slack = ((self.burst - 1.0) * spacing).max(0.001);
        let turn = now.max(s.tat - Duration::from_secs_f64(slack.min(3600.0)));
        s.tat = s.tat.max(now) + Duration::from_secs_f64(spacing.min(3600.0));
        Ticket {
            turn,
            rate: s.rate,
            cuts: s.cuts,
        }
    }

    /// The answer to the request of `ticket` came: `status`, with `headers`.
    pub fn answered(&self, ticket: Ticket, status: StatusCode, headers: &HeaderMap) {
        let said = LimitHeaders::read(headers);
        let mut s = self.lock();
        let now = Instant::now();
        self.step(&mut s, now);
        if let Some(limit) = said.per_second {
            s.published = Some(limit.max(FLOOR));
            if s.rate > limit.max(FLOOR) {
                self.slow_down(&mut s, ticket, Signal::Published, now);
            }
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            s.refused += 1;
            self.slow_down(&mut s, ticket, Signal::Refused, now);
        } else if status.is_success() {
            s.delivered[WINDOW_STEPS - 1] += 1;
            if said.remaining == Some(0) {
                self.slow_down(&mut s, ticket, Signal::UsedUp, now);
            }
        }
    }

    /// The rate now, requests per second.
    pub fn rate(&self) -> f64 {
        self.lock().rate
    }

    /// How many answers were 429.
    pub fn refused(&self) -> u64 {
        self.lock().refused
    }

    /// How often the run slowed down.
    pub fn cuts(&self) -> u64 {
        self.lock().cuts
    }

    /// The pace now when the run slowed down or is `auto` (else it is the configured rate).
    pub fn settled(&self) -> Option<f64> {
        let s = self.lock();
        (self.auto || s.cuts > 0).then_some(s.rate)
    }

    /// What the progress line says about the pace: the rate now when the run slowed down or
    /// is `auto`, else nothing.
    pub fn shown(&self) -> Option<String> {
        self.settled().map(|rate| format!("pace {rate:.1}/s"))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The highest rate allowed now.
    fn cap(&self, s: &State) -> f64 {
        s.published.map_or(self.ceiling, |p| p.min(self.ceiling))
    }

    /// Ends the steps that are over at `now`: growth (slow start or cubic) when the run kept up
    /// with the rate, and the delivered-rate window moved on.
    fn step(&self, s: &mut State, now: Instant) {
        let length = STEP.max(Duration::from_secs_f64((STEP_REQUESTS / s.rate).min(60.0)));
        let elapsed = now.saturating_duration_since(s.step_at);
        if elapsed < length {
            return;
        }
        let steps = (elapsed.as_secs_f64() / STEP.as_secs_f64()).floor() as usize;
        for _ in 0..steps.min(WINDOW_STEPS) {
            s.delivered.rotate_left(1);
            s.delivered[WINDOW_STEPS - 1] = 0;
        }
        let busy = s.idle.as_secs_f64() < (1.0 - BUSY) * elapsed.as_secs_f64();
        let cap = self.cap(s);
        match s.estimate {
            _ if !busy => s.epoch += elapsed, // latency-bound: the curve waits
            None if self.auto => {
                let growth = SLOW_START_GROWTH.powf(elapsed.as_secs_f64() / length.as_secs_f64());
                s.rate = (s.rate * growth).min(cap);
            }
            None => s.rate = cap,
            Some(estimate) => s.rate = cubic(estimate, s.cut_to, now - s.epoch).min(cap),
        }
        s.step_at = now;
        s.idle = Duration::ZERO;
    }

    /// The rate at which `ticket`'s request went was too high (`signal` says how we know).
    fn slow_down(&self, s: &mut State, ticket: Ticket, signal: Signal, now: Instant) {
        let cap = self.cap(s);
        if signal == Signal::Published {
            s.rate = cap;
            s.cut_to = cap;
            s.epoch = now;
        } else {
            if ticket.cuts != s.cuts {
                return; // paced before the last cut: that cut answered it
            }
            let at = ticket.rate;
            let delivered = (now.saturating_duration_since(s.started) >= Duration::from_secs(1))
                .then(|| f64::from(s.delivered.iter().sum::<u32>()));
            let (estimate, cut) = match (delivered, s.estimate) {
                // Refused at about what got through, or above: the limit is between the two.
                (Some(d), _) if at >= NEAR.0 * d => ((d.min(at) + at) / 2.0, CUT_NEAR),
                // Refused well below what got through a second ago: the limit fell.
                (Some(_), _) => (at, CUT_FAR),
                (None, None) => (at, CUT_UNKNOWN),
                (None, Some(e)) if at < NEAR.0 * e || at > NEAR.1 * e => (at, CUT_FAR),
                (None, Some(_)) => (at, CUT_NEAR),
            };
            let estimate = estimate.max(FLOOR);
            if signal == Signal::UsedUp {
                // Not a refusal: hold just under the limit (repeats do not cut further).
                let limit = s.published.or(s.estimate).unwrap_or(at);
                s.estimate = Some(limit);
                s.rate = s.rate.min(USED_UP * limit).max(FLOOR);
            } else {
                s.estimate = Some(estimate);
                s.rate = (estimate * (1.0 - cut)).min(s.rate).min(cap).max(FLOOR);
            }
            s.cut_to = s.rate;
            s.epoch = now;
        }
        s.cuts += 1;
        // A new schedule at the new rate; turns handed out before it are taken again.
        s.tat = now + Duration::from_secs_f64((1.0 / s.rate).min(3600.0));
        let rate = s.rate;
        let why = match signal {
            Signal::Refused => "the tenant answered 429 (too many requests)",
            Signal::UsedUp => "the tenant's rate-limit headers say its limit is used up",
            Signal::Published => "the tenant publishes a lower rate limit (RateLimit headers)",
        };
        if !s.said {
            s.said = true;
            tracing::warn!(
                "{why}: slowing down to {rate:.1}/s; the progress line shows the rate from now on"
            );
        } else {
            tracing::debug!("{why}: slowing down to {rate:.1}/s");
        }
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
