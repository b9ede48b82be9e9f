//! Holding back a row none of whose requests has left: a row waiting for its turn at the rate
//! limiter is not in flight, so a paused run sends none of its requests, even once its turn
//! comes, and a stopped run sends none at all, without waiting the turn out.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

use crate::stop::Stop;

/// Why a row held when the run stopped was not sent.
pub const WITHHELD: &str = "the run stopped before this row was sent; rerun to send it";

/// One row's hold: its requests wait while the run is paused, until one of them has left.
/// A row that has sent a request is in flight: its next requests (retries, look-ups, reads)
/// are not held.
pub struct Hold {
    /// `true` while the run is paused.
    paused: watch::Receiver<bool>,
    /// The run's stop signal.
    stop: Arc<Stop>,
    /// A request of the row has left.
    left: AtomicBool,
    /// The stop came while the row had sent nothing, and a request was given up unsent.
    withheld: AtomicBool,
}

/// What the hold says of a request whose turn came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Release {
    /// It goes now.
    Go,
    /// The run is paused: its turn is given back, and once the run resumes
    /// ([`Hold::until_resumed`]) it waits for another.
    Again,
    /// The run stopped first: it is not sent.
    Stopped,
}

impl Hold {
    /// A hold for one row of a run paused by `paused` (a watch of the run's pause switch) and
    /// stopped by `stop`.
    pub fn new(paused: watch::Receiver<bool>, stop: Arc<Stop>) -> Self {
        Hold {
            paused,
            stop,
            left: AtomicBool::new(false),
            withheld: AtomicBool::new(false),
        }
    }

    /// Whether the row's requests are still held: none has left.
    pub(crate) fn holds(&self) -> bool {
        !self.left.load(Ordering::Acquire)
    }

    /// Whether the stop came before any request of the row left and one was given up unsent:
    /// the row was not sent, whatever error its steps recorded.
    pub fn withheld(&self) -> bool {
        self.withheld.load(Ordering::Acquire) && self.holds()
    }

    /// The stop came while a request of the row waited: it is given up unsent.
    pub(crate) fn stopped(&self) {
        self.withheld.store(true, Ordering::Release);
    }

    /// Completes when the stop comes: a request of the row waiting for its turn is then
    /// given up unsent.
    pub(crate) async fn until_stopped(&self) {
        self.stop.wait().await;
        self.stopped();
    }

    /// A request of the row whose turn came, with nothing awaited between this and its
    /// sending: it goes if the run is neither paused nor stopped (and the row is in flight
    /// from then on).
    pub(crate) fn release(&self) -> Release {
        if self.stop.is_set() {
            self.stopped();
            Release::Stopped
        } else if *self.paused.borrow() {
            Release::Again
        } else {
            self.left.store(true, Ordering::Release);
            Release::Go
        }
    }

    /// Waits while the run is paused: `false` if it stopped first (the request not sent).
    pub(crate) async fn until_resumed(&self) -> bool {
        let mut paused = self.paused.clone();
        let resumed = tokio::select! {
            biased;
            _ = self.stop.wait() => false,
            _ = paused.wait_for(|paused| !*paused) => !self.stop.is_set(),
        };
        if !resumed {
            self.stopped();
        }
        resumed
    }
}
