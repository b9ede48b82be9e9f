//! Precise delays for the latency fault.
//!
//! Tokio's timer counts in whole milliseconds and rounds every deadline up, so a 50 ms
//! latency came out at 51–52 ms, and a latency-bound client could never reach `concurrency /
//! latency`. Here one thread per sandbox keeps the deadlines in a heap and sleeps on a channel
//! with a nanosecond timeout (the kernel's high-resolution timer), waking each waiter within
//! tens of microseconds of its deadline. It costs one thread and one channel message a delay.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// A waiter: wake `done` at `at`.
struct Wake {
    at: Instant,
    /// Insertion order, so that equal deadlines compare without comparing senders.
    seq: u64,
    done: oneshot::Sender<()>,
}

impl PartialEq for Wake {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Wake {}
impl PartialOrd for Wake {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Wake {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The handle on the delay thread; the thread ends when this is dropped.
#[derive(Debug)]
pub(crate) struct Delays {
    /// New waiters, with a counter for their order; `None` without a thread. A std mutex:
    /// held only to send.
    waiters: Option<Mutex<(mpsc::Sender<Wake>, u64)>>,
}

impl Delays {
    /// Starts the delay thread if `needed` (a sandbox without latency has none).
    pub(crate) fn start(needed: bool) -> Delays {
        if !needed {
            return Delays { waiters: None };
        }
        let (tx, rx) = mpsc::channel::<Wake>();
        let spawned = std::thread::Builder::new()
            .name("sandbox-delays".into())
            .spawn(move || run(&rx));
        if let Err(e) = spawned {
            // Without the thread every send fails and `sleep` falls back on tokio's timer.
            tracing::warn!("sandbox: no precise delays ({e}); using tokio's timer");
        }
        Delays {
            waiters: Some(Mutex::new((tx, 0))),
        }
    }

    /// Waits `delay` from now.
    pub(crate) async fn sleep(&self, delay: Duration) {
        let at = Instant::now() + delay;
        let (done, woken) = oneshot::channel();
        let sent = self.waiters.as_ref().is_some_and(|waiters| {
            let mut waiters = super::lock(waiters);
            waiters.1 += 1;
            let seq = waiters.1;
            waiters.0.send(Wake { at, seq, done }).is_ok()
        });
        if !sent || woken.await.is_err() {
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

/// The delay thread: wakes each waiter at its deadline, until every sender is gone.
fn run(new: &mpsc::Receiver<Wake>) {
    let mut heap: BinaryHeap<Reverse<Wake>> = BinaryHeap::new();
    loop {
        let now = Instant::now();
        while heap.peek().is_some_and(|Reverse(w)| w.at <= now) {
            if let Some(Reverse(w)) = heap.pop() {
                let _ = w.done.send(());
            }
        }
        let next = match heap.peek() {
            Some(Reverse(w)) => new.recv_timeout(w.at - now),
            None => new.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(wake) => heap.push(Reverse(wake)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
