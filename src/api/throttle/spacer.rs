//! Spacing requests with governor's limiter (GCRA, direct, not keyed) at the rate and burst
//! the controller chose: given the time, like the controller, so that its tables and tokio's
//! paused clock drive it the same way the real clock does.
//!
//! governor cannot change a limiter's quota in place, nor start a limiter other than full.
//! So a new rate is a new limiter, and what the old one had spent is spent on the new one
//! first (`check_n`), so that a change of rate neither lets a burst through nor delays the
//! next request:
//! - after a cut (a 429, or a lower published limit), the new limiter is spent whole: the
//!   requests that drew the refusal were the burst, and the tenant's bucket is empty. A full
//!   bucket granted at once would be refused at once, and cut again.
//! - on any other change (slow start, growing back, a window's budget) the time at which the
//!   old limiter would be full again is kept.
//!
//! To spend part of a request's worth, and to keep the millisecond of slack a timer needs at
//! rates above a thousand a second, a request is [`Tuned::cells`] of governor's cells (a cell
//! is at most a millisecond); the burst is counted in requests.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

/// The longest cell; also the slack every turn has (tokio's timer granularity).
const CELL: Duration = Duration::from_millis(1);
/// The most cells a request is split into (a request's worth at 0.24/s and below).
const MOST_CELLS: u64 = 4096;
/// No spacing is longer than this (a rate at the controller's floor stays representable).
const LONGEST: f64 = 3600.0;

/// governor's clock, set to the time the caller gives before each call.
#[derive(Debug, Default)]
struct GivenClock {
    /// Nanoseconds since the spacer's origin.
    nanos: AtomicU64,
}

impl Clock for GivenClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::new(self.nanos.load(Ordering::Relaxed))
    }
}

/// The limiter of one quota.
type Limiter = RateLimiter<NotKeyed, InMemoryState, GivenClock, NoOpMiddleware<Nanos>>;

/// A quota as governor counts it: a request is `cells` cells of `cell` each, and `all` cells
/// fit in the bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tuned {
    /// Requests per second.
    pub(crate) rate: f64,
    /// Requests allowed at once.
    pub(crate) burst: u32,
    /// One cell's time.
    cell: Duration,
    /// Cells per request.
    cells: NonZeroU32,
    /// Cells in the bucket: the burst's, or a millisecond's slack when that is more.
    all: NonZeroU32,
}

impl Tuned {
    /// The quota for `rate` requests a second with `burst` of them at once.
    pub(crate) fn new(rate: f64, burst: u32) -> Tuned {
        let spacing = (1.0 / rate).min(LONGEST);
        let cells = (spacing / CELL.as_secs_f64())
            .ceil()
            .clamp(1.0, MOST_CELLS as f64) as u64;
        let cell = Duration::from_secs_f64(spacing / cells as f64).max(Duration::from_nanos(1));
        // Whole cells of slack, never more than the millisecond (a second request at once
        // at 600/s would be one too many), but at least one.
        let slack = (CELL.as_nanos() / cell.as_nanos()).max(1) as u64;
        let burst = burst.max(1);
        let all = (cells + (u64::from(burst - 1) * cells).max(slack)).min(u64::from(u32::MAX));
        let nonzero = |n: u64| NonZeroU32::new(n.clamp(1, u64::from(u32::MAX)) as u32);
        Tuned {
            rate,
            burst,
            cell,
            cells: nonzero(cells).expect("at least one"),
            all: nonzero(all).expect("at least one"),
        }
    }
}

/// governor's limiter at the quota the controller chose last.
#[derive(Debug)]
pub(crate) struct Spacer {
    /// The time governor's clock counts from.
    origin: Instant,
    /// The limiter of the quota now.
    limiter: Limiter,
    /// That quota.
    tuned: Tuned,
    /// When the limiter's bucket is full again (GCRA's theoretical arrival time), as it said
    /// after the last grant or change.
    full_at: Instant,
}

impl Spacer {
    /// A full limiter for `rate` and `burst` at `now`.
    pub(crate) fn new(rate: f64, burst: u32, now: Instant) -> Spacer {
        let tuned = Tuned::new(rate, burst);
        Spacer {
            origin: now,
            limiter: limiter(tuned, Duration::ZERO),
            tuned,
            full_at: now,
        }
    }

    /// The quota now.
    pub(crate) fn tuned(&self) -> Tuned {
        self.tuned
    }

    /// When the bucket is full again.
    pub(crate) fn full_at(&self) -> Instant {
        self.full_at
    }

    /// A request asks to go at `now`: `Ok` when governor lets it (its cells are spent), else
    /// the earliest time it may.
    pub(crate) fn check(&mut self, now: Instant) -> Result<(), Instant> {
        self.set(now);
        match self.limiter.check_n(self.tuned.cells) {
            Ok(Ok(())) => {
                // Asking for the whole bucket right after a grant is always refused, and says
                // when it is full again; it spends nothing.
                self.full_at = match self.limiter.check_n(self.tuned.all) {
                    Ok(Err(full)) => self.instant(full.earliest_possible()),
                    _ => now.max(self.full_at) + self.tuned.cell * self.tuned.cells.get(),
                };
                Ok(())
            }
            Ok(Err(not_until)) => Err(self.instant(not_until.earliest_possible())),
            // Never: a request's cells fit in the bucket by construction.
            Err(_) => Err(now + self.tuned.cell * self.tuned.cells.get()),
        }
    }

    /// A new quota at `now`: `spent` says the bucket is to be spent whole (after a cut); else
    /// the time it is full again is kept, as far as the new bucket holds it.
    pub(crate) fn retune(&mut self, rate: f64, burst: u32, spent: bool, now: Instant) {
        let tuned = Tuned::new(rate, burst);
        let limiter = limiter(tuned, now.saturating_duration_since(self.origin));
        let debt = self.full_at.saturating_duration_since(now);
        let cells = if spent {
            u64::from(tuned.all.get())
        } else {
            (debt.as_nanos().div_ceil(tuned.cell.as_nanos()) as u64).min(u64::from(tuned.all.get()))
        };
        self.full_at = now;
        if let Some(cells) = NonZeroU32::new(cells as u32) {
            // A fresh limiter is full: these cells always pass.
            let _ = limiter.check_n(cells);
            self.full_at = now + tuned.cell * cells.get();
        }
        self.limiter = limiter;
        self.tuned = tuned;
    }

    /// Sets governor's clock to `now`.
    fn set(&self, now: Instant) {
        let since = now.saturating_duration_since(self.origin);
        let nanos = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
        self.limiter.clock().nanos.store(nanos, Ordering::Relaxed);
    }

    /// The time of governor's `at`.
    fn instant(&self, at: Nanos) -> Instant {
        self.origin + Duration::from(at)
    }
}

/// A full limiter of `tuned`, its clock at `since` the origin.
fn limiter(tuned: Tuned, since: Duration) -> Limiter {
    let quota = Quota::with_period(tuned.cell)
        .expect("a cell is never zero")
        .allow_burst(tuned.all);
    let clock = GivenClock::default();
    let nanos = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
    clock.nanos.store(nanos, Ordering::Relaxed);
    RateLimiter::direct_with_clock(quota, clock)
}
