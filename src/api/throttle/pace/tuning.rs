//! The pace controller's constants: how fast it grows, how deep it cuts, how long it
//! remembers, and the margins it keeps.

use std::time::Duration;

/// The rate never falls below this many requests per second.
pub(super) const FLOOR: f64 = 0.2;
/// Slow start's growth per step.
pub(super) const SLOW_START_GROWTH: f64 = 1.4;
/// A step of slow start and of the measurements: at least this long...
pub(super) const STEP: Duration = Duration::from_millis(100);
/// ...and at least this many requests' worth.
pub(super) const STEP_REQUESTS: f64 = 5.0;
/// A run is rate-bound (growth makes sense) when the pacer stood idle less than this fraction
/// of a step.
pub(super) const BUSY: f64 = 0.75;
/// The cut without any estimate of the limit.
pub(super) const CUT_UNKNOWN: f64 = 0.5;
/// The first cut of `--rate auto` before anything was measured: a quarter of the rate.
pub(super) const CUT_FIRST: f64 = 0.75;
/// The cut when far from the estimate.
pub(super) const CUT_FAR: f64 = 0.3;
/// The cut when near it.
pub(super) const CUT_NEAR: f64 = 0.05;
/// A reply saying the limit is used up (`Remaining: 0`) holds the rate at this fraction of the
/// limit.
pub(super) const USED_UP: f64 = 0.95;
/// "Near" the estimate: within these factors of it.
pub(super) const NEAR: (f64, f64) = (0.9, 1.2);
/// CUBIC's constant: after the plateau the rate grows by `C * t^3` of the estimate.
pub(super) const CUBIC_C: f64 = 0.4;
/// Below this rate the cubic clock slows down in proportion.
pub(super) const CUBIC_FULL_SPEED: f64 = 100.0;
/// The delivered rate is counted over this many requests' worth at the rate (fewer, and at a
/// few requests a second the count is too coarse: 9 answers or 10 in three seconds is 11 %)...
pub(super) const DELIVERED_REQUESTS: f64 = 20.0;
/// ...and at least a second...
pub(super) const DELIVERED_SHORTEST: Duration = Duration::from_secs(1);
/// ...and at most ten.
pub(super) const DELIVERED_LONGEST: Duration = Duration::from_secs(10);
/// The most answer times kept to count it (a second's worth at 16,384/s).
pub(super) const DELIVERED_KEPT: usize = 1 << 14;
/// No spacing or slack is longer than this (a rate at the floor stays representable).
pub(super) const LONGEST: f64 = 3600.0;
/// A limit whose window is longer than this is counted in fixed windows, not a bucket.
pub(super) const BUCKET_WINDOW: Duration = Duration::from_secs(1);
/// With a burst of one, requests spaced at least this far apart (rates up to 500/s) leave
/// no closer than the spacing; faster ones keep the timer's millisecond of slack.
pub(super) const STRICT_SPACING: Duration = Duration::from_millis(2);
/// Under `--rate N` with a burst of one, requests leave this fraction further apart than the
/// rate's spacing:
/// N + 1 requests then span a second and 10 ms, so that the millisecond or two the loopback or
/// a new connection adds to one request and not the next never puts N + 1 in a second.
pub(super) const DEPARTURE_GUARD: f64 = 0.01;
/// A window's budget (`Remaining` over `Reset`) is not reckoned over less than this.
pub(super) const SHORTEST_RESET: Duration = Duration::from_millis(100);
/// Slow start's first refusal, early in the run and after at most [`SMALL_BURST`] got
/// through, holds every turn at least this long (or the refusal's `Retry-After`, when
/// longer): the tenant's small bucket refills meanwhile, and the next refusal, if one comes,
/// measures what gets through over this much time at least.
pub(super) const EARLY_HOLD: Duration = Duration::from_secs(1);
/// A bucket that refuses slow start after this many got through is small (two steps'
/// worth): a second's hold refills it without wasting much of a low limit.
pub(super) const SMALL_BURST: usize = 10;
