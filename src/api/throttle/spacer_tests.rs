//! governor's limiter as the spacer: its quotas, and what a change of quota keeps.

use std::time::Duration;

use tokio::time::Instant;

use super::spacer::{Spacer, Tuned};

/// The times `n` requests that ask as soon as they may are granted, from `now`.
fn grants(spacer: &mut Spacer, now: Instant, n: usize) -> Vec<Instant> {
    let mut now = now;
    let mut granted = Vec::new();
    while granted.len() < n {
        match spacer.check(now) {
            Ok(()) => granted.push(now),
            Err(at) => now = at.max(now),
        }
    }
    granted
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[test]
fn a_burst_of_one_is_spaced_at_the_rate_with_a_millisecond_of_slack() {
    let start = Instant::now();
    for rate in [2.5, 10.0, 100.0, 600.0] {
        let mut spacer = Spacer::new(rate, 1, start);
        let granted = grants(&mut spacer, start, 21);
        let spacing = 1e3 / rate;
        for pair in granted.windows(2) {
            let gap = ms(pair[1] - pair[0]);
            assert!(
                (spacing - 1.25..=spacing + 0.001).contains(&gap),
                "{rate}/s: {gap} ms apart"
            );
        }
        // Twenty spacings: never faster than the rate over the run.
        assert!(
            ms(granted[20] - granted[0]) >= 20.0 * spacing - 1.25,
            "{rate}/s"
        );
    }
}

#[test]
fn a_burst_goes_at_once_then_the_rate_spaces_the_rest() {
    let start = Instant::now();
    let mut spacer = Spacer::new(10.0, 5, start);
    let granted = grants(&mut spacer, start, 8);
    assert!(granted[..5].iter().all(|t| *t == start), "{granted:?}");
    assert!(ms(granted[5] - start) >= 99.0, "{:?}", granted[5] - start);
    assert!(ms(granted[7] - granted[5]) >= 199.0);
}

#[test]
fn a_cut_spends_the_new_limiters_bucket_so_no_burst_follows_a_429() {
    let start = Instant::now();
    let mut spacer = Spacer::new(600.0, 32, start);
    let first = grants(&mut spacer, start, 32);
    assert!(first.iter().all(|t| *t == start));
    // Cut to 300/s after a 429: governor's new limiter starts full; spent, it grants one a
    // spacing from now, and the rest a spacing apart.
    let now = start + Duration::from_millis(2);
    spacer.retune(300.0, 32, true, now);
    let after = grants(&mut spacer, now, 32);
    for (k, t) in after.iter().enumerate() {
        let earliest = (k + 1) as f64 * 1e3 / 300.0 - 1.0;
        assert!(ms(*t - now) >= earliest, "turn {k} at {} ms", ms(*t - now));
    }
}

#[test]
fn another_rate_keeps_the_schedule_of_the_old_limiter() {
    let start = Instant::now();
    let mut spacer = Spacer::new(10.0, 1, start);
    grants(&mut spacer, start, 1);
    // 40 ms later the rate grows by 40 %: the next turn is not granted at once (a fresh
    // limiter would), but when the old schedule has it, to its cell.
    let now = start + Duration::from_millis(40);
    spacer.retune(14.0, 1, false, now);
    let next = grants(&mut spacer, now, 2);
    assert!(
        (98.0..=101.0).contains(&ms(next[0] - start)),
        "{}",
        ms(next[0] - start)
    );
    assert!(ms(next[1] - next[0]) >= 1e3 / 14.0 - 1.25);
    // A schedule already free stays free.
    let later = next[1] + Duration::from_secs(2);
    spacer.retune(20.0, 1, false, later);
    assert_eq!(grants(&mut spacer, later, 1), [later]);
}

#[test]
fn quotas_fit_governors_cells_at_every_rate() {
    for (rate, burst) in [
        (0.2, 1),
        (2.5, 5),
        (1_000.0, 1),
        (1_000_000.0, 1),
        (10.0, u32::MAX),
    ] {
        let tuned = Tuned::new(rate, burst);
        assert_eq!(tuned.rate, rate);
        assert_eq!(tuned.burst, burst);
    }
    // A million a second still has a millisecond of slack: a thousand at once.
    let start = Instant::now();
    let mut spacer = Spacer::new(1_000_000.0, 1, start);
    assert_eq!(grants(&mut spacer, start, 1000).last(), Some(&start));
}
