//! The run's progress as a value pushed to whoever watches (a page, a test): a snapshot the
//! results task publishes at most [`PUBLISH_EVERY`] apart, beside the terminal's bar.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use crate::record::Status;

/// Snapshots are published at most this often (five a second).
pub const PUBLISH_EVERY: Duration = Duration::from_millis(200);
/// The recent rates (requests per second, reply time) are measured over this window.
const RECENT: Duration = Duration::from_secs(2);

/// Where a run is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Not started, or opening the input and the results file.
    #[default]
    Opening,
    /// Reading and checking every row.
    Planning,
    /// Checking the credentials and templates, and reading the tenant.
    ReadingTenant,
    /// Sending the rows.
    Sending,
    /// Writing the results file.
    Writing,
    /// Ended: its summary says how.
    Finished,
}

/// What a run has done so far, as the page shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunProgress {
    /// Where the run is.
    pub phase: Phase,
    /// Whether it is paused (no new row is sent).
    pub paused: bool,
    /// Rows to send in this run.
    pub total: u64,
    /// Rows of those finished.
    pub done: u64,
    /// Rows finished, by status (`created`, `failed` ...).
    pub counts: BTreeMap<&'static str, u64>,
    /// Requests sent, retries and look-ups included.
    pub requests: u64,
    /// Requests the tenant answered 429.
    pub refused: u64,
    /// Requests per second over the last two seconds.
    pub per_second: f64,
    /// The mean time to an answer over the last two seconds, in milliseconds; `None` when
    /// no answer came then.
    pub reply_ms: Option<f64>,
    /// Seconds since sending began.
    pub seconds: f64,
}

/// The sending side of a run's progress, kept by the results task.
pub struct Publisher {
    /// Where snapshots go.
    to: Arc<watch::Sender<RunProgress>>,
    /// When the last snapshot went.
    last: Option<Instant>,
    /// Recent samples: when, requests sent, answers heard, their total reply time.
    samples: VecDeque<(Instant, u64, u64, Duration)>,
}

/// The counters a snapshot is made of, as the results task sees them now.
pub struct Counters<'a> {
    pub total: u64,
    pub done: u64,
    pub counts: &'a BTreeMap<&'static str, u64>,
    pub requests: u64,
    pub refused: u64,
    /// Answers heard and their total reply time.
    pub replies: (u64, Duration),
    pub since: Instant,
}

impl Publisher {
    /// A publisher to `to`.
    pub fn new(to: Arc<watch::Sender<RunProgress>>) -> Self {
        Publisher {
            to,
            last: None,
            samples: VecDeque::new(),
        }
    }

    /// Publishes a snapshot of `now` if the last one is [`PUBLISH_EVERY`] old (or `force`).
    pub fn publish(&mut self, now: &Counters, force: bool) {
        let at = Instant::now();
        if !force && self.last.is_some_and(|last| at - last < PUBLISH_EVERY) {
            return;
        }
        self.last = Some(at);
        self.samples
            .push_back((at, now.requests, now.replies.0, now.replies.1));
        while self
            .samples
            .front()
            .is_some_and(|(when, ..)| at - *when > RECENT)
        {
            self.samples.pop_front();
        }
        let (per_second, reply_ms) = recent(&self.samples);
        let counts = now.counts.clone();
        self.to.send_modify(|p| {
            p.total = now.total;
            p.done = now.done;
            p.counts = counts;
            p.requests = now.requests;
            p.refused = now.refused;
            p.per_second = per_second;
            p.reply_ms = reply_ms;
            p.seconds = now.since.elapsed().as_secs_f64();
        });
    }
}

/// Requests per second and mean reply time (ms) between the first and last of `samples`.
fn recent(samples: &VecDeque<(Instant, u64, u64, Duration)>) -> (f64, Option<f64>) {
    let (Some(first), Some(last)) = (samples.front(), samples.back()) else {
        return (0.0, None);
    };
    let span = (last.0 - first.0).as_secs_f64();
    let per_second = if span > 0.0 {
        last.1.saturating_sub(first.1) as f64 / span
    } else {
        0.0
    };
    let answers = last.2.saturating_sub(first.2);
    let reply_ms = (answers > 0)
        .then(|| last.3.saturating_sub(first.3).as_secs_f64() * 1000.0 / answers as f64);
    (per_second, reply_ms)
}

/// Adds `status` to `counts`.
pub(crate) fn count(counts: &mut BTreeMap<&'static str, u64>, status: Status) {
    *counts.entry(status.as_str()).or_insert(0) += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_rates_are_measured_between_the_first_and_last_samples() {
        let base = Instant::now();
        let samples: VecDeque<_> = [(0, 10, 10, 500), (1000, 60, 50, 2500)]
            .into_iter()
            .map(|(ms, requests, answers, took)| {
                let when = base + Duration::from_millis(ms);
                (when, requests, answers, Duration::from_millis(took))
            })
            .collect();
        let (per_second, reply_ms) = recent(&samples);
        assert!((per_second - 50.0).abs() < 1e-9, "{per_second}");
        assert_eq!(reply_ms, Some(50.0));
    }

    #[test]
    fn no_answer_in_the_window_is_no_reply_time() {
        let base = Instant::now();
        let quiet = Duration::ZERO;
        let samples: VecDeque<_> = [(base, 5, 5, quiet), (base + RECENT, 5, 5, quiet)].into();
        assert_eq!(recent(&samples), (0.0, None));
        assert_eq!(recent(&VecDeque::new()), (0.0, None));
    }

    #[test]
    fn snapshots_are_published_at_most_five_a_second_unless_forced() {
        let (tx, rx) = watch::channel(RunProgress::default());
        let mut publisher = Publisher::new(Arc::new(tx));
        let mut counts = BTreeMap::new();
        count(&mut counts, Status::Created);
        let since = Instant::now();
        let now = |done| Counters {
            total: 10,
            done,
            counts: &counts,
            requests: done,
            refused: 0,
            replies: (done, Duration::ZERO),
            since,
        };
        publisher.publish(&now(1), false);
        assert_eq!(rx.borrow().done, 1);
        publisher.publish(&now(2), false);
        assert_eq!(rx.borrow().done, 1, "a second snapshot within 200 ms");
        publisher.publish(&now(3), true);
        assert_eq!(rx.borrow().done, 3);
        assert_eq!(rx.borrow().counts.get("created"), Some(&1));
    }
}
