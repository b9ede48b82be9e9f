//! What earlier runs left: the results file and the journal of an interrupted run, read back
//! so that a rerun skips rows already done and looks up rows that may have been created.
//! Every row is checked as it is read ([`checks`](super::checks)): a row read other than as
//! written is reported, and a file that cannot be read without guessing is refused.
//!
//! A row is in doubt (looked up before it is sent, and recorded `created` if found) when an
//! attempt at it may have created its organization: its journal line says it was being sent,
//! it is `unconfirmed`, or it `failed` without a definite refusal (no answer, 429, 5xx, a 2xx,
//! or more than one attempt: a row retried after an error may have been created by an earlier
//! attempt, which files of earlier versions recorded as `failed`). Once in doubt, a row stays in
//! doubt until an answer settles it: a later line saying it was not sent, is invalid, or failed
//! before any create was sent does not.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use csv::StringRecord;

use super::checks::{self, Place, Reading};
use super::journal::{self, JournalLine};
use super::layout::Layout;
use super::*;
use crate::Error;
use crate::input::{self, Dialect, Mapping};

/// A row's outcome as an earlier run recorded it, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// What became of the row.
    pub outcome: Outcome,
    /// The line it was read from, to name it when two rows record one organization.
    pub place: Place,
}

/// What earlier runs left, by row key: read from the results file and the journal.
#[derive(Debug, Default)]
pub struct EarlierRuns {
    /// Rows whose organization exists (`created`, `exists` or `updated`, with its org_id): not
    /// to be sent again.
    pub done: HashMap<String, Recorded>,
    /// Rows that may have been created without an answer saying so: sent when a run stopped
    /// mid-request, `unconfirmed`, or failed without a definite refusal. They are looked up
    /// before sending, and recorded `created` if found.
    pub in_doubt: HashSet<String>,
    /// Keys of the other rows the results file lists (failed, invalid, not sent, or done
    /// without an org_id): with `done` and `in_doubt`, every key it lists, so that a row of
    /// the input that it does not list at all is noticed.
    pub listed_otherwise: HashSet<String>,
    /// Whether there was a results file.
    pub had_results: bool,
    /// Rows read other than as they are written, with why, for stderr.
    pub warnings: Vec<(Place, String)>,
}

impl EarlierRuns {
    /// Reads what earlier runs left: the results file at `results` (any version), then the
    /// journal of an interrupted run beside it (later lines win). Nothing when neither
    /// exists.
    ///
    /// # Errors
    /// [`Error::Input`] when the file at `results` is not an orgimport results file, so that
    /// nothing of the user's is overwritten by mistake, or when one of its rows cannot be read
    /// without guessing what became of it (a status that is not one, a line cut short, two
    /// rows with one organization; the message names each line and how to fix it);
    /// [`Error::Io`] when a file cannot be read.
    pub fn load(results: &Path, mapping: &Mapping) -> Result<EarlierRuns, Error> {
        let mut earlier = EarlierRuns::default();
        let mut refused: Vec<(Place, String)> = Vec::new();
        if results.exists() {
            earlier.had_results = true;
            earlier.read_results(results, mapping, &mut refused)?;
        }
        let journal = journal_path(results);
        if journal.exists() {
            journal::read(&journal, |place, key, line| match line {
                JournalLine::Pending => earlier.learn(key, place, None),
                JournalLine::Finished(reading) => {
                    // The journal has a line only for a row that was sent: one it cannot
                    // read is in doubt.
                    let outcome = match reading {
                        Reading::Sound(o) => Some(o),
                        Reading::Partly { outcome, why } => {
                            earlier.warnings.push((place, why));
                            Some(outcome)
                        }
                        Reading::Unreadable(why) => {
                            earlier.warnings.push((
                                place,
                                format!(
                                    "{}; the row is looked up before it is sent again",
                                    why.what
                                ),
                            ));
                            None
                        }
                    };
                    earlier.learn(key, place, outcome);
                }
                JournalLine::Junk(why) => earlier.warnings.push((place, why)),
            })?;
        }
        let mut recorded: Vec<(&str, Place)> = earlier
            .done
            .values()
            .filter_map(|r| r.outcome.org_id.as_deref().map(|id| (id, r.place)))
            .collect();
        recorded.sort_by_key(|(_, place)| *place);
        refused.extend(checks::same_organization(recorded));
        if !refused.is_empty() {
            return Err(Error::Input {
                path: results.to_path_buf(),
                message: checks::refusal(refused),
            });
        }
        Ok(earlier)
    }

    /// Takes the row `key`'s latest outcome (`None`: it was being sent, or its line could not
    /// be read), read at `place`, replacing what an earlier line said of it.
    fn learn(&mut self, key: String, place: Place, outcome: Option<Outcome>) {
        let was_in_doubt = !self.in_doubt.is_empty() && self.in_doubt.contains(&key);
        let (done, in_doubt) = match &outcome {
            None => (false, true),
            Some(o) if o.status.is_done() && o.org_id.is_some() => (true, false),
            Some(o) => (
                false,
                may_have_created(o) || (was_in_doubt && !settles_doubt(o)),
            ),
        };
        if was_in_doubt && !in_doubt {
            self.in_doubt.remove(&key);
        }
        if !done && !self.done.is_empty() {
            self.done.remove(&key);
        }
        match outcome {
            Some(outcome) if done => {
                self.done.insert(key, Recorded { outcome, place });
            }
            _ if in_doubt => {
                self.in_doubt.insert(key);
            }
            _ => {}
        }
    }

    /// Learns the outcome of every row of the results file at `path` that was sent; rows that
    /// cannot be read go to `refused`.
    fn read_results(
        &mut self,
        path: &Path,
        mapping: &Mapping,
        refused: &mut Vec<(Place, String)>,
    ) -> Result<(), Error> {
        let not_ours = |why: String| Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "{why}; this is not an orgimport results file, so it is left alone \
                 (move it away or choose another --out)"
            ),
        };
        let mut reader = input::reader(path, &Dialect::RESULTS)?;
        let headers: StringRecord = input::read_headers(path, &mut reader)?
            .iter()
            .map(restore)
            .collect();
        let layout = Layout::of(&headers).map_err(not_ours)?;
        let input_headers: StringRecord = headers.iter().take(layout.input_width()).collect();
        let columns = if input_headers == mapping.headers {
            mapping.clone()
        } else {
            mapping.for_headers(&input_headers).map_err(not_ours)?
        };
        self.done.reserve(crate::input::expected_rows(path));
        for row in input::rows(path, &Dialect::RESULTS, reader, layout.width()) {
            let row = row?;
            let place = Place::Results(row.line);
            if let Some(problem) = &row.problem {
                refused.push((place, checks::unreadable_line(problem).to_string()));
                continue;
            }
            // Only a row with a cell that was neutralized is copied to restore it. The
            // mapping reads the input's columns, which come first.
            let restored: StringRecord;
            let record = if row.record.iter().any(|c| c.starts_with('\'')) {
                restored = row.record.iter().map(restore).collect();
                &restored
            } else {
                &row.record
            };
            let outcome = match checks::read_cells(layout.cells(record)) {
                Reading::Sound(outcome) => outcome,
                Reading::Partly { outcome, why } => {
                    self.warnings.push((place, why));
                    outcome
                }
                Reading::Unreadable(why) => {
                    refused.push((place, why.to_string()));
                    continue;
                }
            };
            let Some(key) = columns.key(record) else {
                if matches!(outcome.status, Status::Created | Status::Unconfirmed) {
                    self.warnings.push((
                        place,
                        format!(
                            "status {} but no id nor name to match it with a row of the \
                             input: ignored",
                            outcome.status.as_str()
                        ),
                    ));
                }
                continue;
            };
            // An invalid or unsent row says nothing of the row's organization, and an invalid
            // row may repeat a sent row's key.
            if matches!(outcome.status, Status::Invalid | Status::NotSent) {
                self.listed_otherwise.insert(key);
                continue;
            }
            if !outcome.status.is_done() || outcome.org_id.is_none() {
                self.listed_otherwise.insert(key.clone());
            }
            self.learn(key, place, Some(outcome));
        }
        Ok(())
    }

    /// Whether the results file lists a row with `key`.
    pub fn lists(&self, key: &str) -> bool {
        self.done.contains_key(key)
            || self.in_doubt.contains(key)
            || self.listed_otherwise.contains(key)
    }
}

/// Whether an attempt that ended in `outcome` (not done) may have created the organization:
/// it is `unconfirmed`, or it failed without a definite refusal (a 4xx other than 429, at the
/// first attempt). A row retried after an error may have been created by an earlier attempt
/// and refused by the last, which files of earlier versions recorded as `failed`.
fn may_have_created(outcome: &Outcome) -> bool {
    match outcome.status {
        Status::Unconfirmed => true,
        Status::Failed => {
            outcome.attempts > 1
                || outcome
                    .http_status
                    .is_none_or(|s| s >= 429 || (200..300).contains(&s))
        }
        _ => false,
    }
}

/// Whether `outcome`, for a row in doubt, settles the doubt: a create was sent and answered
/// that nothing was created. Not sending the row (it is invalid now, its parent was not
/// created, the run stopped) or failing before a create (the look-up failed or found two
/// organizations) leaves it in doubt.
fn settles_doubt(outcome: &Outcome) -> bool {
    outcome.status == Status::Failed && outcome.attempts > 0
}

#[cfg(test)]
mod tests;
