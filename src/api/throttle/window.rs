//! Learning a fixed window that nothing published, from the one refusal that blocked it: pure
//! arithmetic over when the requests that passed were sent, given the times.
//!
//! A tenant counting fixed windows without headers says only `Retry-After`. When one request
//! over the allowance blocks the rest of its window and the whole next one (Prisma's API),
//! the wait it asks for ends on a window's end `E`, one to two windows after the request:
//! the window `L` is between half that wait and the wait. Windows tenants use have round
//! lengths ([`LENGTHS`]); for each that fits, the window the refused request fell in began
//! at `E - 2L`, and the allowance is what passed from then until the refusal. Windows are
//! mostly counted as `floor(epoch seconds / L)`, so when some lengths that fit divide `E`'s
//! epoch second, only those are tried. A length is
//! kept only when no earlier window of the run let more through than that allowance (the
//! refusal would have come then); of those kept, the one allowing the lowest rate is chosen,
//! so that a wrong guess errs slow. A refusal that only waits out its own window (not
//! blocking) makes the same guess, a window too short: if the pace it gives is too high, the
//! next refusal is learned from again.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Window lengths tenants use, in seconds. 3 s is there because a 3 s window's blocking wait
/// (3 to 6 s) fits no other length but 5 s, which learned it as 5 s and was blocked again.
const LENGTHS: [u64; 15] = [
    1, 2, 3, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600,
];
/// Slack on the wait's length: the request left a little before the server counted it.
const SLACK: Duration = Duration::from_millis(250);
/// The most send times kept: at 500 requests a second, more than four minutes' worth. An
/// allowance counted over a longer window comes out lower, which only makes the run slower.
const KEPT: usize = 1 << 17;

/// When the requests that passed the tenant's limit (answered anything but 429) were sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct Passed {
    /// Send times, in the order the answers came.
    sent: VecDeque<Instant>,
}

impl Passed {
    /// A request sent at `sent` passed.
    pub(crate) fn push(&mut self, sent: Instant) {
        if self.sent.len() == KEPT {
            self.sent.pop_front();
        }
        self.sent.push_back(sent);
    }
}

/// A refusal asking to wait past the end of a window: its request was sent at `sent`, the
/// wait ends at `ends`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Block {
    /// When the refused request was sent.
    pub(crate) sent: Instant,
    /// When the wait it was told ends (a window's end).
    pub(crate) ends: Instant,
    /// That end as a whole second since the epoch, when the wait named one.
    pub(crate) ends_epoch: Option<u64>,
}

/// A fixed window learned: `allowance` requests per `length`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Window {
    /// Requests the window allows.
    pub(crate) allowance: u64,
    /// Its length.
    pub(crate) length: Duration,
}

impl Window {
    /// The rate that keeps every stretch of `length` under the allowance when requests are
    /// evenly spaced, with room for a late request crossing into the next window and for
    /// the millisecond a turn may come early (and 2 % of a large allowance for a busy
    /// machine's jitter), but never under half the allowance; requests a second.
    pub(crate) fn safe_rate(&self) -> f64 {
        let allowance = self.allowance as f64;
        let per_window = (allowance - (0.02 * allowance).max(1.5)).max(0.5 * allowance);
        per_window / self.length.as_secs_f64()
    }
}

/// The window that `block` says was exceeded, given the requests that `passed` since the run
/// `started`; `None` when no round length fits.
pub(crate) fn learn(passed: &Passed, started: Instant, block: Block) -> Option<Window> {
    let mut sent: Vec<Instant> = passed.sent.iter().copied().collect();
    sent.sort_unstable();
    let between = |from: Instant, to: Instant| {
        let lo = sent.partition_point(|t| *t < from);
        let hi = sent.partition_point(|t| *t < to);
        hi.saturating_sub(lo) as u64
    };
    let wait = block.ends.saturating_duration_since(block.sent);
    let fits: Vec<u64> = LENGTHS
        .into_iter()
        .filter(|&secs| {
            let length = Duration::from_secs(secs);
            wait.saturating_sub(SLACK) <= 2 * length && length < wait + SLACK
        })
        .collect();
    let aligned: Vec<u64> = fits
        .iter()
        .copied()
        .filter(|secs| block.ends_epoch.is_some_and(|end| end % secs == 0))
        .collect();
    let tried = if aligned.is_empty() { fits } else { aligned };
    tried
        .into_iter()
        .map(Duration::from_secs)
        .filter_map(|length| {
            let began = block.ends.checked_sub(2 * length).unwrap_or(started);
            let allowance = between(began, block.sent);
            let mut end = began;
            // Each earlier window of the run let through no more than the allowance (and a
            // request or two sent just before a window's start and counted in it).
            while end > started {
                let start = end.checked_sub(length).unwrap_or(started);
                if between(start, end) > allowance + allowance / 10 + 2 {
                    return None;
                }
                end = start;
            }
            (allowance > 0).then_some(Window { allowance, length })
        })
        .min_by(|a, b| a.safe_rate().total_cmp(&b.safe_rate()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The requests sent at these offsets (ms) from `start` passed.
    fn passed(start: Instant, ms: impl IntoIterator<Item = u64>) -> Passed {
        let mut passed = Passed::default();
        for ms in ms {
            passed.push(start + Duration::from_millis(ms));
        }
        passed
    }

    /// A run's first 50 requests ramping up over 1.2 s from `from` ms: slow start's shape,
    /// most of them near the end.
    fn ramp(from: u64) -> Vec<u64> {
        (0..50u64)
            .map(|i| from + (1200.0 * (i as f64 / 50.0).sqrt()) as u64)
            .collect()
    }

    fn block(start: Instant, sent_ms: u64, ends_ms: u64) -> Block {
        Block {
            sent: start + Duration::from_millis(sent_ms),
            ends: start + Duration::from_millis(ends_ms),
            ends_epoch: None,
        }
    }

    const FIVE: Duration = Duration::from_secs(5);

    #[test]
    fn windows_of_50_per_5_s_blocked_in_the_runs_first_window_or_its_second() {
        let start = Instant::now();
        // (the run's start in its first window, ms; when the 51st request of a window went;
        // the windows' requests, sent times in ms)
        for offset in [0, 1_000, 2_500, 3_700] {
            // The run starts `offset` into a window that ends at 5000 - offset; 50 pass in
            // 1.2 s, the 51st blocks until the end of the next window.
            let sent = ramp(0);
            let first_end = 5_000 - offset;
            let learned = learn(
                &passed(start, sent),
                start,
                block(start, 1_201, first_end + 5_000),
            );
            assert_eq!(
                learned,
                Some(Window {
                    allowance: 50,
                    length: FIVE
                }),
                "run started {offset} ms into a window"
            );
        }
        // Started 4.5 s into a window: 20 pass in the first window's last 0.5 s, then 50 in
        // the next, from 500 ms, and the 51st blocks until the end of the one after.
        let mut sent: Vec<u64> = (0..20).map(|i| i * 25).collect();
        sent.extend((0..50).map(|i| 500 + i * 10));
        let learned = learn(&passed(start, sent), start, block(start, 1_000, 10_500));
        assert_eq!(
            learned,
            Some(Window {
                allowance: 50,
                length: FIVE
            })
        );
    }

    #[test]
    fn a_length_under_which_an_earlier_window_would_have_been_refused_is_not_kept() {
        let start = Instant::now();
        // 10/s for 19.8 s, 20 more in the last 0.2 s, then a wait of 9.9 s: 5 s windows
        // would allow the 10 sent in the last 0.1 s, but the 5 s before let 59 through.
        let mut sent: Vec<u64> = (0..198).map(|i| i * 100).collect();
        sent.extend((0..20).map(|i| 19_800 + i * 10));
        let learned = learn(&passed(start, sent), start, block(start, 20_000, 29_900));
        assert_eq!(
            learned,
            Some(Window {
                allowance: 119,
                length: Duration::from_secs(10)
            })
        );
    }

    #[test]
    fn of_two_lengths_that_fit_the_one_the_end_is_a_multiple_of_is_taken() {
        let start = Instant::now();
        // 1 sent at the start, 100 from 10 s on, the 101st blocked at 12 s until 28 s:
        // windows of 10 s (100 since 8 s) or of 15 s (101 since the start) both fit; the
        // slower, 15 s, is taken unless the end (an epoch second) is a multiple of 10 and
        // not of 15.
        let mut sent = vec![0];
        sent.extend((0..100).map(|i| 10_000 + i * 19));
        let mut blocked = block(start, 12_000, 28_000);
        let learned = learn(&passed(start, sent.clone()), start, blocked).unwrap();
        assert_eq!(learned.length, Duration::from_secs(15), "{learned:?}");
        blocked.ends_epoch = Some(1_767_225_610);
        let learned = learn(&passed(start, sent), start, blocked);
        assert_eq!(
            learned,
            Some(Window {
                allowance: 100,
                length: Duration::from_secs(10)
            })
        );
    }

    #[test]
    fn windows_of_10_per_3_s_are_learned_as_3_s_not_5() {
        let start = Instant::now();
        // (when the run started in its first window, ms; the refused request, ms)
        for (offset, refused) in [(0, 1_201), (1_000, 1_201), (2_500, 1_800)] {
            // 10 pass (ramping up, the last by 1.2 s, or by 0.5 s in the second window when
            // the first was nearly over), the 11th blocks until the end of the next window.
            let first_end = 3_000 - offset;
            let sent: Vec<u64> = if refused < first_end {
                (0..10).map(|i| i * 120).collect()
            } else {
                (0..10).map(|i| first_end + 100 + i * 50).collect()
            };
            let ends = if refused < first_end {
                first_end + 3_000
            } else {
                first_end + 6_000
            };
            let mut blocked = block(start, refused, ends);
            // An epoch second that is a multiple of 3 and not of 5.
            blocked.ends_epoch = Some(1_767_225_606);
            let learned = learn(&passed(start, sent), start, blocked);
            assert_eq!(
                learned,
                Some(Window {
                    allowance: 10,
                    length: Duration::from_secs(3)
                }),
                "run started {offset} ms into a window"
            );
        }
    }

    #[test]
    fn a_wait_no_round_length_fits_learns_nothing() {
        let start = Instant::now();
        // A wait of 7 s: a window of 3.5 to 7 s; 5 s fits, but nothing passed in it.
        assert_eq!(
            learn(&passed(start, [0, 1]), start, block(start, 5_000, 12_000)),
            None
        );
    }

    #[test]
    fn the_safe_rate_leaves_room_for_a_late_request() {
        for (allowance, secs, rate) in [(50, 5, 9.7), (300, 10, 29.4), (2, 1, 1.0), (1, 2, 0.25)] {
            let window = Window {
                allowance,
                length: Duration::from_secs(secs),
            };
            assert!((window.safe_rate() - rate).abs() < 1e-9, "{window:?}");
        }
    }
}
