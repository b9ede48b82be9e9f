//! A concurrency limit, as Okta enforces one: at most `limit` requests in flight; one more is
//! answered 429 at once. A slot is held from when the request arrives until its reply has
//! been delayed by the latency fault, so "in flight" is what the client sees.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// The requests in flight, and the most allowed.
#[derive(Debug)]
pub(crate) struct InFlight {
    /// The most allowed at once.
    limit: NonZeroU32,
    /// In flight now.
    now: Arc<AtomicU32>,
}

/// A request's place among those in flight, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot(Arc<AtomicU32>);

impl InFlight {
    /// At most `limit` at once.
    pub(crate) fn new(limit: NonZeroU32) -> InFlight {
        InFlight {
            limit,
            now: Arc::new(AtomicU32::new(0)),
        }
    }

    /// A slot, or none when `limit` requests are in flight already.
    pub(crate) fn enter(&self) -> Option<Slot> {
        self.now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit.get()).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.now.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_more_than_the_limit_is_refused_until_a_slot_is_given_back() {
        let limit = InFlight::new(NonZeroU32::new(2).unwrap());
        let first = limit.enter().unwrap();
        let _second = limit.enter().unwrap();
        assert!(limit.enter().is_none());
        drop(first);
        assert!(limit.enter().is_some());
    }
}
