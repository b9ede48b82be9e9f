//! The results task: the one owner of the outcomes, the journal and the progress display while
//! rows are sent. Workers send it events; it journals them, counts them, records each parent
//! row's organization id for its children once no other row has it ([`OrgIds::claim`]), and
//! stops the run when the same kind of error ([`ErrorKind::may_be_systemic`]) fails many rows
//! of one kind of write (creates, or updates and the reads before them) in a row; names each
//! row that ended in an error by the input's name and the row's line.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::*;
use crate::Error;
use crate::error_kind::ErrorKind;
use crate::input::Numbering;
use crate::record::{Journal, OrgIds, Outcome, Outcomes, Status};
use crate::report::live::PUBLISH_EVERY;
use crate::report::progress::Progress;

/// This many rows failing in a row with the same error stop the run: the cause is not in the
/// rows (an outage, a missing permission), and the rest would only fail the same way.
pub(crate) const SYSTEMIC_FAILURES: usize = 20;

/// Where the results task tells of rows: the progress display, and the input's name as the
/// user gave it, for the lines that name a row.
pub(crate) struct Display {
    /// The progress display.
    pub(crate) progress: Progress,
    /// How the input's rows are named: by line, or by sheet row.
    pub(crate) numbering: Numbering,
    /// The input as the user named it.
    pub(crate) shown_as: PathBuf,
}

/// The results task: the one owner of the outcomes, the journal and the progress display.
/// Each batch of events is journaled and flushed before rows are let go or counted done. No
/// organization is recorded for two rows (`org_ids`).
pub(crate) async fn collect(
    mut events: mpsc::Receiver<Event>,
    outcomes: Outcomes,
    org_ids: OrgIds,
    parent_ids: Arc<ParentIds>,
    journal: Journal,
    display: Display,
    stop: Arc<Stop>,
) -> (Outcomes, Journal) {
    let mut results = Results {
        outcomes,
        org_ids,
        parent_ids,
        journal,
        display,
        stop,
        waiting: Vec::new(),
        streaks: [(None, 0), (None, 0)],
    };
    // The progress is published as rows finish, and on this tick while none does (a pause).
    let mut tick = tokio::time::interval(PUBLISH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            event = events.recv() => match event {
                Some(event) => event,
                None => break,
            },
            _ = tick.tick() => {
                results.display.progress.publish(false);
                continue;
            }
        };
        let mut next = Some(first);
        while let Some(event) = next {
            results.take(event);
            next = events.try_recv().ok();
        }
        results.flush();
        results.display.progress.publish(false);
    }
    results.display.progress.finish();
    (results.outcomes, results.journal)
}

/// What the results task owns while rows are sent.
struct Results {
    outcomes: Outcomes,
    org_ids: OrgIds,
    parent_ids: Arc<ParentIds>,
    journal: Journal,
    display: Display,
    stop: Arc<Stop>,
    /// Workers waiting for their row's `pending` line to be flushed to the journal.
    waiting: Vec<oneshot::Sender<()>>,
    /// For creates [0] and updates [1], each on its own: the kind of the latest failures, and
    /// how many rows in a row failed with it. A run whose updates all fail while its creates
    /// pass (a server without PUT) stops as one whose creates all fail does.
    streaks: [(Option<ErrorKind>, usize); 2],
}

impl Results {
    /// Records one event (journaled, not yet flushed).
    fn take(&mut self, event: Event) {
        match event {
            Event::Sending { key, written } => {
                if let Err(e) = self.journal.append_pending(&key) {
                    self.stop.fatal(e);
                }
                self.display.progress.row_sending();
                self.waiting.push(written);
            }
            Event::Finished {
                index,
                line,
                key,
                outcome,
                update,
            } => self.finished(index, line, &key, outcome, update),
            Event::Recorded(recorded) => {
                let _ = recorded.send(());
            }
        }
    }

    /// Row `index` (starting at `line`, keyed `key`) finished with `outcome`.
    fn finished(&mut self, index: usize, line: u64, key: &str, outcome: Outcome, update: bool) {
        let outcome = self.org_ids.claim(index, outcome, &self.outcomes);
        self.parent_ids.finished(index, &outcome);
        if let Err(e) = self.journal.append(key, &outcome) {
            self.stop.fatal(e);
        }
        // A row that ended in an error, or was created with something to say (under another
        // id than it asked for), is named as it finishes.
        let named = matches!(outcome.status, Status::Failed | Status::Unconfirmed)
            || outcome.status.is_done();
        if let Some(error) = outcome.error.as_ref().filter(|_| named) {
            self.display.progress.println(&format!(
                "{}: {}: {key} ({error})",
                self.display.numbering.place(&self.display.shown_as, line),
                outcome.status.as_str()
            ));
        }
        self.display.progress.row_done(outcome.status);
        self.count_streak(&outcome, update);
        self.outcomes.set(index, &outcome);
    }

    /// Stops the run once [`SYSTEMIC_FAILURES`] rows of one kind of write failed in a row with
    /// the same error that may be systemic, while rows are left to send.
    fn count_streak(&mut self, outcome: &Outcome, update: bool) {
        // A row unconfirmed ended in an error as a failed one did; the error's kind says
        // whether it may be systemic.
        let ended_in_error = matches!(outcome.status, Status::Failed | Status::Unconfirmed);
        let systemic = outcome
            .kind
            .as_ref()
            .filter(|kind| ended_in_error && kind.may_be_systemic());
        let streak = &mut self.streaks[usize::from(update)];
        match systemic {
            Some(kind) if streak.0.as_ref() == Some(kind) => streak.1 += 1,
            Some(kind) => *streak = (Some(kind.clone()), 1),
            None => *streak = (None, 0),
        }
        // Stopping saves the rows not sent yet; when every row went out already, it would
        // save none, and each row's own error says what happened to it.
        if streak.1 == SYSTEMIC_FAILURES && self.display.progress.rows_not_started() > 0 {
            self.stop.fatal(Error::Systemic {
                count: streak.1,
                error: outcome.error.clone().unwrap_or_default(),
            });
        }
    }

    /// Flushes the journal; only then are the rows waiting for it let go.
    fn flush(&mut self) {
        match self.journal.flush() {
            // Rows are sent only once the journal holds their `pending` line.
            Ok(()) => self.waiting.drain(..).for_each(|w| {
                let _ = w.send(());
            }),
            Err(e) => {
                self.stop.fatal(e);
                self.waiting.clear();
            }
        }
    }
}
