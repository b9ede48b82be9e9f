//! What earlier runs left: the results file and the journal of an interrupted run, read back
//! so that a rerun skips rows already done and looks up rows that may have been created.
//! Every row is checked as it is read ([`read_back`](super::read_back)): a row read other than as
//! written is reported, and a file that cannot be read without guessing is refused.
//!
//! A row is in doubt (looked up before it is sent, and recorded `created` if found) when an
//! attempt at it may have created its organization: its journal line says it was being sent,
//! it is `unconfirmed`, or it `failed` without a definite refusal (no answer, 429, 5xx, a 2xx,
//! or more than one attempt: a row retried after an error may have been created by an earlier
//! attempt, which files of earlier versions recorded as `failed`). Once in doubt, a row stays in
//! doubt until an answer settles it: a later line saying it was not sent, is invalid, or failed
//! before any create was sent does not.
//!
//! Nothing is taken as done from a file of another tenant ([`TenantCheck`]): a results file or
//! journal written for another tenant is refused whole, and one of an earlier version, which
//! records no tenant, is read only when the run is told it is this tenant's.

use std::collections::HashSet;
use std::path::Path;

use rayon::prelude::*;

use super::journal::{self, JournalLine};
use super::layout::Version;
use super::outcomes::Outcomes;
use super::read_back::{self, Place, Reading};
use super::results_reader::{self, Opened};
use super::unchanged::{self, AsWritten, Digest};
use super::*;
use crate::Error;
use crate::fingerprint::{Fingerprint, FingerprintMap, fingerprint, row_number};
use crate::input::{self, Mapping};
use rows::{ReadRow, read_row, starts_with_bom};

/// A row's outcome as an earlier run recorded it, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// What became of the row.
    pub outcome: Outcome,
    /// The line it was read from, to name it when two rows record one organization.
    pub place: Place,
}

/// What earlier runs left, by row key: read from the results file and the journal.
///
/// Kept compact, for a rerun of a million rows: each key is an entry of a fingerprint map (no
/// key is kept), and the outcomes of rows done are packed in one [`Outcomes`] store, whose
/// texts the plan takes over rather than copies ([`EarlierRuns::outcomes_for_plan`]).
#[derive(Debug, Default)]
pub struct EarlierRuns {
    /// Each key's entry.
    entries: FingerprintMap,
    /// By entry: its key's fingerprint.
    prints: Vec<Fingerprint>,
    /// By row of the results file: the entry of its key, or `u32::MAX` for a row without one.
    /// The rows of a rerun's input come in this order, so each finds its entry here first,
    /// without a look-up in `entries` ([`EarlierRuns::done_entry_at`]).
    row_entries: Vec<u32>,
    /// By entry: the outcome of a row whose organization exists (`created`, `exists` or
    /// `updated`, with its org_id), not to be sent again; unsent for every other row.
    done: Outcomes,
    /// By entry: where the outcome in `done` was read ([`pack_place`]).
    places: Vec<u64>,
    /// By entry: whether the results file lists the row otherwise (failed, invalid, not sent,
    /// or done without an org_id): with the rows done and in doubt, every key it lists, so
    /// that a row of the input that it does not list at all is noticed.
    listed_otherwise: Vec<bool>,
    /// Rows that may have been created without an answer saying so: sent when a run stopped
    /// mid-request, `unconfirmed`, or failed without a definite refusal. They are looked up
    /// before sending, and recorded `created` if found.
    pub in_doubt: HashSet<String>,
    /// Whether there was a results file.
    pub had_results: bool,
    /// What the results file says, when it is in the format this build writes: so that a
    /// run that would write it the same leaves it as it is ([`super::unchanged`]).
    pub as_written: Option<AsWritten>,
    /// Rows read other than as they are written, with why, for stderr.
    pub warnings: Vec<(Place, String)>,
}

impl EarlierRuns {
    /// Reads what earlier runs left: the results file at `results` (any version), then the
    /// journal of an interrupted run beside it (later lines win), each checked to be of the
    /// tenant `check` accepts. Nothing when neither exists.
    ///
    /// # Errors
    /// [`Error::Input`] when either was written for another tenant, or by an earlier version
    /// that records none and `check` does not adopt it ([`TenantCheck`]); when the file at
    /// `results` is not an orgimport results file, so that
    /// nothing of the user's is overwritten by mistake, or when one of its rows cannot be read
    /// without guessing what became of it (a status that is not one, a line cut short, two
    /// rows with one organization; the message names each line and how to fix it);
    /// [`Error::Io`] when a file cannot be read.
    pub fn load(
        results: &Path,
        mapping: &Mapping,
        check: &TenantCheck,
    ) -> Result<EarlierRuns, Error> {
        let mut earlier = EarlierRuns::default();
        let mut refused: Vec<(Place, String)> = Vec::new();
        // A device would be read without end, a FIFO would hang: neither is opened.
        super::check_regular(results, "the results file")?;
        if results.exists() {
            earlier.had_results = true;
            let version = earlier.read_results(results, mapping, check, &mut refused)?;
            if !version.records_tenant() {
                let records = earlier.done_count() > 0 || !earlier.in_doubt.is_empty();
                check.unmarked(results, records)?;
            }
        }
        let journal = journal_path(results);
        super::check_regular(&journal, "the journal of the results file")?;
        if journal.exists() {
            let mut lines = 0usize;
            let tenant = journal::read(&journal, |place, key, line| {
                lines += 1;
                earlier.journal_line(place, key, line);
            })?;
            match tenant {
                Some(tenant) if !check.accepts(&tenant) => {
                    return Err(check.other_tenant(&journal, "the header of its journal", &tenant));
                }
                Some(_) => {}
                None => check.unmarked(&journal, lines > 0)?,
            }
        }
        let done = &earlier.done;
        let same = read_back::same_organization_among(done.len(), |entry| {
            let id = done.view(entry)?.org_id?;
            Some((id, unpack_place(earlier.places[entry])))
        });
        results_reader::refuse(results, refused, same)?;
        Ok(earlier)
    }

    /// Takes one line of the journal: later lines win over the results file and earlier
    /// lines.
    fn journal_line(&mut self, place: Place, key: String, line: JournalLine) {
        match line {
            JournalLine::Pending => self.learn(key, place, None),
            JournalLine::Finished(reading) => {
                // The journal has a line only for a row that was sent: one it cannot
                // read is in doubt.
                let outcome = match reading {
                    Reading::Sound(o) => Some(o),
                    Reading::Partly { outcome, why } => {
                        self.warnings.push((place, why));
                        Some(outcome)
                    }
                    Reading::Unreadable(why) => {
                        self.warnings.push((
                            place,
                            format!("{}; the row is looked up before it is sent again", why.what),
                        ));
                        None
                    }
                };
                self.learn(key, place, outcome);
            }
            JournalLine::Junk(why) => self.warnings.push((place, why)),
        }
    }

    /// The entry of the key whose fingerprint is `print`, made when it has none.
    fn entry(&mut self, print: Fingerprint) -> usize {
        let next = self.places.len();
        let (entry, new) = self.entries.get_or_insert(print, row_number(next));
        if new {
            self.prints.push(print);
            self.done.push(None);
            self.places.push(0);
            self.listed_otherwise.push(false);
        }
        entry as usize
    }

    /// Takes the row `key`'s latest outcome (`None`: it was being sent, or its line could not
    /// be read), read at `place`, replacing what an earlier line said of it.
    pub(crate) fn learn(&mut self, key: String, place: Place, outcome: Option<Outcome>) {
        let print = fingerprint(&key);
        self.learn_by(key, print, place, outcome);
    }

    /// [`EarlierRuns::learn`], for a `key` whose fingerprint is `print`.
    fn learn_by(
        &mut self,
        key: String,
        print: Fingerprint,
        place: Place,
        outcome: Option<Outcome>,
    ) {
        let entry = self.entry(print);
        self.learn_entry(entry, key, place, outcome);
    }

    /// [`EarlierRuns::learn`], for a `key` whose entry is `entry`.
    fn learn_entry(&mut self, entry: usize, key: String, place: Place, outcome: Option<Outcome>) {
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
        match outcome {
            Some(outcome) if done => {
                self.done.set(entry, &outcome);
                self.places[entry] = pack_place(place);
            }
            _ => {
                if !self.done.is_unsent(entry) {
                    self.done.clear(entry);
                }
                if in_doubt {
                    self.in_doubt.insert(key);
                }
            }
        }
    }

    /// Notes that the results file lists the row `key` other than as done (for tests that
    /// make what earlier runs left by hand).
    #[cfg(test)]
    pub(crate) fn list(&mut self, key: &str) {
        let entry = self.entry(fingerprint(key));
        self.listed_otherwise[entry] = true;
    }

    /// Learns the outcome of every row of the results file at `path` that was sent; rows that
    /// cannot be read go to `refused`. Rows are checked in parallel, a batch at a time, and
    /// learned in file order. Returns the file's version.
    ///
    /// # Errors
    /// As [`EarlierRuns::load`]; a row that names another tenant than `check` accepts refuses
    /// the file.
    fn read_results(
        &mut self,
        path: &Path,
        mapping: &Mapping,
        check: &TenantCheck,
        refused: &mut Vec<(Place, String)>,
    ) -> Result<Version, Error> {
        let not_ours = |why: String| Error::Input {
            path: path.to_path_buf(),
            message: not_ours_message(&why),
        };
        let opened = Opened::open(path, |why| not_ours_message(&why))?;
        let (source, layout) = (&opened.source, opened.layout);
        let written_headers = source.headers();
        // Only a file this build would write can be left as it is.
        let mut as_written =
            (layout.version() == Version::CURRENT && starts_with_bom(path)).then(|| AsWritten {
                delimiter: source.delimiter(),
                header: unchanged::row_hash(written_headers.iter()),
                input: Digest::default(),
                outcomes: Digest::default(),
            });
        let input_headers = opened.input_headers();
        let columns = if input_headers == mapping.headers {
            mapping.clone()
        } else {
            mapping.for_headers(&input_headers).map_err(not_ours)?
        };
        let expected = source.expected_rows();
        self.entries = FingerprintMap::with_capacity(expected);
        self.done = Outcomes::with_capacity(expected);
        self.places.reserve(expected);
        self.prints.reserve(expected);
        self.row_entries.reserve(expected);
        self.listed_otherwise.reserve(expected);
        let rows = opened.rows()?;
        let digest = as_written.is_some();
        input::batches::in_batches(rows, |batch| {
            // A row with spaces around a cell is not as this build writes it: its digest is
            // of the cells as trimmed, so the file is written again.
            let read: Vec<(ReadRow, Option<(u64, u64)>)> = batch
                .par_iter()
                .map(|row| {
                    let hashes = (digest && row.padded.is_empty()).then(|| {
                        let width = layout.input_width();
                        let input = unchanged::row_hash(row.record.iter().take(width));
                        (input, unchanged::row_hash(row.record.iter().skip(width)))
                    });
                    (read_row(row, layout, &columns, check), hashes)
                })
                .collect();
            for (row, hashes) in read {
                match (&mut as_written, hashes) {
                    (Some(written), Some((input, outcome))) => {
                        written.input.add(input);
                        written.outcomes.add(outcome);
                    }
                    (written, _) => *written = None,
                }
                let (place, key, outcome, why) = match row {
                    ReadRow::OtherTenant(place, theirs) => {
                        return Err(check.other_tenant(path, &place.to_string(), &theirs));
                    }
                    ReadRow::Refused(place, why) => {
                        refused.push((place, why));
                        self.row_entries.push(u32::MAX);
                        continue;
                    }
                    ReadRow::Read {
                        place,
                        key,
                        outcome,
                        why,
                    } => (place, key, outcome, why),
                };
                if let Some(why) = why {
                    self.warnings.push((place, why));
                }
                let Some((key, print)) = key else {
                    self.row_entries.push(u32::MAX);
                    if matches!(outcome.status, Status::Created | Status::Unconfirmed) {
                        self.warnings.push((
                            place,
                            format!(
                                "status {} but no id nor name to match it with a row of \
                                 the input: ignored",
                                outcome.status.as_str()
                            ),
                        ));
                    }
                    continue;
                };
                let entry = self.entry(print);
                self.row_entries.push(row_number(entry));
                // An invalid or unsent row says nothing of the row's organization, and an
                // invalid row may repeat a sent row's key.
                if !outcome.status.is_done() || outcome.org_id.is_none() {
                    self.listed_otherwise[entry] = true;
                }
                if matches!(outcome.status, Status::Invalid | Status::NotSent) {
                    continue;
                }
                self.learn_entry(entry, key, place, Some(outcome));
            }
            Ok(())
        })?;
        self.as_written = as_written;
        Ok(layout.version())
    }

    /// The entry of the row with key `key` when its organization exists: an earlier run
    /// recorded it `created`, `exists` or `updated` with its org_id. Not to be sent again.
    pub fn done_entry(&self, key: Fingerprint) -> Option<usize> {
        let entry = self.entries.get(key)? as usize;
        (!self.done.is_unsent(entry)).then_some(entry)
    }

    /// [`EarlierRuns::done_entry`], for the `row`th row of the input: the results file's row
    /// at the same place is looked at first.
    pub fn done_entry_at(&self, row: usize, key: Fingerprint) -> Option<usize> {
        let entry = match self.row_entries.get(row) {
            Some(&entry) if entry != u32::MAX && self.prints[entry as usize] == key => {
                entry as usize
            }
            _ => return self.done_entry(key),
        };
        (!self.done.is_unsent(entry)).then_some(entry)
    }

    /// How many entries there are: keys of earlier runs, each given one.
    pub fn entry_count(&self) -> usize {
        self.done.len()
    }

    /// Whether the row with key `key` is done ([`EarlierRuns::done_entry`]).
    pub fn is_done(&self, key: &str) -> bool {
        self.done_entry(fingerprint(key)).is_some()
    }

    /// The outcome an earlier run recorded for the row `key` when it is done, and where it
    /// was read.
    ///
    /// # Panics
    /// Once the outcomes went to a plan ([`EarlierRuns::outcomes_for_plan`]).
    pub fn done(&self, key: &str) -> Option<Recorded> {
        let entry = self.done_entry(fingerprint(key))?;
        Some(Recorded {
            outcome: self.done.get(entry)?,
            place: unpack_place(self.places[entry]),
        })
    }

    /// How many rows earlier runs finished.
    pub fn done_count(&self) -> usize {
        (0..self.done.len())
            .filter(|&entry| !self.done.is_unsent(entry))
            .count()
    }

    /// Whether the results file lists a row with `key`.
    pub fn lists(&self, key: &str) -> bool {
        self.lists_by(key, fingerprint(key))
    }

    /// [`EarlierRuns::lists`], for a `key` whose fingerprint is `print`.
    pub fn lists_by(&self, key: &str, print: Fingerprint) -> bool {
        self.in_doubt.contains(key)
            || self.entries.get(print).is_some_and(|entry| {
                let entry = entry as usize;
                self.listed_otherwise[entry] || !self.done.is_unsent(entry)
            })
    }

    /// An empty store for a plan of `rows` rows that takes over the texts of the rows done:
    /// [`EarlierRuns::push_done`] then copies a row into it without copying them. After this,
    /// [`EarlierRuns::done`] can no longer be read (what is done still can), and where each
    /// row was read is let go.
    pub fn outcomes_for_plan(&mut self, rows: usize) -> Outcomes {
        self.places = Vec::new();
        self.done.hand_over_texts(rows)
    }

    /// Appends the outcome of done entry `entry` ([`EarlierRuns::done_entry`]) to `plan`.
    pub fn push_done(&self, entry: usize, plan: &mut Outcomes) {
        plan.push_row_of(&self.done, entry);
    }
}

/// The top bit of a packed [`Place`]: a line of the journal.
const JOURNAL: u64 = 1 << 63;

/// A place in 8 bytes: its line, with [`JOURNAL`] set for a line of the journal.
fn pack_place(place: Place) -> u64 {
    match place {
        Place::Results(line) => line & !JOURNAL,
        Place::Journal(line) => (line & !JOURNAL) | JOURNAL,
    }
}

/// The place [`pack_place`] packed.
fn unpack_place(packed: u64) -> Place {
    if packed & JOURNAL != 0 {
        Place::Journal(packed & !JOURNAL)
    } else {
        Place::Results(packed)
    }
}

/// Whether an attempt that ended in `outcome` (not done) may have created the organization:
/// it is `unconfirmed`, or it failed without a definite refusal (a 4xx other than 429, at the
/// first attempt). A row retried after an error may have been created by an earlier attempt
/// and refused by the last, which files of earlier versions recorded as `failed`. A failed
/// update (it names the `changes` it would have made) created nothing: its organization was
/// there before, and taking it for one this tool created would let `undo` delete it.
pub(crate) fn may_have_created(outcome: &Outcome) -> bool {
    match outcome.status {
        Status::Unconfirmed => true,
        Status::Failed if outcome.changes.is_some() => false,
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

mod rows;
/// Why a file named as the results file is left alone: `why` its header is not a results
/// file's.
fn not_ours_message(why: &str) -> String {
    format!(
        "{why}; this is not an orgimport results file, so it is left alone (move it away or \
         choose another --out)"
    )
}

#[cfg(test)]
mod tests;
