//! The count of requests a run sends, and of the look-ups among them, so that what the
//! user reads as retries is requests sent again, not rows read back.

use std::sync::atomic::{AtomicU64, Ordering};

/// Requests sent this run: every one, and the look-ups among them (a row read, by id or
/// name, to learn whether an earlier attempt or an earlier run created its organization).
#[derive(Debug, Default)]
pub struct RequestCount {
    /// Every request sent: creates, updates, look-ups, each attempt counted.
    all: AtomicU64,
    /// The look-ups among them.
    look_ups: AtomicU64,
}

impl RequestCount {
    /// A create or an update is about to be sent.
    pub fn sending(&self) {
        self.all.fetch_add(1, Ordering::Relaxed);
    }

    /// A create or an update counted by [`RequestCount::sending`] was not sent after all: the
    /// run stopped while it waited for its turn.
    pub fn withheld(&self) {
        self.all.fetch_sub(1, Ordering::Relaxed);
    }

    /// A look-up is about to be sent.
    pub fn looking_up(&self) {
        self.all.fetch_add(1, Ordering::Relaxed);
        self.look_ups.fetch_add(1, Ordering::Relaxed);
    }

    /// Every request sent so far.
    pub fn all(&self) -> u64 {
        self.all.load(Ordering::Relaxed)
    }

    /// The look-ups sent so far.
    pub fn look_ups(&self) -> u64 {
        self.look_ups.load(Ordering::Relaxed)
    }

    /// Requests sent again: every one, less each row's first and the look-ups.
    pub fn retries(&self, rows_sent: u64) -> u64 {
        self.all()
            .saturating_sub(self.look_ups())
            .saturating_sub(rows_sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_ups_are_requests_but_not_retries() {
        let count = RequestCount::default();
        for _ in 0..5 {
            count.sending();
        }
        count.looking_up();
        count.looking_up();
        assert_eq!(count.all(), 7);
        assert_eq!(count.look_ups(), 2);
        // Four rows sent: five creates are one retry; the two look-ups are none.
        assert_eq!(count.retries(4), 1);
        assert_eq!(count.retries(9), 0);
        // One withheld as the run stopped: it was never sent, so no retry either.
        count.sending();
        count.withheld();
        assert_eq!(count.all(), 7);
        assert_eq!(count.retries(4), 1);
    }
}
