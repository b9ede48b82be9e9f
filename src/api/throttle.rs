//! The pace of every API request a command sends: one controller for `--rate N` and
//! `--rate auto`. Its arithmetic is pure and lives in `pace.rs` (it is given the time), the
//! spacing in governor's limiter (`spacer.rs`); this file only reads the clock, queues the
//! requests for their turns, sleeps until one and says what the controller did.
//!
//! - **Pacing**: governor's limiter spaces requests `1/rate` apart (GCRA: a turn is kept on
//!   schedule even when a worker wakes late), with `--burst` requests allowed at once and
//!   never less slack than a millisecond (tokio's timer granularity), so that very high rates
//!   do not sleep. The controller below decides the rate; `gate.rs` gives governor a new quota
//!   when it changes (`spacer.rs` says how the burst is kept across the change).
//! - **Ceiling**: `--rate N` is never exceeded; `auto` never goes above
//!   [`AUTO_CEILING`](crate::rate::AUTO_CEILING); a
//!   published limit (`RateLimit-Limit`, `X-RateLimit-Limit`) lowers the ceiling: no probing
//!   above a known limit.
//! - **Slow start** (`auto` only): from [`AUTO_START`](crate::rate::AUTO_START) the rate grows by 40 % per step (a
//!   step is 100 ms, or five requests' worth at low rates) while the run keeps up with it;
//!   not while it is latency-bound (workers all busy), where a higher rate would change
//!   nothing.
//! - **Slowing down**: a 429 (or a reply whose `Remaining` is 0) says the rate at which its
//!   request was sent is above the tenant's limit. The rate is cut, harder when far from the
//!   remembered estimate (half with none, 30 %), by 10 % when near it. Answers to requests
//!   sent before the last cut answer the old rate and are not counted again: the cool-down is
//!   exactly one round trip. The estimate is that rate, or the rate delivered (2xx) over the
//!   last second when lower, which is the limit itself once the server's bucket is empty.
//!   Slow start refused early, after a handful got through, is a small bucket's: the run
//!   holds a second (or a longer `Retry-After`; only when the 429 says one) while it
//!   refills, and the next refusal measures what got through since the first.
//! - **Growing back**: CUBIC-like: fast back to just under the estimate, a plateau there, then
//!   probing above it ever faster. Its clock runs slower at low rates (a second per hundred
//!   requests below 100/s), so a probe costs about as many requests at 10/s as at 100/s.
//!
//! - **Fixed windows**: the headers are read in all three forms ([`LimitHeaders`]); a
//!   `Reset` as a delta or an epoch second. The window is the policy's `w=`, else the longest
//!   `Reset` seen (a bucket's stays under a second), and `Limit` is per window. Counted in
//!   windows, turns are spaced no closer than what is left over the window's rest, and a
//!   window used up (`Remaining: 0`) holds every turn until it ends: a wait, not a cut.
//! - **Blocks**: a 429 whose `Retry-After` (delta seconds or an HTTP date) is longer than a
//!   second is a window's, used up or blocked (one request too many blocks the rest of the
//!   window and the next): every turn waits until it ends, a wait and not a cut. When no
//!   header told the window, it is learned from that refusal (`window.rs`: the round length
//!   that fits the wait, the allowance what passed in the window) and the pace stays under
//!   it from then on, so that a tenant that blocks blocks once.
//! - **In-flight limits**: every request carries the count in flight when it left. A 429 at a
//!   count above every one that got through is an in-flight limit's (`in_flight.rs`): the
//!   count in flight is capped just under it and the rate is not cut; a 429 at a count that
//!   got through before is a rate's, and the cap goes.
//! - **Not a rate signal**: a 5xx or any other 4xx.
//!
//! The row that got the 429 waits for its own `Retry-After` ([`super::retry`]); the others go
//! on at the new rate. The first slow-down is said once on the screen; later ones go to the
//! log at `-v`.

mod gate;
mod headers;
mod in_flight;
mod pace;
#[cfg(test)]
mod pace_tests;
#[cfg(test)]
mod pace_window_tests;
mod spacer;
#[cfg(test)]
mod spacer_tests;
#[cfg(test)]
mod tests;
mod window;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tokio::sync::Notify;
use tokio::time::Instant;

use gate::Gate;
pub use headers::{LimitHeaders, retry_after};
pub use pace::{Learned, Ticket};
use pace::{Outcome, Signal, SlowDown};

use crate::rate::RateSetting;

/// The gate every API request passes, retries included.
pub struct Throttle {
    /// The controller and governor's limiter. A std mutex: held for their arithmetic only,
    /// never across an await.
    gate: Mutex<Gate>,
    /// The requests waiting for a turn, in the order they came: only the first asks the
    /// gate (and sleeps until it says), so that a turn is not raced for.
    queue: tokio::sync::Mutex<()>,
    /// The gate changed (a new quota, or a hold): the first in the queue asks again.
    changed: Notify,
    /// The first slow-down has been said on the screen.
    said: AtomicBool,
    /// Answers heard, and their total time from send to answer in microseconds: the reply
    /// time the progress shows.
    answers: AtomicU64,
    reply_micros: AtomicU64,
    /// The requests in flight, counted for an in-flight limit.
    in_flight: Arc<Count>,
}

/// Requests in flight, and a wake-up for those waiting for one to end.
#[derive(Debug, Default)]
struct Count {
    /// Places taken: in flight, or waiting for their turn (at most the cap).
    now: AtomicU32,
    /// Of those, the requests that left and were not answered yet.
    flying: AtomicU32,
    /// One ended, or the cap changed.
    freed: Notify,
}

/// A request's place among those in flight, given back when dropped.
#[derive(Debug)]
struct Slot {
    /// The count it is one of.
    count: Arc<Count>,
    /// Its request left.
    left: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.left {
            self.count.flying.fetch_sub(1, Ordering::AcqRel);
        }
        self.count.now.fetch_sub(1, Ordering::AcqRel);
        self.count.freed.notify_waiters();
    }
}

/// A request's turn: its ticket, and its place in flight until the turn is dropped (after its
/// answer, or when no answer came).
#[derive(Debug)]
pub struct Turn {
    /// At what rate it went, and with how many in flight.
    ticket: Ticket,
    /// Held while the request is in flight.
    _slot: Slot,
}

impl Throttle {
    /// A throttle for `setting`, allowing `burst` requests at once.
    pub fn new(setting: RateSetting, burst: NonZeroU32) -> Self {
        Throttle {
            gate: Mutex::new(Gate::new(setting, burst, Instant::now())),
            queue: tokio::sync::Mutex::new(()),
            changed: Notify::new(),
            said: AtomicBool::new(false),
            answers: AtomicU64::new(0),
            reply_micros: AtomicU64::new(0),
            in_flight: Arc::new(Count::default()),
        }
    }

    /// Waits for a place in flight (under an in-flight limit, once one was learned) and then
    /// for this request's turn; the turn goes back with its answer to [`Throttle::answered`].
    pub async fn ready(&self) -> Turn {
        let mut slot = self.slot().await;
        let mut ticket = self.turn().await;
        ticket.in_flight = self.leave(&mut slot).await;
        Turn {
            ticket,
            _slot: slot,
        }
    }

    /// A place in flight: at once, or when one under the learned in-flight limit is free.
    async fn slot(&self) -> Slot {
        loop {
            let freed = self.in_flight.freed.notified();
            let cap = self.lock().pace().in_flight_cap().unwrap_or(u32::MAX);
            let taken = self
                .in_flight
                .now
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < cap).then_some(n + 1)
                });
            if taken.is_ok() {
                return Slot {
                    count: self.in_flight.clone(),
                    left: false,
                };
            }
            freed.await;
        }
    }

    /// The request of `slot` leaves, as soon as fewer than the cap are in flight (places taken
    /// before a cap was learned may be more than it): how many are in flight with it.
    async fn leave(&self, slot: &mut Slot) -> u32 {
        loop {
            let freed = self.in_flight.freed.notified();
            let cap = self.lock().pace().in_flight_cap().unwrap_or(u32::MAX);
            let left =
                self.in_flight
                    .flying
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                        (n < cap).then_some(n + 1)
                    });
            if let Ok(before) = left {
                slot.left = true;
                return before + 1;
            }
            freed.await;
        }
    }

    /// This request's turn: when governor grants it at the pace the controller chose, after
    /// those that asked before it.
    async fn turn(&self) -> Ticket {
        let _first = self.queue.lock().await;
        loop {
            let changed = self.changed.notified();
            let now = Instant::now();
            let asked = self.lock().take(now);
            match asked {
                Ok(ticket) => {
                    let leave = self.lock().pace_mut().depart(now);
                    if leave > Instant::now() {
                        tokio::time::sleep_until(leave).await;
                    }
                    return ticket;
                }
                Err(at) => tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = changed => {}
                },
            }
        }
    }

    /// The answer to the request of `turn` came: `status`, with `headers`.
    pub fn answered(&self, turn: Turn, status: StatusCode, headers: &HeaderMap) {
        let ticket = turn.ticket;
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let said = LimitHeaders::read(headers, epoch);
        let (slowed, changed, cap_before, cap) = {
            let mut gate = self.lock();
            let cap_before = gate.pace().in_flight_cap();
            let (slowed, changed) =
                gate.answered(ticket, Outcome::of(status), said, Instant::now());
            (slowed, changed, cap_before, gate.pace().in_flight_cap())
        };
        drop(turn);
        if changed {
            self.changed.notify_waiters();
        }
        for slow_down in slowed {
            self.say(slow_down);
        }
        if cap != cap_before {
            // Those waiting for a place look at the new cap.
            self.in_flight.freed.notify_waiters();
            match cap {
                Some(n) if !self.said.swap(true, Ordering::Relaxed) => tracing::warn!(
                    "the tenant refuses requests beyond {n} in flight (429): at most {n} at \
                     once from now on, at the same rate; the progress line shows the pace"
                ),
                Some(n) => tracing::debug!("in-flight limit: at most {n} at once"),
                None => tracing::debug!("refused within the in-flight cap: a rate limit after all"),
            }
        }
    }

    /// An answer came `took` after its request was sent.
    pub fn replied(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.reply_micros.fetch_add(micros, Ordering::Relaxed);
        self.answers.fetch_add(1, Ordering::Relaxed);
    }

    /// Answers heard so far, and their total reply time.
    pub fn replies(&self) -> (u64, Duration) {
        let micros = self.reply_micros.load(Ordering::Relaxed);
        (
            self.answers.load(Ordering::Relaxed),
            Duration::from_micros(micros),
        )
    }

    /// The rate now, requests per second.
    pub fn rate(&self) -> f64 {
        self.lock().pace().rate()
    }

    /// How many answers were 429.
    pub fn refused(&self) -> u64 {
        self.lock().pace().refused()
    }

    /// How often the run slowed down.
    pub fn cuts(&self) -> u64 {
        self.lock().pace().cuts()
    }

    /// The pace now when the run slowed down or is `auto` (else it is the configured rate):
    /// the controller's rate, or what a learned in-flight limit allows at the reply time seen
    /// when that is lower.
    pub fn settled(&self) -> Option<f64> {
        let settled = self.lock().pace().settled()?;
        Some(self.in_flight_binds().map_or(settled, |(_, allows)| allows))
    }

    /// A learned in-flight limit, and the rate it allows at the reply time seen, when that is
    /// below the controller's rate: what binds is the count in flight.
    fn in_flight_binds(&self) -> Option<(u32, f64)> {
        let (cap, rate) = {
            let gate = self.lock();
            (gate.pace().in_flight_cap()?, gate.pace().rate())
        };
        let (answers, total) = self.replies();
        let reply = total.checked_div(u32::try_from(answers).ok()?)?;
        in_flight::binding(cap, reply, rate).map(|allows| (cap, allows))
    }

    /// What was learned of the tenant's limiter, once something was.
    pub fn learned(&self) -> Option<Learned> {
        self.lock().pace().learned()
    }

    /// What the progress line says about the pace: what binds it (an in-flight limit, and
    /// the rate it allows), or the rate now when the run slowed down or is `auto`, and what
    /// was learned of the limit; else nothing.
    pub fn shown(&self) -> Option<String> {
        if let Some((cap, allows)) = self.in_flight_binds() {
            return Some(format!("{}, pace {allows:.1}/s", Learned::InFlight(cap)));
        }
        let pace = self.settled().map(|rate| format!("pace {rate:.1}/s"))?;
        Some(match self.learned() {
            Some(learned @ (Learned::Window { .. } | Learned::InFlight(_))) => {
                format!("{pace}, {learned}")
            }
            _ => pace,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Says a slow-down: the first on the screen, later ones in the log at `-v`.
    fn say(&self, slow_down: SlowDown) {
        let rate = slow_down.rate;
        let why = match slow_down.signal {
            Signal::Refused => "the tenant answered 429 (too many requests)",
            Signal::UsedUp => "the tenant's rate-limit headers say its limit is used up",
            Signal::Published => "the tenant publishes a lower rate limit (its rate-limit headers)",
            Signal::Blocked => {
                "the tenant answered 429 and held the run past a window's end (a fixed window, \
                 learned from it)"
            }
        };
        if !self.said.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "{why}: slowing down to {rate:.1}/s; the progress line shows the rate from now on"
            );
        } else {
            tracing::info!("{why}: slowing down to {rate:.1}/s");
        }
    }
}
