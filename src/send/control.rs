//! How a run is steered and watched from outside it: stopped (Ctrl-C, a Stop button, a fatal
//! error), paused and resumed, and its progress published ([`RunProgress`]).

use std::sync::Arc;

use tokio::sync::watch;

use crate::api::Hold;
use crate::report::live::{Phase, RunProgress};
use crate::stop::Stop;

/// The handles on a run that the code starting it keeps: cheap to clone, shared with the
/// workers.
#[derive(Clone)]
pub struct RunControl {
    /// Set to end the run: no new row is started, the rows in flight finish.
    pub stop: Arc<Stop>,
    /// `true` while the run is paused: no new row is handed to a worker, the rows in flight
    /// finish. A watch channel, so that a worker waiting for the resume cannot miss it.
    paused: Arc<watch::Sender<bool>>,
    /// The latest snapshot of the run's progress: its phase set by the steps, its counts by
    /// the results task, at most five times a second.
    progress: Arc<watch::Sender<RunProgress>>,
}

impl Default for RunControl {
    fn default() -> Self {
        RunControl {
            stop: Arc::new(Stop::new()),
            paused: Arc::new(watch::channel(false).0),
            progress: Arc::new(watch::channel(RunProgress::default()).0),
        }
    }
}

impl RunControl {
    /// A run neither stopped nor paused.
    pub fn new() -> Self {
        RunControl::default()
    }

    /// Pauses the run: no new row is sent until [`RunControl::resume`], not even a row a
    /// worker took that waits for its turn at the rate limiter ([`Hold`]); the rows in flight
    /// (their retries included) finish.
    pub fn pause(&self) {
        self.paused.send_replace(true);
        self.progress.send_modify(|p| p.paused = true);
    }

    /// Resumes a paused run.
    pub fn resume(&self) {
        self.paused.send_replace(false);
        self.progress.send_modify(|p| p.paused = false);
    }

    /// The run's progress: the latest snapshot, and each new one as it is published.
    pub fn progress(&self) -> watch::Receiver<RunProgress> {
        self.progress.subscribe()
    }

    /// Where the results task publishes the progress.
    pub(crate) fn progress_sender(&self) -> Arc<watch::Sender<RunProgress>> {
        self.progress.clone()
    }

    /// The run has reached `phase`.
    pub fn set_phase(&self, phase: Phase) {
        self.progress.send_modify(|p| p.phase = phase);
    }

    /// A hold for one row: its requests wait while the run is paused (even once their turn at
    /// the rate limiter came), until one has left; the stop ends them unsent.
    pub(crate) fn hold(&self) -> Hold {
        Hold::new(self.paused.subscribe(), self.stop.clone())
    }

    /// Whether the run is paused.
    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Completes at once when the run is not paused, else once it is resumed. `false` when
    /// the run was stopped first: the row waiting is then not sent.
    pub async fn until_running(&self) -> bool {
        if self.stop.is_set() {
            return false;
        }
        let mut paused = self.paused.subscribe();
        tokio::select! {
            biased;
            _ = self.stop.wait() => false,
            _ = paused.wait_for(|paused| !*paused) => !self.stop.is_set(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_run_not_paused_goes_on_at_once() {
        assert!(RunControl::new().until_running().await);
    }

    #[tokio::test]
    async fn a_paused_run_waits_for_the_resume() {
        let control = RunControl::new();
        control.pause();
        let waiting = tokio::spawn({
            let control = control.clone();
            async move { control.until_running().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "a paused run went on");
        control.resume();
        let went_on = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(went_on.expect("resumed in time").unwrap());
    }

    #[tokio::test]
    async fn a_stop_while_paused_ends_the_wait_without_sending() {
        let control = RunControl::new();
        control.pause();
        let waiting = tokio::spawn({
            let control = control.clone();
            async move { control.until_running().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        control.stop.set();
        let went_on = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(!went_on.expect("ended in time").unwrap());
    }
}
