//! Fixed windows, as Okta, Auth0's per-minute limits and Prisma's API count: each window of
//! `length` allows `allowance` requests; one more is refused until the window ends, or, when
//! the windows block, until the end of the window after it. Pure: every call is given the
//! time since the windows' origin.

use std::time::Duration;

use super::Verdict;

/// The count of the current window.
#[derive(Debug, Clone, Default)]
pub(crate) struct Windows {
    /// The current window's number (time since the origin over the length).
    index: u64,
    /// Requests admitted in it.
    used: u32,
    /// While blocked: the last window of the block.
    blocked_through: Option<u64>,
}

impl Windows {
    /// Counts one request at `since` the origin, in windows of `length` allowing
    /// `allowance` each; `block` says whether exceeding blocks the next window too.
    pub(crate) fn take(
        &mut self,
        since: Duration,
        length: Duration,
        allowance: u32,
        block: bool,
    ) -> Verdict {
        let length_nanos = length.as_nanos().max(1);
        let index = (since.as_nanos() / length_nanos) as u64;
        if index != self.index {
            self.index = index;
            self.used = 0;
        }
        let end_of = |window: u64| {
            let end = Duration::from_nanos(
                ((u128::from(window) + 1) * length_nanos).min(u128::from(u64::MAX)) as u64,
            );
            end.saturating_sub(since)
        };
        if let Some(last) = self.blocked_through {
            if index <= last {
                let wait = end_of(last);
                return Verdict::refused(allowance, length, wait, wait);
            }
            self.blocked_through = None;
            self.used = 0;
        }
        if self.used < allowance {
            self.used += 1;
            return Verdict {
                admitted: true,
                remaining: allowance - self.used,
                reset: end_of(index),
                wait: Duration::ZERO,
                limit: allowance,
                window: length,
                blocked: false,
                reset_epoch: 0,
            };
        }
        let last = if block { index + 1 } else { index };
        if block {
            self.blocked_through = Some(last);
        }
        let wait = end_of(last);
        Verdict {
            blocked: block,
            ..Verdict::refused(allowance, length, wait, wait)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LENGTH: Duration = Duration::from_secs(5);

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// Takes one request at each time, returning who passed.
    fn admitted(windows: &mut Windows, block: bool, times: &[u64]) -> Vec<bool> {
        times
            .iter()
            .map(|&t| windows.take(ms(t), LENGTH, 3, block).admitted)
            .collect()
    }

    #[test]
    fn a_window_allows_its_allowance_and_the_next_starts_afresh() {
        let mut windows = Windows::default();
        assert_eq!(
            admitted(&mut windows, false, &[0, 10, 20, 30, 4_999, 5_000, 5_001]),
            [true, true, true, false, false, true, true]
        );
        let refused = Windows::default().take(ms(0), LENGTH, 0, false);
        assert!(!refused.admitted);
        assert_eq!(refused.wait, LENGTH, "until the window ends");
        let verdict = windows.take(ms(6_000), LENGTH, 3, false);
        assert_eq!((verdict.remaining, verdict.reset), (0, ms(4_000)));
    }

    #[test]
    fn one_too_many_blocks_the_rest_of_the_window_and_the_next() {
        let mut windows = Windows::default();
        assert_eq!(admitted(&mut windows, true, &[0, 1, 2]), [true, true, true]);
        let over = windows.take(ms(1_000), LENGTH, 3, true);
        assert!(!over.admitted && over.blocked, "{over:?}");
        assert_eq!(over.wait, ms(9_000), "the rest of the window and the next");
        let tripped = windows.take(ms(4_000), LENGTH, 3, true);
        assert!(
            !tripped.admitted && !tripped.blocked,
            "blocked already: not again"
        );
        let blocked = windows.take(ms(6_000), LENGTH, 3, true);
        assert!(!blocked.admitted, "the next window is blocked too");
        assert_eq!(blocked.wait, ms(4_000), "until the end of the next window");
        assert_eq!(blocked.remaining, 0);
        assert_eq!(
            admitted(&mut windows, true, &[10_000, 10_001, 10_002, 10_003]),
            [true, true, true, false],
            "the window after that starts afresh, and blocks again"
        );
        assert!(!windows.take(ms(19_999), LENGTH, 3, true).admitted);
        assert!(windows.take(ms(20_000), LENGTH, 3, true).admitted);
    }
}
