//! The controller's arithmetic as tables, continued: windows learned from their headers or
//! from a block, holds until a window ends, and the spacing of turns after a cut or with a
//! burst of one. The rows are played as in `pace_tests.rs`, whose helpers these share.

use std::num::NonZeroU32;
use std::time::Duration;

use tokio::time::Instant;

use super::LimitHeaders;
use super::gate::Gate;
use super::pace::{Learned, Outcome, Signal, Ticket};
use super::pace_tests::*;
use crate::rate::RateSetting;

#[test]
fn okta_windows_are_learned_from_the_reset_and_their_allowance_spread_over_them() {
    let rows = [
        row(0, Send, exactly(400.0), 0),
        row(0, Send, exactly(400.0), 0),
        // 300 left of a window that ends in 10 s: the window is 10 s, the limit 30/s.
        row(
            2,
            Answer(0, Outcome::Delivered, said(300, 299, 10_000)),
            exactly(30.0),
            1,
        ),
        // A reset of 4 s later in the run does not shorten the window learned.
        row(
            6_000,
            Answer(1, Outcome::Delivered, said(300, 20, 4_000)),
            exactly(30.0),
            1,
        ),
    ];
    play(at_most(400), &rows);
}

/// What a bucket of 40 a second says in GitHub's or Okta's form: its `Reset` an epoch second,
/// `reset_ms` from the reply.
const fn said_epoch(remaining: u64, reset_ms: u64, epoch: u64) -> LimitHeaders {
    LimitHeaders {
        reset_epoch: Some(epoch),
        ..said(40, remaining, reset_ms)
    }
}

#[test]
fn a_one_second_limit_with_epoch_resets_is_learned_as_one_second_not_two() {
    // An epoch `Reset` is a whole second, rounded up: just before a second ends, a bucket
    // that is full again 30 ms later says the second after next, 1.01 s away. Alone it reads
    // as a 2 s window (20/s); the next whole second, one on, says the window is a second.
    let rows = [
        row(0, Send, exactly(400.0), 0),
        row(0, Send, exactly(400.0), 0),
        row(0, Send, exactly(400.0), 0),
        row(
            2,
            Answer(0, Outcome::Delivered, said_epoch(39, 1_010, 1_000_000_002)),
            exactly(20.0),
            1,
        ),
        row(
            500,
            Answer(1, Outcome::Delivered, said_epoch(39, 500, 1_000_000_002)),
            exactly(20.0),
            1,
        ),
        row(
            1_200,
            Answer(2, Outcome::Delivered, said_epoch(39, 800, 1_000_000_003)),
            exactly(20.0),
            1,
        ),
        // The next step of a busy run takes the limit as published: 40 a second.
        row(1_600, Busy, exactly(40.0), 1),
    ];
    play(at_most(400), &rows);
}

#[test]
fn a_used_up_window_holds_every_turn_until_it_ends_without_a_cut() {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let mut pace = Gate::new(RateSetting::Auto, RateSetting::DEFAULT_BURST, start);
    let first = turn(&mut pace, at(0));
    assert!(
        answer(
            &mut pace,
            first,
            Outcome::Delivered,
            said(300, 120, 10_000),
            at(1)
        )
        .is_empty(),
        "30/s is above the start of 20/s: nothing to slow down"
    );
    // 120 left over 10 s: turns no closer than 12/s, whatever the rate.
    let a = turn(&mut pace, at(100));
    let b = turn(&mut pace, at(100));
    // (less the millisecond of slack every turn has)
    let spacing = Duration::from_secs_f64(1.0 / 12.0) - Duration::from_millis(1);
    assert!(
        b.turn - a.turn >= spacing - Duration::from_micros(10),
        "{a:?} {b:?}"
    );
    // The window's last request: no turn until it ends, and no cut either.
    let last = turn(&mut pace, at(200));
    let slowed = answer(
        &mut pace,
        last,
        Outcome::Delivered,
        said(300, 0, 7_000),
        at(3_000),
    );
    assert!(slowed.is_empty(), "{slowed:?}");
    assert_eq!(pace.pace().cuts(), 0);
    let held = turn(&mut pace, at(3_001));
    assert!(held.turn >= at(10_000), "{:?}", held.turn - start);
    assert_eq!(
        pace.pace().learned(),
        Some(Learned::Window {
            allowance: 300,
            window: Duration::from_secs(10),
        })
    );
    assert_eq!(
        pace.pace().learned().unwrap().to_string(),
        "limit ≈ 300 per 10 s window"
    );
}

#[test]
fn a_bucket_whose_limit_is_used_up_is_held_under_it_not_paused() {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let mut pace = Gate::new(at_most(200), RateSetting::DEFAULT_BURST, start);
    let ticket = turn(&mut pace, at(0));
    answer(
        &mut pace,
        ticket,
        Outcome::Delivered,
        said(100, 50, 500),
        at(1),
    );
    assert_eq!(pace.pace().rate(), 100.0, "the published limit");
    let ticket = turn(&mut pace, at(2));
    answer(
        &mut pace,
        ticket,
        Outcome::Delivered,
        said(100, 0, 900),
        at(3),
    );
    assert_eq!(pace.pace().rate(), 95.0, "held at 95 % of its 100/s");
    let next = turn(&mut pace, at(4));
    assert!(next.turn < at(50), "no pause till the bucket is full");
    assert_eq!(pace.pace().learned(), Some(Learned::Rate(100.0)));
}

#[test]
fn with_a_burst_of_one_requests_leave_a_guarded_spacing_apart_however_late_they_woke() {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let mut pace = Gate::new(at_most(20), RateSetting::DEFAULT_BURST, start);
    // (time a worker woke for its turn, when it may leave): 50 ms and 1 % apart at 20/s.
    for (woke, leaves_at_us) in [
        (0, 0),
        (53, 53_000),   // woke late: leaves at once...
        (100, 103_500), // ...and the next, on time, waits the spacing after it
        (100, 154_000), // two turns that bunched up are spread out
        (400, 400_000), // after a quiet spell: at once
    ] {
        let leave = pace.pace_mut().depart(at(woke));
        assert_eq!(
            leave - start,
            Duration::from_micros(leaves_at_us),
            "woke at {woke} ms"
        );
    }
    // With a burst, above 500/s or under auto, the schedule alone decides.
    let burst = NonZeroU32::new(5).unwrap();
    let mut bursty = Gate::new(at_most(20), burst, start);
    assert_eq!(bursty.pace_mut().depart(at(0)), at(0));
    assert_eq!(bursty.pace_mut().depart(at(1)), at(1));
    let mut fast = Gate::new(at_most(1000), RateSetting::DEFAULT_BURST, start);
    assert_eq!(fast.pace_mut().depart(at(0)), at(0));
    assert_eq!(fast.pace_mut().depart(at(0)), at(0));
    // auto learns its pace from the answers; the guard is for a rate the user set.
    let mut auto = Gate::new(RateSetting::Auto, RateSetting::DEFAULT_BURST, start);
    assert_eq!(auto.pace_mut().depart(at(0)), at(0));
    assert_eq!(auto.pace_mut().depart(at(1)), at(1));
}

#[test]
fn a_cut_spends_the_burst_so_the_turns_taken_again_are_spaced_at_the_new_rate() {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let mut pace = Gate::new(at_most(600), NonZeroU32::new(32).unwrap(), start);
    // 32 workers' first requests go at once, as the burst allows.
    let first: Vec<Ticket> = (0..32).map(|_| turn(&mut pace, start)).collect();
    assert!(
        first
            .iter()
            .all(|t| t.turn <= start + Duration::from_micros(1))
    );
    // One is refused: the rate is cut.
    let slowed = answer(&mut pace, first[0], Outcome::Refused, NONE, at(2));
    assert_eq!(slowed.len(), 1);
    let spacing = Duration::from_secs_f64(1.0 / pace.pace().rate());
    // The 32 workers queue again: their turns follow the new rate, none at once (a second
    // burst into the same empty bucket would be refused and cut the rate again).
    // (Within the step before the rate grows back, 100 ms.)
    for k in 1..=24u32 {
        let turn = turn(&mut pace, at(2)).turn;
        assert!(
            turn >= at(2) + spacing * k - Duration::from_micros(1),
            "turn {k} at {:?} after the cut, spacing {spacing:?}",
            turn - at(2)
        );
    }
}

/// A 429's headers: nothing but a `Retry-After` ending `wait` from now.
fn retry(wait: Duration) -> LimitHeaders {
    LimitHeaders {
        retry_after: Some(wait),
        ..NONE
    }
}

#[test]
fn a_block_holds_every_turn_until_it_ends_and_the_window_learned_keeps_the_pace_under_it() {
    let start = Instant::now();
    let second = Duration::from_secs(1);
    let mut pace = Gate::new(RateSetting::Auto, RateSetting::DEFAULT_BURST, start);
    // Windows of 50 per 5 s from `start`, no headers: slow start sends 51 in the first.
    let mut now = start;
    let mut sent = Vec::new();
    for _ in 0..51 {
        let ticket = turn(&mut pace, now);
        now = now.max(ticket.turn);
        sent.push(ticket);
    }
    assert!(now < start + 4 * second, "{:?}", now - start);
    for ticket in &sent[..50] {
        assert!(answer(&mut pace, *ticket, Outcome::Delivered, NONE, now).is_empty());
    }
    let early = turn(&mut pace, now);
    // The 51st blocks the rest of the window and the next: wait until 10 s.
    let slowed = answer(
        &mut pace,
        sent[50],
        Outcome::Refused,
        retry(start + 10 * second - now),
        now,
    );
    let signals: Vec<Signal> = slowed.iter().map(|s| s.signal).collect();
    assert_eq!(signals, [Signal::Blocked]);
    assert_eq!(
        pace.pace().learned(),
        Some(Learned::Window {
            allowance: 50,
            window: 5 * second
        })
    );
    assert!(
        (pace.pace().rate() - 9.7).abs() < 1e-9,
        "48.5 per 5 s: {}",
        pace.pace().rate()
    );
    // Its refusal (sent before the hold) neither cuts nor holds again.
    let cuts = pace.pace().cuts();
    let late = answer(
        &mut pace,
        early,
        Outcome::Refused,
        retry(start + 10 * second - now),
        now,
    );
    assert!(late.is_empty());
    assert_eq!(pace.pace().cuts(), cuts);
    // No turn before 10 s, then 48 or 49 in each 5 s, however long the run is busy.
    let mut turns = Vec::new();
    let mut now = now + Duration::from_millis(1);
    while now < start + 30 * second {
        let ticket = turn(&mut pace, now);
        now = now.max(ticket.turn) + Duration::from_micros(1);
        turns.push(ticket.turn);
    }
    assert!(turns[0] >= start + 10 * second, "{:?}", turns[0] - start);
    for k in 2..6 {
        let from = start + k * 5 * second;
        let in_window = turns
            .iter()
            .filter(|t| (from..from + 5 * second).contains(*t))
            .count();
        assert!((48..=49).contains(&in_window), "window {k}: {in_window}");
    }
}

#[test]
fn a_short_retry_after_cuts_and_a_long_one_no_window_fits_cuts_too() {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    for wait in [Duration::from_millis(900), Duration::from_millis(4_500)] {
        let mut pace = Gate::new(at_most(100), RateSetting::DEFAULT_BURST, start);
        let first = turn(&mut pace, at(0));
        let slowed = answer(&mut pace, first, Outcome::Refused, retry(wait), at(5));
        assert_eq!(slowed.len(), 1, "{wait:?}");
        assert_eq!(slowed[0].signal, Signal::Refused, "{wait:?}");
        assert_eq!(pace.pace().rate(), 50.0, "{wait:?}");
    }
}

#[test]
fn slow_starts_first_refusal_within_its_first_second_cuts_to_a_quarter_then_halves() {
    // A small bucket (burst 5 at 3/s) lets slow start's first five through at 20/s.
    let refused = |n| Answer(n, Outcome::Refused, NONE);
    play(
        RateSetting::Auto,
        &[
            row(0, Send, exactly(20.0), 0),
            row(5, refused(0), exactly(5.0), 1),
            row(300, Send, exactly(5.0), 1),
            // Nothing measured yet (10 requests' worth at 5/s is 2 s): half.
            row(305, refused(1), exactly(2.5), 2),
        ],
    );
}
