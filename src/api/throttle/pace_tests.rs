//! The controller's arithmetic as tables: a run of (time, event) rows against one [`Pace`],
//! each row saying the range the rate must be in after it. No clock is read: the times are
//! offsets from one instant, handed to the controller.

use std::num::NonZeroU32;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::time::Instant;

use super::LimitHeaders;
use super::gate::Gate;
use super::pace::{Outcome, Signal, SlowDown, Ticket};
use crate::rate::{Rate, RateSetting};

/// What happens at a row's time.
#[derive(Debug, Clone, Copy)]
pub(super) enum Event {
    /// A request takes its turn (at the row's time, or later when the schedule says so).
    Send,
    /// A sender that is never idle takes every turn until the row's time.
    Busy,
    /// The answer to the `n`th request sent (counting from 0, `Busy` ones included).
    Answer(usize, Outcome, LimitHeaders),
}
pub(super) use Event::*;

/// One row: at `ms`, `event`; then the rate is within `rate` (inclusive) and `cuts` cuts
/// were made.
pub(super) struct Row {
    ms: u64,
    event: Event,
    rate: (f64, f64),
    cuts: u64,
}

pub(super) fn row(ms: u64, event: Event, rate: (f64, f64), cuts: u64) -> Row {
    Row {
        ms,
        event,
        rate,
        cuts,
    }
}

pub(super) const NONE: LimitHeaders = LimitHeaders {
    limit: None,
    window: None,
    remaining: None,
    reset: None,
    reset_epoch: None,
    retry_after: None,
    retry_epoch: None,
};

/// Headers saying `limit` per window (none named), `remaining` left, and `reset_ms` until
/// the window ends.
pub(super) const fn said(limit: u64, remaining: u64, reset_ms: u64) -> LimitHeaders {
    LimitHeaders {
        limit: Some(limit),
        window: None,
        remaining: Some(remaining),
        reset: Some(Duration::from_millis(reset_ms)),
        reset_epoch: None,
        retry_after: None,
        retry_epoch: None,
    }
}

pub(super) fn at_most(per_second: u32) -> RateSetting {
    RateSetting::AtMost(Rate::per_second_at_most(
        NonZeroU32::new(per_second).unwrap(),
    ))
}

/// Plays `rows` against a controller for `setting` (burst 1), checking each row; returns the
/// slow-downs' signals in order.
pub(super) fn play(setting: RateSetting, rows: &[Row]) -> Vec<Signal> {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let mut pace = Gate::new(setting, RateSetting::DEFAULT_BURST, start);
    let mut sent: Vec<Ticket> = Vec::new();
    let mut signals = Vec::new();
    let mut busy_at = start;
    for (i, row) in rows.iter().enumerate() {
        match row.event {
            Send => sent.push(turn(&mut pace, at(row.ms))),
            Busy => {
                let mut now = busy_at.max(sent.last().map_or(start, |t| t.turn));
                while now < at(row.ms) {
                    let ticket = turn(&mut pace, now);
                    now = ticket.turn.max(now + Duration::from_micros(1));
                    sent.push(ticket);
                }
                busy_at = now;
            }
            Answer(n, outcome, said) => signals.extend(
                answer(&mut pace, sent[n], outcome, said, at(row.ms))
                    .into_iter()
                    .map(|s| s.signal),
            ),
        }
        let (lo, hi) = row.rate;
        assert!(
            (lo..=hi).contains(&pace.pace().rate()),
            "row {i} ({} ms, {:?}): rate {} not in {lo}..={hi}",
            row.ms,
            row.event,
            pace.pace().rate()
        );
        assert_eq!(pace.pace().cuts(), row.cuts, "row {i}: cuts");
    }
    signals
}

/// A request asks for its turn from `now` on, asking again when the gate says, until it
/// gets it.
pub(super) fn turn(gate: &mut Gate, now: Instant) -> Ticket {
    let mut now = now;
    loop {
        match gate.take(now) {
            Ok(ticket) => return ticket,
            Err(at) => now = at.max(now),
        }
    }
}

/// The answer to `ticket` at `now`: the slow-downs it caused.
pub(super) fn answer(
    gate: &mut Gate,
    ticket: Ticket,
    outcome: Outcome,
    said: LimitHeaders,
    now: Instant,
) -> Vec<SlowDown> {
    gate.answered(ticket, outcome, said, now).0
}

pub(super) fn exactly(rate: f64) -> (f64, f64) {
    (rate - 1e-9, rate + 1e-9)
}

#[test]
fn a_fixed_rate_is_cut_once_per_round_trip_and_further_when_refused_again() {
    let refused = |n| Answer(n, Outcome::Refused, NONE);
    let signals = play(
        at_most(100),
        &[
            row(0, Send, exactly(100.0), 0),
            row(0, Send, exactly(100.0), 0),
            // No estimate yet: half.
            row(5, refused(0), exactly(50.0), 1),
            // Paced before that cut: already answered by it.
            row(6, refused(1), exactly(50.0), 1),
            row(30, Send, exactly(50.0), 1),
            // Refused at 50 against an estimate of 100, nothing measured yet (the run is not
            // a second old): half again.
            row(40, refused(2), exactly(25.0), 2),
        ],
    );
    assert_eq!(signals, [Signal::Refused, Signal::Refused]);
}

#[test]
fn a_5xx_or_a_4xx_is_not_a_rate_signal() {
    let status = |n, code| Answer(n, Outcome::of(code), NONE);
    let signals = play(
        at_most(100),
        &[
            row(0, Send, exactly(100.0), 0),
            row(0, Send, exactly(100.0), 0),
            row(
                5,
                status(0, StatusCode::SERVICE_UNAVAILABLE),
                exactly(100.0),
                0,
            ),
            row(6, status(1, StatusCode::BAD_REQUEST), exactly(100.0), 0),
        ],
    );
    assert!(signals.is_empty());
}

#[test]
fn slow_start_grows_only_while_the_run_keeps_up() {
    play(
        RateSetting::Auto,
        &[
            // Starts at 20/s; a step is 250 ms (five requests' worth) at 20/s.
            row(0, Send, exactly(20.0), 0),
            // Every turn taken on time for a step (ended by the first turn after 250 ms, at
            // 299 ms): 40 % more per 250 ms.
            row(300, Busy, (28.0, 30.0), 0),
        ],
    );
    play(
        RateSetting::Auto,
        &[
            row(0, Send, exactly(20.0), 0),
            // Nobody took the turns for most of the step: latency-bound, no growth.
            row(400, Send, exactly(20.0), 0),
            row(700, Send, exactly(20.0), 0),
        ],
    );
}

#[test]
fn a_published_limit_caps_the_rate_at_once_and_used_up_holds_under_it() {
    // A bucket's headers: 100 a second, full again within the second.
    let published = said(100, 40, 400);
    let used_up = said(100, 0, 1000);
    let signals = play(
        at_most(400),
        &[
            row(0, Send, exactly(400.0), 0),
            row(0, Send, exactly(400.0), 0),
            row(
                3,
                Answer(0, Outcome::Delivered, published),
                exactly(100.0),
                1,
            ),
            row(5, Send, exactly(100.0), 1),
            row(7, Answer(2, Outcome::Delivered, used_up), exactly(95.0), 2),
            // The same news again on an answer paced before it: no further cut.
            row(8, Answer(1, Outcome::Delivered, used_up), exactly(95.0), 2),
        ],
    );
    assert_eq!(signals, [Signal::Published, Signal::UsedUp]);
}

#[test]
fn after_a_cut_the_rate_comes_back_to_the_estimate_and_plateaus_under_the_ceiling() {
    play(
        at_most(100),
        &[
            row(0, Send, exactly(100.0), 0),
            row(10, Answer(0, Outcome::Refused, NONE), exactly(50.0), 1),
            // CUBIC from 50 under an estimate of 100: most of the way back in half a second...
            row(510, Busy, (88.0, 94.0), 1),
            // ...flat near the estimate...
            row(1000, Busy, (99.0, 100.0), 1),
            // ...and never above `--rate 100`.
            row(3000, Busy, exactly(100.0), 1),
        ],
    );
}

#[test]
fn refused_at_the_delivered_rate_cuts_gently() {
    // A second of 2xx at 100/s, then a 429 at that rate: the limit is taken as halfway
    // between what got through over the last second (99: the answers after 6 ms) and the
    // rate refused (100), and the cut from it is 5 %: 0.95 * 99.5.
    let mut rows = vec![row(0, Send, exactly(100.0), 0)];
    for n in 0..100 {
        rows.push(row(n * 10, Busy, exactly(100.0), 0));
        rows.push(row(
            n * 10 + 5,
            Answer(n as usize, Outcome::Delivered, NONE),
            exactly(100.0),
            0,
        ));
    }
    rows.push(row(1005, Busy, exactly(100.0), 0));
    let last = 100;
    rows.push(row(
        1006,
        Answer(last, Outcome::Refused, NONE),
        exactly(94.525),
        1,
    ));
    play(at_most(100), &rows);
}

#[test]
fn refused_well_above_what_gets_through_takes_that_as_the_limit() {
    // Sent at 5/s for 5 s, 3 of every 5 got through (the others answered 503, not a rate
    // signal), then a 429 at 5/s: the tenant's bucket is empty and the limit is the 3/s that
    // gets through, not halfway to 5.
    let mut rows = Vec::new();
    for n in 0..25u64 {
        rows.push(row(n * 200, Send, exactly(5.0), 0));
        let outcome = if n % 5 < 3 {
            Outcome::Delivered
        } else {
            Outcome::Other
        };
        rows.push(row(
            n * 200 + 5,
            Answer(n as usize, outcome, NONE),
            exactly(5.0),
            0,
        ));
    }
    rows.push(row(5_000, Send, exactly(5.0), 0));
    // 12 got through in the last four seconds (twenty requests' worth at 5/s): 3/s, less 5 %
    // (halfway to 5 it was 3.8).
    rows.push(row(
        5_004,
        Answer(25, Outcome::Refused, NONE),
        exactly(2.85),
        1,
    ));
    play(at_most(5), &rows);
}
